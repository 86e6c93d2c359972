"""巡查 on the field app: a grid worker's phone records a patrol of 100 GPS fixes walking round the inside of
their grid, with the network cut for the middle 50 (the page reloaded from the service worker's cache on
the way, the patrol carrying on), and the answer to the first batch after the reconnection lost after the
service had stored it. Once stopped and sent: the service has each fix exactly once, the metres and the
covered share per grid the phone shows are those the service answers for the patrol, and those are what
the service computes when another grid worker of the same grid posts the same 100 fixes through the API.
Headless Chromium at phone size, the service as deployed, both databases.
"""

from __future__ import annotations

import re
import time
import uuid

import numpy as np
import pytest
import requests
import shapely
import sqlalchemy as sa
from pyproj import Transformer

from gridsvc.accounts.users import create_user
from gridsvc.kernel.models import Patrol, PatrolPoint, User
from gridsvc.worktime.calendar import CHINA
from tests.support import PASSWORD, PHONES, WORKER, app_installed, check_phone_screen, sign_in_phone, wait_until

playwright_api = pytest.importorskip("playwright.sync_api")

FIXES, STEP_M, INSET_M = 100, 6.0, 15.0
CUT = range(25, 75)  # the fixes recorded with no network
RELOAD_AT = 50  # the page is reloaded (offline) before this fix
# At least this long between two fixes: 6 m in 0.3 s is 20 m/s, a plausible step for the service's track
# rules (at most 30 m/s); the fixes' times are the phone's.
PACE_S = 0.3
SECOND_WORKER = "13800000021"


def walk_in(index, code: str, count: int, step_m: float) -> list[tuple[float, float]]:
    """`count` lon/lat points `step_m` apart along a ring INSET_M inside the grid (round again if short)."""
    grid = index.geometry(index.position_of(code))
    centre = grid.centroid
    aeqd = f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +ellps=GRS80 +units=m"
    forward = Transformer.from_crs("EPSG:4490", aeqd, always_xy=True)
    back = Transformer.from_crs(aeqd, "EPSG:4490", always_xy=True)
    metres = shapely.transform(grid, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))
    inside = metres.buffer(-INSET_M)
    parts = getattr(inside, "geoms", [inside])
    ring = max(parts, key=lambda p: p.area).exterior
    assert ring.length > 20 * step_m, f"grid {code} is too small for the walk"
    points = [ring.interpolate((i * step_m) % ring.length) for i in range(count)]
    lons, lats = back.transform([p.x for p in points], [p.y for p in points])
    assert all(grid.contains(shapely.Point(lon, lat)) for lon, lat in zip(lons, lats))
    return list(zip(lons, lats))


def gps(lonlat: tuple[float, float]) -> dict:
    """A fix at a CGCS2000 point, taken as WGS84 (the same to well under a metre)."""
    return {"longitude": lonlat[0], "latitude": lonlat[1], "accuracy": 5.0}


def counter(page, name: str) -> int:
    return int(page.inner_text(f"#patrol-{name}"))


def stored_points(rt, phone_number: str) -> tuple[Patrol, list[PatrolPoint]]:
    with rt.sessions() as session:
        patrol = session.scalars(sa.select(Patrol).join(User, User.id == Patrol.user_id)
                                 .where(User.phone == phone_number)).one()
        points = session.scalars(sa.select(PatrolPoint).where(PatrolPoint.patrol_id == patrol.id)
                                 .order_by(PatrolPoint.seq)).all()
        session.expunge_all()
    return patrol, points


def api_session(server: str, phone_number: str) -> requests.Session:
    session = requests.Session()
    answer = session.post(f"{server}/mobile/v1/auth/login", timeout=30,
                          json={"phone": phone_number, "password": PASSWORD, "device_id": f"desk-{phone_number}"})
    assert answer.status_code == 200, answer.text
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


def coverage(session: requests.Session, server: str, day: str, patrol: str | None = None) -> dict:
    params = {"date": day, **({"patrol": patrol} if patrol else {})}
    answer = session.get(f"{server}/mobile/v1/patrols/coverage", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def phone_figures(page) -> dict:
    return page.evaluate("""(() => {
        const length = document.getElementById('patrol-length');
        return {length_m: Number(length.dataset.lengthM), fixes: Number(length.dataset.fixes),
                date: length.dataset.date, text: length.textContent,
                grids: [...document.querySelectorAll('#patrol-grids li[data-code]')].map((li) => ({
                    code: li.dataset.code, name: li.querySelector('.grid-name').textContent,
                    covered_share: Number(li.dataset.share), length_m: Number(li.dataset.lengthM),
                    shown: li.querySelector('.share').textContent}))};
    })()""")


def record(page, lonlat, recorded: int, last_at: float) -> float:
    """Move the phone to the next point, at the walking pace, and wait until the page counted the fix."""
    time.sleep(max(0.0, last_at + PACE_S - time.monotonic()))
    page.context.set_geolocation(gps(lonlat))
    at = time.monotonic()
    wait_until(page, f"document.getElementById('patrol-recorded').textContent === '{recorded}'", timeout=15)
    return at


def test_a_patrol_cut_off_in_the_middle_reaches_the_service_whole(
        phone, server, town, rt, save_screenshot):
    path = walk_in(rt.index.get(), town["grid"], FIXES, STEP_M)
    sign_in_phone(phone, server)
    app_installed(phone)
    phone.context.set_geolocation(gps(path[0]))
    phone.click(".tabs button[data-view=patrol]")
    assert "熄屏或切到后台" in phone.inner_text(".patrol-warning")
    phone.click("#patrol-start")
    wait_until(phone, "document.getElementById('patrol-status').dataset.state === 'recording'")
    wait_until(phone, "document.getElementById('patrol-recorded').textContent === '1'")
    wait_until(phone, "document.getElementById('patrol-wake').textContent !== ''")  # held, or says why not
    wake = phone.get_attribute("#patrol-wake", "data-wake")
    last = time.monotonic()

    lost = []

    def lose_the_first_answer(route):
        """The first batch after the reconnection reaches the service; its answer never reaches the phone."""
        if not lost:
            route.fetch()
            lost.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    for i in range(1, FIXES):
        if i == CUT.start:
            phone.context.set_offline(True)
        if i == RELOAD_AT:
            phone.reload()  # from the service worker's cache: the patrol is kept in IndexedDB
            wait_until(phone, "window.gridsvcField?.ready === true")
            phone.click(".tabs button[data-view=patrol]")
            wait_until(phone, "document.getElementById('patrol-status').dataset.state === 'recording'")
            assert counter(phone, "recorded") == RELOAD_AT
        if i == CUT.stop:
            sent_before = len(stored_points(rt, WORKER)[1])
            assert sent_before <= CUT.start  # what was recorded offline is on the phone only
            assert counter(phone, "waiting") >= len(CUT)
            assert phone.inner_text("#network") == "离线"
            phone.route("**/mobile/v1/patrols/*/points", lose_the_first_answer)
            phone.context.set_offline(False)  # `online`: what waits goes
        last = record(phone, path[i], i + 1, last)
        if i == 10:
            check_phone_screen(phone, "patrol, recording")

    phone.click("#patrol-stop")
    check_phone_screen(phone, "patrol, asked to confirm the end")
    phone.click("#patrol-stop-confirm")
    wait_until(phone, "document.getElementById('patrol-status').dataset.state === 'done'"
                      f" && document.getElementById('patrol-length').dataset.fixes === '{FIXES}'", timeout=30)
    phone.unroute("**/mobile/v1/patrols/*/points")
    assert lost, "no answer was lost"
    assert (counter(phone, "recorded"), counter(phone, "waiting"), counter(phone, "sent"),
            counter(phone, "rejected")) == (FIXES, 0, FIXES, 0)

    # The service has each fix once, as the phone's GPS gave it.
    patrol, points = stored_points(rt, WORKER)
    assert [p.seq for p in points] == list(range(FIXES))
    assert {p.input_crs for p in points} == {"wgs84"} and {p.accuracy_m for p in points} == {5.0}
    flat = [c for p in points for c in (p.input_x, p.input_y)]
    assert flat == pytest.approx([c for lonlat in path for c in lonlat], abs=1e-9)
    assert patrol.ended_at is not None
    assert all(a.recorded_at < b.recorded_at for a, b in zip(points, points[1:]))
    day = points[0].recorded_at.astimezone(CHINA).date().isoformat()

    # What the phone shows is what the service answers for the patrol.
    worker = api_session(server, WORKER)
    answered = coverage(worker, server, day, patrol.client_uuid)
    assert coverage(worker, server, day) == answered  # the worker's only patrol that day
    assert answered["fixes"] == FIXES and answered["length_m"] > 0.5 * FIXES * STEP_M
    assert town["grid"] in {g["code"] for g in answered["grids"]}
    shown = phone_figures(phone)
    assert shown["date"] == day and shown["fixes"] == FIXES
    assert shown["length_m"] == answered["length_m"]
    assert f"{round(answered['length_m'])} 米" in shown["text"]
    assert [{k: g[k] for k in ("code", "name", "covered_share", "length_m")} for g in shown["grids"]] == [
        {k: g[k] for k in ("code", "name", "covered_share", "length_m")} for g in answered["grids"]]
    for grid in shown["grids"]:
        percent = float(re.search(r"([\d.]+)%", grid["shown"]).group(1))
        assert abs(percent - 100 * grid["covered_share"]) <= 0.05 + 1e-9

    # The same 100 fixes posted through the API by another grid worker of the grid count the same.
    with rt.sessions.begin() as session:
        create_user(session, SECOND_WORKER, "网格员小赵", "grid_worker", PASSWORD, grid_codes=[town["grid"]])
    second = api_session(server, SECOND_WORKER)
    other = str(uuid.uuid4())
    started = second.post(f"{server}/mobile/v1/patrols", timeout=30,
                          json={"client_uuid": other, "started_at": patrol.started_at.isoformat()})
    assert started.status_code == 201, started.text
    posted = second.post(f"{server}/mobile/v1/patrols/{other}/points", timeout=30, json={"points": [
        {"seq": p.seq, "lon": p.input_x, "lat": p.input_y, "crs": p.input_crs, "accuracy": p.accuracy_m,
         "recorded_at": p.recorded_at.isoformat()} for p in points]})
    assert posted.status_code == 200 and posted.json()["added"] == FIXES, posted.text
    stopped = second.post(f"{server}/mobile/v1/patrols/{other}/stop", json={"ended_at": patrol.ended_at.isoformat()},
                          timeout=30)
    assert stopped.status_code == 200, stopped.text
    assert coverage(second, server, day, other) == answered

    # The screen at phone sizes, with its figures.
    phone.set_viewport_size(PHONES["360x740"])
    check_phone_screen(phone, "patrol at 360×740")
    phone.set_viewport_size(PHONES["390x844"])
    check_phone_screen(phone, "patrol at 390×844")
    save_screenshot(phone, "field-patrol.png")
    print(f"\nfield app patrol: {answered['fixes']} fixes, {answered['length_m']} m, "
          + ", ".join(f"{g['name']} {g['covered_share']:.1%}" for g in answered["grids"])
          + f"; screen wake lock while recording: {wake}")
