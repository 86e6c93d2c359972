"""The county desk and the screen's 巡查 layer through the API, on both databases: the filters the county
supervisor's queues use (上报县级, 县级预警, 督办) on GET /api/v1/cases, the townships' names and label
points the county's map writes, and GET /api/v1/screen/patrols with fixes a phone posted."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import shapely

from gridsvc.cases.deadline_sweep import sweep
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import OPEN_STATUSES
from tests.support import QIJIA, assert_documented, moved, report, step

OPEN = ",".join(OPEN_STATUSES)


@pytest.fixture
def spec(office):
    return office["client"].get("/api/openapi.json").get_json()


def listed(office, who, query):
    answer = office["client"].get(f"/api/v1/cases?{query}&status={OPEN}", headers=office["headers"](who))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


@pytest.fixture
def county_cases(office, rt):
    """Three open 齐家镇 cases: one long overdue (the sweep alerted the county) and supervised (督办),
    then one escalated to the county (上报县级) and one only reported."""
    alerted = report(office)
    step(office, "commander", alerted, "file")
    step(office, "commander", alerted, "dispatch")
    now = utcnow()
    for days in (40, 80):  # the handling deadline passes (overdue), then a working day more (county_alert)
        sweep(rt.sessions, rt.calendar.get(), rt.settings, now + timedelta(days=days))
    step(office, "supervisor", alerted, "supervise", note="请限期办结")
    escalated = report(office, offset_m=5)
    step(office, "commander", escalated, "file")
    step(office, "commander", escalated, "escalate", note="超出乡镇处置能力")
    plain = report(office, offset_m=10)
    return {"alerted": alerted["tracking_no"], "escalated": escalated["tracking_no"], "plain": plain["tracking_no"]}


def numbers(answer) -> set[str]:
    return {c["tracking_no"] for c in answer["cases"]}


def test_the_county_queues_hold_what_reached_the_county(office, county_cases, spec):
    escalated = listed(office, "supervisor", "escalated=true")
    assert numbers(escalated) == {county_cases["escalated"]} and escalated["total"] == 1
    assert escalated["cases"][0]["township"] == QIJIA  # the desk names it from the map's townships
    alerted = listed(office, "supervisor", "county_alerted=true")
    assert numbers(alerted) == {county_cases["alerted"]} and alerted["cases"][0]["overdue_level"] == 2
    supervised = listed(office, "supervisor", "supervised=true")
    assert numbers(supervised) == {county_cases["alerted"]} and supervised["cases"][0]["supervision_count"] == 1
    assert numbers(listed(office, "supervisor", "escalated=false")) == {county_cases["alerted"], county_cases["plain"]}
    assert numbers(listed(office, "supervisor", "county_alerted=false&supervised=false")) == {
        county_cases["escalated"], county_cases["plain"]}
    assert_documented(spec, "get", "/api/v1/cases", office["client"].get(
        "/api/v1/cases?escalated=true", headers=office["headers"]("supervisor")), 200)


def test_another_townships_commander_finds_none_of_them(office, county_cases):
    for query in ("escalated=true", "county_alerted=true", "supervised=true"):
        assert listed(office, "other_commander", query)["total"] == 0
    assert listed(office, "commander", "escalated=true")["total"] == 1  # the township keeps sight of its own


def test_a_filter_that_is_not_a_boolean_is_refused(office):
    answer = office["client"].get("/api/v1/cases?supervised=maybe", headers=office["headers"]("supervisor"))
    assert answer.status_code == 422 and "supervised" in answer.get_json()["error"]["fields"]


def test_the_county_map_labels_each_township_inside_it(office):
    layers = office["client"].get("/api/v1/screen/map", headers=office["headers"]("supervisor")).get_json()
    townships = layers["townships"]["features"]
    assert len(townships) > 1 and QIJIA in {f["id"] for f in townships}
    for feature in townships:
        assert shapely.geometry.shape(feature["geometry"]).contains(shapely.Point(feature["properties"]["label"]))


# -- GET /api/v1/screen/patrols ------------------------------------------------------------------


def post_fixes(office, who, start_at, offsets):
    """A patrol started by `who`'s phone and fixes `offsets` metres east of the office's point, 10 s apart,
    the newest `start_at` + 10 s × (n − 1)."""
    client, headers = office["client"], office["headers"](who)
    patrol = str(uuid.uuid4())
    started = client.post("/mobile/v1/patrols", headers=headers,
                          json={"client_uuid": patrol, "started_at": (start_at - timedelta(seconds=5)).isoformat()})
    assert started.status_code == 201, started.get_json()
    points = [{"seq": i, "lon": p.x, "lat": p.y, "crs": "cgcs2000", "accuracy": 5,
               "recorded_at": (start_at + timedelta(seconds=10 * i)).isoformat()}
              for i, p in enumerate(moved(office["point"], east) for east in offsets)]
    answer = client.post(f"/mobile/v1/patrols/{patrol}/points", headers=headers, json={"points": points})
    assert answer.get_json()["added"] == len(offsets), answer.get_json()
    return patrol


def test_the_patrol_layer_shows_a_worker_walking_now(office, spec):
    post_fixes(office, "worker", utcnow() - timedelta(seconds=40), [0, 12, 24])
    answer = office["client"].get("/api/v1/screen/patrols", headers=office["headers"]("commander"))
    assert_documented(spec, "get", "/api/v1/screen/patrols", answer, 200)
    body = answer.get_json()
    assert (body["crs"], body["grid_workers"], body["on_patrol"]) == ("cgcs2000", 2, 1)
    [walker] = body["patrolling"]
    assert walker["name"] == "网格员小王" and walker["grid_codes"] == [office["grid"].code]
    assert 15 <= walker["age_s"] <= 60  # the newest fix was taken 20 s ago, by the phone's clock
    newest = moved(office["point"], 24)
    assert (walker["lon"], walker["lat"]) == pytest.approx((newest.x, newest.y), abs=1e-9)
    assert [f["properties"]["name"] for f in body["tracks"]["features"]] == ["网格员小王"]
    assert office["grid"].code in {g["code"] for g in body["coverage"]["grids"]}


def test_the_kpi_poll_leaves_the_tracks_out_and_other_townships_see_nobody(office, spec):
    post_fixes(office, "worker", utcnow() - timedelta(seconds=40), [0, 12, 24])
    light = office["client"].get("/api/v1/screen/patrols?tracks=false", headers=office["headers"]("commander"))
    assert_documented(spec, "get", "/api/v1/screen/patrols", light, 200)
    assert "tracks" not in light.get_json() and light.get_json()["on_patrol"] == 1
    other = office["client"].get("/api/v1/screen/patrols", headers=office["headers"]("other_commander")).get_json()
    assert (other["grid_workers"], other["on_patrol"], other["patrolling"]) == (0, 0, [])
    assert other["tracks"]["features"] == [] and other["coverage"]["grids"] == []
    assert office["client"].get("/api/v1/screen/patrols").status_code == 401
    refused = office["client"].get("/api/v1/screen/patrols?tracks=maybe", headers=office["headers"]("commander"))
    assert refused.status_code == 422
