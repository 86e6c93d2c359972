"""HTTP API v1: locate and grids, including every way a query can be wrong."""

import pytest
from marshmallow import Schema, ValidationError, fields

from gridsvc.web.errors import INVALID_PARAMETERS, flat_fields
from gridsvc.geo.crs import from_cgcs2000, geometry_from_cgcs2000, parse_crs
from gridsvc.web.json_fields import JsonFloat, JsonInteger
from tests.support import JSON_TYPE_ERRORS


def _some_cell_centre(rt):
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.kind == "base")
    point = index.geometry(position).representative_point()
    return index.cells[position], point


def test_locate_answers_grid_village_township_county(client, rt):
    cell, point = _some_cell_centre(rt)
    x, y = from_cgcs2000(point.x, point.y, parse_crs("gcj02"))
    response = client.get(f"/api/v1/locate?lon={x}&lat={y}&crs=gcj02&accuracy=15")
    assert response.status_code == 200
    body = response.get_json()
    assert body["match"] == "inside"
    assert body["grid"]["code"] == cell.code
    assert body["village"]["code"] == cell.village_code
    assert body["township"]["code"] == cell.village_code[:9] + "000"
    assert body["county"] == {"code": "220112000000", "name": "双阳区"}
    assert body["point"]["crs"] == "EPSG:4490"
    assert abs(body["point"]["lon"] - point.x) < 1e-7
    assert body["accuracy_m"] == 15 and cell.code in [g["code"] for g in body["accuracy_grids"]]
    assert "双阳区" in response.get_data(as_text=True)  # zh-CN not escaped


def test_unknown_query_parameters_are_ignored(client):
    assert client.get("/api/v1/locate?lon=125.6&lat=43.6&crs=wgs84&_=1700000000").status_code == 200


def test_locate_outside_network_is_none(client):
    body = client.get("/api/v1/locate?lon=116.39&lat=39.9&crs=wgs84").get_json()
    assert body["match"] == "none" and body["grid"] is None and body["township"] is None


@pytest.mark.parametrize("query,field", [
    ("lat=43.5&crs=wgs84", "lon"),
    ("lon=125.6&crs=wgs84", "lat"),
    ("lon=125.6&lat=43.5", "crs"),
    ("lon=abc&lat=43.5&crs=wgs84", "lon"),
    ("lon=125.6&lat=43.5&crs=mars", "crs"),
    ("lon=125.6&lat=95&crs=wgs84", "lat"),
    ("lon=nan&lat=43.5&crs=wgs84", "lon"),
    ("lon=125.6&lat=43.5&crs=wgs84&accuracy=-3", "accuracy"),
    ("lon=125.6&lat=43.5&crs=wgs84&accuracy=100000", "accuracy"),
    ("lon=125.6&lat=43.5&crs=EPSG:999999", "crs"),
    ("lon=125.6&lat=43.5&crs=EPSG:4978", "crs"),
    ("lon=1e30&lat=1e30&crs=EPSG:4551", "lon"),
    ("lon=inf&lat=43.5&crs=wgs84", "lon"),
    ("lon=125.6&lat=43.5&crs=wgs84&accuracy=nan", "accuracy"),
    ("lon=&lat=43.5&crs=wgs84", "lon"),
])
def test_bad_locate_queries_are_422_with_field(client, query, field):
    response = client.get(f"/api/v1/locate?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameters"
    assert field in error["fields"] and error["fields"][field]


def test_locate_accepts_gauss_kruger_coordinates(client, rt):
    cell, point = _some_cell_centre(rt)
    x, y = from_cgcs2000(point.x, point.y, parse_crs("EPSG:4551"))
    body = client.get(f"/api/v1/locate?lon={x}&lat={y}&crs=EPSG:4551").get_json()
    assert body["grid"]["code"] == cell.code


def test_grids_feature_collection_and_bbox(client, rt):
    everything = client.get("/api/v1/grids").get_json()
    assert everything["type"] == "FeatureCollection"
    assert len(everything["features"]) == len(rt.index.get())
    cell, point = _some_cell_centre(rt)
    bbox = f"{point.x - 1e-4},{point.y - 1e-4},{point.x + 1e-4},{point.y + 1e-4}"
    some = client.get(f"/api/v1/grids?bbox={bbox}").get_json()["features"]
    assert cell.code in [f["properties"]["code"] for f in some]
    assert 0 < len(some) < len(everything["features"])
    feature = some[0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert {"code", "name", "kind", "village_code", "village_name", "township_code"} <= set(feature["properties"])


def test_grids_bbox_in_gcj02(client, rt):
    cell, point = _some_cell_centre(rt)
    x, y = from_cgcs2000(point.x, point.y, parse_crs("gcj02"))
    bbox = f"{x - 1e-5},{y - 1e-5},{x + 1e-5},{y + 1e-5}"
    codes = [f["properties"]["code"] for f in client.get(f"/api/v1/grids?bbox={bbox}&crs=gcj02").get_json()["features"]]
    assert cell.code in codes


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "5,5,1,1", "1,2,3,inf"])
def test_bad_bbox_is_422(client, bbox):
    response = client.get(f"/api/v1/grids?bbox={bbox}")
    assert response.status_code == 422
    assert "bbox" in response.get_json()["error"]["fields"]


def test_single_grid_and_versions(client, rt):
    cell, _ = _some_cell_centre(rt)
    feature = client.get(f"/api/v1/grids/{cell.code}").get_json()
    assert feature["type"] == "Feature" and feature["properties"]["code"] == cell.code
    assert feature["properties"]["version"] == 1 and feature["properties"]["valid_to"] is None
    versions = client.get(f"/api/v1/grids/{cell.code}/versions").get_json()["versions"]
    assert [v["version"] for v in versions] == [1]
    past = client.get(f"/api/v1/grids/{cell.code}?at=2001-01-01T00:00:00%2B08:00")
    assert past.status_code == 404 and past.get_json()["error"]["code"] == "grid_not_found"


def test_unknown_grid_and_bad_date(client):
    assert client.get("/api/v1/grids/999999999999999").status_code == 404
    assert client.get("/api/v1/grids/999999999999999/versions").status_code == 404
    response = client.get("/api/v1/grids/220112100201001?at=yesterday")
    assert response.status_code == 422 and "at" in response.get_json()["error"]["fields"]


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_health(client, rt):
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok" and body["grid_cells"] == len(rt.index.get())


@pytest.mark.parametrize("path,status", [
    ("/api/v1/grids/220112100201003?at=0001-01-01T00:00:00%2B08:00", 422),
    ("/api/v1/grids/220112100201003?at=9999-12-31T23:59:59-08:00", 422),
    ("/api/v1/grids/%00", 404),
    ("/api/v1/grids/abc%00/versions", 404),
    ("/api/v1/grids?bbox=-1e30,-1e30,1e30,1e30%26crs=EPSG:4551", 422),
    ("/api/v1/grids?bbox=-1e30,-1e30,1e30,1e30&crs=EPSG:4551", 422),
])
def test_odd_inputs_are_4xx_never_500(client, path, status):
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)
    assert "error" in response.get_json()


def test_at_without_offset_means_utc_and_plain_dates_work(client, rt):
    cell, _ = _some_cell_centre(rt)
    assert client.get(f"/api/v1/grids/{cell.code}?at=2001-01-01").status_code == 404
    assert client.get(f"/api/v1/grids/{cell.code}?at=2099-01-01T00:00:00").status_code == 200


def test_grids_out_crs_gcj02_shifts_every_vertex(client, rt):
    from shapely.geometry import shape

    cell, _ = _some_cell_centre(rt)
    plain = client.get("/api/v1/grids").get_json()
    shifted = client.get("/api/v1/grids?out_crs=gcj02").get_json()
    assert shifted["crs"] == "gcj02" and plain["crs"] == "EPSG:4490"
    a = next(shape(f["geometry"]) for f in plain["features"] if f["id"] == cell.code)
    b = next(shape(f["geometry"]) for f in shifted["features"] if f["id"] == cell.code)
    expected = geometry_from_cgcs2000(a, parse_crs("gcj02"))
    assert b.equals_exact(expected, 1e-9) and not b.equals_exact(a, 1e-4)


def test_unmigrated_database_is_503_not_500(tmp_path):
    from gridsvc.app import create_app
    from gridsvc.kernel.config import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    response = app.test_client().get("/api/v1/grids/220112100201003")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"


# -- the error contract (issue 14): `fields` is flat, JSON numbers are numbers ------------------------------


class _Point(Schema):
    lon = JsonFloat(required=True)
    lat = JsonFloat(required=True)


class _Nested(Schema):
    location = fields.Nested(_Point, required=True)
    points = fields.List(fields.Nested(_Point))
    attachments = fields.List(JsonInteger())


def test_nested_errors_are_named_by_their_path_each_with_a_list_of_reasons():
    with pytest.raises(ValidationError) as caught:
        _Nested().load({"location": {"lon": "125.5", "lat": 43.5}, "attachments": [1, "2"],
                        "points": [{"lon": 1, "lat": 2}, "x", {"lat": 2}, {"lon": 1, "lat": None}]})
    assert flat_fields(caught.value.messages) == {
        "location.lon": ["须为数字 / Not a valid number."],
        "points[1]": ["类型无效 / Invalid input type."],
        "points[2].lon": ["必填 / Missing data for required field."],
        "points[3].lat": ["不能为空 / Field may not be null."],
        "attachments[1]": ["须为整数 / Not a valid integer."],
    }
    with pytest.raises(ValidationError) as caught:
        _Nested().load([])
    assert flat_fields(caught.value.messages) == {"_schema": ["类型无效 / Invalid input type."]}


def test_a_list_items_error_in_a_body_is_a_flat_field(client):
    response = client.post("/api/v1/cases/20260101-AAAAAAAA/steps/file", json={"attachments": ["x", 7, 1.5]})
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "invalid_parameters", "message": INVALID_PARAMETERS, "fields": {
        "attachments[0]": ["须为整数 / Not a valid integer."], "attachments[2]": ["须为整数 / Not a valid integer."]}}


def test_a_report_body_takes_json_numbers_and_booleans_only(client):
    """Checked before the sign-in: the valid body gets as far as the missing token (401)."""
    body = {"client_uuid": "0b8f3a52-3c1e-4f5e-9a57-2d6f1c0e7b41", "category": "02004", "description": "x",
            "lon": 125, "lat": 43.5, "crs": "wgs84", "accuracy": 5, "urgent": False}
    assert client.post("/api/v1/reports", json=body).status_code == 401
    for change, reason in JSON_TYPE_ERRORS:
        refused = client.post("/api/v1/reports", json={**body, **change})
        assert refused.status_code == 422, change
        assert refused.get_json()["error"]["fields"] == {name: [reason] for name in change}
    # The same numbers in a query string are text by nature, and read as numbers.
    assert client.get("/api/v1/locate", query_string={"lon": "125.56", "lat": "43.5", "crs": "wgs84"}).status_code \
        == 200
