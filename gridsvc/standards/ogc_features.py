"""OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0; Part 2: CRS) over the grid network: the domain.

Collections:

- `grids`: the current grid cells (feature id: the 15-digit code), from the in-memory `GridIndex`
  for the geometry, the bbox filter and the paging, and one SQL query per page for the attributes
  the index does not hold (domains, households, population, version, validity); with `datetime`,
  the grid versions of that moment or interval, from SQL;
- `villages`, `townships`: administrative units with their boundaries (feature id: the 12-digit
  code), from SQL;
- `cases`: the cases the signed-in caller may see (`case_access.visible_to`), as points (feature
  id: the tracking number), from SQL. Only with a bearer token.

Coordinates (Part 2, CRS by reference): storage is CGCS2000 (EPSG:4490), which differs from WGS84 far
less than any grid boundary's accuracy (docs/ogc-api.md has the numbers). By default, as Part 1
requires, every output and every `bbox` is longitude/latitude declared as CRS84: the numbers are
the stored CGCS2000 coordinates, untransformed. `crs` asks for another CRS of `SUPPORTED_CRS`
(EPSG:4490 itself, EPSG:4326, the CGCS2000 3-degree Gauss–Krüger zones), each in its own axis order
(latitude first for EPSG:4490 and 4326, northing first for the zones); `bbox-crs` names the CRS of
`bbox` the same way.

Time (Part 1 `datetime`): a grid version's temporal geometry is its validity [valid_from, valid_to);
a case's, the instant it was received. Without `datetime` the `grids` collection is the current
network (not every version ever stored); with it, every version whose validity meets the instant or
interval. A retired version's feature id is `<code>-v<version>`; the current one's, its code.

Every page is bounded (`limit` at most `MAX_LIMIT`); every bad parameter is an `OgcError` of kind
`invalid` (code InvalidParameterValue), an unknown collection or feature one of kind `not_found`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Mapping

import numpy as np
import shapely
import sqlalchemy as sa
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy.orm import Session, defer

from gridsvc.cases.access import visible_to
from gridsvc.geo.crs import STORAGE_EPSG, geometry_from_cgcs2000, geometry_to_cgcs2000, parse_crs
from gridsvc.geo.grid_records import is_grid_code
from gridsvc.geo.locate import GridIndex
from gridsvc.kernel.errors import INVALID, NOT_FOUND, DomainError
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import AdminUnit, Case, GridCell, User
from gridsvc.network.store import cell_at

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
STORAGE_CRS = f"{EPSG_URI}{STORAGE_EPSG}"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000  # a larger `limit` (up to the spec's 10000) is served as this many, not an error
SCHEMA_MAX_LIMIT = 10000  # the limit parameter's maximum in Part 1's OpenAPI fragment: above it is invalid
MAX_OFFSET = 10**9
CRS_NOTE = ("坐标默认为 CGCS2000 (EPSG:4490) 经纬度，未经转换，按 OGC API Features 第 1 部分声明为 CRS84（二者之差远小于"
            "网格边界的精度）；可用 crs 参数取 EPSG:4490（纬度在前）等 / coordinates are CGCS2000 (EPSG:4490) "
            "longitude/latitude, untransformed, declared as CRS84 as OGC API Features Part 1 requires (the difference "
            "is far below the accuracy of any grid boundary); ask for EPSG:4490 itself (latitude first) and others "
            "with the crs parameter")


class OgcError(DomainError):
    """An OGC exception: `{"code", "description"}`, the code one of the standard's (e.g. NotFound);
    the web layer gives it the status of its kind (gridsvc.web.ogc_api)."""

    def __init__(self, kind: str, code: str, description: str) -> None:
        super().__init__(description, kind=kind, code=code)

    @property
    def description(self) -> str:
        return self.message


def bad_parameter(name: str, reason: str) -> OgcError:
    return OgcError(INVALID, "InvalidParameterValue", f"参数 {name} 无效 / invalid {name}: {reason}")


def not_found(what: str) -> OgcError:
    return OgcError(NOT_FOUND, "NotFound", what)


# -- coordinate reference systems (Part 2) ---------------------------------------------------------


@dataclass(frozen=True)
class OutputCrs:
    """A CRS the service serves: its URI, its EPSG code (None for CRS84) and its axis order."""

    uri: str
    epsg: int | None
    first_axis_north: bool  # latitude (or northing) first, as EPSG defines EPSG:4490, 4326 and the GK zones
    projected: bool = False

    @property
    def label(self) -> str:
        return "CRS84" if self.epsg is None else f"EPSG:{self.epsg}"


# CGCS2000 / 3-degree Gauss–Krüger, central meridians 75°E … 135°E, no zone number in the easting.
GAUSS_KRUGER_ZONES = range(4534, 4555)
SUPPORTED_CRS: dict[str, OutputCrs] = {
    CRS84: OutputCrs(CRS84, None, first_axis_north=False),
    STORAGE_CRS: OutputCrs(STORAGE_CRS, STORAGE_EPSG, first_axis_north=True),
    f"{EPSG_URI}4326": OutputCrs(f"{EPSG_URI}4326", 4326, first_axis_north=True),
    **{f"{EPSG_URI}{code}": OutputCrs(f"{EPSG_URI}{code}", code, first_axis_north=True, projected=True)
       for code in GAUSS_KRUGER_ZONES},
}
DEFAULT_CRS = SUPPORTED_CRS[CRS84]


def parse_crs_uri(name: str, text: str) -> OutputCrs:
    """A `crs` or `bbox-crs` value: one of the URIs of `SUPPORTED_CRS` (https:// is read as http://)."""
    uri = text.strip()
    if uri.startswith("https://"):
        uri = "http://" + uri[len("https://"):]
    found = SUPPORTED_CRS.get(uri)
    if found is None:
        raise bad_parameter(name, f"不支持的坐标参照系 / unsupported CRS {text[:80]!r}; supported: {CRS84}, "
                                  f"{STORAGE_CRS}, {EPSG_URI}4326, {EPSG_URI}<4534…4554> (the collections' `crs`)")
    return found


def _swap_axes(coords: np.ndarray) -> np.ndarray:
    return coords[:, ::-1].copy()


def to_output(geometry, crs: OutputCrs):
    """A stored (CGCS2000 lon/lat) shapely geometry in `crs`, in that CRS's axis order.

    CRS84, EPSG:4490 and EPSG:4326 carry the stored numbers (CGCS2000 and WGS84 differ far less than a
    grid boundary's accuracy, and PROJ's transformation between them is a null one): only the axis
    order differs. See docs/ogc-api.md, "Coordinates"."""
    if geometry is None or crs.epsg is None:
        return geometry
    if crs.projected:
        bounds = np.asarray(shapely.bounds(geometry)).reshape(-1, 4)  # one geometry, or an array of them
        west, east = np.nanmin(bounds[:, 0]), np.nanmax(bounds[:, 2])
        meridian = zone_meridian(crs)
        if west < meridian - ZONE_REACH_DEG or east > meridian + ZONE_REACH_DEG:
            raise bad_parameter("crs", f"{crs.label} 只适用于中央经线 {meridian:g}°E 两侧 {ZONE_REACH_DEG:g}° 之内 / "
                                       f"{crs.label} serves only within {ZONE_REACH_DEG:g}° of its central meridian "
                                       f"{meridian:g}°E: choose the zone of the data")
        geometry = geometry_from_cgcs2000(geometry, parse_crs(crs.epsg))
    if crs.first_axis_north:
        geometry = shapely.transform(geometry, _swap_axes)
    return geometry


# -- time (Part 1 `datetime`) -----------------------------------------------------------------------


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class Period:
    """A `datetime` value: an instant (start == end), or an interval whose open ends are None."""

    start: datetime | None
    end: datetime | None
    instant: bool = False


def _moment(text: str) -> datetime:
    if not _DATE_TIME.fullmatch(text):
        raise ValueError(text)
    return datetime.fromisoformat(text.upper()).astimezone(timezone.utc)  # OverflowError at the calendar's ends


def parse_datetime(text: str) -> Period:
    """RFC 3339 date-time, or an interval `start/end` whose open end is `..` or empty (Part 1's syntax).

    `../..` (every time) is accepted as well; an interval whose start lies after its end is not."""
    reason = ("须为 RFC 3339 时刻（如 2024-05-01T08:00:00+08:00）或区间 起/止（开放端写 ..）/ must be an RFC 3339 "
              "date-time with its offset, e.g. 2024-05-01T00:00:00Z, or an interval start/end, with `..` for an "
              "open end")
    value = text.strip()
    parts = value.split("/")
    try:
        if len(parts) == 1:
            moment = _moment(value)
            return Period(moment, moment, instant=True)
        if len(parts) != 2 or parts == ["", ""]:
            raise ValueError(value)
        start, end = (None if p in ("", "..") else _moment(p) for p in parts)
    except (ValueError, OverflowError):
        raise bad_parameter("datetime", reason) from None
    if start is not None and end is not None and start > end:
        raise bad_parameter("datetime", "区间起点晚于终点 / the interval starts after it ends")
    return Period(start, end)


def iso_z(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with `Z` (the form the temporal extents use)."""
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


# -- the query ----------------------------------------------------------------------------------


Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    boxes: tuple[Box, ...] = ()  # CGCS2000 lon/lat boxes; two across the antimeridian
    outline: object = None  # a projected bbox: its exact outline in CGCS2000 (the boxes hold its bounds)
    crs: OutputCrs = DEFAULT_CRS
    period: Period | None = None
    texts: dict[str, str] = field(default_factory=dict)  # bbox, bbox-crs, datetime, crs as given: for the links

    @property
    def has_bbox(self) -> bool:
        return bool(self.boxes)


ITEMS_PARAMETERS = frozenset({"limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "f"})
ITEM_PARAMETERS = frozenset({"crs", "f"})
REPEATED = ("bbox", "bbox-crs", "datetime", "crs")  # what the paging links carry besides limit and offset


def check_known(args: Mapping[str, str], known: frozenset[str]) -> None:
    """Part 1: a query parameter the API does not define is refused (an ignored filter returns wrong data)."""
    unknown = sorted(set(args) - known)
    if unknown:
        raise OgcError(INVALID, "InvalidParameterValue",
                       f"未知参数 / unknown query parameter(s): {', '.join(unknown)[:200]}; "
                       f"this service knows {', '.join(sorted(known))}")


def parse_output_crs(args: Mapping[str, str]) -> OutputCrs:
    text = args.get("crs")
    return DEFAULT_CRS if text is None else parse_crs_uri("crs", text)


def parse_items_query(args: Mapping[str, str], known: frozenset[str] = ITEMS_PARAMETERS) -> ItemsQuery:
    """`limit`, `offset`, `bbox`, `bbox-crs`, `datetime` and `crs` as OGC API Features Parts 1 and 2
    define them; `bad_parameter` for anything else."""
    check_known(args, known)
    limit = _integer(args, "limit", DEFAULT_LIMIT, 1, SCHEMA_MAX_LIMIT)
    offset = _integer(args, "offset", 0, 0, MAX_OFFSET)
    crs = parse_output_crs(args)
    bbox_crs = parse_crs_uri("bbox-crs", args["bbox-crs"]) if "bbox-crs" in args else DEFAULT_CRS
    text = args.get("bbox")
    boxes, outline = parse_bbox(text, bbox_crs) if text is not None else ((), None)
    period = parse_datetime(args["datetime"]) if "datetime" in args else None
    texts = {name: args[name] for name in REPEATED if name in args}
    return ItemsQuery(min(limit, MAX_LIMIT), offset, boxes, outline, crs, period, texts)


def _integer(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = args.get(name)
    if text is None:
        return default
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        raise bad_parameter(name, f"须为 {low} 到 {high} 的整数 / must be an integer from {low} to {high}")
    value = int(text) if len(text) <= 12 else high + 1
    if not low <= value <= high:
        raise bad_parameter(name, f"须为 {low} 到 {high} 的整数 / must be an integer from {low} to {high}")
    return value


def parse_bbox(text: str, crs: OutputCrs = DEFAULT_CRS) -> tuple[tuple[Box, ...], object]:
    """A `bbox` in `crs` (its axis order) as CGCS2000 lon/lat boxes, and for a projected `crs` the exact
    outline of the box in CGCS2000 as well (None otherwise).

    CRS84: `minlon,minlat,maxlon,maxlat` (or six numbers with heights, which are ignored); EPSG:4490
    and 4326: `minlat,minlon,maxlat,maxlon`; a Gauss–Krüger zone: `minN,minE,maxN,maxE` in metres. A
    geographic box whose western edge lies east of its eastern edge crosses the antimeridian: two boxes."""
    parts = text.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    counts = (4, 6) if crs.epsg is None else (4,)
    if len(numbers) not in counts or not all(math.isfinite(n) for n in numbers):
        raise bad_parameter("bbox", f"须为四个数（{crs.label} 坐标轴顺序）/ must be four numbers, lower corner then "
                                    f"upper corner in the axis order of {crs.label}"
                                    + (" (six with heights)" if crs.epsg is None else ""))
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if crs.first_axis_north:  # lower corner (north, east), upper corner (north, east)
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    west, south, east, north = numbers
    if crs.projected:
        return _projected_box(west, south, east, north, crs)
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
        raise bad_parameter("bbox", "经度须在 ±180、纬度须在 ±90 之内 / longitudes lie within ±180, latitudes within ±90")
    if south > north:
        raise bad_parameter("bbox", "南边界不得大于北边界 / the southern edge must not lie north of the northern edge")
    if west > east:
        return ((west, south, 180.0, north), (-180.0, south, east, north)), None
    return ((west, south, east, north),), None


def _projected_box(west: float, south: float, east: float, north: float, crs: OutputCrs):
    if west > east or south > north:
        raise bad_parameter("bbox", "下角不得大于上角 / the lower corner must not exceed the upper corner")
    # Only the zone's own strip has a meaning (and far from its meridian the back-projection wraps round
    # the globe): a box reaching beyond it, as a GIS zoomed right out sends, is cut to the strip.
    strip = _zone_strip(crs)
    shape = _box_shape((west, south, east, north)).intersection(strip)
    if shape.is_empty:  # most likely easting and northing swapped
        raise bad_parameter("bbox", f"不在 {crs.label} 的适用范围内 / lies outside the strip {crs.label} describes "
                                    f"(northing first, then easting)")
    west, south, east, north = shape.bounds
    try:
        step = max((east - west + north - south) / 40, 1.0)
        outline = geometry_to_cgcs2000(shapely.segmentize(shape, step), parse_crs(crs.epsg))
        bounds = [float(v) for v in shapely.bounds(outline)]
    except shapely.errors.GEOSException:  # so large that GEOS cannot densify its edges
        bounds = [math.inf]
    if not all(math.isfinite(v) for v in bounds) or not (-180 <= bounds[0] <= bounds[2] <= 180
                                                         and -90 <= bounds[1] <= bounds[3] <= 90):
        raise bad_parameter("bbox", f"超出 {crs.label} 的适用范围 / lies outside the area {crs.label} can describe")
    return (tuple(bounds),), outline


# How far east or west of its central meridian a 3° zone's numbers are served. A zone is drawn for
# ±1.5°, but a province-wide layer in one zone is common practice (Jilin spans 121.6–131.3°E: ±5° of
# 126°E) and PROJ's transverse Mercator stays exact far out; the scale grows (about 1 % at 10° and
# 43°N). Beyond it the numbers mean nothing and the back-projection of a box wraps round the globe.
ZONE_REACH_DEG = 10.0


def zone_meridian(crs: OutputCrs) -> float:
    """The central meridian of a CGCS2000 3° Gauss–Krüger zone of GAUSS_KRUGER_ZONES (EPSG:4534: 75°E)."""
    return 75.0 + 3.0 * (crs.epsg - GAUSS_KRUGER_ZONES.start)


def _zone_strip(crs: OutputCrs):
    """The zone's meridian ± ZONE_REACH_DEG, latitudes 0–60°N (China), in the zone's easting/northing."""
    meridian = zone_meridian(crs)
    strip = shapely.segmentize(shapely.box(meridian - ZONE_REACH_DEG, 0.0, meridian + ZONE_REACH_DEG, 60.0), 0.25)
    return geometry_from_cgcs2000(strip, parse_crs(crs.epsg))


def _box_shape(box: Box):
    """A box as a polygon, or a line or a point when it has no width or height (a degenerate polygon
    gets different answers from SpatiaLite's prepared geometries)."""
    west, south, east, north = (float(v) for v in box)
    if west < east and south < north:
        return shapely.box(west, south, east, north)
    if (west, south) != (east, north):
        return shapely.LineString([(west, south), (east, north)])
    return shapely.Point(west, south)

# -- a page -------------------------------------------------------------------------------------


@dataclass
class Page:
    features: list[dict]
    number_matched: int


def feature(feature_id: str, geometry, properties: dict) -> dict:
    return {
        "type": "Feature",
        "id": feature_id,
        "geometry": mapping(geometry) if geometry is not None else None,
        "properties": properties,
    }


def features(ids: list[str], geometries: list, properties: list[dict], crs: OutputCrs) -> list[dict]:
    """GeoJSON features, their stored geometries put into `crs` all at once (one PROJ call a page)."""
    present = [i for i, g in enumerate(geometries) if g is not None]
    if present and crs.epsg is not None:
        moved = to_output(np.array([geometries[i] for i in present], dtype=object), crs)
        geometries = list(geometries)
        for i, geometry in zip(present, moved):
            geometries[i] = geometry
    return [feature(i, g, p) for i, g, p in zip(ids, geometries, properties)]


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def time_stamp() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _shape_in_sql(shape):
    return sa.func.ST_GeomFromText(shapely.to_wkt(shape, rounding_precision=-1), STORAGE_EPSG)


def _spatial_filter(column, query: ItemsQuery) -> sa.ColumnElement[bool]:
    """The geometries in `column` that meet the query's bbox (its exact outline when it was projected)."""
    condition = sa.or_(*[sa.func.ST_Intersects(column, _shape_in_sql(_box_shape(b))) for b in query.boxes])
    if query.outline is not None:
        condition = sa.and_(condition, sa.func.ST_Intersects(column, _shape_in_sql(query.outline)))
    return condition


# -- grids: the current network from the in-memory index (one SQL query per page for what it does
# -- not hold); the versions of another moment or interval from SQL ------------------------------


_VERSION_ID = re.compile(r"(\d{15})-v([1-9]\d{0,8})")


def grid_feature_id(code: str, version: int, valid_to: datetime | None) -> str:
    """The current version of a grid is its code; a retired one is `<code>-v<version>` (it never changes)."""
    return code if valid_to is None else f"{code}-v{version}"


def _grid_properties(index: GridIndex, village_code: str, row: GridCell | None, **cell) -> dict:
    village, township, _ = index.hierarchy(village_code)
    return {
        **cell,
        "village_code": village_code,
        "village_name": village.name if village else None,
        "township_code": township.code if township else None,
        "domains": list(row.domains) if row is not None else None,
        "households": row.households if row is not None else None,
        "population": row.population if row is not None else None,
        "version": row.version if row is not None else None,
        "valid_from": _iso(row.valid_from) if row is not None else None,
        "valid_to": _iso(row.valid_to) if row is not None else None,
    }


def _indexed_properties(index: GridIndex, position: int, row: GridCell | None) -> dict:
    cell = index.cells[position]
    return _grid_properties(index, cell.village_code, row, code=cell.code, name=cell.name, kind=cell.kind,
                            special_type=cell.special_type)


def _stored_properties(index: GridIndex, row: GridCell) -> dict:
    return _grid_properties(index, row.village_code, row, code=row.code, name=row.name, kind=row.kind,
                            special_type=row.special_type)


def grid_positions(index: GridIndex, query: ItemsQuery) -> list[int]:
    """Positions in the index of the matching cells, by code (the index holds them by code)."""
    if not query.has_bbox:
        return list(range(len(index)))
    hits: set[int] = set()
    for west, south, east, north in query.boxes:
        hits.update(index.cells_in_bbox(west, south, east, north))
    if query.outline is not None:
        hits = {i for i in hits if shapely.intersects(index.geometry(i), query.outline)}
    return sorted(hits, key=lambda i: index.cells[i].code)


def grid_page(session: Session, index: GridIndex, query: ItemsQuery) -> Page:
    if query.period is not None:
        return _grid_versions_page(session, index, query)
    positions = grid_positions(index, query)
    chosen = positions[query.offset:query.offset + query.limit]
    codes = [index.cells[i].code for i in chosen]
    rows = {}
    if codes:
        rows = {row.code: row for row in session.scalars(
            sa.select(GridCell).where(GridCell.valid_to.is_(None), GridCell.code.in_(codes))
            .options(defer(GridCell.boundary)))}
    return Page(features(codes, [index.geometry(i) for i in chosen],
                         [_indexed_properties(index, i, rows.get(index.cells[i].code)) for i in chosen], query.crs),
                len(positions))


def _validity_filter(period: Period) -> sa.ColumnElement[bool]:
    """Versions whose validity [valid_from, valid_to) meets the instant or the closed interval."""
    condition = sa.true()
    if period.end is not None:
        condition = sa.and_(condition, GridCell.valid_from <= period.end)
    if period.start is not None:
        condition = sa.and_(condition, sa.or_(GridCell.valid_to.is_(None), GridCell.valid_to > period.start))
    return condition


def _grid_versions_page(session: Session, index: GridIndex, query: ItemsQuery) -> Page:
    condition = _validity_filter(query.period)
    if query.has_bbox:
        condition = sa.and_(condition, _spatial_filter(GridCell.boundary, query))
    matched = session.scalar(sa.select(sa.func.count()).select_from(GridCell).where(condition)) or 0
    rows = list(session.scalars(sa.select(GridCell).where(condition).order_by(GridCell.code, GridCell.version)
                                .offset(query.offset).limit(query.limit)))
    return Page(features([grid_feature_id(r.code, r.version, r.valid_to) for r in rows],
                         [to_shape(r.boundary) for r in rows], [_stored_properties(index, r) for r in rows], query.crs),
                matched)


def grid_item(session: Session, index: GridIndex, feature_id: str, crs: OutputCrs = DEFAULT_CRS) -> dict:
    """The current grid `<code>`, or the retired version `<code>-v<version>`."""
    if is_grid_code(feature_id):
        cell = cell_at(session, feature_id)
        position = index.position_of(feature_id)
        if cell is None or position is None:
            raise not_found(f"网格 {feature_id} 不存在 / no current grid {feature_id}")
        return features([feature_id], [to_shape(cell.boundary)], [_indexed_properties(index, position, cell)], crs)[0]
    match = _VERSION_ID.fullmatch(feature_id)
    if match is None:
        raise not_found(f"网格要素标识须为 15 位网格编码或 <编码>-v<版本> / a grid feature id is a 15-digit code or "
                        f"<code>-v<version>: {feature_id[:40]!r}")
    code, version = match.group(1), int(match.group(2))
    row = session.scalars(sa.select(GridCell).where(GridCell.code == code, GridCell.version == version)).first()
    if row is None:
        raise not_found(f"网格 {code} 没有第 {version} 版 / grid {code} has no version {version}")
    if row.valid_to is None:
        raise not_found(f"网格 {code} 第 {version} 版为现行版本，其标识为 {code} / version {version} of grid {code} is "
                        f"the current one: its feature id is {code}")
    return features([feature_id], [to_shape(row.boundary)], [_stored_properties(index, row)], crs)[0]


_extent_cache: dict[int, tuple[int, list[float] | None]] = {}


def grid_extent(index: GridIndex) -> list[float] | None:
    """The bounding box of the current network (cached per index)."""
    cached = _extent_cache.get(id(index))
    if cached is not None and cached[0] == index.revision:
        return cached[1]
    if not len(index):
        bounds = None
    else:
        geometries = np.array([index.geometry(i) for i in range(len(index))], dtype=object)
        bounds = [float(v) for v in shapely.total_bounds(geometries)]
    _extent_cache.clear()
    _extent_cache[id(index)] = (index.revision, bounds)
    return bounds


def grid_interval(session: Session) -> tuple[datetime | None, datetime | None] | None:
    """From the first version's valid_from to the last one's valid_to (open while any grid is current)."""
    first, last, current = session.execute(sa.select(
        sa.func.min(GridCell.valid_from), sa.func.max(GridCell.valid_to),
        sa.func.sum(sa.case((GridCell.valid_to.is_(None), 1), else_=0)))).one()
    if first is None:
        return None
    return as_utc(first), (None if current or last is None else as_utc(last))


# -- villages and townships: SQL -----------------------------------------------------------------


def _admin_filter(level: str, query: ItemsQuery) -> sa.ColumnElement[bool]:
    condition = AdminUnit.level == level
    if query.has_bbox:
        condition = sa.and_(condition, AdminUnit.boundary.is_not(None), _spatial_filter(AdminUnit.boundary, query))
    return condition


def _admin_properties(unit: AdminUnit, parent_names: Mapping[str, str]) -> dict:
    return {"code": unit.code, "name": unit.name, "level": unit.level, "parent_code": unit.parent_code,
            "parent_name": parent_names.get(unit.parent_code) if unit.parent_code else None}


def _admin_features(units: list[AdminUnit], parent_names: Mapping[str, str], crs: OutputCrs) -> list[dict]:
    return features([u.code for u in units], [to_shape(u.boundary) if u.boundary is not None else None for u in units],
                    [_admin_properties(u, parent_names) for u in units], crs)


def _parent_names(session: Session, units: list[AdminUnit]) -> dict[str, str]:
    parents = sorted({u.parent_code for u in units if u.parent_code})
    if not parents:
        return {}
    return dict(session.execute(sa.select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(parents))).all())


def admin_page(session: Session, level: str, query: ItemsQuery) -> Page:
    """Villages or townships. They carry no time (their boundaries are not versioned): `datetime` is
    checked and selects them all (a choice, docs/ogc-api.md: Part 1 would select none)."""
    condition = _admin_filter(level, query)
    matched = session.scalar(sa.select(sa.func.count()).select_from(AdminUnit).where(condition)) or 0
    units = list(session.scalars(sa.select(AdminUnit).where(condition).order_by(AdminUnit.code)
                                 .offset(query.offset).limit(query.limit)))
    return Page(_admin_features(units, _parent_names(session, units), query.crs), matched)


def admin_item(session: Session, level: str, code: str, crs: OutputCrs = DEFAULT_CRS) -> dict:
    unit = session.get(AdminUnit, code) if code.isascii() and code.isdigit() and len(code) == 12 else None
    if unit is None or unit.level != level:
        raise not_found(f"{level} {code[:40]!r} 不存在 / no {level} {code[:40]!r}")
    return _admin_features([unit], _parent_names(session, [unit]), crs)[0]


def admin_extent(session: Session, level: str) -> list[float] | None:
    rows = session.execute(sa.select(sa.func.ST_AsBinary(sa.func.ST_Envelope(AdminUnit.boundary)))
                           .where(AdminUnit.level == level, AdminUnit.boundary.is_not(None))).all()
    if not rows:
        return None
    envelopes = shapely.from_wkb(np.array([bytes(r[0]) for r in rows], dtype=object))
    return [float(v) for v in shapely.total_bounds(envelopes)]


# -- cases: SQL, only what the caller may see -----------------------------------------------------


def _case_filter(session: Session, user: User, query: ItemsQuery) -> sa.ColumnElement[bool]:
    condition = visible_to(session, user)
    if query.has_bbox:
        inside = [sa.and_(Case.lon.between(w, e), Case.lat.between(s, n)) for w, s, e, n in query.boxes]
        condition = sa.and_(condition, sa.or_(*inside))
        if query.outline is not None:
            condition = sa.and_(condition, sa.func.ST_Intersects(Case.location, _shape_in_sql(query.outline)))
    period = query.period
    if period is not None and period.instant:
        condition = sa.and_(condition, Case.received_at == period.start)
    elif period is not None:
        if period.start is not None:
            condition = sa.and_(condition, Case.received_at >= period.start)
        if period.end is not None:
            condition = sa.and_(condition, Case.received_at <= period.end)
    return condition


def _case_features(cases: list[Case], crs: OutputCrs) -> list[dict]:
    return features([c.tracking_no for c in cases], [shapely.Point(c.lon, c.lat) for c in cases], [{
        "tracking_no": c.tracking_no,
        "status": c.status,
        "category": c.category_code,
        "received_at": _iso(c.received_at),
        "grid": c.grid_code,
        "township_code": c.township_code,
    } for c in cases], crs)


def case_page(session: Session, user: User, query: ItemsQuery) -> Page:
    condition = _case_filter(session, user, query)
    matched = session.scalar(sa.select(sa.func.count()).select_from(Case).where(condition)) or 0
    cases = list(session.scalars(sa.select(Case).where(condition).order_by(Case.id).offset(query.offset)
                                 .limit(query.limit)))
    return Page(_case_features(cases, query.crs), matched)


def case_item(session: Session, user: User, tracking_no: str, crs: OutputCrs = DEFAULT_CRS) -> dict:
    case = session.scalars(sa.select(Case).where(Case.tracking_no == tracking_no[:24],
                                                 visible_to(session, user))).first()
    if case is None:  # also another jurisdiction's case: not found, as under /api/v1/cases
        raise not_found(f"案件 {tracking_no[:40]!r} 不存在 / no case {tracking_no[:40]!r}")
    return _case_features([case], crs)[0]


def case_extent(session: Session, user: User) -> "Extent":
    row = session.execute(sa.select(sa.func.min(Case.lon), sa.func.min(Case.lat), sa.func.max(Case.lon),
                                    sa.func.max(Case.lat), sa.func.min(Case.received_at),
                                    sa.func.max(Case.received_at)).where(visible_to(session, user))).one()
    if row[0] is None:
        return Extent(None)
    return Extent([float(v) for v in row[:4]], (as_utc(row[4]), as_utc(row[5])))


# -- the collections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    signed_in_only: bool = False
    temporal: str | None = None  # what `datetime` selects on, for the documents


@dataclass(frozen=True)
class Extent:
    bbox: list[float] | None  # CRS84 (the stored CGCS2000 numbers)
    interval: tuple[datetime | None, datetime | None] | None = None


COLLECTIONS = {
    "grids": Collection("grids", "网格 / Grid cells",
                        "现行网格（基础网格与专属网格），要素标识为 15 位网格编码；datetime 参数取某时刻或时段内有效的各版本 "
                        "（已停用版本的标识为 <编码>-v<版本>）/ the current grid cells (base and special), identified by "
                        "their 15-digit codes; with datetime, every version valid at that instant or within that "
                        "interval (a retired version is identified as <code>-v<version>)",
                        temporal="valid_from/valid_to"),
    "villages": Collection("villages", "村（社区） / Villages",
                           "村级区划及其边界，要素标识为 12 位统计用区划代码 / villages and their boundaries, "
                           "identified by their 12-digit area codes"),
    "townships": Collection("townships", "乡镇（街道） / Townships",
                            "乡级区划及其边界，要素标识为 12 位统计用区划代码 / townships and their boundaries, "
                            "identified by their 12-digit area codes"),
    "cases": Collection("cases", "案件 / Cases",
                        "登录用户可见的案件（点），要素标识为查询编号；需 Authorization: Bearer 令牌；datetime 按受理时间 "
                        "/ the cases the signed-in caller may see, as points, identified by their tracking numbers; "
                        "needs Authorization: Bearer <token>; datetime selects on received_at",
                        signed_in_only=True, temporal="received_at"),
}


def collection_document(collection: Collection, extent: Extent, link: Callable[..., str]) -> dict:
    """One collection's description; `link(endpoint, **values)` makes an absolute URL."""
    document = {
        "id": collection.id,
        "title": collection.title,
        "description": f"{collection.description}. {CRS_NOTE}",
        "itemType": "feature",
        "crs": list(SUPPORTED_CRS),
        "storageCrs": STORAGE_CRS,
        "links": [
            {"rel": "self", "type": "application/json", "title": "this collection",
             "href": link("ogc_api.collection", collection_id=collection.id)},
            {"rel": "items", "type": "application/geo+json", "title": "the features (GeoJSON)",
             "href": link("ogc_api.items", collection_id=collection.id)},
        ],
    }
    spans = {}
    if extent.bbox is not None:
        spans["spatial"] = {"bbox": [extent.bbox], "crs": CRS84}
    if extent.interval is not None:
        spans["temporal"] = {"interval": [[iso_z(extent.interval[0]), iso_z(extent.interval[1])]], "trs": GREGORIAN}
    if spans:
        document["extent"] = spans
    return document


def paging_links(page: Page, query: ItemsQuery, link: Callable[..., str], collection_id: str) -> list[dict]:
    """self, and next/prev where there is such a page; every link repeats the query."""

    def href(offset: int) -> str:
        return link("ogc_api.items", collection_id=collection_id, limit=query.limit, offset=offset, **query.texts)

    links = [{"rel": "self", "type": "application/geo+json", "title": "this page", "href": href(query.offset)},
             {"rel": "collection", "type": "application/json", "title": "the collection",
              "href": link("ogc_api.collection", collection_id=collection_id)}]
    if query.offset + len(page.features) < page.number_matched:
        links.append({"rel": "next", "type": "application/geo+json", "title": "the next page",
                      "href": href(query.offset + query.limit)})
    if query.offset > 0:
        links.append({"rel": "prev", "type": "application/geo+json", "title": "the previous page",
                      "href": href(max(0, min(query.offset, page.number_matched) - query.limit))})
    return links


def feature_collection(page: Page, links: list[dict]) -> dict:
    return {
        "type": "FeatureCollection",
        "numberMatched": page.number_matched,
        "numberReturned": len(page.features),
        "timeStamp": time_stamp(),
        "links": links,
        "features": page.features,
    }
