"""Locating against the stored sample county, on SpatiaLite and PostGIS.

The in-memory index must agree with the database's own ST_Covers, points next
to shared edges included, and the datum of the input must decide the answer.
"""

import numpy as np
import shapely

from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.network.points import storage_point
from gridsvc.network.index import cells_covering_in_db
from tests.support import shared_edge_points


def test_index_agrees_with_database_st_covers(sample_app, rt):
    index = rt.index.get()
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = shapely.union_all([index.geometry(i) for i in range(len(index))]).bounds
    points = list(zip(rng.uniform(minx, maxx, 150), rng.uniform(miny, maxy, 150)))
    points += [(p.x, p.y) for _, _, p in shared_edge_points(index, 0.5)]
    with rt.sessions() as session:
        for lon, lat in points:
            in_db = sorted(c.code for c in cells_covering_in_db(session, lon, lat) if c.kind == "base")
            result = index.locate(lon, lat)
            if result.match == "inside":
                assert in_db == [result.grid.code], (lon, lat)
            elif result.match == "boundary":
                near = {result.grid.code} | {o.cell.code for o in result.others}
                assert set(in_db) <= near, (lon, lat)
                assert result.distance_m > 0 or result.grid.code in in_db
            else:
                assert in_db == [], (lon, lat, result.match)


def test_points_next_to_shared_edges_land_in_their_own_cell(sample_app, rt):
    index = rt.index.get()
    probes = shared_edge_points(index, 3.0)
    assert len(probes) >= 20
    for code_a, _code_b, point in probes:
        result = index.locate(point.x, point.y)
        assert (result.match, result.grid.code) == ("inside", code_a)
        with rt.sessions() as session:
            assert [c.code for c in cells_covering_in_db(session, point.x, point.y) if c.kind == "base"] == [code_a]


def test_gcj02_report_near_boundary_lands_in_same_cell_as_wgs84_original(sample_app, rt):
    index = rt.index.get()
    gcj02, wgs84 = parse_crs("gcj02"), parse_crs("wgs84")
    misplaced = 0
    probes = shared_edge_points(index, 3.0)
    for code_a, _code_b, point in probes:
        x, y = from_cgcs2000(point.x, point.y, gcj02)  # what AMap on the phone reports
        assert index.locate(*storage_point(point.x, point.y, wgs84)).grid.code == code_a
        assert index.locate(*storage_point(x, y, gcj02)).grid.code == code_a
        wrong = index.locate(*storage_point(x, y, wgs84))  # the same numbers taken as raw GPS
        misplaced += wrong.grid is None or wrong.grid.code != code_a
    # Declaring the datum wrongly moves the point hundreds of metres: it lands elsewhere.
    assert misplaced == len(probes)


def test_locate_on_past_network_uses_old_boundaries(sample_app, rt):
    from datetime import datetime, timedelta, timezone

    index = rt.index.get()
    code = index.cells[0].code
    centre = index.geometry(0).representative_point()
    with rt.sessions() as session:
        assert [c.code for c in cells_covering_in_db(session, centre.x, centre.y) if c.code == code] == [code]
        long_ago = datetime.now(timezone.utc) - timedelta(days=3650)
        assert cells_covering_in_db(session, centre.x, centre.y, at=long_ago) == []


def test_index_rebuilds_when_another_process_changes_the_network(sample_app, rt):
    from gridsvc.network.store import bump_revision

    first = rt.index.get()
    assert rt.index.get() is first  # unchanged revision: same index
    with rt.sessions.begin() as session:  # as a CLI import in another process would
        bump_revision(session)
    second = rt.index.get()
    assert second is not first and second.revision == first.revision + 1
