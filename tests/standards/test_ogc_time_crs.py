"""OGC API – Features at /ogc, what Part 1's `oas30` and `datetime` and Part 2 (CRS by reference) add:
the OpenAPI 3.0 definition behind the `service-desc` link (valid, true to the code and to real answers),
`datetime` over a grid network with a changed and a retired grid (a point in the strip the change gave
up, a moment on the change itself), `crs` and `bbox-crs` with EPSG:4490's latitude-first axis order
and a Gauss–Krüger zone's northing-first one, and GDAL reading the definition and a past network
from a real server. Both databases, the sample county."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from geoalchemy2.shape import to_shape
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import OpenAPIV30SpecValidator
from pyproj import CRS, Transformer
from shapely.geometry import mapping, shape

from gridsvc.geo import metric
from gridsvc.kernel.models import GridCell
from gridsvc.network.store import apply_grid_records, current_cells_query, stored_record
from gridsvc.standards.ogc_features import ITEM_PARAMETERS, ITEMS_PARAMETERS, SUPPORTED_CRS
from tests.support import (CGCS2000, COMMANDER, CRS84, SAMPLE_GRIDS, WORKER, assert_exception, gdal_tool, links_by_rel,
                           local)

OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
GK_42 = EPSG + "4551"  # CGCS2000 / 3-degree Gauss–Krüger CM 126E: 双阳区 lies in it
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)  # the network as first drawn
T1 = datetime(2025, 3, 1, tzinfo=timezone.utc)  # grid A's boundary moves 5 m inwards
T2 = datetime(2025, 9, 1, tzinfo=timezone.utc)  # special grid B is retired


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def q(value: str) -> str:
    return quote(value, safe="")


def walk(client, href: str, headers=None) -> tuple[list[dict], dict]:
    """Every feature of every page from `href` on, following `next`; and the first page."""
    found, first = [], None
    while href:
        response = client.get(href, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        first = first or body
        found += body["features"]
        rels = links_by_rel(body)
        href = local(rels["next"]["href"]) if "next" in rels else None
    return found, first


def params(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def swapped(geometry: dict) -> dict:
    """A GeoJSON geometry (as JSON reads it) with its two axes exchanged."""
    return json.loads(json.dumps(mapping(shapely.transform(shape(geometry), lambda c: c[:, ::-1].copy()))))


def shared_edge_point(index) -> tuple[int, shapely.Point]:
    """A base grid, and the middle of an edge it shares with a neighbouring base grid."""
    for position, cell in enumerate(index.cells):
        if cell.kind != "base":
            continue
        geometry = index.geometry(position)
        for other in index.cells_in_bbox(*geometry.bounds):
            if other == position or index.cells[other].kind != "base":
                continue
            shared = shapely.line_merge(shapely.intersection(geometry.boundary, index.geometry(other).boundary))
            lines = [g for g in getattr(shared, "geoms", [shared]) if g.geom_type == "LineString"]
            if lines and lines[0].length > 1e-4:
                return position, lines[0].interpolate(0.5, normalized=True)
    raise AssertionError("no two base grids share an edge")


# -- the OpenAPI definition (service-desc) ------------------------------------------------------------


@pytest.fixture
def definition(client):
    landing = client.get("/ogc/").get_json()
    link = links_by_rel(landing)["service-desc"]
    response = client.get(local(link["href"]))
    assert response.status_code == 200 and response.headers["Content-Type"] == OPENAPI == link["type"]
    return response.get_json()


def resolved(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = spec["components"][kind][name]
    return node


def test_the_service_desc_is_valid_openapi_3_0_and_describes_every_collection(definition, client):
    spec = definition
    assert list(OpenAPIV30SpecValidator(spec).iter_errors()) == []
    assert spec["openapi"].startswith("3.0.") and spec["servers"] == [
        {"url": "http://localhost/ogc", "description": "this service"}]
    paths = spec["paths"]
    assert {"/", "/conformance", "/api", "/docs", "/collections"} <= set(paths)
    collections = client.get("/ogc/collections").get_json()["collections"]
    for cid in ("grids", "villages", "townships", "cases"):
        items = paths[f"/collections/{cid}/items"]["get"]
        one = paths[f"/collections/{cid}/items/{{featureId}}"]["get"]
        assert paths[f"/collections/{cid}"]["get"]["responses"]["200"]
        # the parameters are those the code accepts, neither more nor fewer
        names = {resolved(spec, p)["name"] for p in items["parameters"]}
        assert names == set(ITEMS_PARAMETERS)
        assert {resolved(spec, p)["name"] for p in one["parameters"]} == set(ITEM_PARAMETERS) | {"featureId"}
        assert {"200", "400", "500", "503"} <= set(items["responses"])
        assert {"200", "400", "404"} <= set(one["responses"])
        assert "Content-Crs" in items["responses"]["200"]["headers"]
        assert ("401" in items["responses"]) == (cid == "cases") == bool(items.get("security"))
    # GDAL's OAPIF driver reads its page size from the standard's `limit` parameter, by reference
    items = paths["/collections/grids/items"]["get"]
    assert {"$ref": "#/components/parameters/limit"} in items["parameters"]
    limit = spec["components"]["parameters"]["limit"]["schema"]
    assert (limit["default"], limit["minimum"], limit["maximum"]) == (100, 1, 10000)
    crs = resolved(spec, {"$ref": "#/components/parameters/crs"})["schema"]
    assert crs["enum"] == collections[0]["crs"] == list(SUPPORTED_CRS) and crs["default"] == CRS84
    assert client.get("/ogc/api?f=json").status_code == 200
    assert_exception(client.get("/ogc/api?f=yaml"), 400, "InvalidParameterValue")


def test_the_service_doc_is_swagger_ui_on_the_definition(client):
    link = links_by_rel(client.get("/ogc/").get_json())["service-doc"]
    page = client.get(local(link["href"]))
    assert page.status_code == 200 and page.mimetype == "text/html" == link["type"]
    html = page.get_data(as_text=True)
    assert '"/ogc/api"' in html and "/api/docs/static/swagger-ui-bundle.js" in html
    assert not re.search(r"""["'(]\s*(https?:)?//""", html)  # nothing from another host


def fits(spec: dict, operation: dict, response, status: int) -> None:
    """The answer has a status the operation documents, and its body fits the documented schema."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    documented = resolved(spec, operation["responses"][str(status)])
    content = documented["content"]
    assert response.mimetype in content, (response.mimetype, list(content))
    schema = {**content[response.mimetype]["schema"], "components": spec["components"]}
    errors = list(OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(response.get_json()))
    assert errors == [], [e.message for e in errors[:3]]


def test_real_answers_fit_the_definition(definition, client, cases, field):
    spec = definition
    get = client.get
    paths = spec["paths"]
    fits(spec, paths["/"]["get"], get("/ogc/"), 200)
    fits(spec, paths["/conformance"]["get"], get("/ogc/conformance"), 200)
    fits(spec, paths["/collections"]["get"], get("/ogc/collections"), 200)
    fits(spec, paths["/"]["get"], get("/ogc/?f=html"), 400)
    code = client.get("/ogc/collections/grids/items?limit=1").get_json()["features"][0]["id"]
    headers = field["headers"](COMMANDER)
    for cid, feature_id in (("grids", code), ("villages", code[:12]), ("townships", code[:9] + "000"),
                            ("cases", cases[WORKER])):
        collection, items = paths[f"/collections/{cid}"]["get"], paths[f"/collections/{cid}/items"]["get"]
        one = paths[f"/collections/{cid}/items/{{featureId}}"]["get"]
        fits(spec, collection, get(f"/ogc/collections/{cid}", headers=headers), 200)
        for query in ("limit=3", f"limit=2&crs={q(CGCS2000)}", f"datetime={q(z(T0))}/..&limit=2"):
            fits(spec, items, get(f"/ogc/collections/{cid}/items?{query}", headers=headers), 200)
        fits(spec, items, get(f"/ogc/collections/{cid}/items?datetime=yesterday", headers=headers), 400)
        fits(spec, one, get(f"/ogc/collections/{cid}/items/{feature_id}", headers=headers), 200)
        fits(spec, one, get(f"/ogc/collections/{cid}/items/{feature_id}?crs={q(GK_42)}", headers=headers), 200)
        fits(spec, one, get(f"/ogc/collections/{cid}/items/{feature_id}?crs=4490", headers=headers), 400)
        fits(spec, one, get(f"/ogc/collections/{cid}/items/{feature_id}?limit=1", headers=headers), 400)
        fits(spec, one, get(f"/ogc/collections/{cid}/items/nothing-here", headers=headers), 404)
    fits(spec, paths["/collections/cases/items"]["get"], get("/ogc/collections/cases/items"), 401)


def test_server_and_database_failures_are_the_documented_ogc_exceptions(definition, client, monkeypatch):
    from gridsvc.standards import ogc_features

    items = definition["paths"]["/collections/grids/items"]["get"]

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ogc_features, "grid_page", broken)
    fits(definition, items, client.get("/ogc/collections/grids/items"), 500)
    assert client.get("/ogc/collections/grids/items").get_json()["code"] == "ServerError"

    def unavailable(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(ogc_features, "grid_page", unavailable)
    fits(definition, items, client.get("/ogc/collections/grids/items"), 503)
    assert client.get("/ogc/collections/grids/items").get_json()["code"] == "ServiceUnavailable"


# -- datetime: a network with a changed and a retired grid --------------------------------------------


@pytest.fixture
def history(sample_app, rt, prepared):
    """The sample network drawn at T0; at T1 base grid A shrinks by 5 m (a new version), at T2 special
    grid B is retired. Returns A, B, the old and new boundary of A and a point in the strip A gave up.
    Made once per test process and backend (`prepared`), copied for each test."""

    def build():
        with rt.sessions.begin() as session:
            session.execute(sa.update(GridCell).values(valid_from=T0))
        with rt.sessions.begin() as session:
            cells = list(session.scalars(current_cells_query()))
            specials = [to_shape(c.boundary) for c in cells if c.kind == "special"]
            a = next(c for c in cells
                     if c.kind == "base" and not any(to_shape(c.boundary).intersects(s) for s in specials))
            b = next(c for c in cells if c.kind == "special")
            old = to_shape(a.boundary)
            new = shapely.MultiPolygon([metric.from_zone(metric.to_zone(old).buffer(-5.0), old.centroid.x)])
            records = [stored_record(c) for c in cells]
            records = [r.with_geometry(new) if r.code == a.code else r for r in records]
            assert apply_grid_records(session, records, at=T1).changed == 1
            a_code, b_code, b_village = a.code, b.code, b.village_code
        with rt.sessions.begin() as session:
            records = [stored_record(c) for c in session.scalars(current_cells_query()) if c.code != b_code]
            assert apply_grid_records(session, records, at=T2, retire_missing_in=[b_village]).retired == 1
        strip = old.difference(new)
        point = strip.representative_point()
        assert strip.contains(point.buffer(1e-6)) and old.boundary.distance(point) < 1e-4  # ~5 m inside A's old edge
        return {"a": a_code, "b": b_code, "old": old, "new": new, "point": point}

    return prepared(build)


def ids_at(client, datetime_value: str, extra: str = "") -> list[str]:
    features, first = walk(client, f"/ogc/collections/grids/items?limit=1000&datetime={q(datetime_value)}{extra}")
    assert first["numberMatched"] == len(features)
    return [f["id"] for f in features]


def test_without_datetime_the_current_network(client, history):
    features, first = walk(client, "/ogc/collections/grids/items?limit=1000")
    ids = [f["id"] for f in features]
    assert len(ids) == first["numberMatched"] == SAMPLE_GRIDS - 1  # B retired
    assert history["a"] in ids and history["b"] not in ids and all(len(i) == 15 for i in ids)
    a = next(f for f in features if f["id"] == history["a"])
    assert a["properties"]["version"] == 2 and a["properties"]["valid_to"] is None
    assert shape(a["geometry"]).equals_exact(history["new"], 1e-12)
    now = datetime.now(timezone.utc)
    assert ids_at(client, z(now)) == ids  # "now" is the default
    assert ids_at(client, z(now - timedelta(days=1)) + "/..") == ids


def test_datetime_instants_pick_the_version_valid_then(client, history):
    a, b = history["a"], history["b"]
    before = ids_at(client, "2025-01-01T00:00:00Z")
    assert len(before) == SAMPLE_GRIDS and f"{a}-v1" in before and f"{b}-v1" in before and a not in before
    between = ids_at(client, "2025-06-01T08:00:00+08:00")
    assert len(between) == SAMPLE_GRIDS and a in between and f"{b}-v1" in between
    after = ids_at(client, "2026-01-01T00:00:00Z")
    assert len(after) == SAMPLE_GRIDS - 1 and a in after and not any(i.startswith(b) for i in after)
    # the moment of the change belongs to the new version; a microsecond before, to the old one
    assert a in ids_at(client, z(T1)) and a in ids_at(client, "2025-03-01T08:00:00+08:00")
    assert f"{a}-v1" in ids_at(client, "2025-02-28T23:59:59.999999Z")
    assert ids_at(client, "2023-12-31T23:59:59Z") == []  # before the network was drawn
    old = client.get(f"/ogc/collections/grids/items?limit=1000&datetime={q(z(T0))}").get_json()["features"]
    a_then = next(f for f in old if f["id"] == f"{a}-v1")
    assert shape(a_then["geometry"]).equals_exact(history["old"], 1e-12)
    assert a_then["properties"]["version"] == 1 and a_then["properties"]["valid_to"] == T1.isoformat()


def test_datetime_intervals_return_every_version_that_meets_them(client, history):
    a, b = history["a"], history["b"]
    across = ids_at(client, "2025-02-01T00:00:00Z/2025-04-01T00:00:00Z")
    assert len(across) == len(set(across)) == SAMPLE_GRIDS + 1  # both versions of A
    assert {a, f"{a}-v1", f"{b}-v1"} <= set(across)
    assert len(ids_at(client, "../..")) == SAMPLE_GRIDS + 1  # every version ever stored
    assert ids_at(client, "../2024-06-01T00:00:00Z") == ids_at(client, "2024-06-01T00:00:00Z")
    assert ids_at(client, "/2024-06-01T00:00:00Z") == ids_at(client, "../2024-06-01T00:00:00Z")  # `..` may be empty
    later = ids_at(client, "2025-08-01T00:00:00Z/..")
    assert a in later and f"{a}-v1" not in later and f"{b}-v1" in later
    assert ids_at(client, "2025-08-01T00:00:00Z/") == later
    # closed ends: an interval ending on T1 meets A's new version, one starting on T2 does not meet B's
    assert {a, f"{a}-v1"} <= set(ids_at(client, f"2025-01-01T00:00:00Z/{z(T1)}"))
    assert f"{b}-v1" not in ids_at(client, f"{z(T2)}/..")
    assert f"{b}-v1" in ids_at(client, f"../{z(T2)}")


def test_datetime_pages_and_bbox_near_an_edge(client, history):
    a, point = history["a"], history["point"]
    query = f"datetime={q('../..')}&limit=7"
    features, first = walk(client, f"/ogc/collections/grids/items?{query}")
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == first["numberMatched"] == SAMPLE_GRIDS + 1
    assert params(links_by_rel(first)["next"]["href"])["datetime"] == ["../.."]
    # a box of 20 cm around a point of the strip A gave up at T1: A's old version, and nothing now
    box = f"{point.x - 1e-6},{point.y - 1e-6},{point.x + 1e-6},{point.y + 1e-6}"
    assert ids_at(client, "2025-01-01T00:00:00Z", f"&bbox={box}") == [f"{a}-v1"]
    assert ids_at(client, "2025-02-01T00:00:00Z/2025-04-01T00:00:00Z", f"&bbox={box}") == [f"{a}-v1"]
    assert ids_at(client, "2025-06-01T00:00:00Z", f"&bbox={box}") == []
    current = client.get(f"/ogc/collections/grids/items?bbox={box}").get_json()
    assert current["numberMatched"] == 0
    inside = history["new"].representative_point()
    box = f"{inside.x - 1e-6},{inside.y - 1e-6},{inside.x + 1e-6},{inside.y + 1e-6}"
    assert ids_at(client, "../..", f"&bbox={box}") == [f"{a}-v1", a]  # by code, then version


def test_a_retired_version_has_its_own_feature(client, history):
    a, b = history["a"], history["b"]
    old = client.get(f"/ogc/collections/grids/items/{a}-v1")
    assert old.status_code == 200 and old.get_json()["id"] == f"{a}-v1"
    assert shape(old.get_json()["geometry"]).equals_exact(history["old"], 1e-12)
    assert local(links_by_rel(old.get_json())["self"]["href"]) == f"/ogc/collections/grids/items/{a}-v1"
    assert client.get(f"/ogc/collections/grids/items/{a}").get_json()["properties"]["version"] == 2
    retired = client.get(f"/ogc/collections/grids/items/{b}-v1").get_json()
    assert retired["properties"]["valid_to"] == T2.isoformat()
    for path in (f"{a}-v2", f"{a}-v3", b, f"{b}-v0", f"{a}-v", f"{a}-v01", f"{a}v1", f"{a}-v1-v1", f"{a}-V1"):
        assert_exception(client.get(f"/ogc/collections/grids/items/{path}"), 404, "NotFound")


def test_temporal_extents(client, history, cases, field):
    grids = client.get("/ogc/collections/grids").get_json()["extent"]["temporal"]
    assert grids == {"interval": [["2024-01-01T00:00:00Z", None]],
                     "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    assert "temporal" not in client.get("/ogc/collections/villages").get_json()["extent"]
    interval = client.get("/ogc/collections/cases", headers=field["headers"](COMMANDER)).get_json()[
        "extent"]["temporal"]["interval"][0]
    assert interval[0] == interval[1] and interval[0].endswith("Z")  # the one case the commander sees


def test_datetime_on_cases_and_on_the_untimed_collections(client, cases, field):
    headers = field["headers"](COMMANDER)
    case = client.get("/ogc/collections/cases/items", headers=headers).get_json()["features"][0]
    received = datetime.fromisoformat(case["properties"]["received_at"])

    def tracking(value: str) -> list[str]:
        body = client.get(f"/ogc/collections/cases/items?datetime={q(value)}", headers=headers).get_json()
        assert body["numberMatched"] == len(body["features"])
        return [f["id"] for f in body["features"]]

    assert tracking(received.isoformat()) == [cases[WORKER]]  # an instant meets only that moment
    assert tracking(received.astimezone(timezone(timedelta(hours=8))).isoformat()) == [cases[WORKER]]
    assert tracking(z(received + timedelta(microseconds=1))) == []
    assert tracking(f"{z(received)}/{z(received)}") == [cases[WORKER]]  # closed: the ends are in
    assert tracking(f"../{z(received)}") == tracking(f"{z(received)}/..") == [cases[WORKER]]
    assert tracking(f"../{z(received - timedelta(seconds=1))}") == []
    assert tracking(f"{z(received + timedelta(seconds=1))}/..") == []
    # villages and townships carry no time: datetime is checked, and selects them all
    every = client.get("/ogc/collections/villages/items?limit=1000").get_json()["numberMatched"]
    timed = client.get(f"/ogc/collections/villages/items?limit=1000&datetime={q('2000-01-01T00:00:00Z')}")
    assert timed.get_json()["numberMatched"] == every
    assert_exception(client.get("/ogc/collections/villages/items?datetime=2000-01-01"), 400, "InvalidParameterValue")


# -- crs and bbox-crs (Part 2) ---------------------------------------------------------------------------


def test_the_axis_order_of_every_served_crs_is_the_one_epsg_defines():
    for uri, crs in SUPPORTED_CRS.items():
        axes = CRS.from_user_input("OGC:CRS84" if crs.epsg is None else f"EPSG:{crs.epsg}").axis_info
        assert (axes[0].direction == "north") == crs.first_axis_north, uri
        assert crs.projected == (axes[0].unit_name == "metre"), uri


@pytest.mark.parametrize("collection", ["grids", "villages", "townships"])
def test_crs_4490_is_latitude_first_with_the_same_numbers(client, collection):
    plain = client.get(f"/ogc/collections/{collection}/items?limit=20")
    lat_first = client.get(f"/ogc/collections/{collection}/items?limit=20&crs={q(CGCS2000)}")
    wgs84 = client.get(f"/ogc/collections/{collection}/items?limit=20&crs={q(EPSG + '4326')}")
    assert plain.headers["Content-Crs"] == f"<{CRS84}>"
    assert lat_first.headers["Content-Crs"] == f"<{CGCS2000}>" and wgs84.headers["Content-Crs"] == f"<{EPSG}4326>"
    plain, lat_first, wgs84 = plain.get_json(), lat_first.get_json(), wgs84.get_json()
    assert [f["id"] for f in plain["features"]] == [f["id"] for f in lat_first["features"]]
    for a, b, c in zip(plain["features"], lat_first["features"], wgs84["features"]):
        assert b["geometry"] == c["geometry"] == swapped(a["geometry"])  # exactly the stored numbers, swapped
        lat, lon = shapely.get_coordinates(shape(b["geometry"])).T
        assert 43 < lat.min() and lat.max() < 44.5 and 125 < lon.min() and lon.max() < 126.5  # 双阳区: lat first
        assert b["properties"] == a["properties"]
    assert params(links_by_rel(lat_first)["self"]["href"])["crs"] == [CGCS2000]
    one = client.get(f"/ogc/collections/{collection}/items/{plain['features'][0]['id']}?crs={q(CGCS2000)}")
    assert one.headers["Content-Crs"] == f"<{CGCS2000}>"
    assert one.get_json()["geometry"] == lat_first["features"][0]["geometry"]
    assert params(links_by_rel(one.get_json())["self"]["href"])["crs"] == [CGCS2000]


def test_crs_of_a_gauss_kruger_zone_is_northing_first(client, rt):
    body = client.get(f"/ogc/collections/grids/items?limit=5&crs={q(GK_42)}")
    assert body.headers["Content-Crs"] == f"<{GK_42}>"
    to_zone = Transformer.from_crs(4490, 4551, always_xy=True)
    index = rt.index.get()
    for feature in body.get_json()["features"]:
        stored = shapely.get_coordinates(index.geometry(index.position_of(feature["id"])))
        east, north = to_zone.transform(stored[:, 0], stored[:, 1])
        served_coords = shapely.get_coordinates(shape(feature["geometry"]))
        assert np.allclose(served_coords[:, 0], north, atol=1e-6) and np.allclose(served_coords[:, 1], east, atol=1e-6)
        assert (4.7e6 < served_coords[:, 0]).all() and (3e5 < served_coords[:, 1]).all()
        assert (served_coords[:, 1] < 7e5).all()  # easting, false easting 500 000 at 126°E
    https = client.get(f"/ogc/collections/grids/items?limit=5&crs={q(GK_42.replace('http:', 'https:'))}")
    assert https.status_code == 200 and https.headers["Content-Crs"] == f"<{GK_42}>"


def test_cases_in_4490(client, cases, field):
    headers = field["headers"](COMMANDER)
    plain = client.get("/ogc/collections/cases/items", headers=headers).get_json()["features"][0]
    lat_first = client.get(f"/ogc/collections/cases/items/{plain['id']}?crs={q(CGCS2000)}", headers=headers)
    assert lat_first.headers["Content-Crs"] == f"<{CGCS2000}>"
    assert lat_first.get_json()["geometry"]["coordinates"] == plain["geometry"]["coordinates"][::-1]
    lon, lat = plain["geometry"]["coordinates"]
    box = f"{lat - 1e-4},{lon - 1e-4},{lat + 1e-4},{lon + 1e-4}"
    near = client.get(f"/ogc/collections/cases/items?bbox={box}&bbox-crs={q(CGCS2000)}", headers=headers)
    assert [f["id"] for f in near.get_json()["features"]] == [plain["id"]]
    wrong_way = f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}"  # longitude first: latitude 125 is no latitude
    response = client.get(f"/ogc/collections/cases/items?bbox={wrong_way}&bbox-crs={q(CGCS2000)}", headers=headers)
    assert_exception(response, 400, "InvalidParameterValue")


def test_bbox_crs_4490_reads_latitude_first(client, rt):
    index = rt.index.get()
    position, point = shared_edge_point(index)  # on an edge between two grids: both, and any special over it
    lon_first = f"{point.x - 1e-5},{point.y - 1e-5},{point.x + 1e-5},{point.y + 1e-5}"
    lat_first = f"{point.y - 1e-5},{point.x - 1e-5},{point.y + 1e-5},{point.x + 1e-5}"
    for collection in ("grids", "villages", "townships"):
        expected = client.get(f"/ogc/collections/{collection}/items?bbox={lon_first}").get_json()
        for crs in (CGCS2000, EPSG + "4326"):
            got = client.get(f"/ogc/collections/{collection}/items?bbox={lat_first}&bbox-crs={q(crs)}").get_json()
            assert [f["id"] for f in got["features"]] == [f["id"] for f in expected["features"]]
            assert params(links_by_rel(got)["self"]["href"])["bbox-crs"] == [crs]
        explicit = client.get(f"/ogc/collections/{collection}/items?bbox={lon_first}&bbox-crs={q(CRS84)}").get_json()
        assert explicit["numberMatched"] == expected["numberMatched"]
    assert len(expected["features"]) >= 1
    grids = client.get(f"/ogc/collections/grids/items?bbox={lat_first}&bbox-crs={q(CGCS2000)}").get_json()
    assert index.cells[position].code in [f["id"] for f in grids["features"]] and grids["numberMatched"] >= 2
    across = client.get(f"/ogc/collections/grids/items?bbox=43,170,44,126&bbox-crs={q(CGCS2000)}").get_json()
    assert across["numberMatched"] == SAMPLE_GRIDS  # minlon 170 > maxlon 126: across the antimeridian


def test_bbox_crs_of_a_gauss_kruger_zone(client, rt):
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.kind == "base")
    point = index.geometry(position).representative_point()
    east, north = Transformer.from_crs(4490, 4551, always_xy=True).transform(point.x, point.y)
    for half in (30.0, 400.0):
        box = f"{north - half},{east - half},{north + half},{east + half}"  # northing first
        features, first = walk(client, f"/ogc/collections/grids/items?bbox={box}&bbox-crs={q(GK_42)}&limit=5")
        outline = shapely.transform(shapely.segmentize(shapely.box(east - half, north - half, east + half,
                                                                   north + half), 1.0),
                                    lambda c: np.column_stack(Transformer.from_crs(4551, 4490, always_xy=True)
                                                              .transform(c[:, 0], c[:, 1])))
        expected = sorted(index.cells[i].code for i in range(len(index))
                          if shapely.intersects(index.geometry(i), outline))
        assert [f["id"] for f in features] == expected and first["numberMatched"] == len(expected)
        assert index.cells[position].code in expected
        villages = client.get(f"/ogc/collections/villages/items?bbox={box}&bbox-crs={q(GK_42)}").get_json()
        assert index.cells[position].village_code in [f["id"] for f in villages["features"]]
    wrong_way = f"{east - 30},{north - 30},{east + 30},{north + 30}"  # easting first: outside the zone's strip
    elsewhere = client.get(f"/ogc/collections/grids/items?bbox={wrong_way}&bbox-crs={q(GK_42)}")
    assert elsewhere.status_code == 400 and "northing first" in elsewhere.get_data(as_text=True)
    # a GIS zoomed right out sends a box far wider than the zone: it is cut to the zone's strip, and holds
    # every grid (the back-projection of the whole box would wrap round the globe and match nothing)
    for huge in ("1000000,-4000000,8000000,5000000", "-10000000,-10000000,10000000,10000000"):
        everything = client.get(f"/ogc/collections/grids/items?bbox={huge}&bbox-crs={q(GK_42)}&limit=1").get_json()
        assert everything["numberMatched"] == len(index)


def test_a_zone_far_from_the_data_is_refused(client):
    far = client.get(f"/ogc/collections/grids/items?crs={q(EPSG + '4534')}&limit=1")  # 75°E, the data at 125°E
    assert far.status_code == 400 and "crs" in far.get_data(as_text=True)


def test_crs_with_datetime_and_a_retired_version(client, history):
    a = history["a"]
    lat_first = client.get(f"/ogc/collections/grids/items/{a}-v1?crs={q(CGCS2000)}")
    assert lat_first.headers["Content-Crs"] == f"<{CGCS2000}>"
    assert shape(swapped(lat_first.get_json()["geometry"])).equals_exact(history["old"], 0)
    page = client.get(f"/ogc/collections/grids/items?datetime={q(z(T0))}&crs={q(CGCS2000)}&limit=1000").get_json()
    again = next(f for f in page["features"] if f["id"] == f"{a}-v1")
    assert again["geometry"] == lat_first.get_json()["geometry"]


# -- GDAL: the definition, and a past network, from a real server ---------------------------------------


def test_gdal_reads_the_definition_and_a_past_network(history, served, rt, tmp_path):
    """GDAL 3.6's OAPIF driver reads the service-desc to decide where an attribute filter runs (here
    on the client: the definition names no property filters); a query string on the service URL is
    sent with every request, so `?datetime=…` reads the network of that day."""
    ogr2ogr = gdal_tool("ogr2ogr")
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "ON"}
    out = tmp_path / "special.gpkg"
    special = subprocess.run([ogr2ogr, "-f", "GPKG", str(out), "-oo", "PAGE_SIZE=1000", f"OAPIF:{served}/ogc",
                              "grids", "-where", "kind = 'special'"], capture_output=True, text=True, timeout=300,
                             env=env)
    assert special.returncode == 0, special.stderr[-3000:]
    assert f"Fetch({served}/ogc/api)" in special.stderr and "Unexpected Content-Type" not in special.stderr
    meta, _, _, fields = pyogrio.raw.read(out, layer="grids")
    with rt.sessions() as session:
        expected = sorted(c.code for c in session.scalars(current_cells_query()) if c.kind == "special")
    found = sorted(str(v) for v in dict(zip(meta["fields"].tolist(), fields))["id"])
    assert found == expected and history["b"] not in expected and len(expected) > 0

    past = tmp_path / "past.gpkg"
    then = subprocess.run([ogr2ogr, "-f", "GPKG", str(past), "-oo", "PAGE_SIZE=1000",
                           f"OAPIF:{served}/ogc?datetime=2025-01-01T00:00:00Z", "grids"],
                          capture_output=True, text=True, timeout=300, env={**env, "CPL_DEBUG": "OFF"})
    assert then.returncode == 0, then.stderr[-3000:]
    meta, _, geometries, fields = pyogrio.raw.read(past, layer="grids")
    columns = dict(zip(meta["fields"].tolist(), fields))
    ids = [str(v) for v in columns["id"]]
    assert len(ids) == len(set(ids)) == SAMPLE_GRIDS
    assert {f"{history['a']}-v1", f"{history['b']}-v1"} <= set(ids)
    old = shapely.from_wkb(geometries)[ids.index(f"{history['a']}-v1")]
    assert shapely.equals_exact(shapely.normalize(old), shapely.normalize(history["old"]), tolerance=1e-9)
