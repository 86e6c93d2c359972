"""The published API document and Swagger UI, served by the service itself.

    GET /api/openapi.json            the OpenAPI 3 document (gridsvc.web.openapi)
    GET /api/docs                    Swagger UI, reading /api/openapi.json
    GET /api/docs/static/<file>      Swagger UI's files, from the swagger-ui-bundle package

The phones' document and its page (/mobile/v1/openapi.json, /mobile/docs) are mobile_api.docs's,
with this module's page and files: the web adapter does not import the phones' adapter above it.

Township intranets often have no internet access, so nothing is loaded from a
CDN: the page's scripts and stylesheet come from the installed package, and
Swagger UI's online validator (which would send the document out) is off.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template_string, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

from gridsvc.web.openapi import spec_for

docs_api = Blueprint("docs_api", __name__)
ASSET_MAX_AGE_S = 24 * 3600  # the files change only with the package's version

PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>{{ title }} 接口文档</title>
  <link rel="stylesheet" href="{{ url_for('docs_api.asset', filename='swagger-ui.css') }}">
  <link rel="icon" type="image/png" href="{{ url_for('docs_api.asset', filename='favicon-32x32.png') }}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{{ url_for('docs_api.asset', filename='swagger-ui-bundle.js') }}"></script>
  <script>
    window.onload = function () {
      window.ui = SwaggerUIBundle({
        url: {{ document_url|tojson }},
        dom_id: "#swagger-ui",
        deepLinking: true,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout"
      });
    };
  </script>
</body>
</html>
"""


@docs_api.get("/api/openapi.json")
def openapi_document():
    return jsonify(spec_for(current_app))


@docs_api.get("/api/docs")
def swagger_ui():
    return render_template_string(PAGE, title="gridsvc API", document_url=url_for(".openapi_document"))


@docs_api.get("/api/docs/static/<path:filename>")
def asset(filename: str):
    # send_from_directory joins safely: `..`, absolute paths and folders answer 404.
    return send_from_directory(swagger_ui_path, filename, max_age=ASSET_MAX_AGE_S)
