"""Metres, never degrees: areas, distances and buffers in the right Gauss–Krüger zone.

CGCS2000 3-degree Gauss–Krüger zones without zone prefix are EPSG:4534
(central meridian 75°E, zone 25) to EPSG:4554 (135°E, zone 45). A point or a
geometry is measured in the zone whose central meridian is nearest to it;
within a zone the scale error is below 1/7000 (0.014 %), so a 1 m tolerance
stays a 1 m tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridsvc.geo.crs import InputCRS, geometry_from_cgcs2000, geometry_to_cgcs2000

_FIRST_ZONE, _FIRST_ZONE_EPSG = 25, 4534
_LAST_ZONE = 45

# Metres per degree of latitude, a lower bound (the meridian arc is 110574 m
# at the equator and grows towards the poles). Used only to turn a metric
# radius into a degree search window that is sure to be large enough.
_MIN_METRES_PER_DEG_LAT = 110_500.0
_METRES_PER_DEG_LON_EQUATOR = 111_320.0
# Densification steps: about 100 m either way (0.001 degree of latitude is 111 m).
DENSIFY_DEG = 0.001
DENSIFY_M = 100.0


def gauss_kruger_zone(lon: float) -> int:
    """The 3-degree zone number for a longitude (zone 42 is CM 126°E)."""
    zone = int(math.floor(lon / 3.0 + 0.5))
    return min(max(zone, _FIRST_ZONE), _LAST_ZONE)


def gauss_kruger_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree GK zone (no zone prefix) for a longitude."""
    return _FIRST_ZONE_EPSG + gauss_kruger_zone(lon) - _FIRST_ZONE


def _zone_crs(lon: float) -> InputCRS:
    epsg = gauss_kruger_epsg(lon)
    return InputCRS(f"EPSG:{epsg}", epsg)


def to_zone(geom: BaseGeometry, reference_lon: float | None = None) -> BaseGeometry:
    """Project a CGCS2000 geometry (or an array of them) into the GK zone of `reference_lon`.

    The geometry is densified first: the databases treat an edge as straight in
    degrees, and a long edge that is straight in degrees is curved in metres (a
    16 km east-west edge bows almost 5 m). With vertices every 0.001 degree the
    projected shape follows the stored one to a fraction of a millimetre.
    """
    if reference_lon is None:
        reference_lon = _reference_lon(geom)
    return geometry_from_cgcs2000(_densify(geom, DENSIFY_DEG), _zone_crs(reference_lon))


def from_zone(geom: BaseGeometry, reference_lon: float) -> BaseGeometry:
    """Back from the GK zone of `reference_lon` to CGCS2000.

    Densified in metres first, for the same reason as `to_zone` the other way:
    a shape drawn straight in metres stays that shape when read in degrees.
    """
    return geometry_to_cgcs2000(_densify(geom, DENSIFY_M), _zone_crs(reference_lon))


def _densify(geom, step: float):
    """Add vertices so that no segment is longer than `step`; invalid shapes stay as they are.

    GEOS's densifier repairs an invalid polygon as a side effect (it drops a
    lobe of a bow-tie), which would hide the very defect validation must report.
    """
    dense = shapely.segmentize(geom, step)
    valid = shapely.is_valid(geom)
    if np.ndim(valid):
        return np.where(valid, dense, geom)
    return dense if valid else geom


def _reference_lon(geom: BaseGeometry) -> float:
    minx, _, maxx, _ = geom.bounds
    return (minx + maxx) / 2.0


def area_m2(geom: BaseGeometry) -> float:
    """Area in square metres of a CGCS2000 geometry."""
    if geom.is_empty:
        return 0.0
    return to_zone(geom).area


def distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    """Shortest distance in metres between two CGCS2000 geometries."""
    reference_lon = _reference_lon(a)
    return to_zone(a, reference_lon).distance(to_zone(b, reference_lon))


def distances_m(point: BaseGeometry, geoms) -> list[float]:
    """Distances in metres from one CGCS2000 point to each of `geoms`."""
    projected_point = to_zone(point, point.x)
    projected = to_zone(shapely.GeometryCollection(list(geoms)), point.x).geoms
    return [projected_point.distance(g) for g in projected]


def buffer_m(geom: BaseGeometry, radius_m: float, quad_segs: int = 16) -> BaseGeometry:
    """A buffer of `radius_m` metres, computed in the GK zone, returned in CGCS2000."""
    reference_lon = _reference_lon(geom)
    return from_zone(to_zone(geom, reference_lon).buffer(radius_m, quad_segs=quad_segs), reference_lon)


def degree_window(lat: float, radius_m: float) -> tuple[float, float]:
    """Half-widths (dlon, dlat) in degrees of a box sure to contain a `radius_m` circle.

    Only for choosing candidates from a spatial index: the decision itself is
    always made in metres. Scalar and plain `math`: it sits on the locate hot path.
    """
    dlat = radius_m / _MIN_METRES_PER_DEG_LAT
    edge_lat = min(abs(lat) + dlat, 89.0)
    return radius_m / (_METRES_PER_DEG_LON_EQUATOR * math.cos(math.radians(edge_lat))) * 1.01, dlat


def degree_windows(lats: np.ndarray, radius_m: float) -> tuple[np.ndarray, float]:
    """`degree_window` for an array of latitudes at once."""
    dlat = radius_m / _MIN_METRES_PER_DEG_LAT
    edge_lat = np.minimum(np.abs(lats) + dlat, 89.0)
    return radius_m / (_METRES_PER_DEG_LON_EQUATOR * np.cos(np.radians(edge_lat))) * 1.01, dlat


# How far a boundary drawn on a phone or a screen may stray from the stored one (metres): well inside
# a phone GPS's error and below a pixel at township zoom, and it cuts most vertices of surveyed lines.
DRAWING_TOLERANCE_M = 3.0


def for_drawing(geom: BaseGeometry) -> BaseGeometry:
    """A boundary as phones and the command screen draw it: simplified to DRAWING_TOLERANCE_M."""
    return simplify_m(geom, DRAWING_TOLERANCE_M)


def simplify_m(geom: BaseGeometry, tolerance_m: float) -> BaseGeometry:
    """The geometry with fewer vertices, none moved by more than `tolerance_m` metres (in its GK zone),
    topology kept: a grid boundary light enough for a phone to draw."""
    reference = _reference_lon(geom)
    simplified = shapely.simplify(geometry_from_cgcs2000(geom, _zone_crs(reference)), tolerance_m,
                                  preserve_topology=True)
    return geometry_to_cgcs2000(simplified, _zone_crs(reference))
