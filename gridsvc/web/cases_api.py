"""Cases API v1: submit a report (intake), find cases, read one and its record, take workflow steps.

    POST /api/v1/reports                          -> 201 new case, 200 the same retry, 409 conflict
    GET  /api/v1/cases?q=&status=&bbox=&…&sort=   -> the visible cases that match (newest first by default),
                                                     with the names of their places
    GET  /api/v1/cases/<tracking_no>              -> the case
    GET  /api/v1/cases/<tracking_no>/record       -> its record
    GET  /api/v1/cases/<tracking_no>/steps        -> the steps the caller may take now
    POST /api/v1/cases/<tracking_no>/steps/<step> -> take one (gridsvc.cases.workflow)
    POST /api/v1/cases/<tracking_no>/public-note  -> correct a published 不予立案/结案 note (gridsvc.cases.public_notes)
    GET  /api/v1/cases/<tracking_no>/rating       -> the reporter's rating (404 none yet)
    POST /api/v1/cases/<tracking_no>/rating       -> rate a closed case: 201, 200 the same retry (gridsvc.cases.ratings)

All need a signed-in caller. A case the caller may not see answers 404, as if
it did not exist: a commander of township A learns nothing of township B.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields
from marshmallow.validate import Length, OneOf, Range, Regexp

from gridsvc.kernel.runtime import runtime
from gridsvc.web.grids_api import DATUM_HELP, BboxFilter, CommaSeparated, CrsField, MomentField, Text
from gridsvc.web.auth_api import json_body, signed_in_user
from gridsvc.cases import view
from gridsvc.cases.access import can_see, record_data_as_shown
from gridsvc.cases.sheet import ACTION_NAMES_ZH, step_choices
from gridsvc.cases.search import SORTS, CaseFilter, find_cases, place_names
from gridsvc.geo.grid_records import DOMAINS
from gridsvc.web.errors import ApiError
from gridsvc.cases.intake import GPS, LOCATION_SOURCES, Intake, Report, submit
from gridsvc.web.json_fields import JsonBoolean, JsonFloat, JsonInteger
from gridsvc.kernel.models import CASE_STATUSES, Case, CaseEvent, User
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.cases.public_notes import correct_public_note
from gridsvc.cases.ratings import rate, rating_json, rating_of
from gridsvc.cases.workflow import Context, StepInput, act

cases_api = Blueprint("cases_api", __name__, url_prefix="/api/v1")
TRACKING_NO = re.compile(r"^\d{8}-[A-Z2-7]{8}$")


class ReportBody(Schema):
    class Meta:
        unknown = EXCLUDE

    client_uuid = Text(required=True, validate=Length(1, 38))
    category = Text(required=True, validate=Length(1, 5))
    description = Text(required=True, validate=Length(1, 2000))
    lon = JsonFloat(required=True, allow_nan=True)
    lat = JsonFloat(required=True, allow_nan=True)
    crs = CrsField(required=True, metadata={"description": DATUM_HELP})
    accuracy = JsonFloat(load_default=None, allow_none=True, allow_nan=True)
    reported_at = MomentField(load_default=None, allow_none=True)
    urgent = JsonBoolean(load_default=False)
    location_source = Text(load_default=GPS, validate=OneOf(LOCATION_SOURCES), metadata={
        "description": "where the point came from: gps (a fix, the default); map (placed on the map by hand) or "
                       "grid (a grid chosen by name) flag the case `location_picked_by_hand`"})


class StatusList(CommaSeparated):
    """Statuses separated by commas, e.g. `dispatched,handling`."""

    def check(self, value: str) -> None:
        if value not in CASE_STATUSES:
            raise ValidationError(f"未知状态 {value!r} / unknown status {value!r}; one of {', '.join(CASE_STATUSES)}")


class CaseQuery(BboxFilter):
    status = StatusList(load_default=())
    category = fields.String(load_default=None, validate=Regexp(r"^\d{5}$", error="须为 5 位分类代码 / 5 digits"))
    department = Text(load_default=None, validate=Length(1, 40))  # Text: a NUL would be a database error
    area = fields.String(load_default=None,
                         validate=Regexp(r"^(\d{12}|\d{15})$", error="须为 12 位区划代码或 15 位网格代码 / a 12- or 15-digit code"),
                         metadata={"description": "a 12-digit administrative or 15-digit grid code: the cases inside"})
    overdue = fields.Boolean(load_default=None)
    flagged = fields.Boolean(load_default=None)
    flag = fields.String(load_default=None,
                         validate=Regexp(r"^[a-z_]{1,40}(,[a-z_]{1,40}){0,9}$", error="须为标记名称 / flag names"),
                         metadata={"description": "a flag, or several separated by commas: cases with any of them"})
    escalated = fields.Boolean(load_default=None, metadata={"description": "上报县级: sent to a county department"})
    county_alerted = fields.Boolean(load_default=None, metadata={
        "description": "the county was alerted: still overdue county_alert_after_days after the deadline"})
    supervised = fields.Boolean(load_default=None, metadata={"description": "督办 at least once"})
    received_from = MomentField(load_default=None)
    received_before = MomentField(load_default=None)
    q = Text(load_default=None, validate=Length(max=100), metadata={
        "description": "words, each of which must occur in the tracking number, the description, the reporter's "
                       "name or phone, or the grid's or village's name (Chinese too: docs/screen.md, 查找)"})
    domain = fields.String(load_default=None, metadata={"description": f"the category's domain: {', '.join(DOMAINS)}"})
    sort = fields.String(load_default="newest", metadata={"description": f"the order: {', '.join(SORTS)}"})
    limit = fields.Integer(load_default=50, validate=Range(1, 500))
    offset = fields.Integer(load_default=0, validate=Range(0, 1_000_000))


class StepBody(Schema):
    class Meta:
        unknown = EXCLUDE

    note = Text(load_default=None, allow_none=True, validate=Length(max=2000))
    department = Text(load_default=None, allow_none=True, validate=Length(1, 40))
    team = Text(load_default=None, allow_none=True, validate=Length(1, 48))
    grid = Text(load_default=None, allow_none=True,
                validate=Regexp(r"^\d{15}$", error="须为 15 位网格代码 / a 15-digit grid code"))
    until = MomentField(load_default=None, allow_none=True)
    into = Text(load_default=None, allow_none=True, validate=Length(1, 24))
    attachments = fields.List(JsonInteger(), load_default=list, validate=Length(max=20))
    lon = JsonFloat(load_default=None, allow_none=True, allow_nan=True, metadata={"description": "arrive: where"})
    lat = JsonFloat(load_default=None, allow_none=True, allow_nan=True)
    crs = CrsField(load_default=None, allow_none=True, metadata={"description": DATUM_HELP})
    expected_seq = JsonInteger(load_default=None, allow_none=True,
                               metadata={"description": "the record_seq last seen: 409 if the case moved on"})


def report_from(body: dict) -> Report:
    """The report a loaded ReportBody describes."""
    return Report(body["client_uuid"], body["category"], body["description"], body["lon"], body["lat"],
                  body["crs"], body["accuracy"], body["reported_at"], body["urgent"], body["location_source"])


def current_intake(rt) -> Intake:
    """What intake needs from the running service: its current index, calendar and rules."""
    return Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings)


@cases_api.post("/reports")
def report():
    body = ReportBody().load(json_body())
    rt = runtime()
    with rt.sessions() as session:
        reporter = signed_in_user(session)
        case, created = submit(session, current_intake(rt), reporter, report_from(body))
        session.commit()
        return jsonify(view.full(case)), 201 if created else 200


def visible_case(session, tracking_no: str, user: User | None = None) -> Case:
    """The case, if the caller (default: the signed-in one) may see it; else 404, whether or not it exists."""
    user = user or signed_in_user(session)
    case = None
    if TRACKING_NO.match(tracking_no):
        case = session.scalar(sa.select(Case).where(Case.tracking_no == tracking_no))
    if case is not None and can_see(session, user, case):
        return case
    raise ApiError(404, "case_not_found", f"案件 {tracking_no} 不存在 / no case {tracking_no}")


@cases_api.get("/cases")
def case_list():
    query = CaseQuery().load(request.args)
    wanted = CaseFilter(
        bounds=query.get("bounds"), statuses=query["status"], category=query["category"],
        department=query["department"], area=query["area"], overdue=query["overdue"], flagged=query["flagged"],
        flag=query["flag"], escalated=query["escalated"], county_alerted=query["county_alerted"],
        supervised=query["supervised"], received_from=query["received_from"],
        received_before=query["received_before"], q=query["q"], domain=query["domain"], sort=query["sort"],
        limit=query["limit"], offset=query["offset"],
    )
    rt = runtime()
    with rt.sessions() as session:
        total, cases = find_cases(session, signed_in_user(session), wanted)
        return jsonify({"total": total, "limit": wanted.limit, "offset": wanted.offset, "sort": wanted.sort,
                        "cases": [view.full(c) for c in cases], "places": place_names(rt.index.get(), cases)})


@cases_api.get("/cases/<tracking_no>")
def case_detail(tracking_no: str):
    with runtime().sessions() as session:
        return jsonify(view.full(visible_case(session, tracking_no)))


@cases_api.get("/cases/<tracking_no>/record")
def case_history(tracking_no: str):
    with runtime().sessions() as session:
        user = signed_in_user(session)
        case = visible_case(session, tracking_no, user)
        events = list(session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
                                      .order_by(CaseEvent.seq)))
        shown = record_data_as_shown(session, user, [e.data for e in events])
        return jsonify({"tracking_no": tracking_no, "record": [
            {"seq": e.seq, "at": as_utc(e.at).isoformat(), "actor_id": e.actor_id, "action": e.action,
             "action_name_zh": ACTION_NAMES_ZH.get(e.action), "from_status": e.from_status,
             "to_status": e.to_status, "note": e.note, "data": data, "hash": e.hash}
            for e, data in zip(events, shown)
        ]})


@cases_api.get("/cases/<tracking_no>/steps")
def case_steps(tracking_no: str):
    with runtime().sessions() as session:
        user = signed_in_user(session)
        case = visible_case(session, tracking_no, user)
        return jsonify({"tracking_no": tracking_no, "status": case.status,
                        "steps": step_choices(session, user, case, utcnow())})


@cases_api.post("/cases/<tracking_no>/steps/<step>")
def take_step(tracking_no: str, step: str):
    body = StepBody().load(json_body())
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        case = visible_case(session, tracking_no, user)
        given = StepInput(**{**body, "attachments": tuple(body["attachments"])})
        context = Context(rt.index.get(), rt.calendar.get(), rt.settings, utcnow())
        shown = act(session, context, user, case, step, given)
        session.commit()
        return jsonify(view.full(shown))


class PublicNoteBody(Schema):
    class Meta:
        unknown = EXCLUDE

    seq = JsonInteger(required=True, metadata={"description": "the record entry (`seq`) of the 不予立案 or 结案 step"})
    note = Text(required=True, validate=Length(1, 2000), metadata={"description": "the text the public page shows"})


@cases_api.post("/cases/<tracking_no>/public-note")
def correct_note(tracking_no: str):
    body = PublicNoteBody().load(json_body())
    with runtime().sessions() as session:
        user = signed_in_user(session)
        case = visible_case(session, tracking_no, user)
        corrected = correct_public_note(session, utcnow(), user, case, body["seq"], body["note"])
        session.commit()
        return jsonify({"tracking_no": tracking_no, "record_seq": case.record_seq,
                        "note": {"seq": corrected.seq, **corrected.as_published()}})


class RatingBody(Schema):
    class Meta:
        unknown = EXCLUDE

    stars = JsonInteger(required=True, validate=Range(1, 5),
                        metadata={"description": "1–5 (满意度); 1–2 may reopen the case (docs/public.md)"})
    comment = Text(load_default=None, allow_none=True, validate=Length(max=1000))


def _rating_answer(case: Case, rating) -> dict:
    return {"tracking_no": case.tracking_no, **rating_json(rating), "case": view.full(case)}


@cases_api.get("/cases/<tracking_no>/rating")
def case_rating(tracking_no: str):
    with runtime().sessions() as session:
        case = visible_case(session, tracking_no)
        rating = rating_of(session, case)
        if rating is None:
            raise ApiError(404, "rating_not_found", f"案件 {tracking_no} 尚未评价 / {tracking_no} is not rated")
        return jsonify(_rating_answer(case, rating))


@cases_api.post("/cases/<tracking_no>/rating")
def rate_case(tracking_no: str):
    body = RatingBody().load(json_body())
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        case = visible_case(session, tracking_no, user)
        context = Context(rt.index.get(), rt.calendar.get(), rt.settings, utcnow())
        rated = rate(session, context, user, case, body["stars"], body["comment"])
        session.commit()
        return jsonify(_rating_answer(case, rated.rating)), 201 if rated.created else 200
