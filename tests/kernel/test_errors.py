"""The error family (gridsvc.kernel.errors) and its one mapping to HTTP (gridsvc.web.errors).

Why these tests: the domain's refusals hold a kind, never a status, so the table in gridsvc.web.errors
is the only thing that decides what a client sees; a kind without a status, or a refusal that still
carries one, would let two addresses answer the same refusal differently again.
"""

import pytest
from flask import Flask

from gridsvc.accounts.users import AccountError, SignInRefused, SignInThrottled
from gridsvc.cases.acks import AckRefused
from gridsvc.cases.intake import ReportConflict, ReportError
from gridsvc.cases.photos import PhotoError
from gridsvc.cases.ratings import RatingError
from gridsvc.cases.search import UnknownArea
from gridsvc.cases.workflow import WorkflowError
from gridsvc.kernel import errors
from gridsvc.kernel.errors import INVALID_PARAMETERS, KINDS, DomainError
from gridsvc.network.points import PointError
from gridsvc.oversight.numbers import PeriodError
from gridsvc.oversight.public_figures import NotPublic
from gridsvc.patrols.recording import PatrolBusy, PatrolConflict, PatrolError
from gridsvc.standards.ogc_features import OgcError, bad_parameter
from gridsvc.standards.open311 import Open311Error
from gridsvc.web.errors import STANDARD_STATUSES, STATUSES, register_error_handlers, status_for
from mobile_api.my_cases import UnknownCursor


def test_each_kind_has_one_status():
    assert set(STATUSES) == KINDS == set(STANDARD_STATUSES)
    assert STATUSES == {"invalid": 422, "unauthenticated": 401, "forbidden": 403, "not_found": 404,
                        "conflict": 409, "too_large": 413, "too_many": 429, "unavailable": 503}
    # OGC API Features and Open311 prescribe 400 for a bad parameter; nothing else differs.
    assert {k: v for k, v in STANDARD_STATUSES.items() if STATUSES[k] != v} == {"invalid": 400}
    assert status_for(errors.CONFLICT) == 409 and status_for(errors.INVALID, STANDARD_STATUSES) == 400


@pytest.mark.parametrize("error,kind,code,field", [
    (WorkflowError(errors.CONFLICT, "step_not_allowed", "不能 / not now"), "conflict", "step_not_allowed", None),
    (WorkflowError(errors.INVALID, "invalid_parameters", "say until when", "until"), "invalid", "invalid_parameters",
     "until"),
    (RatingError(errors.FORBIDDEN, "not_permitted", "无权 / not yours"), "forbidden", "not_permitted", None),
    (AckRefused(errors.NOT_FOUND, "not_found", "没有 / none"), "not_found", "not_found", None),
    (ReportError("category", "not in the catalogue"), "invalid", "invalid_parameters", "category"),
    (ReportConflict("x"), "conflict", "client_uuid_conflict", None),
    (PointError("lat", "out of range"), "invalid", "invalid_parameters", "lat"),
    (PeriodError("to", "must lie after `from`"), "invalid", "invalid_parameters", "to"),
    (UnknownArea("no such area"), "invalid", "invalid_parameters", "area"),
    (UnknownCursor("not yours"), "invalid", "invalid_parameters", "before"),
    (NotPublic.case(), "not_found", "case_not_found", None),
    (NotPublic.township("220112100000"), "not_found", "township_not_found", None),
    (SignInRefused(), "unauthenticated", "sign_in_refused", None),
    (SignInThrottled(30), "too_many", "too_many_attempts", None),
    (AccountError("phone must be an 11-digit mainland mobile number"), "invalid", "invalid_parameters", None),
    (PhotoError("不是图片 / not an image"), "invalid", "invalid_parameters", "photo"),
    (PhotoError("过大 / too large", file_too_large=True), "too_large", "photo_too_large", "photo"),
    (PatrolError("seq", "too large"), "invalid", "invalid_parameters", "seq"),
    (PatrolConflict("x"), "conflict", "client_uuid_conflict", None),
    (PatrolBusy(), "unavailable", "patrol_busy", None),
    (bad_parameter("f", "only json"), "invalid", "InvalidParameterValue", None),
    (OgcError(errors.UNAUTHENTICATED, "Unauthorized", "需要登录 / sign in"), "unauthenticated", "Unauthorized", None),
    (Open311Error(errors.FORBIDDEN, "api_key 无效 / invalid api_key"), "forbidden", "forbidden", None),
])
def test_domain_errors_have_a_kind_and_no_status(error, kind, code, field):
    assert isinstance(error, DomainError)
    assert (error.kind, error.code, error.field) == (kind, code, field)
    assert not hasattr(error, "status") and not hasattr(error, "status_code")


def test_the_ones_that_were_value_errors_still_are():
    """Callers (intake, the CLI) catch some of them as ValueError or LookupError."""
    assert isinstance(PointError("lon", "x"), ValueError) and isinstance(ReportError("lon", "x"), ValueError)
    assert isinstance(NotPublic.case(), LookupError)
    assert str(PointError("lon", "coordinates must be finite numbers")) == "coordinates must be finite numbers"


def test_a_kind_outside_the_set_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        DomainError("x", kind="teapot")


def test_the_message_in_both_languages():
    refused = SignInRefused()
    assert refused.message == f"{refused.message_zh} / {refused.message_en}"
    assert refused.message_zh.startswith("手机号或密码错误") and refused.message_en.startswith("wrong phone number")
    english = PeriodError("to", "must lie after `from` / before `to`")
    assert (english.message_zh, english.message_en) == (None, "must lie after `from` / before `to`")


@pytest.fixture
def bare_app():
    """An app with the error handlers and views that raise, nothing else: the mapping alone."""
    app = Flask(__name__)
    register_error_handlers(app)
    raising = {
        "field": PointError("lat", "latitude must lie between -90 and 90"),
        "conflict": RatingError(errors.CONFLICT, "not_closed", "案件结案后方可评价 / a case is rated after it is closed"),
        "throttled": SignInThrottled(42),
        "too_large": PhotoError("文件超过 1 MB / the file is larger than 1 MB", file_too_large=True),
    }
    for name, error in raising.items():
        app.add_url_rule(f"/api/v1/{name}", name, _raising(error))
    return app


def _raising(error: Exception):
    def view():
        raise error
    return view


def test_a_domain_error_raised_in_a_view_gives_the_documented_shape(bare_app):
    client = bare_app.test_client()
    about_a_field = client.get("/api/v1/field")
    assert about_a_field.status_code == 422
    assert about_a_field.get_json() == {"error": {"code": "invalid_parameters", "message": INVALID_PARAMETERS,
                                                  "fields": {"lat": ["latitude must lie between -90 and 90"]}}}
    conflict = client.get("/api/v1/conflict")
    assert conflict.status_code == 409
    assert conflict.get_json() == {"error": {"code": "not_closed", "fields": {},
                                             "message": "案件结案后方可评价 / a case is rated after it is closed"}}
    throttled = client.get("/api/v1/throttled")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "42"
    assert throttled.get_json()["error"]["code"] == "too_many_attempts"
    too_large = client.get("/api/v1/too_large")
    assert too_large.status_code == 413
    assert too_large.get_json() == {"error": {"code": "photo_too_large", "message": "照片过大 / the photo is too large",
                                              "fields": {"photo": ["文件超过 1 MB / the file is larger than 1 MB"]}}}


def test_the_standards_answer_in_their_own_shapes(app):
    """The same kinds under /ogc and /open311, through their blueprints' handlers: OGC's exception
    and Open311's list of {code, description}, whose code is the status."""
    client = app.test_client()
    ogc = client.get("/ogc/?f=xml")
    assert ogc.status_code == 400 and ogc.get_json()["code"] == "InvalidParameterValue"
    assert set(ogc.get_json()) == {"code", "description"}
    missing = client.get("/ogc/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["code"] == "NotFound"
    unknown_format = client.get("/open311/v2/services.txt")
    assert unknown_format.status_code == 404
    assert unknown_format.get_json() == [{"code": 404, "description": "格式为 .json 或 .xml / the format is .json or .xml"}]
    no_key = client.post("/open311/v2/requests.json", data={"service_code": "01001"})
    assert no_key.status_code == 403 and no_key.get_json()[0]["code"] == 403
