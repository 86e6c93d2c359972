"""Datum names, EPSG codes and conversion to CGCS2000."""

import pytest
from shapely import Point, box

from gridsvc.geo import chinese_offsets
from gridsvc.geo.crs import (
    UnknownCRSError,
    check_lonlat,
    from_cgcs2000,
    geometry_from_cgcs2000,
    geometry_to_cgcs2000,
    parse_crs,
    to_cgcs2000,
)
from gridsvc.geo.metric import distance_m


@pytest.mark.parametrize("text,name,epsg", [
    ("wgs84", "wgs84", 4326),
    ("WGS84", "wgs84", 4326),
    ("cgcs2000", "cgcs2000", 4490),
    ("GCJ-02", "gcj02", None),
    ("bd09", "bd09", None),
    ("EPSG:4551", "EPSG:4551", 4551),
    ("4549", "EPSG:4549", 4549),
    (4490, "EPSG:4490", 4490),
])
def test_parse_crs(text, name, epsg):
    crs = parse_crs(text)
    assert (crs.name, crs.epsg) == (name, epsg)


@pytest.mark.parametrize("text", ["", None, "mars", "EPSG:999999", "epsg:abc"])
def test_parse_crs_rejects_unknown(text):
    with pytest.raises(UnknownCRSError):
        parse_crs(text)


def test_gauss_kruger_input_converts_to_lonlat():
    # EPSG:4551 is CGCS2000 / 3-degree GK CM 126E: x=500000 lies on 126E.
    lon, lat = to_cgcs2000(500000.0, 4_820_000.0, parse_crs("EPSG:4551"))
    assert lon == pytest.approx(126.0, abs=1e-9)
    assert 43.4 < lat < 43.6


def test_gcj02_input_round_trips():
    crs = parse_crs("gcj02")
    gcj = from_cgcs2000(125.66, 43.52, crs)
    back = to_cgcs2000(*gcj, crs)
    assert distance_m(Point(125.66, 43.52), Point(*back)) < 0.01
    assert gcj == pytest.approx(chinese_offsets.wgs84_to_gcj02(125.66, 43.52))


def test_geometry_conversion_moves_every_vertex():
    square = box(125.6, 43.5, 125.61, 43.51)
    shifted = geometry_from_cgcs2000(square, parse_crs("gcj02"))
    assert distance_m(square.centroid, shifted.centroid) > 100
    back = geometry_to_cgcs2000(shifted, parse_crs("gcj02"))
    assert back.symmetric_difference(square).area < 1e-12


def test_check_lonlat():
    check_lonlat(125.0, 43.0)
    for lon, lat in [(181, 0), (0, 91), (float("nan"), 0), (float("inf"), 0)]:
        with pytest.raises(ValueError):
            check_lonlat(lon, lat)


@pytest.mark.parametrize("code,reason", [
    ("EPSG:4978", "2-D"),       # WGS84 geocentric
    ("EPSG:4979", "2-D"),       # WGS84 3-D
    ("EPSG:4214", "CGCS2000"),  # Beijing 1954: PROJ would only guess
    ("EPSG:4610", "CGCS2000"),  # Xian 1980
    ("EPSG:2436", "CGCS2000"),  # Beijing 1954 Gauss-Krüger
])
def test_parse_crs_refuses_what_cannot_be_converted_accurately(code, reason):
    with pytest.raises(UnknownCRSError, match=reason):
        parse_crs(code)


@pytest.mark.parametrize("code", ["EPSG:32651", "EPSG:3857", "EPSG:4547"])
def test_parse_crs_accepts_wgs84_and_cgcs2000_projections(code):
    assert parse_crs(code).epsg == int(code.split(":")[1])
