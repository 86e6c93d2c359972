"""Inputs refused before any view reads them (gridsvc.web.request_guard), each a failure a probe found
(issue 14): NUL in paths answered 503 on PostGIS, deep JSON a 500, bad UTF-8 in an Open311 form
was stored as literal text. Both databases."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import requests
import sqlalchemy as sa

from bench.serving import gunicorn
from gridsvc.kernel.models import Case
from gridsvc.web.request_guard import MAX_JSON_DEPTH, MAX_URL_BYTES, json_depth
from gridsvc.kernel.config import Settings
from tests.support import BASE, KEY, open311_settings, xml_of

DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def settings(database_url) -> Settings:
    return open311_settings(database_url)


def error_of(answer) -> dict:
    body = answer.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


@pytest.mark.parametrize("path", [
    "/api/v1/public/cases/%00", "/api/v1/public/townships/%00/stats", "/api/v1/cases/20261207-%00AAAAAAA",
    "/api/v1/grids/%01", "/mobile/v1/reports/%00/photos", "/api/v1/cases/a%7Fb/record",
])
def test_a_control_character_in_the_path_is_404_in_the_api_shape(channel, path):
    answer = channel["client"].get(path)
    assert answer.status_code == 404, answer.data[:300]
    assert "control character" in error_of(answer)["message"]


def test_a_control_character_in_open311_paths_is_404_in_open311s_format(channel):
    as_xml = channel["client"].get(f"{BASE}/requests/%00.xml")
    assert as_xml.status_code == 404 and xml_of(as_xml).find("error").findtext("code") == "404"
    as_json = channel["client"].get(f"{BASE}/requests/%00.json")
    assert as_json.status_code == 404 and as_json.get_json()[0]["code"] == 404


@pytest.mark.parametrize("query", ["lon=125.5%00&lat=43.7", "lon=125.5&lat=43.7&crs=wgs84%0A", "lon=%ff%fe"])
def test_a_control_character_or_bad_utf8_in_the_query_is_400(channel, query):
    answer = channel["client"].get(f"/api/v1/locate?{query}")
    assert answer.status_code == 400
    assert re.search("control character|not valid UTF-8", error_of(answer)["message"])


def test_json_nested_a_thousand_deep_is_400_on_every_json_post(sample_app):
    client = sample_app.test_client()
    posts = sorted({re.sub(r"<[^>]+>", "1", rule.rule) for rule in sample_app.url_map.iter_rules()
                    if "POST" in rule.methods and rule.rule.startswith(("/api/", "/mobile/"))})
    assert len(posts) >= 10
    for path in posts:
        answer = client.post(path, data=DEEP, content_type="application/json")
        assert answer.status_code == 400, (path, answer.status_code, answer.data[:200])
        assert f"deeper than {MAX_JSON_DEPTH}" in error_of(answer)["message"]


def test_json_as_deep_as_allowed_reaches_the_view(sample_app):
    body = '{"phone": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + ', "password": "x"}'
    answer = sample_app.test_client().post("/api/v1/auth/login", data=body, content_type="application/json")
    assert answer.status_code == 422 and "phone" in error_of(answer)["fields"]


def test_brackets_inside_json_strings_are_not_nesting():
    assert json_depth('{"a": "[[[[{{{{", "b": [1, {"c": "]]\\"[["}]}') == 3


def test_an_open311_form_with_bad_utf8_is_400_in_open311s_format_and_stores_nothing(channel, rt):
    form = urlencode({"api_key": KEY, "service_code": "02004", "lat": f"{channel['point'].y:.8f}",
                      "long": f"{channel['point'].x:.8f}"})
    answer = channel["client"].post(f"{BASE}/requests.json", data=form + "&description=%ff%fe",
                                    content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400 and answer.get_json()[0]["code"] == 400
    assert "UTF-8" in answer.get_json()[0]["description"]
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    good = channel["client"].post(f"{BASE}/requests.json", data=form + "&description=%E8%B7%AF%E7%81%AF",
                                  content_type="application/x-www-form-urlencoded")
    assert good.status_code == 201, good.get_json()


def test_an_address_longer_than_the_limit_is_414_in_the_api_shape(channel):
    answer = channel["client"].get("/api/v1/locate?lon=125.5&lat=43.7&pad=" + "x" * MAX_URL_BYTES)
    assert answer.status_code == 414 and "longer than" in error_of(answer)["message"]


@pytest.mark.parametrize("database_url", ["spatialite"], indirect=True)
def test_a_long_address_under_gunicorn_is_the_services_414_not_gunicorns_page(database_url, tmp_path):
    """gunicorn answered a request line over 4 KB with its own HTML 414 (issue 14); gunicorn.conf.py
    raises its limit, so the service's limit is the one a client meets."""
    env = {"GRIDSVC_DATABASE_URL": database_url}
    with gunicorn("gridsvc.wsgi:app", env, ["--worker-class", "gevent", "--workers", "1"],
                  tmp_path / "long.log") as base:
        for pad in (4200, 7000):
            answer = requests.get(f"{base}/api/v1/locate?lon=125.5&lat=43.7&pad=" + "x" * pad, timeout=30)
            assert answer.status_code == 414 and "longer than" in answer.json()["error"]["message"]
