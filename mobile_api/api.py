"""Mobile API v1 (`/mobile/v1`): what the grid worker's and the enforcement officer's phones call.

    POST /mobile/v1/auth/login | refresh | logout       sign-in (the same tokens as the web screen)
    GET  /mobile/v1/startup[?crs=gcj02]                 profile, my grids, catalogue; ETag / 304
    POST /mobile/v1/reports                             one report (JSON): 201 new, 200 the same again
    POST /mobile/v1/reports/batch                       the offline queue: a result per item
    POST /mobile/v1/reports/<client_uuid>/photos        a photo of my report (multipart `photo`)
    GET  /mobile/v1/my/reports[?open=true][&limit=&before=]  what I reported, a page at a time
    GET  /mobile/v1/my/verifications[?crs=&limit=&before=]   handled cases waiting for my 核查, by deadline
    GET  /mobile/v1/my/tasks[?crs=&limit=&before=]      my department's open dispatches, by deadline
    GET  /mobile/v1/cases/<tracking_no>                 one case (as /api/v1)
    GET  /mobile/v1/cases/<tracking_no>/record          its record, as the phone's timeline shows it
    POST /mobile/v1/cases/<tracking_no>/steps/<step>    accept, arrive, feedback, verify, rework, …
    POST /mobile/v1/cases/<tracking_no>/attachments     evidence photos (multipart `photo`)
    GET|POST /mobile/v1/cases/<tracking_no>/rating      my rating of my closed report (满意度)
    GET  /mobile/v1/events?since=N                      events for me since N (as /api/v1; or Socket.IO)
    POST /mobile/v1/events/<seq>/ack                    acknowledge a dispatch

Thin: the rules live in gridsvc (intake, workflow, attachments) and in this
package's reporting and my_cases modules. Errors have the service's one shape.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import Length, Range, Regexp

from gridsvc.cases.view import phone_summary, phone_work_rows
from gridsvc.web import attachments_api, auth_api, cases_api
from gridsvc.kernel.runtime import runtime
from gridsvc.web import events_api
from gridsvc.web.attachments_api import store_upload
from gridsvc.web.auth_api import json_body, signed_in_user
from gridsvc.web.errors import ApiError
from gridsvc.web.grids_api import CrsField
from mobile_api.my_cases import (CURSOR_MAX_LENGTH, LIST_LIMIT, PAGE, my_reports, my_tasks,
                                 waiting_for_my_verification)
from mobile_api.reporting import MAX_BATCH, ReportRejected, my_report, submit_one
from mobile_api.startup import StartupQuery, conditional_json, default_crs, startup_data

mobile_api = Blueprint("mobile_api", __name__, url_prefix="/mobile/v1")

# The same views as the web API, under the phone's prefix: one implementation, two addresses.
for rule, view, methods in (
    ("/auth/login", auth_api.login, ["POST"]),
    ("/auth/refresh", auth_api.refresh_tokens, ["POST"]),
    ("/auth/logout", auth_api.logout, ["POST"]),
    ("/cases/<tracking_no>", cases_api.case_detail, ["GET"]),
    ("/cases/<tracking_no>/record", cases_api.case_history, ["GET"]),
    ("/cases/<tracking_no>/steps", cases_api.case_steps, ["GET"]),
    ("/cases/<tracking_no>/steps/<step>", cases_api.take_step, ["POST"]),
    ("/cases/<tracking_no>/attachments", attachments_api.upload, ["POST"]),
    ("/cases/<tracking_no>/rating", cases_api.case_rating, ["GET"]),
    ("/cases/<tracking_no>/rating", cases_api.rate_case, ["POST"]),
    ("/events", events_api.event_list, ["GET"]),
    ("/events/<int:seq>/ack", events_api.acknowledge_event, ["POST"]),
):
    mobile_api.add_url_rule(rule, view_func=view, methods=methods)


class BatchBody(Schema):
    """The queue as the view loads it: each item is submitted alone (mobile_api.reporting), so any JSON
    value, null included, is a `rejected` result of its own rather than a 422 for the whole batch."""

    class Meta:
        unknown = EXCLUDE

    reports = fields.List(fields.Raw(allow_none=True), required=True, validate=Length(1, MAX_BATCH))


class MyReportsQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    open = fields.Boolean(load_default=False, metadata={"description": "only the cases still open"})
    limit = fields.Integer(load_default=PAGE, validate=Range(1, LIST_LIMIT),
                           metadata={"description": "at most this many"})
    before = fields.String(load_default=None,
                           validate=Regexp(cases_api.TRACKING_NO, error="须为案件编号 / a tracking number"),
                           metadata={"description": "the `next` of the page before: the cases older than that one"})


class WorkListQuery(Schema):
    """A page of my tasks or of the cases waiting for my verification, and the datum of their points."""

    class Meta:
        unknown = EXCLUDE

    crs = CrsField(load_default=None, metadata={"description": "datum of each case's `point` (default gcj02, "
                                                               "as the phone's map and /mobile/v1/startup)"})
    limit = fields.Integer(load_default=PAGE, validate=Range(1, LIST_LIMIT),
                           metadata={"description": "at most this many"})
    before = fields.String(load_default=None, validate=Length(1, CURSOR_MAX_LENGTH),
                           metadata={"description": "the `next` of the page before: the cases after it"})


@mobile_api.get("/startup")
def startup():
    query = StartupQuery().load(request.args)
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        return conditional_json(startup_data(session, rt.index.get(), user, default_crs(query)))


@mobile_api.post("/reports")
def report():
    rt = runtime()
    with rt.sessions() as session:
        reporter = signed_in_user(session)
        outcome = submit_one(session, cases_api.current_intake(rt), reporter, json_body())
        if outcome.result == "rejected":
            raise ReportRejected(outcome)
        body = phone_summary(session, outcome.case, rt.index.get())
        return jsonify(body), 201 if outcome.result == "created" else 200


@mobile_api.post("/reports/batch")
def report_batch():
    items = BatchBody().load(json_body())["reports"]
    rt = runtime()
    intake = cases_api.current_intake(rt)
    with rt.sessions() as session:
        reporter = signed_in_user(session)
        results = []
        for position, raw in enumerate(items):
            outcome = submit_one(session, intake, reporter, raw)
            results.append({
                "index": position, "client_uuid": outcome.client_uuid, "result": outcome.result,
                "case": phone_summary(session, outcome.case, intake.index) if outcome.case else None,
                "error": outcome.error,
            })
        return jsonify({"results": results})


@mobile_api.post("/reports/<client_uuid>/photos")
def report_photo(client_uuid: str):
    with runtime().sessions() as session:
        reporter = signed_in_user(session)
        case = my_report(session, reporter, client_uuid)
        if case is None:
            raise ApiError(404, "report_not_found", f"没有编号为 {client_uuid} 的上报 / no report {client_uuid} of yours")
        return store_upload(session, case, reporter)


def _listing(cases, session) -> dict:
    index = runtime().index.get()
    return {"cases": [phone_summary(session, c, index) for c in cases]}


@mobile_api.get("/my/reports")
def reports_of_mine():
    query = MyReportsQuery().load(request.args)
    with runtime().sessions() as session:
        page = my_reports(session, signed_in_user(session), query["open"], query["limit"], query["before"])
        return jsonify({"total": page.total, "limit": query["limit"], "next": page.next,
                        **_listing(page.cases, session)})


def _work_list(pages) -> dict:
    """A page of a list by deadline (`pages(session, user, limit, before)`), its rows in the asked datum."""
    query = WorkListQuery().load(request.args)
    crs = default_crs(query)
    rt = runtime()
    with rt.sessions() as session:
        page = pages(session, signed_in_user(session), query["limit"], query["before"])
        return {"total": page.total, "limit": query["limit"], "next": page.next, "crs": str(crs),
                "cases": phone_work_rows(session, page.cases, rt.index.get(), crs)}


@mobile_api.get("/my/verifications")
def verifications():
    return jsonify(_work_list(waiting_for_my_verification))


@mobile_api.get("/my/tasks")
def tasks():
    return jsonify(_work_list(my_tasks))
