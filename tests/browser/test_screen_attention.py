"""The command screen in daily use (issue 17): what draws a commander's attention, in a real headless Chromium
against gunicorn, on both databases.

An urgent report and a case the deadline sweep finds overdue each raise the alarm on the open screen within 2 s
(the pop-up, and the tone: an init script counts the Web Audio oscillators the page starts); muted, the pop-up
still comes and no tone starts, and the choice outlives a reload. The event strip names the event in large type.
A case marker opens a pop-up whose button opens the sheet; 全镇 brings the whole area back after zooming in;
village names appear from one zoom, grid names from a deeper one. A flag that only informs is shown plainly, not
as 待确认. The 不予立案 form says its note will be public and previews it; the commander corrects it afterwards.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa

from gridsvc.cases.deadline_sweep import sweep
from gridsvc.cases.flags import ACT_ON, OUTSIDE_OWN_GRIDS
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import Case
from tests.support import (COMMANDER, STRANGER, WALL, case_marker, report_over_http, sign_in_screen, wait_until)

pytest.importorskip("playwright.sync_api")

# Counts the oscillators the page starts: the alarm's tone, observed where the Web Audio API is called.
COUNT_TONES = """
window.tonesStarted = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.tonesStarted += 1; return start.apply(this, args); };
"""
SERVICES = "02001"  # 保洁: a services category, its 不予立案 reason published
VILLAGE_LABELS_FROM, GRID_LABELS_FROM = 13, 15  # js/labels.js


@pytest.fixture
def screen(pages, server):
    page = pages(viewport=WALL)
    page.add_init_script(COUNT_TONES)
    sign_in_screen(page, server, COMMANDER)
    return page


def place_of(rt, grid: str) -> str:
    """A grid's place as the screen names it: village · grid."""
    index = rt.index.get()
    cell = index.cells[index.position_of(grid)]
    village, _, _ = index.hierarchy(cell.village_code)
    return f"{village.name} · {cell.name}"


def case_of(server, town, number: str) -> dict:
    return requests.get(f"{server}/api/v1/cases/{number}", headers=town["headers"](COMMANDER), timeout=10).json()


def alarm_item(number: str) -> str:
    return f"#alarm li[data-tracking-no='{number}']"


def tones(page) -> int:
    return page.evaluate("window.tonesStarted")


def test_an_urgent_report_and_an_overdue_case_raise_the_alarm_and_mute_silences_only_the_tone(
        screen, server, town, rt, save_screenshot):
    sent = time.monotonic()
    urgent = report_over_http(server, town, urgent=True)
    screen.wait_for_selector(alarm_item(urgent), timeout=2_000)
    assert time.monotonic() - sent < 2.0
    assert tones(screen) > 0  # the tone started with the pop-up
    place = place_of(rt, case_of(server, town, urgent)["grid"])
    raised = screen.inner_text(alarm_item(urgent))
    assert "紧急上报" in raised and "乱堆乱放" in raised and place in raised

    # The strip names it too (what, which category, where), in type a room can read.
    item = f"#feed li[data-tracking-no='{urgent}']"
    assert all(part in screen.inner_text(item) for part in ("紧急上报", "乱堆乱放", place))
    assert screen.evaluate(f"parseFloat(getComputedStyle(document.querySelector(\"{item}\")).fontSize)") >= 24
    screen.wait_for_selector(case_marker(urgent))
    save_screenshot(screen, "screen-alarm.png")
    screen.click("#alarm [data-dismiss]")
    screen.wait_for_selector("#alarm", state="hidden")

    # The sweep, run against the service's database while the screen is open, finds a case overdue.
    late = report_over_http(server, town)
    wait_until(screen, f"gridsvcScreen.map.cases.has('{late}')")
    assert not screen.is_visible(alarm_item(late))  # an ordinary report raises no alarm
    with rt.sessions() as session:
        due = as_utc(session.scalar(sa.select(Case.stage_due_at).where(Case.tracking_no == late)))
    heard = tones(screen)
    swept = time.monotonic()
    assert sweep(rt.sessions, rt.calendar.get(), rt.settings, due + timedelta(seconds=1)).overdue >= 1
    screen.wait_for_selector(alarm_item(late), timeout=2_000)
    assert time.monotonic() - swept < 2.0
    assert "案件超期" in screen.inner_text(alarm_item(late)) and tones(screen) > heard
    screen.click(f"{alarm_item(late)} [data-open]")  # 查看案件: the sheet, and the alarm is done
    screen.wait_for_selector(f"#case-sheet h2:has-text('{late}')")
    assert not screen.is_visible("#alarm")

    # Muted: the pop-up still comes, no tone starts; the choice is the screen's and survives a reload.
    screen.click("#alarm-mute")
    assert screen.inner_text("#alarm-mute") == "告警声音：关"
    heard = tones(screen)
    quiet = report_over_http(server, town, urgent=True)
    screen.wait_for_selector(alarm_item(quiet), timeout=2_000)
    screen.wait_for_timeout(300)
    assert tones(screen) == heard
    screen.reload()
    wait_until(screen, "window.gridsvcScreen?.map?.gridCount() > 0")
    assert screen.inner_text("#alarm-mute") == "告警声音：关"
    screen.click("#alarm-mute")
    assert screen.evaluate("localStorage.getItem('gridsvc.alarm.muted')") is None


ON_TOP = """(selector) => {
    const box = document.querySelector(selector).getBoundingClientRect();
    const top = document.elementFromPoint(box.left + box.width / 2, box.top + Math.min(20, box.height / 2));
    return document.querySelector(selector).contains(top);
}"""


def test_alarms_at_once_are_listed_together_under_one_tone(screen):
    """A sweep can make dozens of cases overdue at once: each is listed, the tone sounds once, not dozens of
    times on top of itself."""
    wait_until(screen, "window.gridsvcScreen?.alarm !== undefined")
    before = tones(screen)
    screen.evaluate("""() => { for (let i = 0; i < 12; i += 1) gridsvcScreen.alarm.raise(
        {title: '案件超期', trackingNo: `20261208-AAAAAA${String.fromCharCode(65 + i)}A`, at: new Date().toISOString(),
         lines: ['乱堆乱放']}); }""")
    one_tone = tones(screen) - before
    assert 0 < one_tone <= 6  # BEEPS in js/alarm.js: one round of tones
    assert screen.locator("#alarm li").count() == 5 and "另有 7 条告警" in screen.inner_text("#alarm")


def test_the_alarm_lies_over_the_ranking_view_and_its_case_comes_over_it_too(screen, server, town):
    """The ranking's view covers the map: an alarm raised meanwhile shows above it, and 查看 closes the view, so
    that the sheet it opens is not left under it."""
    screen.click("nav.tabs button[data-tab=numbers]")
    screen.click("#numbers [data-open=ranking]")
    screen.wait_for_selector("#ranking-view", state="visible")
    urgent = report_over_http(server, town, urgent=True)
    screen.wait_for_selector(alarm_item(urgent), timeout=2_000)
    assert screen.evaluate(ON_TOP, "#alarm")
    screen.click(f"{alarm_item(urgent)} [data-open]")
    screen.wait_for_selector(f"#case-sheet h2:has-text('{urgent}')")
    assert not screen.is_visible("#ranking-view") and screen.evaluate(ON_TOP, "#case-sheet")


def test_markers_open_a_pop_up_the_home_button_fits_the_area_and_names_follow_the_zoom(screen, server, town, rt):
    number = report_over_http(server, town)
    grid = case_of(server, town, number)["grid"]
    screen.wait_for_selector(case_marker(number))
    home = screen.evaluate("[gridsvcScreen.map.map.getZoom(), gridsvcScreen.map.map.getCenter()]")
    assert home[0] < GRID_LABELS_FROM  # the whole township: too far out for the grids' names

    screen.click(case_marker(number))
    popup = f".case-popup [data-tracking-no='{number}']"
    screen.wait_for_selector(popup)
    assert screen.get_attribute(f"{case_marker(number)}", "title") is None  # no browser tooltip any more
    shown = screen.inner_text(popup)
    assert all(part in shown for part in ("乱堆乱放", "待立案", place_of(rt, grid), "上报于", number))
    # the phone's time (support.report_body: 2026-11-25 09:12 China time), the upload's after it
    assert "11/25 09:12" in shown and "上传" in shown
    screen.click(f"{popup} [data-open-sheet]")
    screen.wait_for_selector(f"#case-sheet h2:has-text('{number}')")
    screen.click("#case-sheet [data-close]")

    index = rt.index.get()
    cell = index.cells[index.position_of(grid)]
    village = index.hierarchy(cell.village_code)[0].name
    centre = index.geometry(index.position_of(grid)).representative_point()
    labels = ("[...document.querySelectorAll('.map-label')]"
              ".map((l) => [l.classList.contains('grid-label') ? 'grid' : 'village', l.innerText])")
    for zoom, kind, name in ((VILLAGE_LABELS_FROM - 1, None, None),  # a county's view: no names over it
                             (VILLAGE_LABELS_FROM, "village", village), (GRID_LABELS_FROM, "grid", cell.name)):
        screen.evaluate(f"gridsvcScreen.map.map.setView([{centre.y}, {centre.x}], {zoom}, {{animate: false}})")
        wait_until(screen, f"gridsvcScreen.map.labels.level === {'null' if kind is None else repr(kind)}")
        shown = screen.evaluate(labels)
        assert {k for k, _ in shown} == ({kind} if kind else set()), zoom
        assert kind is None or [kind, name] in shown

    screen.click(".home-control")
    wait_until(screen, f"gridsvcScreen.map.map.getZoom() === {home[0]}")
    wait_until(screen, f"gridsvcScreen.map.map.getCenter().distanceTo([{home[1]['lat']}, {home[1]['lng']}]) < 1")
    wait_until(screen, "document.querySelectorAll('.map-label.grid-label').length === 0")


def test_a_flag_that_only_informs_is_shown_plainly_not_as_to_confirm(screen, server, town, rt):
    """A grid worker of 鹿乡镇 reports in the middle of a 齐家镇 grid: `outside_own_grids` tells, but asks nothing."""
    index = rt.index.get()
    inside = index.geometry(index.position_of(town["grid"])).representative_point()
    number = report_over_http(server, town, who=STRANGER, lon=inside.x, lat=inside.y, crs="cgcs2000")
    flags = set(case_of(server, town, number)["flags"])
    assert OUTSIDE_OWN_GRIDS in flags and not flags & ACT_ON
    row = f"#queue-list [data-tracking-no='{number}']"
    screen.wait_for_selector(row)
    assert "待确认" not in screen.inner_text(row)
    screen.wait_for_selector(case_marker(number))
    assert screen.locator(f".case-marker.flagged [data-tracking-no='{number}']").count() == 0
    screen.click(row)
    screen.wait_for_selector(f"#case-sheet h2:has-text('{number}')")
    facts = screen.inner_text("#case-sheet .facts")
    assert "提示" in facts and "超出本人网格" in facts and "待确认" not in facts


def test_a_public_note_is_marked_previewed_and_corrected_afterwards(screen, server, town, pages):
    number = report_over_http(server, town, category=SERVICES)
    row = f"#queue-list [data-tracking-no='{number}']"
    screen.wait_for_selector(row)
    screen.click(row)
    screen.wait_for_selector(f"#case-sheet h2:has-text('{number}')")
    screen.click("#case-sheet button[data-step=file]")
    assert screen.locator("#case-sheet .public-mark").count() == 0  # 立案's note is not published

    screen.click("#case-sheet button[data-step=reject]")
    assert screen.inner_text("#case-sheet .public-mark") == "将在政务公开页面公示"
    today = datetime.now(timezone.utc).astimezone(ZoneInfo("Asia/Shanghai")).date()
    screen.fill("#case-sheet textarea[name=note]", "属物业管理范围，请联系物业张经理 13912345678")
    preview = screen.inner_text("#case-sheet .public-preview")
    assert f"不予立案 · {today.year}年{today.month}月{today.day}日" in preview and "张经理 13912345678" in preview
    screen.click("#case-sheet .step-form button[type=submit]")
    screen.wait_for_selector("#case-sheet .status-rejected")
    assert "13912345678" in screen.inner_text("#case-sheet .public-notes")

    screen.click("#case-sheet button[data-correct-note]")
    assert screen.input_value("#case-sheet textarea[name=note]") == "属物业管理范围，请联系物业张经理 13912345678"
    assert "将在政务公开页面公示" in screen.inner_text("#case-sheet .step-form")
    screen.fill("#case-sheet textarea[name=note]", "属物业管理范围，请联系小区物业")
    assert f"（{today.year}年{today.month}月{today.day}日更正）" in screen.inner_text("#case-sheet .public-preview")
    screen.click("#case-sheet .step-form button[type=submit]")
    wait_until(screen, "document.querySelector('#case-sheet .public-notes')?.innerText.includes('小区物业')")
    assert "13912345678" not in screen.inner_text("#case-sheet .public-notes")
    assert "更正公示说明" in screen.inner_text("#case-sheet .timeline")
    public = requests.get(f"{server}/api/v1/public/cases/{number}", timeout=10).json()
    assert [n["note"] for n in public["notes"]] == ["属物业管理范围，请联系小区物业"]
    citizen = pages(viewport={"width": 390, "height": 844})  # the public page says it was corrected, and when
    citizen.goto(f"{server}/public/?case={number}")
    citizen.wait_for_selector("ul.notes li")
    shown = citizen.inner_text("ul.notes")
    assert "属物业管理范围，请联系小区物业" in shown and f"{today.month}月{today.day}日更正" in shown
    assert "13912345678" not in citizen.inner_text("body")
