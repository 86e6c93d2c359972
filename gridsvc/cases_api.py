"""Cases API v1: submit a report (intake), read a case and its record, inside one's jurisdiction.

    POST /api/v1/reports                      (signed in) -> 201 new case, 200 the same retry, 409 conflict
    GET  /api/v1/cases/<tracking_no>          (signed in, in jurisdiction) -> the case
    GET  /api/v1/cases/<tracking_no>/record   (signed in, in jurisdiction) -> its record

A case outside the caller's jurisdiction answers 404, as if it did not
exist: a commander of township A learns nothing of township B.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, jsonify
from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import Length

from gridsvc import runtime
from gridsvc.accounts import jurisdiction_of
from gridsvc.api import DATUM_HELP, CrsField, MomentField, Text
from gridsvc.auth_api import json_body, signed_in_user
from gridsvc.errors import ApiError, invalid_parameter
from gridsvc.intake import Intake, Report, ReportConflict, ReportError, submit
from gridsvc.models import Case, CaseEvent
from gridsvc.network import as_utc

cases_api = Blueprint("cases_api", __name__, url_prefix="/api/v1")
TRACKING_NO = re.compile(r"^\d{8}-[A-Z2-7]{8}$")


class ReportBody(Schema):
    class Meta:
        unknown = EXCLUDE

    client_uuid = Text(required=True, validate=Length(1, 38))
    category = Text(required=True, validate=Length(1, 5))
    description = Text(required=True, validate=Length(1, 2000))
    lon = fields.Float(required=True, allow_nan=True)
    lat = fields.Float(required=True, allow_nan=True)
    crs = CrsField(required=True, metadata={"description": DATUM_HELP})
    accuracy = fields.Float(load_default=None, allow_none=True, allow_nan=True)
    reported_at = MomentField(load_default=None, allow_none=True)
    urgent = fields.Boolean(load_default=False)


def case_json(case: Case) -> dict:
    return {
        "tracking_no": case.tracking_no,
        "client_uuid": case.client_uuid,
        "status": case.status,
        "category": case.category_code,
        "category_version": case.category_version,
        "description": case.description,
        "urgent": case.urgent,
        "input": {"lon": case.input_x, "lat": case.input_y, "crs": case.input_crs},
        "point": {"lon": case.lon, "lat": case.lat, "crs": "EPSG:4490"},
        "accuracy_m": case.accuracy_m,
        "reported_at": as_utc(case.reported_at).isoformat() if case.reported_at else None,
        "received_at": as_utc(case.received_at).isoformat(),
        "grid": case.grid_code,
        "village": case.village_code,
        "township": case.township_code,
        "county": case.county_code,
        "locate_match": case.locate_match,
        "department": case.department_code,
        "reserved_to_county": case.reserved_to_county,
        "flags": list(case.flags),
        "handling_due_at": as_utc(case.handling_due_at).isoformat(),
    }


@cases_api.post("/reports")
def report():
    body = ReportBody().load(json_body())
    rt = runtime()
    with rt.sessions() as session:
        reporter = signed_in_user(session)
        try:
            case, created = submit(
                session, Intake(rt.index.get(), rt.calendar, rt.settings), reporter,
                Report(body["client_uuid"], body["category"], body["description"], body["lon"], body["lat"],
                       body["crs"], body["accuracy"], body["reported_at"], body["urgent"]),
            )
        except ReportError as exc:
            raise invalid_parameter(exc.field, str(exc)) from exc
        except ReportConflict as exc:
            raise ApiError(409, "client_uuid_conflict", f"该编号已用于另一份上报 / {exc}") from exc
        return jsonify(case_json(case)), 201 if created else 200


def visible_case(session, tracking_no: str) -> Case:
    user = signed_in_user(session)
    case = None
    if TRACKING_NO.match(tracking_no):
        case = session.scalar(sa.select(Case).where(Case.tracking_no == tracking_no))
    if case is not None:
        jurisdiction = jurisdiction_of(session, user)
        area = case.grid_code or case.township_code or case.county_code or ""
        if (
            case.reporter_id == user.id or jurisdiction.covers_area(area)
            or (case.department_code and jurisdiction.covers_department(case.department_code))
        ):
            return case
    raise ApiError(404, "case_not_found", f"案件 {tracking_no} 不存在 / no case {tracking_no}")


@cases_api.get("/cases/<tracking_no>")
def case_detail(tracking_no: str):
    with runtime().sessions() as session:
        return jsonify(case_json(visible_case(session, tracking_no)))


@cases_api.get("/cases/<tracking_no>/record")
def case_history(tracking_no: str):
    with runtime().sessions() as session:
        case = visible_case(session, tracking_no)
        events = session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))
        return jsonify({"tracking_no": tracking_no, "record": [
            {"seq": e.seq, "at": as_utc(e.at).isoformat(), "actor_id": e.actor_id, "action": e.action,
             "from_status": e.from_status, "to_status": e.to_status, "note": e.note, "data": e.data,
             "hash": e.hash}
            for e in events
        ]})
