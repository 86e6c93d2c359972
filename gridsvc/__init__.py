"""gridsvc: the township grid-management service (镇村一张网).

`create_app` is the Flask application factory; everything the web layer and
the CLI need (engine, sessions, settings, the locate index, the work calendar,
the responsibility list) hangs off
`app.extensions["gridsvc"]` as a `Runtime`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app
from werkzeug.middleware.proxy_fix import ProxyFix
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.accounts import prepare_sign_in
from gridsvc.basemap import basemap_of
from gridsvc.calendar_days import calendar_cache
from gridsvc.catalogue import responsibility_cache
from gridsvc.config import Settings, default_database_url
from gridsvc.db import make_cache_engine, make_engine, make_session_factory
from gridsvc.locating import index_cache
from gridsvc.reloading import Reloading
from gridsvc.geo.locate import GridIndex
from gridsvc.responsibility import ResponsibilityList
from gridsvc.worktime import OfficeHours, WorkCalendar

if TYPE_CHECKING:
    from gridsvc.events.live import LiveChannel


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    index: Reloading[GridIndex]
    calendar: Reloading[WorkCalendar]
    rules: Reloading[ResponsibilityList]
    cache_engine: Engine  # the caches' own small pool (gridsvc.reloading says why)
    live: "LiveChannel | None" = None  # the Socket.IO server and this process's relay (gridsvc.events.live)

    def dispose(self) -> None:
        """Close both pools' connections (tests and benchmarks that make many apps)."""
        self.engine.dispose()
        self.cache_engine.dispose()


def create_app(settings: Settings | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
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

    from gridsvc.api import api
    from gridsvc.attachments_api import attachments_api, max_request_bytes
    from gridsvc.auth_api import auth_api
    from gridsvc.cases_api import cases_api
    from gridsvc.numbers_api import numbers_api
    from gridsvc.indicators_api import indicators_api
    from gridsvc.public_api import public_api
    from gridsvc.public_web import public_web
    from gridsvc.hotspots_api import hotspots_api
    from gridsvc.open311_api import open311_api
    from gridsvc.ogc_api import ogc_api
    from gridsvc.catalogue_api import catalogue_api
    from gridsvc.docs_api import docs_api
    from gridsvc.cli import register_commands
    from gridsvc.errors import register_error_handlers
    from gridsvc.events.events_api import events_api
    from gridsvc.events.live import LiveChannel
    from gridsvc.rate_limits import limit_blueprints
    from gridsvc.request_guard import guard_requests
    from gridsvc.screen_api import screen_api
    from gridsvc.screen_web import screen_web
    from mobile_api.api import mobile_api
    from mobile_api.patrols import patrols_api

    app.register_blueprint(api)
    app.register_blueprint(catalogue_api)
    app.register_blueprint(auth_api)
    app.register_blueprint(cases_api)
    app.register_blueprint(numbers_api)  # /api/v1/numbers: the command screen's figures
    app.register_blueprint(indicators_api)  # /api/v1/indicators: assessment figures per unit, CSV and Excel
    app.register_blueprint(hotspots_api)  # /api/v1/hotspots: cases per grid and hexagon, rising grids
    app.register_blueprint(attachments_api)
    app.register_blueprint(public_api)  # /api/v1/public: 政务公开, no sign-in
    app.register_blueprint(public_web)  # /public/: the 政务公开 page for citizens' phones, no sign-in
    app.register_blueprint(events_api)  # /api/v1/events: catch-up for clients that poll, acknowledgements
    app.register_blueprint(screen_api)  # /api/v1/screen: the command screen's layers and cards
    app.register_blueprint(screen_web)  # /screen/: the command screen itself, and its npm libraries
    app.register_blueprint(ogc_api)  # /ogc: OGC API – Features for QGIS and GDAL
    app.register_blueprint(open311_api)  # /open311/v2: the citizen channel (Open311 GeoReport v2)
    app.register_blueprint(docs_api)  # /api/openapi.json, /mobile/v1/openapi.json and their Swagger UI pages
    limit_blueprints(app, settings, mobile_api, patrols_api)
    app.register_blueprint(mobile_api)  # /mobile/v1: the phones
    app.register_blueprint(patrols_api)  # /mobile/v1/patrols: 巡查 tracks and coverage
    app.config["MAX_CONTENT_LENGTH"] = max_request_bytes(settings)  # refuse oversized bodies early
    guard_requests(app)  # control characters, bad UTF-8, deep JSON, long addresses: refused first
    register_error_handlers(app)
    register_commands(app)
    prepare_sign_in()
    app.extensions["gridsvc"].live = LiveChannel(app, app.extensions["gridsvc"])  # Socket.IO at /socket.io
    return app


def runtime() -> Runtime:
    """The running app's Runtime (inside a request or app context)."""
    return current_app.extensions["gridsvc"]
