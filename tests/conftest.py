"""Test fixtures: every database test runs on SpatiaLite and on PostGIS.

PostGIS comes from GRIDSVC_TEST_POSTGRES_URL (default: the local server with
trust auth). Each test session creates its own database with the postgis
extension and drops it at the end. Without a reachable PostGIS the PostGIS
half is skipped on a developer machine, and fails under CI (CI=true): a
missing PostGIS must never pass silently there.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from gridsvc.accounts import users as accounts
from gridsvc.app import create_app
from gridsvc.kernel.config import Settings
from gridsvc.kernel.db import make_engine
from gridsvc.kernel import migrate
from gridsvc.cli.commands import register_commands

POSTGRES_ADMIN_URL = os.environ.get(
    "GRIDSVC_TEST_POSTGRES_URL", "postgresql://gridsvc_test:gridsvc_test@127.0.0.1:5432/postgres"
)
BACKENDS = ["spatialite", "postgis"]


def _postgis_unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostGIS is required in CI: {reason}")
    pytest.skip(f"PostGIS not available: {reason}")


def _create_postgis_database() -> str:
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"gridsvc_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        _postgis_unavailable(str(exc).splitlines()[0])
    finally:
        admin.dispose()
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except sa.exc.SQLAlchemyError as exc:
        _drop_postgis_database(name)
        _postgis_unavailable(f"CREATE EXTENSION postgis failed: {str(exc).splitlines()[0]}")
    finally:
        engine.dispose()
    return url


def _drop_postgis_database(name: str) -> None:
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


PRODUCTION_PASSWORD_HASH_METHOD = accounts.PASSWORD_HASH_METHOD


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing():
    """scrypt at 1/32 of the production work factor for the suite: hundreds of users are made and
    signed in, at 0.15 s a hash and another per sign-in. The tests check which passwords match, not
    how slowly; test_accounts checks the production setting."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "PASSWORD_HASH_METHOD", "scrypt:1024:8:1")
        yield


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database of each backend, shared by the session's tests."""
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'gridsvc.sqlite'}"
    else:
        url = _create_postgis_database()
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    if request.param == "postgis":
        _drop_postgis_database(sa.engine.make_url(url).database)


def _wipe(engine) -> None:
    with engine.begin() as conn:
        for table in (
            "case_ratings", "event_acks", "events", "patrol_days", "patrol_points", "patrols",
            "attachments", "case_events", "cases", "login_attempts", "auth_tokens", "users", "responsibility_rules",
            "teams", "departments", "categories", "category_majors", "calendar_days",
        ):
            conn.execute(sa.text(f"DELETE FROM {table}"))
        conn.execute(sa.text("DELETE FROM grid_cells"))
        conn.execute(sa.text("UPDATE admin_units SET parent_code = NULL"))
        conn.execute(sa.text("DELETE FROM admin_units"))
        conn.execute(sa.text("UPDATE network_revision SET revision = 0, changed_at = NULL"))


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, index_refresh_seconds=0.0)


@pytest.fixture
def app(settings, tmp_path):
    """An app on an empty network (tables wiped before each test)."""
    application = create_app(settings)
    application.instance_path = str(tmp_path)
    runtime = application.extensions["gridsvc"]
    _wipe(runtime.engine)
    yield application
    runtime.dispose()


@pytest.fixture
def rt(app):
    return app.extensions["gridsvc"]


@pytest.fixture
def sample_app(app, rt):
    """An app with the sample county (双阳区) loaded."""
    from fixtures.sample import load_sample

    with rt.sessions.begin() as session:
        load_sample(session, rt.settings)
    return app


@pytest.fixture
def admin_app(app, rt):
    """An app with the sample county's townships and villages, but no grids."""
    from fixtures.sample import ADMIN_FILE
    from gridsvc.network.files import import_admin_file

    with rt.sessions.begin() as session:
        import_admin_file(session, ADMIN_FILE)
    return app


@pytest.fixture
def client(sample_app):
    return sample_app.test_client()


@pytest.fixture
def runner(app):
    register_commands(app)
    return app.test_cli_runner()


@pytest.fixture
def backend_name(database_url) -> str:
    return "spatialite" if database_url.startswith("sqlite") else "postgis"


# -- the browser of the browser tests (test_screen_browser, test_public_browser) -------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test process, here so that every browser test module shares it: Playwright's
    sync API allows one instance per process, and a fixture imported into two modules would start two."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/ensure-browser.sh installs Debian's chromium")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
