"""The OpenAPI 3 document of the HTTP API, built from the marshmallow schemas the views already load.

Why apispec and a table, not flask-smorest: smorest's webargs parsing and its own
error handlers would replace the one error shape of gridsvc.web.errors and the views'
strict loaders. Here the views stay as they are; `OPERATIONS` below says, one row
per operation, what each answers, and `build_spec` turns the rows into the
document with apispec's MarshmallowPlugin, so parameters and request bodies come
from the very schema classes the views use (LocateQuery, ReportBody, …) and
cannot disagree with them. tests/api/test_openapi.py compares the rows with the
app's URL map both ways, so a new endpoint without a row (or a row without an
endpoint) fails a test.

The same machinery publishes more than one document: a `Document` names its
title, introduction, tags, path prefix and table. `WEB` below is the command
centre's (/api/openapi.json); the phones' API has its own table in
mobile_api/openapi.py (/mobile/v1/openapi.json), so each audience reads only
what it may call, and each document is versioned with its own prefix.

Each document is built once per app, on first use (`spec_for`), because a few
descriptions depend on the app's settings (the photo size limit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema, fields

from gridsvc.web import openapi_schemas as out
from gridsvc.web.grids_api import DATUM_HELP, AtQuery, BboxQuery, CrsField, LocateQuery, MomentField, Text
from gridsvc.web.auth_api import LoginBody, RefreshBody
from gridsvc.web.cases_api import TRACKING_NO, CaseQuery, PublicNoteBody, RatingBody, ReportBody, StatusList, StepBody
from gridsvc.web.public_api import PublicStatsQuery
from gridsvc.web.catalogue_api import RouteQuery
from gridsvc.kernel.config import Settings
from gridsvc.web.events_api import EventsQuery
from gridsvc.kernel.models import CASE_STATUSES
from gridsvc.web.hotspots_api import GridsQuery, HexagonsQuery, RisingQuery
from gridsvc.oversight.indicator_export import XLSX_MEDIA
from gridsvc.web.indicators_api import IndicatorsQuery
from gridsvc.web.numbers_api import NumbersQuery
from gridsvc.web.screen_api import CaseRowsQuery, LayersQuery, PatrolsQuery
from gridsvc.cases.photos import FORMATS
from gridsvc.web.request_guard import MAX_JSON_DEPTH, MAX_URL_BYTES
from gridsvc.kernel.shared_stores import CHECK_EVERY_S, REDIS_TIMEOUT_S
from gridsvc.cases.workflow import STEPS

OPENAPI_VERSION = "3.0.3"
BEARER = "bearerAuth"
_EXTENSION_KEY = "gridsvc.web.openapi"

DESCRIPTION = """\
镇村一张网指挥中心接口 (v1)。坐标须注明其坐标系 (`crs`)；存储与输出默认为 CGCS2000 (EPSG:4490)。
需要登录的接口使用 `Authorization: Bearer <access_token>`（由 `POST /api/v1/auth/login` 获得）。
所有错误均为同一 JSON 结构 `{"error": {"code", "message", "fields"}}`，`/api/` 下从不返回 HTML 错误页。
未知的查询参数将被忽略。时间均为 ISO 8601。

Command-centre API (v1) of the township grid network. Every coordinate names its datum (`crs`);
storage and output are CGCS2000 (EPSG:4490) unless asked otherwise. Endpoints marked with a lock
need `Authorization: Bearer <access_token>` from `POST /api/v1/auth/login`. Every error has one JSON
shape, `{"error": {"code", "message", "fields"}}` (the `Error` schema): `code` is machine-readable,
`message` is zh-CN then English, `fields` maps each offending input field to its reasons (flat: a list
item is `attachments[0]`, a nested field `points[3].lon`); never an HTML page under `/api/`. In a JSON
body a number must be a JSON number and a boolean `true` or `false` (`"125.56"` is refused); query
parameters are text and read as what they spell. Unknown query parameters are ignored. Times are ISO 8601."""

TAGS = (
    {"name": "grids", "description": "网格与定位 / the grid network and locating a point"},
    {"name": "catalogue", "description": "事项目录、部门与责任清单 / catalogue, departments, responsibility list"},
    {"name": "auth", "description": "登录与令牌 / sign-in and tokens"},
    {"name": "cases", "description": "上报、案件与办理流程 / reports, cases and their workflow"},
    {"name": "attachments", "description": "案件照片 / photos of a case"},
    {"name": "numbers", "description": "指挥大屏统计 / the figures of the township command screen"},
    {"name": "indicators", "description": "考核指标 / assessment indicators per unit, ranked; CSV and Excel"},
    {"name": "hotspots", "description": "热点：网格与六边形案件数、周环比上升 / cases per grid and H3 hexagon, rising grids"},
    {"name": "screen", "description": "指挥大屏图层与案件卡片 / the command screen's map layers and case sheet"},
    {"name": "events", "description": "实时事件（轮询与确认）/ live events for clients that poll; acknowledgements"},
    {"name": "public", "description": "政务公开（无需登录）/ public disclosure, no sign-in (docs/public.md)"},
)

# What each error status means in this API; an operation may say more for its own case.
ERRORS = {
    400: "请求无法读取 / the request cannot be read: the body is not a JSON object (`invalid_body`), or the query "
         f"holds a control character or bad UTF-8, or the JSON nests deeper than {MAX_JSON_DEPTH} levels "
         "(`bad_request`)",
    401: "未登录或凭证无效 / no valid bearer token (`sign_in_required`, `sign_in_refused`)",
    403: "无权进行此操作 / not the caller's to do (`not_permitted`)",
    404: "不存在 / not found",
    409: "冲突 / conflict with the current state",
    413: "请求体过大 / the body is too large",
    414: f"地址过长 / the path and query string are longer than {MAX_URL_BYTES} bytes",
    422: "参数无效 / invalid parameters (`invalid_parameters`): `fields` names each offending field "
         "(a list item as `attachments[0]`)",
    429: "尝试过多 / too many attempts (`too_many_attempts`); retry after `Retry-After` seconds",
    503: "数据库或存储不可用 / the database or the media store is unavailable",
}

PATH_PARAMETERS = {
    "code": {"description": "15 位网格编码 / the 15-digit grid code",
             "schema": {"type": "string", "pattern": r"^\d{15}$", "example": "220112100201003"}},
    "tracking_no": {"description": "案件编号 / the case's tracking number",
                    "schema": {"type": "string", "pattern": TRACKING_NO.pattern, "example": "20260501-ABCDEFGH"}},
    "step": {"description": "办理环节 / the workflow step (see the operation's description)",
             "schema": {"type": "string", "enum": list(STEPS)}},
    "township": {"description": "12 位乡镇区划代码 / the township's 12-digit code",
                 "schema": {"type": "string", "example": "220112100000"}},
    "attachment_id": {"description": "附件编号 / the attachment's id", "schema": {"type": "integer"}},
    "seq": {"description": "事件序号 / the event's seq", "schema": {"type": "integer", "minimum": 1}},
    "client_uuid": {"description": "手机生成的 UUID / the UUID the phone made for its report or patrol",
                    "schema": {"type": "string", "format": "uuid", "example": "0b8f3a52-3c1e-4f5e-9a57-2d6f1c0e7b41"}},
}

BINARY = {"type": "string", "format": "binary"}  # a photo, a file


@dataclass(frozen=True)
class Answer:
    """One success response. `schema`: a marshmallow schema class, the name of a schema component,
    an inline JSON schema, or None for an empty body."""

    status: int
    description: str
    schema: type[Schema] | str | dict | None = None
    media: tuple[str, ...] = ("application/json",)
    files: tuple[str, ...] = ()  # media types of the same answer as a file (a binary string)


@dataclass(frozen=True)
class Operation:
    """One row of the table: everything the document says about one method on one path."""

    method: str
    path: str  # OpenAPI style: /api/v1/grids/{code}
    tag: str
    summary_zh: str
    summary_en: str
    answers: tuple[Answer, ...]
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    body_required: bool = True  # False: the body may be left out altogether
    upload: bool = False  # multipart/form-data with the `photo` file
    auth: bool = False
    errors: tuple[int | tuple[int, str], ...] = ()  # a status, or (status, what it means here)
    description: str | Callable[[Settings], str] = ""


def _steps_description(settings: Settings) -> str:
    """The workflow steps as a table, generated from gridsvc.cases.workflow.STEPS so it cannot go stale."""
    rows = [
        f"| `{s.name}` | {s.label_zh} | {', '.join(s.from_statuses)} | {s.to_status or '(unchanged)'} "
        f"| {', '.join(s.taken_by)} | {'yes' if s.needs_note else 'no'} |"
        for s in STEPS.values()
    ]
    return "\n".join([
        "按工作流办理一步；可用的环节见 `GET …/steps`。/ Take one workflow step (gridsvc.cases.workflow); "
        "`GET …/cases/{tracking_no}/steps` lists those the caller may take now. "
        "Send `expected_seq` (the case's `record_seq`) to be refused with 409 if the case moved on.",
        "",
        f"`arrive` (`lon`, `lat`, `crs` of where the officer is) farther than {settings.arrival_max_distance_m:g} m "
        "(`GRIDSVC_ARRIVAL_MAX_DISTANCE_M`) from the case's point is still an arrival, but flags the case "
        "`arrived_far_from_case`; its record entry keeps `distance_m` and `max_distance_m`. `feedback` on a case whose "
        "category sets `feedback_photo_required` (the catalogue's field) must name a photo of the case in "
        "`attachments`, else 422 `photo_required` naming `attachments`.",
        "",
        "| step | 环节 | from status | to status | taken by | `note` required |",
        "|---|---|---|---|---|---|",
        *rows,
    ])


def _upload_description(settings: Settings) -> str:
    size = f"{settings.max_photo_bytes / 2**20:g} MB"
    kinds = ", ".join(sorted(FORMATS))
    return (
        f"以 multipart/form-data 的 `photo` 字段上传照片（{kinds}，不超过 {size}）。/ Upload a photo as the "
        f"multipart/form-data field `photo` ({kinds}, at most {size}). The same bytes again answer 200 with the "
        "attachment already stored. EXIF place and time are read; the shared copy and the thumbnail carry no "
        "metadata; the original is kept as evidence and never served."
    )


_CASE_404 = (404, "案件不存在或不在您的辖区 / no such case, or not in the caller's jurisdiction (`case_not_found`)")
_GRID_404 = (404, "网格不存在 / no such grid (`grid_not_found`)")
_JSON_BODY = (400, 413, 422)
_HOTSPOT_422 = (422, "参数无效：`to` 须晚于 `from`，统计期不超过 92 天，`category` 须在目录中 / invalid parameters: `to` "
                     "must lie after `from`, at most 92 days later; `category` must be in the catalogue")

OPERATIONS: tuple[Operation, ...] = (
    # -- grids (gridsvc.web.grids_api)
    Operation("get", "/api/v1/health", "grids", "服务状态", "Service health: grid count, network revision, shared stores",
              (Answer(200, "OK, or degraded: Redis does not answer", out.HealthSchema),), errors=(503,),
              description=f"Redis (the phones' shared rate limits, live events' wake-up) is asked at most every "
                          f"{CHECK_EVERY_S:g} s and waited for at most {REDIS_TIMEOUT_S:g} s; `status` is "
                          "`degraded` while it does not answer, still with 200."),
    Operation("get", "/api/v1/locate", "grids", "定位：点 → 网格/村/乡镇/区县",
              "Locate a point: grid, village, township, county", (Answer(200, "the match", out.LocateResultSchema),),
              query=LocateQuery, errors=(422, 503)),
    Operation("get", "/api/v1/grids", "grids", "当前网格 (GeoJSON)", "The current network as GeoJSON",
              (Answer(200, "a FeatureCollection", "GridFeatureCollection"),), query=BboxQuery, errors=(422, 503),
              description="Optionally cut to `bbox`; `out_crs=gcj02` to draw on AMap tiles."),
    Operation("get", "/api/v1/grids/{code}", "grids", "单个网格", "One grid cell, current or as it was at a given time",
              (Answer(200, "a Feature", "GridFeature"),), query=AtQuery, errors=(_GRID_404, 422, 503)),
    Operation("get", "/api/v1/grids/{code}/versions", "grids", "网格的所有版本", "Every version of a grid cell",
              (Answer(200, "the versions, oldest first", out.GridVersionsSchema),), errors=(_GRID_404, 503)),
    # -- catalogue (gridsvc.web.catalogue_api)
    Operation("get", "/api/v1/categories", "catalogue", "事项目录", "The current catalogue with its major classes",
              (Answer(200, "OK", out.CatalogueSchema),), errors=(503,)),
    Operation("get", "/api/v1/departments", "catalogue", "部门及其队伍", "Departments with their teams",
              (Answer(200, "OK", out.DepartmentListSchema),), errors=(503,)),
    Operation("get", "/api/v1/responsibility", "catalogue", "责任清单", "The published responsibility list",
              (Answer(200, "OK", out.ResponsibilityListSchema),), errors=(503,)),
    Operation("get", "/api/v1/responsibility/coverage", "catalogue", "责任清单覆盖检查",
              "Every (grid, category) pair no rule covers", (Answer(200, "OK", out.CoverageSchema),), errors=(503,)),
    Operation("get", "/api/v1/route", "catalogue", "责任部门与办理时限",
              "Which department answers, and when handling is due", (Answer(200, "OK", out.RouteSchema),),
              query=RouteQuery,
              errors=((404, "责任清单未覆盖 / no rule covers this grid and category (`no_responsible_department`)"),
                      422, 503)),
    # -- sign-in (gridsvc.web.auth_api)
    Operation("post", "/api/v1/auth/login", "auth", "登录", "Sign in: an access token (2 h) and a refresh token",
              (Answer(200, "the token pair", out.TokenPairSchema),), body=LoginBody,
              errors=(*_JSON_BODY, (401, "手机号或密码错误 / any refusal, always the same (`sign_in_refused`)"),
                      429, 503)),
    Operation("post", "/api/v1/auth/refresh", "auth", "刷新令牌", "A new token pair for a refresh token (works once)",
              (Answer(200, "the new pair", out.TokenPairSchema),), body=RefreshBody, errors=(*_JSON_BODY, 401, 503)),
    Operation("post", "/api/v1/auth/logout", "auth", "退出登录", "End this sign-in (other devices stay signed in)",
              (Answer(204, "signed out"),), auth=True, errors=(401, 503)),
    Operation("get", "/api/v1/me", "auth", "当前用户", "Who the caller is, and their jurisdiction",
              (Answer(200, "OK", out.MeSchema),), auth=True, errors=(401, 503)),
    # -- cases (gridsvc.web.cases_api)
    Operation("post", "/api/v1/reports", "cases", "上报事件", "Report an incident: it becomes a case",
              (Answer(201, "the new case", out.CaseSchema),
               Answer(200, "the same case, for a retry with the same client_uuid", out.CaseSchema)),
              body=ReportBody, auth=True,
              errors=(*_JSON_BODY, 401, 503,
                      (409, "该 client_uuid 已用于另一份上报 / the same client_uuid with other content "
                            "(`client_uuid_conflict`)"))),
    Operation("get", "/api/v1/cases", "cases", "查询案件", "The visible cases that match, newest first",
              (Answer(200, "one page of cases", out.CaseListSchema),), query=CaseQuery, auth=True,
              errors=(401, 422, 503)),
    Operation("get", "/api/v1/cases/{tracking_no}", "cases", "案件详情", "One case",
              (Answer(200, "the case", out.CaseSchema),), auth=True, errors=(401, _CASE_404, 503)),
    Operation("get", "/api/v1/cases/{tracking_no}/record", "cases", "案件记录", "The case's hash-chained record",
              (Answer(200, "the record, oldest first", out.CaseRecordSchema),), auth=True,
              errors=(401, _CASE_404, 503)),
    Operation("get", "/api/v1/cases/{tracking_no}/steps", "cases", "可办理环节", "The steps the caller may take now",
              (Answer(200, "OK", out.StepChoicesSchema),), auth=True, errors=(401, _CASE_404, 503)),
    Operation("post", "/api/v1/cases/{tracking_no}/steps/{step}", "cases", "办理一步", "Take one workflow step",
              (Answer(200, "the case after the step (for a merge: the case it joined)", out.CaseSchema),),
              body=StepBody, auth=True, description=_steps_description,
              errors=(400, 401, 403,
                      (404, "案件或环节不存在 / no such case (`case_not_found`) or step (`unknown_step`)"),
                      (409, "当前状态不能办理，或案件已被他人更新，或核查时缺少处置照片 / not possible from this status "
                            "(`step_not_allowed`), the case changed meanwhile (`case_changed`), or 核查通过 of a "
                            "category that requires a photo without a photo of the result (`result_photo_missing`)"),
                      413, 422, 503)),
    Operation("post", "/api/v1/cases/{tracking_no}/public-note", "cases", "更正公示说明",
              "Correct a published 不予立案 or 结案 note",
              (Answer(200, "the note as the public page now shows it", out.CorrectedNoteSchema),),
              body=PublicNoteBody, auth=True,
              description="The township commander of the case or an administrator replaces the text the public page "
                          "shows for one 不予立案 or 结案 entry (`seq`). The record keeps both: a new entry "
                          "`correct_public_note` with the new text as its note and `data` `{corrects, step, old}`, "
                          "sent as a `case.updated` event (docs/public.md).",
              errors=(400, 401, (403, "不是该案件的乡镇指挥长或管理员 / not the case's township commander or an "
                                      "administrator (`not_permitted`)"),
                      _CASE_404,
                      (409, "执法类案件不公示说明，或案件已被他人更新 / an enforcement case publishes no notes "
                            "(`note_not_public`), or the case changed meanwhile (`case_changed`)"),
                      413, (422, "`seq` 不是不予立案或结案记录，说明为空或未改动 / `seq` is no 不予立案 or 结案 entry, the "
                                 "note is empty or unchanged (`note_unchanged`)"), 503)),
    Operation("get", "/api/v1/cases/{tracking_no}/file", "cases", "案卷（打印）",
              "The case file as a page to print: facts, deadlines, the record with who did what, photos, seal check",
              (Answer(200, "an HTML page with print CSS, its photos inside it", BINARY, ("text/html",)),), auth=True,
              errors=(401, _CASE_404, 503),
              description="In Chinese, times in China time. Every step names the person with their department and "
                          "team, and where it sent the case; arrivals and photos say how far from the case's point "
                          "they were; the record chain is verified (docs/workflow.md, 案卷)."),
    Operation("get", "/api/v1/cases/{tracking_no}/file.pdf", "cases", "案卷（PDF）", "The case file as a PDF",
              (Answer(200, "the file (A4), its Chinese font embedded", BINARY, ("application/pdf",)),), auth=True,
              errors=(401, _CASE_404, (503, "数据库不可用，或服务器缺少中文字体 / the database is unavailable, or the "
                                            "server lacks the CJK font (`case_file_font_missing`)"))),
    Operation("get", "/api/v1/cases/{tracking_no}/rating", "cases", "满意度评价", "The reporter's rating of the case",
              (Answer(200, "the rating", out.RatingSchema),), auth=True,
              errors=(401, (404, "案件不存在或尚未评价 / no such case (`case_not_found`) or not rated yet "
                                 "(`rating_not_found`)"), 503)),
    Operation("post", "/api/v1/cases/{tracking_no}/rating", "cases", "评价结案案件",
              "Rate a closed case (the reporter, once)",
              (Answer(201, "the new rating", out.RatingSchema),
               Answer(200, "the stored rating, for a retry with the same stars and comment", out.RatingSchema)),
              body=RatingBody, auth=True,
              description="1–5 stars and a comment, once per case. 1–2 stars within 10 working days of 结案 send "
                          "the case back to its department (`outcome`: `reopened`), otherwise flag it "
                          "`reopen_requested` for the commander (docs/public.md).",
              errors=(400, 401, (403, "只有上报人可以评价 / only the case's reporter rates it (`not_permitted`)"),
                      _CASE_404,
                      (409, "未结案，或已有不同的评价 / not closed (`not_closed`), rated already with other content "
                            "(`already_rated`), or the case changed meanwhile (`case_changed`)"),
                      413, 422, 503)),
    # -- the command screen (gridsvc.web.screen_api)
    Operation("get", "/api/v1/screen/config", "screen", "大屏配置", "Base map, and the zh-CN names of codes",
              (Answer(200, "OK", out.ScreenConfigSchema),), auth=True, errors=(401, 503)),
    Operation("get", "/api/v1/screen/map", "screen", "辖区网格图层",
              "My area's grids, villages and townships, in the base map's datum",
              (Answer(200, "three FeatureCollections", "ScreenLayers"),), query=LayersQuery, auth=True,
              errors=(401, 422, 503),
              description="Boundaries simplified to 3 m; GCJ-02 when the base map is AMap's, so that they fall on "
                          "its streets. A department's people see the area their department serves."),
    Operation("get", "/api/v1/screen/cases", "screen", "地图案件点位",
              "My visible open cases as compact rows (or the given ones, whatever their status)",
              (Answer(200, "rows, and the event seq they are current to", out.ScreenCasesSchema),),
              query=CaseRowsQuery, auth=True, errors=(401, 422, 503)),
    Operation("get", "/api/v1/screen/grids/{code}", "screen", "网格信息卡", "A grid: its workers and open cases",
              (Answer(200, "OK", out.GridCardSchema),), auth=True,
              errors=(401, (404, "网格不在您的辖区 / no such grid in the caller's area (`grid_not_found`)"), 503)),
    Operation("get", "/api/v1/screen/cases/{tracking_no}/sheet", "screen", "案件办理单",
              "A case with names, its stage's clock in working hours, its record with who did what, my steps",
              (Answer(200, "OK", out.CaseSheetSchema),), auth=True, errors=(401, _CASE_404, 503)),
    Operation("get", "/api/v1/screen/patrols", "screen", "巡查图层",
              "My area's grid workers on patrol now, today's tracks and the grids they covered",
              (Answer(200, "OK", out.PatrolsNowSchema),), query=PatrolsQuery, auth=True, errors=(401, 422, 503),
              description="On patrol: a patrol not stopped whose newest fix is at most GRIDSVC_PATROL_LIVE_MINUTES "
                          "old. Coverage is the indicators' rule for one day: a grid holding a counted fix of "
                          "one of my area's grid workers today (docs/screen.md)."),
    # -- numbers (gridsvc.web.numbers_api)
    Operation("get", "/api/v1/numbers", "numbers", "大屏统计", "The command screen's figures for the caller's cases",
              (Answer(200, "today, the period [from, to), what is overdue now", out.NumbersSchema),),
              query=NumbersQuery, auth=True,
              errors=(401, (422, "参数无效：`to` 须晚于 `from`，统计期不超过 92 天，`area` 须为已知区划 / invalid "
                                 "parameters: `to` must lie after `from`, at most 92 days later; `area` must be a "
                                 "known administrative unit"), 503),
              description="Every figure counts only the cases the caller may see, inside `area` if given. "
                          "Days are China days (Asia/Shanghai); send `from` and `to` with their offset. "
                          "The definitions: docs/numbers.md."),
    # -- indicators (gridsvc.web.indicators_api)
    Operation("get", "/api/v1/indicators", "indicators", "考核指标与排名",
              "Indicators per township, village, grid, department or grid worker, ranked; as JSON, CSV or Excel",
              (Answer(200, "the table (JSON), or the same as a file (`format=csv` or `xlsx`)", out.IndicatorTableSchema,
                      files=("text/csv", XLSX_MEDIA)),),
              query=IndicatorsQuery, auth=True,
              errors=(401, (422, "参数无效：`to` 须晚于 `from`，统计期不超过 366 天，`area` 须为已知区划 / invalid "
                                 "parameters: `to` must lie after `from`, at most 366 days later; `area` must be a "
                                 "known administrative unit"), 503),
              description="Every figure counts only the cases the caller may see, from their records as they stood "
                          "at `to`. `format=csv` answers text/csv (UTF-8 with a byte order mark, one bilingual header "
                          "row, the total last); `format=xlsx` an Excel workbook with the same table and a sheet "
                          "describing the period. The county ranking: `level=township&area=<county code>`. The "
                          "definitions: docs/indicators.md."),
    # -- hotspots (gridsvc.web.hotspots_api)
    Operation("get", "/api/v1/hotspots/grids", "hotspots", "网格热点 (GeoJSON)",
              "My grids with the number of cases received in the period, rank and share",
              (Answer(200, "a FeatureCollection in `crs`", "HotspotGridCollection"),), query=GridsQuery, auth=True,
              errors=(401, _HOTSPOT_422, 503),
              description="Counts only the cases the caller may see, neither rejected nor merged, received in "
                          "[from, to) (China days, at most 92 days). Outlines as /api/v1/screen/map draws them, in "
                          "the base map's datum unless `crs` says otherwise. The definitions: docs/hotspots.md."),
    Operation("get", "/api/v1/hotspots/hexagons", "hotspots", "六边形热点 (H3, GeoJSON)",
              "H3 cells with the number of cases received in the period",
              (Answer(200, "a FeatureCollection of hexagons in `crs`", "HotspotHexagonCollection"),),
              query=HexagonsQuery, auth=True, errors=(401, _HOTSPOT_422, 503),
              description="H3 works on WGS84 lon/lat; cases are stored in CGCS2000, centimetres from WGS84, so the "
                          "stored points are binned as they are and the corners are converted from CGCS2000 to "
                          "`crs`. Only cells holding a counted case are listed. The definitions: docs/hotspots.md."),
    Operation("get", "/api/v1/hotspots/rising", "hotspots", "周环比上升网格",
              "Per grid: cases of the 7 China days ending with `week_ending` against the 7 before",
              (Answer(200, "OK", out.RisingSchema),), query=RisingQuery, auth=True,
              errors=(401, (422, "参数无效 / invalid parameters: `week_ending` a date, `min_count` ≥ 1, "
                                 "`category` in the catalogue"), 503),
              description="`rising`: at least `min_count` (default 3) cases this week and at least twice last "
                          "week's. The definitions: docs/hotspots.md."),
    # -- attachments (gridsvc.web.attachments_api)
    Operation("post", "/api/v1/cases/{tracking_no}/attachments", "attachments", "上传照片", "Upload a photo",
              (Answer(201, "the new attachment", out.AttachmentSchema),
               Answer(200, "the attachment already stored for these bytes", out.AttachmentSchema)),
              upload=True, auth=True, description=_upload_description,
              errors=(401, _CASE_404, (413, "照片过大 / the photo is too large (`photo_too_large`)"),
                      (422, "不是可接受的照片 / not an acceptable photo: `fields.photo` says why"), 503)),
    Operation("get", "/api/v1/cases/{tracking_no}/attachments", "attachments", "案件照片列表",
              "The case's attachments", (Answer(200, "OK", out.AttachmentListSchema),), auth=True,
              errors=(401, _CASE_404, 503)),
    Operation("get", "/api/v1/cases/{tracking_no}/attachments/{attachment_id}", "attachments", "照片",
              "The shared copy of a photo: orientation applied, all metadata removed",
              (Answer(200, "the photo", BINARY, tuple(sorted(FORMATS.values()))),
               Answer(304, "not modified (conditional request with the ETag)")), auth=True,
              errors=(401, (404, "案件或附件不存在 / no such case or attachment"), 503)),
    Operation("get", "/api/v1/cases/{tracking_no}/attachments/{attachment_id}/thumbnail", "attachments",
              "照片缩略图", "The photo's thumbnail (JPEG, no metadata)",
              (Answer(200, "the thumbnail", BINARY, ("image/jpeg",)),
               Answer(304, "not modified (conditional request with the ETag)")), auth=True,
              errors=(401, (404, "案件或附件不存在 / no such case or attachment"), 503)),
    # -- 政务公开 (gridsvc.web.public_api): no sign-in
    Operation("get", "/api/v1/public/cases/{tracking_no}", "public", "案件公开信息",
              "What is published of a case: status, category, place to the village, department, dates",
              (Answer(200, "the public view", out.PublicCaseSchema),),
              description="Never the reporter, the description, coordinates or photos. Enforcement (执法) cases "
                          "show status, township, department and dates only. docs/public.md.",
              errors=((404, "未找到该编号 / no case with this number (`case_not_found`): no hint whether one exists"),
                      503)),
    Operation("get", "/api/v1/public/townships", "public", "乡镇列表（公开）",
              "The townships whose figures are published, with their county",
              (Answer(200, "OK", out.PublicTownshipListSchema),), errors=(503,)),
    Operation("get", "/api/v1/public/townships/{township}/stats", "public", "乡镇公开统计",
              "A township's anonymised figures for a period", (Answer(200, "OK", out.PublicStatsSchema),),
              query=PublicStatsQuery,
              errors=((404, "没有该乡镇 / no such township (`township_not_found`)"),
                      (422, "`to` 须晚于 `from`，不超过 92 天 / `to` must lie after `from`, at most 92 days later"), 503)),
    Operation("get", "/api/v1/public/responsibility", "public", "责任清单（公开）",
              "The published responsibility list (the same as /api/v1/responsibility)",
              (Answer(200, "OK", out.ResponsibilityListSchema),), errors=(503,)),
    # -- events (gridsvc.web.events_api)
    Operation("get", "/api/v1/events", "events", "事件（补发）", "The events for me after `since`, oldest first",
              (Answer(200, "OK", out.EventListSchema),), query=EventsQuery, auth=True,
              errors=(401, (409, "错过的事件已清理 / the events after `since` were pruned: reload, then poll from "
                                 "the current head (`resync_required`)"),
                      (422, "`since` is not a seq, or lies past `head`"), 503),
              description="The same events as the Socket.IO channel at `/socket.io` (docs/events.md), for clients "
                          "that poll: continue with `since=next` until `next` equals `head`."),
    Operation("post", "/api/v1/events/{seq}/ack", "events", "确认通知", "Acknowledge a dispatch or a deadline warning",
              (Answer(200, "acknowledged (again: the first acknowledgement)", out.EventAckSchema),), auth=True,
              errors=(401, (404, "没有这条通知 / no such event for the caller (`not_found`)"),
                      (422, "该事件无需确认 / the event asks for no acknowledgement (`not_acknowledgeable`)"), 503)),
)


@dataclass(frozen=True)
class Document:
    """One published API document. `prefix` starts every path of its table (the drift test holds the
    app's routes under it to the table) and is left out of operation ids; `common_errors` are added
    to every operation (say, the phones' rate limit)."""

    name: str  # the cache key in app.extensions
    title: str
    description: str
    prefix: str
    tags: tuple[dict, ...]
    operations: tuple[Operation, ...]
    common_errors: tuple[int | tuple[int, str], ...] = ()

    def operation(self, method: str, path: str) -> Operation:
        """The row for `method` `path` (path without the prefix), to publish it again under another prefix."""
        for op in self.operations:
            if (op.method, op.path) == (method, self.prefix + path):
                return op
        raise KeyError(f"{method.upper()} {self.prefix}{path} is not in the {self.name} document")


# What gridsvc.web.request_guard may answer to any request, before an operation reads it.
GUARDED = (400, 414)

WEB = Document("web", "gridsvc 镇村一张网 API", DESCRIPTION, "/api/v1/", TAGS, OPERATIONS, common_errors=GUARDED)


# -- custom marshmallow fields -------------------------------------------------------------


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0] if doc else ""


def _custom_field_properties(self, field: fields.Field, ret: dict, **_) -> dict:
    """Formats, descriptions and examples for the project's own fields (an apispec attribute function).

    Runs after apispec's own functions; it edits `ret` where their guess is wrong."""
    extra: dict = {}
    if isinstance(field, MomentField):
        extra = {"example": "2026-05-01T08:00:00+08:00"}  # format date-time; a bare date is accepted too
        extra["description"] = " ".join(filter(None, [ret.get("description"), _first_line(MomentField.__doc__)]))
    elif isinstance(field, StatusList):
        ret.pop("default", None)  # its default, an empty tuple, would come out as the string "()"
        extra = {"example": "dispatched,handling", "description": (
            f"{_first_line(StatusList.__doc__)} One of: {', '.join(CASE_STATUSES)}.")}
    elif isinstance(field, CrsField):
        extra = {"example": "gcj02", "description": ret.get("description") or DATUM_HELP}
    if "default" in ret and ret["default"] is None and not ret.get("nullable"):
        del ret["default"]  # "absent" is not a null value: a null default would contradict the type
    return extra


def _query_parameter_properties(self, field: fields.Field, ret: dict, **_) -> dict:
    """A query string cannot carry null: an optional filter is simply left out (an apispec parameter function)."""
    if ret.get("in") == "query":
        schema = ret["schema"]
        schema.pop("nullable", None)
        if schema.get("default", 0) is None:
            del schema["default"]
    return {}


def _register_fields(plugin: MarshmallowPlugin) -> None:
    plugin.map_to_openapi_type(Text, fields.String)
    plugin.map_to_openapi_type(CrsField, fields.String)
    plugin.map_to_openapi_type(StatusList, fields.String)
    plugin.map_to_openapi_type(MomentField, "string", "date-time")  # a bare fields.Field maps to no type at all
    plugin.converter.add_attribute_function(_custom_field_properties)
    plugin.converter.add_parameter_attribute_function(_query_parameter_properties)


# -- the builder -----------------------------------------------------------------------------


def package_version() -> str:
    try:
        return metadata.version("gridsvc")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


def _error_response(status: int, note: str | None) -> dict:
    response = {
        "description": note or ERRORS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
    return response


def _content_schema(schema: type[Schema] | str | dict) -> type[Schema] | dict:
    if isinstance(schema, str):
        return {"$ref": f"#/components/schemas/{schema}"}
    return schema


def _operation(op: Operation, settings: Settings, document: Document) -> dict:
    description = op.description(settings) if callable(op.description) else op.description
    doc: dict = {
        "tags": [op.tag],
        "summary": f"{op.summary_zh} / {op.summary_en}",
        "operationId": f"{op.method}_{re.sub(r'[^a-z0-9]+', '_', op.path.removeprefix(document.prefix)).strip('_')}",
        "responses": {},
    }
    if description:
        doc["description"] = description
    parameters = [{"in": "path", "name": name, "required": True, **PATH_PARAMETERS[name]}
                  for name in re.findall(r"{(\w+)}", op.path)]
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        doc["requestBody"] = {"required": op.body_required, "content": {"application/json": {"schema": op.body}}}
    if op.upload:
        doc["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["photo"],
            "properties": {"photo": {**BINARY, "description": f"the photo file ({', '.join(sorted(FORMATS))})"}},
        }}}}
    if op.auth:
        doc["security"] = [{BEARER: []}]
    for answer in op.answers:
        response: dict = {"description": answer.description}
        if answer.schema is not None:
            response["content"] = {media: {"schema": _content_schema(answer.schema)} for media in answer.media}
            response["content"].update({media: {"schema": BINARY} for media in answer.files})
        doc["responses"][str(answer.status)] = response
    for entry in (*document.common_errors, *op.errors):  # the operation's own note wins
        status, note = entry if isinstance(entry, tuple) else (entry, None)
        doc["responses"][str(status)] = _error_response(status, note)
    doc["responses"] = dict(sorted(doc["responses"].items()))
    return doc


def build_spec(settings: Settings, document: Document = WEB) -> dict:
    """The OpenAPI document as a dict, ready for JSON."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title=document.title, version=package_version(), openapi_version=OPENAPI_VERSION,
        plugins=[plugin], info={"description": document.description}, tags=list(document.tags),
    )
    _register_fields(plugin)
    spec.components.security_scheme(BEARER, {
        "type": "http", "scheme": "bearer",
        "description": f"不透明的访问令牌 / an opaque access token from POST {document.prefix}auth/login (valid 2 h)",
    })
    spec.components.schema("Error", schema=out.ErrorSchema)
    spec.components.schema("Geometry", out.GEOMETRY)
    spec.components.schema("GridFeature", out.GRID_FEATURE)
    spec.components.schema("GridFeatureCollection", out.GRID_COLLECTION)
    spec.components.schema("AreaFeature", out.AREA_FEATURE)
    spec.components.schema("AreaFeatureCollection", out.AREA_COLLECTION)
    spec.components.schema("ScreenLayers", out.SCREEN_LAYERS)
    spec.components.schema("HotspotGridCollection", out.HOTSPOT_GRID_COLLECTION)
    spec.components.schema("HotspotHexagonCollection", out.HOTSPOT_HEXAGON_COLLECTION)
    by_path: dict[str, dict] = {}
    for op in document.operations:
        by_path.setdefault(op.path, {})[op.method] = _operation(op, settings, document)
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def spec_for(app: Flask, document: Document = WEB) -> dict:
    """The app's `document`, built on first use and kept (two threads racing build the same dict)."""
    built = app.extensions.setdefault(_EXTENSION_KEY, {})
    if document.name not in built:
        built[document.name] = build_spec(app.extensions["gridsvc"].settings, document)
    return built[document.name]
