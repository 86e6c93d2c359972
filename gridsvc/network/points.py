"""Locating a point given in any datum, and the answer as the API and CLI show it.

The API and the CLI share these checks, so a point the one refuses the other
refuses too, for the same reason.
"""

from __future__ import annotations

import math

from gridsvc.geo.crs import InputCRS, check_lonlat, to_cgcs2000
from gridsvc.geo.locate import AdminInfo, CellInfo, GridIndex, LocateResult
from gridsvc.kernel.errors import DomainError


class PointError(DomainError, ValueError):
    """An input point that cannot be located; `field` names the offending input, the message says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason, field=field)


def storage_point(x: float, y: float, crs: InputCRS) -> tuple[float, float]:
    """The CGCS2000 lon/lat of an input point, or PointError saying what is wrong with it."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise PointError("lon" if not math.isfinite(x) else "lat", "coordinates must be finite numbers")
    if crs.is_geographic:
        _check(x, y)
    lon, lat = to_cgcs2000(x, y, crs)
    _check(lon, lat, f" after conversion from {crs}")
    return float(lon), float(lat)


def _check(lon: float, lat: float, suffix: str = "") -> None:
    try:
        check_lonlat(lon, lat)
    except ValueError as exc:
        field = "lat" if "latitude" in str(exc) else "lon"
        raise PointError(field, f"{exc}{suffix}") from exc


def check_accuracy(accuracy_m: float | None, limit_m: float) -> None:
    if accuracy_m is None:
        return
    if not math.isfinite(accuracy_m) or accuracy_m <= 0:
        raise PointError("accuracy", "accuracy must be a positive number of metres")
    if accuracy_m > limit_m:
        raise PointError("accuracy", f"accuracy must be at most {limit_m:g} m")


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
