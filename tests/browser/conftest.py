"""The browser tests' fixtures: one headless Chromium per test process, pages in browser contexts of their own
(a wall screen's, a phone's), the service under gunicorn on the test's database, and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import PHONES, geolocation, serve

# Debian's headless shell: the browser's engine without its window machinery (scripts/ensure-browser.sh).
CHROMIUM = "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
# `make screenshots` writes them into docs/screenshots/ for the README; otherwise they stay in pytest's
# temporary folder, so that a test run leaves the working tree as it found it.
SCREENSHOTS = os.environ.get("GRIDSVC_SCREENSHOT_DIR")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test process, here so that every browser test module shares it: Playwright's
    sync API allows one instance per process."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/ensure-browser.sh installs Debian's chromium-headless-shell")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def pages(browser):
    """`pages(**options)`: a new page in a browser context of its own (zh-CN, China time, and Playwright's
    context `options`). Every page opened is checked at the end: none may have thrown a script error."""
    contexts, errors = [], []

    def open_page(**options):
        context = browser.new_context(**{"locale": "zh-CN", "timezone_id": "Asia/Shanghai", **options})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], f"a page threw: {errors}"


@pytest.fixture
def phone_at(pages):
    """`phone_at(point, size="390x844", accuracy=6, **options)`: a phone's page (touch, the size of a phone)
    whose GPS is allowed and stands at `point`; with `point` None the browser refuses the GPS."""
    def open_phone(point, size: str = "390x844", accuracy: float = 6.0, **options):
        gps = {"permissions": ["geolocation"], "geolocation": geolocation(point, accuracy)} if point else {}
        return pages(viewport=PHONES[size], device_scale_factor=2, is_mobile=True, has_touch=True, **gps, **options)
    return open_phone


@pytest.fixture
def phone(phone_at, town):
    """A grid worker's phone standing at the probe point, a few metres inside their grid's shared edge."""
    return phone_at(town["probe"])


@pytest.fixture
def server(town, database_url, tmp_path):
    """The service under gunicorn on the test's database, with `town`'s people: its base URL."""
    with serve(database_url, tmp_path) as base:
        yield base


@pytest.fixture
def save_screenshot(database_url, tmp_path_factory):
    """Keep a screen (once: from the SpatiaLite run, the README's own database)."""
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path_factory.getbasetemp() / "screenshots"

    def save(page, name: str) -> None:
        if database_url.startswith("sqlite"):
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=folder / name)
    return save
