"""Patrols (巡查): start/stop, idempotent track uploads, per-grid length and coverage (both backends).

Expected lengths and shares are computed here independently of the service: lengths as geodesics on
the GRS80 ellipsoid (pyproj.Geod), shares by sampling the grid on a 1.5 m lattice in an azimuthal
equidistant projection centred on it, never with the service's Gauss–Krüger helpers.
"""

import uuid
from datetime import datetime, time, timedelta

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Geod, Transformer

from gridsvc.accounts.users import create_user
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.geo.tracks import Fix, TrackRules, clean, pieces
from gridsvc.kernel.models import PatrolPoint, User
from gridsvc.kernel.clock import utcnow
from gridsvc.patrols.recording import PointInput, add_points, day_coverage, my_patrol
from gridsvc.worktime.calendar import CHINA
from tests.support import at_once

PASSWORD = "correct horse battery"
WALKER, OTHER = "13800000003", "13800000004"
GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid
GCJ02 = parse_crs("gcj02")


@pytest.fixture
def patrol_desk(sample_app, rt):
    """Two grid workers signed in, yesterday (China time) at 09:00, and the sample county's index."""
    grid = rt.index.get().cells[0].code
    with rt.sessions.begin() as session:
        create_user(session, WALKER, "网格员小王", "grid_worker", PASSWORD, grid_codes=[grid])
        create_user(session, OTHER, "网格员小李", "grid_worker", PASSWORD, grid_codes=[grid])
    client = sample_app.test_client()

    def headers(phone):
        body = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD}).get_json()
        return {"Authorization": f"Bearer {body['access_token']}"}

    day = (utcnow().astimezone(CHINA) - timedelta(days=1)).date()
    return {"client": client, "me": headers(WALKER), "other": headers(OTHER), "index": rt.index.get(),
            "day": day, "t0": datetime.combine(day, time(9, 0), CHINA)}


def local_projection(lon: float, lat: float) -> tuple[Transformer, Transformer]:
    """(to metres, back to lon/lat) in an azimuthal equidistant projection centred at (lon, lat)."""
    aeqd = f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=GRS80 +units=m"
    return (Transformer.from_crs("EPSG:4490", aeqd, always_xy=True),
            Transformer.from_crs(aeqd, "EPSG:4490", always_xy=True))


def in_metres(geom, forward: Transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))


def fixes(lonlats, t0: datetime, step_s: float = 6.0, first_seq: int = 0, crs: str = "gcj02") -> list[dict]:
    """Fixes as an AMap phone reports them (GCJ-02), one every `step_s` seconds from t0."""
    out = []
    for i, (lon, lat) in enumerate(lonlats):
        x, y = from_cgcs2000(lon, lat, GCJ02) if crs == "gcj02" else (lon, lat)
        out.append({"seq": first_seq + i, "lon": float(x), "lat": float(y), "crs": crs, "accuracy": 5,
                    "recorded_at": (t0 + timedelta(seconds=step_s * i)).isoformat()})
    return out


def geodesic_length(lonlats) -> float:
    lons, lats = zip(*lonlats)
    return GEOD.line_length(lons, lats)


def start_patrol(desk, who="me", started_at=None, client_uuid=None):
    body = {"client_uuid": client_uuid or str(uuid.uuid4()),
            "started_at": (started_at or desk["t0"] - timedelta(minutes=1)).isoformat()}
    response = desk["client"].post("/mobile/v1/patrols", json=body, headers=desk[who])
    assert response.status_code == 201, response.get_json()
    return body["client_uuid"]


def upload(desk, patrol: str, points: list, who="me"):
    return desk["client"].post(f"/mobile/v1/patrols/{patrol}/points", json={"points": points}, headers=desk[who])


def coverage(desk, who="me", **params):
    response = desk["client"].get("/mobile/v1/patrols/coverage", headers=desk[who],
                                  query_string={"date": desk["day"].isoformat(), **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def base_position(index, prefix: str) -> int:
    return next(i for i, c in enumerate(index.cells) if c.code.startswith(prefix) and c.kind == "base")


def ring_inside(index, position: int, inset_m: float, spacing_m: float) -> list[tuple[float, float]]:
    """Lon/lat points every `spacing_m` along a ring `inset_m` inside a grid's boundary, closed."""
    grid = index.geometry(position)
    centre = grid.centroid
    forward, back = local_projection(centre.x, centre.y)
    ring = in_metres(grid, forward).buffer(-inset_m).exterior
    distances = np.append(np.arange(0.0, ring.length, spacing_m), ring.length)
    xy = [(p.x, p.y) for p in (ring.interpolate(d) for d in distances)]
    lons, lats = back.transform([x for x, _ in xy], [y for _, y in xy])
    return list(zip(lons, lats))


def test_a_walk_round_a_grid_gives_its_geodesic_length_and_covered_share(patrol_desk):
    desk, index = patrol_desk, patrol_desk["index"]
    position = base_position(index, "220112001001")  # an urban grid of 云山社区, about 170 m across
    code = index.cells[position].code
    path = ring_inside(index, position, inset_m=20.0, spacing_m=8.0)
    patrol = start_patrol(desk)
    response = upload(desk, patrol, fixes(path, desk["t0"]))
    assert response.status_code == 200 and response.get_json()["added"] == len(path)

    answer = coverage(desk)
    expected = geodesic_length(path)
    assert answer["length_m"] == pytest.approx(expected, rel=0.01)
    grid = next(g for g in answer["grids"] if g["code"] == code)
    assert grid["length_m"] == pytest.approx(expected, rel=0.01)
    assert answer["outside_grids_m"] < 1.0 and answer["fixes"] == len(path)
    assert sum(g["length_m"] for g in answer["grids"] if g["kind"] == "base") == pytest.approx(expected, rel=0.01)

    # The share within 30 m of the track, sampled on a lattice in a projection of our own.
    forward, _ = local_projection(*index.geometry(position).centroid.coords[0])
    area = in_metres(index.geometry(position), forward)
    track = in_metres(shapely.LineString(path), forward)
    minx, miny, maxx, maxy = area.bounds
    xs, ys = np.meshgrid(np.arange(minx, maxx, 1.5), np.arange(miny, maxy, 1.5))
    xs, ys = xs.ravel(), ys.ravel()
    inside = shapely.contains_xy(area, xs, ys)
    near = shapely.distance(shapely.points(xs[inside], ys[inside]), track) <= answer["buffer_m"]
    assert answer["buffer_m"] == 30.0
    assert 0.5 < grid["covered_share"] < 1.0
    assert grid["covered_share"] == pytest.approx(near.mean(), abs=0.02)
    assert grid["area_m2"] == pytest.approx(area.area, rel=0.005)


def shared_edge_crossing(index, half_m: float = 30.0):
    """Two neighbouring base grids and a straight step from 30 m inside one to 30 m inside the other,
    square across the middle of the longest straight stretch of their shared edge."""
    base = [i for i, c in enumerate(index.cells) if c.kind == "base" and c.code.startswith("220112100")]
    first = base[0]
    centre = index.geometry(first).centroid
    forward, back = local_projection(centre.x, centre.y)
    a = in_metres(index.geometry(first), forward)
    best = None
    for other in base[1:]:
        b = in_metres(index.geometry(other), forward)
        shared = shapely.line_merge(a.boundary.intersection(b.boundary))
        for part in getattr(shared, "geoms", [shared]):
            if part.geom_type == "LineString" and (best is None or part.length > best[1].length):
                best = (other, part)
    other, edge = best
    assert edge.length > 4 * half_m
    middle = edge.interpolate(0.5, normalized=True)
    before, after = edge.interpolate(edge.length / 2 - 1.0), edge.interpolate(edge.length / 2 + 1.0)
    dx, dy = after.x - before.x, after.y - before.y
    norm = np.hypot(dx, dy)
    nx, ny = -dy / norm, dx / norm
    ends = [(middle.x - half_m * nx, middle.y - half_m * ny), (middle.x + half_m * nx, middle.y + half_m * ny)]
    lons, lats = back.transform([x for x, _ in ends], [y for _, y in ends])
    step = list(zip(lons, lats))
    located = [index.locate(lon, lat).grid.code for lon, lat in step]
    codes = {index.cells[first].code, index.cells[other].code}
    assert set(located) == codes  # one end in each grid
    return step, located


def test_a_step_across_a_shared_edge_splits_its_length_between_the_grids(patrol_desk):
    desk = patrol_desk
    step, (first, second) = shared_edge_crossing(desk["index"])
    patrol = start_patrol(desk)
    assert upload(desk, patrol, fixes(step, desk["t0"], step_s=40.0)).get_json()["added"] == 2
    answer = coverage(desk)
    lengths = {g["code"]: g["length_m"] for g in answer["grids"] if g["length_m"] > 0}
    assert set(lengths) == {first, second}
    assert lengths[first] == pytest.approx(30.0, abs=0.5) and lengths[second] == pytest.approx(30.0, abs=0.5)
    assert answer["length_m"] == pytest.approx(geodesic_length(step), rel=0.01)
    covered = {g["code"]: g for g in answer["grids"]}
    assert covered[first]["covered_m2"] > 0 and covered[second]["covered_m2"] > 0


def straight_walk(index, count: int, spacing_m: float = 10.0, bearing: float = 90.0):
    """`count` lon/lat points `spacing_m` apart, eastwards from a rural grid's inner point."""
    start = index.geometry(base_position(index, "220112100")).representative_point()
    lons, lats, _ = GEOD.fwd([start.x] * count, [start.y] * count, [bearing] * count,
                             [spacing_m * i for i in range(count)])
    return list(zip(lons, lats))


def test_a_batch_sent_again_adds_nothing_twice(patrol_desk):
    desk = patrol_desk
    path = straight_walk(desk["index"], 30)
    points = fixes(path, desk["t0"])
    patrol = start_patrol(desk)
    first = upload(desk, patrol, points[:20]).get_json()
    again = upload(desk, patrol, points[:20]).get_json()  # the phone never saw the answer
    overlap = upload(desk, patrol, points[10:]).get_json()
    assert (first["added"], first["already_had"]) == (20, 0)
    assert (again["added"], again["already_had"]) == (0, 20)
    assert (overlap["added"], overlap["already_had"]) == (10, 10)
    assert overlap["patrol"]["points"] == 30
    assert coverage(desk)["length_m"] == pytest.approx(geodesic_length(path), rel=0.01)

    moved = {**points[5], "lon": points[5]["lon"] + 0.001}
    refused = upload(desk, patrol, [moved]).get_json()
    assert refused["results"][0]["result"] == "rejected"
    assert refused["results"][0]["error"]["code"] == "seq_conflict" and refused["patrol"]["points"] == 30
    within = upload(desk, patrol, [points[29], points[29]]).get_json()  # the same fix twice in one batch
    assert [r["result"] for r in within["results"]] == ["already_had", "already_had"]
    assert coverage(desk)["length_m"] == pytest.approx(geodesic_length(path), rel=0.01)


def test_a_gps_jump_and_a_long_silence_are_not_counted(patrol_desk):
    desk = patrol_desk
    path = straight_walk(desk["index"], 11)  # 100 m, a fix every 10 m
    glitch_lon, glitch_lat, _ = GEOD.fwd(path[5][0], path[5][1], 0.0, 2000.0)  # a multipath fix 2 km north
    walked = fixes(path, desk["t0"], step_s=8.0)
    jump = fixes([(glitch_lon, glitch_lat)], desk["t0"] + timedelta(seconds=44), first_seq=100)[0]
    points = walked[:6] + [{**jump, "seq": 6}] + [{**p, "seq": p["seq"] + 1} for p in walked[6:]]
    # After 20 minutes without a fix, the worker is 500 m further on: how they got there is unknown.
    later = straight_walk(desk["index"], 6, bearing=90.0)
    later = [GEOD.fwd(lon, lat, 90.0, 600.0)[:2] for lon, lat in later]
    points += fixes(later, desk["t0"] + timedelta(minutes=22), step_s=8.0, first_seq=20)
    patrol = start_patrol(desk)
    assert upload(desk, patrol, points).get_json()["added"] == len(points)

    answer = coverage(desk)
    expected = geodesic_length(path) + geodesic_length(later)
    assert answer["length_m"] == pytest.approx(expected, rel=0.01)
    assert answer["dropped_fixes"] == 1 and answer["ignored_steps"] == 1
    assert answer["fixes"] == len(points)


def test_standing_still_collects_no_length_from_jitter(patrol_desk):
    desk = patrol_desk
    centre = straight_walk(desk["index"], 1)[0]
    rng = np.random.default_rng(7)
    jitter = [GEOD.fwd(centre[0], centre[1], float(rng.uniform(0, 360)), float(rng.uniform(0, 2)))[:2]
              for _ in range(60)]
    patrol = start_patrol(desk)
    upload(desk, patrol, fixes(jitter, desk["t0"], step_s=5.0))
    answer = coverage(desk)
    assert answer["length_m"] == 0.0
    own = [g for g in answer["grids"] if g["kind"] == "base"]
    assert own and sum(g["covered_m2"] for g in own) == pytest.approx(np.pi * 30.0**2, rel=0.01)


def test_another_user_gets_404_and_sees_nothing_of_my_patrol(patrol_desk):
    desk, client = patrol_desk, patrol_desk["client"]
    patrol = start_patrol(desk)
    points = fixes(straight_walk(desk["index"], 5), desk["t0"])
    assert upload(desk, patrol, points).status_code == 200
    assert upload(desk, patrol, points, who="other").status_code == 404
    assert client.post(f"/mobile/v1/patrols/{patrol}/stop", headers=desk["other"]).status_code == 404
    response = client.get("/mobile/v1/patrols/coverage", headers=desk["other"],
                          query_string={"date": desk["day"].isoformat(), "patrol": patrol})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "patrol_not_found"
    assert coverage(desk, who="other")["length_m"] == 0.0 and coverage(desk)["length_m"] > 30
    taken = client.post("/mobile/v1/patrols", json={"client_uuid": patrol}, headers=desk["other"])
    assert taken.status_code == 409
    assert client.post(f"/mobile/v1/patrols/{patrol}/stop").status_code == 401
    assert upload(desk, "not-a-uuid", points).status_code == 404


def test_bad_fixes_are_refused_with_reasons_while_good_ones_land(patrol_desk):
    desk = patrol_desk
    good = fixes(straight_walk(desk["index"], 3), desk["t0"])
    future = (utcnow() + timedelta(days=1)).isoformat()
    bad = [
        {**good[0], "seq": 10, "accuracy": 500},  # a fix no better than half a kilometre
        {**good[0], "seq": 11, "lat": 95.0},
        {**good[0], "seq": 12, "crs": "mars"},
        {k: v for k, v in good[0].items() if k != "recorded_at"} | {"seq": 13},
        {**good[0], "seq": 14, "recorded_at": future},
        {**good[0], "seq": 15, "lon": 0.0, "lat": 0.0, "crs": "wgs84"},  # a phone without a position
        {**good[0], "seq": 16, "recorded_at": (desk["t0"] - timedelta(hours=3)).isoformat()},
        {**good[0], "seq": -1},
        {**good[0], "seq": 17, "lon": "east"},
        "not a fix",
    ]
    patrol = start_patrol(desk)
    answer = upload(desk, patrol, [good[0], *bad, good[1], good[2]]).get_json()
    assert (answer["added"], answer["rejected"]) == (3, len(bad))
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(len(bad) + 3))
    assert [r["result"] for r in results] == ["added"] + ["rejected"] * len(bad) + ["added", "added"]
    fields = [set(r["error"]["fields"]) for r in results[1:-2]]
    assert fields == [{"accuracy"}, {"lat"}, {"crs"}, {"recorded_at"}, {"recorded_at"}, {"lon"},
                      {"recorded_at"}, {"seq"}, {"lon"}, {"seq", "lon", "lat", "crs", "recorded_at"}]
    assert results[6]["error"]["fields"]["lon"][0].startswith("the fix lies outside China")

    client = desk["client"]
    too_many = upload(desk, patrol, [good[0]] * 1001)
    assert too_many.status_code == 422 and "points" in too_many.get_json()["error"]["fields"]
    assert upload(desk, patrol, []).status_code == 422
    assert client.post(f"/mobile/v1/patrols/{patrol}/points", json={"points": "x"},
                       headers=desk["me"]).status_code == 422
    garbage = client.post(f"/mobile/v1/patrols/{patrol}/points", data="{", headers=desk["me"])
    assert garbage.status_code == 400 and garbage.get_json()["error"]["code"] == "invalid_body"
    for query in ({"date": "yesterday"}, {}, {"date": "1900-01-01"}):
        response = client.get("/mobile/v1/patrols/coverage", headers=desk["me"], query_string=query)
        assert response.status_code == 422 and "date" in response.get_json()["error"]["fields"]
    assert coverage(desk)["fixes"] == 3


def test_a_null_fix_or_a_number_in_a_string_is_rejected_alone(patrol_desk):
    desk = patrol_desk
    good = fixes(straight_walk(desk["index"], 3), desk["t0"])
    bad = [None, {**good[0], "seq": 10, "lon": str(good[0]["lon"])}, {**good[0], "seq": 11, "accuracy": "5"},
           {**good[0], "seq": True}, {**good[0], "seq": "12"}]
    answer = upload(desk, start_patrol(desk), [good[0], *bad, good[1], good[2]])
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["added"], body["rejected"]) == (3, len(bad))
    assert [r["result"] for r in body["results"]] == ["added"] + ["rejected"] * len(bad) + ["added", "added"]
    assert body["results"][1] == {"index": 1, "seq": None, "result": "rejected", "error": {
        "code": "invalid_parameters",
        "fields": {name: ["必填 / Missing data for required field."]
                   for name in ("seq", "lon", "lat", "crs", "recorded_at")}}}
    assert [r["error"]["fields"] for r in body["results"][2:6]] == [
        {"lon": ["须为数字 / Not a valid number."]}, {"accuracy": ["须为数字 / Not a valid number."]},
        {"seq": ["须为整数 / Not a valid integer."]}, {"seq": ["须为整数 / Not a valid integer."]}]
    assert [r["seq"] for r in body["results"][1:6]] == [None, 10, 11, None, None]  # true is no seq, nor is "12"


def test_start_and_stop_are_idempotent(patrol_desk):
    desk, client = patrol_desk, patrol_desk["client"]
    body = {"client_uuid": str(uuid.uuid4()), "started_at": desk["t0"].isoformat()}
    first = client.post("/mobile/v1/patrols", json=body, headers=desk["me"])
    spelled = {**body, "client_uuid": body["client_uuid"].upper(), "started_at": None}
    again = client.post("/mobile/v1/patrols", json=spelled, headers=desk["me"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()  # the first start wins
    patrol = body["client_uuid"]
    upload(desk, patrol, fixes(straight_walk(desk["index"], 5), desk["t0"]))

    ended = (desk["t0"] + timedelta(hours=1)).isoformat()
    stopped = client.post(f"/mobile/v1/patrols/{patrol}/stop", json={"ended_at": ended}, headers=desk["me"])
    stopped_again = client.post(f"/mobile/v1/patrols/{patrol}/stop", headers=desk["me"])
    assert stopped.status_code == stopped_again.status_code == 200
    assert stopped.get_json()["stopped_now"] is True and stopped_again.get_json()["stopped_now"] is False
    assert stopped_again.get_json()["ended_at"] == stopped.get_json()["ended_at"]
    assert stopped.get_json()["points"] == 5

    # A batch queued offline arrives after the stop: fixes from the walk land, later ones do not.
    late = fixes(straight_walk(desk["index"], 2), desk["t0"] + timedelta(minutes=30), first_seq=5)
    after = fixes(straight_walk(desk["index"], 1), desk["t0"] + timedelta(hours=2), first_seq=7)
    results = upload(desk, patrol, late + after).get_json()["results"]
    assert [r["result"] for r in results] == ["added", "added", "rejected"]
    assert "stopped" in results[2]["error"]["fields"]["recorded_at"][0]

    early = {"client_uuid": str(uuid.uuid4()), "started_at": desk["t0"].isoformat()}
    client.post("/mobile/v1/patrols", json=early, headers=desk["me"])
    before = client.post(f"/mobile/v1/patrols/{early['client_uuid']}/stop", headers=desk["me"],
                         json={"ended_at": (desk["t0"] - timedelta(hours=1)).isoformat()})
    assert before.status_code == 422 and "ended_at" in before.get_json()["error"]["fields"]
    bad = client.post("/mobile/v1/patrols", json={"client_uuid": "nope"}, headers=desk["me"])
    assert bad.status_code == 422 and "client_uuid" in bad.get_json()["error"]["fields"]


def test_a_walk_across_china_midnight_is_split_between_the_two_days(patrol_desk, rt):
    desk = patrol_desk
    path = straight_walk(desk["index"], 31)  # 300 m, 8 s a fix: 23:58 to 00:02 China time
    midnight = datetime.combine(desk["day"], time(0), CHINA)
    patrol = start_patrol(desk, started_at=midnight - timedelta(minutes=3))
    upload(desk, patrol, fixes(path, midnight - timedelta(seconds=120), step_s=8.0))
    with rt.sessions() as session:
        user = session.scalar(sa.select(User).where(User.phone == WALKER))
        index = rt.index.get()
        before = day_coverage(session, index, rt.settings, user, desk["day"] - timedelta(days=1))
        after = day_coverage(session, index, rt.settings, user, desk["day"])
    total = geodesic_length(path)
    assert before.length_m == pytest.approx(total * 120 / 240, rel=0.01)
    assert after.length_m == pytest.approx(total * 120 / 240, rel=0.01)
    assert before.fixes + after.fixes == len(path)


def test_the_same_batch_sent_eight_times_at_once_is_stored_once(patrol_desk, rt):
    desk = patrol_desk
    patrol_uuid = start_patrol(desk)
    path = straight_walk(desk["index"], 50)
    crs = parse_crs("wgs84")
    batch = [PointInput(i, lon, lat, crs, 5.0, desk["t0"] + timedelta(seconds=6 * i))
             for i, (lon, lat) in enumerate(path)]

    def send():
        with rt.sessions() as session:
            user = session.scalar(sa.select(User).where(User.phone == WALKER))
            results = [r.result for r in add_points(session, my_patrol(session, user, patrol_uuid), batch, rt.settings)]
            session.commit()
            return results

    outcomes = at_once([send] * 8)
    assert all(set(results) <= {"added", "already_had"} for results in outcomes)
    assert sum(results.count("added") for results in outcomes) == 50
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(PatrolPoint)) == 50


def test_track_rules_on_their_own():
    rules = TrackRules(max_speed_mps=30.0, max_gap_s=300.0, min_step_m=5.0)
    walk = [Fix(10.0 * i, 10.0 * i, 0.0) for i in range(5)]  # 1 m/s eastwards
    assert [len(run) for run in clean(walk, rules).runs] == [5]
    backwards = walk[:3] + [Fix(5.0, 30.0, 0.0)] + [Fix(40.0, 40.0, 0.0)]  # the clock jumped back
    track = clean(backwards, rules)
    assert track.ignored_steps >= 1 and sum(p.length for p in pieces(track)) < 40.0
    assert clean([walk[0]], rules).runs == [] and pieces(clean([], rules)) == []
    # Cut in proportion to time: the middle 20 s of a 40 m walk are 20 m.
    middle = pieces(clean(walk, rules), 10.0, 30.0)
    assert len(middle) == 1 and middle[0].length == pytest.approx(20.0)
