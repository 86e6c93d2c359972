"""The public page of 政务公开 (/public/) in a real headless Chromium, against gunicorn, on both databases
(the server and browser fixtures are in tests/browser/conftest.py).

A citizen on a phone looks up a case a grid worker reported through intake and the township closed,
and sees its status, department, dates, the public closing note and the stars; a wrong number and a
malformed one get their Chinese messages; an enforcement case shows only what 执法公示 allows. The
township figures on the page are the API's, for each period chosen; the responsibility list filters
by department, by category and by words in Chinese or English. In every test, neither the page's
visible text nor any response it received holds the reporter's name or phone, the description, the
point's coordinates, the photo's maker or the report's UUID. The page breaks none of its own
Content-Security-Policy (a violation would be a console error).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from gridsvc.accounts.users import create_user
from gridsvc.catalogue.store import area_chain
from gridsvc.kernel.models import Case
from gridsvc.worktime.calendar import CHINA
from tests.support import COMMANDER, MAKER, PASSWORD, phone_jpeg, report_body, wait_until

SERVICES = "02001"  # 保洁: a services (服务) category the township acts on
ENFORCEMENT = "02004"  # 乱堆乱放: an enforcement (执法) category
REPORTER_NAME, REPORTER_PHONE = "甄秘名举报人", "13987654321"  # distinctive: found nowhere else
HANDLER_PHONE = "13800000021"
CLOSING_NOTE = "垃圾已清运，现场恢复整洁"
QIJIA = "220112100000"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 768}}


@pytest.fixture
def published(town, rt):
    """Two cases a grid worker with a distinctive name and phone reported through intake (the mobile API):
    a services case filed, dispatched, handled, verified, closed with a public note and rated 4 stars,
    with a photo carrying GPS EXIF; and an enforcement case, still open. Personal details are written into
    everything the reporter and officials may type: description, internal notes, the rating's comment."""
    index = rt.index.get()
    department = rt.rules.get().route(area_chain(index, town["grid"]), SERVICES).department.code
    with rt.sessions.begin() as session:
        create_user(session, REPORTER_PHONE, REPORTER_NAME, "grid_worker", PASSWORD, grid_codes=[town["grid"]])
        create_user(session, HANDLER_PHONE, "保洁承办人", "department_handler", PASSWORD, department_code=department)
    client, headers = town["phone"], town["headers"]

    def post(who, path, expect=200, **kwargs):
        answer = client.post(path, headers=headers(who), **kwargs)
        assert answer.status_code == expect, answer.get_json()
        return answer.get_json()

    personal = f"{REPORTER_NAME}（电话 {REPORTER_PHONE}）家门口"
    body = report_body(town, category=SERVICES, description=f"{personal}垃圾三天无人清运")
    services = post(REPORTER_PHONE, "/mobile/v1/reports", 201, json=body)["tracking_no"]
    photo = {"photo": (io.BytesIO(phone_jpeg(town["probe"].x, town["probe"].y)), "IMG_0001.jpg", "image/jpeg")}
    post(REPORTER_PHONE, f"/mobile/v1/reports/{body['client_uuid']}/photos", 201, data=photo,
         content_type="multipart/form-data")
    for who, step, note in ((COMMANDER, "file", f"{REPORTER_NAME}来电反映，已立案"), (COMMANDER, "dispatch", None),
                            (HANDLER_PHONE, "accept", None), (HANDLER_PHONE, "feedback", f"已联系{REPORTER_PHONE}"),
                            (REPORTER_PHONE, "verify", None), (COMMANDER, "close", CLOSING_NOTE)):
        post(who, f"/api/v1/cases/{services}/steps/{step}", json={"note": note} if note else {})
    post(REPORTER_PHONE, f"/api/v1/cases/{services}/rating", 201,
         json={"stars": 4, "comment": f"很及时，有事请打 {REPORTER_PHONE} 找{REPORTER_NAME}"})
    enforcement = post(REPORTER_PHONE, "/mobile/v1/reports", 201, json=report_body(
        town, category=ENFORCEMENT, description=f"{personal}有人乱堆建材"))["tracking_no"]

    # The photo's EXIF: its maker, the day it was taken (as EXIF writes it) and its GPS point, the probe.
    forbidden = [REPORTER_NAME, REPORTER_PHONE, "家门口", "已联系", "来电反映", "很及时", MAKER, "2026:11:25"]
    with rt.sessions() as session:
        for case in session.scalars(sa.select(Case).where(Case.tracking_no.in_([services, enforcement]))):
            forbidden.append(case.client_uuid)
            for value in (case.lon, case.lat, case.input_x, case.input_y, town["probe"].x, town["probe"].y):
                forbidden += [f"{value:.4f}", str(value)[:str(value).index(".") + 5]]  # ~10 m, however written
    return {"services": services, "enforcement": enforcement, "forbidden": forbidden}


class Visit:
    """A browser page with everything it received kept: each response's URL and body, and the
    page's errors (an exception, or a console error such as a Content-Security-Policy violation)."""

    def __init__(self, browser, device: dict):
        self.context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **device)
        self.page = self.context.new_page()
        self.responses: list[tuple[str, str]] = []  # (URL, body), read as each arrives: later it may be gone
        self.texts: list[tuple[str, str]] = []  # what the page showed at moments the test chose
        self.errors: list[str] = []
        self.page.on("response", self.keep)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self.console)

    def console(self, message) -> None:
        # A number not found is a 404 the page answers in Chinese; Chromium logs it all the same.
        expected = "status of 404" in message.text and "/api/v1/public/cases/" in message.location.get("url", "")
        if message.type == "error" and not expected:
            self.errors.append(message.text)

    def keep(self, response) -> None:
        body = b"" if 300 <= response.status < 400 else response.body()  # a redirect has no body
        self.responses.append((response.url, body.decode("utf-8", "replace")))

    def look(self) -> None:
        """Keep what the page shows now (the tab in view) for assert_nothing_personal."""
        self.texts.append(("visible text", self.page.inner_text("body")))

    def assert_nothing_personal(self, forbidden: list[str]) -> None:
        self.look()
        self.texts.append(("the whole document", self.page.text_content("html")))  # hidden tabs too
        seen = self.texts + self.responses
        assert len(self.responses) > 5
        leaks = [(where, f) for where, text in seen for f in forbidden if f and f in text]
        assert leaks == []
        assert all(url.startswith(self.base) for url, _ in self.responses), "only this service"

    def open(self, base: str, path: str = "/public/") -> None:
        self.base = base
        self.page.goto(base + path)


@pytest.fixture
def visit(browser):
    visits = []

    def start(device: dict) -> Visit:
        visits.append(Visit(browser, device))
        return visits[-1]
    yield start
    for v in visits:
        v.context.close()
    assert [e for v in visits for e in v.errors] == [], "the page threw or broke its policy"


def look_up(page, typed: str) -> None:
    page.fill("#tracking-no", typed)
    page.click("#lookup-form button[type=submit]")


def message(page, kind: str) -> str:
    page.wait_for_selector(f'#lookup-message[data-kind="{kind}"]:not([hidden])')
    return page.inner_text("#lookup-message")


def test_a_citizen_looks_up_a_case_on_a_phone_and_sees_its_progress_but_nobody(
        published, server, visit, save_screenshot):
    citizen = visit(PHONE)
    page = citizen.page
    citizen.open(server)
    assert page.title() == "镇村一张网 · 政务公开"

    look_up(page, "")
    assert message(page, "error") == "请输入案件编号。"
    look_up(page, "12345")
    assert "案件编号格式不正确" in message(page, "malformed") and "20260501-ABCDEFGH" in page.inner_text("#lookup-message")
    look_up(page, "20990101-AAAAAAAA")
    assert message(page, "not-found") == "未找到编号为 20990101-AAAAAAAA 的案件。请核对编号后重试。"
    assert page.is_hidden("#lookup-result")

    number = published["services"]
    typed = f" {number[:8]}－{number[9:].lower()} "  # a full-width dash, lower case, spaces: forgiven
    look_up(page, typed)
    page.wait_for_selector(f'#lookup-result[data-tracking-no="{number}"]:not([hidden])')
    shown = requests.get(f"{server}/api/v1/public/cases/{number}", timeout=10).json()

    def field(name: str) -> str:
        return page.inner_text(f'#lookup-result [data-field="{name}"]')
    assert field("status") == "已结案" == shown["status_name_zh"]
    department = shown["department"]
    assert department["name_zh"] in field("department") and department["name_en"] in field("department")
    assert shown["category"]["name_zh"] in field("category") and shown["category"]["name_en"] in field("category")
    assert field("place") == f"齐家镇 · {shown['village']['name']}"
    year, month, day = (int(part) for part in shown["received_on"].split("-"))
    assert field("received") == f"{year}年{month}月{day}日"
    assert field("closed") != "尚未办结"
    assert "结案" in field("notes") and CLOSING_NOTE in field("notes")
    assert "4 星" in field("rating") and page.inner_text('[data-field="rating"] .stars') == "★★★★☆"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    citizen.look()
    save_screenshot(page, "public-case.png")

    # An enforcement case: what 执法公示 allows, nothing of what, where exactly, or what was said.
    look_up(page, published["enforcement"])
    page.wait_for_selector(f'#lookup-result[data-tracking-no="{published["enforcement"]}"]')
    assert page.is_visible('[data-notice="enforcement"]') and field("status") == "待立案"
    assert not page.query_selector_all('#lookup-result [data-field="category"], #lookup-result [data-field="notes"]')
    citizen.look()

    # A link in a receipt opens the page on the case.
    citizen.open(server, f"/public/?case={number}")
    page.wait_for_selector(f'#lookup-result[data-tracking-no="{number}"]:not([hidden])')
    page.click("#lookup-result a[data-department-name]")  # …and on to what the department answers for
    wait_until(page, "document.querySelector('#list-count').textContent.includes('符合条件')")
    rows = page.locator("#list-table tbody tr:not([hidden])")
    assert rows.count() > 0
    assert all(department["name_zh"] in text for text in rows.all_inner_texts())
    assert any(CLOSING_NOTE in body for _, body in citizen.responses)  # the bodies searched are the real ones
    citizen.assert_nothing_personal(published["forbidden"])


def stats_response(visit: Visit) -> str:
    return [url for url, _ in visit.responses if "/api/v1/public/townships/" in url][-1]


def figures_on_page(page) -> dict:
    def figure(name: str) -> str:
        return page.inner_text(f'#stats-figures [data-figure="{name}"] .value')

    return {
        "received": figure("received"), "closed": figure("closed"), "closed_on_time": figure("closed_on_time"),
        "rate": figure("on_time_closure_rate"), "stars": figure("satisfaction"),
        "by_status": page.eval_on_selector_all("#by-status tbody tr", "rs => rs.map(r => [r.dataset.status, "
                                                                      "r.querySelector('.count').textContent])"),
        "by_domain": page.eval_on_selector_all("#by-domain tbody tr", "rs => rs.map(r => [r.dataset.domain, "
                                                                      "r.querySelector('.count').textContent])"),
    }


def figures_of(api: dict) -> dict:
    rate, mean = api["on_time_closure_rate"], api["satisfaction"]["mean_stars"]
    return {
        "received": str(api["received"]), "closed": str(api["closed"]), "closed_on_time": str(api["closed_on_time"]),
        "rate": "—" if rate is None else f"{rate * 100:.1f}%", "stars": "—" if mean is None else f"{mean:.1f}",
        "by_status": [[s["status"], str(s["count"])] for s in api["by_status"]],
        "by_domain": [[d["code"], str(d["count"])] for d in api["by_domain"]],
    }


def test_the_township_figures_on_the_page_are_the_apis(published, server, visit, save_screenshot):
    citizen = visit(DESKTOP)
    page = citizen.page
    citizen.open(server, "/public/#stats")
    wait_until(page, "document.querySelector('#stats').dataset.state === 'ready'")
    assert page.eval_on_selector_all("#township option", "os => os.map(o => o.textContent)") == [
        "云山街道", "齐家镇", "太平镇", "鹿乡镇"]
    with page.expect_response(lambda r: f"/townships/{QIJIA}/stats" in r.url):
        page.select_option("#township", QIJIA)
    wait_until(page, "document.querySelector('#stats').dataset.state === 'ready'")
    api = requests.get(stats_response(citizen), timeout=10).json()
    assert api["township"]["name"] == "齐家镇" and api["received"] == 2 and api["closed"] == 1
    assert api["satisfaction"] == {"ratings": 1, "mean_stars": 4.0}
    assert figures_on_page(page) == figures_of(api)
    assert "齐家镇" in page.inner_text("#stats-figures .period-note")
    save_screenshot(page, "public-stats.png")

    for period in ("30", "last-month", "90"):
        before = stats_response(citizen)
        with page.expect_response(lambda r: "/stats?" in r.url and r.url != before):
            page.select_option("#period", period)
        wait_until(page, "document.querySelector('#stats').dataset.state === 'ready'")
        asked = stats_response(citizen)
        assert f"/townships/{QIJIA}/stats?from=" in asked
        assert asked_period(asked) == expected_period(period), period
        assert figures_on_page(page) == figures_of(requests.get(asked, timeout=10).json()), period
        citizen.look()
    citizen.assert_nothing_personal(published["forbidden"])


def asked_period(url: str) -> tuple[str, str | None]:
    query = parse_qs(urlsplit(url).query)
    return query["from"][0], query.get("to", [None])[0]


def expected_period(key: str) -> tuple[str, str | None]:
    """The bounds each choice must send, worked out here from the China date (stats.js's `bounds`)."""
    today = datetime.now(CHINA).date()
    month_start = today.replace(day=1)
    if key == "last-month":
        last_month = (month_start - timedelta(days=1)).replace(day=1)
        return f"{last_month}T00:00:00+08:00", f"{month_start}T00:00:00+08:00"
    return f"{today - timedelta(days=int(key) - 1)}T00:00:00+08:00", None


def visible_rows(page) -> list[dict]:
    return page.eval_on_selector_all("#list-table tbody tr:not([hidden])", """rs => rs.map(r => ({
        subject: r.dataset.subject, department: r.dataset.department, text: r.innerText}))""")


def test_the_responsibility_list_filters_by_department_category_and_words(published, server, visit, save_screenshot):
    citizen = visit(PHONE)
    page = citizen.page
    citizen.open(server, "/public/#list")
    wait_until(page, "document.querySelector('#list').dataset.state === 'ready'")
    rules = requests.get(f"{server}/api/v1/public/responsibility", timeout=10).json()["rules"]
    assert len(visible_rows(page)) == len(rules) > 100
    assert page.inner_text("#list-count") == f"共 {len(rules)} 条"
    first = next(r for r in rules if r["subject_kind"] == "category")
    row_text = visible_rows(page)[rules.index(first)]["text"]
    for name in (first["subject_name_zh"], first["subject_name_en"], first["department"]["name_zh"],
                 first["department"]["name_en"]):
        assert name in row_text  # Chinese names with the English ones
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"

    department = "220112000000-ZRZY"  # 双阳区自然资源局
    page.select_option("#list-department", department)
    rows = visible_rows(page)
    assert {r["department"] for r in rows} == {department}
    assert len(rows) == sum(r["department"]["code"] == department for r in rules) > 1
    assert page.inner_text("#list-count") == f"共 {len(rules)} 条，符合条件 {len(rows)} 条"

    page.click("#list-reset")
    page.select_option("#list-subject", f"category:{SERVICES}")
    rows = visible_rows(page)
    assert {r["subject"] for r in rows} == {f"category:{SERVICES}"}
    assert len(rows) == sum(r["subject"] == SERVICES for r in rules) > 0
    save_screenshot(page, "public-list.png")

    page.click("#list-reset")
    page.fill("#list-search", "natural RESOURCES")  # English, any case, every word
    rows, words = visible_rows(page), ("natural", "resources")
    assert rows and all(w in r["text"].lower() for r in rows for w in words)
    english = [" ".join([r["department"]["name_en"], r["subject_name_en"] or ""]).lower() for r in rules]
    assert len(rows) == sum(all(w in text for w in words) for text in english)
    page.fill("#list-search", "保洁")
    rows = visible_rows(page)
    assert rows and all("保洁" in r["text"] for r in rows)
    page.fill("#list-search", "没有这种事项")
    assert visible_rows(page) == [] and page.is_visible("#list .empty")
    page.click("#list-reset")
    assert len(visible_rows(page)) == len(rules) and not page.query_selector("#list .empty")
    citizen.assert_nothing_personal(published["forbidden"])
