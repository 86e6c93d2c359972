"""The command screen's 巡查 layer and the county desk in a real headless Chromium against gunicorn, on both
databases: a grid worker walking with a phone (fixes posted through /mobile/v1/patrols during the test)
appears on the commander's map and moves with the next poll, the 在岗 tile counts them, a grid worker of
the neighbouring township is not drawn; the county supervisor's desk lists a case escalated to the county
with its township named, the map names each township, and the numbers tab compares the townships."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from gridsvc.accounts.users import create_user
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import User
from tests.support import (COMMANDER, COUNTY, PASSWORD, STRANGER, WALL, WORKER, moved, report_over_http,
                           sign_in_screen, wait_until)

playwright_api = pytest.importorskip("playwright.sync_api")

SUPERVISOR = "13800000015"
STEP_S = 10


@pytest.fixture
def page(pages):
    return pages(viewport=WALL)


def user_id(rt, phone: str) -> int:
    with rt.sessions() as session:
        return session.scalar(sa.select(User.id).where(User.phone == phone))


class Phone:
    """A grid worker's phone on patrol: it starts the patrol, then posts fixes walking east from `start`,
    12 m every 10 s, each stamped with the phone's clock as it is taken."""

    def __init__(self, server, town, who, start):
        self.server, self.headers, self.start = server, town["headers"](who), start
        self.patrol, self.seq = str(uuid.uuid4()), 0
        answer = requests.post(f"{server}/mobile/v1/patrols", headers=self.headers, timeout=30, json={
            "client_uuid": self.patrol, "started_at": (utcnow() - timedelta(minutes=1)).isoformat()})
        assert answer.status_code == 201, answer.text

    def walk(self, steps: int):
        """`steps` more fixes, the newest taken now; the position of the newest."""
        now = utcnow()
        points = []
        for back in range(steps - 1, -1, -1):
            place = moved(self.start, 12.0 * self.seq)
            points.append({"seq": self.seq, "lon": place.x, "lat": place.y, "crs": "cgcs2000", "accuracy": 5,
                           "recorded_at": (now - timedelta(seconds=STEP_S * back)).isoformat()})
            self.seq += 1
        answer = requests.post(f"{self.server}/mobile/v1/patrols/{self.patrol}/points", headers=self.headers,
                               json={"points": points}, timeout=30)
        assert answer.json()["added"] == steps, answer.text
        return place


def marker_at(page, worker: int) -> list[float]:
    return page.evaluate(f"(() => {{ const p = gridsvcScreen.patrols.markers.get({worker}).getLatLng();"
                         " return [p.lng, p.lat]; })()")


def test_the_patrol_layer_follows_a_walking_grid_worker_and_no_other_township(server, town, rt, page,
                                                                              save_screenshot):
    sign_in_screen(page, server, COMMANDER)
    wait_until(page, "document.querySelector('[data-kpi=on-patrol] .value')?.textContent === '0 / 1'")
    wang, stranger = user_id(rt, WORKER), user_id(rt, STRANGER)
    walking = Phone(server, town, WORKER, town["probe"])
    elsewhere = Phone(server, town, STRANGER, town["other_point"])
    first = walking.walk(3)
    elsewhere.walk(3)

    page.check("#patrols")
    wait_until(page, f"gridsvcScreen.patrols.markers.has({wang})")
    page.wait_for_selector(f'.patrol-marker [data-user-id="{wang}"]')
    assert marker_at(page, wang) == pytest.approx([first.x, first.y], abs=1e-7)  # no base map: CGCS2000
    assert "网格员小王" in page.inner_text(".patrol-marker .patrol-label")
    assert page.inner_text("[data-kpi=on-patrol] .value") == "1 / 1"
    assert page.evaluate("gridsvcScreen.patrols.tracks.getLayers().length") == 1
    assert page.evaluate("gridsvcScreen.patrols.covered.getLayers().length") >= 1
    assert town["grid"] in page.evaluate("gridsvcScreen.patrols.state.coverage.grids.map((g) => g.code)")
    assert "今日已巡查网格" in page.inner_text("#legend")

    # The phone walks on; the next poll (every 15 s) moves the same marker to the newest fix.
    marker = page.evaluate(f"L.stamp(gridsvcScreen.patrols.markers.get({wang}))")
    newest = walking.walk(2)
    wait_until(page, f"gridsvcScreen.patrols.markers.get({wang}).getLatLng().lng > {first.x + 1e-6}", timeout=25)
    assert marker_at(page, wang) == pytest.approx([newest.x, newest.y], abs=1e-7)
    assert page.evaluate(f"L.stamp(gridsvcScreen.patrols.markers.get({wang}))") == marker
    # The neighbouring township's worker walks too, and is neither drawn nor counted here.
    assert page.query_selector(f'.patrol-marker [data-user-id="{stranger}"]') is None
    assert page.evaluate("gridsvcScreen.patrols.state.patrolling.map((w) => w.name)") == ["网格员小王"]
    save_screenshot(page, "screen-patrols.png")

    page.uncheck("#patrols")
    assert page.query_selector(".patrol-marker [data-user-id]") is None
    assert page.inner_text("[data-kpi=on-patrol] .value") == "1 / 1"  # the tile stays


def test_the_county_supervisor_desk_lists_an_escalated_case_with_its_township(server, town, rt, page,
                                                                              save_screenshot):
    with rt.sessions.begin() as session:
        create_user(session, SUPERVISOR, "区督办", "county_supervisor", PASSWORD, admin_code=COUNTY)
    number = report_over_http(server, town)
    commander = town["headers"](COMMANDER)
    for name, body in (("file", {}), ("escalate", {"note": "需县级执法"})):
        answer = requests.post(f"{server}/mobile/v1/cases/{number}/steps/{name}", json=body, headers=commander,
                               timeout=30)
        assert answer.status_code == 200, answer.text

    sign_in_screen(page, server, SUPERVISOR)
    labels = page.evaluate("[...document.querySelectorAll('.township-label span')].map((s) => s.textContent)")
    assert {"齐家镇", "鹿乡镇"} <= set(labels)
    assert page.evaluate("[...document.querySelectorAll('#queues button')].map((b) => b.dataset.queue)") == [
        "escalated", "county_alert", "supervised", "overdue"]
    wait_until(page, "document.querySelector('[data-count=escalated]').textContent === '1'")
    row = f"#queue-list li[data-tracking-no='{number}']"
    page.wait_for_selector(row)
    assert page.inner_text(f"{row} .township") == "齐家镇"
    assert "上报县级" in page.inner_text(row)
    wait_until(page, "document.querySelector('[data-kpi=on-patrol] .value')?.textContent === '0 / 2'")
    save_screenshot(page, "screen-county-desk.png")

    page.click("nav.tabs button[data-tab=numbers]")
    wait_until(page, "gridsvcScreen.numbers.townships.rows.length > 1")
    assert not page.evaluate("document.querySelector('#numbers .townships').hidden")
    assert "齐家镇" in page.evaluate("gridsvcScreen.numbers.townships.rows.map((r) => r.name)")
