"""The Flask application factory: settings, pools and caches in a `Runtime`, every blueprint, the live channel.

Everything the web layer and the CLI need (engine, sessions, settings, the locate index, the work
calendar, the responsibility list) hangs off `app.extensions["gridsvc"]` as a
`gridsvc.kernel.runtime.Runtime`. This module is the top of the dependency rule
(docs/architecture.md): it may import every package, and none imports it except the CLI and
`gridsvc.wsgi`.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gridsvc.accounts.users import prepare_sign_in
from gridsvc.catalogue.store import responsibility_cache
from gridsvc.kernel.config import Settings, default_database_url
from gridsvc.kernel.db import make_cache_engine, make_engine, make_session_factory
from gridsvc.kernel.runtime import Runtime
from gridsvc.network.index import index_cache
from gridsvc.web.basemap import basemap_of
from gridsvc.worktime.calendar import OfficeHours
from gridsvc.worktime.declared_days import calendar_cache


def create_app(settings: Settings | None = None) -> Flask:
    app = Flask("gridsvc", instance_relative_config=True)
    app.json.ensure_ascii = False  # zh-CN names stay readable in responses
    settings = settings or Settings.from_env()
    basemap_of(settings)  # a wrong base-map setting stops the start, not the first screen
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url or default_database_url(app.instance_path))
    sessions = make_session_factory(engine)
    cache_engine = make_cache_engine(engine)
    cache_sessions = make_session_factory(cache_engine)
    index = index_cache(cache_sessions, settings)
    calendar = calendar_cache(cache_sessions, OfficeHours.parse(settings.office_hours), settings.index_refresh_seconds)
    rules = responsibility_cache(cache_sessions, settings.index_refresh_seconds)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(settings.trusted_proxies))
    app.extensions["gridsvc"] = Runtime(settings, engine, sessions, index, calendar, rules, cache_engine)

    from gridsvc.web.grids_api import api
    from gridsvc.web.attachments_api import attachments_api, max_request_bytes
    from gridsvc.web.auth_api import auth_api
    from gridsvc.web.cases_api import cases_api
    from gridsvc.web.case_file_api import case_file_api
    from gridsvc.web.numbers_api import numbers_api
    from gridsvc.web.indicators_api import indicators_api
    from gridsvc.web.public_api import public_api
    from gridsvc.web.public_web import public_web
    from gridsvc.web.hotspots_api import hotspots_api
    from gridsvc.web.open311_api import open311_api
    from gridsvc.web.ogc_api import ogc_api
    from gridsvc.web.catalogue_api import catalogue_api
    from gridsvc.web.docs_api import docs_api
    from gridsvc.web.errors import register_error_handlers
    from gridsvc.web.events_api import events_api
    from gridsvc.web.live import LiveChannel
    from gridsvc.web.rate_limits import limit_blueprints
    from gridsvc.web.request_guard import guard_requests
    from gridsvc.web.screen_api import screen_api
    from gridsvc.web.screen_web import screen_web
    from gridsvc.web.field_web import field_web
    from mobile_api.api import mobile_api
    from mobile_api.docs import mobile_docs
    from mobile_api.patrols import patrols_api

    app.register_blueprint(api)
    app.register_blueprint(catalogue_api)
    app.register_blueprint(auth_api)
    app.register_blueprint(cases_api)
    app.register_blueprint(case_file_api)  # /api/v1/cases/<no>/file(.pdf): the 案卷 to print and to keep
    app.register_blueprint(numbers_api)  # /api/v1/numbers: the command screen's figures
    app.register_blueprint(indicators_api)  # /api/v1/indicators: assessment figures per unit, CSV and Excel
    app.register_blueprint(hotspots_api)  # /api/v1/hotspots: cases per grid and hexagon, rising grids
    app.register_blueprint(attachments_api)
    app.register_blueprint(public_api)  # /api/v1/public: 政务公开, no sign-in
    app.register_blueprint(public_web)  # /public/: the 政务公开 page for citizens' phones, no sign-in
    app.register_blueprint(events_api)  # /api/v1/events: catch-up for clients that poll, acknowledgements
    app.register_blueprint(screen_api)  # /api/v1/screen: the command screen's layers and cards
    app.register_blueprint(screen_web)  # /screen/: the command screen itself, and its npm libraries
    app.register_blueprint(field_web)  # /m/: the field app for grid workers' and officers' phones
    app.register_blueprint(ogc_api)  # /ogc: OGC API – Features for QGIS and GDAL
    app.register_blueprint(open311_api)  # /open311/v2: the citizen channel (Open311 GeoReport v2)
    app.register_blueprint(docs_api)  # /api/openapi.json and its Swagger UI page
    app.register_blueprint(mobile_docs)  # /mobile/v1/openapi.json and its Swagger UI page
    limit_blueprints(app, settings, mobile_api, patrols_api)
    app.register_blueprint(mobile_api)  # /mobile/v1: the phones
    app.register_blueprint(patrols_api)  # /mobile/v1/patrols: 巡查 tracks and coverage
    app.config["MAX_CONTENT_LENGTH"] = max_request_bytes(settings)  # refuse oversized bodies early
    guard_requests(app)  # control characters, bad UTF-8, deep JSON, long addresses: refused first
    register_error_handlers(app)
    prepare_sign_in()
    app.extensions["gridsvc"].live = LiveChannel(app, app.extensions["gridsvc"])  # Socket.IO at /socket.io
    return app
