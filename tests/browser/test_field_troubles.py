"""The field app under bad conditions: GPS denied, a fix too poor for the service, a phone revoked by an
administrator while reports wait in its outbox, a phone whose clock is wrong, a base map in GCJ-02.
Debian's headless Chromium at a phone's size, the service as deployed, both databases."""

from __future__ import annotations

import io
import os
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from PIL import Image

from gridsvc.accounts.users import revoke
from gridsvc.cases.intake import LOCATION_PICKED_BY_HAND
from gridsvc.kernel.models import AuthToken, Case, User
from tests.support import (PASSWORD, WORKER, app_installed, cases_reported_by, check_phone_screen, file_report,
                           jpeg_photo, serve, sign_in_phone, wait_until, wait_until_sent)

playwright_api = pytest.importorskip("playwright.sync_api")


def flags_of(rt, tracking_no: str) -> list[str]:
    with rt.sessions() as session:
        return session.scalar(sa.select(Case.flags).where(Case.tracking_no == tracking_no))


def test_with_gps_denied_the_spot_is_chosen_by_grid_and_flagged(phone_at, server, town, rt):
    page = phone_at(None, "360x740")  # no geolocation permission: the browser refuses the GPS
    sign_in_phone(page, server)
    wait_until(page, "document.getElementById('fix').textContent.includes('定位权限被拒绝')")
    assert not page.is_hidden("#grid-pick-label")
    check_phone_screen(page, "report with the GPS denied")
    page.fill("#category-search", "乱堆")
    page.click("#category-results button[data-code='02004']")
    page.fill("#description", "无定位时按网格上报")
    page.select_option("#grid-pick", town["grid"])
    assert page.get_attribute("#grid-here", "data-grid") == town["grid"]
    client_uuid = page.evaluate("gridsvcField.form.clientUuid")
    page.click("#report-form button[type=submit]")
    wait_until_sent(page, client_uuid)
    number, _ = cases_reported_by(rt, WORKER)[client_uuid]
    assert LOCATION_PICKED_BY_HAND in flags_of(rt, number)


def test_a_report_the_service_refuses_shows_why_and_is_kept_to_correct(phone_at, server, town, rt):
    page = phone_at(town["probe"], "360x740", accuracy=6000)
    sign_in_phone(page, server)
    wait_until(page, "!document.getElementById('accept-fix').hidden")  # a fix worse than 30 m: asked first
    assert "精度不足" in page.inner_text("#fix")
    page.click("#accept-fix")
    client_uuid = file_report(page, "基站定位，精度很差", [jpeg_photo((40, 40, 40))])
    wait_until(page, f"document.querySelector(\"#outbox li[data-client-uuid='{client_uuid}']\").dataset.state"
                     " === 'refused'")
    row = f"#outbox li[data-client-uuid='{client_uuid}']"
    assert "被退回" in page.inner_text(f"{row} .status")
    reason = page.inner_text(f"{row} .reason")
    assert "定位精度不符合要求" in reason and not re.search("[A-Za-z]{2,}", reason)  # in Chinese only
    check_phone_screen(page, "mine with a refused report")
    assert cases_reported_by(rt, WORKER) == {}
    page.click(f"{row} button:has-text('修改后重新发送')")
    page.wait_for_selector("#report:not([hidden])")
    assert page.input_value("#description") == "基站定位，精度很差"
    page.click("#report-map", position={"x": 180, "y": 120})  # the spot tapped on the map instead
    wait_until(page, "document.getElementById('fix').textContent === '位置：地图上手动选取'")
    page.click("#report-form button[type=submit]")
    wait_until_sent(page, client_uuid)
    assert {uuid: photos for uuid, (_, photos) in cases_reported_by(rt, WORKER).items()} == {client_uuid: 1}


def test_a_revoked_phone_is_signed_out_and_keeps_its_unsent_reports(phone_at, server, town, rt):
    page = phone_at(town["probe"], "360x740")
    sign_in_phone(page, server)
    app_installed(page)
    page.context.set_offline(True)
    client_uuid = file_report(page, "手机丢失前的上报", [jpeg_photo((150, 40, 40))])
    device = page.evaluate("import('/m/js/store.js').then((store) => store.deviceId())")
    with rt.sessions.begin() as session:  # the administrator revokes the lost phone
        assert revoke(session, session.scalar(sa.select(User).where(User.phone == WORKER)), device) > 0
    page.context.set_offline(False)
    page.wait_for_selector("#sign-in:not([hidden])")
    assert "已被管理员停用" in page.inner_text("#sign-in-error")
    assert "未发送的上报已保留" in page.inner_text("#sign-in-error")
    kept = page.evaluate("import('/m/js/store.js').then((store) => store.outboxItems())"
                         ".then((items) => items.map((item) => [item.client_uuid, item.state]))")
    assert kept == [[client_uuid, "waiting"]]
    assert cases_reported_by(rt, WORKER) == {}
    page.fill("input[name=phone]", WORKER)  # found again: signed in anew, the report goes
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():  # the app starts afresh for the new sign-in
        page.click("#sign-in button[type=submit]")
    wait_until(page, "window.gridsvcField?.ready === true")
    wait_until_sent(page, client_uuid)
    assert set(cases_reported_by(rt, WORKER)) == {client_uuid}


def test_a_phone_whose_clock_is_wrong_is_told_and_shows_the_services_times(phone_at, server, town):
    page = phone_at(town["probe"], "360x740")
    page.clock.install(time="2026-01-01T08:00:00+08:00")  # the phone thinks it is New Year's Day
    sign_in_phone(page, server)
    page.click(".tabs button[data-view=account]")
    assert "手机时间与服务器相差" in page.inner_text("#banner")
    assert "以服务器时间为准" in page.inner_text("#clock")


def test_under_a_gcj02_base_map_the_phone_still_finds_its_grid_from_a_wgs84_fix(phone_at, database_url,
                                                                                town, tmp_path):
    """The outlines come in GCJ-02 (AMap's tiles); the fix, 3 m inside the grid's shared edge, in WGS84:
    compared without shifting, the fix would land hundreds of metres away."""
    tiles = {"basemap_url": "http://127.0.0.1:9/{z}/{x}/{y}.png", "basemap_datum": "gcj02"}
    with serve(database_url, tmp_path, **tiles) as base:
        page = phone_at(town["probe"], "360x740")
        sign_in_phone(page, base)
        wait_until(page, "document.getElementById('grid-here').dataset.grid !== undefined"
                         " && document.getElementById('grid-here').textContent !== ''")
        assert page.evaluate("gridsvcField.context.startup.crs") == "gcj02"
        assert page.get_attribute("#grid-here", "data-grid") == town["grid"]


def test_a_photo_too_big_for_the_service_is_shown_refused_and_the_report_goes(phone_at, database_url, town,
                                                                              rt, tmp_path):
    """The app sends photos as taken; one over the service's limit is refused with the reason, the rest go."""
    noise = io.BytesIO()
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(noise, "JPEG", quality=95)
    big = {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": noise.getvalue()}
    limit = 200_000
    assert len(big["buffer"]) > limit
    with serve(database_url, tmp_path, max_photo_bytes=str(limit)) as base:
        page = phone_at(town["probe"], "360x740")
        sign_in_phone(page, base)
        client_uuid = file_report(page, "照片过大", [big, jpeg_photo((10, 10, 10))])
        row = f"#outbox li[data-client-uuid='{client_uuid}']"
        wait_until_sent(page, client_uuid)
        assert "照片未被接受" in page.inner_text(row)
        assert {uuid: photos for uuid, (_, photos) in cases_reported_by(rt, WORKER).items()} == {client_uuid: 1}


def test_an_expired_sign_in_is_renewed_without_the_worker_noticing(phone_at, server, town, rt):
    page = phone_at(town["probe"], "360x740")
    sign_in_phone(page, server)
    before = page.evaluate("import('/m/js/store.js').then((store) => store.read('tokens'))")
    with rt.sessions.begin() as session:  # the access token runs out (the refresh token is still good)
        session.execute(sa.update(AuthToken).where(AuthToken.kind == "access")
                        .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    page.evaluate("window.reportsRead = null; import('/m/js/api.js').then((api) => api.api('/mobile/v1/my/reports'))"
                  ".then((answer) => { window.reportsRead = answer; })")
    wait_until(page, "window.reportsRead !== null", timeout=10)  # answered: the 401 was met by a refresh
    after = page.evaluate("import('/m/js/store.js').then((store) => store.read('tokens'))")
    assert after["access_token"] != before["access_token"]  # renewed with the refresh token
    assert page.is_hidden("#sign-in")
