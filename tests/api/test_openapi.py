"""The published OpenAPI documents and Swagger UI: complete, valid, true to what the API answers, offline.

Two documents, the command centre's (/api/openapi.json) and the phones' (/mobile/v1/openapi.json).
Neither may drift from the code: every route under /api/ (under /mobile/) is in its document with the same
methods, and only there, and every documented operation is a route; parameters and bodies are the schemas
the views load; and real answers of every documented operation validate against the documented schemas
(strictly: a field the document does not name fails here, though the published document allows additions).
"""

import io
import re
import uuid
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import pytest
from marshmallow import Schema, fields
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import OpenAPIV30SpecValidator
from swagger_ui_bundle import swagger_ui_path

from gridsvc.app import create_app
from gridsvc.accounts.users import create_user
from gridsvc.catalogue.store import current_categories
from gridsvc.kernel.config import Settings
from gridsvc.web.json_fields import JsonBoolean, JsonFloat, JsonInteger
from gridsvc.web.openapi import OPERATIONS, WEB, spec_for
from gridsvc.cases.workflow import STEPS
from mobile_api.openapi import MOBILE
from tests.support import assert_documented, base_grid_and_point, phone_jpeg, resolve

DOC_ROUTES = {"/api/openapi.json", "/api/docs", "/api/docs/static/{filename}", "/mobile/v1/openapi.json",
              "/mobile/docs"}
DOCUMENTS = {"/api/openapi.json": WEB, "/mobile/v1/openapi.json": MOBILE}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
PASSWORD = "correct horse battery"
COMMANDER, WORKER = "13800000001", "13800000003"
QIJIA = "220112100000"
OPERATIONS_BY = {(op.method, op.path): op for op in OPERATIONS}


@pytest.fixture(scope="module")
def plain_app(tmp_path_factory):
    """An app whose database is never touched: the document and the docs page need none."""
    folder = tmp_path_factory.mktemp("openapi")
    app = create_app(Settings(database_url=f"sqlite:///{folder / 'unused.sqlite'}"))
    app.instance_path = str(folder)
    return app


@pytest.fixture(scope="module")
def spec(plain_app):
    response = plain_app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


@pytest.fixture(scope="module")
def mobile_spec(plain_app):
    response = plain_app.test_client().get("/mobile/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


@pytest.fixture(scope="module", params=sorted(DOCUMENTS))
def any_spec(request, plain_app):
    """Each published document in turn, for the checks every document must pass."""
    return plain_app.test_client().get(request.param).get_json()


def openapi_path(rule: str) -> str:
    """A Flask rule in OpenAPI's spelling: /cases/<int:attachment_id> -> /cases/{attachment_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def app_operations(app, prefix: str = "/api/") -> set[tuple[str, str]]:
    return {
        (method.lower(), openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix) and openapi_path(rule.rule) not in DOC_ROUTES
        for method in rule.methods - IGNORED_METHODS
    }


def documented_operations(spec) -> set[tuple[str, str]]:
    return {(method, path) for path, item in spec["paths"].items() for method in item}


# -- (a) the document and the code cannot drift apart -------------------------------------------


def test_every_api_route_is_documented_with_its_methods_and_nothing_else(plain_app, spec):
    routes, documented = app_operations(plain_app), documented_operations(spec)
    assert routes - documented == set(), "routes missing from gridsvc/web/openapi.py OPERATIONS"
    assert documented - routes == set(), "documented operations with no route"
    assert len(routes) >= 23  # every blueprint's routes were seen, not an empty map
    assert not any(path in DOC_ROUTES for _, path in documented)


def test_every_mobile_route_is_in_the_mobile_document_and_only_there(plain_app, spec, mobile_spec):
    routes, documented = app_operations(plain_app, "/mobile/"), documented_operations(mobile_spec)
    assert routes - documented == set(), "routes missing from mobile_api/openapi.py OPERATIONS"
    assert documented - routes == set(), "documented operations with no route"
    assert len(routes) >= 18  # sign-in, start-up, reports, lists, cases, patrols
    assert all(path.startswith(MOBILE.prefix) for _, path in documented)
    assert not any(path.startswith("/mobile/") for path in spec["paths"]), "phone routes belong in their document"
    assert mobile_spec["info"]["title"] != spec["info"]["title"]
    assert {op["operationId"] for item in mobile_spec["paths"].values() for op in item.values()} >= {
        "post_reports_batch", "get_startup", "post_auth_login"}


def test_path_parameters_are_documented_for_every_placeholder(any_spec):
    spec = any_spec
    for path, item in spec["paths"].items():
        placeholders = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == placeholders, f"{method} {path}"
            assert all(p["required"] for p in operation.get("parameters", []) if p["in"] == "path")


def test_the_document_is_built_once_per_app(plain_app, spec, mobile_spec):
    assert spec_for(plain_app) is spec_for(plain_app)
    assert spec_for(plain_app) == spec
    assert spec_for(plain_app, MOBILE) is spec_for(plain_app, MOBILE)
    assert spec_for(plain_app, MOBILE) == mobile_spec != spec
    fresh = create_app(Settings(database_url="sqlite://"))
    assert fresh.extensions.get("gridsvc.web.openapi") is None  # built lazily, on first use
    fresh.extensions["gridsvc"].dispose()


def test_the_strict_check_refuses_undocumented_fields_and_wrong_nested_objects(spec):
    """The answer checks below are only as good as `resolve(strict=True)`: make sure it bites."""
    def check(name, instance):
        schema = resolve(spec, {"$ref": f"#/components/schemas/{name}"}, strict=True)
        return list(OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(instance))

    error = {"error": {"code": "x", "message": "y", "fields": {}}}
    assert check("Error", error) == []
    assert check("Error", {"error": {**error["error"], "detail": 1}})
    assert check("Error", {"error": {"code": "x", "message": "y"}})
    exif = {"lon": None, "lat": None, "taken_at": "2026-05-01T08:00:00+00:00"}
    assert check("Exif", exif) == []
    assert check("Exif", {**exif, "taken_at": "yesterday"})
    attachment = {"id": 1, "sha256": "a" * 64, "content_type": "image/jpeg", "width": 1, "height": 1,
                  "size_bytes": 9, "exif": None, "distance_m": None, "location_mismatch": None,
                  "location_check_zh": "照片无 GPS 位置信息，无法核对拍摄地点", "uploaded_by": 1,
                  "uploaded_at": "2026-05-01T08:00:00+00:00", "urls": {"photo": "/p", "thumbnail": "/t"}}
    assert check("Attachment", attachment) == []
    assert check("Attachment", {**attachment, "exif": exif}) == []
    assert check("Attachment", {**attachment, "exif": {"anything": 1}})


# -- (b) it is valid OpenAPI 3.0 -----------------------------------------------------------------


def test_the_document_validates_as_openapi_3_0(any_spec):
    spec = any_spec
    errors = list(OpenAPIV30SpecValidator(spec).iter_errors())
    assert errors == []
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["version"] == metadata.version("gridsvc")
    assert "错误" in spec["info"]["description"] and "error" in spec["info"]["description"]


def test_no_parameter_or_property_is_an_empty_schema(any_spec):
    """Custom fields (Text, CrsField, MomentField, StatusList) must come out typed, not as `{}`."""
    spec = any_spec
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                assert parameter["schema"].get("type"), f"{method} {path} {parameter['name']}"
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("type") or "$ref" in prop or "anyOf" in prop, f"{name}.{field}"  # anyOf: nullable


def test_custom_fields_carry_their_format_and_help(spec):
    moment = {p["name"]: p for p in spec["paths"]["/api/v1/cases"]["get"]["parameters"]}["received_from"]
    assert moment["schema"] == {**moment["schema"], "type": "string", "format": "date-time"}
    assert "ISO 8601" in moment["description"]
    crs = spec["components"]["schemas"]["ReportBody"]["properties"]["crs"]
    assert crs["type"] == "string" and "gcj02" in crs["description"]


def test_every_error_response_is_the_one_error_shape(any_spec):
    spec = any_spec
    error = resolve(spec, {"$ref": "#/components/schemas/Error"})
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["required"]) == {"code", "message", "fields"}
    seen = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    seen += 1
                    assert response["content"] == {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}}, f"{method} {path} {status}"
            if any(p["in"] == "query" for p in operation.get("parameters", [])) or operation.get("requestBody"):
                assert "422" in operation["responses"], f"{method} {path}: input can be invalid"
    assert seen > 40


def test_an_errors_fields_are_documented_as_lists_of_reasons(spec, mobile_spec):
    """{field: [reasons]}, flat (gridsvc.web.errors.flat_fields): the one error shape and a batch item's error alike."""
    reasons = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
    for document, name in ((spec, "ErrorDetail"), (mobile_spec, "ErrorDetail"), (mobile_spec, "ItemError")):
        documented = document["components"]["schemas"][name]["properties"]["fields"]
        assert documented == {**documented, **reasons}, name
        assert "attachments[0]" in documented["description"] and "points[3].lon" in documented["description"]


def test_bearer_security_and_the_workflow_steps_and_the_upload_are_documented(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    secured = {(m, p) for m, p in documented_operations(spec) if spec["paths"][p][m].get("security")}
    assert ("get", "/api/v1/cases") in secured and ("get", "/api/v1/health") not in secured
    assert all("401" in spec["paths"][p][m]["responses"] for m, p in secured)
    step = spec["paths"]["/api/v1/cases/{tracking_no}/steps/{step}"]["post"]
    for name, definition in STEPS.items():
        assert f"| `{name}` | {definition.label_zh} |" in step["description"]
    step_parameter = next(p for p in step["parameters"] if p["name"] == "step")
    assert step_parameter["schema"]["enum"] == list(STEPS)
    upload = spec["paths"]["/api/v1/cases/{tracking_no}/attachments"]["post"]["requestBody"]["content"]
    form = upload["multipart/form-data"]["schema"]
    assert form["required"] == ["photo"] and form["properties"]["photo"]["format"] == "binary"


# -- (d) parameters and bodies are the views' own schemas ----------------------------------------


def _names(schema_cls, required_only=False) -> set[str]:
    return {field.data_key or name for name, field in schema_cls().load_fields.items()
            if field.required or not required_only}


def test_case_filters_are_the_parameters_casequery_loads(spec):
    parameters = spec["paths"]["/api/v1/cases"]["get"]["parameters"]
    names = {p["name"] for p in parameters if p["in"] == "query"}
    assert names == _names(OPERATIONS_BY[("get", "/api/v1/cases")].query)
    assert {"status", "category", "department", "area", "overdue", "flagged", "flag", "bbox", "crs",
            "received_from", "received_before", "limit", "offset"} <= names
    status = next(p for p in parameters if p["name"] == "status")
    assert "handling" in status["description"] and "default" not in status["schema"]
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "default": 50, "minimum": 1, "maximum": 500}


def test_report_body_lists_the_required_fields_of_reportbody(spec):
    body = spec["paths"]["/api/v1/reports"]["post"]["requestBody"]
    schema = resolve(spec, body["content"]["application/json"]["schema"])
    assert body["required"] is True
    assert set(schema["required"]) == _names(OPERATIONS_BY[("post", "/api/v1/reports")].body, required_only=True)
    assert set(schema["required"]) == {"client_uuid", "category", "description", "lon", "lat", "crs"}
    assert set(schema["properties"]) == _names(OPERATIONS_BY[("post", "/api/v1/reports")].body)


@pytest.mark.parametrize("url", sorted(DOCUMENTS))
def test_every_query_and_body_schema_is_documented_field_by_field(plain_app, url):
    spec, document = spec_for(plain_app, DOCUMENTS[url]), DOCUMENTS[url]
    for op in document.operations:
        operation = spec["paths"][op.path][op.method]
        if op.query is not None:
            documented = {p["name"]: p["required"] for p in operation["parameters"] if p["in"] == "query"}
            assert set(documented) == _names(op.query), op.path
            assert {n for n, required in documented.items() if required} == _names(op.query, True), op.path
        if op.body is not None:
            schema = resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
            assert set(schema["properties"]) == _names(op.body), op.path
            assert set(schema.get("required", [])) == _names(op.body, True), op.path


def _every_field(schema_cls: type[Schema]):
    """(where, field) for each field a schema loads, those inside lists and nested schemas included."""
    for name, field in schema_cls().load_fields.items():
        while isinstance(field, fields.List):
            field = field.inner
        if isinstance(field, fields.Nested):
            yield from ((f"{name}.{inner}", nested) for inner, nested in _every_field(type(field.schema)))
        else:
            yield name, field


@pytest.mark.parametrize("url", sorted(DOCUMENTS))
def test_json_bodies_take_only_json_numbers_and_booleans(url):
    """marshmallow's own Float, Integer and Boolean read "125.56", "7" and "yes" from text: right for a query
    string, wrong for a JSON body, whose numbers the document says are numbers (gridsvc.web.json_fields)."""
    seen = set()
    for body in {op.body for op in DOCUMENTS[url].operations if op.body}:
        for name, field in _every_field(body):
            if isinstance(field, (fields.Number, fields.Boolean)):
                assert isinstance(field, (JsonFloat, JsonInteger, JsonBoolean)), f"{body.__name__}.{name}"
                seen.add(type(field))
    assert seen == {JsonFloat, JsonInteger, JsonBoolean}


# -- (c) and (e): Swagger UI, offline and safe ------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


@pytest.mark.parametrize("page_url, document_url", [
    ("/api/docs", "/api/openapi.json"), ("/mobile/docs", "/mobile/v1/openapi.json")])
def test_docs_page_uses_only_local_assets_that_exist(plain_app, page_url, document_url):
    client = plain_app.test_client()
    page = client.get(page_url)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    parser = _Assets()
    parser.feed(html)
    assert not re.search(r"""["'(]\s*(https?:)?//""", html), "the page must not load anything from another host"
    assert all(url.startswith("/api/docs/static/") for url in parser.urls), parser.urls
    scripts = [u for u in parser.urls if u.endswith(".js")]
    assert scripts == ["/api/docs/static/swagger-ui-bundle.js"]
    assert "/api/docs/static/swagger-ui.css" in parser.urls
    for url in parser.urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.get_data()) > 100
    assert client.get(scripts[0]).mimetype in ("text/javascript", "application/javascript")
    assert client.get("/api/docs/static/swagger-ui.css").mimetype == "text/css"
    assert f'"{document_url}"' in html and "validatorUrl: null" in html  # the public validator stays unused


@pytest.mark.parametrize("url", [
    "/api/docs/static/../../__init__.py",  # swagger_ui_bundle/__init__.py exists, two folders up
    "/api/docs/static/..%2f..%2f__init__.py",
    "/api/docs/static/%2e%2e/%2e%2e/__init__.py",
    "/api/docs/static/../../../../../../etc/passwd",
    "/api/docs/static//etc/passwd",
    "/api/docs/static/.",
    "/api/docs/static/",
    "/api/docs/static/no-such-file.js",
])
def test_the_static_route_does_not_leave_its_folder(plain_app, url):
    assert (Path(swagger_ui_path).parents[1] / "__init__.py").is_file()
    response = plain_app.test_client().get(url, follow_redirects=True)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert b"root:" not in response.get_data() and b"swagger_ui_path" not in response.get_data()


# -- the document tells the truth about real answers (both backends) -------------------------------


SAMPLE_PATH_VALUES = {"tracking_no": "20260101-AAAAAAAA", "step": "file", "attachment_id": "1",
                      "client_uuid": "0b8f3a52-3c1e-4f5e-9a57-2d6f1c0e7b41", "seq": "1",
                      "township": "220112100000"}


@pytest.mark.parametrize("document_url", sorted(DOCUMENTS))
def test_every_operation_answers_only_documented_statuses_without_a_token(client, rt, document_url):
    spec = client.get(document_url).get_json()
    values = {**SAMPLE_PATH_VALUES, "code": rt.index.get().cells[0].code}
    for method, path in sorted(documented_operations(spec)):
        url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
        response = client.open(url, method=method.upper(), json={} if method == "post" else None)
        documented = spec["paths"][path][method]
        assert str(response.status_code) in documented["responses"], f"{method.upper()} {url}: {response.status_code}"
        if response.status_code >= 400:
            assert_documented(spec, method, path, response, response.status_code)
        needs_input = any(p["required"] for p in documented.get("parameters", []) if p["in"] == "query")
        if documented.get("security"):
            assert response.status_code >= 400, f"{method.upper()} {url} answered without a token"
            if method == "get" and not needs_input:  # (a required query parameter may be refused first)
                assert response.status_code == 401
        else:
            assert response.status_code != 401


def test_public_answers_fit_the_document(client, rt):
    spec = client.get("/api/openapi.json").get_json()
    index = rt.index.get()
    cell, point = base_grid_and_point(index)
    get = client.get

    assert_documented(spec, "get", "/api/v1/health", get("/api/v1/health"), 200)
    locate = get(f"/api/v1/locate?lon={point.x}&lat={point.y}&crs=cgcs2000&accuracy=30")
    assert_documented(spec, "get", "/api/v1/locate", locate, 200)
    assert "accuracy_grids" in locate.get_json()  # the optional fields were checked too
    assert_documented(spec, "get", "/api/v1/locate", get("/api/v1/locate?lon=116.39&lat=39.9&crs=wgs84"), 200)
    assert_documented(spec, "get", "/api/v1/locate", get("/api/v1/locate?lon=1&lat=95&crs=wgs84"), 422)
    bbox = ",".join(str(v) for v in (point.x - 0.01, point.y - 0.01, point.x + 0.01, point.y + 0.01))
    grids = get(f"/api/v1/grids?bbox={bbox}&out_crs=gcj02")
    assert_documented(spec, "get", "/api/v1/grids", grids, 200)
    assert grids.get_json()["features"]
    assert_documented(spec, "get", "/api/v1/grids/{code}", get(f"/api/v1/grids/{cell.code}"), 200)
    assert_documented(spec, "get", "/api/v1/grids/{code}", get("/api/v1/grids/220112999999999"), 404)
    assert_documented(spec, "get", "/api/v1/grids/{code}/versions", get(f"/api/v1/grids/{cell.code}/versions"), 200)
    for path in ("/api/v1/categories", "/api/v1/departments", "/api/v1/responsibility",
                 "/api/v1/responsibility/coverage"):
        assert_documented(spec, "get", path, get(path), 200)
    with rt.sessions() as session:
        category = next(c for c in current_categories(session) if c.urgent_limit_unit)
    assert_documented(spec, "get", "/api/v1/route", get(f"/api/v1/route?grid={cell.code}&category={category.code}"),
                      200)
    assert_documented(spec, "get", "/api/v1/route", get(f"/api/v1/route?grid=x&category={category.code}"), 422)


def test_signed_in_answers_fit_the_document(client, rt):
    spec = client.get("/api/openapi.json").get_json()
    index = rt.index.get()
    cell, point = base_grid_and_point(index)
    with rt.sessions.begin() as session:
        create_user(session, COMMANDER, "齐家指挥长", "township_commander", PASSWORD, admin_code=QIJIA)
        create_user(session, WORKER, "网格员小王", "grid_worker", PASSWORD, grid_codes=[cell.code])
        category = next(c for c in current_categories(session) if c.township_may_act).code

    def sign_in(phone):
        response = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD})
        assert_documented(spec, "post", "/api/v1/auth/login", response, 200)
        return response.get_json()

    worker, commander = sign_in(WORKER), sign_in(COMMANDER)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": commander["refresh_token"]})
    assert_documented(spec, "post", "/api/v1/auth/refresh", refreshed, 200)
    as_worker = {"Authorization": f"Bearer {worker['access_token']}"}
    as_commander = {"Authorization": f"Bearer {refreshed.get_json()['access_token']}"}
    wrong = client.post("/api/v1/auth/login", json={"phone": WORKER, "password": "wrong password!"})
    assert_documented(spec, "post", "/api/v1/auth/login", wrong, 401)
    assert_documented(spec, "get", "/api/v1/me", client.get("/api/v1/me", headers=as_commander), 200)

    body = {"client_uuid": str(uuid.uuid4()), "category": category, "description": "路边堆放垃圾",
            "lon": point.x, "lat": point.y, "crs": "cgcs2000", "accuracy": 5,
            "reported_at": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()}
    reported = client.post("/api/v1/reports", json=body, headers=as_worker)
    assert_documented(spec, "post", "/api/v1/reports", reported, 201)
    assert_documented(spec, "post", "/api/v1/reports", client.post("/api/v1/reports", json=body, headers=as_worker),
                      200)
    conflict = client.post("/api/v1/reports", json={**body, "description": "另一件事"}, headers=as_worker)
    assert_documented(spec, "post", "/api/v1/reports", conflict, 409)
    invalid = client.post("/api/v1/reports", json={**body, "lat": "north"}, headers=as_worker)
    assert_documented(spec, "post", "/api/v1/reports", invalid, 422)
    assert invalid.get_json()["error"]["fields"] == {"lat": ["须为数字 / Not a valid number."]}

    number = reported.get_json()["tracking_no"]
    case_path = "/api/v1/cases/{tracking_no}"
    url = f"/api/v1/cases/{number}"
    assert_documented(spec, "get", "/api/v1/cases", client.get("/api/v1/cases?status=reported,filed",
                                                               headers=as_commander), 200)
    assert_documented(spec, "get", "/api/v1/cases", client.get("/api/v1/cases?status=lost", headers=as_commander),
                      422)
    assert_documented(spec, "get", case_path, client.get(url, headers=as_commander), 200)
    assert_documented(spec, "get", case_path, client.get("/api/v1/cases/20990101-AAAAAAAA", headers=as_commander),
                      404)
    assert_documented(spec, "get", case_path + "/steps", client.get(f"{url}/steps", headers=as_commander), 200)
    filed = client.post(f"{url}/steps/file", json={}, headers=as_commander)
    assert_documented(spec, "post", case_path + "/steps/{step}", filed, 200)
    again = client.post(f"{url}/steps/file", json={}, headers=as_commander)
    assert_documented(spec, "post", case_path + "/steps/{step}", again, 409)
    assert_documented(spec, "post", case_path + "/steps/{step}",
                      client.post(f"{url}/steps/fly", json={}, headers=as_commander), 404)
    assert_documented(spec, "get", case_path + "/record", client.get(f"{url}/record", headers=as_commander), 200)

    photo = {"photo": (io.BytesIO(phone_jpeg(point.x, point.y)), "IMG_0001.jpg", "image/jpeg")}
    uploaded = client.post(f"{url}/attachments", data=photo, content_type="multipart/form-data", headers=as_worker)
    assert_documented(spec, "post", case_path + "/attachments", uploaded, 201)
    assert uploaded.get_json()["exif"] is not None  # the nested EXIF object was checked, not only its null
    not_a_photo = {"photo": (io.BytesIO(b"not a photo"), "x.jpg", "image/jpeg")}
    refused = client.post(f"{url}/attachments", data=not_a_photo, content_type="multipart/form-data",
                          headers=as_worker)
    assert_documented(spec, "post", case_path + "/attachments", refused, 422)
    listed = client.get(f"{url}/attachments", headers=as_worker)
    assert_documented(spec, "get", case_path + "/attachments", listed, 200)
    urls = listed.get_json()["attachments"][0]["urls"]
    assert_documented(spec, "get", case_path + "/attachments/{attachment_id}",
                      client.get(urls["photo"], headers=as_worker), 200)
    assert_documented(spec, "get", case_path + "/attachments/{attachment_id}/thumbnail",
                      client.get(urls["thumbnail"], headers=as_worker), 200)

    assert_documented(spec, "post", "/api/v1/auth/logout", client.post("/api/v1/auth/logout", headers=as_worker),
                      204)
    assert_documented(spec, "get", "/api/v1/me", client.get("/api/v1/me", headers=as_worker), 401)


def test_mobile_answers_fit_the_mobile_document(client, rt):
    spec = client.get("/mobile/v1/openapi.json").get_json()
    index = rt.index.get()
    cell, point = base_grid_and_point(index)
    with rt.sessions.begin() as session:
        create_user(session, WORKER, "网格员小王", "grid_worker", PASSWORD, grid_codes=[cell.code])
        category = next(c for c in current_categories(session) if c.township_may_act).code
    signed_in = client.post("/mobile/v1/auth/login", json={"phone": WORKER, "password": PASSWORD, "device_id": "a1"})
    assert_documented(spec, "post", "/mobile/v1/auth/login", signed_in, 200)
    token = {"Authorization": f"Bearer {signed_in.get_json()['access_token']}"}

    def check(method, path, status, values=None, headers=None, **kwargs):
        """Call `path` (the document's, with `values` for its placeholders) as the worker; check the answer."""
        url = "/mobile/v1" + path.format(**(values or {}))
        response = client.open(url, method=method.upper(), headers={**token, **(headers or {})}, **kwargs)
        assert_documented(spec, method, "/mobile/v1" + path, response, status)
        return response.get_json()

    startup = client.get("/mobile/v1/startup", headers=token)
    assert_documented(spec, "get", "/mobile/v1/startup", startup, 200)
    assert startup.get_json()["grids"] and startup.get_json()["catalogue"]["categories"]
    check("get", "/startup", 304, headers={"If-None-Match": startup.headers["ETag"]})

    report = {"client_uuid": str(uuid.uuid4()), "category": category, "description": "路边堆放垃圾",
              "lon": point.x, "lat": point.y, "crs": "cgcs2000", "accuracy": 5}
    case = check("post", "/reports", 201, json=report)
    check("post", "/reports", 200, json=report)
    batch = check("post", "/reports/batch", 200,
                  json={"reports": [report, {**report, "client_uuid": 7}, "x", None, {**report, "lon": "1"}]})
    assert [(r["result"], r["client_uuid"]) for r in batch["results"]] == [
        ("existing", report["client_uuid"]), ("rejected", None), ("rejected", None), ("rejected", None),
        ("rejected", report["client_uuid"])]
    photo = {"photo": (io.BytesIO(phone_jpeg(point.x, point.y)), "IMG_0001.jpg", "image/jpeg")}
    check("post", "/reports/{client_uuid}/photos", 201, report, data=photo, content_type="multipart/form-data")
    for path in ("/my/reports", "/my/verifications", "/my/tasks"):
        check("get", path, 200)
    mine = check("get", "/my/reports", 200, query_string={"open": "true"})
    assert [c["tracking_no"] for c in mine["cases"]] == [case["tracking_no"]]
    assert (mine["total"], mine["next"]) == (1, None)
    check("get", "/my/reports", 422, query_string={"before": "20260101-AAAAAAAA"})
    check("get", "/cases/{tracking_no}", 200, case)
    check("get", "/cases/{tracking_no}/steps", 200, case)

    now = datetime.now(timezone.utc)
    patrol = {"client_uuid": str(uuid.uuid4()), "started_at": (now - timedelta(minutes=10)).isoformat()}
    check("post", "/patrols", 201, json=patrol)
    fixes = [{"seq": i, "lon": point.x + i * 1e-4, "lat": point.y, "crs": "cgcs2000", "accuracy": 5,
              "recorded_at": (now - timedelta(minutes=9 - i)).isoformat()} for i in range(3)]
    points = check("post", "/patrols/{client_uuid}/points", 200, patrol,
                   json={"points": [*fixes, {"seq": "x"}, None, {**fixes[0], "lon": "1"}]})
    assert (points["added"], points["rejected"]) == (3, 3)
    assert check("post", "/patrols/{client_uuid}/stop", 200, patrol)["stopped_now"] is True  # no body at all
    china_day = (now + timedelta(hours=8)).date().isoformat()
    check("get", "/patrols/coverage", 200, query_string={"date": china_day, "patrol": patrol["client_uuid"]})
