"""What the command screen draws: the grid network of the signed-in user's area with its village and
township boundaries, and every visible open case as a compact row.

Everything comes out in the datum of the screen's base map (`crs`): GCJ-02 for AMap (高德) tiles,
CGCS2000 for 天地图 or for no base map at all. The shift happens here, once, in the same code that
converts every other output (gridsvc.geo.crs), so the browser never converts a coordinate.

Boundaries are simplified to 3 m in their Gauss–Krüger zone (`metric.for_drawing`), well below a
pixel at the zoom a township fills the screen. The grids' outlines are cached per network revision and datum
(the shapes are the same for every user, only the selection differs); the few village and township
outlines of one area are simplified per request.
"""

from __future__ import annotations

import threading

import numpy as np
import sqlalchemy as sa
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from gridsvc.accounts.users import Jurisdiction, area_prefix, jurisdiction_of
from gridsvc.cases import view
from gridsvc.cases.access import visible_to
from gridsvc.geo import metric
from gridsvc.geo.crs import InputCRS, from_cgcs2000, geometry_from_cgcs2000
from gridsvc.geo.locate import CellInfo, GridIndex
from gridsvc.kernel.models import OPEN_STATUSES, AdminUnit, Case, Department, GridCell, User
from gridsvc.network.store import current_cells_query

GRID_CARD_CASES = 50


def drawn_area(session: Session, user: User) -> Jurisdiction:
    """The part of the network a user's screen shows: their jurisdiction, or for a department's
    people (whose jurisdiction is the department, not a place) the area their department serves."""
    jurisdiction = jurisdiction_of(session, user)
    if jurisdiction.department_code is None:
        return jurisdiction
    department = session.get(Department, jurisdiction.department_code)
    unit = session.get(AdminUnit, department.admin_code) if department else None
    return Jurisdiction(area_prefix=area_prefix(unit.code, unit.level)) if unit else Jurisdiction()


def cells_in(area: Jurisdiction, index: GridIndex) -> list[tuple[int, CellInfo]]:
    """(position, cell) of every current cell inside `area`, by code."""
    found = [(i, c) for i, c in enumerate(index.cells) if area.covers_area(c.code)]
    return sorted(found, key=lambda item: item[1].code)


class OutlineCache:
    """The grids' simplified outlines of the current index, once in CGCS2000 and then converted per
    datum: {code: GeoJSON geometry}. A new index (network revision) starts afresh. Only the first
    `KEPT_DATUMS` datums asked for are kept (the base map's and one or two more); the API accepts any
    EPSG code, and a datum beyond those is converted for its request alone, outside the lock."""

    KEPT_DATUMS = 3

    def __init__(self):
        self._lock = threading.Lock()
        self._index_key: tuple[int, int] | None = None
        self._simplified = np.array([])
        self._by_datum: dict[object, dict[str, dict]] = {}

    def outlines(self, index: GridIndex, crs: InputCRS) -> dict[str, dict]:
        datum = crs.epsg or crs.name  # `cgcs2000` and `EPSG:4490` are one datum
        with self._lock:
            if self._index_key != (id(index), index.revision):
                self._simplified = np.array([metric.for_drawing(index.geometry(i)) for i in range(len(index))])
                self._by_datum = {}
                self._index_key = (id(index), index.revision)
            shapes, kept = self._simplified, self._by_datum.get(datum)
            if kept is None and len(self._by_datum) < self.KEPT_DATUMS:
                kept = self._by_datum[datum] = self._convert(index, shapes, crs)
        return kept if kept is not None else self._convert(index, shapes, crs)

    @staticmethod
    def _convert(index: GridIndex, shapes: np.ndarray, crs: InputCRS) -> dict[str, dict]:
        drawn = geometry_from_cgcs2000(shapes, crs) if len(shapes) else shapes
        return {cell.code: mapping(shape) for cell, shape in zip(index.cells, drawn)}


OUTLINES = OutlineCache()


def network_layers(session: Session, index: GridIndex, user: User, crs: InputCRS) -> dict:
    """The grids of the user's area with their domains, and the boundaries of their villages and
    townships, as three GeoJSON FeatureCollections in `crs`. (The screen counts each grid's open
    cases from `case_rows` itself, so its colours and markers never disagree.)"""
    area = drawn_area(session, user)
    cells = cells_in(area, index)
    details = {row.code: row for row in session.execute(_details_in(area))} if cells else {}
    outlines = OUTLINES.outlines(index, crs)
    grids, villages, townships = [], set(), set()
    for _, cell in cells:
        village, township, _ = index.hierarchy(cell.village_code)
        villages.add(cell.village_code)
        if township:
            townships.add(township.code)
        grids.append(_feature(cell.code, outlines[cell.code], {
            **_cell_facts(cell, details.get(cell.code)),
            "village_code": cell.village_code, "village_name": village.name if village else None,
            "township_code": township.code if township else None,
            "township_name": township.name if township else None,
        }))
    return {
        "crs": str(crs),
        "network_revision": index.revision,
        "grids": _collection(grids),
        "villages": _collection(_unit_features(session, villages, crs)),
        "townships": _collection(_unit_features(session, townships, crs)),
    }


def _details_in(area: Jurisdiction) -> sa.Select:
    """Domains and size of the current cells in `area`: by code prefix, not a list of thousands of codes."""
    query = current_cells_query().with_only_columns(GridCell.code, GridCell.domains, GridCell.households,
                                                    GridCell.population)
    if area.everywhere:
        return query
    if area.area_prefix is not None:
        return query.where(GridCell.code.startswith(area.area_prefix, autoescape=True))
    return query.where(GridCell.code.in_(sorted(area.grid_codes)))


def _cell_facts(cell: CellInfo, detail) -> dict:
    """What a grid's feature and its card say of the grid itself."""
    return {
        "name": cell.name, "kind": cell.kind, "special_type": cell.special_type,
        "domains": list(detail.domains) if detail else [],
        "households": detail.households if detail else None,
        "population": detail.population if detail else None,
    }


def _unit_features(session: Session, codes: set[str], crs: InputCRS) -> list[dict]:
    if not codes:
        return []
    units = list(session.scalars(sa.select(AdminUnit).where(AdminUnit.code.in_(sorted(codes)),
                                                            AdminUnit.boundary.is_not(None))
                                 .order_by(AdminUnit.code)))
    shapes = np.array([metric.for_drawing(to_shape(u.boundary)) for u in units])
    drawn = geometry_from_cgcs2000(shapes, crs) if len(shapes) else shapes
    # `label`: a point inside the outline, where the screen writes the unit's name (the centre of a
    # crescent-shaped township would lie in its neighbour)
    return [_feature(u.code, mapping(shape), {"name": u.name, "level": u.level,
                                              "label": list(shape.representative_point().coords[0])})
            for u, shape in zip(units, drawn)]


def _feature(code: str, geometry: dict, properties: dict) -> dict:
    return {"type": "Feature", "id": code, "geometry": geometry, "properties": {"code": code, **properties}}


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def case_rows(session: Session, user: User, crs: InputCRS, tracking_nos: tuple[str, ...] = ()) -> list[list]:
    """The user's visible open cases as the screen's rows (gridsvc.cases.view.screen_row), points in `crs`.

    With `tracking_nos`, those cases whatever their status (the ones the user may see): a screen
    that heard of a change asks for the changed cases and drops the ones that are now closed.
    """
    query = sa.select(*view.screen_row_columns()).where(visible_to(session, user))
    if tracking_nos:
        query = query.where(Case.tracking_no.in_(tracking_nos))
    else:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    rows = session.execute(query.order_by(Case.received_at, Case.id)).all()
    if not rows:
        return []
    lons, lats = from_cgcs2000(np.array([r.lon for r in rows]), np.array([r.lat for r in rows]), crs)
    return [view.screen_row(r, lon, lat) for r, lon, lat in zip(rows, np.atleast_1d(lons), np.atleast_1d(lats))]


def grid_card(session: Session, index: GridIndex, user: User, code: str) -> dict | None:
    """What a click on a grid shows: its code, names, domains and size, its grid workers, how many open
    cases it has and the first `GRID_CARD_CASES` of them (those the user may see, most overdue and
    oldest first). None outside the user's area."""
    position = index.position_of(code)
    if position is None or not drawn_area(session, user).covers_area(code):
        return None
    cell = index.cells[position]
    village, township, _ = index.hierarchy(cell.village_code)
    detail = session.execute(current_cells_query().where(GridCell.code == code)).scalar_one_or_none()
    workers = session.scalars(
        sa.select(User).where(User.role == "grid_worker", User.active.is_(True),
                              sa.cast(User.grid_codes, sa.Text).contains(f'"{code}"', autoescape=True))
        .order_by(User.name))
    open_here = (visible_to(session, user), Case.grid_code == code, Case.status.in_(OPEN_STATUSES))
    count = session.scalar(sa.select(sa.func.count()).select_from(Case).where(*open_here))
    cases = session.scalars(sa.select(Case).where(*open_here).order_by(Case.overdue_level.desc(), Case.received_at)
                            .limit(GRID_CARD_CASES))
    return {
        "code": cell.code,
        **_cell_facts(cell, detail),
        "village": {"code": village.code, "name": village.name} if village else None,
        "township": {"code": township.code, "name": township.name} if township else None,
        "grid_workers": [{"name": w.name, "phone": w.phone} for w in workers],
        "open_case_count": count,
        "open_cases": [view.card_row(c) for c in cases],
    }
