"""One error shape for the whole API: {"error": {"code", "message", "fields"}}.

`code` is machine-readable, `message` is for people (zh-CN first, English
after), `fields` maps each offending input field to its reasons. Handlers
turn every HTTP error under the API into this shape, so clients never parse
an HTML error page.

`fields` is flat however deep the body: a list item is named by its index
(`attachments[0]`), a nested object's field by a dot (`location.lon`, both:
`points[3].lon`), and every value is a list of strings (`flat_fields`), each
"zh / English" like the messages (marshmallow's English, in Chinese by
gridsvc.web.reasons_zh).

This is the one place where a kind of refusal (gridsvc.kernel.errors) becomes an HTTP status
(`STATUSES`): the domain raises a `DomainError` and the handler registered here answers it, so
a view catches a domain error only when it has something to add. OGC API and Open311 answer in
their standards' shapes through handlers of their own blueprints, with `STANDARD_STATUSES`.
`ApiError` is for what only the web layer knows (a body that is no JSON, a missing token, a
store that is down): it carries its status itself.
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from gridsvc.web.reasons_zh import bilingual
from gridsvc.kernel.errors import (
    CONFLICT,
    FORBIDDEN,
    INVALID,
    INVALID_PARAMETERS,
    KINDS,
    NOT_FOUND,
    TOO_LARGE,
    TOO_MANY,
    UNAUTHENTICATED,
    UNAVAILABLE,
    DomainError,
)

# Each kind of refusal and its status: the only such table of the service.
STATUSES = {
    INVALID: 422,
    UNAUTHENTICATED: 401,
    FORBIDDEN: 403,
    NOT_FOUND: 404,
    CONFLICT: 409,
    TOO_LARGE: 413,
    TOO_MANY: 429,
    UNAVAILABLE: 503,
}
assert set(STATUSES) == KINDS, "every kind of domain error needs a status"
# OGC API Features (Part 1, /req/core/query-param-invalid) and Open311 GeoReport v2 prescribe 400
# for a bad parameter, where our own API answers 422; every other kind keeps its status.
STANDARD_STATUSES = {**STATUSES, INVALID: 400}


class ApiError(Exception):
    """A refusal only the web layer knows of (see the module's docstring), with its own status."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None,
        retry_after_s: int | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}
        self.retry_after_s = retry_after_s


def invalid_parameter(field: str, reason: str) -> ApiError:
    """The 422 for one offending input field: the same shape marshmallow's errors get."""
    return ApiError(status_for(INVALID), "invalid_parameters", INVALID_PARAMETERS, {field: [reason]})


def flat_fields(messages: dict | list | str) -> dict[str, list[str]]:
    """marshmallow's error messages as the documented `{field: [reasons]}`.

    marshmallow nests a list item's errors under its index and a nested object's under its field
    (`{"attachments": {0: [...]}}`), which no client can read as the one shape and no schema can
    describe as `{field: [reasons]}`; the path becomes the name instead (`attachments[0]`).
    Errors of the whole body (or of a whole item) keep marshmallow's name, `_schema`. Each reason is given
    "zh / English" (`bilingual`)."""
    flat: dict[str, list[str]] = {}
    _collect(messages, "", flat)
    return flat


def _collect(messages, name: str, flat: dict[str, list[str]]) -> None:
    if isinstance(messages, dict):
        for key, inner in messages.items():
            _collect(inner, _field_path(name, key), flat)
        return
    reasons = messages if isinstance(messages, list) else [messages]
    flat.setdefault(name or "_schema", []).extend(bilingual(str(reason)) for reason in reasons)


def _field_path(name: str, key) -> str:
    """`name` and one step further: `[i]` for a list index, `.key` for a field (`_schema`: `name` itself)."""
    if isinstance(key, int):
        return f"{name}[{key}]"
    if key == "_schema":
        return name
    return f"{name}.{key}" if name else str(key)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def status_for(kind: str, statuses: dict[str, int] = STATUSES) -> int:
    """The HTTP status of a kind of refusal (`STANDARD_STATUSES` for OGC API and Open311)."""
    return statuses[kind]


def domain_error_body(exc: DomainError) -> dict:
    """The documented shape of a domain error: one about input fields names them in `fields`, with
    its reasons there and its `summary` as the message, as marshmallow's errors are answered; any
    other has its own message and no fields."""
    reasons = exc.reasons()
    if not reasons:
        return error_body(exc.code, exc.message)
    return error_body(exc.code, exc.summary, reasons)


def domain_error_response(exc: DomainError):
    """A domain error as the API answers it: the shape, the kind's status, Retry-After if it ends."""
    response = jsonify(domain_error_body(exc))
    if exc.retry_after_s is not None:
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response, status_for(exc.kind)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error_response)

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        response = jsonify(error_body(exc.code, exc.message, exc.fields))
        if exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response, exc.status

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError):
        body = error_body("invalid_parameters", INVALID_PARAMETERS, flat_fields(exc.messages))
        return jsonify(body), status_for(INVALID)

    @app.errorhandler(StaleDataError)
    def _lost_update(exc: StaleDataError):
        message = "记录已被他人更新，请刷新后重试 / someone else changed this meanwhile: reload and try again"
        return jsonify(error_body("case_changed", message)), status_for(CONFLICT)

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError):
        app.logger.exception("database error")
        message = "数据库不可用 / the database is unavailable or its schema is missing (run `gridsvc db upgrade`)"
        return jsonify(error_body("database_unavailable", message)), 503

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/open311/"):  # the citizen channel answers in the Open311 spec's format
            from gridsvc.web.open311_api import error_response
            return error_response(exc.code, [{"code": exc.code, "description": exc.description or exc.name}])
        if request.path.startswith("/ogc/"):  # OGC API's exception shape (gridsvc.web.ogc_api), e.g. "NotFound"
            return jsonify({"code": (exc.name or "Error").replace(" ", ""),
                            "description": exc.description or exc.name}), exc.code
        if not request.path.startswith(("/api/", "/mobile/")):
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify(error_body(code, exc.description or exc.name)), exc.code
