"""OGC API – Features at /ogc: the grid network for QGIS, GDAL/OGR (the OAPIF driver) and other GIS.

    GET /ogc/                                      landing page
    GET /ogc/conformance                           core, oas30, geojson, Part 2 crs
    GET /ogc/api                                   the OpenAPI 3.0 definition (service-desc)
    GET /ogc/docs                                  the definition in Swagger UI (service-doc)
    GET /ogc/collections                           grids, villages, townships (+ cases when signed in)
    GET /ogc/collections/{id}                      one collection
    GET /ogc/collections/{id}/items                GeoJSON pages: bbox, bbox-crs, datetime, crs, limit, offset
    GET /ogc/collections/{id}/items/{featureId}    one feature (crs)

Thin: the rules are in gridsvc.standards.ogc_features, the definition in gridsvc.web.ogc_openapi. Errors are OGC
exceptions, `{"code", "description"}`, not the `{"error": …}` of /api/v1. See docs/ogc-api.md.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template_string, request, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import InternalServerError

from gridsvc.kernel.runtime import runtime
from gridsvc.web.auth_api import signed_in_user
from gridsvc.accounts.users import SignInRefused
from gridsvc.kernel.errors import UNAUTHENTICATED, DomainError
from gridsvc.web.errors import STANDARD_STATUSES, ApiError, status_for
from gridsvc.standards import ogc_features as ogc
from gridsvc.standards.ogc_features import COLLECTIONS, Extent, OgcError
from gridsvc.web.ogc_openapi import OPENAPI_MEDIA_TYPE, ogc_openapi

ogc_api = Blueprint("ogc_api", __name__, url_prefix="/ogc")

JSON, GEOJSON = "application/json", "application/geo+json"
TITLE = "镇村一张网 网格要素服务 / Township grid network: OGC API – Features"
DESCRIPTION = ("网格、村、乡镇边界（及登录用户可见的案件）的 OGC API – Features 服务，可在 QGIS、GDAL 中直接加载 / "
               "grid cells, village and township boundaries (and, signed in, the cases you may see) as OGC API – "
               "Features, for QGIS and GDAL. " + ogc.CRS_NOTE)


def _exception(status: int, code: str, description: str):
    """OGC API's exception shape, `{"code", "description"}`."""
    response = jsonify({"code": code, "description": description})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gridsvc"'
    return response


@ogc_api.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    """Any refusal under /ogc (an OgcError, or one of the rules below it) in OGC's shape, with the
    status of its kind as the standards have it (gridsvc.web.errors.STANDARD_STATUSES)."""
    return _exception(status_for(exc.kind, STANDARD_STATUSES), exc.code, exc.message)


@ogc_api.errorhandler(SQLAlchemyError)
def _database_error(exc: SQLAlchemyError):
    current_app.logger.exception("database error")
    return _exception(503, "ServiceUnavailable", "数据库不可用 / the database is unavailable")


@ogc_api.errorhandler(InternalServerError)
def _server_error(exc: InternalServerError):
    return _exception(500, "ServerError", "服务器错误 / a server error")


def _link(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def _document(body: dict, mimetype: str = JSON, crs: ogc.OutputCrs | None = None):
    response = jsonify(body)
    response.mimetype = mimetype
    if crs is not None:
        response.headers["Content-Crs"] = f"<{crs.uri}>"  # Part 2: the CRS of the coordinates
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
    except (ApiError, SignInRefused) as exc:  # no token, or one that is not valid
        if required:
            raise OgcError(UNAUTHENTICATED, "Unauthorized", exc.message) from None
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
            {"rel": "service-desc", "type": OPENAPI_MEDIA_TYPE, "title": "the API definition (OpenAPI 3.0)",
             "href": _link("ogc_api.api_definition")},
            {"rel": "service-doc", "type": "text/html", "title": "the API documentation (Swagger UI)",
             "href": _link("ogc_api.api_documentation")},
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


@ogc_api.get("/api")
def api_definition():
    _check_format()
    response = jsonify(ogc_openapi(_link("ogc_api.landing").rstrip("/")))
    response.headers["Content-Type"] = OPENAPI_MEDIA_TYPE
    return response


@ogc_api.get("/docs")
def api_documentation():
    from gridsvc.web.docs_api import PAGE  # Swagger UI from the installed package, as for /api/docs
    return render_template_string(PAGE, title="镇村一张网 OGC API – Features",
                                  document_url=url_for("ogc_api.api_definition"))


def _extent(session, collection_id: str, user) -> Extent:
    if collection_id == "grids":
        return Extent(ogc.grid_extent(runtime().index.get()), ogc.grid_interval(session))
    if collection_id == "cases":
        return ogc.case_extent(session, user)
    return Extent(ogc.admin_extent(session, collection_id.rstrip("s")))


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
    return _document(ogc.feature_collection(page, links), GEOJSON, query.crs)


@ogc_api.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    found = _collection(collection_id)
    _check_format(("json", "geojson"))
    with runtime().sessions() as session:
        user = _caller(session, required=True) if found.signed_in_only else None
        ogc.check_known(request.args, ogc.ITEM_PARAMETERS)
        crs = ogc.parse_output_crs(request.args)
        if found.id == "grids":
            body = ogc.grid_item(session, runtime().index.get(), feature_id, crs)
        elif found.id == "cases":
            body = ogc.case_item(session, user, feature_id, crs)
        else:
            body = ogc.admin_item(session, found.id.rstrip("s"), feature_id, crs)
    values = {"crs": request.args["crs"]} if "crs" in request.args else {}
    body["links"] = [
        {"rel": "self", "type": GEOJSON, "title": "this feature",
         "href": _link("ogc_api.item", collection_id=found.id, feature_id=feature_id, **values)},
        {"rel": "collection", "type": JSON, "title": "the collection",
         "href": _link("ogc_api.collection", collection_id=found.id)},
    ]
    return _document(body, GEOJSON, crs)


@ogc_api.get("/<path:anything>")
def unknown(anything: str):
    """Any other path under /ogc: an OGC 404, not an HTML page."""
    raise ogc.not_found(f"没有此资源 / nothing at /ogc/{anything[:80]}")
