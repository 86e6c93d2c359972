"""The field app (/m/) on a phone: Debian's headless Chromium at phone sizes with touch, its GPS set
by the test, its network cut with the browser context's offline switch; the service as deployed
(gunicorn, gevent worker), on both databases.

A grid worker signs in, loses the network, reopens the app from the service worker's cache and files
three reports with photos (one outside their grids, which the phone shows); back online, exactly
three cases exist, each with its photos, and each item on the phone shows its tracking number. The
same again with the connection lost in the middle of the photo uploads, one answer lost after the
service had stored the photo: still three cases and each photo once.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from tests.support import (PHONES, WORKER, app_installed, cases_reported_by, check_phone_screen, file_report,
                           geolocation, jpeg_photo, photos_reported_by, sign_in_phone, wait_until)

playwright_api = pytest.importorskip("playwright.sync_api")


def phone_items(page) -> dict[str, dict]:
    return page.evaluate("""Object.fromEntries([...document.querySelectorAll('#outbox li')].map((li) => [
        li.dataset.clientUuid,
        {state: li.dataset.state, status: li.querySelector('.status').textContent,
         tracking: li.querySelector('.tracking')?.textContent || null}]))""")


def three_reports_offline(page, town) -> dict[str, set[str]]:
    """File three reports with the network cut: two from the probe point, one outside the worker's
    grids. Answers client UUID -> the SHA-256 of the photos attached."""
    page.context.set_offline(True)
    page.reload()
    wait_until(page, "window.gridsvcField?.ready === true")  # opened from the service worker's cache
    assert page.inner_text("#network") == "离线"
    sent = {}
    photos = [jpeg_photo((200, 30, 30)), jpeg_photo((30, 200, 30))]
    first = file_report(page, "村口堆放秸秆", photos)
    sent[first] = photos
    page.click(".tabs button[data-view=report]")
    assert page.get_attribute("#grid-here", "data-grid") == town["grid"]  # worked out on the phone, offline
    photos = [jpeg_photo((30, 30, 200))]
    sent[file_report(page, "路边堆放建筑垃圾", photos)] = photos
    page.context.set_geolocation(geolocation(town["other_point"]))
    page.click(".tabs button[data-view=report]")
    wait_until(page, "document.getElementById('grid-here').classList.contains('outside')")
    assert "不在您负责的网格内" in page.inner_text("#grid-here")
    photos = [jpeg_photo((120, 120, 0)), jpeg_photo((0, 120, 120))]
    sent[file_report(page, "邻镇路口堆放杂物", photos)] = photos
    items = phone_items(page)
    assert {item["state"] for item in items.values()} == {"waiting"} and len(items) == 3
    assert all(item["status"] == "待发送" for item in items.values())
    return {uuid: {hashlib.sha256(p["buffer"]).hexdigest() for p in photos} for uuid, photos in sent.items()}


def test_three_reports_made_offline_become_three_cases_with_their_photos(phone, server, town, rt):
    sign_in_phone(phone, server)
    app_installed(phone)
    sent = three_reports_offline(phone, town)
    assert cases_reported_by(rt, WORKER) == {}
    phone.context.set_offline(False)  # `online`: the outbox goes
    wait_until(phone, "[...document.querySelectorAll('#outbox li')].every((li) => li.dataset.state === 'accepted'"
                      " && !li.querySelector('.status').textContent.includes('照片待发送'))", timeout=30)
    stored = cases_reported_by(rt, WORKER)
    assert {uuid: photos for uuid, (number, photos) in stored.items()} == {uuid: len(s) for uuid, s in sent.items()}
    assert photos_reported_by(rt, WORKER) == sent  # each photo as it was taken, once
    shown = phone_items(phone)
    assert {uuid: item["tracking"] for uuid, item in shown.items()} == {
        uuid: number for uuid, (number, _) in stored.items()}
    assert all(item["status"] == "已受理" for item in shown.values())


def test_a_connection_lost_in_the_middle_of_the_photos_loses_and_duplicates_nothing(phone, server, town, rt):
    sign_in_phone(phone, server)
    app_installed(phone)
    sent = three_reports_offline(phone, town)
    uploads = []

    def cut_at_the_third(route):
        if len(uploads) >= 2:
            if len(uploads) == 2:
                route.fetch()  # the service stores the third photo; its answer never reaches the phone
            route.abort("internetdisconnected")
        else:
            route.continue_()
        uploads.append(route.request.url)

    phone.route("**/mobile/v1/reports/*/photos", cut_at_the_third)
    phone.context.set_offline(False)
    deadline = time.monotonic() + 30
    while len(uploads) < 3:
        assert time.monotonic() < deadline, f"the photos did not start going: {uploads}"
        phone.wait_for_timeout(50)
    phone.context.set_offline(True)
    wait_until(phone, "![...document.querySelectorAll('#outbox li')].some((li) => li.dataset.state === 'sending')")
    assert len(cases_reported_by(rt, WORKER)) == 3
    assert any("照片待发送" in item["status"] for item in phone_items(phone).values())
    phone.unroute("**/mobile/v1/reports/*/photos")
    phone.context.set_offline(False)
    wait_until(phone, "[...document.querySelectorAll('#outbox li')].every((li) => li.dataset.state === 'accepted'"
                      " && !li.querySelector('.status').textContent.includes('照片待发送'))", timeout=30)
    stored = cases_reported_by(rt, WORKER)
    assert {uuid: photos for uuid, (number, photos) in stored.items()} == {uuid: len(s) for uuid, s in sent.items()}
    assert photos_reported_by(rt, WORKER) == sent  # each photo once, none lost
    assert {uuid: item["tracking"] for uuid, item in phone_items(phone).items()} == {
        uuid: number for uuid, (number, _) in stored.items()}


# -- every screen at phone sizes -------------------------------------------------------------------

@pytest.mark.parametrize("size", PHONES)
def test_every_screen_fits_a_phone_with_controls_a_thumb_can_hit(size, phone, server, town, rt, save_screenshot):
    phone.set_viewport_size(PHONES[size])
    keep = (lambda name: save_screenshot(phone, f"field-{name}.png")) if size == "390x844" else (lambda name: None)
    phone.goto(f"{server}/m/")
    phone.wait_for_selector("#sign-in:not([hidden])")
    check_phone_screen(phone, "sign-in")
    keep("sign-in")
    sign_in_phone(phone, server)
    app_installed(phone)
    # What Chromium asks of an app it offers to install to the home screen (manifest, icons, worker).
    manifest = phone.context.new_cdp_session(phone).send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["url"].endswith("/m/manifest.webmanifest")
    installability = phone.context.new_cdp_session(phone).send("Page.getInstallabilityErrors")
    assert installability["installabilityErrors"] == []
    wait_until(phone, "document.getElementById('grid-here').textContent !== ''")
    phone.fill("#category-search", "乱堆")
    check_phone_screen(phone, "report")
    keep("report")
    file_report(phone, "村口堆放秸秆", [jpeg_photo((200, 30, 30))])
    wait_until(phone, "document.querySelector('#outbox li').dataset.state === 'accepted'"
                      " && !document.querySelector('#outbox li .status').textContent.includes('照片待发送')", timeout=20)
    wait_until(phone, "document.querySelectorAll('#my-reports li').length > 0")
    check_phone_screen(phone, "mine")
    keep("mine")
    phone.click("#my-reports li")
    wait_until(phone, "document.querySelectorAll('#case-record li').length > 0")
    check_phone_screen(phone, "case")
    keep("case")
    phone.click(".tabs button[data-view=account]")
    check_phone_screen(phone, "account")
    keep("account")
    # A repeat visit: the shell from the service worker's cache, the start-up data revalidated (304).
    phone.reload()
    wait_until(phone, "window.gridsvcField?.ready === true")
    print(f"\nfield app, repeat visit at {size}: shell and start-up data ready "
          f"{phone.evaluate('gridsvcField.readyAfterMs')} ms after navigation")
    phone.click(".tabs button[data-view=account]")
    phone.click("#sign-out")  # signing out leaves nothing signed in for the next person
    phone.wait_for_selector("#sign-in:not([hidden])")
    assert phone.evaluate("import('/m/js/store.js').then((store) => store.read('tokens'))") is None
