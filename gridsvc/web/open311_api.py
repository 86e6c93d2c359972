"""The citizen channel's web layer: Open311 GeoReport v2 at /open311/v2 (gridsvc.standards.open311, docs/open311.md).

    GET  /open311/v2/services.{json,xml}                  -> the services (the current catalogue)
    GET  /open311/v2/services/<service_code>.{json,xml}   -> a service's definition (no attributes)
    POST /open311/v2/requests.{json,xml}                  -> 201 a new case, 200 the same retry
    GET  /open311/v2/requests.{json,xml}                  -> requests (filters as the spec's)
    GET  /open311/v2/requests/<id>.{json,xml}             -> one request, by tracking number
    POST /open311/v2/requests/<id>/rating.{json,xml}      -> 201 the citizen's rating relayed by the app, 200 a retry
    GET  /open311/v2/tokens/<token>.{json,xml}            -> 404: requests are created at once, no tokens

Errors are the spec's list of {code, description} (XML: <errors><error>…), never our own shape.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gridsvc.kernel.runtime import runtime
from gridsvc.web.cases_api import current_intake
from gridsvc.standards.open311 import (
    FORMATS, Open311Error, create_request, errors_xml, find_requests, one_request, parse_api_keys, rate_request,
    rating_json, requests_json, service_definition, service_notice, services, to_xml,
)
from gridsvc.kernel.errors import NOT_FOUND, DomainError
from gridsvc.kernel.clock import utcnow
from gridsvc.web.errors import STANDARD_STATUSES, status_for
from gridsvc.cases.workflow import Context

open311_api = Blueprint("open311_api", __name__, url_prefix="/open311/v2")


@open311_api.record_once
def _check_keys(state) -> None:
    parse_api_keys(state.app.extensions["gridsvc"].settings.open311_api_keys)  # a bad setting stops the start


def _split(name: str) -> tuple[str, str]:
    """`02004.json` -> ('02004', 'json'); an unknown format is a 404."""
    stem, _, fmt = name.rpartition(".")
    if fmt not in FORMATS or not stem:
        raise Open311Error(NOT_FOUND, "格式为 .json 或 .xml / the format is .json or .xml")
    return stem, fmt


def _answer(fmt: str, root: str, item: str | None, data, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, item, data), status, mimetype="text/xml")
    response = jsonify(data)
    response.status_code = status
    return response


def error_response(status: int, errors: list[dict]) -> Response:
    """The spec's error format, XML when the path asks for it."""
    if request.path.endswith(".xml"):
        return Response(errors_xml(errors), status, mimetype="text/xml")
    response = jsonify(errors)
    response.status_code = status
    return response


@open311_api.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    """Any refusal under /open311 (an Open311Error, or one of the rules below it) in the spec's format,
    whose code is the status of its kind as the standards have it (gridsvc.web.errors.STANDARD_STATUSES)."""
    status = status_for(exc.kind, STANDARD_STATUSES)
    return error_response(status, [{"code": status, "description": exc.message}])


@open311_api.get("/services.<fmt>")
def service_list(fmt: str):
    _split(f"services.{fmt}")
    with runtime().sessions() as session:
        return _answer(fmt, "services", "service", services(session))


@open311_api.get("/services/<name>")
def service(name: str):
    code, fmt = _split(name)
    with runtime().sessions() as session:
        return _answer(fmt, "service_definition", None, service_definition(session, code))


@open311_api.post("/requests.<fmt>")
def post_request(fmt: str):
    _split(f"requests.{fmt}")
    rt = runtime()
    with rt.sessions() as session:
        api_key = request.form.get("api_key") or request.args.get("api_key")
        made = create_request(session, current_intake(rt), api_key, request.form)
        session.commit()
        answer = [{"service_request_id": made.case.tracking_no, "service_notice": service_notice(made.case),
                   "account_id": None}]
        return _answer(fmt, "service_requests", "request", answer, 201 if made.created else 200)


@open311_api.get("/requests.<fmt>")
def request_list(fmt: str):
    _split(f"requests.{fmt}")
    rt = runtime()
    with rt.sessions() as session:
        cases = find_requests(session, rt.settings.open311_api_keys, request.args)
        return _answer(fmt, "service_requests", "request", requests_json(session, cases))


@open311_api.get("/requests/<name>")
def request_detail(name: str):
    number, fmt = _split(name)
    rt = runtime()
    with rt.sessions() as session:
        case = one_request(session, rt.settings.open311_api_keys, number)
        return _answer(fmt, "service_requests", "request", requests_json(session, [case]))


@open311_api.post("/requests/<number>/rating.<fmt>")
def relay_rating(number: str, fmt: str):
    """An extension of GeoReport v2 (docs/open311.md): the app relays its citizen's 满意度 rating."""
    _split(f"rating.{fmt}")
    rt = runtime()
    with rt.sessions() as session:
        api_key = request.form.get("api_key") or request.args.get("api_key")
        context = Context(rt.index.get(), rt.calendar.get(), rt.settings, utcnow())
        rated = rate_request(session, context, api_key, number, request.form)
        session.commit()
        return _answer(fmt, "ratings", "rating", rating_json(number, rated), 201 if rated.created else 200)


@open311_api.get("/tokens/<name>")
def token(name: str):
    _split(name)
    raise Open311Error(NOT_FOUND, "没有该令牌 / no such token: requests are created at once, with their id")
