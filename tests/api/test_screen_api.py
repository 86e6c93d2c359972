"""The command screen's API and files, without a browser: layers in the base map's datum, case rows,
the grid card, the case sheet with its working-time clock, base-map settings, and the page's files
(all local, nothing from a CDN). Both databases (conftest's `database_url`)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from types import SimpleNamespace

import eviltransform
import pytest
import shapely
import sqlalchemy as sa

from gridsvc.app import create_app
from gridsvc.web.basemap import BasemapError, basemap_of
from gridsvc.cases.sheet import stage_clock
from gridsvc.kernel.config import Settings
from gridsvc.events import outbox
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.kernel.models import Case
from gridsvc.oversight.screen_map import OutlineCache
from gridsvc.web.vendor import BUILT_FOLDER
from gridsvc.worktime.calendar import WorkCalendar
from tests.support import COMMANDER, LUXIANG_COMMANDER, OFFICER, REPO, WORKER, report_body

PAGE = REPO / "gridsvc" / "web" / "screen"
QIJIA, LUXIANG = "220112100", "220112102"


@pytest.fixture
def api(sample_app, town):
    client = sample_app.test_client()

    def get(path, who=COMMANDER):
        return client.get(path, headers=town["headers"](who))
    return get


def report(town, **changes) -> str:
    answer = town["phone"].post("/mobile/v1/reports", json=report_body(town, **changes),
                                headers=town["headers"](WORKER))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["tracking_no"]


def vertices(geometry: dict) -> set[tuple[float, float]]:
    return {tuple(xy) for xy in shapely.get_coordinates(shapely.geometry.shape(geometry)).tolist()}


# -- layers ----------------------------------------------------------------------------------


def test_a_commander_gets_the_townships_grids_villages_and_outline_only(api, rt):
    layers = api("/api/v1/screen/map").get_json()
    index = rt.index.get()
    assert layers["crs"] == "cgcs2000"  # no base map configured: nothing is shifted
    assert sorted(f["id"] for f in layers["grids"]["features"]) == sorted(
        c.code for c in index.cells if c.code.startswith(QIJIA))
    assert [f["id"] for f in layers["townships"]["features"]] == [QIJIA + "000"]
    assert layers["villages"]["features"] and all(f["id"].startswith(QIJIA) for f in layers["villages"]["features"])
    grid = layers["grids"]["features"][0]["properties"]
    assert grid["village_name"] and grid["township_name"] == "齐家镇" and set(grid["domains"]) <= {
        "governance", "enforcement", "services"}


def test_drawn_outlines_are_stored_vertices_simplified_and_shifted_to_the_asked_datum(api, rt):
    """Simplification keeps a subset of the stored vertices; gcj02 moves each as eviltransform does."""
    index = rt.index.get()
    plain = {f["id"]: f for f in api("/api/v1/screen/map").get_json()["grids"]["features"]}
    shifted = {f["id"]: f for f in api("/api/v1/screen/map?crs=gcj02").get_json()["grids"]["features"]}
    for code in list(plain)[:10]:
        stored = vertices(shapely.geometry.mapping(index.geometry(index.position_of(code))))
        drawn = vertices(plain[code]["geometry"])
        assert 4 <= len(drawn) <= len(stored)
        assert all(min(abs(x - sx) + abs(y - sy) for sx, sy in stored) < 1e-8 for x, y in drawn)
        moved = [eviltransform.wgs2gcj(sy, sx)[::-1] for sx, sy in stored]
        for x, y in vertices(shifted[code]["geometry"]):
            assert min(abs(x - mx) + abs(y - my) for mx, my in moved) < 1e-6  # 10 cm: two implementations


def test_the_neighbouring_commander_and_a_department_see_their_own_area(api):
    theirs = api("/api/v1/screen/map", LUXIANG_COMMANDER).get_json()
    assert theirs["grids"]["features"] and all(f["id"].startswith(LUXIANG) for f in theirs["grids"]["features"])
    officer = api("/api/v1/screen/map", OFFICER).get_json()  # 齐家镇's law-enforcement team
    assert {f["id"] for f in officer["townships"]["features"]} == {QIJIA + "000"}
    qijia = api("/api/v1/screen/map").get_json()
    assert {f["id"] for f in officer["grids"]["features"]} == {f["id"] for f in qijia["grids"]["features"]}


def test_layers_and_config_need_a_sign_in_and_a_known_datum(api, sample_app):
    client = sample_app.test_client()
    for path in ("/api/v1/screen/config", "/api/v1/screen/map", "/api/v1/screen/cases", "/api/v1/screen/grids/x"):
        assert client.get(path).status_code == 401
    wrong = api("/api/v1/screen/map?crs=mars")
    assert wrong.status_code == 422 and "crs" in wrong.get_json()["error"]["fields"]


# -- case rows -------------------------------------------------------------------------------


def test_case_rows_hold_the_visible_open_cases_in_the_asked_datum(api, rt, town):
    number = report(town)
    rows = api("/api/v1/screen/cases?crs=gcj02").get_json()
    row = dict(zip(rows["fields"], rows["rows"][0]))
    assert len(rows["rows"]) == 1 and row["tracking_no"] == number and row["status"] == "reported"
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        expected = from_cgcs2000(case.lon, case.lat, parse_crs("gcj02"))
        assert rows["events_head"] == outbox.head(session)
    assert (row["lon"], row["lat"]) == pytest.approx(expected, abs=1e-7)
    assert row["domain"] in ("governance", "enforcement", "services") and row["grid"] == case.grid_code
    assert api("/api/v1/screen/cases", LUXIANG_COMMANDER).get_json()["rows"] == []


def test_asking_for_given_cases_returns_them_whatever_their_status(api, town):
    number = report(town)
    answer = town["phone"].post(f"/mobile/v1/cases/{number}/steps/file", json={}, headers=town["headers"](COMMANDER))
    assert answer.status_code == 200
    town["phone"].post(f"/mobile/v1/cases/{number}/steps/reject", json={"note": "重复上报"},
                       headers=town["headers"](COMMANDER))
    listed = api(f"/api/v1/screen/cases?tracking_no={number}").get_json()["rows"]
    assert [r[0] for r in listed] == [number]
    assert api("/api/v1/screen/cases?tracking_no=" + number, LUXIANG_COMMANDER).get_json()["rows"] == []


@pytest.mark.parametrize("numbers, reason", [("20260101-ABC", "not a tracking number"),
                                             (",".join(["20260101-ABCDEFGH"] * 201), "at most 200")])
def test_wrong_tracking_numbers_are_a_422_naming_the_field(api, numbers, reason):
    answer = api(f"/api/v1/screen/cases?tracking_no={numbers}")
    assert answer.status_code == 422
    assert reason in answer.get_json()["error"]["fields"]["tracking_no"][0]


# -- grid card and case sheet ----------------------------------------------------------------------


def test_the_grid_card_names_its_workers_and_open_cases(api, town):
    number = report(town)
    located = town["phone"].get(f"/mobile/v1/cases/{number}", headers=town["headers"](COMMANDER)).get_json()
    assert located["grid"] == town["grid"]  # 3 m inside the worker's own grid
    card = api(f"/api/v1/screen/grids/{located['grid']}").get_json()
    assert card["code"] == located["grid"] and card["township"]["name"] == "齐家镇"
    assert card["grid_workers"] == [{"name": "网格员小王", "phone": WORKER}]
    assert [c["tracking_no"] for c in card["open_cases"]] == [number] and card["open_case_count"] == 1
    assert api(f"/api/v1/screen/grids/{town['other_grid']}").status_code == 404  # 鹿乡镇's
    assert api("/api/v1/screen/grids/999999999999999").status_code == 404


def test_the_case_sheet_names_everything_and_lists_the_commanders_steps(api, town):
    number = report(town)
    town["phone"].post(f"/mobile/v1/cases/{number}/steps/file", json={}, headers=town["headers"](COMMANDER))
    sheet = api(f"/api/v1/screen/cases/{number}/sheet").get_json()
    assert sheet["case"]["tracking_no"] == number and sheet["case"]["status"] == "filed"
    assert sheet["names"]["category"]["name_zh"] == "乱堆乱放" and sheet["names"]["township"] == "齐家镇"
    assert sheet["names"]["reporter"] == {"name": "网格员小王", "role": "grid_worker"}
    assert [(e["action_zh"], e["actor"]) for e in sheet["record"]] == [("上报", "网格员小王"), ("立案", "齐家指挥长")]
    assert "dispatch" in [s["step"] for s in sheet["steps"]]
    assert sheet["clock"]["stage_zh"] == "派遣时限"
    assert api(f"/api/v1/screen/cases/{number}/sheet", LUXIANG_COMMANDER).status_code == 404


def test_the_stage_clock_counts_office_hours_across_a_weekend():
    calendar = WorkCalendar()  # 08:30–12:00, 13:30–17:30 on China's official working days
    case = SimpleNamespace(status="handling", stage_due_at=datetime(2026, 11, 30, 2, 30, tzinfo=timezone.utc))
    friday_4pm = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)  # 16:00 China time
    clock = stage_clock(case, calendar, friday_4pm)
    assert clock == {"stage_zh": "处置时限", "due_at": "2026-11-30T02:30:00+00:00", "working_hours_left": 3.5,
                     "overdue": False}  # Fri 16:00–17:30, then Mon 08:30–10:30
    tuesday_9am = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
    # Mon 10:30–12:00 and 13:30–17:30, then Tue 08:30–09:00
    assert stage_clock(case, calendar, tuesday_9am)["working_hours_left"] == -6.0
    assert stage_clock(SimpleNamespace(status="closed", stage_due_at=None), calendar, tuesday_9am) is None


def test_the_outline_cache_keeps_a_few_datums_and_converts_the_rest_per_request(sample_app, rt):
    index, cache = rt.index.get(), OutlineCache()
    gcj02 = cache.outlines(index, parse_crs("gcj02"))
    assert cache.outlines(index, parse_crs("gcj02")) is gcj02  # kept
    assert cache.outlines(index, parse_crs("EPSG:4490")) is cache.outlines(index, parse_crs("cgcs2000"))
    cache.outlines(index, parse_crs("wgs84"))
    beyond = cache.outlines(index, parse_crs("EPSG:4549"))  # a Gauss–Krüger zone: the fourth datum
    assert len(cache._by_datum) == OutlineCache.KEPT_DATUMS and beyond is not cache.outlines(
        index, parse_crs("EPSG:4549"))
    code = index.cells[0].code
    x, y = shapely.get_coordinates(shapely.geometry.shape(beyond[code]))[0]
    assert x > 100_000 and y > 4_000_000  # metres in the zone, not degrees


# -- base map settings ------------------------------------------------------------------------


def test_the_base_map_key_is_filled_in_from_configuration(api, sample_app, database_url):
    assert api("/api/v1/screen/config").get_json()["basemap"] is None
    settings = Settings(database_url=database_url, basemap_url="https://t{s}.example.cn/{z}/{x}/{y}?tk={key}",
                        basemap_datum="cgcs2000", basemap_key="K123", basemap_subdomains="01234567")
    basemap = basemap_of(settings)
    assert basemap.url == "https://t{s}.example.cn/{z}/{x}/{y}?tk=K123" and basemap.datum.name == "cgcs2000"


@pytest.mark.parametrize("changes, reason", [
    ({"basemap_url": "https://tiles.example.cn/{z}/{x}.png"}, "lacks {y}"),
    ({"basemap_url": "https://t{s}.example.cn/{z}/{x}/{y}"}, "GRIDSVC_BASEMAP_SUBDOMAINS"),
    ({"basemap_url": "https://x/{z}/{x}/{y}?key={key}"}, "GRIDSVC_BASEMAP_KEY"),
    ({"basemap_url": "https://x/{z}/{x}/{y}", "basemap_datum": "bd09"}, "gcj02, cgcs2000 or wgs84"),
    ({"basemap_url": "https://x/{z}/{x}/{y}", "basemap_datum": "mars"}, "GRIDSVC_BASEMAP_DATUM"),
    ({"basemap_url": "//webrd0{s}.is.autonavi.com/{z}/{x}/{y}", "basemap_subdomains": "1234"}, "http(s) URL"),
    ({"basemap_url": "https://user:secret@tiles.example.cn/{z}/{x}/{y}"}, "no user"),
])
def test_a_wrong_base_map_setting_stops_the_start_with_its_name(changes, reason, database_url):
    with pytest.raises(BasemapError, match=re.escape(reason)):
        create_app(Settings(database_url=database_url, **changes))


# -- the page's files ----------------------------------------------------------------------------


def test_the_page_and_every_file_it_loads_are_served_from_here(sample_app):
    client = sample_app.test_client()
    assert client.get("/").headers["Location"].endswith("/screen/")
    html = client.get("/screen/").get_data(as_text=True)
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', html) if not a.startswith("data:")]
    assert len(assets) >= 7
    for asset in assets:
        assert not re.match(r"(https?:)?//", asset), f"{asset} would come from elsewhere"
        assert client.get(f"/screen/{asset}").status_code == 200, asset
    modules = [p.read_text() for p in (PAGE / "js").glob("*.js")]
    for source in modules:
        for imported in re.findall(r'from "\./([^"]+)"', source):
            assert (PAGE / "js" / imported).exists(), imported
        assert not re.search(r"https?://", source), "the scripts name no outside address"


def test_the_page_may_load_only_from_here_and_the_base_maps_tiles(sample_app, database_url):
    policy = sample_app.test_client().get("/screen/").headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "img-src 'self' blob: data:;" in policy
    tiled = create_app(Settings(database_url=database_url, basemap_subdomains="1234", events_poll_seconds=0,
                                basemap_url="https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}"))
    policy = tiled.test_client().get("/screen/").headers["Content-Security-Policy"]
    assert "img-src 'self' blob: data: https://*.is.autonavi.com;" in policy
    tiled.extensions["gridsvc"].dispose()


def test_only_the_vendored_packages_dist_folders_are_served(sample_app, monkeypatch, tmp_path):
    client = sample_app.test_client()
    assert client.get("/screen/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/screen/vendor/lodash/lodash.js").status_code == 404
    assert client.get("/screen/vendor/leaflet/../package.json").status_code == 404
    assert client.get("/screen/vendor/leaflet/%2e%2e/package.json").status_code == 404
    assert client.get("/screen/..%2f..%2fpyproject.toml").status_code == 404
    assert set(BUILT_FOLDER) == set(__import__("json").loads((REPO / "package.json").read_text())[
        "dependencies"])
    monkeypatch.setattr("gridsvc.web.vendor.NODE_MODULES", tmp_path)
    missing = client.get("/screen/vendor/leaflet/leaflet.js")
    assert missing.status_code == 503 and "make setup" in missing.get_json()["error"]["message"]
