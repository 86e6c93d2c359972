"""GCJ-02 / BD-09 against published reference values, and the inverse's accuracy."""

import numpy as np
import pytest

from gridsvc.geo import chinese_offsets as co
from gridsvc.geo.metric import distance_m
from shapely import Point

# Reference values published with the gcoord library's test suite (lon, lat).
WGS84_123_45 = (123.0, 45.0)
GCJ02_OF_123_45 = (123.00607541, 45.00197815)
BD09_OF_123_45 = (123.0124491, 45.0083293)
BD09_123_45_AS_GCJ02 = (122.99363304, 44.99365430)


def test_forward_gcj02_matches_reference():
    assert co.wgs84_to_gcj02(*WGS84_123_45) == pytest.approx(GCJ02_OF_123_45, abs=1e-7)


def test_forward_bd09_matches_reference():
    assert co.wgs84_to_bd09(*WGS84_123_45) == pytest.approx(BD09_OF_123_45, abs=1e-7)


def test_bd09_inverse_close_to_reference_one_step_value():
    # The reference used Baidu's one-step inverse (good to ~0.1 m); ours iterates.
    assert co.bd09_to_gcj02(123.0, 45.0) == pytest.approx(BD09_123_45_AS_GCJ02, abs=2e-6)


def test_no_offset_outside_china():
    assert co.wgs84_to_gcj02(183.0, 45.0) == (183.0, 45.0)
    assert co.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)  # Paris
    assert co.gcj02_to_wgs84(2.35, 48.85) == (2.35, 48.85)


def test_offset_is_hundreds_of_metres_in_jilin():
    lon, lat = 125.66, 43.52
    shifted = co.wgs84_to_gcj02(lon, lat)
    offset = distance_m(Point(lon, lat), Point(*shifted))
    assert 100 < offset < 700


@pytest.mark.parametrize("inverse,forward", [
    (co.gcj02_to_wgs84, co.wgs84_to_gcj02),
    (co.bd09_to_wgs84, co.wgs84_to_bd09),
])
def test_inverse_round_trip_below_half_a_metre_across_china(inverse, forward):
    rng = np.random.default_rng(42)
    lons = rng.uniform(74.0, 135.0, 2000)
    lats = rng.uniform(18.0, 53.0, 2000)
    back_lon, back_lat = inverse(*forward(lons, lats))
    # 1e-7 degree is about 1 cm; the requirement is 0.5 m.
    assert np.max(np.abs(back_lon - lons)) < 1e-7
    assert np.max(np.abs(back_lat - lats)) < 1e-7


def test_one_step_inverse_would_not_be_good_enough_but_iterated_is():
    """Documents why we iterate: a single correction step leaves metre-level error."""
    lon, lat = 125.66, 43.52
    glon, glat = co.wgs84_to_gcj02(lon, lat)
    flon, flat = co.wgs84_to_gcj02(glon, glat)
    one_step = (2 * glon - flon, 2 * glat - flat)
    iterated = co.gcj02_to_wgs84(glon, glat)
    assert distance_m(Point(lon, lat), Point(*iterated)) < 0.01
    assert distance_m(Point(lon, lat), Point(*one_step)) > distance_m(Point(lon, lat), Point(*iterated))


def test_scalars_stay_scalars_and_arrays_stay_arrays():
    assert isinstance(co.gcj02_to_wgs84(125.0, 43.0)[0], float)
    lons, lats = co.gcj02_to_wgs84(np.array([125.0, 126.0]), np.array([43.0, 44.0]))
    assert lons.shape == (2,)


def test_agrees_with_an_independent_implementation_across_china():
    """eviltransform (PyPI) implements the same published algorithms independently."""
    import eviltransform

    rng = np.random.default_rng(3)
    for lon, lat in zip(rng.uniform(74.0, 135.0, 500), rng.uniform(18.0, 53.0, 500)):
        ref_lat, ref_lon = eviltransform.wgs2gcj(lat, lon)
        assert co.wgs84_to_gcj02(lon, lat) == pytest.approx((ref_lon, ref_lat), abs=5e-7)  # < 6 cm
        ref_lat, ref_lon = eviltransform.wgs2bd(lat, lon)
        assert co.wgs84_to_bd09(lon, lat) == pytest.approx((ref_lon, ref_lat), abs=5e-7)
        # Its inverse stops once within 1e-6 degree (about 0.1 m); ours goes on to 1e-9.
        ref_lat, ref_lon = eviltransform.gcj2wgs_exact(lat, lon)
        assert co.gcj02_to_wgs84(lon, lat) == pytest.approx((ref_lon, ref_lat), abs=2e-6)
