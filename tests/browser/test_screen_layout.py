"""The command screen in daily use (issue 17), in a real headless Chromium on both databases: what a commander
reads through a working day on a 1920×1080 wall and a 1366×768 laptop.

- With the demo data, no table is cut off and no cell breaks one character a line: the ranking (考核排名) has a
  view of its own over the map, as wide as the map; the trend chart's legend keeps off its plot; a grid
  worker's score says it is their patrol coverage, and the ranks follow the scores.
- The case statuses' colours stay apart for colour-blind eyes: simulated protanopia, deuteranopia and
  tritanopia (Machado, Oliveira and Fernandes 2009, full severity) keep a CIEDE2000 distance of at least 10
  between any two of the open statuses and overdue, on the map's markers and on the desk's badges.
- Dates carry their year when it is not this year's; a report queued offline shows the phone's time and
  its upload's; grids are named, their codes on hover; a dispatched case shows its 签收 deadline.
- Esc closes the sheet (and the ranking); a refused step says why in Chinese only; 合并 offers the likely
  duplicates to pick from.
"""

from __future__ import annotations

import itertools
import math
import re
import uuid
from datetime import datetime, timedelta

import numpy as np
import pytest
import requests
import sqlalchemy as sa

from gridsvc.cases.flags import LOCATION_FLAGS
from gridsvc.cases.intake import Intake, Report, submit
from gridsvc.geo.crs import parse_crs
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import OPEN_STATUSES, User
from gridsvc.worktime.calendar import CHINA
from tests.support import COMMANDER, WALL, WORKER, report_over_http, serve, sign_in_screen, wait_until

playwright_api = pytest.importorskip("playwright.sync_api")

LAPTOP = {"width": 1366, "height": 768}
LATIN_WORDS = re.compile(r"[A-Za-z]{2,}")
TRACKING_NO = re.compile(r"\d{8}-[A-Z2-7]{8}")

# -- colour vision ----------------------------------------------------------------------------------

# Machado, Oliveira & Fernandes (2009), severity 1.0: linear RGB → linear RGB as a dichromat sees it.
DICHROMATS = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
D65 = np.array([0.95047, 1.0, 1.08883])
MIN_DELTA_E = 10.0  # CIEDE2000: about 2 is just noticeable side by side; 10 tells markers apart at a glance


def linear(rgb) -> np.ndarray:
    c = np.asarray(rgb, dtype=float) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lab(linear_rgb) -> tuple[float, float, float]:
    xyz = SRGB_TO_XYZ @ np.clip(linear_rgb, 0, 1) / D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def ciede2000(one, other) -> float:
    """ΔE00 between two CIELAB colours (Sharma, Wu & Dalal 2005)."""
    (l1, a1, b1), (l2, a2, b2) = one, other
    mean_c = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(mean_c ** 7 / (mean_c ** 7 + 25 ** 7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1, h2 = math.degrees(math.atan2(b1, a1)) % 360, math.degrees(math.atan2(b2, a2)) % 360
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 if abs(h2 - h1) <= 180 else h2 - h1 - 360 if h2 > h1 else h2 - h1 + 360)
    big_dh = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    mean_l, mean_cp = (l1 + l2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        mean_h = h1 + h2
    elif abs(h1 - h2) <= 180:
        mean_h = (h1 + h2) / 2
    else:
        mean_h = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(mean_h - 30)) + 0.24 * math.cos(math.radians(2 * mean_h))
         + 0.32 * math.cos(math.radians(3 * mean_h + 6)) - 0.20 * math.cos(math.radians(4 * mean_h - 63)))
    s_l = 1 + 0.015 * (mean_l - 50) ** 2 / math.sqrt(20 + (mean_l - 50) ** 2)
    s_c, s_h = 1 + 0.045 * mean_cp, 1 + 0.015 * mean_cp * t
    r_t = (-2 * math.sqrt(mean_cp ** 7 / (mean_cp ** 7 + 25 ** 7))
           * math.sin(math.radians(60 * math.exp(-(((mean_h - 275) / 25) ** 2)))))
    dl, dc, dhh = (l2 - l1) / s_l, (c2 - c1) / s_c, big_dh / s_h
    return math.sqrt(dl ** 2 + dc ** 2 + dhh ** 2 + r_t * dc * dhh)


def closest_pairs(colours: dict[str, tuple[int, int, int]]) -> dict[str, tuple[float, str, str]]:
    """For normal vision and each dichromacy: the two colours seen closest, and their ΔE00."""
    seen = {"normal": np.eye(3), **DICHROMATS}
    closest = {}
    for vision, matrix in seen.items():
        labs = {name: lab(matrix @ linear(rgb)) for name, rgb in colours.items()}
        closest[vision] = min((ciede2000(labs[a], labs[b]), a, b) for a, b in itertools.combinations(labs, 2))
    return closest


def test_the_colour_vision_check_tells_the_old_shared_colours_apart_from_distinct_ones():
    """The check itself: the colours the screen used to give (待签收 and 处置中 one blue, 待核查 and 待结案 one
    green) fail it; red and green, distinct to normal eyes, fail for a deuteranope; black and white pass."""
    assert closest_pairs({"dispatched": (99, 102, 241), "handling": (99, 102, 241)})["normal"][0] == 0
    red_green = closest_pairs({"red": (230, 60, 50), "green": (90, 160, 40)})
    assert red_green["normal"][0] > MIN_DELTA_E > red_green["deuteranopia"][0]
    assert min(d for d, _, _ in closest_pairs({"black": (0, 0, 0), "white": (255, 255, 255)}).values()) > 90


STATUS_COLOURS = """(() => {
    const rgb = (element) => getComputedStyle(element).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number);
    const markers = Object.fromEntries([...document.querySelectorAll('#legend .case-marker')]
        .map((m) => [[...m.classList].find((c) => c.startsWith('status-'))?.slice(7) ?? [...m.classList][1],
                     rgb(m.querySelector('i'))]));
    const badges = Object.fromEntries(gridsvcScreen.config.open_statuses.map((status) => {
        const badge = Object.assign(document.createElement('span'), {className: `status status-${status}`});
        document.body.append(badge);
        const colour = rgb(badge);
        badge.remove();
        return [status, colour];
    }));
    return {markers, badges};
})()"""


def test_status_colours_stay_apart_for_colour_blind_eyes(server, town, pages):
    page = pages(viewport=WALL)
    sign_in_screen(page, server, COMMANDER)
    colours = page.evaluate(STATUS_COLOURS)
    statuses = {*OPEN_STATUSES, "overdue"}
    assert statuses <= set(colours["markers"])  # the legend draws each, with the map's own classes
    markers = {name: tuple(rgb) for name, rgb in colours["markers"].items() if name in statuses}
    badges = {name: tuple(rgb) for name, rgb in colours["badges"].items()}
    assert set(badges) == set(OPEN_STATUSES)
    for where, palette in (("markers", markers), ("badges", badges)):
        for vision, (distance, one, other) in closest_pairs(palette).items():
            assert distance >= MIN_DELTA_E, f"{where}: {one} and {other} look alike with {vision} (ΔE00 {distance:.1f})"


# -- layout with the demo data ------------------------------------------------------------------------

# For each table cell: its text and how many lines it is drawn on (the distinct tops of its text's line boxes).
CELL_LINES = """(selector) => [...document.querySelectorAll(selector)].map((cell) => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
    return {text: cell.innerText.trim(), lines: tops.size};
})"""
# Each table of a part: whether it fits its container's width, and the container the window's. (A container may
# scroll sideways on purpose, for a county's long names; the demo township's tables need not.)
TABLES_FIT = """(selector) => [...document.querySelectorAll(selector)].map((table) => {
    const box = table.parentElement;
    const right = box.getBoundingClientRect().right;
    return {fits: table.scrollWidth <= box.clientWidth + 1, inside: right <= window.innerWidth + 1,
            where: box.className || box.id};
})"""
TREND = """(() => {
    const chart = echarts.getInstanceByDom(document.querySelector('#numbers .chart.trend'));
    const view = chart.getViewOfComponentModel(chart.getModel().getComponent('legend')).group;
    const legend = view.getBoundingRect();
    const plot = chart.getModel().getComponent('grid').coordinateSystem.getRect();
    return {legendBottom: view.y + legend.y + legend.height, plotTop: plot.y};
})()"""
RANKING_ROWS = """[...document.querySelectorAll('#ranking-view tbody tr[data-code]')].map((row) => [
    row.cells[0].textContent, row.cells[2].textContent])"""


def fits(page, selector: str, where: str) -> None:
    """Every table under `selector` fits, and no cell is broken into lines: never one character a line, and in
    the ranking not at all."""
    for table in page.evaluate(TABLES_FIT, f"{selector} table"):
        assert table["fits"] and table["inside"], f"{where}: a table is cut off in {table['where']}"
    for cell in page.evaluate(CELL_LINES, f"{selector} th, {selector} td"):
        assert cell["lines"] < max(2, len(cell["text"])), f"{where}: {cell['text']!r} one character a line"
        if selector == "#ranking-view":
            assert cell["lines"] <= 1, f"{where}: {cell['text']!r} wraps in the ranking"


@pytest.mark.parametrize("viewport, name", [(WALL, "wall"), (LAPTOP, "laptop")])
def test_the_ranking_and_the_tables_have_room_on_a_wall_and_a_laptop(viewport, name, sample_app, rt, pages,
                                                                     database_url, tmp_path, save_screenshot):
    from fixtures.demo import DEMO_PASSWORD, load_demo
    from gridsvc.web.cases_api import current_intake

    with rt.sessions() as session:
        load_demo(session, current_intake(rt), utcnow())
    page = pages(viewport=viewport)
    with serve(database_url, tmp_path) as base:
        sign_in_screen(page, base, "13900000001", DEMO_PASSWORD)
        wait_until(page, "document.querySelector('#queue-list .grid-name')")
        for grid in page.evaluate(CELL_LINES, "#queue-list .grid-name"):  # the desk's rows name grids on one line
            assert grid["lines"] == 1, f"{name}: the grid name {grid['text']!r} wraps"
        page.click("nav.tabs button[data-tab=numbers]")
        wait_until(page, "document.querySelector('#numbers .by-village tbody tr[data-village]')")
        fits(page, "#numbers", f"{name}, the numbers tab")
        # The legend in a band of its own: clear of the plot by more than a point's symbol at its top (4 px)
        # and a smoothed line's rise past it (the legend used to end 8 px above the plot).
        trend = page.evaluate(TREND)
        assert trend["legendBottom"] <= trend["plotTop"] - 10, f"{name}: the trend's legend lies over its plot"

        page.click("#numbers button[data-open=ranking]")
        for level in ("village", "grid", "grid_worker", "township", "department"):
            page.select_option("#ranking-view select[name=level]", level)
            wait_until(page, f"document.querySelector('#ranking-view').dataset.level === '{level}'"
                             " && document.querySelector('#ranking-view tbody tr')")
            fits(page, "#ranking-view", f"{name}, 考核排名 by {level}")
            box = page.locator("#ranking-view").bounding_box()
            assert box["width"] >= page.locator("#map").bounding_box()["width"] - 1  # the map's whole width
            ranks = page.evaluate(RANKING_ROWS)
            scored = [(int(rank), float(score)) for rank, score in ranks if rank != "—"]
            assert scored, level
            assert [rank for rank, _ in scored] == sorted(rank for rank, _ in scored)  # best first
            assert [score for _, score in scored] == sorted((score for _, score in scored), reverse=True)
            assert all(score == "—" for rank, score in ranks if rank == "—")  # unranked: no score, last
            assert ranks[:len(scored)] == [r for r in ranks if r[0] != "—"]
            heading = page.inner_text("#ranking-view thead th:nth-child(3)")
            assert heading == ("巡查得分" if level == "grid_worker" else "综合得分"), level
            if level == "grid_worker":  # the score is the patrol coverage, and the table says so
                assert "巡查覆盖率" in page.get_attribute("#ranking-view thead th:nth-child(3) span", "title")
                assert "不计入得分" in page.inner_text("#ranking-view .ranking-table")
        page.select_option("#ranking-view select[name=level]", "village")
        wait_until(page, "document.querySelector('#ranking-view').dataset.level === 'village'")
        if name == "wall":
            save_screenshot(page, "screen-ranking.png")
        page.keyboard.press("Escape")
        page.wait_for_selector("#ranking-view", state="hidden")


# -- a commander's day at the desk ------------------------------------------------------------------


def china(moment: datetime, now: datetime) -> str:
    """A moment as the screen writes it: without the year in this (China) year, with it otherwise."""
    here = moment.astimezone(CHINA)
    return here.strftime("%m/%d %H:%M" if here.year == now.astimezone(CHINA).year else "%Y/%m/%d %H:%M")


def chinese_only(text: str) -> bool:
    return not LATIN_WORDS.search(TRACKING_NO.sub("", text))


def test_a_day_at_the_desk(server, town, rt, pages):
    now = utcnow()
    index = rt.index.get()
    commander = town["headers"](COMMANDER)
    # Last December's report, still open; a report queued offline on a phone for three hours; two reports of
    # the same matter at one spot (the second a possible duplicate of the first); a case dispatched just now.
    last_year = now - timedelta(days=400)
    with rt.sessions() as session:
        worker = session.scalar(sa.select(User).where(User.phone == WORKER))
        point = town["probe"]
        old = submit(session, Intake(index, rt.calendar.get(), rt.rules.get(), rt.settings), worker,
                     Report(str(uuid.uuid4()), "02004", "去年的秸秆堆放", point.x, point.y, parse_crs("cgcs2000")),
                     now=last_year)[0].tracking_no
        session.commit()
    phone_time = now - timedelta(hours=3)
    queued = report_over_http(server, town, reported_at=phone_time.astimezone(CHINA).isoformat())
    first = report_over_http(server, town, reported_at=now.isoformat())
    second = report_over_http(server, town, reported_at=now.isoformat())
    dispatched = report_over_http(server, town, reported_at=now.isoformat(), category="01001")
    for step in ("file", "dispatch"):
        answer = requests.post(f"{server}/mobile/v1/cases/{dispatched}/steps/{step}", json={}, headers=commander,
                               timeout=10)
        assert answer.status_code == 200, answer.text

    page = pages(viewport=LAPTOP)
    sign_in_screen(page, server, COMMANDER)
    wait_until(page, f"document.querySelector('#queue-list [data-tracking-no=\"{old}\"]')")
    received = {n: datetime.fromisoformat(requests.get(f"{server}/api/v1/cases/{n}", headers=commander, timeout=10)
                                          .json()["received_at"]) for n in (old, queued)}

    # 位置待确认 counts every case whose flags ask where it is (the reports 3 m inside a grid with a 4 m accuracy
    # cross its edge), not only `location_unconfirmed`: no such 待确认 badge outside the queue.
    listed = requests.get(f"{server}/api/v1/cases?status=reported,filed&limit=500", headers=commander,
                          timeout=10).json()["cases"]
    located = [c["tracking_no"] for c in listed if set(c["flags"]) & set(LOCATION_FLAGS)]
    assert located
    wait_until(page, f"document.querySelector('[data-count=location]').textContent === '{len(located)}'")

    # The desk's rows: dates with the year where it is not this year, the phone's time of a queued report
    # with its upload's, the grid by its name with its code on hover, and no 15-digit code to read.
    row = f'#queue-list [data-tracking-no="{old}"]'
    assert china(last_year, now).startswith(str(last_year.astimezone(CHINA).year))
    assert china(received[old], now) in page.inner_text(row)
    queued_row = page.inner_text(f'#queue-list [data-tracking-no="{queued}"]')
    assert f"{china(phone_time, now)}（{china(received[queued], now)} 上传）" in queued_row
    grid = town["grid"]
    grid_name = index.cells[index.position_of(grid)].name
    assert page.get_attribute(f'#queue-list [data-tracking-no="{queued}"] .grid-name', "title") == grid
    assert grid_name in queued_row
    assert not re.search(r"\d{15}", page.inner_text("#queue-list"))

    # The sheet of the queued report says when the phone took it, and Esc closes it.
    page.click(f'#queue-list [data-tracking-no="{queued}"]')
    page.wait_for_selector(f"#case-sheet h2:has-text('{queued}')")
    assert f"{china(phone_time, now)}（{china(received[queued], now)} 上传）" in page.inner_text("#case-sheet .facts")
    assert page.get_attribute("#case-sheet .facts .grid-name", "title") == grid
    page.keyboard.press("Escape")
    page.wait_for_selector("#case-sheet", state="hidden")

    # 合并: the first report is offered first (intake noted it), picked with a click; typing stays possible,
    # and a refusal, the service's or the form's checks', is said in Chinese only.
    page.click(f'#queue-list [data-tracking-no="{second}"]')
    page.wait_for_selector(f"#case-sheet h2:has-text('{second}')")
    page.click("#case-sheet button[data-step=merge]")
    offered = page.eval_on_selector_all("#case-sheet .merge-candidates [data-into]",
                                        "all => all.map((b) => [b.dataset.into, Boolean(b.querySelector('.badge'))])")
    # intake's possible duplicates (疑似重复) first: the same matter, reported within the day; then last year's
    assert sorted(offered[:2]) == sorted([[first, True], [queued, True]]) and offered[2:] == [[old, False]]
    for typed, said in (("20990101-AAAAAAAA", "并入案件：您的辖区内没有案件 20990101-AAAAAAAA"),
                        ("2" * 25, "并入案件：长度须在 1–24 之间")):
        page.fill("#case-sheet input[name=into]", typed)
        page.click("#case-sheet .step-form button[type=submit]")
        wait_until(page, f"document.querySelector('#case-sheet .error').textContent.includes('{said}')")
        refusal = page.inner_text("#case-sheet .error")
        assert chinese_only(refusal), refusal
    # In the field, Esc only leaves the field (the typed number stays); the next one closes the sheet.
    page.focus("#case-sheet input[name=into]")
    page.keyboard.press("Escape")
    assert page.is_visible("#case-sheet")
    page.click(f'#case-sheet .merge-candidates [data-into="{first}"]')
    assert page.input_value("#case-sheet input[name=into]") == first
    page.click("#case-sheet .step-form button[type=submit]")
    page.wait_for_selector("#case-sheet h2 .status-merged")
    page.keyboard.press("Escape")
    page.wait_for_selector("#case-sheet", state="hidden")

    # A dispatched case, still 待签收: its clock is the 签收 deadline, in minutes, not the handling deadline.
    page.evaluate(f"gridsvcScreen.desk.show('{dispatched}')")
    page.wait_for_selector(f"#case-sheet h2:has-text('{dispatched}')")
    clock = page.inner_text("#case-sheet .clock")
    assert clock.startswith("签收时限：还剩") and "分钟" in clock and "处置时限" not in clock


FLAG_RING = """(() => {
    const rgb = (text) => text.match(/\\d+/g).slice(0, 3).map(Number);
    const ring = getComputedStyle(document.querySelector('#legend .case-marker.flagged i'));
    return {inner: rgb(ring.borderTopColor), outer: rgb(ring.outlineColor), width: parseFloat(ring.outlineWidth),
            style: ring.outlineStyle};
})()"""


def test_the_ring_of_a_flag_to_act_on_stands_out_on_every_status_fill(server, town, pages):
    """The yellow ring alone vanished on the yellow 待派遣 fill: the ring is now a dark one next to the fill, with
    the yellow outside it, so that next to every fill lies a colour far from it, for colour-blind eyes too."""
    page = pages(viewport=WALL)
    sign_in_screen(page, server, COMMANDER)
    fills = page.evaluate(STATUS_COLOURS)["markers"]
    ring = page.evaluate(FLAG_RING)
    assert ring["style"] == "solid" and ring["width"] >= 2
    for status in {*OPEN_STATUSES, "overdue"}:
        palette = {"fill": tuple(fills[status]), "ring": tuple(ring["inner"])}
        for vision, (distance, _, _) in closest_pairs(palette).items():
            assert distance >= 2 * MIN_DELTA_E, f"the ring on {status} with {vision} (ΔE00 {distance:.1f})"
    rings = {"inner": tuple(ring["inner"]), "outer": tuple(ring["outer"])}
    for vision, (distance, _, _) in closest_pairs(rings).items():
        assert distance >= 2 * MIN_DELTA_E, f"the two rings with {vision} (ΔE00 {distance:.1f})"
