"""The public page of 政务公开 (/public/, gridsvc.web.public_web) without a browser: served with a strict
Content-Security-Policy, every file from here and naming no outside address, calling only the public
API, and nothing outside its folder. Also the small public API it needed: the township list, and the
responsibility list's English names. (tests/browser/test_public_browser.py drives the page itself.)"""

import re
from pathlib import Path

import pytest

from gridsvc.app import create_app
from gridsvc.kernel.config import Settings
from gridsvc.web.public_web import PAGE_DIR
from tests.support import assert_documented

TOWNSHIPS = "/api/v1/public/townships"
TEXT_SUFFIXES = {".html", ".css", ".js"}


@pytest.fixture(scope="module")
def plain_client(tmp_path_factory):
    """The page needs no database: an app whose database is never touched."""
    folder = tmp_path_factory.mktemp("public_page")
    app = create_app(Settings(database_url=f"sqlite:///{folder / 'unused.sqlite'}"))
    app.instance_path = str(folder)
    yield app.test_client()
    app.extensions["gridsvc"].dispose()


def page_files() -> list[Path]:
    return sorted(p for p in PAGE_DIR.rglob("*") if p.is_file())


def assert_strict_policy(response) -> None:
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["img-src"] == "'self' data:"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy and "http" not in policy and "*" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_page_and_every_file_it_loads_come_from_here_with_the_strict_policy(plain_client):
    client = plain_client
    assert client.get("/public").headers["Location"].endswith("/public/")
    page = client.get("/public/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_strict_policy(page)
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and 'name="viewport"' in html
    assets = [a for a in re.findall(r'(?:src|href)="([^"#]+)"', html) if not a.startswith("data:")]
    assert {"public.css", "js/main.js"} <= set(assets)
    # Every module the page imports, followed from main.js.
    modules, seen = ["main.js"], set()
    while modules:
        name = modules.pop()
        if name in seen:
            continue
        seen.add(name)
        modules += re.findall(r'from "\./([^"]+)"', (PAGE_DIR / "js" / name).read_text())
    assert seen == {p.name for p in (PAGE_DIR / "js").glob("*.js")}, "every module is used, every import exists"
    for asset in assets + [f"js/{name}" for name in seen]:
        assert not re.match(r"(https?:)?//", asset), f"{asset} would come from elsewhere"
        answer = client.get(f"/public/{asset}")
        assert answer.status_code == 200, asset
        assert_strict_policy(answer)
        expected = {".css": "text/css", ".js": "text/javascript"}[Path(asset).suffix]
        assert answer.mimetype == expected, asset


def test_no_file_of_the_page_names_an_outside_address_or_needs_what_the_policy_forbids():
    files = page_files()
    assert {p.suffix for p in files} <= TEXT_SUFFIXES, "text files only: no fonts or images to fetch"
    for path in files:
        source = path.read_text()
        assert not re.search(r"https?://|(?<![:\w])//[\w-]+\.[\w.-]+", source.replace("http-equiv", "")), path
        assert "@import" not in source and not re.search(r"url\(\s*['\"]?(?!data:)", source), path
        assert "eval(" not in source and "new Function" not in source, path
    html = (PAGE_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script (the policy forbids it)"
    assert not re.search(r"\sstyle=|<style|\son[a-z]+=", html), "no inline style or handler (the policy forbids them)"
    scripts = "\n".join(p.read_text() for p in files if p.suffix == ".js")
    assert not re.search(r"style=", scripts), "styles through the CSSOM only"
    called = set(re.findall(r"/api/[\w/.-]*", scripts))
    assert called and all(path.startswith("/api/v1/public/") for path in called), called
    fetching = [p.name for p in files if p.suffix == ".js" and "fetch(" in p.read_text()]
    assert fetching == ["api.js"]


@pytest.mark.parametrize("url", [
    "/public/../pyproject.toml",
    "/public/%2e%2e/pyproject.toml",
    "/public/..%2f..%2fpyproject.toml",
    "/public/js/../../public_web.py",
    "/public/js/%2e%2e/%2e%2e/public_web.py",
    "/public/%2e%2e%2f%2e%2e%2fREADME.md",
    "/public//etc/passwd",
    "/public/../../../../../../etc/passwd",
    "/public/js/",
    "/public/no-such-file.js",
])
def test_nothing_outside_the_pages_folder_is_served(plain_client, url):
    response = plain_client.get(url, follow_redirects=True)
    assert response.status_code == 404, url
    body = response.get_data()
    assert b"root:" not in body and b"Blueprint" not in body and b"[project]" not in body


def test_the_township_list_names_every_township_with_its_county(client):
    spec = client.get("/api/openapi.json").get_json()
    answer = client.get(TOWNSHIPS)  # no Authorization header: anyone
    assert_documented(spec, "get", TOWNSHIPS, answer, 200)
    county = {"code": "220112000000", "name": "双阳区"}
    assert answer.get_json()["townships"] == [
        {"code": "220112001000", "name": "云山街道", "county": county},
        {"code": "220112100000", "name": "齐家镇", "county": county},
        {"code": "220112101000", "name": "太平镇", "county": county},
        {"code": "220112102000", "name": "鹿乡镇", "county": county},
    ]
    for township in answer.get_json()["townships"]:  # each one's figures are there to read
        assert client.get(f"{TOWNSHIPS}/{township['code']}/stats").status_code == 200


def test_the_responsibility_list_names_each_category_in_chinese_and_english(client):
    spec = client.get("/api/openapi.json").get_json()
    answer = client.get("/api/v1/public/responsibility")
    assert_documented(spec, "get", "/api/v1/public/responsibility", answer, 200)
    names = {c["code"]: (c["name_zh"], c["name_en"]) for c in client.get("/api/v1/categories").get_json()["categories"]}
    rules = answer.get_json()["rules"]
    assert {r["subject_kind"] for r in rules} == {"category", "domain"}
    for rule in rules:
        if rule["subject_kind"] == "category":
            assert (rule["subject_name_zh"], rule["subject_name_en"]) == names[rule["subject"]]
        else:
            assert rule["subject_name_zh"] is None and rule["subject_name_en"] is None
        assert rule["department"]["name_zh"] and rule["department"]["name_en"]
