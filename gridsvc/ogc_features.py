"""OGC API – Features (Part 1: Core, GeoJSON) over the grid network: the domain, as plain functions.

Collections:

- `grids`: the current grid cells (feature id: the 15-digit code), from the in-memory `GridIndex`
  for the geometry, the bbox filter and the paging, and one SQL query per page for the attributes
  the index does not hold (domains, households, population, valid_from);
- `villages`, `townships`: administrative units with their boundaries (feature id: the 12-digit
  code), from SQL;
- `cases`: the cases the signed-in caller may see (`case_access.visible_to`), as points (feature
  id: the tracking number), from SQL. Only with a bearer token.

Coordinates: storage is CGCS2000 (EPSG:4490), which agrees with WGS84 to a few centimetres. As
OGC API – Features Part 1 requires, every output and every `bbox` is longitude/latitude declared
as CRS84; the numbers are the stored CGCS2000 coordinates, untransformed. (Part 2, `crs` and
`bbox-crs`, is not served.)

Every page is bounded (`limit` at most `MAX_LIMIT`); every bad parameter is an `OgcError` (400),
an unknown collection or feature a 404.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Mapping

import numpy as np
import shapely
import sqlalchemy as sa
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy.orm import Session, defer

from gridsvc.case_access import visible_to
from gridsvc.geo.crs import STORAGE_EPSG
from gridsvc.geo.grid_records import is_grid_code
from gridsvc.geo.locate import GridIndex
from gridsvc.models import AdminUnit, Case, GridCell, User, as_utc
from gridsvc.network import cell_at

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000  # a larger `limit` (up to the spec's 10000) is served as this many, not an error
SCHEMA_MAX_LIMIT = 10000  # the limit parameter's maximum in Part 1's OpenAPI fragment: above it is a 400
MAX_OFFSET = 10**9
CRS_NOTE = ("坐标为 CGCS2000 (EPSG:4490) 经纬度，按 OGC API Features 第 1 部分声明为 CRS84，二者相差仅厘米级 / "
            "coordinates are CGCS2000 (EPSG:4490) longitude/latitude, declared as CRS84 as OGC API Features "
            "Part 1 requires; the two agree within centimetres")


class OgcError(Exception):
    """An OGC exception: `{"code", "description"}` with an HTTP status."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def bad_parameter(name: str, reason: str) -> OgcError:
    return OgcError(400, "InvalidParameterValue", f"参数 {name} 无效 / invalid {name}: {reason}")


def not_found(what: str) -> OgcError:
    return OgcError(404, "NotFound", what)


# -- the query ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemsQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # lon/lat boxes; two across the antimeridian
    bbox_text: str | None = None  # as given, for the paging links

    @property
    def has_bbox(self) -> bool:
        return bool(self.boxes)


ITEMS_PARAMETERS = frozenset({"limit", "offset", "bbox", "f"})


def parse_items_query(args: Mapping[str, str], known: frozenset[str] = ITEMS_PARAMETERS) -> ItemsQuery:
    """`limit`, `offset` and `bbox` as OGC API Features Part 1 defines them; a 400 for anything else."""
    unknown = sorted(set(args) - known)
    if unknown:
        raise OgcError(400, "InvalidParameterValue",
                       f"未知参数 / unknown query parameter(s): {', '.join(unknown)}; "
                       f"this service knows {', '.join(sorted(known))}")
    limit = _integer(args, "limit", DEFAULT_LIMIT, 1, SCHEMA_MAX_LIMIT)
    offset = _integer(args, "offset", 0, 0, MAX_OFFSET)
    text = args.get("bbox")
    boxes = parse_bbox(text) if text is not None else ()
    return ItemsQuery(min(limit, MAX_LIMIT), offset, boxes, text)


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


def parse_bbox(text: str) -> tuple[tuple[float, float, float, float], ...]:
    """`minlon,minlat,maxlon,maxlat` (or six numbers with heights, which are ignored) in CRS84.

    A box whose western edge lies east of its eastern edge crosses the antimeridian: two boxes."""
    parts = text.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise bad_parameter("bbox", "须为 minlon,minlat,maxlon,maxlat 四个数 / must be four numbers "
                                    "minlon,minlat,maxlon,maxlat (CRS84)")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    west, south, east, north = numbers
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
        raise bad_parameter("bbox", "经度须在 ±180、纬度须在 ±90 之内 / longitudes lie within ±180, latitudes within ±90")
    if south > north:
        raise bad_parameter("bbox", "南边界不得大于北边界 / the southern edge must not lie north of the northern edge")
    if west > east:
        return ((west, south, 180.0, north), (-180.0, south, east, north))
    return ((west, south, east, north),)


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


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def time_stamp() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- grids: the in-memory index, and one SQL query per page ------------------------------------


def _grid_properties(index: GridIndex, position: int, row: GridCell | None) -> dict:
    cell = index.cells[position]
    village, township, _ = index.hierarchy(cell.village_code)
    return {
        "code": cell.code,
        "name": cell.name,
        "kind": cell.kind,
        "special_type": cell.special_type,
        "village_code": cell.village_code,
        "village_name": village.name if village else None,
        "township_code": township.code if township else None,
        "domains": list(row.domains) if row is not None else None,
        "households": row.households if row is not None else None,
        "population": row.population if row is not None else None,
        "valid_from": _iso(row.valid_from) if row is not None else None,
    }


def grid_positions(index: GridIndex, query: ItemsQuery) -> list[int]:
    """Positions in the index of the matching cells, by code (the index holds them by code)."""
    if not query.has_bbox:
        return list(range(len(index)))
    hits: set[int] = set()
    for west, south, east, north in query.boxes:
        hits.update(index.cells_in_bbox(west, south, east, north))
    return sorted(hits, key=lambda i: index.cells[i].code)


def grid_page(session: Session, index: GridIndex, query: ItemsQuery) -> Page:
    positions = grid_positions(index, query)
    chosen = positions[query.offset:query.offset + query.limit]
    codes = [index.cells[i].code for i in chosen]
    rows = {}
    if codes:
        rows = {row.code: row for row in session.scalars(
            sa.select(GridCell).where(GridCell.valid_to.is_(None), GridCell.code.in_(codes))
            .options(defer(GridCell.boundary)))}
    features = [feature(index.cells[i].code, index.geometry(i),
                        _grid_properties(index, i, rows.get(index.cells[i].code))) for i in chosen]
    return Page(features, len(positions))


def grid_item(session: Session, index: GridIndex, code: str) -> dict:
    if not is_grid_code(code):
        raise not_found(f"网格编码须为 15 位数字 / a grid code has 15 digits: {code[:40]!r}")
    cell = cell_at(session, code)
    position = index.position_of(code)
    if cell is None or position is None:
        raise not_found(f"网格 {code} 不存在 / no current grid {code}")
    return feature(code, to_shape(cell.boundary), _grid_properties(index, position, cell))


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


# -- villages and townships: SQL -----------------------------------------------------------------


def _box_polygon(box: tuple[float, float, float, float]):
    """The box as the databases' geometry: a polygon, a line or a point when it has no width or
    height (a degenerate polygon gets different answers from SpatiaLite's prepared geometries)."""
    west, south, east, north = (float(v) for v in box)
    if west < east and south < north:
        shape = shapely.box(west, south, east, north)
    elif (west, south) != (east, north):
        shape = shapely.LineString([(west, south), (east, north)])
    else:
        shape = shapely.Point(west, south)
    return sa.func.ST_GeomFromText(shapely.to_wkt(shape, rounding_precision=-1), STORAGE_EPSG)


def _admin_filter(level: str, query: ItemsQuery) -> sa.ColumnElement[bool]:
    condition = AdminUnit.level == level
    if query.has_bbox:
        touches = [sa.func.ST_Intersects(AdminUnit.boundary, _box_polygon(b)) for b in query.boxes]
        condition = sa.and_(condition, AdminUnit.boundary.is_not(None), sa.or_(*touches))
    return condition


def _admin_properties(unit: AdminUnit, parent_names: Mapping[str, str]) -> dict:
    return {"code": unit.code, "name": unit.name, "level": unit.level, "parent_code": unit.parent_code,
            "parent_name": parent_names.get(unit.parent_code) if unit.parent_code else None}


def _admin_feature(unit: AdminUnit, parent_names: Mapping[str, str]) -> dict:
    geometry = to_shape(unit.boundary) if unit.boundary is not None else None
    return feature(unit.code, geometry, _admin_properties(unit, parent_names))


def _parent_names(session: Session, units: list[AdminUnit]) -> dict[str, str]:
    parents = sorted({u.parent_code for u in units if u.parent_code})
    if not parents:
        return {}
    return dict(session.execute(sa.select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(parents))).all())


def admin_page(session: Session, level: str, query: ItemsQuery) -> Page:
    condition = _admin_filter(level, query)
    matched = session.scalar(sa.select(sa.func.count()).select_from(AdminUnit).where(condition)) or 0
    units = list(session.scalars(sa.select(AdminUnit).where(condition).order_by(AdminUnit.code)
                                 .offset(query.offset).limit(query.limit)))
    names = _parent_names(session, units)
    return Page([_admin_feature(u, names) for u in units], matched)


def admin_item(session: Session, level: str, code: str) -> dict:
    unit = session.get(AdminUnit, code) if code.isascii() and code.isdigit() and len(code) == 12 else None
    if unit is None or unit.level != level:
        raise not_found(f"{level} {code[:40]!r} 不存在 / no {level} {code[:40]!r}")
    return _admin_feature(unit, _parent_names(session, [unit]))


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
    return condition


def _case_feature(case: Case) -> dict:
    return feature(case.tracking_no, shapely.Point(case.lon, case.lat), {
        "tracking_no": case.tracking_no,
        "status": case.status,
        "category": case.category_code,
        "received_at": _iso(case.received_at),
        "grid": case.grid_code,
        "township_code": case.township_code,
    })


def case_page(session: Session, user: User, query: ItemsQuery) -> Page:
    condition = _case_filter(session, user, query)
    matched = session.scalar(sa.select(sa.func.count()).select_from(Case).where(condition)) or 0
    cases = session.scalars(sa.select(Case).where(condition).order_by(Case.id).offset(query.offset)
                            .limit(query.limit))
    return Page([_case_feature(c) for c in cases], matched)


def case_item(session: Session, user: User, tracking_no: str) -> dict:
    case = session.scalars(sa.select(Case).where(Case.tracking_no == tracking_no[:24],
                                                 visible_to(session, user))).first()
    if case is None:  # also another jurisdiction's case: a 404, as under /api/v1/cases
        raise not_found(f"案件 {tracking_no[:40]!r} 不存在 / no case {tracking_no[:40]!r}")
    return _case_feature(case)


def case_extent(session: Session, user: User) -> list[float] | None:
    row = session.execute(sa.select(sa.func.min(Case.lon), sa.func.min(Case.lat), sa.func.max(Case.lon),
                                    sa.func.max(Case.lat)).where(visible_to(session, user))).one()
    return None if row[0] is None else [float(v) for v in row]


# -- the collections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    signed_in_only: bool = False


COLLECTIONS = {
    "grids": Collection("grids", "网格 / Grid cells",
                        "现行网格（基础网格与专属网格），要素标识为 15 位网格编码 / the current grid cells (base and "
                        "special), identified by their 15-digit codes"),
    "villages": Collection("villages", "村（社区） / Villages",
                           "村级区划及其边界，要素标识为 12 位统计用区划代码 / villages and their boundaries, "
                           "identified by their 12-digit area codes"),
    "townships": Collection("townships", "乡镇（街道） / Townships",
                            "乡级区划及其边界，要素标识为 12 位统计用区划代码 / townships and their boundaries, "
                            "identified by their 12-digit area codes"),
    "cases": Collection("cases", "案件 / Cases",
                        "登录用户可见的案件（点），要素标识为查询编号；需 Authorization: Bearer 令牌 / the cases the "
                        "signed-in caller may see, as points, identified by their tracking numbers; needs "
                        "Authorization: Bearer <token>", signed_in_only=True),
}


def collection_document(collection: Collection, extent: list[float] | None, link: Callable[..., str]) -> dict:
    """One collection's description; `link(endpoint, **values)` makes an absolute URL."""
    document = {
        "id": collection.id,
        "title": collection.title,
        "description": f"{collection.description}. {CRS_NOTE}",
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"rel": "self", "type": "application/json", "title": "this collection",
             "href": link("ogc_api.collection", collection_id=collection.id)},
            {"rel": "items", "type": "application/geo+json", "title": "the features (GeoJSON)",
             "href": link("ogc_api.items", collection_id=collection.id)},
        ],
    }
    if extent is not None:
        document["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return document


def paging_links(page: Page, query: ItemsQuery, link: Callable[..., str], collection_id: str) -> list[dict]:
    """self, and next/prev where there is such a page; every link repeats the query."""

    def href(offset: int) -> str:
        values = {"limit": query.limit, "offset": offset}
        if query.bbox_text is not None:
            values["bbox"] = query.bbox_text
        return link("ogc_api.items", collection_id=collection_id, **values)

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
