"""Evidence and the 案卷 on the command screen, in real headless Chromium against gunicorn, on both databases.

A grid worker reports 乱堆乱放 (its category here asks for a photo with the feedback) with a photo taken on
the spot and one taken 2 km away; the township's enforcement officer, of a team, accepts it, arrives on site,
adds a photo without GPS and gives the feedback naming the reporter's photo. On the commander's case sheet:
the photo viewer opens a thumbnail large, goes through the three photos with the arrow keys and its buttons,
says for each where it was taken against the case (相符, 不符, no GPS) and closes with Esc; the record names
the team, the department and the person of every step and how far from the case the officer arrived; the
verify form says that a photo of the result is missing, and the service refuses 核查通过 in Chinese; 打印案卷
shows the file and 下载PDF saves it as a PDF that reads back with the case in it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from pypdf import PdfReader

from gridsvc.kernel.models import Department, Team, User
from tests.support import (COMMANDER, LOCAL_CATEGORY, OFFICER, WALL, WORKER, moved, phone_jpeg, photo_required_for,
                           report_over_http, serve, sign_in_screen, wait_until)

playwright_api = pytest.importorskip("playwright.sync_api")
VIEWER = ".photo-viewer"


@pytest.fixture
def server(town, rt, database_url, tmp_path):
    """The service, started once the category asks for a photo with the feedback (a new catalogue version)."""
    photo_required_for(rt, LOCAL_CATEGORY)
    with serve(database_url, tmp_path) as base:
        yield base


@pytest.fixture
def page(pages):
    return pages(viewport=WALL)


def call(server, town, who, method, path, **options):
    answer = requests.request(method, f"{server}{path}", headers=town["headers"](who), timeout=30, **options)
    assert answer.ok, answer.text
    return answer.json()


def upload(server, town, who, number, jpeg: bytes) -> int:
    return call(server, town, who, "POST", f"/api/v1/cases/{number}/attachments",
                files={"photo": ("IMG_0001.jpg", jpeg, "image/jpeg")})["id"]


@pytest.fixture
def handled(server, town, rt):
    """The case, handled with the reporter's photo as its only evidence: its number, photos and names."""
    with rt.sessions.begin() as session:
        team = session.scalars(sa.select(Team).where(Team.department_code == town["department"])
                               .order_by(Team.code)).first()
        session.scalar(sa.select(User).where(User.phone == OFFICER)).team_code = team.code
        names = {"team": team.name_zh, "department": session.get(Department, town["department"]).name_zh}
    number = report_over_http(server, town)
    case = call(server, town, COMMANDER, "GET", f"/api/v1/cases/{number}")
    spot, far = case["point"], moved(town["probe"], 2000)
    photos = [upload(server, town, WORKER, number, phone_jpeg(spot["lon"], spot["lat"], size=(640, 480))),
              upload(server, town, WORKER, number, phone_jpeg(far.x, far.y, size=(800, 400)))]
    steps = f"/api/v1/cases/{number}/steps"
    call(server, town, COMMANDER, "POST", f"{steps}/file", json={})
    call(server, town, COMMANDER, "POST", f"{steps}/dispatch",
         json={"department": town["department"], "team": team.code})
    call(server, town, OFFICER, "POST", f"{steps}/accept", json={})
    there = moved(town["probe"], 40)
    call(server, town, OFFICER, "POST", f"{steps}/arrive", json={"lon": there.x, "lat": there.y, "crs": "cgcs2000"})
    photos.append(upload(server, town, OFFICER, number, phone_jpeg(size=(480, 640))))  # no GPS
    call(server, town, OFFICER, "POST", f"{steps}/feedback", json={"note": "已清理", "attachments": [photos[0]]})
    return {"number": number, "photos": photos, **names}


def viewer_says(page, counter: str) -> dict:
    wait_until(page, f"document.querySelector('{VIEWER} .counter').textContent === '{counter}'")
    return page.evaluate(f"""(() => {{ const v = document.querySelector('{VIEWER}');
        return {{ shown: Number(v.dataset.shown), check: v.querySelector('.check').className,
                  text: v.querySelector('figcaption').textContent }}; }})()""")


def test_photos_record_verification_and_the_case_file_on_the_sheet(server, town, handled, page, save_screenshot):
    number, photos = handled["number"], handled["photos"]
    sign_in_screen(page, server, COMMANDER)
    page.click("#queues button[data-queue=verify]")  # 待核查
    page.click(f"#queue-list li[data-tracking-no='{number}']")
    page.wait_for_selector(f"#case-sheet h2:has-text('{number}')")
    page.wait_for_selector(f"#case-sheet .thumb[data-photo='{photos[0]}'] img[src^='blob:']")
    assert page.get_attribute(f"#case-sheet .thumb[data-photo='{photos[1]}']", "class").split() == ["thumb", "mismatch"]

    # The photo viewer: the first thumbnail opens its photo large (the full picture, not the thumbnail) …
    page.click(f"#case-sheet .thumb[data-photo='{photos[0]}']")
    wait_until(page, f"document.querySelector('{VIEWER} img').naturalWidth === 640")
    first = viewer_says(page, "1 / 3")
    assert first["shown"] == photos[0] and first["check"] == "check match"
    assert "拍摄位置距案件位置 0 米，与上报位置相符" in first["text"] and "网格员小王（网格员）" in first["text"]
    large, thumbnail = page.locator(f"{VIEWER} img").bounding_box(), page.locator("#case-sheet .thumb img").first
    assert large["width"] >= 640 and large["width"] > 3 * thumbnail.bounding_box()["width"]
    # … → and the buttons go through the case's photos, each with its GPS check, ← back, Esc closes.
    page.keyboard.press("ArrowRight")
    second = viewer_says(page, "2 / 3")
    assert second["shown"] == photos[1] and second["check"] == "check mismatch"
    assert "拍摄位置距案件位置 2.0 公里，与上报位置不符" in second["text"]
    wait_until(page, f"document.querySelector('{VIEWER} img').naturalWidth === 800")
    page.click(f"{VIEWER} .next")
    third = viewer_says(page, "3 / 3")
    assert third["check"] == "check unknown" and "照片无 GPS 位置信息" in third["text"] and "执法队员（" in third["text"]
    page.keyboard.press("ArrowLeft")
    assert viewer_says(page, "2 / 3")["shown"] == photos[1]
    wait_until(page, f"document.querySelector('{VIEWER} img').naturalWidth === 800")
    save_screenshot(page, "screen-photo-viewer.png")
    page.keyboard.press("Escape")
    wait_until(page, f"document.querySelector('{VIEWER}').hidden")
    assert page.is_visible("#case-sheet")

    # The record names the team, the department and the person of each step, and how far the officer arrived.
    sent_to = f"{handled['team']}（{handled['department']}）"
    timeline = page.inner_text("#case-sheet .timeline")
    assert f"派遣 → {sent_to} · 齐家指挥长（乡镇指挥长）" in timeline
    assert f"签收 · 执法队员（{sent_to}）" in timeline and "到场位置距案件位置 40 米" in timeline
    assert "上报 · 网格员小王（网格员）" in timeline

    # 核查: the form says the photo of the result is missing, and the service refuses in Chinese.
    page.click("#case-sheet button[data-step=verify]")
    assert "不能核查通过" in page.inner_text("#case-sheet [data-evidence=missing]")
    page.click("#case-sheet .step-form button[type=submit]")
    wait_until(page, "document.querySelector('#case-sheet .error').textContent.includes('请返工')")
    assert page.is_visible("#case-sheet .status-handled")

    # 打印案卷: the file over the screen, every step named; 下载PDF: the same as a PDF.
    page.click("#case-sheet [data-case-file=print]")
    page.wait_for_selector(".case-file:not([hidden])")
    document = page.frame_locator(".case-file iframe").locator("body")
    document.locator(f"text=案件编号 {number}").wait_for()
    shown = document.inner_text()
    assert f"派遣 → {sent_to}" in shown and f"执法队员（{sent_to}）" in shown and "全流程记录校验通过" in shown
    assert document.locator("figure img").count() == 3
    save_screenshot(page, "screen-case-file.png")
    page.click(".case-file [data-close]")
    wait_until(page, "document.querySelector('.case-file').hidden")
    with page.expect_download() as download:
        page.click("#case-sheet [data-case-file=pdf]")
    assert download.value.suggested_filename == f"case-file-{number}.pdf"
    pdf = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pdf.pages))
    assert number in text and f"派遣→{sent_to}齐家指挥长（乡镇指挥长）" in text
