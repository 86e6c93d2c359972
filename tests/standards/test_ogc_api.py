"""OGC API – Features at /ogc: the documents and their links, paging, bbox, single features, the
exceptions, the signed-in cases collection, and GDAL's OAPIF driver against a real server (both
databases, the sample county)."""

from __future__ import annotations

import os
import subprocess
import time

import pyogrio
import pytest
import shapely
from shapely.geometry import shape

from gridsvc.geo.crs import parse_crs, from_cgcs2000
from gridsvc.network.store import current_cells_query
from geoalchemy2.shape import to_shape
from tests.support import (CGCS2000, COMMANDER, CRS84, SAMPLE_GRIDS, STRANGER, WORKER, assert_exception, gdal_tool,
                           links_by_rel, local)

OGC = "/ogc"


# -- the documents ---------------------------------------------------------------------------------


def test_landing_page_links_and_titles(client):
    for path in ("/ogc/", "/ogc", "/ogc/?f=json"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "application/json"
        body = response.get_json()
        assert "网格" in body["title"] and "grid" in body["title"].lower()
        assert "CRS84" in body["description"] and "CGCS2000" in body["description"]
        rels = links_by_rel(body)
        assert {"self", "conformance", "data", "service-desc", "service-doc"} <= set(rels)
        assert all(link["href"].startswith("http://localhost/ogc") and link["type"] for link in body["links"])
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert client.get(local(rels["conformance"]["href"])).get_json()["conformsTo"] == [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    ]
    assert "collections" in client.get(local(rels["data"]["href"])).get_json()


def test_collections_without_a_token_list_the_public_ones(client, rt):
    body = client.get("/ogc/collections").get_json()
    assert links_by_rel(body)["self"]["href"] == "http://localhost/ogc/collections"
    found = {c["id"]: c for c in body["collections"]}
    assert set(found) == {"grids", "villages", "townships"}
    for collection in found.values():
        assert collection["itemType"] == "feature" and collection["crs"][:2] == [CRS84, CGCS2000]
        assert collection["storageCrs"] == CGCS2000
        assert "/" in collection["title"]  # zh-CN / English
        west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
        assert 125 < west < east < 127 and 43 < south < north < 45  # 双阳区
        rels = links_by_rel(collection)
        assert rels["items"]["type"] == "application/geo+json"
        one = client.get(local(rels["self"]["href"]))
        assert one.status_code == 200 and one.get_json()["id"] == collection["id"]
    index = rt.index.get()
    bounds = shapely.total_bounds([index.geometry(i) for i in range(len(index))])
    assert found["grids"]["extent"]["spatial"]["bbox"][0] == pytest.approx(list(bounds))


def test_grid_feature_has_the_stored_attributes(client, rt):
    with rt.sessions() as session:
        cell = session.scalars(current_cells_query()).first()
        stored = to_shape(cell.boundary)
        response = client.get(f"/ogc/collections/grids/items/{cell.code}")
        assert response.status_code == 200 and response.mimetype == "application/geo+json"
        body = response.get_json()
        assert body["type"] == "Feature" and body["id"] == cell.code
        assert shape(body["geometry"]).equals_exact(stored, 0)
        properties = body["properties"]
        assert properties["name"] == cell.name and properties["kind"] == cell.kind
        assert properties["village_code"] == cell.village_code
        assert properties["township_code"] == cell.village_code[:9] + "000"
        assert properties["village_name"] and properties["domains"] == list(cell.domains)
        assert properties["households"] == cell.households and properties["population"] == cell.population
        assert properties["valid_from"].startswith(str(cell.valid_from.year))
        assert properties["version"] == cell.version and properties["valid_to"] is None
        assert response.headers["Content-Crs"] == f"<{CRS84}>"
    rels = links_by_rel(body)
    assert local(rels["self"]["href"]) == f"/ogc/collections/grids/items/{cell.code}"
    assert local(rels["collection"]["href"]) == "/ogc/collections/grids"


def test_village_and_township_features(client):
    towns = client.get("/ogc/collections/townships/items").get_json()
    assert towns["numberMatched"] == towns["numberReturned"] == len(towns["features"]) > 0
    town = towns["features"][0]
    assert town["properties"]["level"] == "township" and town["geometry"]["type"] == "MultiPolygon"
    assert town["properties"]["parent_name"] == "双阳区"
    villages = client.get("/ogc/collections/villages/items?limit=1000").get_json()
    assert all(v["properties"]["parent_code"][:9] == v["id"][:9] for v in villages["features"])
    one = villages["features"][0]
    again = client.get(f"/ogc/collections/villages/items/{one['id']}").get_json()
    assert again["geometry"] == one["geometry"] and again["properties"] == one["properties"]
    assert_exception(client.get(f"/ogc/collections/townships/items/{one['id']}"), 404, "NotFound")


# -- paging ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [7, 50, 1000])
def test_next_links_walk_every_grid_once(client, limit):
    href, seen, pages = f"/ogc/collections/grids/items?limit={limit}", [], 0
    while href:
        response = client.get(href)
        assert response.status_code == 200 and response.mimetype == "application/geo+json"
        body = response.get_json()
        assert body["type"] == "FeatureCollection" and body["numberMatched"] == SAMPLE_GRIDS
        assert body["numberReturned"] == len(body["features"]) <= limit
        assert body["timeStamp"].endswith("Z")
        rels = links_by_rel(body)
        assert local(rels["self"]["href"]).startswith("/ogc/collections/grids/items?")
        assert ("prev" in rels) == (pages > 0)
        seen += [f["id"] for f in body["features"]]
        pages += 1
        href = local(rels["next"]["href"]) if "next" in rels else None
    assert len(seen) == len(set(seen)) == SAMPLE_GRIDS and seen == sorted(seen)
    assert pages == -(-SAMPLE_GRIDS // limit)


def test_default_limit_offset_and_prev(client):
    first = client.get("/ogc/collections/grids/items").get_json()
    assert first["numberReturned"] == 100
    second = client.get("/ogc/collections/grids/items?offset=100&limit=100").get_json()
    assert local(links_by_rel(second)["prev"]["href"]) == "/ogc/collections/grids/items?limit=100&offset=0"
    assert first["features"][-1]["id"] < second["features"][0]["id"]
    beyond = client.get("/ogc/collections/grids/items?offset=5000").get_json()
    assert beyond["numberReturned"] == 0 and beyond["features"] == [] and "next" not in links_by_rel(beyond)
    capped = client.get("/ogc/collections/grids/items?limit=5000").get_json()  # served as 1000, not an error
    assert capped["numberReturned"] == SAMPLE_GRIDS


# -- bbox --------------------------------------------------------------------------------------------


def test_bbox_returns_the_cells_around_a_point(client, rt):
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.kind == "base")
    point = index.geometry(position).representative_point()
    bbox = f"{point.x - 1e-4},{point.y - 1e-4},{point.x + 1e-4},{point.y + 1e-4}"
    body = client.get(f"/ogc/collections/grids/items?bbox={bbox}&limit=3").get_json()
    box = shapely.box(point.x - 1e-4, point.y - 1e-4, point.x + 1e-4, point.y + 1e-4)
    everything, href = [], f"/ogc/collections/grids/items?bbox={bbox}&limit=3"
    while href:
        body = client.get(href).get_json()
        everything += body["features"]
        rels = links_by_rel(body)
        href = local(rels["next"]["href"]) if "next" in rels else None
    assert 0 < len(everything) == body["numberMatched"] < SAMPLE_GRIDS
    assert index.cells[position].code in [f["id"] for f in everything]
    assert any(shape(f["geometry"]).covers(point) for f in everything)
    assert all(shape(f["geometry"]).intersects(box) for f in everything)
    far = client.get("/ogc/collections/grids/items?bbox=116.3,39.8,116.5,40.0").get_json()
    assert far["numberMatched"] == 0 and far["features"] == []
    towns = client.get(f"/ogc/collections/townships/items?bbox={bbox}").get_json()["features"]
    assert [t["id"] for t in towns] == [index.cells[position].village_code[:9] + "000"]
    villages = client.get(f"/ogc/collections/villages/items?bbox={bbox}").get_json()["features"]
    assert index.cells[position].village_code in [v["id"] for v in villages]


def test_bbox_across_the_antimeridian_and_with_heights(client):
    assert client.get("/ogc/collections/grids/items?bbox=170,43,126,44").get_json()["numberMatched"] == SAMPLE_GRIDS
    assert client.get("/ogc/collections/grids/items?bbox=170,43,-170,44").get_json()["numberMatched"] == 0
    assert client.get("/ogc/collections/grids/items?bbox=125,43,0,127,45,100").get_json()["numberMatched"] == (
        SAMPLE_GRIDS)


@pytest.mark.parametrize("collection", ["villages", "townships", "grids"])
@pytest.mark.parametrize("bbox", ["125.5655,43.6221,125.5655,43.6221", "125.5655,43.6,125.5655,43.7",
                                  "125.5,43.6221,125.6,43.6221"])
def test_a_box_without_width_or_height_counts_what_it_returns(client, collection, bbox):
    """A point or a line as the box: numberMatched agrees with the features (a degenerate polygon
    got different answers from SpatiaLite's prepared geometries)."""
    page = client.get(f"/ogc/collections/{collection}/items?bbox={bbox}&limit=1000").get_json()
    assert page["numberMatched"] == page["numberReturned"] == len(page["features"]) >= 1


# -- exceptions --------------------------------------------------------------------------------------


BAD_ITEMS_QUERIES = [
    "limit=0", "limit=-1", "limit=abc", "limit=1.5", "limit=", "limit=10001", "limit=99999999999999999999",
    "limit=\u0661", "offset=-1", "offset=x", "offset=1e3",
    "bbox=1,2,3", "bbox=a,b,c,d", "bbox=1,2,3,4,5", "bbox=nan,1,2,3", "bbox=0,0,inf,1", "bbox=",
    "bbox=125,44,126,43", "bbox=-181,0,1,1", "bbox=0,-91,1,1", "bbox=1e400,0,1,1",
    "f=html", "f=xml", "unknown=1", "limit=10&kind=base",
    "datetime=", "datetime=/", "datetime=now", "datetime=2024-05-01", "datetime=2024-05-01T08:00:00",
    "datetime=2024-13-01T00:00:00Z", "datetime=2024-05-01 08:00:00Z", "datetime=0000-01-01T00:00:00Z",
    "datetime=9999-12-31T23:59:59-05:00", "datetime=2024-05-02T00:00:00Z/2024-05-01T00:00:00Z",
    "datetime=2024-01-01T00:00:00Z/2024-02-01T00:00:00Z/2024-03-01T00:00:00Z", "datetime=../x",
    "crs=EPSG:4490", "crs=4490", "crs=", "crs=http://www.opengis.net/def/crs/EPSG/0/3857",
    "crs=http://www.opengis.net/def/crs/EPSG/0/4214", "crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84h",
    "bbox-crs=EPSG:4490&bbox=43,125,44,126", "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857&bbox=0,0,1,1",
    "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4490&bbox=125.5,43.5,125.6,43.6",  # longitude first: a 400
    "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4490&bbox=43,125,0,44,126,10",
    "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4551&bbox=4830000,450000,4820000,460000",
    "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4551&bbox=1e12,1e12,2e12,2e12",
]


def test_bad_items_queries_are_400(client):
    for collection in ("grids", "villages", "townships"):
        for query in BAD_ITEMS_QUERIES:
            response = client.get(f"/ogc/collections/{collection}/items?{query}")
            assert_exception(response, 400, "InvalidParameterValue")


UNKNOWN_PATHS = [
    "/ogc/collections/roads", "/ogc/collections/roads/items", "/ogc/collections/roads/items/1",
    "/ogc/collections/grids/items/220112100000000", "/ogc/collections/grids/items/abc",
    "/ogc/collections/grids/items/" + "9" * 300, "/ogc/collections/villages/items/220112000000",
    "/ogc/collections/villages/items/x%00y", "/ogc/nothing", "/ogc/collections/grids/items/1/2",
]


def test_unknown_things_are_404(client):
    for path in UNKNOWN_PATHS:
        assert_exception(client.get(path), 404, "NotFound")


def test_format_parameter(client):
    assert client.get("/ogc/collections/grids/items?f=json&limit=1").mimetype == "application/geo+json"
    assert client.get("/ogc/collections?f=json").status_code == 200
    assert_exception(client.get("/ogc/conformance?f=html"), 400)


# -- cases: signed in only ---------------------------------------------------------------------------


def test_cases_need_a_token(client, cases):
    for path in ("/ogc/collections/cases", "/ogc/collections/cases/items",
                 f"/ogc/collections/cases/items/{cases[WORKER]}", "/ogc/collections/cases/items?limit=0"):
        response = client.get(path)
        assert_exception(response, 401, "Unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert_exception(client.get(path, headers={"Authorization": "Bearer not-a-token"}), 401)
    with_bad_token = client.get("/ogc/collections", headers={"Authorization": "Bearer not-a-token"}).get_json()
    assert "cases" not in [c["id"] for c in with_bad_token["collections"]]


def test_cases_show_only_what_the_caller_may_see(client, cases, field):
    commander = field["headers"](COMMANDER)
    listed = client.get("/ogc/collections", headers=commander).get_json()
    assert "cases" in [c["id"] for c in listed["collections"]]
    body = client.get("/ogc/collections/cases/items", headers=commander).get_json()
    assert [f["id"] for f in body["features"]] == [cases[WORKER]] and body["numberMatched"] == 1
    case = body["features"][0]
    assert case["geometry"]["type"] == "Point"
    assert set(case["properties"]) >= {"tracking_no", "status", "category", "received_at", "grid"}
    assert case["properties"]["grid"] == field["grid"] and case["properties"]["category"] == "02004"
    x, y = case["geometry"]["coordinates"]
    assert from_cgcs2000(x, y, parse_crs("cgcs2000")) == (x, y)
    assert abs(x - field["probe"].x) < 1e-6 and abs(y - field["probe"].y) < 1e-6
    assert client.get(f"/ogc/collections/cases/items/{cases[WORKER]}", headers=commander).status_code == 200
    assert_exception(client.get(f"/ogc/collections/cases/items/{cases[STRANGER]}", headers=commander), 404)
    stranger = client.get("/ogc/collections/cases/items", headers=field["headers"](STRANGER)).get_json()
    assert [f["id"] for f in stranger["features"]] == [cases[STRANGER]]
    bbox = f"{x - 1e-4},{y - 1e-4},{x + 1e-4},{y + 1e-4}"
    near = client.get(f"/ogc/collections/cases/items?bbox={bbox}", headers=commander).get_json()
    assert near["numberMatched"] == 1
    far = client.get("/ogc/collections/cases/items?bbox=116,39,117,40", headers=commander).get_json()
    assert far["numberMatched"] == 0
    extent = client.get("/ogc/collections/cases", headers=commander).get_json()["extent"]["spatial"]["bbox"][0]
    assert extent == [x, y, x, y]


# -- GDAL: ogrinfo and ogr2ogr against a real server ------------------------------------------------


def test_gdal_lists_and_downloads_the_grids(served, rt, tmp_path):
    ogrinfo, ogr2ogr = gdal_tool("ogrinfo"), gdal_tool("ogr2ogr")
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF"}
    started = time.monotonic()
    listing = subprocess.run([ogrinfo, "-ro", f"OAPIF:{served}/ogc"], capture_output=True, text=True,
                             timeout=120, env=env)
    assert listing.returncode == 0, listing.stderr
    assert "grids" in listing.stdout and "villages" in listing.stdout and "townships" in listing.stdout
    out = tmp_path / "out.gpkg"
    download = subprocess.run([ogr2ogr, "-f", "GPKG", str(out), f"OAPIF:{served}/ogc", "grids"],
                              capture_output=True, text=True, timeout=300, env=env)
    assert download.returncode == 0, download.stderr
    elapsed = time.monotonic() - started
    meta, _, geometries, fields = pyogrio.raw.read(out, layer="grids")
    columns = dict(zip(meta["fields"].tolist(), fields))
    ids = [str(v) for v in columns["id"]]
    with rt.sessions() as session:
        stored = {cell.code: to_shape(cell.boundary) for cell in session.scalars(current_cells_query())}
    assert len(ids) == len(set(ids)) == len(stored) == SAMPLE_GRIDS
    assert set(ids) == set(stored)
    assert [str(v) for v in columns["code"]] == ids
    downloaded = shapely.from_wkb(geometries)
    for code, geometry in zip(ids, downloaded):
        assert shapely.equals_exact(shapely.normalize(geometry), shapely.normalize(stored[code]), tolerance=1e-9), code
    print(f"GDAL OAPIF: ogrinfo + ogr2ogr of {len(ids)} grids in {elapsed:.2f} s")
