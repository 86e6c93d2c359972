"""The browser tests' fixtures: one headless Chromium per test process, the service under gunicorn on the
test's database, and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import serve

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
