"""OGC API – Features at /ogc: the grid network for QGIS, GDAL/OGR (the OAPIF driver) and other GIS.

    GET /ogc/                                      landing page
    GET /ogc/conformance                           core, geojson
    GET /ogc/collections                           grids, villages, townships (+ cases when signed in)
    GET /ogc/collections/{id}                      one collection
    GET /ogc/collections/{id}/items                GeoJSON pages: bbox (CRS84), limit, offset
    GET /ogc/collections/{id}/items/{featureId}    one feature

Thin: the rules are in gridsvc.ogc_features. Errors are OGC exceptions, `{"code", "description"}`,
not the `{"error": …}` of /api/v1. See docs/ogc-api.md.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from gridsvc import runtime
from gridsvc.auth_api import signed_in_user
from gridsvc.errors import ApiError
from gridsvc import ogc_features as ogc
from gridsvc.ogc_features import COLLECTIONS, OgcError

ogc_api = Blueprint("ogc_api", __name__, url_prefix="/ogc")

JSON, GEOJSON = "application/json", "application/geo+json"
TITLE = "镇村一张网 网格要素服务 / Township grid network: OGC API – Features"
DESCRIPTION = ("网格、村、乡镇边界（及登录用户可见的案件）的 OGC API – Features 服务，可在 QGIS、GDAL 中直接加载 / "
               "grid cells, village and township boundaries (and, signed in, the cases you may see) as OGC API – "
               "Features, for QGIS and GDAL. " + ogc.CRS_NOTE)


@ogc_api.errorhandler(OgcError)
def _ogc_error(exc: OgcError):
    response = jsonify({"code": exc.code, "description": exc.description})
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gridsvc"'
    return response


def _link(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def _document(body: dict, mimetype: str = JSON):
    response = jsonify(body)
    response.mimetype = mimetype
    return response


def _check_format(allowed: tuple[str, ...] = ("json",)) -> None:
    """`f` picks the encoding; JSON (GeoJSON for features) is the only one served."""
    wanted = request.args.get("f")
    if wanted is not None and wanted.lower() not in allowed:
        raise ogc.bad_parameter("f", f"只提供 / only {', '.join(allowed)} is served")


def _caller(session, required: bool):
    """The signed-in user of the bearer token; None without one (unless `required`: then a 401)."""
    if not required and not request.headers.get("Authorization"):
        return None
    try:
        return signed_in_user(session)
    except ApiError as exc:
        if required:
            raise OgcError(401, "Unauthorized", exc.message) from None
        return None


def _collection(collection_id: str):
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise ogc.not_found(f"没有集合 / no collection {collection_id[:40]!r}; "
                            f"there are {', '.join(COLLECTIONS)}")
    return collection


@ogc_api.get("")
@ogc_api.get("/")
def landing():
    _check_format()
    return _document({
        "title": TITLE,
        "description": DESCRIPTION,
        "links": [
            {"rel": "self", "type": JSON, "title": "this document", "href": _link("ogc_api.landing")},
            {"rel": "conformance", "type": JSON, "title": "conformance classes",
             "href": _link("ogc_api.conformance")},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/conformance", "type": JSON,
             "title": "conformance classes", "href": _link("ogc_api.conformance")},
            {"rel": "data", "type": JSON, "title": "collections", "href": _link("ogc_api.collections")},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/data", "type": JSON, "title": "collections",
             "href": _link("ogc_api.collections")},
        ],
    })


@ogc_api.get("/conformance")
def conformance():
    _check_format()
    return _document({"conformsTo": ogc.CONFORMANCE})


def _extent(session, collection_id: str, user):
    if collection_id == "grids":
        return ogc.grid_extent(runtime().index.get())
    if collection_id == "cases":
        return ogc.case_extent(session, user)
    return ogc.admin_extent(session, collection_id.rstrip("s"))


@ogc_api.get("/collections")
def collections():
    _check_format()
    with runtime().sessions() as session:
        user = _caller(session, required=False)
        documents = [ogc.collection_document(c, _extent(session, c.id, user), _link)
                     for c in COLLECTIONS.values() if not c.signed_in_only or user is not None]
    return _document({
        "links": [{"rel": "self", "type": JSON, "title": "this document", "href": _link("ogc_api.collections")}],
        "collections": documents,
    })


@ogc_api.get("/collections/<collection_id>")
def collection(collection_id: str):
    _check_format()
    found = _collection(collection_id)
    with runtime().sessions() as session:
        user = _caller(session, required=found.signed_in_only)
        return _document(ogc.collection_document(found, _extent(session, found.id, user), _link))


@ogc_api.get("/collections/<collection_id>/items")
def items(collection_id: str):
    found = _collection(collection_id)
    _check_format(("json", "geojson"))
    with runtime().sessions() as session:
        user = _caller(session, required=True) if found.signed_in_only else None  # a 401 before any 400
        query = ogc.parse_items_query(request.args)
        if found.id == "grids":
            page = ogc.grid_page(session, runtime().index.get(), query)
        elif found.id == "cases":
            page = ogc.case_page(session, user, query)
        else:
            page = ogc.admin_page(session, found.id.rstrip("s"), query)
    links = ogc.paging_links(page, query, _link, found.id)
    return _document(ogc.feature_collection(page, links), GEOJSON)


@ogc_api.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    found = _collection(collection_id)
    _check_format(("json", "geojson"))
    with runtime().sessions() as session:
        if found.id == "grids":
            body = ogc.grid_item(session, runtime().index.get(), feature_id)
        elif found.id == "cases":
            body = ogc.case_item(session, _caller(session, required=True), feature_id)
        else:
            body = ogc.admin_item(session, found.id.rstrip("s"), feature_id)
    body["links"] = [
        {"rel": "self", "type": GEOJSON, "title": "this feature",
         "href": _link("ogc_api.item", collection_id=found.id, feature_id=feature_id)},
        {"rel": "collection", "type": JSON, "title": "the collection",
         "href": _link("ogc_api.collection", collection_id=found.id)},
    ]
    return _document(body, GEOJSON)


@ogc_api.get("/<path:anything>")
def unknown(anything: str):
    """Any other path under /ogc: an OGC 404, not an HTML page."""
    raise ogc.not_found(f"没有此资源 / nothing at /ogc/{anything[:80]}")
