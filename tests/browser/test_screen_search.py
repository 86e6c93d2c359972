"""The command screen's 查找 tab in a real headless Chromium, against gunicorn, on both databases: a
commander finds a case by a word of its description, by its tracking number, and by village + category +
date; pages reach the 120th case of a list; a result opens the case's sheet and flies the map to it; a
matching report arriving live joins the answer shown; the search lives in the address, so reloading the
page restores it; another township's case is not found."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gridsvc.cases.intake import Intake, Report, submit
from gridsvc.geo.crs import parse_crs
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import Case, User
from gridsvc.worktime.calendar import CHINA
from tests.support import (COMMANDER, QIJIA, STRANGER, V2, WALL, WORKER, report_over_http, serve, sign_in_screen,
                           wait_until)

playwright_api = pytest.importorskip("playwright.sync_api")

PILED, DISPUTE = "02004", "01001"  # 乱堆乱放, 邻里纠纷
EVERYDAY = 130  # reports of the last hours: more than two pages of 50


@pytest.fixture
def page(pages):
    return pages(viewport=WALL)


@pytest.fixture
def history(town, rt):
    """EVERYDAY reports in the worker's grid, one a minute; in 东升村 (V2) the needle (水渠, 3 days ago), a
    dispute 10 days ago and two decoys (another category that day, the same category today); one report
    in 鹿乡镇. Written before the server starts, through intake, as phones would have sent them."""
    index = rt.index.get()
    v2 = next(i for i, c in enumerate(index.cells) if c.kind == "base" and c.code.startswith(V2))
    here, there = index.geometry(v2).representative_point(), town["other_point"]
    worker_at = index.geometry(index.position_of(town["grid"])).representative_point()
    now = utcnow()
    plan = [(WORKER, worker_at, PILED, f"第{i}处路边堆放杂物", now - timedelta(minutes=i + 1)) for i in range(EVERYDAY)]
    plan += [(WORKER, here, PILED, "东升村口水渠堵塞，污水外溢", now - timedelta(days=3)),
             (WORKER, here, DISPUTE, "两户因宅基地边界发生纠纷", now - timedelta(days=10)),
             (WORKER, here, PILED, "村口堆放秸秆", now - timedelta(days=10, minutes=5)),
             (WORKER, here, DISPUTE, "邻里因噪音发生纠纷", now - timedelta(minutes=200)),
             (STRANGER, there, PILED, "鹿乡村口堆放秸秆", now - timedelta(minutes=30))]
    numbers = []
    with rt.sessions() as session:
        intake = Intake(index, rt.calendar.get(), rt.rules.get(), rt.settings)
        for phone, point, category, description, moment in plan:
            reporter = session.scalar(sa.select(User).where(User.phone == phone))
            report = Report(str(uuid.uuid4()), category, description, point.x, point.y, parse_crs("cgcs2000"))
            numbers.append(submit(session, intake, reporter, report, now=moment)[0].tracking_no)
        session.commit()
        newest = list(session.scalars(sa.select(Case.tracking_no).where(Case.township_code == QIJIA)
                                      .order_by(Case.received_at.desc(), Case.id.desc())))  # the commander's
    needle, dispute, *_, theirs = numbers[EVERYDAY:]
    return {"needle": needle, "dispute": dispute, "theirs": theirs, "newest": newest,
            "dispute_day": (now - timedelta(days=10)).astimezone(CHINA).date().isoformat()}


def searched(page, summary: str) -> list[str]:
    """Wait for the answer to the last search asked to be drawn; check its summary; the tracking numbers listed."""
    wait_until(page, "gridsvcScreen.search?.result?.asked === gridsvcScreen.search.asked")
    assert page.inner_text("#search .search-summary") == summary
    return page.eval_on_selector_all("#search tbody tr", "rows => rows.map((r) => r.dataset.trackingNo)")


def find(page, words: str) -> None:
    page.fill("#search input[name=q]", words)
    page.press("#search input[name=q]", "Enter")


def test_a_commander_finds_cases_by_words_number_and_filters_and_the_address_keeps_the_search(
        history, town, rt, page, database_url, tmp_path, save_screenshot):
    with serve(database_url, tmp_path) as base:
        sign_in_screen(page, base, COMMANDER)
        page.click("nav.tabs button[data-tab=search]")

        # a word of a description: the case's sheet opens and the map flies to it, ringed
        find(page, "水渠")
        assert searched(page, "共 1 件 · 第 1–1 件") == [history["needle"]]
        assert page.inner_text("#search tbody tr td:nth-child(2)") == "齐家镇"  # the township column
        page.click(f"#search tr[data-tracking-no='{history['needle']}']")
        page.wait_for_selector(f"#case-sheet h2:has-text('{history['needle']}')")
        wait_until(page, f"gridsvcScreen.map.found?.trackingNo === '{history['needle']}'")
        wait_until(page, "gridsvcScreen.map.map.getZoom() >= 16 && gridsvcScreen.map.map.getCenter()"
                         ".distanceTo(gridsvcScreen.map.found.getLatLng()) < 5", timeout=10)
        save_screenshot(page, "screen-search.png")
        page.click("#case-sheet [data-close]")

        # a report that matches arrives while the answer is shown: the answer is asked again, as it was asked
        page.fill("#search input[name=q]", "未发送的词")  # typed, not sent: the refresh keeps to the search sent
        arrived = report_over_http(base, town, description="村西水渠垃圾堵塞")
        wait_until(page, "document.querySelector('#search .search-summary').textContent === '共 2 件 · 第 1–2 件'",
                   timeout=10)
        assert page.eval_on_selector_all("#search tbody tr", "rows => rows.map((r) => r.dataset.trackingNo)") == [
            arrived, history["needle"]]
        assert page.input_value("#search input[name=q]") == "未发送的词"
        newest = [arrived, *history["newest"]]  # the township's cases now, newest first

        # a tracking number; another township's number finds nothing
        one = newest[7]
        find(page, one)
        assert searched(page, "共 1 件 · 第 1–1 件") == [one]
        find(page, history["theirs"])
        assert searched(page, "没有符合条件的案件") == []

        # village + category + date: the dispute of that day alone, not its decoys
        page.click("#search [data-clear]")
        page.select_option("#search select[name=area]", V2)
        page.select_option("#search select[name=category]", DISPUTE)
        page.fill("#search input[name=from]", history["dispute_day"])
        page.fill("#search input[name=to]", history["dispute_day"])
        page.click("#search button[type=submit]")
        assert searched(page, "共 1 件 · 第 1–1 件") == [history["dispute"]]
        assert f"area={V2}" in page.url and f"from={history['dispute_day']}" in page.url

        page.reload()  # the address keeps the search: the same choices, the same answer
        wait_until(page, "window.gridsvcScreen?.search")
        assert searched(page, "共 1 件 · 第 1–1 件") == [history["dispute"]]
        assert page.is_visible("#search") and not page.is_visible("#desk")
        assert page.input_value("#search select[name=area]") == V2
        assert page.input_value("#search select[name=category]") == DISPUTE
        assert page.input_value("#search input[name=to]") == history["dispute_day"]

        # every case of the township, a page at a time, to the 120th and beyond
        page.click("#search [data-clear]")
        page.click("#search button[type=submit]")
        total = len(newest)
        assert searched(page, f"共 {total} 件 · 第 1–50 件") == newest[:50]
        page.click("#search .pager [data-page='1']")
        assert searched(page, f"共 {total} 件 · 第 51–100 件") == newest[50:100]
        page.click("#search .pager [data-page='1']")
        assert searched(page, f"共 {total} 件 · 第 101–{total} 件") == newest[100:]
        assert page.inner_text("#search .pager span") == "第 3 / 3 页"
        assert page.is_visible(f"#search tr[data-tracking-no='{newest[119]}']")  # the 120th
        assert page.is_disabled("#search .pager [data-page='1']")
        page.reload()
        wait_until(page, "window.gridsvcScreen?.search")
        assert searched(page, f"共 {total} 件 · 第 101–{total} 件") == newest[100:]
