"""The command screen's 巡查 layer (gridsvc.oversight.patrols_now), on both databases: who of an area's grid
workers is on patrol now, where and how old their newest fix is, today's tracks, today's coverage, and
that a screen sees only its own area's workers.

The patrols are recorded through the domain (gridsvc.patrols.recording) at a chosen `now`, yesterday at
10:00 China time, so that "today" is one known China day whenever the suite runs. Expected positions and
tracks are worked out here: GCJ-02 with eviltransform, metres in a local azimuthal projection (pyproj),
grids by shapely containment, never with the service's own helpers.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta, timezone

import eviltransform
import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Transformer

from gridsvc.accounts.users import create_user
from gridsvc.geo.crs import parse_crs
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import Patrol, User
from gridsvc.oversight.patrols_now import patrols_now
from gridsvc.patrols.recording import PointInput, add_points, start, stop
from gridsvc.worktime.calendar import CHINA
from tests.support import LUXIANG, OFFICE_PHONES, PASSWORD, moved

CGCS2000, GCJ02 = parse_crs("cgcs2000"), parse_crs("gcj02")
STRIDE_M, STEP_S = 12.0, 10  # 1.2 m/s: a plausible walk, each step beyond the jitter threshold
# The walk of 小王 (metres east of the grid's inner point): there and back, 11 fixes, the last a minute old.
OUT_AND_BACK = [-30 + STRIDE_M * i for i in range(6)] + [30 - STRIDE_M * i for i in range(1, 6)]


def walk(session, settings, user, offsets, point, first_at, now, stopped=False):
    """A patrol of `user` through points `offsets` metres east of `point`, one fix every STEP_S seconds
    from `first_at`, recorded at `now` (and stopped after its last fix when asked)."""
    patrol, _ = start(session, user, str(uuid.uuid4()), first_at - timedelta(minutes=1), now=now)
    fixes = [moved(point, east) for east in offsets]
    results = add_points(session, patrol, [
        PointInput(seq, fix.x, fix.y, CGCS2000, 5.0, first_at + timedelta(seconds=STEP_S * seq))
        for seq, fix in enumerate(fixes)], settings, now=now)
    assert {r.result for r in results} == {"added"}
    if stopped:
        stop(session, patrol, first_at + timedelta(seconds=STEP_S * len(offsets)), now=now)
    return fixes


@pytest.fixture
def walkers(office, rt):
    """Yesterday 10:00 China time: 小王 (齐家镇) walking, his newest fix a minute old; 小李 (the same grid)
    with one patrol stopped two minutes ago and one left open whose newest fix is eleven minutes old; a
    鹿乡镇 worker walking in her own township."""
    index = rt.index.get()
    now = datetime.combine((utcnow().astimezone(CHINA) - timedelta(days=1)).date(), time(10, 0), CHINA)
    position = next(i for i, c in enumerate(index.cells) if c.code.startswith(LUXIANG[:9]) and c.kind == "base")
    other_grid, other_point = index.cells[position].code, index.geometry(position).representative_point()
    point = office["point"]
    with rt.sessions.begin() as session:
        create_user(session, "13800000021", "鹿乡网格员", "grid_worker", PASSWORD, grid_codes=[other_grid])
        user = {phone: user_of(session, phone)
                for phone in (OFFICE_PHONES["worker"], OFFICE_PHONES["worker2"], "13800000021")}
        last_of_wang = now - timedelta(minutes=1)
        wang = walk(session, rt.settings, user[OFFICE_PHONES["worker"]], OUT_AND_BACK, point,
                    last_of_wang - timedelta(seconds=STEP_S * (len(OUT_AND_BACK) - 1)), now)
        li = walk(session, rt.settings, user[OFFICE_PHONES["worker2"]], [0, 12, 24], point,
                  now - timedelta(minutes=2, seconds=20), now, stopped=True)
        li += walk(session, rt.settings, user[OFFICE_PHONES["worker2"]], [-24, -12], point,
                   now - timedelta(minutes=11, seconds=STEP_S), now)
        walk(session, rt.settings, user["13800000021"], [0, 12, 24], other_point,
             now - timedelta(minutes=2, seconds=2 * STEP_S), now)
    return {"now": now, "wang": wang, "li": li, "other_grid": other_grid}


def user_of(session, phone) -> User:
    return session.scalar(sa.select(User).where(User.phone == phone))


def screen_of(rt, phone, walkers, crs=CGCS2000, with_tracks=True):
    with rt.sessions() as session:
        user = user_of(session, phone)
        answer = patrols_now(session, rt.index.get(), rt.settings, user, crs, walkers["now"], with_tracks)
        session.commit()
    return answer


def test_a_commander_sees_who_of_the_township_walks_now_and_how_old_the_fix_is(rt, walkers):
    answer = screen_of(rt, OFFICE_PHONES["commander"], walkers)
    assert (answer["grid_workers"], answer["on_patrol"], answer["live_minutes"]) == (2, 1, 10.0)
    [wang] = answer["patrolling"]
    last = walkers["wang"][-1]
    assert (wang["name"], wang["age_s"], wang["accuracy_m"]) == ("网格员小王", 60, 5.0)
    assert (wang["lon"], wang["lat"]) == pytest.approx((last.x, last.y), abs=1e-9)
    assert wang["fix_at"] == (walkers["now"] - timedelta(minutes=1)).astimezone(timezone.utc).isoformat()
    # 小李 walked today too: a track, no marker (his open patrol's newest fix is 11 minutes old, the
    # recent one belongs to a patrol he stopped)
    tracks = {f["properties"]["name"]: f["properties"]["on_patrol"] for f in answer["tracks"]["features"]}
    assert tracks == {"网格员小王": True, "网格员小李": False}
    assert answer["day"] == walkers["now"].date().isoformat()


def test_the_fix_and_the_track_come_in_the_screens_datum(rt, walkers):
    answer = screen_of(rt, OFFICE_PHONES["commander"], walkers, crs=GCJ02)
    last = walkers["wang"][-1]
    lat, lon = eviltransform.wgs2gcj(last.y, last.x)
    assert answer["crs"] == "gcj02"
    walker = answer["patrolling"][0]
    assert (walker["lon"], walker["lat"]) == pytest.approx((lon, lat), abs=1e-6)  # 10 cm: two implementations
    # 小王's drawn track is his walk, shifted to GCJ-02: within a metre or two of it everywhere
    [track] = [f for f in answer["tracks"]["features"] if f["properties"]["name"] == "网格员小王"]
    walked = shapely.LineString([eviltransform.wgs2gcj(p.y, p.x)[::-1] for p in walkers["wang"]])
    drawn = shapely.geometry.shape(track["geometry"])
    centre = walked.centroid
    to_m = Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +ellps=GRS80",
                                always_xy=True)
    walked_m, drawn_m = (shapely.transform(g, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
                         for g in (walked, drawn))
    assert walked_m.hausdorff_distance(drawn_m) < 3.0
    assert drawn_m.length == pytest.approx(walked_m.length, abs=5.0)  # there and back: 120 m


def test_todays_coverage_is_the_grids_holding_a_walked_fix(rt, walkers):
    answer = screen_of(rt, OFFICE_PHONES["commander"], walkers)
    index = rt.index.get()
    township = [(i, c) for i, c in enumerate(index.cells) if c.code.startswith("220112100")]
    walked_by = {c.code: sorted(name for name, fixes in (("网格员小李", walkers["li"]), ("网格员小王", walkers["wang"]))
                                if any(index.geometry(i).covers(f) for f in fixes))
                 for i, c in township}
    expected = {code: names for code, names in walked_by.items() if names}
    coverage = answer["coverage"]
    assert {g["code"]: g["walked_by"] for g in coverage["grids"]} == expected
    base = [c for _, c in township if c.kind == "base"]
    covered_base = {c.code for c in base} & set(expected)
    assert (coverage["base_grids"], coverage["covered_base_grids"]) == (len(base), len(covered_base))
    assert coverage["share"] == round(len(covered_base) / len(base), 4)
    assert walkers["other_grid"] not in {g["code"] for g in coverage["grids"]}


def test_a_screen_sees_its_own_areas_workers_only(rt, walkers):
    county = screen_of(rt, OFFICE_PHONES["supervisor"], walkers)
    assert (county["grid_workers"], county["on_patrol"]) == (3, 2)
    assert {w["name"] for w in county["patrolling"]} == {"网格员小王", "鹿乡网格员"}
    assert walkers["other_grid"] in {g["code"] for g in county["coverage"]["grids"]}
    luxiang = screen_of(rt, OFFICE_PHONES["other_commander"], walkers)
    assert (luxiang["grid_workers"], luxiang["on_patrol"]) == (1, 1)
    assert [w["name"] for w in luxiang["patrolling"]] == ["鹿乡网格员"]
    assert [f["properties"]["name"] for f in luxiang["tracks"]["features"]] == ["鹿乡网格员"]
    assert {g["code"][:9] for g in luxiang["coverage"]["grids"]} == {LUXIANG[:9]}


def test_a_departments_people_watch_no_ones_patrols(rt, walkers):
    """As in the indicators (docs/indicators.md, "Who sees patrols"), though their map shows the area."""
    answer = screen_of(rt, OFFICE_PHONES["handler"], walkers)
    assert (answer["grid_workers"], answer["on_patrol"], answer["patrolling"]) == (0, 0, [])
    assert answer["tracks"]["features"] == [] and answer["coverage"]["grids"] == []


def test_a_fix_older_than_the_live_window_is_not_on_patrol(rt, walkers):
    """Ten minutes and one second after 小王's newest fix he is no longer on patrol; his track stays."""
    later = {**walkers, "now": walkers["now"] + timedelta(minutes=9, seconds=1)}
    answer = screen_of(rt, OFFICE_PHONES["commander"], later)
    assert answer["on_patrol"] == 0 and answer["patrolling"] == []
    assert {f["properties"]["name"] for f in answer["tracks"]["features"]} == {"网格员小王", "网格员小李"}
    just = {**walkers, "now": walkers["now"] + timedelta(minutes=9)}
    assert screen_of(rt, OFFICE_PHONES["commander"], just)["patrolling"][0]["age_s"] == 600


def test_without_tracks_only_who_walks_is_said(rt, walkers):
    answer = screen_of(rt, OFFICE_PHONES["commander"], walkers, with_tracks=False)
    assert set(answer) == {"crs", "at", "live_minutes", "grid_workers", "on_patrol", "patrolling"}
    assert answer["on_patrol"] == 1


def test_the_next_batch_of_fixes_is_drawn_at_the_next_question(rt, walkers):
    """Tracks are kept between questions (gridsvc.patrols.now.TrackCache) until a batch moves the day on."""
    def wang_track(answer):
        [track] = [f for f in answer["tracks"]["features"] if f["properties"]["name"] == "网格员小王"]
        return shapely.geometry.shape(track["geometry"])

    before = wang_track(screen_of(rt, OFFICE_PHONES["commander"], walkers))
    assert wang_track(screen_of(rt, OFFICE_PHONES["commander"], walkers)).equals(before)
    later = walkers["now"] + timedelta(seconds=30)
    with rt.sessions.begin() as session:
        wang = user_of(session, OFFICE_PHONES["worker"])
        patrol = session.scalar(sa.select(Patrol).where(Patrol.user_id == wang.id))
        onwards = [moved(walkers["wang"][-1], -STRIDE_M * step) for step in (1, 2)]  # on westwards
        add_points(session, patrol, [PointInput(len(OUT_AND_BACK) + i, p.x, p.y, CGCS2000, 5.0,
                                                walkers["now"] + timedelta(seconds=STEP_S * i))
                                     for i, p in enumerate(onwards)], rt.settings, now=later)
    answer = screen_of(rt, OFFICE_PHONES["commander"], {**walkers, "now": later})
    after = wang_track(answer)
    assert after.distance(shapely.Point(onwards[-1].x, onwards[-1].y)) < 1e-7
    assert before.distance(shapely.Point(onwards[-1].x, onwards[-1].y)) > 1e-4
    assert answer["patrolling"][0]["age_s"] == 20
