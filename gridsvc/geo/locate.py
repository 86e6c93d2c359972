"""Which grid cell is this point in? An in-memory index over the current network.

The index holds every current cell as a prepared shapely geometry in a
shapely 2 STRtree (CGCS2000 degrees). Degrees are used only to pick
candidates; every decision about distance is made in metres in the point's
Gauss–Krüger zone (`gridsvc.geo.metric`).

How a point matches (`match`):

- `inside`: one base cell covers the point and no other base cell comes
  within the boundary tolerance.
- `boundary`: two or more base cells lie within the tolerance (the point is on
  or next to a shared edge). The deterministic rule: the cell whose interior
  contains the point wins; if none does (the point lies exactly on the edge),
  the nearest cell wins, and among equally near cells the lowest code. The
  other cells are listed in `others`.
- `nearest`: no base cell covers the point, but one lies within the
  nearest-cell distance (a road just outside a village edge). Same tie rule.
- `none`: nothing within that distance.

Special grids (专属网格) overlap base grids by design; they never decide the
match, but every special grid covering the point is listed. With an accuracy
radius, every cell (base or special) the accuracy circle touches is listed too.

The common case, a point well inside a cell, takes one tree query and one
prepared `contains` test of a small box: if a cell contains the box whose
half-width is the tolerance, no other cell can be within the tolerance.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridsvc.geo import metric


@dataclass(frozen=True)
class CellInfo:
    """What the index knows about a cell besides its shape."""

    code: str
    name: str
    kind: str
    village_code: str
    special_type: str | None = None


@dataclass(frozen=True)
class AdminInfo:
    code: str
    name: str
    level: str
    parent_code: str | None


@dataclass(frozen=True)
class CellDistance:
    cell: CellInfo
    distance_m: float


@dataclass(slots=True)
class LocateResult:
    """The answer for one point (lon/lat in CGCS2000)."""

    match: str
    lon: float
    lat: float
    grid: CellInfo | None = None
    distance_m: float | None = None  # from the point to the chosen cell (0 when covered)
    others: list[CellDistance] = field(default_factory=list)  # other cells within the tolerance
    special_grids: list[CellInfo] = field(default_factory=list)
    accuracy_m: float | None = None
    accuracy_cells: list[CellInfo] = field(default_factory=list)


def _one_thread_at_a_time(method):
    """Run the method under the index's lock: GEOS builds a prepared geometry's internals lazily, on
    its first predicate, and that is not thread-safe (libgeos/geos#825); two threads locating at
    once (Flask's threaded development server, threads in tests) crashed the process. The lock costs
    well under a microsecond; gunicorn's sync and gevent workers never wait on it."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class GridIndex:
    """An immutable spatial index of one version of the grid network.

    Build a new one when the network changes (see gridsvc.network.index); an index
    is never mutated, but its spatial queries run one thread at a time (see
    `_one_thread_at_a_time`).
    """

    def __init__(
        self,
        cells: Sequence[CellInfo],
        geometries: Sequence[BaseGeometry] | np.ndarray,
        admin: Mapping[str, AdminInfo] | None = None,
        boundary_tolerance_m: float = 1.0,
        nearest_max_distance_m: float = 200.0,
        revision: int = 0,
    ) -> None:
        geometries = np.asarray(geometries, dtype=object)
        kinds = np.array([c.kind for c in cells])
        base = np.flatnonzero(kinds == "base")
        special = np.flatnonzero(kinds == "special")
        self.cells = list(cells)
        self.admin = dict(admin or {})
        self.revision = revision
        self.boundary_tolerance_m = boundary_tolerance_m
        self.nearest_max_distance_m = nearest_max_distance_m
        self._base_positions, self._special_positions = base, special
        self._base_cells = [self.cells[i] for i in base]
        self._base_geoms = geometries[base]
        self._special_cells = [self.cells[i] for i in special]
        self._special_geoms = geometries[special]
        self._all_geoms = geometries
        shapely.prepare(geometries)
        self._base_tree = shapely.STRtree(self._base_geoms)
        self._special_tree = shapely.STRtree(self._special_geoms)
        self._by_code = {c.code: i for i, c in enumerate(self.cells)}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.cells)

    # -- locating -----------------------------------------------------------

    @_one_thread_at_a_time
    def locate(self, lon: float, lat: float, accuracy_m: float | None = None) -> LocateResult:
        """Locate one CGCS2000 point; see the module docstring for the rules."""
        result = self._locate_base(lon, lat)
        if self._special_cells or accuracy_m:
            point = shapely.Point(lon, lat)
            hits = self._special_tree.query(point, predicate="intersects")
            result.special_grids = sorted((self._special_cells[i] for i in hits), key=_code)
            if accuracy_m:
                result.accuracy_m = accuracy_m
                result.accuracy_cells = self.cells_within(point, accuracy_m)
        return result

    @_one_thread_at_a_time
    def locate_many(self, lons, lats) -> list[LocateResult]:
        """Locate many points; the clear-interior ones are decided in one vectorised pass."""
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        dlon, dlat = metric.degree_windows(lats, self.boundary_tolerance_m)
        boxes = shapely.box(lons - dlon, lats - dlat, lons + dlon, lats + dlat)
        point_idx, tree_idx = self._base_tree.query(boxes)
        inside = shapely.contains(self._base_geoms[tree_idx], boxes[point_idx])
        decided = dict(zip(point_idx[inside].tolist(), tree_idx[inside].tolist()))
        specials: dict[int, list[CellInfo]] = {}
        for i, j in zip(*self._special_tree.query(shapely.points(lons, lats), predicate="intersects").tolist()):
            specials.setdefault(i, []).append(self._special_cells[j])
        results = []
        for i, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist())):
            if i in decided:
                result = LocateResult("inside", lon, lat, self._base_cells[decided[i]], 0.0)
                result.special_grids = sorted(specials.get(i, ()), key=_code)
            else:
                result = self.locate(lon, lat)
            results.append(result)
        return results

    def _locate_base(self, lon: float, lat: float) -> LocateResult:
        dlon, dlat = metric.degree_window(lat, self.boundary_tolerance_m)
        tol_box = shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
        candidates = self._base_tree.query(tol_box)
        holds = candidates[shapely.contains(self._base_geoms[candidates], tol_box)]
        if len(holds):
            return LocateResult("inside", lon, lat, self._base_cells[holds[0]], 0.0)
        return self._decide_near_edges(lon, lat)

    def _decide_near_edges(self, lon: float, lat: float) -> LocateResult:
        """The slow path: measure in metres, first within the tolerance, then out to the nearest-cell reach."""
        point = shapely.Point(lon, lat)
        near, distances = self._measure(point, self.boundary_tolerance_m)
        within = [k for k in range(len(near)) if distances[k] <= self.boundary_tolerance_m]
        if within:
            interior = shapely.contains_xy(self._base_geoms[near[within]], lon, lat)
            order = sorted(
                range(len(within)),
                key=lambda j: (not interior[j], distances[within[j]], self._base_cells[near[within[j]]].code),
            )
            ranked = [(self._base_cells[near[within[j]]], float(distances[within[j]])) for j in order]
            chosen, distance = ranked[0]
            if len(ranked) >= 2:
                others = [CellDistance(cell, d) for cell, d in ranked[1:]]
                return LocateResult("boundary", lon, lat, chosen, distance, others)
            return LocateResult("inside" if distance == 0.0 else "nearest", lon, lat, chosen, distance)
        near, distances = self._measure(point, self.nearest_max_distance_m)
        if len(near) and distances.min() <= self.nearest_max_distance_m:
            best = min(range(len(near)), key=lambda k: (distances[k], self._base_cells[near[k]].code))
            return LocateResult("nearest", lon, lat, self._base_cells[near[best]], float(distances[best]))
        return LocateResult("none", lon, lat)

    def _measure(self, point: shapely.Point, reach_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Base cells whose boxes come within `reach_m` of the point, and their distances in metres."""
        dlon, dlat = metric.degree_window(point.y, reach_m)
        near = self._base_tree.query(shapely.box(point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat))
        if not len(near):
            return near, np.empty(0)
        return near, np.asarray(metric.distances_m(point, self._base_geoms[near]))

    @_one_thread_at_a_time
    def cells_within(self, point: BaseGeometry, radius_m: float) -> list[CellInfo]:
        """Every cell (base or special) that a circle of `radius_m` metres touches."""
        circle = metric.buffer_m(point, radius_m)
        return sorted((self.cells[i] for i in self._positions_intersecting(circle)), key=_code)

    @_one_thread_at_a_time
    def positions_holding(self, lons, lats) -> tuple[np.ndarray, np.ndarray]:
        """(point index, cell position) for every point in a base or special cell, edges included, in one
        vectorised pass: which cells many fixes fell in (a point on a shared edge is in both cells)."""
        points = shapely.points(np.column_stack([np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)]))
        base_points, base_cells = self._base_tree.query(points, predicate="intersects")
        special_points, special_cells = self._special_tree.query(points, predicate="intersects")
        return (np.concatenate([base_points, special_points]),
                np.concatenate([self._base_positions[base_cells], self._special_positions[special_cells]]))

    # -- browsing -----------------------------------------------------------

    @_one_thread_at_a_time
    def cells_in_bbox(self, minx: float, miny: float, maxx: float, maxy: float) -> list[int]:
        """Positions (in `cells`) of the cells that intersect a CGCS2000 bounding box."""
        hits = self._positions_intersecting(shapely.box(minx, miny, maxx, maxy))
        return sorted(hits, key=lambda i: self.cells[i].code)

    def _positions_intersecting(self, geom: BaseGeometry) -> list[int]:
        """Positions in `cells` of base and special cells intersecting `geom`."""
        base = self._base_positions[self._base_tree.query(geom, predicate="intersects")]
        special = self._special_positions[self._special_tree.query(geom, predicate="intersects")]
        return base.tolist() + special.tolist()

    def geometry(self, position: int) -> BaseGeometry:
        return self._all_geoms[position]

    def position_of(self, code: str) -> int | None:
        return self._by_code.get(code)

    def name_of(self, code: str) -> str | None:
        """The name of an administrative unit's or a grid's code, as the network stands; None if unknown."""
        if code in self.admin:
            return self.admin[code].name
        position = self._by_code.get(code)
        return self.cells[position].name if position is not None else None

    def hierarchy(self, village_code: str) -> tuple[AdminInfo | None, AdminInfo | None, AdminInfo | None]:
        """(village, township, county) of a village code."""
        village = self.admin.get(village_code)
        township = self.admin.get(village.parent_code) if village and village.parent_code else None
        county = self.admin.get(township.parent_code) if township and township.parent_code else None
        return village, township, county


def _code(cell: CellInfo) -> str:
    return cell.code
