"""The phones' own OpenAPI document (`GET /mobile/v1/openapi.json`): the table of /mobile/v1 operations.

Why a second document rather than more rows in gridsvc.web.openapi: the phone
developers read only what a phone may call, under the phone's prefix, and the
two APIs are versioned apart. gridsvc.web.openapi builds it (`MOBILE` is a
`Document`), so the parameters and bodies are again the views' own schemas.

Routes that reuse a web view (sign-in, a case, its steps, evidence photos)
reuse that view's row too, moved under /mobile/v1 (`_moved`): one view, one
description, two addresses. tests/api/test_openapi.py holds every /mobile/ route to
this table both ways.
"""

from __future__ import annotations

from dataclasses import replace

from marshmallow import fields
from marshmallow.validate import Length

from gridsvc.web.cases_api import ReportBody
from gridsvc.web.openapi import GUARDED, TAGS, WEB, Answer, Document, Operation
from mobile_api import api as views, patrols
from mobile_api import openapi_schemas as out
from mobile_api.my_cases import LIST_LIMIT, PAGE
from mobile_api.reporting import MAX_BATCH
from mobile_api.startup import StartupQuery

PREFIX = "/mobile/v1/"

DESCRIPTION = """\
镇村一张网移动端接口 (v1)：网格员与执法队员的手机调用。登录后使用 `Authorization: Bearer <access_token>`
（由 `POST /mobile/v1/auth/login` 获得，与指挥中心接口的令牌相同）。错误结构与指挥中心接口一致：
`{"error": {"code", "message", "fields"}}`。上报与巡查以手机生成的 UUID 为键，可安全重发。
每个登录有请求额度，超出时返回 429 与 `Retry-After`。

The phones' API (v1), for grid workers and enforcement officers. Sign in at `POST /mobile/v1/auth/login`
(the same tokens as the command centre's API) and send `Authorization: Bearer <access_token>`. Every error
has the service's one shape, `{"error": {"code", "message", "fields"}}` (the `Error` schema), `fields` flat
(`attachments[0]`, `points[3].lon`); numbers in a JSON body are JSON numbers (`"lon": "125.56"` is a 422).
Reports and patrols are keyed by a UUID the phone makes, so a call that lost its answer is simply sent again. Each
sign-in has a request budget (`GRIDSVC_RATE_LIMIT`): beyond it, 429 with `Retry-After`. Coordinates name
their datum (`crs`); phones usually send `gcj02` (AMap, Tencent) or `bd09` (Baidu). Times are ISO 8601.
The command centre's API is described at `/api/openapi.json`."""

_WEB_TAGS = {tag["name"]: tag for tag in TAGS}
MOBILE_TAGS = (
    _WEB_TAGS["auth"],
    {"name": "startup", "description": "启动数据 / what the app needs to work offline"},
    _WEB_TAGS["cases"],
    _WEB_TAGS["attachments"],
    {"name": "mine", "description": "我的上报、待核查与任务 / my reports, verifications and tasks"},
    {"name": "patrols", "description": "巡查轨迹与覆盖 / patrol tracks and what they covered"},
    _WEB_TAGS["events"],
)

RATE_LIMIT = (429, "超出本次登录的请求额度 / over this sign-in's request budget (`too_many_requests`); "
                   "retry after `Retry-After` seconds")
_JSON_BODY = (400, 413, 422)
_PATROL_404 = (404, "巡查不存在 / no such patrol of yours (`patrol_not_found`)")


class ReportBatchBody(views.BatchBody):
    """BatchBody as published: every item is a report (ReportBody). The view loads each item on its own,
    so one bad item is a `rejected` result rather than a 422 for the batch, and its field takes anything."""

    reports = fields.List(fields.Nested(ReportBody), required=True, validate=Length(1, MAX_BATCH))


class PointsBatchBody(patrols.PointsBody):
    """PointsBody as published: every item is a fix (PointItem), judged on its own like a batch's reports."""

    points = fields.List(fields.Nested(patrols.PointItem), required=True, validate=Length(1, patrols.MAX_BATCH))


def _moved(method: str, path: str, at: str | None = None, errors: tuple[tuple[int, str], ...] = (),
           **changes) -> Operation:
    """The web API's row for the view at /api/v1/`path`, published at /mobile/v1/`at` (default: the same
    path); `errors` replace the row's own entries for their statuses, `changes` any other part of it."""
    row = WEB.operation(method, path)
    replaced = {status for status, _ in errors}
    kept = tuple(e for e in row.errors if (e[0] if isinstance(e, tuple) else e) not in replaced)
    return replace(row, path=PREFIX + (at or path), errors=(*kept, *errors), **changes)


_summary = Answer(201, "the new case, as the phone shows it", out.CaseSummarySchema)
_WORK_LIST = (f"A page at a time, the nearest stage deadline first: `limit` cases (default {PAGE}, at most "
              f"{LIST_LIMIT}), then `next`; send it as `before` for the following page, until `next` is null. "
              "`total` counts the whole list. Each row is the case summary with its category's names, description, "
              "urgency, flags, deadlines and `point` in `crs` (default gcj02, the datum of the phone's map), so a "
              "list and its map need no further call.")

OPERATIONS: tuple[Operation, ...] = (
    # -- sign-in: the web API's views
    _moved("post", "auth/login"),
    _moved("post", "auth/refresh"),
    _moved("post", "auth/logout"),
    # -- start-up (mobile_api.startup)
    Operation("get", PREFIX + "startup", "startup", "启动数据", "Start-up data: profile, my grids, the catalogue",
              (Answer(200, "OK, with an ETag", out.StartupSchema),
               Answer(304, "not modified: the ETag sent in If-None-Match is still current")),
              query=StartupQuery, auth=True, errors=(401, 422, 503),
              description="One call for working offline: the profile, the grids of the caller's jurisdiction with "
                          "boundaries simplified to 3 m in `crs` (default gcj02), each grid's village and township, "
                          "and the current catalogue with its revision. Send the ETag back in `If-None-Match` to "
                          "get a bodyless 304 while nothing changed."),
    # -- reports (mobile_api.api, mobile_api.reporting)
    _moved("post", "reports", summary_en="Report an incident: the case at once, as the phone shows it",
           answers=(_summary, replace(_summary, status=200, description="the same case, for a retry"))),
    Operation("post", PREFIX + "reports/batch", "cases", "批量上报（离线队列）", "The offline queue: many reports at once",
              (Answer(200, "a result per item, in order", out.BatchResultsSchema),), body=ReportBatchBody,
              auth=True, errors=(*_JSON_BODY, 401, 503),
              description=f"At most {MAX_BATCH} reports, each submitted on its own like `POST /mobile/v1/reports`: "
                          "`created`, `existing` (sent before) or `rejected` with its fields. One bad item sinks "
                          "nothing, whatever it is (null, a string, an object with wrong fields); a 422 only for "
                          "`reports` itself (missing, not a list, empty, too long)."),
    _moved("post", "cases/{tracking_no}/attachments", at="reports/{client_uuid}/photos",
           summary_zh="上报的照片", summary_en="A photo of my report, keyed by the report's UUID",
           errors=((404, "没有此编号的上报 / no report of yours with this UUID (`report_not_found`)"),)),
    # -- my lists (mobile_api.my_cases)
    Operation("get", PREFIX + "my/reports", "mine", "我的上报", "What I reported and where each stands, newest first",
              (Answer(200, "one page, newest first", out.MyReportsPageSchema),), query=views.MyReportsQuery,
              auth=True, errors=(401, 422, 503),
              description=f"A page at a time: `limit` cases (default {PAGE}, at most {LIST_LIMIT}), then `next`; "
                          "send it as `before` for the older ones, until `next` is null. `before` names a case, not "
                          "a position, so reports sent and cases closed meanwhile neither repeat a case nor skip "
                          "one. `total` counts all that match."),
    Operation("get", PREFIX + "my/verifications", "mine", "待我核查", "Handled cases of my grids waiting for 核查",
              (Answer(200, "one page, the nearest deadline first", out.WorkPageSchema),), query=views.WorkListQuery,
              auth=True, errors=(401, 422, 503), description=_WORK_LIST),
    Operation("get", PREFIX + "my/tasks", "mine", "我的任务", "My department's open dispatches, by deadline",
              (Answer(200, "one page, the nearest deadline first", out.WorkPageSchema),), query=views.WorkListQuery,
              auth=True, errors=(401, 422, 503), description=_WORK_LIST),
    # -- a case: the web API's views
    _moved("get", "cases/{tracking_no}"),
    _moved("get", "cases/{tracking_no}/record"),
    _moved("get", "cases/{tracking_no}/steps"),
    _moved("post", "cases/{tracking_no}/steps/{step}"),
    _moved("post", "cases/{tracking_no}/attachments"),
    _moved("get", "cases/{tracking_no}/rating"),
    _moved("post", "cases/{tracking_no}/rating"),
    # -- events: the web API's views (the live channel is Socket.IO at /socket.io)
    _moved("get", "events"),
    _moved("post", "events/{seq}/ack"),
    # -- patrols (mobile_api.patrols)
    Operation("post", PREFIX + "patrols", "patrols", "开始巡查", "Start a patrol (the same UUID again: the same patrol)",
              (Answer(201, "the new patrol", out.PatrolSchema),
               Answer(200, "the patrol already started with this UUID", out.PatrolSchema)),
              body=patrols.StartBody, auth=True,
              errors=(*_JSON_BODY, 401, 503,
                      (409, "该编号已用于另一次巡查 / the UUID is another user's patrol (`client_uuid_conflict`)"))),
    Operation("post", PREFIX + "patrols/{client_uuid}/points", "patrols", "上传轨迹点", "Upload a batch of GPS fixes",
              (Answer(200, "a result per fix, in order", out.PointsResultSchema),), body=PointsBatchBody,
              auth=True, errors=(*_JSON_BODY, 401, _PATROL_404, 503),
              description=f"At most {patrols.MAX_BATCH} fixes, keyed by the phone's `seq`: `added`, `already_had` "
                          "(sent before) or `rejected` with its fields (bad point, accuracy or time, or no fix at "
                          "all, such as null; `seq_conflict` for the same `seq` with another point). The good fixes "
                          "land anyway; a 422 only for `points` itself (missing, not a list, empty, too long)."),
    Operation("post", PREFIX + "patrols/{client_uuid}/stop", "patrols", "结束巡查",
              "Stop a patrol (once; again: no change)",
              (Answer(200, "the patrol", out.StoppedPatrolSchema),), body=patrols.StopBody, body_required=False,
              auth=True, errors=(*_JSON_BODY, 401, _PATROL_404, 503)),
    Operation("get", PREFIX + "patrols/coverage", "patrols", "巡查覆盖", "My patrols' length and covered share per grid "
              "on a China-time day", (Answer(200, "OK, grids by code", out.PatrolCoverageSchema),),
              query=patrols.CoverageQuery, auth=True, errors=(401, _PATROL_404, 422, 503)),
)

MOBILE = Document("mobile", "gridsvc 镇村一张网 移动端 API", DESCRIPTION, PREFIX, MOBILE_TAGS, OPERATIONS,
                  common_errors=(*GUARDED, RATE_LIMIT))
