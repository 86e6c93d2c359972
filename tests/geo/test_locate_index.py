"""The in-memory locate index, on a small network drawn in metres.

Four 200 m x 200 m base cells in a 2 x 2 block (codes ...001 to ...004, west
to east, north to south) and one special grid across the middle, built in the
Gauss–Krüger zone and converted to CGCS2000, so that distances in the tests
are exact metres.
"""

import subprocess
import sys
import textwrap

import pytest
from shapely import Point, box

from gridsvc.geo import metric
from gridsvc.geo.locate import AdminInfo, CellInfo, GridIndex
from tests.support import REPO

REF_LON = 125.6
X0, Y0 = 500000.0 - 40000.0, 4_820_000.0  # somewhere near 125.5E 43.5N in EPSG:4551
VILLAGE = "220112100201"


def cell(code_suffix, kind="base"):
    return CellInfo(VILLAGE + code_suffix, f"网格{code_suffix}", kind, VILLAGE)


def metric_box(x0, y0, x1, y1):
    return metric.from_zone(box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1), REF_LON)


def at(x, y):
    """CGCS2000 lon/lat of a point given in metres from the block's south-west corner."""
    p = metric.from_zone(Point(X0 + x, Y0 + y), REF_LON)
    return p.x, p.y


@pytest.fixture(scope="module")
def index():
    cells = [cell("001"), cell("002"), cell("003"), cell("004"), cell("901", "special")]
    geoms = [
        metric_box(0, 200, 200, 400),    # 001 north-west
        metric_box(200, 200, 400, 400),  # 002 north-east
        metric_box(0, 0, 200, 200),      # 003 south-west
        metric_box(200, 0, 400, 200),    # 004 south-east
        metric_box(150, 150, 250, 250),  # 901 a school across all four
    ]
    admin = {
        VILLAGE: AdminInfo(VILLAGE, "齐家村", "village", "220112100000"),
        "220112100000": AdminInfo("220112100000", "齐家镇", "township", "220112000000"),
        "220112000000": AdminInfo("220112000000", "双阳区", "county", None),
    }
    return GridIndex(cells, geoms, admin, boundary_tolerance_m=1.0, nearest_max_distance_m=50.0)


def test_inside(index):
    result = index.locate(*at(50, 50))
    assert result.match == "inside"
    assert result.grid.code.endswith("003")
    assert result.others == [] and result.special_grids == []


def test_near_outer_edge_is_still_inside(index):
    result = index.locate(*at(0.3, 100))  # 0.3 m from the network's west edge, inside
    assert (result.match, result.grid.code[-3:]) == ("inside", "003")


@pytest.mark.parametrize("x,expected", [(199.5, "003"), (200.5, "004")])
def test_boundary_picks_the_cell_containing_the_point(index, x, expected):
    result = index.locate(*at(x, 50))
    assert result.match == "boundary"
    assert result.grid.code.endswith(expected)
    assert [o.cell.code[-3:] for o in result.others] == ["004" if expected == "003" else "003"]
    assert result.others[0].distance_m == pytest.approx(0.5, abs=0.01)


def test_point_exactly_on_shared_edge_takes_lowest_code(index):
    # A vertex both cells share lies exactly on both boundaries, in neither interior.
    shared = set(_coords(index, "003")) & set(_coords(index, "004"))
    lon, lat = min(shared, key=lambda c: Point(c).distance(Point(*at(200, 50))))
    result = index.locate(lon, lat)
    assert result.match == "boundary"
    assert result.grid.code.endswith("003")
    assert [o.cell.code[-3:] for o in result.others] == ["004"]
    assert result.distance_m == 0.0 and result.others[0].distance_m == 0.0


def _coords(index, suffix):
    geom = index.geometry(index.position_of(VILLAGE + suffix))
    return [c for polygon in getattr(geom, "geoms", [geom]) for c in polygon.exterior.coords]


def test_corner_of_four_cells_lists_all_others(index):
    result = index.locate(*at(200.2, 199.8))  # just inside 004, next to all four
    assert result.match == "boundary"
    assert result.grid.code.endswith("004")
    assert sorted(o.cell.code[-3:] for o in result.others) == ["001", "002", "003"]
    assert [s.code[-3:] for s in result.special_grids] == ["901"]


def test_just_beyond_tolerance_is_inside(index):
    assert index.locate(*at(198.5, 50)).match == "inside"


def test_nearest_outside_the_network(index):
    result = index.locate(*at(-20, 50))
    assert result.match == "nearest"
    assert result.grid.code.endswith("003")
    assert result.distance_m == pytest.approx(20, abs=0.05)


def test_none_far_away(index):
    assert index.locate(*at(-80, 50)).match == "none"
    assert index.locate(*at(-80, 50)).grid is None


def test_special_grid_listed_but_base_grid_decides(index):
    result = index.locate(*at(180, 180))
    assert result.match == "inside" and result.grid.code.endswith("003")
    assert [s.code[-3:] for s in result.special_grids] == ["901"]


def test_accuracy_circle_lists_touched_cells(index):
    result = index.locate(*at(130, 180), accuracy_m=30)
    assert result.match == "inside"
    assert [c.code[-3:] for c in result.accuracy_cells] == ["001", "003", "901"]
    small = index.locate(*at(100, 100), accuracy_m=30)
    assert [c.code[-3:] for c in small.accuracy_cells] == ["003"]


def test_hierarchy(index):
    village, township, county = index.hierarchy(VILLAGE)
    assert (village.name, township.name, county.name) == ("齐家村", "齐家镇", "双阳区")


def test_locate_many_agrees_with_locate(index):
    points = [at(x, y) for x in range(-30, 431, 7) for y in range(-30, 431, 11)]
    lons, lats = zip(*points)
    many = index.locate_many(lons, lats)
    for (lon, lat), batch in zip(points, many):
        single = index.locate(lon, lat)
        assert (batch.match, batch.grid and batch.grid.code) == (single.match, single.grid and single.grid.code)


def test_cells_in_bbox(index):
    lon0, lat0 = at(10, 10)
    lon1, lat1 = at(50, 50)
    codes = [index.cells[i].code[-3:] for i in index.cells_in_bbox(lon0, lat0, lon1, lat1)]
    assert codes == ["003"]


def test_threads_may_locate_at_once_in_a_fresh_index(tmp_path):
    """GEOS builds a prepared geometry's internals on first use, not thread-safely: without the
    index's lock, threads locating at once in a new index crashed the process (a segfault, so the
    race runs in a child process and a crash fails this test instead of the test run)."""
    script = textwrap.dedent(f"""
        import gridsvc.kernel.db
        import threading
        import numpy as np
        from fixtures.sample import load_sample
        from gridsvc.app import create_app
        from gridsvc.kernel import migrate
        from gridsvc.kernel.config import Settings
        app = create_app(Settings(database_url="sqlite:///{tmp_path / 'x.sqlite'}"))
        rt = app.extensions["gridsvc"]
        migrate.upgrade(rt.engine)
        with rt.sessions.begin() as session:
            load_sample(session, rt.settings)
        import shapely
        from gridsvc.geo.locate import GridIndex
        built = rt.index.get()
        wkb = shapely.to_wkb([built.geometry(i) for i in range(len(built.cells))])
        inside = [shapely.get_coordinates(g.representative_point())[0] for g in shapely.from_wkb(wkb)]
        for attempt in range(6):  # new geometries each time: their GEOS internals are not built yet
            index = GridIndex(built.cells, shapely.from_wkb(wkb), built.admin)
            barrier = threading.Barrier(8)

            def run():
                for lon, lat in inside:  # every thread on the same cell at the same moment: its first use
                    barrier.wait()
                    index.locate(lon, lat, accuracy_m=30)

            threads = [threading.Thread(target=run) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        print("done")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "done"
