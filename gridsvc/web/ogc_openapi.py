"""The OpenAPI 3.0 definition of /ogc: OGC API – Features Part 1 (`oas30`) and Part 2's parameters.

Served at /ogc/api (`application/vnd.oai.openapi+json;version=3.0`), linked from the landing page
as `service-desc`; Swagger UI reads it at /ogc/docs (`service-doc`). Written by hand, not with the
apispec machinery of gridsvc.web.openapi: the OGC API answers its own exception shape and media types,
and its parameters are the standard's, which GDAL and QGIS read by name (`#/components/parameters/
limit`: GDAL's OAPIF driver takes its page size from that parameter's `default` and `maximum`).

One path per collection (`/collections/grids/items`, …), as OGC API Features recommends, so each
collection states what `datetime` selects on and what its features hold. The parameters and the
statuses are the ones gridsvc.web.ogc_api answers; tests/standards/test_ogc_api.py validates the document with
openapi-spec-validator and real answers against its schemas.
"""

from __future__ import annotations

from importlib import metadata

from gridsvc.standards.ogc_features import (
    COLLECTIONS, CONFORMANCE, CRS84, DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, SCHEMA_MAX_LIMIT, STORAGE_CRS, SUPPORTED_CRS,
    Collection,
)

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
JSON, GEOJSON = "application/json", "application/geo+json"


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> dict:
    return _ref("schemas", name)


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


STRING, INTEGER, NUMBER = {"type": "string"}, {"type": "integer"}, {"type": "number"}
MOMENT = {"type": "string", "format": "date-time"}
CRS_URIS = list(SUPPORTED_CRS)

PARAMETERS = {
    "f-json": {
        "name": "f", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "编码 / the encoding: JSON is the only one served",
        "schema": {"type": "string", "enum": ["json"]},
    },
    "f-geojson": {
        "name": "f", "in": "query", "required": False, "style": "form", "explode": False,
        "description": "编码 / the encoding: GeoJSON (`json` or `geojson`) is the only one served",
        "schema": {"type": "string", "enum": ["json", "geojson"]},
    },
    "limit": {
        "name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
        "description": (f"每页要素数 / the number of features on a page: 1–{SCHEMA_MAX_LIMIT}, default {DEFAULT_LIMIT}; "
                        f"more than {MAX_LIMIT} is served as {MAX_LIMIT} (the standard lets a server return fewer)"),
        "schema": {"type": "integer", "minimum": 1, "maximum": SCHEMA_MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    "offset": {
        "name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
        "description": ("跳过的要素数 / how many matching features to skip, in the order of their ids (follow the "
                        "`next` links rather than computing it)"),
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    },
    "bbox": {
        "name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
        "description": ("与此范围相交的要素 / only features whose geometry intersects the box: lower corner, upper "
                        "corner, in the axis order of `bbox-crs` (CRS84 by default: minlon,minlat,maxlon,maxlat; six "
                        "numbers with heights are accepted in CRS84, heights ignored). In a geographic CRS a lower "
                        "longitude east of the upper one crosses the antimeridian."),
        "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
    },
    "bbox-crs": {
        "name": "bbox-crs", "in": "query", "required": False, "style": "form", "explode": False,
        "description": ("`bbox` 的坐标参照系 / the CRS of `bbox` (Part 2): one of the collection's `crs`. EPSG:4490 "
                        "and 4326 are latitude first (minlat,minlon,maxlat,maxlon); the Gauss–Krüger zones northing "
                        "first (minN,minE,maxN,maxE, metres)."),
        "schema": {"type": "string", "format": "uri", "enum": CRS_URIS, "default": CRS84},
    },
    "datetime": {
        "name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
        "description": ("时刻或时段 / an RFC 3339 date-time with its offset (`2024-05-01T00:00:00Z`) or an interval "
                        "`start/end`, whose open end is `..` (or empty): `2024-01-01T00:00:00Z/..`, "
                        "`../2024-06-30T16:00:00Z`. Only features whose time meets it are selected (see each "
                        "collection for what its time is)."),
        "schema": {"type": "string"},
    },
    "crs": {
        "name": "crs", "in": "query", "required": False, "style": "form", "explode": False,
        "description": ("输出坐标参照系 / the CRS of the geometries returned (Part 2), one of the collection's "
                        "`crs`; the answer names it in `Content-Crs`. Coordinates come in that CRS's axis order: "
                        "EPSG:4490 (CGCS2000, the storage CRS) and EPSG:4326 latitude first, the Gauss–Krüger zones "
                        "northing first, CRS84 (the default) longitude first. CRS84, EPSG:4326 and EPSG:4490 carry "
                        "the same stored CGCS2000 numbers, untransformed (the datums differ far less than a grid "
                        "boundary's accuracy)."),
        "schema": {"type": "string", "format": "uri", "enum": CRS_URIS, "default": CRS84},
    },
    "featureId": {
        "name": "featureId", "in": "path", "required": True, "description": "要素标识 / the feature's id",
        "schema": {"type": "string"},
    },
}

LINK = {
    "type": "object", "required": ["href", "rel"],
    "properties": {"href": STRING, "rel": STRING, "type": STRING, "hreflang": STRING, "title": STRING,
                   "length": INTEGER},
}
GEOMETRY = _nullable({
    "type": "object", "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                            "MultiPolygon", "GeometryCollection"]},
        "coordinates": {"type": "array", "items": {}},
        "geometries": {"type": "array", "items": {}},
    },
})
EXTENT = {
    "type": "object",
    "properties": {
        "spatial": {"type": "object", "properties": {
            "bbox": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 4, "maxItems": 6, "items": NUMBER}},
            "crs": {"type": "string", "enum": [CRS84], "default": CRS84},
        }},
        "temporal": {"type": "object", "properties": {
            "interval": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 2, "maxItems": 2, "items": _nullable(MOMENT)}},
            "trs": {"type": "string"},
        }},
    },
}
COLLECTION = {
    "type": "object", "required": ["id", "links"],
    "properties": {
        "id": STRING, "title": STRING, "description": STRING, "itemType": STRING,
        "links": {"type": "array", "items": _schema("link")},
        "extent": _schema("extent"),
        "crs": {"type": "array", "items": STRING},
        "storageCrs": STRING,
    },
}
EXCEPTION = {
    "type": "object", "required": ["code", "description"],
    "properties": {"code": STRING, "description": STRING},
}

PROPERTIES = {
    "grids": {
        "code": STRING, "name": STRING, "kind": {"type": "string", "enum": ["base", "special"]},
        "special_type": _nullable(STRING), "village_code": STRING, "village_name": _nullable(STRING),
        "township_code": _nullable(STRING), "domains": _nullable({"type": "array", "items": STRING}),
        "households": _nullable(INTEGER), "population": _nullable(INTEGER), "version": _nullable(INTEGER),
        "valid_from": _nullable(MOMENT), "valid_to": _nullable(MOMENT),
    },
    "villages": {"code": STRING, "name": STRING, "level": STRING, "parent_code": _nullable(STRING),
                 "parent_name": _nullable(STRING)},
    "cases": {"tracking_no": STRING, "status": STRING, "category": STRING, "received_at": MOMENT,
              "grid": _nullable(STRING), "township_code": _nullable(STRING)},
}
PROPERTIES["townships"] = PROPERTIES["villages"]

DATETIME_MEANING = {
    "grids": ("Without `datetime`: the current network, one feature per grid code (the id is the code). With it: "
              "every grid version whose validity [valid_from, valid_to) meets the instant or the interval; a retired "
              "version's id is `<code>-v<version>`."),
    "villages": "Villages carry no time (their boundaries are not versioned): `datetime` is checked, then selects all "
                "(a choice: strictly, none would meet it).",
    "townships": "Townships carry no time (their boundaries are not versioned): `datetime` is checked, then selects "
                 "all (a choice: strictly, none would meet it).",
    "cases": "`datetime` selects on `received_at` (an instant: exactly that moment; an interval: within it, ends "
             "included).",
}


def _feature_schema(collection_id: str) -> dict:
    return {
        "type": "object", "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": STRING,
            "geometry": _schema("geometryGeoJSON"),
            "properties": {"type": "object", "properties": PROPERTIES[collection_id]},
            "links": {"type": "array", "items": _schema("link")},
        },
    }


def _collection_schema(collection_id: str) -> dict:
    return {
        "type": "object", "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": _schema(f"{collection_id}Feature")},
            "links": {"type": "array", "items": _schema("link")},
            "timeStamp": MOMENT,
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
        },
    }


def _json(description: str, schema: dict, media_type: str = JSON, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {media_type: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


RESPONSES = {
    "InvalidParameter": _json("参数无效 / a query parameter is invalid or unknown (OGC exception "
                              "`InvalidParameterValue`)", _schema("exception")),
    "NotFound": _json("不存在 / no such collection or feature (OGC exception `NotFound`)", _schema("exception")),
    "Unauthorized": _json("需要登录 / a valid `Authorization: Bearer <access token>` is needed (OGC exception "
                          "`Unauthorized`)", _schema("exception")),
    "ServiceUnavailable": _json("数据库不可用 / the database is unavailable", _schema("exception")),
    "ServerError": _json("服务器错误 / a server error", _schema("exception")),
}
CONTENT_CRS = {"Content-Crs": {"description": "返回坐标的坐标参照系 / the CRS of the coordinates, `<uri>`",
                               "schema": {"type": "string"}}}


def _errors(*extra: str) -> dict:
    codes = {"400": "InvalidParameter", "404": "NotFound", "401": "Unauthorized"}
    answers = {status: _ref("responses", codes[status]) for status in ("400", *extra)}
    answers["500"] = _ref("responses", "ServerError")
    answers["503"] = _ref("responses", "ServiceUnavailable")
    return answers


def _collection_paths(collection: Collection) -> dict:
    cid = collection.id
    secured = {"security": [{"bearerAuth": []}]} if collection.signed_in_only else {}
    auth = ("401",) if collection.signed_in_only else ()
    tag = {"tags": ["数据 / Data"]}
    names = ("limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "f-geojson")
    parameters = [_ref("parameters", n) for n in names]
    return {
        f"/collections/{cid}": {"get": {
            **tag, "operationId": f"describe_{cid}_collection", "summary": collection.title,
            "description": collection.description,
            "parameters": [_ref("parameters", "f-json")], **secured,
            "responses": {"200": _json("集合 / the collection", _schema("collection")), **_errors("404", *auth)},
        }},
        f"/collections/{cid}/items": {"get": {
            **tag, "operationId": f"get_{cid}_features", "summary": f"{collection.title}: features",
            "description": f"{collection.description}. {DATETIME_MEANING[cid]}",
            "parameters": parameters, **secured,
            "responses": {
                "200": _json("一页要素 / a page of features; follow `next` for the rest",
                             _schema(f"{cid}FeatureCollection"), GEOJSON, CONTENT_CRS),
                **_errors(*auth)},
        }},
        f"/collections/{cid}/items/{{featureId}}": {"get": {
            **tag, "operationId": f"get_{cid}_feature", "summary": f"{collection.title}: one feature",
            "parameters": [_ref("parameters", n) for n in ("featureId", "crs", "f-geojson")], **secured,
            "responses": {"200": _json("一个要素 / one feature", _schema(f"{cid}Feature"), GEOJSON, CONTENT_CRS),
                          **_errors("404", *auth)},
        }},
    }


def ogc_openapi(server_url: str) -> dict:
    """The definition, with `server_url` (the absolute URL of /ogc) as its one server."""
    meta = {"tags": ["能力 / Capabilities"]}
    paths = {
        "/": {"get": {**meta, "operationId": "getLandingPage", "summary": "landing page",
                      "parameters": [_ref("parameters", "f-json")],
                      "responses": {"200": _json("入口 / links to the API definition, the conformance "
                                                 "declaration and the collections", _schema("landingPage")),
                                    **_errors()}}},
        "/conformance": {"get": {**meta, "operationId": "getConformanceDeclaration", "summary": "conformance classes",
                                 "parameters": [_ref("parameters", "f-json")],
                                 "responses": {"200": _json("符合的标准类 / the conformance classes implemented",
                                                            _schema("confClasses")), **_errors()}}},
        "/api": {"get": {**meta, "operationId": "getAPIDefinition", "summary": "this API definition",
                         "parameters": [_ref("parameters", "f-json")],
                         "responses": {"200": _json("本文档 / this document", {"type": "object"},
                                                    OPENAPI_MEDIA_TYPE), **_errors()}}},
        "/docs": {"get": {**meta, "operationId": "getAPIDocumentation", "summary": "this API definition in Swagger UI",
                          "responses": {"200": _json("Swagger UI 页面 / the Swagger UI page", STRING, "text/html")}}},
        "/collections": {"get": {**{"tags": ["数据 / Data"]}, "operationId": "getCollections",
                                 "summary": "the collections (cases only with a valid bearer token)",
                                 "parameters": [_ref("parameters", "f-json")],
                                 "responses": {"200": _json("集合列表 / the collections", _schema("collections")),
                                               **_errors()}}},
    }
    schemas = {
        "link": LINK,
        "landingPage": {"type": "object", "required": ["links"], "properties": {
            "title": STRING, "description": STRING, "links": {"type": "array", "items": _schema("link")}}},
        "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": STRING}}},
        "collections": {"type": "object", "required": ["links", "collections"], "properties": {
            "links": {"type": "array", "items": _schema("link")},
            "collections": {"type": "array", "items": _schema("collection")}}},
        "collection": COLLECTION,
        "extent": EXTENT,
        "exception": EXCEPTION,
        "geometryGeoJSON": GEOMETRY,
    }
    for collection in COLLECTIONS.values():
        paths.update(_collection_paths(collection))
        schemas[f"{collection.id}Feature"] = _feature_schema(collection.id)
        schemas[f"{collection.id}FeatureCollection"] = _collection_schema(collection.id)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "镇村一张网 OGC API – Features",
            "version": metadata.version("gridsvc"),
            "description": (
                "网格、村、乡镇边界（及登录用户可见的案件）的 OGC API – Features 服务。错误为 OGC 异常 "
                "`{\"code\", \"description\"}`；未知查询参数返回 400。\n\n"
                "The grid network (and, signed in, the cases) as OGC API – Features Part 1 (core, GeoJSON, "
                "OpenAPI 3.0) and Part 2 (CRS by reference). Errors are OGC exceptions `{\"code\", \"description\"}`; "
                "an unknown query parameter on items is a 400. Storage CRS: CGCS2000 (" + STORAGE_CRS + "); default "
                "output CRS84, which carries the stored CGCS2000 numbers, untransformed (the datums differ far less "
                "than a grid boundary's accuracy). "
                "Conformance: " + ", ".join(CONFORMANCE) + "."),
        },
        "servers": [{"url": server_url, "description": "this service"}],
        "tags": [{"name": "能力 / Capabilities", "description": "landing page, conformance, this definition"},
                 {"name": "数据 / Data", "description": "the collections and their features"}],
        "paths": paths,
        "components": {
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "the access token of POST /api/v1/auth/login"}},
        },
    }
