"""Datums and coordinate reference systems: every coordinate says where it is from.

Storage is CGCS2000 geographic (EPSG:4490). Input may be named by datum
(`wgs84`, `cgcs2000`, `gcj02`, `bd09`) or by any EPSG code (`EPSG:4549`,
`4326`), such as the CGCS2000 Gauss–Krüger zones in which GIS offices keep
their boundaries. The offset datums go through `chinese_offsets`; everything
with an EPSG code goes through pyproj.

WGS84 and CGCS2000 differ by centimetres, far below phone GPS accuracy, and
PROJ's transformation between them is a null (ballpark) one: that is the
documented, intended behaviour, not an omission.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gridsvc.geo import chinese_offsets

STORAGE_EPSG = 4490

OFFSET_DATUMS = ("gcj02", "bd09")
_NAMED_EPSG = {"wgs84": 4326, "cgcs2000": 4490}
_CONVERTIBLE_GEODETIC = (4490, 4326)  # CGCS2000, WGS84 (centimetres apart)


class UnknownCRSError(ValueError):
    """The named datum or CRS is not one the service understands."""


@dataclass(frozen=True)
class InputCRS:
    """A parsed datum name: either an offset datum or an EPSG code."""

    name: str
    epsg: int | None  # None for gcj02 / bd09, which have no EPSG code

    @property
    def is_offset_datum(self) -> bool:
        return self.epsg is None

    @property
    def is_geographic(self) -> bool:
        return self.epsg is None or _crs(self.epsg).is_geographic

    def __str__(self) -> str:
        return self.name


def parse_crs(value: str | int | None) -> InputCRS:
    """Parse `wgs84`, `cgcs2000`, `gcj02`, `bd09`, `EPSG:4549` or `4549`.

    Names are case-insensitive and `-`/`_` are ignored (`GCJ-02` is `gcj02`).
    """
    if value is None or str(value).strip() == "":
        raise UnknownCRSError("a datum is required: one of wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>")
    text = str(value).strip().lower().replace("-", "").replace("_", "")
    if text in OFFSET_DATUMS:
        return InputCRS(text, None)
    if text in _NAMED_EPSG:
        return InputCRS(text, _NAMED_EPSG[text])
    code = text[len("epsg:"):] if text.startswith("epsg:") else text
    # ASCII digits only: str.isdigit() also passes "¹" and other digits int() refuses, and thousands of
    # digits that int() refuses too; no EPSG code has more than 9.
    if not (code.isascii() and code.isdigit() and len(code) <= 9):
        raise UnknownCRSError(
            f"unknown datum {value!r}: use wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>"
        )
    epsg = int(code)
    try:
        crs = _crs(epsg)
    except CRSError as exc:
        raise UnknownCRSError(f"EPSG:{epsg} is not a known coordinate reference system") from exc
    _check_usable(epsg, crs)
    return InputCRS(f"EPSG:{epsg}", epsg)


def _check_usable(epsg: int, crs: CRS) -> None:
    """Only 2-D CRSs on CGCS2000 or WGS84 can be converted to storage without guessing.

    PROJ knows no real transformation from Beijing 1954 or Xian 1980 to
    CGCS2000 (only a "ballpark" no-op, tens of metres off), and a geocentric
    or 3-D CRS is not a map coordinate at all.
    """
    if len(crs.axis_info) != 2 or not (crs.is_geographic or crs.is_projected):
        raise UnknownCRSError(f"EPSG:{epsg} ({crs.name}) is not a 2-D geographic or projected CRS")
    geodetic = crs.geodetic_crs.to_epsg() if crs.geodetic_crs else None
    if geodetic not in _CONVERTIBLE_GEODETIC:
        raise UnknownCRSError(
            f"EPSG:{epsg} ({crs.name}) is not on CGCS2000 or WGS84; PROJ has no accurate transformation "
            "to CGCS2000 for it: convert the data with the official parameters first"
        )


@lru_cache(maxsize=None)
def _crs(epsg: int) -> CRS:
    return CRS.from_epsg(epsg)


@lru_cache(maxsize=None)
def transformer(src_epsg: int, dst_epsg: int) -> Transformer:
    """A cached always-lon/lat-order transformer (creating one costs milliseconds)."""
    return Transformer.from_crs(_crs(src_epsg), _crs(dst_epsg), always_xy=True)


# The offset datums have no EPSG code; their published transforms stand in for PROJ.
_OFFSET_TO_CGCS2000 = {"gcj02": chinese_offsets.gcj02_to_wgs84, "bd09": chinese_offsets.bd09_to_wgs84}
_OFFSET_FROM_CGCS2000 = {"gcj02": chinese_offsets.wgs84_to_gcj02, "bd09": chinese_offsets.wgs84_to_bd09}


def to_cgcs2000(x, y, crs: InputCRS):
    """Convert coordinates (scalars or arrays) in `crs` to CGCS2000 lon/lat."""
    if crs.is_offset_datum:
        return _OFFSET_TO_CGCS2000[crs.name](x, y)
    if crs.epsg == STORAGE_EPSG:
        return x, y
    return transformer(crs.epsg, STORAGE_EPSG).transform(x, y)


def from_cgcs2000(lon, lat, crs: InputCRS):
    """Convert CGCS2000 lon/lat to `crs` (e.g. GCJ-02 for drawing on an AMap base map)."""
    if crs.is_offset_datum:
        return _OFFSET_FROM_CGCS2000[crs.name](lon, lat)
    if crs.epsg == STORAGE_EPSG:
        return lon, lat
    return transformer(STORAGE_EPSG, crs.epsg).transform(lon, lat)


def _transform_geometry(geom, fn):
    def apply(coords: np.ndarray) -> np.ndarray:
        if len(coords) == 0:
            return coords
        x, y = fn(coords[:, 0], coords[:, 1])
        return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])

    return shapely.transform(geom, apply)


def geometry_to_cgcs2000(geom, crs: InputCRS):
    """A shapely geometry (or array of them) in `crs`, converted to CGCS2000."""
    if crs.epsg == STORAGE_EPSG:
        return geom
    return _transform_geometry(geom, lambda x, y: to_cgcs2000(x, y, crs))


def geometry_from_cgcs2000(geom, crs: InputCRS):
    """A CGCS2000 shapely geometry (or array of them), converted to `crs`."""
    if crs.epsg == STORAGE_EPSG:
        return geom
    return _transform_geometry(geom, lambda x, y: from_cgcs2000(x, y, crs))


def check_lonlat(lon: float, lat: float) -> None:
    """Reject coordinates that cannot be geographic degrees."""
    if not (np.isfinite(lon) and np.isfinite(lat)):
        raise ValueError("coordinates must be finite numbers")
    if not -180.0 <= lon <= 180.0:
        raise ValueError("longitude must be between -180 and 180 degrees")
    if not -90.0 <= lat <= 90.0:
        raise ValueError("latitude must be between -90 and 90 degrees")
