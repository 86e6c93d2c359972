"""Command screen benchmark: /screen/ loading, panning and zooming with 5,000 grids and 10,000 open cases.

    python -m bench.screen_bench [--grids 5000] [--cases 10000] [--no-naive]
                                 [--backends spatialite,postgis] [--postgres-url URL] [--write-docs]

The issue asked that the map stay responsive (pan and zoom without freezing) with 5,000 grid
cells and 10,000 open cases in view. This benchmark builds that: a fresh database with one
township of 5,000 grids (fixtures.scale's lattice, recut into one township's villages and
imported through gridsvc.network.files), the sample county's catalogue, departments and rules,
and 10,000 reports, each through gridsvc.cases.intake.submit, all left open; a township commander of the
township; and a commander of an empty township for the baseline. It serves them as the screen is
deployed (gunicorn, one gevent worker) and drives Debian's Chromium (headless, no GPU: canvas and
compositing in software, a fair worst case for an office PC) at 1920 × 1080 with Playwright.

For each page (a fresh browser context each) it signs in through the form, reloads the page a few
times, and then runs one script of mouse drags and wheel notches over the township at every zoom
from the whole township down to single cases and back. bench/screen_probe.js, injected before the
page's own scripts, watches: every animation frame, long tasks, the time the map's moveend and
zoomend handlers take, and the map's own steps. The pages, in the same run and browser:

- the commander's screen, as it is;
- the baseline: the same page for the empty township's commander (the bare map, no grid, no case),
  moved to the same view: what the map itself costs on this machine;
- naive (unless --no-naive): the commander's screen with its drawCases replaced in the page (the
  product is not changed), so that every case is its own marker: why the cases are clustered.
  A shorter script: at 10,000 markers every drag takes seconds.

With --backends spatialite,postgis the second backend times only the commander's page loads (the
server's share differs; the page's work does not). --write-docs rewrites the section between the
`screen` markers in docs/benchmarks.md. This is a benchmark, not a test: it reports figures and
fails only when the page does not load or throws.
"""

from __future__ import annotations

# Import order: gridsvc.kernel.db must come first (see the comment there).
import gridsvc.kernel.db  # noqa: F401

import argparse
import datetime as dt
import json
import os
import platform
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

import numpy as np
import requests
import shapely
import sqlalchemy as sa
from playwright.sync_api import sync_playwright
from shapely.geometry import mapping

from bench.index_rebuild_bench import drop, postgis_url
from bench.load_bench import BACKENDS, machine_ticks, process_table
from bench.locate_bench import DEFAULT_POSTGRES_URL
from bench.serving import ROOT, gunicorn
from fixtures.sample import CATALOGUE_FILE, DEPARTMENTS_FILE, RULES_FILE
from fixtures.scale import VILLAGE_BLOCK, ScaleNetwork, generate_network, write_network
from gridsvc.app import create_app
from gridsvc.kernel import migrate
from gridsvc.accounts.users import create_user
from gridsvc.catalogue.store import current_categories, load_catalogue, load_departments, load_rules, read_json
from gridsvc.kernel.config import Settings
from gridsvc.geo.crs import parse_crs
from gridsvc.cases.intake import Intake, Report, submit
from gridsvc.kernel.models import User
from gridsvc.network.files import check_grid_file, import_admin_file, import_grid_file

PASSWORD = "benchmark password"
COUNTY, TOWNSHIP, EMPTY_TOWNSHIP = "220112000000", "220112100000", "220112101000"
COMMANDER, EMPTY_COMMANDER, REPORTER = "13800000011", "13800000012", "13800000013"
SEED = 0


@dataclass
class Built:
    grids: int
    villages: int
    cases: int
    extent_km: tuple[float, float]  # west→east, south→north
    build_s: dict[str, float]


def township_network(n_cells: int) -> ScaleNetwork:
    """`n_cells` cells of a jittered 300 m lattice (fixtures.scale) as ONE township's network: a block
    about twice as wide as high, cut into villages of 10 × 5 cells (numbered 200, 201, … west→east,
    north→south) whose cells are numbered 001–050 the same way.

    fixtures.scale makes townships of 1,000 cells laid out in a long strip; a township commander's
    screen needs one township, and a compact one is the harder case for the map (more cells in
    view at each zoom)."""
    villages = -(-n_cells // (VILLAGE_BLOCK[0] * VILLAGE_BLOCK[1]))
    across = max(1, round(np.sqrt(villages)))  # a village is twice as wide as high
    cols, rows = VILLAGE_BLOCK[0] * across, VILLAGE_BLOCK[1] * -(-villages // across)
    lattice = generate_network(max(20_000, rows * cols * 4), seed=SEED)
    top = lattice.cell_rows.max()
    from_north = top - lattice.cell_rows
    chosen = np.flatnonzero((lattice.cell_cols < cols) & (from_north < rows))
    if len(chosen) < n_cells:
        raise ValueError(f"the lattice has only {len(chosen)} cells in a {cols} × {rows} block")
    r, c = from_north[chosen], lattice.cell_cols[chosen]
    order = np.lexsort((c, r))  # north→south, then west→east
    chosen, r, c = chosen[order], r[order], c[order]
    villages_per_row = cols // VILLAGE_BLOCK[0]
    village = (r // VILLAGE_BLOCK[1]) * villages_per_row + c // VILLAGE_BLOCK[0]
    sequence = (r % VILLAGE_BLOCK[1]) * VILLAGE_BLOCK[0] + c % VILLAGE_BLOCK[0] + 1
    keep = np.argsort(village * 100 + sequence, kind="stable")[:n_cells]  # whole villages first, in code order
    chosen, village, sequence = chosen[keep], village[keep], sequence[keep]
    if village.max() + 200 > 999:
        raise ValueError("too many villages for one township's 3-digit village numbers")
    village_codes = np.array([f"{TOWNSHIP[:9]}{200 + v:03d}" for v in village])
    codes = np.array([f"{v}{s:03d}" for v, s in zip(village_codes, sequence)])
    return ScaleNetwork(codes=codes, village_codes=village_codes, geometries=lattice.geometries[chosen],
                        vertex_lon=lattice.vertex_lon, vertex_lat=lattice.vertex_lat,
                        cell_rows=lattice.cell_rows[chosen], cell_cols=lattice.cell_cols[chosen])


def admin_file(network: ScaleNetwork, path: Path) -> int:
    """The county, the township (the union of its cells), its villages, and an empty township east of
    it (the baseline commander's), as an admin-unit GeoJSON file for `gridsvc.network.files`."""
    features = []

    def add(code, name, level, parent, geometry):
        features.append({"type": "Feature", "geometry": mapping(geometry),
                         "properties": {"code": code, "name": name, "level": level, "parent_code": parent}})

    township = shapely.union_all(network.geometries)
    minx, miny, maxx, maxy = township.bounds
    empty = shapely.box(maxx + 0.01, miny, maxx + 0.01 + (maxx - minx) / 4, maxy)
    add(COUNTY, "双阳区", "county", None, shapely.box(minx - 0.01, miny - 0.01, empty.bounds[2] + 0.01, maxy + 0.01))
    add(TOWNSHIP, "齐家镇", "township", COUNTY, township)
    add(EMPTY_TOWNSHIP, "太平镇", "township", COUNTY, empty)
    for n, code in enumerate(np.unique(network.village_codes), start=1):
        add(code, f"基准{n}村", "village", TOWNSHIP, shapely.union_all(network.geometries[network.village_codes == code]))
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return len(features)


def only_areas(data: dict, key: str, field: str, areas: set[str]) -> dict:
    """The sample county's departments or rules of the county and the two townships here."""
    return {key: [entry for entry in data[key] if entry[field] in areas]}


def build_database(url: str, folder: Path, n_grids: int, n_cases: int) -> Built:
    """A fresh database at `url` with one township of `n_grids` grids, the sample county's catalogue,
    departments and rules (those of the county and the two townships), a commander of the township, a
    commander of the empty township, a grid worker of every grid, and `n_cases` reports of that worker,
    each through intake, at random points of the township (all stay open: nobody acts on them)."""
    times = {}
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    app = create_app(Settings(database_url=url))
    rt = app.extensions["gridsvc"]
    migrate.upgrade(rt.engine)
    network = township_network(n_grids)
    admin_path, grid_path = folder / "admin_units.geojson", folder / "grids.gpkg"
    admin_file(network, admin_path)
    write_network(network, grid_path)
    times["files"] = time.perf_counter() - started
    areas = {COUNTY, TOWNSHIP, EMPTY_TOWNSHIP}
    with rt.sessions.begin() as session:
        import_admin_file(session, admin_path)
        check = check_grid_file(session, grid_path, rt.settings)
        if not check.report.ok:
            raise RuntimeError("the synthetic grid file does not validate:\n" + check.report.format_text())
        import_grid_file(session, check)
        load_catalogue(session, read_json(CATALOGUE_FILE))
        load_departments(session, only_areas(read_json(DEPARTMENTS_FILE), "departments", "admin_code", areas))
        load_rules(session, only_areas(read_json(RULES_FILE), "rules", "area_code", areas))
    times["network"] = time.perf_counter() - started - times["files"]
    with rt.sessions.begin() as session:
        create_user(session, COMMANDER, "基准指挥长", "township_commander", PASSWORD, admin_code=TOWNSHIP)
        create_user(session, EMPTY_COMMANDER, "空白指挥长", "township_commander", PASSWORD, admin_code=EMPTY_TOWNSHIP)
        create_user(session, REPORTER, "基准网格员", "grid_worker", PASSWORD, grid_codes=list(network.codes))
    mark = time.perf_counter()
    rng = np.random.default_rng(SEED)
    lons, lats = network.sample_points(n_cases, seed=SEED + 1)
    cgcs2000 = parse_crs("cgcs2000")
    with rt.sessions() as session:
        categories = [c.code for c in current_categories(session)]
        reporter = session.query(User).filter_by(phone=REPORTER).one()
        intake = Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings)
        for k in range(n_cases):
            report = Report(str(uuid.UUID(int=int(rng.integers(2**62)) << 64 | k, version=4)),
                            categories[int(rng.integers(len(categories)))], "基准测试上报",
                            round(float(lons[k]), 7), round(float(lats[k]), 7), cgcs2000, accuracy_m=8.0)
            submit(session, intake, reporter, report)
            session.commit()
    times["cases"] = time.perf_counter() - mark
    rt.dispose()
    cols = network.cell_cols.max() - network.cell_cols.min() + 1
    rows = network.cell_rows.max() - network.cell_rows.min() + 1
    return Built(len(network), len(np.unique(network.village_codes)), n_cases, (float(cols * 0.3), float(rows * 0.3)),
                 times)


# -- the browser ---------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
# as tests/browser/test_screen_browser.py
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
WALL = {"width": 1920, "height": 1080}
PROBE = Path(__file__).with_name("screen_probe.js")
SERVING = ["--worker-class", "gevent", "--workers", "1", "--graceful-timeout", "1"]
ACCESS_LOG_FORMAT = "%(m)s|%(U)s|%(q)s|%(s)s|%(D)s|%(B)s"  # %(D)s: µs from the request read to the answer sent
LOAD_TIMEOUT_S = 180
RELOADS = 3  # page loads timed after the sign-in's
DRAG_STEPS, DRAG_STEP_S = 30, 1 / 60  # a drag: 30 mouse moves, one per 60 Hz frame (0.5 s)
DRAGS = ((400, 0), (0, 250), (-400, 0), (0, -250))  # a square: the view ends where it started
WHEEL_NOTCHES = 5  # zoom steps in (and out again); Leaflet turns a 100 px notch into 1.25 levels here
SETTLE_S = 0.25  # after an action's last moveend, before the next action


@dataclass
class Scenario:
    """One page to measure: who signs in, what their map must hold, and how much of the script runs."""

    key: str
    label: str
    phone: str
    grids: int
    cases: int
    naive: bool = False
    reloads: int = RELOADS
    notches: int = WHEEL_NOTCHES  # wheel notches in, and out again
    drags: tuple[tuple[int, int], ...] = DRAGS
    session: bool = True  # False: only the page loads


@dataclass
class Action:
    """One drag or wheel notch: its window in page time (ms) and the zoom after it."""

    phase: str
    kind: str
    start: float
    end: float
    zoom: float


def probe_script(scenario: Scenario) -> str:
    config = {"grids": scenario.grids, "cases": scenario.cases, "naive": scenario.naive}
    return PROBE.read_text(encoding="utf-8").replace("__BENCH_CONFIG__", json.dumps(config))


def page_now(page) -> float:
    return page.evaluate("performance.now()")


def next_frames(page) -> None:
    """Until two more frames have started: the one after the last change has been produced."""
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def poll(page, expression: str, timeout_s: float, every_s: float = 0.05) -> None:
    """Until `expression` is true in the page. (Not page.wait_for_function: that evaluates a string in
    the page, which the screen's Content-Security-Policy forbids; page.evaluate goes through the
    DevTools protocol, which the policy does not govern.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout_s:g} s: {expression}")
        time.sleep(every_s)


def wait_moved(page, before: int) -> None:
    """Until the map fired a moveend after `before` of them, and that view was drawn."""
    poll(page, f"(__bench.counts.moveend || 0) > {before}", 60)
    next_frames(page)


def moveends(page) -> int:
    return page.evaluate("__bench.counts.moveend || 0")


def map_centre(page) -> tuple[float, float]:
    box = page.locator("#map").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page, dx: float, dy: float) -> None:
    """A mouse drag of (dx, dy) pixels through the map's centre, paced at one move per frame."""
    x, y = map_centre(page)
    x0, y0 = x - dx / 2, y - dy / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    started = time.perf_counter()
    for step in range(1, DRAG_STEPS + 1):
        page.mouse.move(x0 + dx * step / DRAG_STEPS, y0 + dy * step / DRAG_STEPS)
        pause = started + step * DRAG_STEP_S - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    page.mouse.up()


def wheel(page, notches: int) -> None:
    """One wheel notch at the map's centre: in (notches < 0) or out."""
    page.mouse.move(*map_centre(page))
    page.mouse.wheel(0, 100 * notches)


def act(page, phase: str, kind: str, do) -> Action:
    before = moveends(page)
    start = page_now(page)
    do()
    wait_moved(page, before)
    action = Action(phase, kind, start, page_now(page), page.evaluate("gridsvcScreen.map.map.getZoom()"))
    time.sleep(SETTLE_S)
    return action


def interact(page, scenario: Scenario) -> list[Action]:
    """The scripted session: at the whole-network view and after each wheel notch in, the drags;
    then the notches out again, back to the whole network."""
    actions = []
    for level in range(scenario.notches + 1):
        if level:
            actions.append(act(page, "zoom in", "wheel", lambda: wheel(page, -1)))
        for dx, dy in scenario.drags:
            actions.append(act(page, f"pan {level}", "drag", lambda: drag(page, dx, dy)))
    for _ in range(scenario.notches):
        actions.append(act(page, "zoom out", "wheel", lambda: wheel(page, 1)))
    return actions


LOAD_FIGURES = """(() => {
  const calls = (path) => performance.getEntriesByType("resource")
    .filter((e) => { const url = new URL(e.name); return url.pathname === path && !url.search; })
    .map((e) => ({ start: e.startTime, request: e.requestStart, response: e.responseStart, end: e.responseEnd,
                   transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize }));
  const m = gridsvcScreen.map;
  return {
    ready: __bench.ready, painted: __bench.painted, map: calls("/api/v1/screen/map"),
    cases: calls("/api/v1/screen/cases"), steps: __bench.steps, fired: __bench.fired,
    longtasks: __bench.longtasks, nodes: document.getElementsByTagName("*").length,
    markers: m.markers.getLayers().length, grids: m.gridCount(), held: m.cases.size, zoom: m.map.getZoom(),
  };
})()"""


def server_times(access_log: Path, offset: int) -> dict[str, list[tuple[float, int]]]:
    """(ms in gunicorn, bytes) of each GET /api/v1/screen/map and …/cases logged since `offset`."""
    with access_log.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode().splitlines()
    found: dict[str, list[tuple[float, int]]] = {"map": [], "cases": []}
    for line in lines:
        fields = line.split("|")
        if len(fields) == 6 and fields[0] == "GET" and not fields[2] and fields[1] in (
                "/api/v1/screen/map", "/api/v1/screen/cases"):
            found[fields[1].rsplit("/", 1)[1]].append((int(fields[4]) / 1e3, int(fields[5])))
    return found


def wait_painted(page) -> None:
    poll(page, "Boolean(window.__bench && __bench.painted !== null)", LOAD_TIMEOUT_S, every_s=0.1)


def sign_in(page, base: str, phone: str) -> float:
    """Sign in through the form; page time (ms) of the click."""
    page.goto(f"{base}/screen/")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", PASSWORD)
    clicked = page_now(page)
    page.click("#sign-in button[type=submit]")
    wait_painted(page)
    return clicked


def run_scenario(browser, base: str, scenario: Scenario, access_log: Path, view: list | None) -> dict:
    """Sign in, reload RELOADS times, then the scripted session; everything the probe saw."""
    context = browser.new_context(viewport=WALL, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.add_init_script(probe_script(scenario))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    result: dict = {"scenario": scenario, "loads": [], "errors": errors}
    try:
        offset = access_log.stat().st_size
        clicked = sign_in(page, base, scenario.phone)
        result["loads"].append({"from": clicked, **page.evaluate(LOAD_FIGURES),
                                "server": server_times(access_log, offset)})
        for _ in range(scenario.reloads):
            offset = access_log.stat().st_size
            page.reload(wait_until="commit")
            wait_painted(page)
            result["loads"].append({"from": 0.0, **page.evaluate(LOAD_FIGURES),
                                    "server": server_times(access_log, offset)})
        if not scenario.session:
            return result
        page.wait_for_load_state("networkidle")
        time.sleep(1.0)  # the desk's and the numbers' requests, the live channel's connection
        result["view"] = page.evaluate("(() => { const b = gridsvcScreen.map.grids.getBounds(); "
                                       "return b.isValid() ? [[b.getSouth(), b.getWest()], [b.getNorth(), b.getEast()]]"
                                       " : null; })()")
        if view is not None:  # every scenario starts from the same view: the township's, fitted as the page does
            before = moveends(page)
            page.evaluate(f"void gridsvcScreen.map.map.fitBounds({json.dumps(view)}, "
                          "{padding: [20, 20], animate: false})")
            wait_moved(page, before)
            time.sleep(0.5)
        page.evaluate("__bench.reset(); __bench.recording = true")
        started = (time.monotonic(), machine_ticks(), our_ticks())
        result["actions"] = interact(page, scenario)
        ended = (time.monotonic(), machine_ticks(), our_ticks())
        elapsed, busy, ours = (now - then for now, then in zip(ended, started))
        capacity = elapsed * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
        result["cpu"] = (ours / capacity, max(busy - ours, 0) / capacity)
        result["session"] = page.evaluate("__bench.recording = false, __bench.take()")
    finally:
        context.close()
    return result


def our_ticks() -> int:
    """CPU time so far of this process and everything under it: gunicorn, Playwright's driver, Chromium."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    total, queue = 0, [os.getpid()]
    while queue:
        pid = queue.pop()
        total += table.get(pid, (0, 0))[1]
        queue.extend(children.get(pid, []))
    return total


def scenarios(built: Built, naive: bool) -> list[Scenario]:
    """The service's page, the bare map, and (naive) every case as its own marker."""
    out = [Scenario("service", "the screen", COMMANDER, built.grids, built.cases),
           Scenario("baseline", "baseline: empty map", EMPTY_COMMANDER, 0, 0)]
    if naive:  # a shorter script: at 10,000 markers each drag takes seconds
        out.append(Scenario("naive", "naive: a marker per case", COMMANDER, built.grids, built.cases, naive=True,
                            reloads=1, notches=1, drags=DRAGS[::2]))
    return out


def measure(backend: str, url: str, folder: Path, chosen: list[Scenario]) -> tuple[list[dict], dict]:
    """Serve the database at `url` as deployed for the screen (gunicorn, one gevent worker) and run the
    scenarios in one headless Chromium, one browser context each; what each saw, and the cold requests."""
    access_log = folder / f"access-{backend}.log"
    access_log.touch()
    serving = [*SERVING, "--access-logfile", str(access_log), "--access-logformat", ACCESS_LOG_FORMAT]
    env = {"GRIDSVC_DATABASE_URL": url, "GRIDSVC_EVENTS_POLL_SECONDS": "1"}
    results = []
    with gunicorn("gridsvc.wsgi:app", env, serving, folder / f"gunicorn-{backend}.log") as base:
        cold = cold_requests(base, access_log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                view = None
                for scenario in chosen:
                    print(f"{backend}: {scenario.label} …", flush=True)
                    results.append({"backend": backend, "browser": browser.version,
                                    **run_scenario(browser, base, scenario, access_log, view)})
                    view = view or results[-1].get("view")
                    if results[-1]["errors"]:
                        raise RuntimeError(f"the page threw: {results[-1]['errors']}")
            finally:
                browser.close()
    return results, cold


def cold_requests(base: str, access_log: Path) -> dict:
    """The first /api/v1/screen/map and /cases after the server started (no cache yet), asked by a
    plain HTTP client before the browser comes: the cost a screen meets after a restart or an import."""
    offset = access_log.stat().st_size
    with requests.Session() as http:
        answer = http.post(f"{base}/api/v1/auth/login", json={"phone": COMMANDER, "password": PASSWORD}, timeout=60)
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        for path in ("/api/v1/screen/map", "/api/v1/screen/cases"):
            http.get(base + path, headers=headers, timeout=120).raise_for_status()
    deadline = time.monotonic() + 5  # gunicorn logs a request once its answer is out: a moment after
    while not all((found := server_times(access_log, offset)).values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"server": found}


# -- figures -------------------------------------------------------------------------------------

SLOW_FRAME_MS = 50.0  # three 60 Hz frames or more between two animation frames: a visible stall


def percentiles(values: list[float]) -> str:
    if not values:
        return "–"
    p50, p95 = np.percentile(values, [50, 95])
    return f"{p50:.1f} / {p95:.1f} / {max(values):.1f}"


def median_max(values: list[float]) -> str:
    return f"{np.median(values):.1f} / {max(values):.1f}" if values else "–"


@dataclass
class Phase:
    """What the probe saw during the actions of one phase of the script."""

    name: str
    zoom_from: float  # the zoom before the phase's first action
    zoom: float  # after its last
    actions: int
    frames: list[float]  # intervals between animation frames, ms
    longtasks: list[float]
    moveend: list[float]  # ms in the map's moveend handlers, per moveend
    zoomend: list[float]
    draw: list[float]  # ms in NetworkMap.drawCases, per call

    @property
    def slow(self) -> int:
        return sum(interval >= SLOW_FRAME_MS for interval in self.frames)


def phases(result: dict) -> list[Phase]:
    """The session cut into its phases: the drags at each zoom, the wheel notches in, and out."""
    session, actions = result["session"], result["actions"]
    frames = session["frames"]
    out = []
    for name in dict.fromkeys(a.phase for a in actions):
        mine = [a for a in actions if a.phase == name]
        first = actions.index(mine[0])
        zoom_from = actions[first - 1].zoom if first else mine[0].zoom

        def inside(moment: float) -> bool:
            return any(a.start <= moment <= a.end for a in mine)

        out.append(Phase(
            name, zoom_from, mine[-1].zoom, len(mine),
            [t1 - t0 for t0, t1 in zip(frames, frames[1:]) if inside(t1)],
            [duration for start, duration in session["longtasks"] if inside(start)],
            [d for kind, start, d in session["fired"] if kind == "moveend" and inside(start)],
            [d for kind, start, d in session["fired"] if kind == "zoomend" and inside(start)],
            [d for name_, start, d in session["steps"] if name_ == "drawCases" and inside(start)],
        ))
    return out


def whole(phases_: list[Phase]) -> Phase:
    fields = ("frames", "longtasks", "moveend", "zoomend", "draw")
    return Phase("whole session", 0, 0, sum(p.actions for p in phases_),
                 *([x for p in phases_ for x in getattr(p, field)] for field in fields))


def phase_label(phase: Phase, first_zoom: float) -> str:
    if phase.name.startswith("pan"):
        where = " (whole township)" if phase.zoom == first_zoom else ""
        return f"{phase.actions} drags at zoom {phase.zoom:g}{where}"
    if phase.name in ("zoom in", "zoom out"):
        notches = "1 wheel notch" if phase.actions == 1 else f"{phase.actions} wheel notches"
        return f"{notches} {phase.name.split()[1]}, zoom {phase.zoom_from:g} → {phase.zoom:g}"
    return phase.name


def responsiveness_table(results: list[dict]) -> str:
    rows = ["| phase | page | frames | frame interval ms p50 / p95 / max | frames ≥ 50 ms | long tasks: n / total ms "
            "| moveend handlers ms median / max | of which drawCases ms median / max "
            "| zoomend handlers ms median / max |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    by_scenario = {r["scenario"].key: phases(r) for r in results if "session" in r}
    order = list(dict.fromkeys(p.name for ps in by_scenario.values() for p in ps))
    order.sort(key=lambda name: {"zoom in": 1, "zoom out": 2}.get(name, 0) * 100 + (
        int(name.split()[1]) if name.startswith("pan") else 0))
    first_zoom = next(iter(by_scenario.values()))[0].zoom
    labels = {r["scenario"].key: r["scenario"].label for r in results}
    for name in [*order, "whole session"]:
        for key, ps in by_scenario.items():
            found = [p for p in ps if p.name == name] if name != "whole session" else [whole(ps)]
            if not found:
                continue
            p = found[0]
            rows.append(f"| {phase_label(p, first_zoom)} | {labels[key]} | {len(p.frames)} | {percentiles(p.frames)} "
                        f"| {p.slow} | {len(p.longtasks)} / {sum(p.longtasks):,.0f} | {median_max(p.moveend)} "
                        f"| {median_max(p.draw)} | {median_max(p.zoomend)} |")
    return "\n".join(rows)


def step_ms(load: dict, name: str, last: bool = False) -> float:
    durations = [d for step, _, d in load["steps"] if step == name]
    if not durations:
        return float("nan")
    return durations[-1] if last else sum(durations)


def api_figures(load: dict, which: str) -> tuple[int, float, float]:
    """(bytes, ms in gunicorn, ms in the browser from asking to the last byte) of the load's one call."""
    calls, server = load[which], load["server"][which]
    if not calls:
        return 0, float("nan"), float("nan")
    return calls[0]["decoded"], server[0][0] if server else float("nan"), calls[0]["end"] - calls[0]["start"]


def load_table(results: list[dict], cold: dict[str, dict]) -> str:
    rows = ["| backend | page | load | drawn after ms | /screen/map KB | …in gunicorn ms | …in the browser ms "
            "| /screen/cases KB | …in gunicorn ms | …in the browser ms | setNetwork ms | Supercluster.load ms "
            "| restyle ms | drawCases ms | markers | DOM elements |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for n, load in enumerate(r["loads"]):
            map_size, map_server, map_client = api_figures(load, "map")
            cases_size, cases_server, cases_client = api_figures(load, "cases")
            rows.append(
                f"| {r['backend']} | {r['scenario'].label} | {'sign-in' if n == 0 else f'reload {n}'} "
                f"| {load['painted'] - load['from']:,.0f} "
                f"| {map_size / 1024:,.0f} | {map_server:,.0f} | {map_client:,.0f} "
                f"| {cases_size / 1024:,.0f} | {cases_server:,.0f} | {cases_client:,.0f} "
                f"| {step_ms(load, 'setNetwork'):,.0f} | {step_ms(load, 'Supercluster.load'):,.0f} "
                f"| {step_ms(load, 'restyle'):,.0f} | {step_ms(load, 'drawCases', last=True):,.0f} "
                f"| {load['markers']:,} | {load['nodes']:,} |")
    return "\n".join(rows)


def cold_lines(cold: dict[str, dict]) -> list[str]:
    out = []
    for backend, figures in cold.items():
        server = figures["server"]
        if server["map"] and server["cases"]:
            out.append(f"{backend}: {server['map'][0][0]:,.0f} ms for /screen/map "
                       f"({server['map'][0][1] / 1024:,.0f} KB), "
                       f"{server['cases'][0][0]:,.0f} ms for /screen/cases ({server['cases'][0][1] / 1024:,.0f} KB)")
    return out


# -- the docs ------------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- screen:begin -->", "<!-- screen:end -->"
HEADING = "## Command screen: 5,000 grids and 10,000 open cases on the map"


def package_version(name: str) -> str:
    try:
        return json.loads((ROOT / "node_modules" / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def software(browser_version: str, postgres: str | None) -> str:
    names = ", ".join(f"{name} {version(name)}" for name in ("gunicorn", "gevent", "playwright", "SQLAlchemy"))
    return (f"Python {platform.python_version()}, {names}; Debian's Chromium {browser_version} (headless, "
            f"`--disable-gpu`: canvas and compositing in software); Leaflet {package_version('leaflet')}, Supercluster "
            f"{package_version('supercluster')}" + (f"; {postgres}" if postgres else ""))


def render(built: dict[str, Built], results: list[dict], cold: dict[str, dict], command: str, total_s: float,
           machine_line: str, software_line: str) -> str:
    first = next(iter(built.values()))
    cpu = "; ".join(f"{r['scenario'].label} {r['cpu'][0]:.0%} / {r['cpu'][1]:.0%}" for r in results if "cpu" in r)
    build = "; ".join(f"{backend} {b.build_s['network']:.0f} s for the network, {b.build_s['cases']:.0f} s for the "
                      f"cases ({b.build_s['cases'] / b.cases * 1e3:.1f} ms a report)" for backend, b in built.items())
    naive = next((r for r in results if r["scenario"].key == "naive"), None)
    lines = [
        "How the map stays responsive (gridsvc/web/screen/js/map.js): every grid, village and township outline is "
        "drawn on one `<canvas>` (Leaflet's canvas renderer), not as thousands of SVG nodes; a drag moves that "
        "canvas and it is drawn again once, when the drag ends (`moveend`). Cases are clustered with "
        "Supercluster (an index per zoom level, built once per change of the cases, at most once per animation "
        "frame), and only the clusters and cases in view (plus 10 %) become markers: a few hundred, whatever "
        "the total. A marker still in view after a pan stays; only those coming into view are made.",
        "",
        "What was measured:",
        "",
        f"- **The data**: a fresh database holding one township of {first.grids:,} grids (300 m cells of "
        f"`fixtures.scale`'s jittered lattice, cut into {first.villages} villages of 10 × 5; "
        f"{first.extent_km[0]:g} km × {first.extent_km[1]:g} km), "
        "imported through the ordinary path (admin-unit file, grid file checked and imported by "
        "`gridsvc.network.files`), the sample county's catalogue, and its departments and rules for the county "
        f"and the township. {first.cases:,} reports by a grid worker of every grid, each through "
        "`gridsvc.cases.intake.submit` (located, routed, deadline, record), at points spread evenly over the "
        "township; nobody acted on them, so all are open. A township commander of the township signs in; a "
        "commander of an empty township next to it gives the baseline. Building took: " + build + ".",
        "- **Serving**: `gunicorn --worker-class gevent --workers 1 'gridsvc.wsgi:app'` on 127.0.0.1, as the "
        "screen is deployed (and as tests/browser/test_screen_browser.py serves it), no base map configured "
        "(no tiles).",
        f"- **The browser**: headless Chromium at {WALL['width']} × {WALL['height']}, driven by Playwright, one "
        "fresh browser context per page. A script injected before the page's own (bench/screen_probe.js) "
        "watches without changing anything: a `requestAnimationFrame` loop noting every frame, a "
        "`PerformanceObserver` for long tasks (50 ms or more on the main thread), and timers around the map's "
        "`moveend`/`zoomend` handlers (Leaflet's `fire` on the map) and the map's own steps (`setNetwork`, "
        "`Supercluster.load`, `restyle`, `drawCases`).",
        f"- **Loading**: the commander signs in through the form, then the page is reloaded {RELOADS} times "
        "(the token stays in sessionStorage, as on a wall screen). **drawn after** runs from the click (sign-in) "
        "or from the navigation's start (reload) to the first animation frame after the map holds every grid "
        "and case, its clusters are built, its markers are on and no canvas redraw or cluster rebuild is "
        "pending. The sizes are the JSON bodies (the service does not compress them); **in gunicorn** is its "
        "access log's `%(D)s`; **in the browser**, from the request to the last byte. Before the browser, a plain "
        "HTTP client asks for /screen/map and /screen/cases once: the first request after a start builds the "
        "outline cache (" + "; ".join(cold_lines(cold)) + ").",
        "- **The session**: from the whole-township view (fitted as the page fits it; the baseline is moved to "
        f"the same view), {len(DRAGS)} mouse drags (400 px right, 250 px down, back left, back up; "
        f"{DRAG_STEPS} moves in {DRAG_STEPS * DRAG_STEP_S:.1f} s each), then one wheel notch in (Leaflet "
        f"zooms 1.25 levels, animated) and the drags again, {WHEEL_NOTCHES} times, then {WHEEL_NOTCHES} notches "
        "out. Each action counts until the `moveend` after it (inertia included) has been handled and two more "
        f"frames have started; {SETTLE_S:.2f} s pass before the next. **frame interval**: time between two "
        "animation frames within the actions (16.7 ms at 60 Hz; a frame the main thread could not start in time "
        "shows as 33, 50 … ms). **moveend handlers**: everything the map does when a move ends: the canvas "
        "redraw (Leaflet projects and draws the outlines in view), and the markers (`drawCases`).",
        "- **Baseline, in the same run and browser**: the same page signed in as the empty township's "
        "commander: the bare map, no grid, no case, the same script.",
    ]
    if naive:
        lines.append(
            "- **Naive, in the same run**: the commander's page with `drawCases` replaced on the map object (by "
            "the injected script; the product is not changed): every case as its own marker (the page's own "
            "`caseMarker`, a DOM element each) added once, Leaflet moving them all. A shorter script "
            f"({len(naive['scenario'].drags)} "
            f"drags at the whole-township view, {naive['scenario'].notches} notch in, the drags, back out) and "
            f"{naive['scenario'].reloads} reload: each drag takes seconds.")
    lines += [
        "",
        f"`{command}` took {total_s / 60:.1f} min on {dt.date.today().isoformat()}:",
        "",
        f"- {machine_line}",
        f"- {software_line}",
        "- Share of both cores during the sessions taken by this benchmark (server, browser, driver) / by everyone "
        f"else's processes: {cpu}",
        "",
        "Loading:",
        "",
        load_table(results, cold),
        "",
        "Panning and zooming:",
        "",
        responsiveness_table(results),
    ]
    return "\n".join(lines)


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace the screen part of docs/benchmarks.md, leaving other benchmarks' sections alone."""
    block = f"{BEGIN}\n{section}\n{END}"
    text = path.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n" + block + "\n"
    path.write_text(text)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (f"{cpu}, {os.cpu_count()} cores, {memory_kb / 2**20:.0f} GB RAM, "
            f"load average {os.getloadavg()[0]:.2f} at the start")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.screen_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=5_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--no-naive", dest="naive", action="store_false",
                        help="leave out the naive page (every case its own marker)")
    parser.add_argument("--backends", type=lambda text: text.split(","), default=["spatialite"],
                        help="spatialite and/or postgis; the scripted session runs on the first, the others "
                             "time the commander's page loads")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the screen section of {DOCS}")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} is missing: scripts/ensure-browser.sh installs Debian's chromium")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop gunicorn, drop the db
    command = " ".join(["python -m bench.screen_bench", *(sys.argv[1:] if argv is None else argv)])
    machine_line = machine()
    print(machine_line, flush=True)
    began = time.monotonic()
    built: dict[str, Built] = {}
    results: list[dict] = []
    cold: dict[str, dict] = {}
    postgres = None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, backend in enumerate(args.backends):
            label = BACKENDS[backend]
            name = None
            if backend == "postgis":
                url, name = postgis_url(args.postgres_url)
            else:
                url = f"sqlite:///{folder / 'screen.sqlite'}"
            try:
                print(f"{label}: building {args.grids:,} grids and {args.cases:,} cases …", flush=True)
                built[label] = build_database(url, folder / label, args.grids, args.cases)
                print(f"{label}: built in {sum(built[label].build_s.values()):.0f} s", flush=True)
                chosen = scenarios(built[label], args.naive)
                if n:  # the page's work does not depend on the database: only the loads
                    chosen = [replace(chosen[0], session=False)]
                found, cold[label] = measure(label, url, folder, chosen)
                results += found
                if backend == "postgis":
                    engine = sa.create_engine(url)
                    with engine.connect() as conn:
                        postgres = conn.scalar(sa.text("SELECT 'PostgreSQL ' || current_setting('server_version') "
                                                       "|| ', PostGIS ' || postgis_lib_version()"))
                    engine.dispose()
            finally:
                if name:
                    drop(args.postgres_url, name)
        browser_version = results[0]["browser"]
    total_s = time.monotonic() - began
    section = render(built, results, cold, command, total_s, machine_line, software(browser_version, postgres))
    print("\n" + section)
    if args.write_docs:
        write_docs(section)
        print(f"\nwrote {DOCS}")


if __name__ == "__main__":
    main()
