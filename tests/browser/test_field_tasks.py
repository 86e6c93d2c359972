"""Tasks on the field app: an enforcement officer's phone receives a dispatch made on the command screen,
acknowledges it, accepts, arrives (near: no flag; 2 km away: flagged on the commander's screen), adds
evidence and feeds back; the grid worker verifies on their phone; the commander closes the case.
Two phones and the command screen in one headless Chromium, the service as deployed, both databases."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.support import (COMMANDER, OFFICER, WALL, WORKER, case_marker, check_phone_screen, file_report, geolocation,
                           jpeg_photo, open_sheet_from_marker, report_over_http, sign_in_phone, sign_in_screen,
                           wait_until, wait_until_sent)

playwright_api = pytest.importorskip("playwright.sync_api")

NEAR_M, FAR_M = 20, 2000
METRES_PER_DEGREE_LAT = 111_000


def north_of(point, metres: float):
    return type(point)(point.x, point.y + metres / METRES_PER_DEGREE_LAT)


def api_step(base, town, who, number, step, **body):
    answer = requests.post(f"{base}/api/v1/cases/{number}/steps/{step}", json=body, headers=town["headers"](who),
                           timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def case_of(base, town, number):
    return requests.get(f"{base}/api/v1/cases/{number}", headers=town["headers"](COMMANDER), timeout=10).json()


def take_step(page, step: str, note: str | None = None, photos=()) -> None:
    page.click(f"#case-actions button[data-step={step}]")
    form = f"#case-step form[data-step={step}]"
    page.wait_for_selector(form)
    if note is not None:
        page.fill(f"{form} textarea[name=note]", note)
    if photos:
        page.set_input_files(f"{form} input[name=photo]", files=list(photos))
    check_phone_screen(page, f"the form of {step}")
    record = page.evaluate("document.querySelectorAll('#case-record li').length")
    page.click(f"{form} button[type=submit]")
    try:
        wait_until(page, f"document.querySelectorAll('#case-record li').length > {record}", timeout=10)
    except AssertionError:
        raise AssertionError(f"{step}: {page.inner_text('#case-step')}") from None


def test_an_officer_works_a_dispatch_from_the_phone_and_the_worker_verifies_it(server, town, pages, phone_at,
                                                                               save_screenshot):
    screen = pages(viewport=WALL)
    sign_in_screen(screen, server, COMMANDER)
    officer = phone_at(north_of(town["probe"], NEAR_M))
    sign_in_phone(officer, server, OFFICER)
    wait_until(officer, "document.getElementById('tasks-live').textContent === '实时接收中'")

    number = report_over_http(server, town)
    screen.wait_for_selector(case_marker(number))
    open_sheet_from_marker(screen, number)
    for step in ("file", "dispatch"):
        screen.click(f"#case-sheet button[data-step={step}]")
        if step == "dispatch":
            sent = time.monotonic()
        screen.click("#case-sheet .step-form button[type=submit]")
    notice = "#dispatch-notices li"
    officer.wait_for_selector(notice, timeout=2_000)
    assert time.monotonic() - sent < 2.0, "the dispatch reached the phone too late"
    assert number in officer.inner_text(notice) and officer.inner_text("#tasks-badge") == "1"
    check_phone_screen(officer, "tasks")
    save_screenshot(officer, "field-tasks.png")
    officer.click(f"{notice} button")
    screen.wait_for_selector(f"#feed li.event-acknowledged[data-tracking-no='{number}']", timeout=5_000)
    assert "执法队员 已确认收到" in screen.inner_text("#feed")

    officer.wait_for_selector(f"#task-list li[data-tracking-no='{number}']")
    officer.click(f"#task-list li[data-tracking-no='{number}']")
    officer.wait_for_selector("#case-actions button[data-step=accept]")
    assert officer.get_attribute("#case-facts a[data-nav=amap]", "href").startswith("https://uri.amap.com/marker?")
    assert town["grid"] not in officer.inner_text("#case-facts")  # the grid by its name, from the task's row
    take_step(officer, "accept")
    take_step(officer, "arrive")
    assert "arrived_far_from_case" not in case_of(server, town, number)["flags"]
    take_step(officer, "evidence", photos=[jpeg_photo((90, 90, 90))])
    take_step(officer, "feedback", note="已清理完毕", photos=[jpeg_photo((10, 160, 60))])
    check_phone_screen(officer, "case")
    save_screenshot(officer, "field-case-officer.png")
    assert case_of(server, town, number)["status"] == "handled"

    # A second case, dispatched and accepted; the officer "arrives" 2 km away: flagged for the commander.
    far = report_over_http(server, town, client_uuid=str(uuid.uuid4()), description="另一处堆放")
    for who, step in ((COMMANDER, "file"), (COMMANDER, "dispatch"), (OFFICER, "accept")):
        api_step(server, town, who, far, step)
    officer.context.set_geolocation(geolocation(north_of(town["probe"], FAR_M)))
    officer.click(".tabs button[data-view=tasks]")
    officer.click(f"#task-list li[data-tracking-no='{far}']")
    officer.wait_for_selector("#case-actions button[data-step=arrive]")
    take_step(officer, "arrive")
    assert "arrived_far_from_case" in case_of(server, town, far)["flags"]
    assert "距案件位置" in officer.inner_text("#case-record")
    wait_until(screen, f"gridsvcScreen.map.cases.has('{far}')")  # on the map, clustered with the first case
    screen.evaluate(f"gridsvcScreen.desk.show('{far}')")  # as a click on the cluster's list does
    screen.wait_for_selector(f"#case-sheet h2:has-text('{far}')")
    wait_until(screen, "document.getElementById('case-sheet').innerText.includes('到场位置与案件位置相距过远')")

    worker = phone_at(town["probe"])
    sign_in_phone(worker, server, WORKER)
    worker.click(".tabs button[data-view=mine]")
    worker.wait_for_selector(f"#verification-list li[data-tracking-no='{number}']")
    check_phone_screen(worker, "mine with verifications")
    worker.click(f"#verification-list li[data-tracking-no='{number}']")
    worker.wait_for_selector("#case-actions button[data-step=verify]")
    take_step(worker, "verify", note="现场已核实")
    assert case_of(server, town, number)["status"] == "verified"
    api_step(server, town, COMMANDER, number, "close")
    assert case_of(server, town, number)["status"] == "closed"


def test_a_grid_worker_handles_a_minor_matter_of_their_grid_on_the_spot(server, town, phone):
    """自行处置: reported from the phone, then closed from its case sheet with a note and a photo."""
    worker = phone
    sign_in_phone(worker, server, WORKER)
    client_uuid = file_report(worker, "路边少量垃圾", [jpeg_photo((70, 70, 200))])
    row = f"#outbox li[data-client-uuid='{client_uuid}']"
    wait_until_sent(worker, client_uuid)
    number = worker.inner_text(f"{row} .tracking")
    worker.click(row)
    worker.wait_for_selector("#case-actions button[data-step=self_handle]")
    take_step(worker, "self_handle", note="已当场清理", photos=[jpeg_photo((20, 200, 20))])
    closed = case_of(server, town, number)
    assert closed["status"] == "closed"
    assert "自行处置" in worker.inner_text("#case-record")
