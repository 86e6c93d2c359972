"""What the phones' own answers look like, as marshmallow schemas: for the mobile OpenAPI document only.

As in gridsvc.web.openapi_schemas (whose conventions and shared parts this reuses:
`required` means always present, `allow_none` present and maybe null): the
views build their JSON by hand, these schemas describe it field by field, and
tests/api/test_openapi.py checks real answers against them strictly.
"""

from __future__ import annotations

from marshmallow import fields
from marshmallow.validate import OneOf

from gridsvc.kernel.models import ROLES
from gridsvc.web.openapi_schemas import (
    MATCHES,
    CaseIdentitySchema,
    CategorySchema,
    PlaceSchema,
    Shape,
    _nullable,
    _req,
    field_reasons,
)

# -- start-up data (mobile_api.startup) ----------------------------------------------------------


class StartupUserSchema(Shape):
    phone = _req(fields.String)
    name = _req(fields.String)
    role = _req(fields.String, validate=OneOf(ROLES))
    admin_code = _nullable(fields.String, metadata={"description": "the area of a commander or supervisor"})
    department = _nullable(fields.String, metadata={"description": "the department code of a handler or officer"})


class StartupGridSchema(Shape):
    code = _req(fields.String, metadata={"description": "15-digit grid code"})
    name = _req(fields.String)
    kind = _req(fields.String, metadata={"description": "base or special (专属网格)"})
    special_type = _nullable(fields.String)
    village = _nullable(fields.Nested, PlaceSchema)
    township = _nullable(fields.Nested, PlaceSchema)
    county = _nullable(fields.Nested, PlaceSchema)
    boundary = _req(fields.Dict, metadata={"description": "GeoJSON geometry, simplified to a few metres, in `crs`"})


class StartupCatalogueSchema(Shape):
    revision = _req(fields.Integer, metadata={"description": "moves on every catalogue edit"})
    categories = _req(fields.List, fields.Nested(CategorySchema))


class StartupSchema(Shape):
    user = _req(fields.Nested, StartupUserSchema)
    crs = _req(fields.String, metadata={"description": "the datum of every boundary, e.g. gcj02"})
    network_revision = _req(fields.Integer)
    grids = _req(fields.List, fields.Nested(StartupGridSchema), metadata={"description": "the caller's grids"})
    catalogue = _req(fields.Nested, StartupCatalogueSchema)


# -- reports and the phone's lists (mobile_api.reporting, mobile_api.my_cases) ----------------------


class SummaryGridSchema(Shape):
    code = _nullable(fields.String, metadata={"description": "null when the point is in no grid"})
    name = _nullable(fields.String)


class SummaryDepartmentSchema(Shape):
    code = _req(fields.String)
    name_zh = _req(fields.String)


class CaseSummarySchema(CaseIdentitySchema):
    """What the phone shows at once: where the case went, to whom, by when, and what to watch."""

    grid = _req(fields.Nested, SummaryGridSchema)
    locate_match = _req(fields.String, validate=OneOf(MATCHES))
    department = _nullable(fields.Nested, SummaryDepartmentSchema)
    flags = _req(fields.List, fields.String(), metadata={"description": "what a commander should look at"})
    received_at = _req(fields.DateTime, metadata={"description": "the server's clock"})
    reported_at = _nullable(fields.DateTime, metadata={"description": "the phone's clock"})
    stage_due_at = _nullable(fields.DateTime)
    handling_due_at = _req(fields.DateTime)


class MapPointSchema(Shape):
    lon = _req(fields.Float)
    lat = _req(fields.Float)
    crs = _req(fields.String, metadata={"description": "the datum asked for (`crs`, default gcj02)",
                                        "example": "gcj02"})


class CaseWorkRowSchema(CaseSummarySchema):
    """A row of my tasks or of my verifications: the summary and what the list and its map show at once."""

    category_name_zh = _nullable(fields.String, metadata={"example": "乱堆乱放"})
    category_name_en = _nullable(fields.String)
    description = _req(fields.String)
    urgent = _req(fields.Boolean)
    point = _req(fields.Nested, MapPointSchema)  # where the case is, in the datum asked (`crs`)


class WorkPageSchema(Shape):
    total = _req(fields.Integer, metadata={"description": "all the cases of the list, on every page"})
    limit = _req(fields.Integer)
    next = _nullable(fields.String, metadata={"description": "send it as `before` for the next page; null on the "
                                                             "last page"})
    crs = _req(fields.String, metadata={"description": "the datum of every `point`"})
    cases = _req(fields.List, fields.Nested(CaseWorkRowSchema), metadata={"description": "nearest deadline first"})


class MyReportsPageSchema(Shape):
    total = _req(fields.Integer, metadata={"description": "all my reports that match, on every page"})
    limit = _req(fields.Integer)
    next = _nullable(fields.String, metadata={"description": "send it as `before` for the next, older page; "
                                                             "null on the last page"})
    cases = _req(fields.List, fields.Nested(CaseSummarySchema), metadata={"description": "newest first"})


class ItemErrorSchema(Shape):
    code = _req(fields.String, metadata={"example": "invalid_parameters"})
    fields_ = field_reasons("each offending field of the item with its reasons")


class BatchResultSchema(Shape):
    index = _req(fields.Integer, metadata={"description": "the item's position in `reports`"})
    client_uuid = _nullable(fields.String, metadata={"description": "as the item gave it (null without one)"})
    result = _req(fields.String, validate=OneOf(["created", "existing", "rejected"]))
    case = _nullable(fields.Nested, CaseSummarySchema)
    error = _nullable(fields.Nested, ItemErrorSchema, metadata={"description": "why a rejected item was refused"})


class BatchResultsSchema(Shape):
    results = _req(fields.List, fields.Nested(BatchResultSchema), metadata={"description": "one per item, in order"})


# -- patrols (mobile_api.patrols) ----------------------------------------------------------------


class PatrolSchema(Shape):
    client_uuid = _req(fields.String)
    started_at = _req(fields.DateTime, metadata={"description": "the phone's clock (the server's when not given)"})
    ended_at = _nullable(fields.DateTime)
    received_at = _req(fields.DateTime, metadata={"description": "the server's clock"})
    points = _req(fields.Integer, metadata={"description": "fixes stored so far"})


class StoppedPatrolSchema(PatrolSchema):
    stopped_now = _req(fields.Boolean, metadata={"description": "false when the patrol had stopped already"})


class PointResultSchema(Shape):
    index = _req(fields.Integer, metadata={"description": "the fix's position in `points`"})
    seq = _nullable(fields.Integer)
    result = _req(fields.String, validate=OneOf(["added", "already_had", "rejected"]))
    error = fields.Nested(ItemErrorSchema)  # only for a rejected fix


class PointsResultSchema(Shape):
    patrol = _req(fields.Nested, PatrolSchema)
    added = _req(fields.Integer)
    already_had = _req(fields.Integer)
    rejected = _req(fields.Integer)
    results = _req(fields.List, fields.Nested(PointResultSchema), metadata={"description": "one per fix, in order"})


class GridCoverageSchema(Shape):
    code = _req(fields.String)
    name = _req(fields.String)
    kind = _req(fields.String)
    length_m = _req(fields.Float)
    covered_share = _req(fields.Float, metadata={"description": "0 to 1"})
    covered_m2 = _req(fields.Integer)
    area_m2 = _req(fields.Integer)


class PatrolCoverageSchema(Shape):
    date = _req(fields.Date)
    timezone = _req(fields.String, validate=OneOf(["Asia/Shanghai"]))
    buffer_m = _req(fields.Float, metadata={"description": "the width either side of the track counted as covered"})
    fixes = _req(fields.Integer)
    length_m = _req(fields.Float)
    outside_grids_m = _req(fields.Float)
    ignored_steps = _req(fields.Integer, metadata={"description": "jumps, silences, time running backwards"})
    dropped_fixes = _req(fields.Integer)
    grids = _req(fields.List, fields.Nested(GridCoverageSchema))
