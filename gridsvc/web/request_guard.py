"""Requests refused before any view reads them: what no part of the service can take safely.

A probe (issue 14) found inputs that reached a view and failed deep inside it:
- a NUL or other control character in the path or the query string: PostgreSQL's text cannot
  hold a NUL, so a lookup by such a number failed as "database unavailable" (503) on PostGIS
  while SpatiaLite answered 404;
- percent-escapes that are not UTF-8 (`description=%ff%fe`) in a form or a query string: stored
  as literal text instead of refused;
- JSON nested a thousand levels deep: a RecursionError in the parser, a 500;
- a request line longer than the server takes.

Each is refused here with a werkzeug HTTP error, so that every part of the service answers in its
own documented shape (gridsvc.web.errors: the API's JSON, Open311's format under /open311/, OGC's
exception under /ogc/). Strings
inside a JSON body are checked by the schemas' `Text` field instead (a 422 naming the field).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.exceptions import BadRequest, NotFound, RequestURITooLarge

# Deep enough for any body the service takes (a batch of reports, a GeoJSON multipolygon: < 10).
MAX_JSON_DEPTH = 64
# Path and query string, in bytes as sent. Browsers and the phones stay far below; gunicorn's own
# limit on the whole request line (default 4094) is raised above this in gunicorn.conf.py, so that
# the answer is the service's and not the server's HTML.
MAX_URL_BYTES = 4000

_CONTROL = re.compile("[\x00-\x1f\x7f]")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")
_FORM = "application/x-www-form-urlencoded"


def guard_requests(app: Flask) -> None:
    app.before_request(refuse_unsafe_input)


def refuse_unsafe_input() -> None:
    """Raise the HTTP error for the first thing in the request that no view should see."""
    raw_query = request.query_string
    if len(request.path.encode()) + len(raw_query) > MAX_URL_BYTES:
        raise RequestURITooLarge(f"地址过长 / the address is longer than {MAX_URL_BYTES} bytes")
    if _CONTROL.search(request.path):
        raise NotFound("地址含控制字符 / the address contains a control character: no such resource")
    _check_form_text(raw_query, "查询参数", "the query string")
    if request.mimetype == _FORM:
        _check_form_text(request.get_data(cache=True), "表单", "the form")
    elif request.is_json:
        _check_json_depth(request.get_data(cache=True))


def _check_form_text(raw: bytes, where_zh: str, where_en: str) -> None:
    """Percent-encoded `name=value&…` text must decode as UTF-8 without control characters."""
    if not raw:
        return
    try:
        text = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{where_zh}不是有效的 UTF-8 编码 / {where_en} is not valid UTF-8") from None
    if _CONTROL.search(text):
        raise BadRequest(f"{where_zh}含控制字符 / {where_en} contains a control character")


def _check_json_depth(raw: bytes) -> None:
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return  # cannot be nested deeper: the common case costs two byte counts
    text = raw.decode("utf-8", errors="replace")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"JSON 嵌套过深 / the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in `text`, brackets inside strings not counted."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
