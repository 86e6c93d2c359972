"""What the API answers, as marshmallow schemas: for the OpenAPI document only.

The views build their JSON by hand (gridsvc.web.grids_api, gridsvc.web.cases_api, …) and
nothing here serialises a response. These schemas exist so the published
document describes each answer field by field, and tests/api/test_openapi.py
checks real answers against them, so a view that changes its JSON without
its schema here fails a test. `required` means "always present";
`allow_none` means "present, may be null".
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import OneOf

from gridsvc.oversight.indicators import COLUMNS, LEVELS

from gridsvc.kernel.models import (
    CASE_STATUSES,
    CATEGORY_LIMIT_UNITS,
    DEPARTMENT_LEVELS,
    DOMAINS,
    RATING_OUTCOMES,
    ROLES,
)

MATCHES = ("inside", "boundary", "nearest", "none")


class Shape(Schema):
    """Base of every answer schema. No `additionalProperties: false` in the document: a field added
    to an answer later must not break clients (the tests are stricter than the document)."""

    class Meta:
        unknown = EXCLUDE


def _req(field_cls, *args, **kwargs):
    """A field always present in the answer."""
    return field_cls(*args, required=True, **kwargs)


def _nullable(field_cls, *args, **kwargs):
    """A field always present, null when there is nothing to say."""
    return field_cls(*args, required=True, allow_none=True, **kwargs)


# -- the one error shape (gridsvc.web.errors) -------------------------------------------------


def field_reasons(description: str) -> fields.Dict:
    """An error's `fields`: flat names (gridsvc.web.errors.flat_fields), each with a list of reasons. Named
    `fields_` in a schema (`fields` would shadow marshmallow's module in the class body)."""
    return _req(fields.Dict, keys=fields.String(), values=fields.List(fields.String()), data_key="fields",
                metadata={"description": f"{description}. A list item is named by its index, a nested field "
                                         "with a dot: `attachments[0]`, `points[3].lon`",
                          "example": {"lat": ["latitude must be between -90 and 90"],
                                      "attachments[0]": ["Not a valid integer."]}})


class ErrorDetailSchema(Shape):
    code = _req(fields.String, metadata={"description": "machine-readable, e.g. invalid_parameters, case_not_found",
                                         "example": "invalid_parameters"})
    message = _req(fields.String, metadata={"description": "for people: zh-CN first, then English",
                                            "example": "参数无效 / invalid parameters"})
    fields_ = field_reasons("each offending input field with its reasons; empty when no field is to blame")


class ErrorSchema(Shape):
    error = _req(fields.Nested, ErrorDetailSchema)


# -- grids and locating (gridsvc.web.grids_api) -----------------------------------------------------


class RateLimitStoreSchema(Shape):
    storage = _req(fields.String, metadata={
        "description": "where the phones' rate-limit counters live: `memory` (each process) or `redis` (shared)",
        "example": "redis"})
    reachable = _req(fields.Boolean, metadata={
        "description": "false: Redis does not answer; meanwhile each process counts the same budget alone, in memory"})


class LiveEventsStoreSchema(Shape):
    wakeup = _req(fields.String, validate=OneOf(["redis", "poll"]), metadata={
        "description": "how other server processes hear of committed events: `redis` at once, `poll` by their "
                       "timer (`GRIDSVC_EVENTS_POLL_SECONDS`)", "example": "redis"})
    reachable = _req(fields.Boolean, metadata={
        "description": "false: Redis does not answer; meanwhile events still reach every screen, by the timer"})


class HealthSchema(Shape):
    status = _req(fields.String, validate=OneOf(["ok", "degraded"]), metadata={
        "description": "`degraded`: a shared store (Redis) does not answer; the service still does, phones included",
        "example": "ok"})
    grid_cells = _req(fields.Integer)
    network_revision = _req(fields.Integer)
    rate_limits = _req(fields.Nested, RateLimitStoreSchema)
    live_events = _req(fields.Nested, LiveEventsStoreSchema)


class InputPointSchema(Shape):
    lon = _req(fields.Float)
    lat = _req(fields.Float)
    crs = _req(fields.String, metadata={"description": "the datum as given, e.g. gcj02 or EPSG:4549"})


class StoredPointSchema(Shape):
    lon = _req(fields.Float)
    lat = _req(fields.Float)
    crs = _req(fields.String, validate=OneOf(["EPSG:4490"]), metadata={"description": "always CGCS2000"})


class PlaceSchema(Shape):
    code = _req(fields.String)
    name = _req(fields.String)


class CellSummarySchema(Shape):
    code = _req(fields.String, metadata={"description": "15-digit grid code"})
    name = _req(fields.String)
    kind = _req(fields.String, metadata={"description": "base or special (专属网格)"})
    special_type = _nullable(fields.String)


class NearbyCellSchema(CellSummarySchema):
    distance_m = _nullable(fields.Float)


class LocateResultSchema(Shape):
    match = _req(fields.String, validate=OneOf(MATCHES))
    input = _req(fields.Nested, InputPointSchema)
    point = _req(fields.Nested, StoredPointSchema)
    grid = _nullable(fields.Nested, CellSummarySchema)
    village = _nullable(fields.Nested, PlaceSchema)
    township = _nullable(fields.Nested, PlaceSchema)
    county = _nullable(fields.Nested, PlaceSchema)
    distance_m = _nullable(fields.Float, metadata={"description": "to the chosen grid (0 inside it)"})
    others = _req(fields.List, fields.Nested(NearbyCellSchema),
                  metadata={"description": "other grids at the boundary"})
    special_grids = _req(fields.List, fields.Nested(CellSummarySchema))
    network_revision = _req(fields.Integer)
    accuracy_m = fields.Float(metadata={"description": "only when accuracy was given"})
    accuracy_grids = fields.List(fields.Nested(CellSummarySchema),
                                 metadata={"description": "grids within the accuracy circle (only with accuracy)"})


class GridVersionSchema(Shape):
    version = _req(fields.Integer)
    kind = _req(fields.String)
    special_type = _nullable(fields.String)
    village_code = _req(fields.String)
    domains = _req(fields.List, fields.String(validate=OneOf(DOMAINS)))
    households = _nullable(fields.Integer)
    population = _nullable(fields.Integer)
    valid_from = _req(fields.DateTime)
    valid_to = _nullable(fields.DateTime)


class GridVersionsSchema(Shape):
    code = _req(fields.String)
    versions = _req(fields.List, fields.Nested(GridVersionSchema))


# GeoJSON has no useful marshmallow shape (geometries are nested coordinate arrays): plain JSON schema.
GEOMETRY = {"type": "object", "description": "a GeoJSON geometry (Polygon or MultiPolygon)",
            "required": ["type", "coordinates"],
            "properties": {"type": {"type": "string"}, "coordinates": {"type": "array", "items": {}}}}
GRID_FEATURE = {
    "type": "object",
    "description": "a grid cell as a GeoJSON Feature; `properties` has the code, name and version details",
    "required": ["type", "id", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string", "description": "the grid code"},
        "geometry": {"$ref": "#/components/schemas/Geometry"},
        "properties": {"type": "object", "required": ["code", "name"], "additionalProperties": True,
                       "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
    },
}
GRID_COLLECTION = {
    "type": "object",
    "required": ["type", "features", "network_revision", "crs"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "network_revision": {"type": "integer"},
        "crs": {"type": "string", "description": "EPSG:4490 unless out_crs was given"},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/GridFeature"}},
    },
}


# The command screen's map layers (gridsvc.oversight.screen_map): grids, villages and townships alike.
AREA_FEATURE = {**GRID_FEATURE,
                "description": "a grid, village or township as a GeoJSON Feature, in the answer's `crs`"}
AREA_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                   "features": {"type": "array", "items": {"$ref": "#/components/schemas/AreaFeature"}}},
}
SCREEN_LAYERS = {
    "type": "object",
    "required": ["crs", "network_revision", "grids", "villages", "townships"],
    "properties": {
        "crs": {"type": "string", "description": "the datum of every coordinate (the base map's by default)"},
        "network_revision": {"type": "integer"},
        **{layer: {"$ref": "#/components/schemas/AreaFeatureCollection"}
           for layer in ("grids", "villages", "townships")},
    },
}


# -- catalogue, departments, responsibility (gridsvc.web.catalogue_api) ----------------------


class NamedSchema(Shape):
    code = _req(fields.String)
    name_zh = _req(fields.String)
    name_en = _req(fields.String)


class TimeLimitSchema(Shape):
    value = _req(fields.Float)
    unit = _req(fields.String, validate=OneOf(CATEGORY_LIMIT_UNITS), metadata={"description": "working hours/days"})


class CategorySchema(NamedSchema):
    version = _req(fields.Integer)
    major_code = _req(fields.String)
    domain = _req(fields.String, validate=OneOf(DOMAINS))
    limit = _req(fields.Nested, TimeLimitSchema)
    urgent_limit = _nullable(fields.Nested, TimeLimitSchema)
    township_may_act = _req(fields.Boolean)
    reserved_power = _nullable(fields.String)
    description_zh = _nullable(fields.String)
    duplicate_distance_m = _nullable(fields.Float)
    feedback_photo_required = _req(fields.Boolean, metadata={
        "description": "the feedback step (处置反馈) of a case of this category must name a photo (`attachments`)"})
    valid_from = _req(fields.DateTime)


class CatalogueSchema(Shape):
    majors = _req(fields.List, fields.Nested(NamedSchema))
    categories = _req(fields.List, fields.Nested(CategorySchema))


class DepartmentSchema(NamedSchema):
    level = _req(fields.String, validate=OneOf(DEPARTMENT_LEVELS))
    admin_code = _req(fields.String)


class DepartmentWithTeamsSchema(DepartmentSchema):
    teams = _req(fields.List, fields.Nested(NamedSchema))


class DepartmentListSchema(Shape):
    departments = _req(fields.List, fields.Nested(DepartmentWithTeamsSchema))


class ResponsibilityRuleSchema(Shape):
    area_code = _req(fields.String)
    area_name = _nullable(fields.String)
    subject_kind = _req(fields.String, validate=OneOf(["category", "domain"]))
    subject = _req(fields.String, metadata={"description": "a category code or a domain"})
    subject_name_zh = _nullable(fields.String, metadata={"description": "a category's name; null for a domain"})
    subject_name_en = _nullable(fields.String, metadata={"description": "a category's English name; null for a domain"})
    department = _req(fields.Nested, DepartmentSchema)
    note_zh = _nullable(fields.String)


class ResponsibilityListSchema(Shape):
    rules = _req(fields.List, fields.Nested(ResponsibilityRuleSchema))


class CoverageGapSchema(Shape):
    grid_code = _req(fields.String)
    category_code = _req(fields.String)


class CoverageSchema(Shape):
    complete = _req(fields.Boolean)
    grids = _req(fields.Integer)
    categories = _req(fields.Integer)
    gaps = _req(fields.List, fields.Nested(CoverageGapSchema))


class RuleRefSchema(Shape):
    area_code = _req(fields.String)
    subject_kind = _req(fields.String)
    subject = _req(fields.String)


class DeadlinesSchema(Shape):
    received_at = _req(fields.DateTime)
    handling_due_at = _req(fields.DateTime)
    urgent_handling_due_at = _nullable(fields.DateTime)
    calendar_official = _req(fields.Boolean, metadata={
        "description": "false when the year's holidays are not published yet (Monday–Friday assumed)"})


class RouteSchema(Shape):
    grid = _req(fields.String)
    category = _req(fields.String)
    department = _req(fields.Nested, DepartmentSchema)
    reserved_to_county = _req(fields.Boolean)
    reserved_power = _nullable(fields.String)
    rule = _req(fields.Nested, RuleRefSchema)
    deadlines = _req(fields.Nested, DeadlinesSchema)


# -- sign-in (gridsvc.web.auth_api) -----------------------------------------------------------


class UserSummarySchema(Shape):
    phone = _req(fields.String)
    name = _req(fields.String)
    role = _req(fields.String, validate=OneOf(ROLES))


class TokenPairSchema(Shape):
    token_type = _req(fields.String, validate=OneOf(["Bearer"]))
    access_token = _req(fields.String, metadata={"description": "send as Authorization: Bearer <access_token>"})
    access_expires_at = _req(fields.DateTime)
    refresh_token = _req(fields.String, metadata={"description": "works once, at POST /api/v1/auth/refresh"})
    refresh_expires_at = _req(fields.DateTime)
    user = _req(fields.Nested, UserSummarySchema)


class JurisdictionSchema(Shape):
    everywhere = _req(fields.Boolean)
    area_prefix = _nullable(fields.String)
    grid_codes = _req(fields.List, fields.String())
    department_code = _nullable(fields.String)


class MeSchema(UserSummarySchema):
    jurisdiction = _req(fields.Nested, JurisdictionSchema)


# -- cases (gridsvc.web.cases_api) ------------------------------------------------------------


class CaseIdentitySchema(Shape):
    """What every answer about a case starts with (this case and the phones' case summary)."""

    tracking_no = _req(fields.String, metadata={"example": "20260501-ABCDEFGH"})
    client_uuid = _req(fields.String)
    status = _req(fields.String, validate=OneOf(CASE_STATUSES))
    status_name_zh = _req(fields.String, metadata={"example": "待派遣"})
    category = _req(fields.String)


class CaseSchema(CaseIdentitySchema):
    category_version = _req(fields.Integer)
    description = _req(fields.String)
    urgent = _req(fields.Boolean)
    input = _req(fields.Nested, InputPointSchema)
    point = _req(fields.Nested, StoredPointSchema)
    accuracy_m = _nullable(fields.Float)
    reported_at = _nullable(fields.DateTime, metadata={"description": "the phone's clock"})
    received_at = _req(fields.DateTime, metadata={"description": "the server's clock"})
    grid = _nullable(fields.String)
    village = _nullable(fields.String)
    township = _nullable(fields.String)
    county = _nullable(fields.String)
    locate_match = _req(fields.String, validate=OneOf(MATCHES))
    department = _nullable(fields.String)
    reserved_to_county = _req(fields.Boolean)
    flags = _req(fields.List, fields.String(), metadata={"description": "what a commander should look at"})
    handling_due_at = _req(fields.DateTime)
    team = _nullable(fields.String)
    escalated = _req(fields.Boolean)
    stage_due_at = _nullable(fields.DateTime)
    stage_warn_at = _nullable(fields.DateTime)
    overdue_level = _req(fields.Integer, metadata={"description": "0 on time, 1 overdue, 2 long overdue"})
    extension_requested_until = _nullable(fields.DateTime)
    rework_count = _req(fields.Integer)
    supervision_count = _req(fields.Integer)
    merged_into = _nullable(fields.String, metadata={"description": "tracking number of the surviving case"})
    closed_at = _nullable(fields.DateTime)
    record_seq = _req(fields.Integer, metadata={"description": "the last record entry: send as expected_seq"})


class RatingSchema(Shape):
    tracking_no = _req(fields.String)
    stars = _req(fields.Integer, metadata={"description": "1–5 (满意度)"})
    comment = _nullable(fields.String)
    rated_at = _req(fields.DateTime)
    outcome = _req(fields.String, validate=OneOf(RATING_OUTCOMES), metadata={
        "description": "what the rating did: none; reopened (back to handling); reopen_requested (flag for the "
                       "commander)"})
    case = _req(fields.Nested, CaseSchema)  # as it stands after the rating


class CaseListSchema(Shape):
    total = _req(fields.Integer)
    limit = _req(fields.Integer)
    offset = _req(fields.Integer)
    sort = _req(fields.String, metadata={"description": "the order of the page (`sort`)"})
    cases = _req(fields.List, fields.Nested(CaseSchema))
    places = _req(fields.Dict, keys=fields.String(), values=fields.String(), metadata={
        "description": "the names of the listed cases' grids, villages and townships, by code"})


class RecordEntrySchema(Shape):
    seq = _req(fields.Integer)
    at = _req(fields.DateTime)
    actor_id = _nullable(fields.Integer)
    action = _req(fields.String)
    action_name_zh = _nullable(fields.String, metadata={"description": "the action's name as the screens show it"})
    from_status = _nullable(fields.String)
    to_status = _nullable(fields.String)
    note = _nullable(fields.String)
    data = _req(fields.Dict)
    hash = _req(fields.String, metadata={"description": "SHA-256 sealing this entry and the one before"})


class CaseRecordSchema(Shape):
    tracking_no = _req(fields.String)
    record = _req(fields.List, fields.Nested(RecordEntrySchema))


class StepChoiceSchema(Shape):
    step = _req(fields.String)
    label_zh = _req(fields.String)
    needs_note = _req(fields.Boolean)
    to_status = _nullable(fields.String)
    public_note = _req(fields.Boolean, metadata={
        "description": "the step's note is published on the public page (不予立案, 结案; not for enforcement cases)"})


class StepChoicesSchema(Shape):
    tracking_no = _req(fields.String)
    status = _req(fields.String, validate=OneOf(CASE_STATUSES))
    steps = _req(fields.List, fields.Nested(StepChoiceSchema))


# -- the command screen's figures (gridsvc.web.numbers_api; definitions in docs/numbers.md) ----------


class NumbersAreaSchema(PlaceSchema):
    level = _req(fields.String)


class NumbersTodaySchema(Shape):
    day = _req(fields.Date, metadata={"description": "the China-time day of now"})
    received = _req(fields.Integer)
    closed = _req(fields.Integer)
    open = _req(fields.Integer, metadata={"description": "open now"})
    overdue = _req(fields.Integer, metadata={"description": "open now with overdue_level > 0"})


class SatisfactionSchema(Shape):
    ratings = _req(fields.Integer, metadata={"description": "ratings given in the period"})
    mean_stars = _nullable(fields.Float, metadata={"description": "满意度: mean stars, 1–5; null: no rating"})


class NumbersPeriodSchema(Shape):
    received = _req(fields.Integer)
    closed = _req(fields.Integer)
    closed_on_time = _req(fields.Integer, metadata={"description": "closed with no `overdue` entry in the record"})
    rejected = _req(fields.Integer)
    merged = _req(fields.Integer)
    on_time_closure_rate = _nullable(fields.Float, metadata={"description": "按期结案率, 0–1; null: nothing closed"})
    average_handling_hours = _nullable(fields.Float, metadata={
        "description": "平均处置时长 in working hours, receipt to closing; null: nothing closed"})
    satisfaction = _req(fields.Nested, SatisfactionSchema)


class StatusCountSchema(Shape):
    status = _req(fields.String, validate=OneOf(CASE_STATUSES))
    name_zh = _req(fields.String)
    count = _req(fields.Integer)


class DomainCountSchema(Shape):
    code = _req(fields.String, validate=OneOf(DOMAINS))
    name_zh = _req(fields.String)
    count = _req(fields.Integer)


class CategoryCountSchema(Shape):
    code = _req(fields.String)
    name_zh = _nullable(fields.String)
    name_en = _nullable(fields.String)
    count = _req(fields.Integer)


class OverdueCaseSchema(Shape):
    tracking_no = _req(fields.String)
    category = _req(fields.String)
    category_name_zh = _nullable(fields.String)
    status = _req(fields.String, validate=OneOf(CASE_STATUSES))
    status_name_zh = _req(fields.String)
    grid = _nullable(fields.String)
    village = _nullable(fields.String)
    village_name = _nullable(fields.String)
    department = _nullable(fields.String)
    department_name_zh = _nullable(fields.String)
    stage_due_at = _nullable(fields.DateTime)
    overdue_level = _req(fields.Integer, metadata={"description": "1 overdue, 2 long overdue (the county is alerted)"})
    overdue_working_hours = _nullable(fields.Float, metadata={"description": "working hours from stage_due_at to now"})


class TrendDaySchema(Shape):
    day = _req(fields.Date)
    received = _req(fields.Integer)
    closed = _req(fields.Integer)


class _FiguresSchema(Shape):
    received = _req(fields.Integer)
    open = _req(fields.Integer)
    overdue = _req(fields.Integer)
    closed = _req(fields.Integer)
    closed_on_time = _req(fields.Integer)
    on_time_rate = _nullable(fields.Float)


class VillageFiguresSchema(_FiguresSchema):
    code = _nullable(fields.String, metadata={"description": "null: cases located nowhere"})
    name = _nullable(fields.String)


class DepartmentFiguresSchema(_FiguresSchema):
    code = _nullable(fields.String, metadata={"description": "null: cases no department has"})
    name_zh = _nullable(fields.String)
    name_en = _nullable(fields.String)


class NumbersSchema(Shape):
    from_ = _req(fields.DateTime, data_key="from")
    to = _req(fields.DateTime)
    now = _req(fields.DateTime)
    area = _nullable(fields.Nested, NumbersAreaSchema)
    today = _req(fields.Nested, NumbersTodaySchema)
    period = _req(fields.Nested, NumbersPeriodSchema)
    by_status = _req(fields.List, fields.Nested(StatusCountSchema),
                     metadata={"description": "cases received in the period, by their status now"})
    by_domain = _req(fields.List, fields.Nested(DomainCountSchema))
    by_category = _req(fields.List, fields.Nested(CategoryCountSchema))
    worst_overdue = _req(fields.List, fields.Nested(OverdueCaseSchema),
                         metadata={"description": "up to 10 open overdue cases, most overdue first"})
    trend = _req(fields.List, fields.Nested(TrendDaySchema), metadata={"description": "one row per China day"})
    by_village = _req(fields.List, fields.Nested(VillageFiguresSchema))
    by_department = _req(fields.List, fields.Nested(DepartmentFiguresSchema))


# -- indicators (gridsvc.web.indicators_api; definitions in docs/indicators.md) --------------------

_INDICATOR_FIELDS = {"text": fields.String, "count": fields.Integer, "rank": fields.Integer}
_SOMETIMES_NULL = ("patrol_grid_days", "rank")  # no patrols for a department; no rank without a score


def _indicator_field(column) -> fields.Field:
    cls = _INDICATOR_FIELDS.get(column.kind, fields.Float)
    metadata = {"description": f"{column.name_zh} / {column.name_en}"}
    if column.kind == "count" and column.key not in _SOMETIMES_NULL:
        return _req(cls, metadata=metadata)
    return _nullable(cls, metadata=metadata)


IndicatorRowSchema = Shape.from_dict({c.key: _indicator_field(c) for c in COLUMNS}, name="IndicatorRowSchema")


class IndicatorTableSchema(Shape):
    from_ = _req(fields.DateTime, data_key="from")
    to = _req(fields.DateTime)
    level = _req(fields.String, validate=OneOf(LEVELS))
    area = _nullable(fields.String)
    working_days = _req(fields.Integer, metadata={"description": "working days wholly inside the period"})
    rows = _req(fields.List, fields.Nested(IndicatorRowSchema), metadata={"description": "ranked, best first"})
    total = _req(fields.Nested, IndicatorRowSchema)  # 合计: every counted case


# -- attachments (gridsvc.web.attachments_api) ------------------------------------------------


class ExifSchema(Shape):
    lon = _nullable(fields.Float)
    lat = _nullable(fields.Float)
    taken_at = _nullable(fields.DateTime)


class AttachmentUrlsSchema(Shape):
    photo = _req(fields.String)
    thumbnail = _req(fields.String)


class AttachmentSchema(Shape):
    id = _req(fields.Integer)
    sha256 = _req(fields.String, metadata={"description": "of the original bytes as uploaded"})
    content_type = _req(fields.String)
    width = _req(fields.Integer)
    height = _req(fields.Integer)
    size_bytes = _req(fields.Integer)
    exif = _nullable(fields.Nested, ExifSchema, metadata={"description": "null when EXIF said neither place nor time"})
    distance_m = _nullable(fields.Float, metadata={"description": "from the EXIF GPS point to the case's point"})
    location_mismatch = _nullable(fields.Boolean, metadata={
        "description": "`distance_m` is over GRIDSVC_PHOTO_MISMATCH_M (the case is flagged `photo_location_mismatch`); "
                       "null: the photo has no GPS"})
    location_check_zh = _req(fields.String, metadata={"description": "the same check in words, for the screen",
                                                      "example": "拍摄位置距案件位置 35 米，与上报位置相符"})
    uploaded_by = _req(fields.Integer)
    uploaded_at = _req(fields.DateTime)
    urls = _req(fields.Nested, AttachmentUrlsSchema)


class AttachmentListSchema(Shape):
    tracking_no = _req(fields.String)
    attachments = _req(fields.List, fields.Nested(AttachmentSchema))


# -- events (gridsvc.events) ---------------------------------------------------------------


class EventSchema(Shape):
    seq = _req(fields.Integer, metadata={"description": "gapless and in commit order: send the last seen as `since`"})
    kind = _req(fields.String, metadata={"description": "e.g. case.created, case.dispatched, case.overdue, "
                                                        "network.changed, patrol.started (docs/events.md)",
                                         "example": "case.dispatched"})
    at = _req(fields.DateTime)
    data = _req(fields.Dict, metadata={"description": "for case events: `case` (the case as it stands), `action`, "
                                                      "`ack_required`, …"})


class EventListSchema(Shape):
    events = _req(fields.List, fields.Nested(EventSchema))
    next = _req(fields.Integer, metadata={"description": "continue with since=next (the outbox was read this far)"})
    head = _req(fields.Integer, metadata={"description": "the last event there is"})


class EventAckSchema(Shape):
    seq = _req(fields.Integer)
    acked_at = _req(fields.DateTime)


# -- the command screen's own answers (gridsvc.web.screen_api) ---------------------------------------


class BasemapSchema(Shape):
    url = _req(fields.String, metadata={"description": "tile URL template ({z}/{x}/{y}, {s}), key filled in"})
    datum = _req(fields.String, metadata={"description": "the datum its tiles are drawn in", "example": "gcj02"})
    subdomains = _req(fields.String)
    attribution = _req(fields.String)
    max_zoom = _req(fields.Integer)


_NAMES = {"description": "code → zh-CN name"}


class ScreenConfigSchema(Shape):
    basemap = _nullable(fields.Nested, BasemapSchema, metadata={"description": "null: no base map (offline)"})
    datum = _req(fields.String, metadata={"description": "the datum the screen's layers come in"})
    statuses = _req(fields.Dict, keys=fields.String(), values=fields.String(), metadata=_NAMES)
    domains = _req(fields.Dict, keys=fields.String(), values=fields.String(), metadata=_NAMES)
    roles = _req(fields.Dict, keys=fields.String(), values=fields.String(), metadata=_NAMES)
    flags = _req(fields.Dict, keys=fields.String(), values=fields.String(), metadata=_NAMES)
    flags_to_act_on = _req(fields.List, fields.String(), metadata={
        "description": "the flags that ask a commander to act (待确认); the others only inform (docs/screen.md)"})
    location_flags = _req(fields.List, fields.String(), metadata={
        "description": "the flags that ask where the case is: the 位置待确认 queue's (立案 with the grid answers them)"})
    open_statuses = _req(fields.List, fields.String(validate=OneOf(CASE_STATUSES)))


class ScreenCasesSchema(Shape):
    crs = _req(fields.String)
    fields_ = _req(fields.List, fields.String(), data_key="fields",
                   metadata={"description": "the names of each row's values, in order"})
    rows = _req(fields.List, fields.List(fields.Raw()), metadata={"description": "one row per case"})
    events_head = _req(fields.Integer, metadata={
        "description": "every event up to this seq is in the rows: follow the live channel from it"})


class GridWorkerSchema(Shape):
    name = _req(fields.String)
    phone = _req(fields.String)


class GridCaseSchema(Shape):
    tracking_no = _req(fields.String)
    category = _req(fields.String)
    status = _req(fields.String, validate=OneOf(CASE_STATUSES))
    overdue_level = _req(fields.Integer)
    received_at = _req(fields.DateTime)


class GridCardSchema(Shape):
    code = _req(fields.String)
    name = _req(fields.String)
    kind = _req(fields.String)
    special_type = _nullable(fields.String)
    domains = _req(fields.List, fields.String(validate=OneOf(DOMAINS)))
    households = _nullable(fields.Integer)
    population = _nullable(fields.Integer)
    village = _nullable(fields.Nested, PlaceSchema)
    township = _nullable(fields.Nested, PlaceSchema)
    grid_workers = _req(fields.List, fields.Nested(GridWorkerSchema))
    open_case_count = _req(fields.Integer, metadata={"description": "all of them; `open_cases` lists the first 50"})
    open_cases = _req(fields.List, fields.Nested(GridCaseSchema))


class PatrollingSchema(Shape):
    user_id = _req(fields.Integer)
    name = _req(fields.String)
    grid_codes = _req(fields.List, fields.String(), metadata={"description": "the worker's grids in my area"})
    lon = _req(fields.Float, metadata={"description": "the newest fix, in `crs`"})
    lat = _req(fields.Float)
    accuracy_m = _nullable(fields.Float)
    fix_at = _req(fields.DateTime, metadata={"description": "when the phone took the fix (its clock)"})
    age_s = _req(fields.Integer, metadata={"description": "seconds from `fix_at` to the answer's `at`"})
    patrol_started_at = _req(fields.DateTime)


class CoveredGridSchema(Shape):
    code = _req(fields.String)
    walked_by = _req(fields.List, fields.String(), metadata={"description": "the grid workers whose counted fixes "
                                                                            "lie in it today"})


class PatrolCoverageSchema(Shape):
    base_grids = _req(fields.Integer, metadata={"description": "base grids of my area"})
    covered_base_grids = _req(fields.Integer, metadata={"description": "of which walked today"})
    share = _nullable(fields.Float, metadata={"description": "covered_base_grids / base_grids, 4 places"})
    grids = _req(fields.List, fields.Nested(CoveredGridSchema),
                 metadata={"description": "every grid walked today, special ones too"})


class PatrolsNowSchema(Shape):
    crs = _req(fields.String)
    at = _req(fields.DateTime, metadata={"description": "the service's now"})
    live_minutes = _req(fields.Float, metadata={"description": "GRIDSVC_PATROL_LIVE_MINUTES: on patrol while the "
                                                               "newest fix of an open patrol is at most this old"})
    grid_workers = _req(fields.Integer, metadata={"description": "active grid workers with a grid in my area"})
    on_patrol = _req(fields.Integer, metadata={"description": "of whom on patrol now (在岗)"})
    patrolling = _req(fields.List, fields.Nested(PatrollingSchema))
    day = fields.String(metadata={"description": "with tracks: today, the China day (YYYY-MM-DD)"})
    tracks = fields.Dict(metadata={"description": "with tracks: a GeoJSON FeatureCollection, one cleaned "
                                                  "(Multi)LineString per worker who walked today, in `crs`"})
    coverage = fields.Nested(PatrolCoverageSchema)  # with tracks: today's 巡查覆盖


class BilingualNameSchema(Shape):
    name_zh = _req(fields.String)
    name_en = _req(fields.String)


class CategoryNameSchema(BilingualNameSchema):
    domain = _req(fields.String, validate=OneOf(DOMAINS))
    township_may_act = _req(fields.Boolean, metadata={"description": "false: only a county department may take it"})
    feedback_photo_required = _req(fields.Boolean, metadata={
        "description": "处置反馈 must name a photo, and 核查通过 needs a photo of the result (docs/workflow.md)"})


class ReporterSchema(Shape):
    name = _req(fields.String)
    role = _req(fields.String, validate=OneOf(ROLES))


class CaseNamesSchema(Shape):
    category = _nullable(fields.Nested, CategoryNameSchema)
    department = _nullable(fields.Nested, BilingualNameSchema)
    team = _nullable(fields.Nested, BilingualNameSchema)
    grid = _nullable(fields.String)
    village = _nullable(fields.String)
    township = _nullable(fields.String)
    county = _nullable(fields.String)
    reporter = _nullable(fields.Nested, ReporterSchema)


class StageClockSchema(Shape):
    stage_zh = _req(fields.String, metadata={"example": "处置时限"})
    due_at = _req(fields.DateTime)
    working_hours_left = fields.Float(metadata={
        "description": "in office hours; negative: that long overdue (every stage's clock but 签收时限)"})
    minutes_left = fields.Integer(metadata={
        "description": "签收时限 only (a dispatched case, 待签收): wall-clock minutes until the department is late to "
                       "pick it up (`dispatch_alert_minutes` after the dispatch); negative: that long late"})
    acknowledged_at = fields.DateTime(allow_none=True, metadata={
        "description": "签收时限 only: when a phone of the department confirmed the dispatch notice"})
    overdue = _req(fields.Boolean)


class CodeAndNameSchema(Shape):
    code = _req(fields.String)
    name_zh = _req(fields.String)


class NamedRecordEntrySchema(Shape):
    seq = _req(fields.Integer)
    at = _req(fields.DateTime)
    action = _req(fields.String)
    action_zh = _req(fields.String)
    actor = _nullable(fields.String, metadata={"description": "who; null for the service (the deadline sweep)"})
    actor_role = _nullable(fields.String, validate=OneOf(ROLES))
    actor_department = _nullable(fields.Nested, CodeAndNameSchema, metadata={"description": "the actor's department"})
    actor_team = _nullable(fields.Nested, CodeAndNameSchema, metadata={"description": "the actor's team (中队)"})
    actor_zh = _nullable(fields.String, metadata={
        "description": "the actor with their team and department, or their role", "example": "执法队员（城管中队（综合行政执法队））"})
    to_department = _nullable(fields.Nested, CodeAndNameSchema, metadata={
        "description": "立案, 派遣, 上报县级, 重新办理: the department the step gave the case to"})
    to_team = _nullable(fields.Nested, CodeAndNameSchema, metadata={"description": "派遣: the team named"})
    to_zh = _nullable(fields.String, metadata={"example": "城管中队（综合行政执法队）"})
    distance_m = _nullable(fields.Float, metadata={
        "description": "到达现场: metres from where the officer stood to the case's point; 上传照片: from the photo's "
                       "EXIF GPS point"})
    far_from_case = _nullable(fields.Boolean, metadata={
        "description": "the distance is over the limit (the case was flagged); null without a distance"})
    place_zh = _nullable(fields.String, metadata={"description": "the distance in words",
                                                  "example": "到场位置距案件位置 35 米"})
    attachments = _req(fields.List, fields.Integer(), metadata={"description": "the photos the step named or added"})
    from_status = _nullable(fields.String)
    to_status = _nullable(fields.String)
    note = _nullable(fields.String)


class CaseSheetSchema(Shape):
    case = _req(fields.Nested, CaseSchema)
    names = _req(fields.Nested, CaseNamesSchema)
    clock = _nullable(fields.Nested, StageClockSchema, metadata={"description": "null for a finished case"})
    record = _req(fields.List, fields.Nested(NamedRecordEntrySchema))
    steps = _req(fields.List, fields.Nested(StepChoiceSchema))
    merge_candidates = _req(fields.List, fields.Nested("MergeCandidateSchema"), metadata={
        "description": "合并: the cases this one likely repeats, to pick from (empty unless I may merge it)"})
    public_notes = _req(fields.Nested, "SheetPublicNotesSchema")
    evidence = _req(fields.Nested, "ResultPhotosSchema")


class MergeCandidateSchema(Shape):
    tracking_no = _req(fields.String)
    status = _req(fields.String)
    status_name_zh = _req(fields.String)
    description = _req(fields.String)
    received_at = _req(fields.DateTime)
    distance_m = _nullable(fields.Integer, metadata={"description": "from this case's point; null without points"})
    noted = _req(fields.Boolean, metadata={"description": "intake noted it as a possible duplicate of this report"})


class ResultPhotosSchema(Shape):
    photo_required = _req(fields.Boolean, metadata={"description": "the category's `feedback_photo_required`"})
    result_photos = _req(fields.List, fields.Integer(), metadata={
        "description": "photos the last 处置反馈 names that were uploaded after the case was last sent to a "
                       "department: the evidence 核查 looks at"})
    photo_missing = _req(fields.Boolean, metadata={
        "description": "a photo is required and there is none: 核查通过 is refused (409 `result_photo_missing`)"})


# -- hotspots (gridsvc.web.hotspots_api; definitions in docs/hotspots.md) ----------------------------

_HOTSPOT_COUNTS = {
    "count": {"type": "integer", "description": "counted cases received in the period"},
    "rank": {"type": "integer", "nullable": True,
             "description": "1 for the most cases; equal counts share a rank (1, 2, 2, 4); null for 0 cases"},
    "share": {"type": "number", "description": "count / total, 0–1, rounded to 4 places; 0 when total is 0"},
}
_HOTSPOT_HEAD = {
    "type": {"type": "string", "enum": ["FeatureCollection"]},
    "crs": {"type": "string", "description": "the datum of every coordinate (the base map's by default)"},
    "from": {"type": "string", "format": "date-time"},
    "to": {"type": "string", "format": "date-time"},
    "category": {"type": "string", "nullable": True},
    "domain": {"type": "string", "nullable": True, "description": f"one of {', '.join(DOMAINS)}, or null"},
    "total": {"type": "integer", "description": "the sum of the features' counts"},
}
HOTSPOT_GRID_COLLECTION = {
    "type": "object",
    "description": "the caller's grids as GeoJSON Features, most cases first",
    "required": [*_HOTSPOT_HEAD, "network_revision", "features"],
    "properties": {
        **_HOTSPOT_HEAD,
        "network_revision": {"type": "integer"},
        "features": {"type": "array", "items": {
            "type": "object", "required": ["type", "id", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "string", "description": "the grid code"},
                "geometry": {"anyOf": [{"$ref": "#/components/schemas/Geometry"}, {"type": "object", "nullable": True}],
                             "description": "the outline; null with `outlines=false`"},
                "properties": {"type": "object",
                               "required": ["code", "name", "kind", "village_code", *_HOTSPOT_COUNTS],
                               "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                              "kind": {"type": "string"}, "village_code": {"type": "string"},
                                              **_HOTSPOT_COUNTS}},
            },
        }},
    },
}
HOTSPOT_HEXAGON_COLLECTION = {
    "type": "object",
    "description": "the H3 cells holding counted cases as hexagon Features, most cases first",
    "required": [*_HOTSPOT_HEAD, "resolution", "cell_area_km2", "features"],
    "properties": {
        **_HOTSPOT_HEAD,
        "resolution": {"type": "integer", "minimum": 7, "maximum": 10},
        "cell_area_km2": {"type": "number", "description": "H3's average cell area at this resolution"},
        "features": {"type": "array", "items": {
            "type": "object", "required": ["type", "id", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "string", "description": "the H3 cell index"},
                "geometry": {"$ref": "#/components/schemas/Geometry"},
                "properties": {"type": "object", "required": ["h3", "resolution", *_HOTSPOT_COUNTS],
                               "properties": {"h3": {"type": "string"}, "resolution": {"type": "integer"},
                                              **_HOTSPOT_COUNTS}},
            },
        }},
    },
}


class RisingWeekSchema(Shape):
    from_ = _req(fields.DateTime, data_key="from", metadata={"description": "China midnight, included"})
    to = _req(fields.DateTime, metadata={"description": "China midnight, excluded"})
    total = _req(fields.Integer, metadata={"description": "the listed grids' cases in the week"})


class RisingGridSchema(Shape):
    code = _req(fields.String)
    name = _req(fields.String)
    village_code = _req(fields.String)
    this_week = _req(fields.Integer)
    last_week = _req(fields.Integer)
    change = _req(fields.Integer, metadata={"description": "this_week - last_week"})
    change_ratio = _nullable(fields.Float, metadata={"description": "change / last_week; null when last_week is 0"})
    rising = _req(fields.Boolean, metadata={"description": "this_week >= min_count and this_week >= 2 × last_week"})


class RisingSchema(Shape):
    week_ending = _req(fields.Date)
    this_week = _req(fields.Nested, RisingWeekSchema)
    last_week = _req(fields.Nested, RisingWeekSchema)
    category = _nullable(fields.String)
    domain = _nullable(fields.String, validate=OneOf(DOMAINS))
    min_count = _req(fields.Integer)
    rule = _req(fields.String)
    grids = _req(fields.List, fields.Nested(RisingGridSchema),
                 metadata={"description": "grids with a counted case in either week; rising first, then by change"})


# -- 政务公开 (gridsvc.web.public_api) ------------------------------------------------------------


class PublicPlaceSchema(Shape):
    code = _req(fields.String)
    name = _nullable(fields.String)


class PublicDepartmentSchema(Shape):
    name_zh = _req(fields.String)
    name_en = _req(fields.String)


class PublicCategorySchema(Shape):
    code = _req(fields.String)
    name_zh = _nullable(fields.String)
    name_en = _nullable(fields.String)


class PublicNoteSchema(Shape):
    step = _req(fields.String, validate=OneOf(("reject", "close")))
    step_name_zh = _req(fields.String)
    on = _req(fields.Date, metadata={"description": "the China day"})
    note = _req(fields.String)
    corrected_on = _nullable(fields.Date, metadata={
        "description": "the China day a commander last corrected the note (POST …/public-note); null: never"})


class SheetPublicNoteSchema(PublicNoteSchema):
    seq = _req(fields.Integer, metadata={"description": "the step's record entry: what POST …/public-note names"})
    note = _nullable(fields.String, metadata={"description": "null: the step was taken without a note"})


class SheetPublicNotesSchema(Shape):
    published = _req(fields.Boolean, metadata={"description": "false for an enforcement case: nothing is published"})
    may_correct = _req(fields.Boolean, metadata={"description": "the viewer may correct them (POST …/public-note)"})
    notes = _req(fields.List, fields.Nested(SheetPublicNoteSchema), metadata={
        "description": "the 不予立案 and 结案 entries with the text the public page shows"})


class CorrectedNoteSchema(Shape):
    tracking_no = _req(fields.String)
    record_seq = _req(fields.Integer, metadata={"description": "the case's record, with the correction's entry"})
    note = _req(fields.Nested, SheetPublicNoteSchema)


class PublicRatingSchema(Shape):
    stars = _req(fields.Integer)
    rated_on = _req(fields.Date)


class PublicCaseSchema(Shape):
    """Never the reporter, the description, the point or photos; enforcement cases only the first block."""

    tracking_no = _req(fields.String)
    status = _req(fields.String, validate=OneOf(CASE_STATUSES))
    status_name_zh = _req(fields.String)
    domain = _nullable(fields.String, validate=OneOf(DOMAINS))
    domain_name_zh = _nullable(fields.String)
    township = _nullable(fields.Nested, PublicPlaceSchema)
    department = _nullable(fields.Nested, PublicDepartmentSchema)  # who answers for it
    received_on = _req(fields.Date)
    closed_on = _nullable(fields.Date)
    enforcement = _req(fields.Boolean, metadata={"description": "执法公示: true means the fields below are left out"})
    responsibility_list = _req(fields.String, metadata={"description": "where the 责任清单 is published"})
    # not for enforcement cases:
    category = fields.Nested(PublicCategorySchema)
    village = fields.Nested(PublicPlaceSchema, allow_none=True)
    notes = fields.List(fields.Nested(PublicNoteSchema), metadata={"description": "the 不予立案 and 结案 notes"})
    rating = fields.Nested(PublicRatingSchema, allow_none=True)  # stars only


class PublicTownshipSchema(Shape):
    code = _req(fields.String, metadata={"description": "12 位乡镇区划代码 / the township's 12-digit code"})
    name = _req(fields.String)
    county = _nullable(fields.Nested, PublicPlaceSchema)


class PublicTownshipListSchema(Shape):
    townships = _req(fields.List, fields.Nested(PublicTownshipSchema), metadata={"description": "by code"})


class PublicStatsSchema(Shape):
    township = _req(fields.Nested, PublicPlaceSchema)
    from_ = _req(fields.DateTime, data_key="from")
    to = _req(fields.DateTime)
    received = _req(fields.Integer)
    closed = _req(fields.Integer)
    closed_on_time = _req(fields.Integer)
    on_time_closure_rate = _nullable(fields.Float)
    satisfaction = _req(fields.Nested, SatisfactionSchema)
    by_status = _req(fields.List, fields.Nested(StatusCountSchema))
    by_domain = _req(fields.List, fields.Nested(DomainCountSchema))
