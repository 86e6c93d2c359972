"""Locating a point given in any datum, and the answer as the API and CLI show it."""

from __future__ import annotations

from gridsvc.geo.crs import InputCRS, to_cgcs2000
from gridsvc.geo.locate import AdminInfo, CellInfo, GridIndex, LocateResult


def locate(index: GridIndex, x: float, y: float, crs: InputCRS, accuracy_m: float | None = None) -> LocateResult:
    """Convert the point to CGCS2000, then locate it."""
    lon, lat = to_cgcs2000(x, y, crs)
    return index.locate(lon, lat, accuracy_m=accuracy_m)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _place(unit: AdminInfo | None) -> dict | None:
    return None if unit is None else {"code": unit.code, "name": unit.name}


def cell_summary(cell: CellInfo) -> dict:
    return {"code": cell.code, "name": cell.name, "kind": cell.kind, "special_type": cell.special_type}


def result_to_dict(index: GridIndex, result: LocateResult, x: float, y: float, crs: InputCRS) -> dict:
    """The JSON answer: the match, the chosen grid and its village, township and county."""
    village, township, county = index.hierarchy(result.grid.village_code) if result.grid else (None, None, None)
    answer = {
        "match": result.match,
        "input": {"lon": x, "lat": y, "crs": str(crs)},
        "point": {"lon": round(result.lon, 8), "lat": round(result.lat, 8), "crs": "EPSG:4490"},
        "grid": cell_summary(result.grid) if result.grid else None,
        "village": _place(village),
        "township": _place(township),
        "county": _place(county),
        "distance_m": _round(result.distance_m),
        "others": [{**cell_summary(o.cell), "distance_m": _round(o.distance_m)} for o in result.others],
        "special_grids": [cell_summary(c) for c in result.special_grids],
        "network_revision": index.revision,
    }
    if result.accuracy_m is not None:
        answer["accuracy_m"] = result.accuracy_m
        answer["accuracy_grids"] = [cell_summary(c) for c in result.accuracy_cells]
    return answer
