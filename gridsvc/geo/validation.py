"""Check a grid network before it is imported: "镇村一张网", one seamless net per township.

The network only works if every point of a township belongs to exactly one
base grid, each base grid stays inside its village, and special grids
(schools, markets, enterprises) stay inside the township. A report routed by
point-in-polygon to two grids, or to none, reaches the wrong worker or nobody,
so the whole file is checked at once and every problem is reported with its
place (a geometry to draw) and its size.

Sizes and tolerances are in square metres, never square degrees: every
township is projected once into its Gauss–Krüger zone (`metric.to_zone`, one
reference longitude for the township, its villages and its grids) and all
overlays happen there. A tolerance of 1 m² thus means 1 m² in every province.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, mapping
from shapely.geometry.base import BaseGeometry

from gridsvc.geo.grid_records import GridRecord, is_grid_code
from gridsvc.geo.metric import from_zone, gauss_kruger_epsg, to_zone

SEVERITY = {
    "invalid_geometry": "error",
    "repaired_geometry": "warning",
    "overlap": "error",
    "gap": "warning",
    "outside_village": "error",
    "outside_township": "error",
    "duplicate_code": "error",
    "malformed_code": "error",
    "no_village": "error",
    "unknown_village": "error",
    "bad_kind": "error",
}
KIND_NAMES_ZH = {
    "invalid_geometry": "几何无效",
    "repaired_geometry": "几何已修复",
    "overlap": "网格重叠",
    "gap": "未覆盖空隙",
    "outside_village": "超出村界",
    "outside_township": "超出乡镇界",
    "duplicate_code": "编码重复",
    "malformed_code": "编码不规范",
    "no_village": "缺少村编码",
    "unknown_village": "未知村",
    "bad_kind": "类型无法识别",
}
SEVERITY_NAMES_ZH = {"error": "错误", "warning": "警告"}

# GEOS explains invalidity in English, e.g. "Self-intersection[125.1 43.2]".
_REASONS_ZH = {
    "Self-intersection": "自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points": "顶点过少",
    "Hole lies outside shell": "内环位于外环之外",
    "Interior is disconnected": "内部不连通",
    "Nested holes": "内环嵌套",
    "Nested shells": "外环嵌套",
    "Duplicate Rings": "重复的环",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_REASON = re.compile(rf"^(?P<text>[^\[]*)(?:\[(?P<x>{_NUMBER})\s+(?P<y>{_NUMBER})\])?")
_POLYGON_TYPE_ID = 3


@dataclass(frozen=True)
class AdminArea:
    """A township or village boundary known to the database."""

    code: str  # 12 digits
    name: str
    level: str  # 'township' | 'village'
    parent_code: str | None  # village -> its township's code
    geometry: BaseGeometry  # CGCS2000 (EPSG:4490) lon/lat


@dataclass(frozen=True)
class Issue:
    """One problem found in the file: what, how bad, which grids, where and how large."""

    kind: str
    severity: str
    township_code: str | None
    grid_codes: tuple[str, ...]
    message: str
    area_m2: float | None = None
    geometry: BaseGeometry | None = None  # CGCS2000

    def properties(self) -> dict:
        """The issue's attributes as plain JSON values (everything but the shape)."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "township_code": self.township_code,
            "grid_codes": list(self.grid_codes),
            "message": self.message,
            "area_m2": None if self.area_m2 is None else round(self.area_m2, 2),
        }


def _issue(kind: str, township_code: str | None, grid_codes: tuple[str, ...], message: str,
           area_m2: float | None = None, geometry: BaseGeometry | None = None) -> Issue:
    """An Issue whose severity follows from its kind, so no check can get it wrong."""
    return Issue(kind, SEVERITY[kind], township_code, grid_codes, message,
                 None if area_m2 is None else float(area_m2), geometry)


@dataclass
class ValidationReport:
    """The outcome of `validate_grids`: repaired records and every issue found.

    `township_names` is filled by `validate_grids` so reports can say 齐家镇
    rather than only 220112100000; it may be left empty.
    """

    records: list[GridRecord]
    issues: list[Issue]
    township_names: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import (warnings are for the GIS office to judge)."""
        return not self.errors

    def by_township(self) -> dict[str | None, list[Issue]]:
        """Issues grouped by township code, townships in code order, unplaced ones (None) last."""
        grouped: dict[str | None, list[Issue]] = defaultdict(list)
        for issue in self.issues:
            grouped[issue.township_code].append(issue)
        return {code: grouped[code] for code in sorted(grouped, key=lambda c: (c is None, c or ""))}

    def to_json(self) -> dict:
        """Counts per township and kind, plus every issue with its shape as WKT."""
        return {
            "ok": self.ok,
            "grid_count": len(self.records),
            "error_count": len(self.errors),
            "warning_count": len(self.warnings),
            "townships": [
                {
                    "township_code": code,
                    "township_name": self.township_names.get(code),
                    **_counts(issues),
                    "kinds": dict(Counter(i.kind for i in issues)),
                }
                for code, issues in self.by_township().items()
            ],
            "issues": [
                {**i.properties(), "wkt": None if i.geometry is None else i.geometry.wkt} for i in self.issues
            ],
        }

    def to_geojson(self) -> dict:
        """Issues with a place, as a CGCS2000 lon/lat FeatureCollection to draw over the grids."""
        return {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": mapping(i.geometry), "properties": i.properties()}
                for i in self.issues
                if i.geometry is not None
            ],
        }

    def format_text(self) -> str:
        """A terminal report: one block per township, one line per issue, a verdict at the end."""
        lines = []
        for code, issues in self.by_township().items():
            counts = _counts(issues)
            lines.append(f"{self._township_title(code)}：{counts['errors']} 个错误，{counts['warnings']} 个警告")
            lines.extend(
                f"  [{SEVERITY_NAMES_ZH[i.severity]}] {KIND_NAMES_ZH[i.kind]}：{i.message}" for i in issues
            )
        verdict = "校验通过" if self.ok else "校验未通过，请修正错误后重新导入"
        lines.append(
            f"合计：{len(self.records)} 个网格，{len(self.errors)} 个错误，{len(self.warnings)} 个警告，{verdict}。"
        )
        return "\n".join(lines)

    def _township_title(self, code: str | None) -> str:
        if code is None:
            return "未能确定所属乡镇"
        name = self.township_names.get(code)
        return f"乡镇 {code} {name}" if name else f"乡镇 {code}"


def _counts(issues: list[Issue]) -> dict[str, int]:
    severities = Counter(i.severity for i in issues)
    return {"errors": severities["error"], "warnings": severities["warning"]}


def validate_grids(
    records: Iterable[GridRecord],
    villages: Mapping[str, AdminArea],
    townships: Mapping[str, AdminArea],
    area_tolerance_m2: float = 1.0,
    progress: Callable[[int], None] | None = None,
) -> ValidationReport:
    """Check attributes, codes and geometry of every record, then the network per township.

    `villages` and `townships` are keyed by code. Overlaps, gaps and spills no
    larger than `area_tolerance_m2` are digitising noise and are not reported.
    `progress(1)` is called once per record during the per-record phase.
    """
    records = list(records)
    township_codes = [_township_of(r, villages) for r in records]
    checked: list[GridRecord] = []
    usable: list[bool] = []
    issues: list[Issue] = []
    for record, township_code in zip(records, township_codes):
        geometry, geometry_issues = _checked_geometry(record, township_code)
        checked.append(record if geometry is None else record.with_geometry(geometry))
        usable.append(geometry is not None)
        issues += geometry_issues
        issues += _attribute_issues(record, township_code, villages, _shown(checked[-1]))
        if progress is not None:
            progress(1)
    issues += _duplicate_issues(checked, township_codes, usable)
    issues += _network_issues(
        [r for r, ok in zip(checked, usable) if ok],
        [t for t, ok in zip(township_codes, usable) if ok],
        {t for t in township_codes if t in townships},
        villages,
        townships,
        area_tolerance_m2,
    )
    names = {code: townships[code].name for code in set(township_codes) if code in townships}
    return ValidationReport(checked, issues, names)


def _township_of(record: GridRecord, villages: Mapping[str, AdminArea]) -> str | None:
    village = villages.get(record.village_code) if record.village_code else None
    return village.parent_code if village else None


def _shown(record: GridRecord) -> BaseGeometry | None:
    """Where a code problem is drawn: the grid itself, if it has a shape at all."""
    geometry = record.geometry
    return None if geometry is None or geometry.is_empty else geometry


# --- per record --------------------------------------------------------------


def _checked_geometry(record: GridRecord, township_code: str | None) -> tuple[MultiPolygon | None, list[Issue]]:
    """The record's shape as a valid 2-D MultiPolygon (what storage holds), or None if unusable.

    An invalid polygon is repaired with `make_valid` and only its polygonal
    parts are kept: the lines and points make_valid may add have no area and
    cannot be a grid. The repair is reported, because a bow-tie drawn by
    mistake becomes two triangles the GIS office should look at.
    """
    geometry = record.geometry
    label = record.label
    problem = _unusable(geometry)
    if problem:
        return None, [_issue("invalid_geometry", township_code, (label,), f"网格 {label} {problem}",
                             geometry=_shown(record))]
    geometry = shapely.force_2d(geometry)
    if geometry.is_valid:
        return _polygonal(geometry), []
    reason, where = _parse_reason(shapely.is_valid_reason(geometry))
    repaired = _polygonal(shapely.make_valid(geometry))
    if repaired.is_empty:
        return None, [_issue("invalid_geometry", township_code, (label,),
                             f"网格 {label} 的几何图形无效（{reason}），修复后不剩任何面", geometry=where or geometry)]
    return repaired, [_issue("repaired_geometry", township_code, (label,),
                             f"网格 {label} 的几何图形无效（{reason}），已自动修复为 {len(repaired.geoms)} 个面，请核对",
                             geometry=where or repaired)]


def _unusable(geometry: BaseGeometry | None) -> str | None:
    if geometry is None:
        return "缺少几何图形"
    if geometry.is_empty:
        return "的几何图形为空"
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        return f"的几何类型为 {geometry.geom_type}，不是面"
    return None


def _parse_reason(reason: str) -> tuple[str, Point | None]:
    """GEOS's reason in Chinese, and the point it names ("Self-intersection[125.1 43.2]")."""
    match = _REASON.match(reason)
    text = match["text"].strip()
    where = Point(float(match["x"]), float(match["y"])) if match["x"] else None
    return _REASONS_ZH.get(text, text), where


def _polygonal(geometry: BaseGeometry) -> MultiPolygon:
    """The polygons inside any geometry (collections included), as one MultiPolygon."""
    if geometry.geom_type == "MultiPolygon":
        return geometry
    if geometry.geom_type == "Polygon":  # the common case, ten times faster than taking parts apart
        return MultiPolygon([geometry])
    parts = shapely.get_parts(shapely.get_parts(geometry))
    return MultiPolygon(list(parts[shapely.get_type_id(parts) == _POLYGON_TYPE_ID]))


def _attribute_issues(record: GridRecord, township_code: str | None, villages: Mapping[str, AdminArea],
                      where: BaseGeometry | None) -> list[Issue]:
    """Problems with the record's code, village and kind: each one stops the record being stored."""
    label = record.label
    found = []
    code_problem = _code_problem(record)
    if code_problem:
        found.append(("malformed_code", code_problem))
    if record.village_code is None:
        found.append(("no_village", f"网格 {label} 缺少所属村（社区）编码"))
    elif record.village_code not in villages:
        found.append(("unknown_village", f"网格 {label} 的村编码 {record.village_code} 不是已知的村（社区）"))
    if record.kind is None:
        found.append(("bad_kind", f"网格 {label} 的网格类型无法识别（应为基础网格或专属网格）"))
    return [_issue(kind, township_code, (label,), message, geometry=where) for kind, message in found]


def _code_problem(record: GridRecord) -> str | None:
    """Grid codes are the 12-digit village code plus a 3-digit sequence number."""
    code = record.code
    if code is None:
        return f"第 {record.source_row} 个要素缺少网格编码"
    if not is_grid_code(code):
        return f"网格编码 {code} 不是 15 位数字"
    if record.village_code and code[:12] != record.village_code:
        return f"网格编码 {code} 的前 12 位与所属村编码 {record.village_code} 不一致"
    return None


def _duplicate_issues(records: list[GridRecord], township_codes: list[str | None], usable: list[bool]) -> list[Issue]:
    """One error per repeated code, naming every feature that carries it."""
    rows: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        if record.code:
            rows[record.code].append(index)
    issues = []
    for code, indices in rows.items():
        if len(indices) < 2:
            continue
        shapes = [records[i].geometry for i in indices if usable[i]]
        features = "、".join(str(records[i].source_row) for i in indices)
        issues.append(_issue("duplicate_code", township_codes[indices[0]], (code,),
                             f"网格编码 {code} 重复出现 {len(indices)} 次（第 {features} 个要素）",
                             geometry=shapely.union_all(shapes) if shapes else None))
    return issues


# --- the network, in metres --------------------------------------------------


def _centre_lons(geometries) -> np.ndarray:
    bounds = shapely.bounds(np.asarray(geometries, dtype=object).reshape(-1))
    return (bounds[:, 0] + bounds[:, 2]) / 2.0


def _project(geometries: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Project each geometry into the GK zone of its reference lon: one vectorised call per zone."""
    zones = np.array([gauss_kruger_epsg(lon) for lon in lons], dtype=int)
    projected = np.empty(len(geometries), dtype=object)
    for zone in np.unique(zones):
        selected = zones == zone
        projected[selected] = to_zone(geometries[selected], float(lons[selected][0]))
    return projected


def _to_cgcs2000(metric_geometry: BaseGeometry, lon: float) -> MultiPolygon:
    """A metric overlay result back in CGCS2000, its slivers of lines and points dropped."""
    return from_zone(_polygonal(metric_geometry), lon)


class _Network:
    """The usable grids with the admin areas they need, all projected once into metres.

    A township, its villages and its grids share one reference longitude (the
    township's centre), hence one metric frame, so they overlay without
    reprojection. Grids whose village is unknown are measured around their
    own centre; only overlap pairs across a zone border are ever reprojected.
    """

    def __init__(self, records: list[GridRecord], township_codes: list[str | None], checked_townships: set[str],
                 villages: Mapping[str, AdminArea], townships: Mapping[str, AdminArea]):
        self.records = records
        self.villages = villages
        self.townships = townships
        self.township_codes = np.array(township_codes, dtype=object)
        self.is_base = np.array([r.kind == "base" for r in records], dtype=bool)
        self.is_special = np.array([r.kind == "special" for r in records], dtype=bool)
        self.geometries = np.array([r.geometry for r in records], dtype=object)
        self.checked_townships = sorted(checked_townships)
        self.township_lons = dict(zip(self.checked_townships,
                                      _centre_lons([townships[t].geometry for t in self.checked_townships])))
        own_lons = _centre_lons(self.geometries)
        self.lons = np.array([self._village_lon(villages[r.village_code]) if r.village_code in villages else own
                              for r, own in zip(records, own_lons)], dtype=float)
        self.zones = np.array([gauss_kruger_epsg(lon) for lon in self.lons], dtype=int)
        self.metric = _project(self.geometries, self.lons)
        village_codes = self._needed_villages()
        self.village_metric = _project_areas(villages, village_codes,
                                             [self._village_lon(villages[c]) for c in village_codes])
        self.township_metric = _project_areas(townships, self.checked_townships,
                                              [self.township_lons[t] for t in self.checked_townships])

    def _village_lon(self, village: AdminArea) -> float:
        if village.parent_code in self.township_lons:
            return self.township_lons[village.parent_code]
        return float(_centre_lons([village.geometry])[0])

    def _needed_villages(self) -> list[str]:
        """Villages of the grids (for spills) and of the checked townships (to name gaps)."""
        codes = {r.village_code for r in self.records if r.village_code in self.villages}
        codes.update(c for c, v in self.villages.items() if v.parent_code in self.township_lons)
        return sorted(codes)

    def label(self, index: int) -> str:
        return self.records[index].label


def _project_areas(areas: Mapping[str, AdminArea], codes: list[str], lons: list[float]) -> dict[str, BaseGeometry]:
    """Admin boundaries in metres, repaired first: one bad boundary must not abort a whole import."""
    if not codes:
        return {}
    geometries = np.array([_polygonal(shapely.make_valid(areas[c].geometry)) for c in codes], dtype=object)
    return dict(zip(codes, _project(geometries, np.array(lons, dtype=float))))


def _network_issues(records: list[GridRecord], township_codes: list[str | None], checked_townships: set[str],
                    villages: Mapping[str, AdminArea], townships: Mapping[str, AdminArea],
                    tolerance: float) -> list[Issue]:
    network = _Network(records, township_codes, checked_townships, villages, townships)
    return [
        *_overlap_issues(network, tolerance),
        *_outside_village_issues(network, tolerance),
        *_outside_township_issues(network, tolerance),
        *_gap_issues(network, tolerance),
    ]


def _overlap_issues(network: _Network, tolerance: float) -> list[Issue]:
    """Base grids sharing more than `tolerance` m²: a point there would be routed to two workers.

    The STRtree (in degrees) only proposes candidate pairs; the decision is the
    area of the intersection in metres.
    """
    base = np.flatnonzero(network.is_base)
    if len(base) < 2:
        return []
    left, right = shapely.STRtree(network.geometries[base]).query(network.geometries[base], predicate="intersects")
    pairs = left < right
    left, right = base[left[pairs]], base[right[pairs]]
    others = network.metric[right]
    cross = network.zones[left] != network.zones[right]
    if cross.any():
        others[cross] = _project(network.geometries[right[cross]], network.lons[left[cross]])
    shared = shapely.intersection(network.metric[left], others)
    areas = shapely.area(shared)
    return [
        _issue("overlap", network.township_codes[i], (network.label(i), network.label(j)),
               f"网格 {network.label(i)} 与 {network.label(j)} 重叠 {areas[k]:.1f} 平方米", areas[k],
               _to_cgcs2000(shared[k], network.lons[i]))
        for k, i, j in _above(areas, tolerance, left, right)
    ]


def _above(areas: np.ndarray, tolerance: float, *indices: np.ndarray):
    """(position, *indices) for each area above the tolerance; the rest never reaches Python."""
    hits = np.flatnonzero(areas > tolerance)
    return zip(hits, *(index[hits] for index in indices))


def _spill_issues(network: _Network, kind: str, selected: np.ndarray, containers: list[BaseGeometry],
                  describe: Callable[[int, float], str], tolerance: float) -> list[Issue]:
    """The parts of the selected grids that lie outside their containers, where larger than `tolerance`."""
    if len(selected) == 0:
        return []
    spilled = shapely.difference(network.metric[selected], np.array(containers, dtype=object))
    areas = shapely.area(spilled)
    return [
        _issue(kind, network.township_codes[i], (network.label(i),), describe(i, areas[k]), areas[k],
               _to_cgcs2000(spilled[k], network.lons[i]))
        for k, i in _above(areas, tolerance, selected)
    ]


def _outside_village_issues(network: _Network, tolerance: float) -> list[Issue]:
    """A base grid must lie inside its village: villages are the unit of responsibility above it."""
    selected = np.array([i for i in np.flatnonzero(network.is_base)
                         if network.records[i].village_code in network.village_metric], dtype=int)

    def describe(i: int, area: float) -> str:
        village = network.villages[network.records[i].village_code]
        return f"网格 {network.label(i)} 有 {area:.1f} 平方米超出所属村 {village.name}（{village.code}）边界"

    containers = [network.village_metric[network.records[i].village_code] for i in selected]
    return _spill_issues(network, "outside_village", selected, containers, describe, tolerance)


def _outside_township_issues(network: _Network, tolerance: float) -> list[Issue]:
    """A special grid may cross villages and base grids, but not leave its township."""
    selected = np.array([i for i in np.flatnonzero(network.is_special)
                         if network.township_codes[i] in network.township_metric], dtype=int)

    def describe(i: int, area: float) -> str:
        township = network.townships[network.township_codes[i]]
        return f"专属网格 {network.label(i)} 有 {area:.1f} 平方米超出所属乡镇 {township.name}（{township.code}）边界"

    containers = [network.township_metric[network.township_codes[i]] for i in selected]
    return _spill_issues(network, "outside_township", selected, containers, describe, tolerance)


def _gap_issues(network: _Network, tolerance: float) -> list[Issue]:
    """Parts of each township no base grid covers: reports from there would reach nobody."""
    villages_of = defaultdict(list)
    for code in network.village_metric:
        villages_of[network.villages[code].parent_code].append(code)
    base_grids_of = defaultdict(list)
    for i in np.flatnonzero(network.is_base):
        base_grids_of[network.township_codes[i]].append(i)
    issues = []
    for township_code in network.checked_townships:
        covered = shapely.union_all(network.metric[np.array(base_grids_of[township_code], dtype=int)])
        uncovered = shapely.get_parts(_polygonal(network.township_metric[township_code].difference(covered)))
        pieces = uncovered[shapely.area(uncovered) > tolerance]
        places = _gap_places(network, pieces, villages_of[township_code])
        lon = network.township_lons[township_code]
        issues += [
            _issue("gap", township_code, (),
                   f"乡镇 {township_code} 有 {piece.area:.1f} 平方米未被任何基础网格覆盖，{place}",
                   piece.area, from_zone(piece, lon))
            for piece, place in zip(pieces, places)
        ]
    return issues


# A gap drawn along a village border touches the neighbour village with a
# sliver of float noise; such a share does not make the gap "in" that village.
_NEGLIGIBLE_SHARE = 1e-3


def _gap_places(network: _Network, pieces: np.ndarray, village_codes: list[str]) -> list[str]:
    """For each gap piece, the villages it lies in, largest share first (ignoring boundary slivers)."""
    shares: list[list[tuple[float, str]]] = [[] for _ in pieces]
    if len(pieces) and village_codes:
        shapes = np.array([network.village_metric[c] for c in village_codes], dtype=object)
        piece_index, village_index = shapely.STRtree(shapes).query(pieces, predicate="intersects")
        areas = shapely.area(shapely.intersection(pieces[piece_index], shapes[village_index]))
        for p, v, area in zip(piece_index, village_index, areas):
            if area > _NEGLIGIBLE_SHARE * pieces[p].area:
                shares[p].append((area, village_codes[v]))
    return [_describe_places(network, sorted(s, reverse=True)) for s in shares]


def _describe_places(network: _Network, shares: list[tuple[float, str]]) -> str:
    if not shares:
        return "不在任何已知村（社区）界内"
    names = "、".join(f"{network.villages[code].name}（{code}）" for _, code in shares)
    return f"位于 {names}"
