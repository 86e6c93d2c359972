"""The phones' published API document and its Swagger UI page, next to the phones' API itself.

    GET /mobile/v1/openapi.json      the phones' document (mobile_api.openapi)
    GET /mobile/docs                 Swagger UI, reading /mobile/v1/openapi.json

The page and its files are gridsvc.web.docs_api's (served from the installed package, no CDN).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template_string, url_for

from gridsvc.web.docs_api import PAGE
from gridsvc.web.openapi import spec_for
from mobile_api.openapi import MOBILE

mobile_docs = Blueprint("mobile_docs", __name__)


@mobile_docs.get("/mobile/v1/openapi.json")
def mobile_openapi_document():
    return jsonify(spec_for(current_app, MOBILE))


@mobile_docs.get("/mobile/docs")
def mobile_swagger_ui():
    return render_template_string(PAGE, title="gridsvc 移动端 API", document_url=url_for(".mobile_openapi_document"))
