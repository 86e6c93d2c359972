"""Metres in the right Gauss–Krüger zone."""

import math

import pytest
from pyproj import Geod
from shapely import Point, box

from gridsvc.geo import metric

GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid


@pytest.mark.parametrize("lon,zone,epsg", [
    (125.3, 42, 4551),  # Changchun, CM 126E
    (124.4, 41, 4550),
    (127.6, 43, 4552),
    (75.0, 25, 4534),
    (135.0, 45, 4554),
])
def test_zone_choice(lon, zone, epsg):
    assert metric.gauss_kruger_zone(lon) == zone
    assert metric.gauss_kruger_epsg(lon) == epsg


def test_area_matches_geodesic_area():
    cell = box(125.60, 43.50, 125.61, 43.51)  # about 806 m x 1112 m
    geodesic_area, _ = GEOD.geometry_area_perimeter(cell)
    assert metric.area_m2(cell) == pytest.approx(abs(geodesic_area), rel=2e-4)


def test_distance_matches_geodesic_distance():
    a, b = Point(125.6, 43.5), Point(125.62, 43.51)
    _, _, geodesic = GEOD.inv(a.x, a.y, b.x, b.y)
    assert metric.distance_m(a, b) == pytest.approx(geodesic, rel=2e-4)


def test_buffer_is_round_in_metres_not_in_degrees():
    circle = metric.buffer_m(Point(125.6, 43.5), 100.0)
    minx, miny, maxx, maxy = circle.bounds
    # A metric circle is wider in degrees of longitude than of latitude at 43.5N.
    assert (maxx - minx) / (maxy - miny) == pytest.approx(1 / math.cos(math.radians(43.5)), rel=0.01)
    assert metric.area_m2(circle) == pytest.approx(math.pi * 100**2, rel=0.01)


def test_degree_window_contains_the_metric_circle():
    import numpy as np

    lats = np.array([20.0, 43.5, 53.0])
    dlons, dlat_all = metric.degree_windows(lats, 200.0)
    for lat, dlon_all in zip(lats.tolist(), dlons.tolist()):
        dlon, dlat = metric.degree_window(lat, 200.0)
        assert (dlon, dlat) == pytest.approx((dlon_all, dlat_all))
        circle = metric.buffer_m(Point(120.0, lat), 200.0)
        assert box(120.0 - dlon, lat - dlat, 120.0 + dlon, lat + dlat).contains(circle)


def test_edges_straight_in_degrees_are_followed_in_metres():
    """A long edge stored with two vertices must not become a chord in the GK zone."""
    from shapely import LineString

    edge = LineString([(125.4, 43.5), (125.6, 43.5)])
    middle = Point(125.5, 43.5)  # on the stored edge
    assert metric.to_zone(edge, 125.5).distance(metric.to_zone(middle, 125.5)) < 0.001


def test_projection_keeps_invalid_shapes_invalid():
    """Densifying must not repair a bow-tie behind validation's back."""
    from shapely import Polygon

    bow_tie = Polygon([(125.50, 43.50), (125.52, 43.52), (125.52, 43.50), (125.50, 43.519)])
    assert not bow_tie.is_valid
    assert not metric.to_zone(bow_tie, 125.5).is_valid
    assert not metric.from_zone(metric.to_zone(bow_tie, 125.5), 125.5).is_valid
