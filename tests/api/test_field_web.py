"""The field app's files as the service serves them (/m/): the page with its Content-Security-Policy,
the manifest, and the service worker whose precache list and version follow the files on disk."""

from __future__ import annotations

import json
import re

import pytest

from gridsvc.web import field_web


def shell_of(text: str) -> list[str]:
    return json.loads(re.search(r"const SHELL = (\[.*?\]);", text).group(1))


def version_of(text: str) -> str:
    return re.search(r'const VERSION = "([0-9a-f]{16})";', text).group(1)


@pytest.fixture
def client(app):
    return app.test_client()


def test_every_file_the_worker_precaches_is_served(client):
    worker = client.get("/m/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    shell = shell_of(worker.get_data(as_text=True))
    assert "/m/" in shell and "/m/js/main.js" in shell and "/m/vendor/idb/index.js" in shell
    for url in shell:
        assert client.get(url).status_code == 200, url
    page = client.get("/m/").get_data(as_text=True)
    for asked in re.findall(r'(?:href|src)="(/m/[^"]+)"', page):
        assert asked in shell, f"the page asks for {asked}, which the worker does not keep"


def test_the_worker_changes_when_a_file_of_the_app_changes(client, monkeypatch, tmp_path):
    before = version_of(client.get("/m/sw.js").get_data(as_text=True))
    assert version_of(client.get("/m/sw.js").get_data(as_text=True)) == before  # the same files: the same bytes
    changed = tmp_path / "field"
    changed.mkdir()
    for path in field_web.APP_DIR.rglob("*"):
        if path.is_file():
            target = changed / path.relative_to(field_web.APP_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (changed / "field.css").write_text((changed / "field.css").read_text() + "\n/* changed */\n")
    monkeypatch.setattr(field_web, "APP_DIR", changed)
    assert version_of(client.get("/m/sw.js").get_data(as_text=True)) != before


def test_the_page_has_a_strict_policy_and_a_manifest(client):
    page = client.get("/m/")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "unsafe-eval" not in policy
    manifest = client.get("/m/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = json.loads(manifest.get_data(as_text=True))
    assert body["start_url"] == "/m/" and body["lang"] == "zh-CN" and body["display"] == "standalone"
    assert {icon["sizes"] for icon in body["icons"]} == {"192x192", "512x512"}
    assert client.get("/m").status_code == 302


def test_only_the_apps_files_and_pinned_libraries_are_served(client):
    assert client.get("/m/vendor/gcoord/gcoord.esm-browser.prod.js").status_code == 200
    assert client.get("/m/vendor/gcoord/../package.json").status_code == 404
    assert client.get("/m/vendor/lodash/lodash.js").status_code == 404
    assert client.get("/m/..%2f..%2fpyproject.toml").status_code == 404


def test_without_the_npm_packages_the_worker_is_a_503_that_says_what_to_do(client, monkeypatch, tmp_path):
    monkeypatch.setattr("gridsvc.web.vendor.NODE_MODULES", tmp_path)
    answer = client.get("/m/sw.js")
    assert answer.status_code == 503 and "make setup" in answer.get_json()["error"]["message"]
