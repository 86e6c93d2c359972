"""Test fixtures: every database test runs on SpatiaLite and on PostGIS.

Each test gets a database of its own in a known state: "empty" (migrated, no rows), "sample" (the
sample county loaded: `sample_app` and all that builds on it) or "admin" (its townships and villages
only: `admin_app`), chosen by the fixtures the test uses (`database_state`). Each state is built once
per test process and backend and copied for each test, so that a test may write anything and the next
starts from the same state again:

- SpatiaLite (`SpatiaLiteStates`): the state's file, copied to a new file for each test (a URL per test);
- PostGIS (`PostgisStates`): one database per test process, its tables restored before each test from a
  copy of the state kept in a schema of the same database, committed, so that every connection and
  process sees it (the app's two pools, gunicorn servers a test starts). What a test did not change is
  left alone: 2–5 ms a test. (Measured first: restoring every table took 25–40 ms, TRUNCATE instead
  of DELETE 0.5 s, CREATE DATABASE ... TEMPLATE 0.16 s and its DROP 1–2.6 s; a transaction rolled
  back cannot serve gunicorn servers, nor code that commits.)

An expensive fixture that writes a known history on top of that is made once per process and backend
the same way (`prepared`), and copied for each test.

PostGIS comes from GRIDSVC_TEST_POSTGRES_URL (default: the local server with trust auth). Each test
process creates its own database with the postgis extension and drops it at the end. Without a
reachable PostGIS the PostGIS half is skipped on a developer machine, and fails under CI (CI=true):
a missing PostGIS must never pass silently there.
"""

from __future__ import annotations

import copy
import functools
import io
import itertools
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from gridsvc.accounts import users as accounts
from gridsvc.accounts.users import create_user
from gridsvc.app import create_app
from gridsvc.catalogue.store import area_chain, responsibility_list
from gridsvc.cli.commands import register_commands
from gridsvc.kernel import migrate
from gridsvc.kernel.config import Settings
from gridsvc.kernel.db import make_engine, make_session_factory
from gridsvc.kernel.models import Base, Department
from tests.support import (APP_NAME, APP_PHONE, ADMIN, BACKENDS, COUNTY, LOCAL_CATEGORY, LUXIANG, LUXIANG_COMMANDER,
                           OFFICE_PHONES, PASSWORD, QIJIA, RESERVED_CATEGORY, create_postgis_database,
                           drop_postgis_database, postgis_unavailable, shared_edge_points)


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing():
    """scrypt at a tiny work factor for the suite (0.1 ms a hash, not 0.15 s): thousands of users are
    made and signed in. The tests check which passwords match, not how slowly; test_accounts checks the
    production setting. (scrypt:1024:8:1, 1/32 of production, still cost 2.5 ms a hash: ~20 s a run.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "PASSWORD_HASH_METHOD", "scrypt:256:1:1")
        yield


@pytest.fixture(scope="session", autouse=True)
def url_builders_compiled_once():
    """Werkzeug compiles two Python functions per URL rule (to build URLs) for every app: 24 of the 28 ms
    `create_app` takes, in each of the thousand tests that make an app. The function depends on the rule's
    text and parts alone when the rule has no defaults, so the suite compiles each once. (gunicorn
    servers started by tests are not affected.)"""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another werkzeug: nothing to speed up
        yield
        return
    compiled: dict[tuple, Callable] = {}

    def once(rule, append_unknown: bool = True):
        if rule.defaults:
            return compile_builder(rule, append_unknown)
        key = (rule.rule, append_unknown, tuple(rule._trace))
        if key not in compiled:
            compiled[key] = compile_builder(rule, append_unknown)
        return compiled[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Rule, "_compile_builder", once)
        yield


# -- databases in known states ----------------------------------------------------------------------


def _load_sample(session, url: str) -> None:
    from fixtures.sample import load_sample

    load_sample(session, Settings(database_url=url, index_refresh_seconds=0.0))


def _load_admin_units(session, url: str) -> None:
    from fixtures.sample import ADMIN_FILE
    from gridsvc.network.files import import_admin_file

    import_admin_file(session, ADMIN_FILE)


@dataclass(frozen=True)
class State:
    """A database state: `build` writes it, in one transaction, on top of the state `parent`."""
    parent: str | None
    build: Callable | None


STATES = {
    "empty": State(None, None),  # migrated, no rows
    "sample": State("empty", _load_sample),  # the sample county (双阳区): `sample_app`
    "admin": State("empty", _load_admin_units),  # its townships and villages, no grids: `admin_app`
}
# The fixture that asks for each state.
STATE_OF_FIXTURE = {"sample_app": "sample", "admin_app": "admin"}
# The service's tables (parents before children), what a state or a snapshot is made of.
TABLES = [table.name for table in Base.metadata.sorted_tables]


def _build(state: str, url: str) -> None:
    engine = make_engine(url)
    try:
        if STATES[state].build is None:
            migrate.upgrade(engine)
        else:
            with make_session_factory(engine).begin() as session:
                STATES[state].build(session, url)
    finally:
        engine.dispose()


def _row_counts(engine) -> tuple[int, ...]:
    """How many rows each table holds: what a snapshot's starting point is recognised by."""
    counts = ", ".join(f'(SELECT count(*) FROM "{table}")' for table in TABLES)
    with engine.connect() as conn:
        return tuple(conn.exec_driver_sql(f"SELECT {counts}").one())


def _sqlite_copy(source: str, target: str) -> None:
    """Copy one SQLite database into another through SQLite's backup API: consistent however the
    source's WAL stands, and safe while the target has (idle) connections of its own."""
    import sqlite3

    from_db, to_db = sqlite3.connect(source), sqlite3.connect(target)
    try:
        from_db.backup(to_db)
    finally:
        to_db.close()
        from_db.close()


class SpatiaLiteStates:
    """A file per state, copied to a new file for each test; snapshots are files too."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: dict[str, Path] = {}
        self.numbers = itertools.count()
        self.prepared: dict[tuple, tuple[str, object, Path]] = {}  # `prepared`: snapshot, answer, files

    def template(self, state: str) -> Path:
        if state not in self.files:
            path = self.folder / f"state-{state}.sqlite"
            parent = STATES[state].parent
            if parent is not None:
                shutil.copyfile(self.template(parent), path)
            url = f"sqlite:///{path}"
            _build(state, url)
            engine = make_engine(url)
            with engine.connect() as conn:  # everything in the file itself: the copies take the file alone
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
            wal = Path(f"{path}-wal")
            assert not wal.exists() or wal.stat().st_size == 0, f"{wal} was not checkpointed"
            self.files[state] = path
        return self.files[state]

    def fresh(self, state: str) -> str:
        path = self.folder / f"test-{next(self.numbers)}.sqlite"
        shutil.copyfile(self.template(state), path)
        return f"sqlite:///{path}"

    def snapshot(self, url: str) -> str:
        kept = str(self.folder / f"snapshot-{next(self.numbers)}.sqlite")
        _sqlite_copy(sa.engine.make_url(url).database, kept)
        return kept

    def restore(self, snapshot: str, url: str) -> None:
        _sqlite_copy(snapshot, sa.engine.make_url(url).database)

    def done(self, url: str) -> None:
        path = sa.engine.make_url(url).database
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        pass


@functools.cache
def _referencing(table: str) -> frozenset[str]:
    """`table` and every table whose rows point at its rows, however indirectly."""
    found, todo = {table}, [table]
    while todo:
        parent = todo.pop()
        for child in Base.metadata.sorted_tables:
            if child.name not in found and any(key.column.table.name == parent for key in child.foreign_keys):
                found.add(child.name)
                todo.append(child.name)
    return frozenset(found)


@dataclass
class Snapshot:
    """A copy of every table in a schema of its own; what each held, and where the sequences stood."""
    schema: str
    counts: dict[str, int]
    sequences: dict[str, tuple[int, bool]]


class PostgisStates:
    """One database per test process. A snapshot is a schema holding a copy of every table: restored into
    the tables before each test, and for `prepared`.

    A restore puts back only what changed since the last restore of the same snapshot: a table whose
    number of rows differs, or with a row another transaction wrote (its xmin), and the tables pointing
    at those. Sequences are always reset. One round trip on a connection kept
    open, committed without waiting for the disk: nothing here needs to survive a crash."""

    def __init__(self):
        self.url: str | None = None
        self.unavailable: str | None = None
        self.tables: list[str] = []  # parents before children
        self.snapshots: dict[str, Snapshot] = {}
        self.numbers = itertools.count()
        self.prepared: dict[tuple, tuple[str, object, Path]] = {}  # `prepared`: snapshot, answer, files
        self.connection = None  # psycopg's, for restores
        self.current: str | None = None  # the snapshot restored last
        self.written: dict[str, int] = {}  # the transaction that wrote each table's rows last, as xmin shows it

    def _database(self) -> str:
        if self.unavailable is not None:
            postgis_unavailable(self.unavailable)
        if self.url is None:
            try:
                url = create_postgis_database()
            except (pytest.skip.Exception, pytest.fail.Exception) as exc:
                self.unavailable = str(exc.msg).split(": ", 1)[-1]
                raise
            engine = make_engine(url)
            try:
                migrate.upgrade(engine)
                with engine.connect() as conn:
                    present = set(conn.scalars(sa.text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename NOT IN ('spatial_ref_sys', 'alembic_version')")))
            finally:
                engine.dispose()
            ordered = [table for table in TABLES if table in present]
            self.tables = ordered + sorted(present - set(ordered))
            self.url = url
        return self.url

    def template(self, state: str) -> str:
        name = f"state_{state}"
        if name not in self.snapshots:
            url = self._database()
            parent = STATES[state].parent
            if parent is not None:
                self._restore(self.template(parent))
                _build(state, url)
            self._snapshot(name)  # "empty": the database as migrated
        return name

    def _cursor(self):
        if self.connection is None or self.connection.closed:
            import psycopg

            self.connection = psycopg.connect(sa.engine.make_url(self.url).set(drivername="postgresql")
                                              .render_as_string(hide_password=False))
        return self.connection.cursor()

    def _snapshot(self, name: str) -> None:
        cursor = self._cursor()
        try:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{name}"')
            counts = {}
            for table in self.tables:
                cursor.execute(f'CREATE TABLE "{name}"."{table}" AS TABLE public."{table}"')
                counts[table] = cursor.rowcount
            cursor.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            sequences = {}
            for (sequence,) in cursor.fetchall():
                cursor.execute(f'SELECT last_value, is_called FROM public."{sequence}"')
                sequences[sequence] = cursor.fetchone()
            self.connection.commit()
        except Exception:
            self.connection.rollback()
            raise
        self.snapshots[name] = Snapshot(name, counts, sequences)
        self.current = None

    def _changed(self, snapshot: Snapshot) -> set[str]:
        """The tables not as the last restore left them: another number of rows, or a row that another
        transaction wrote (xmin, 32 bits of the transaction's number)."""
        cursor = self._cursor()
        cursor.execute("SELECT " + ", ".join(
            f'(SELECT count(*) FROM public."{table}"), (SELECT min(xmin::text::bigint) FROM public."{table}"),'
            f' (SELECT max(xmin::text::bigint) FROM public."{table}")' for table in self.tables))
        found = cursor.fetchone()
        self.connection.commit()
        changed = set()
        for position, table in enumerate(self.tables):
            count, oldest, newest = found[3 * position:3 * position + 3]
            if count != snapshot.counts[table] or (count and not oldest == newest == self.written.get(table)):
                changed.add(table)
        return changed

    def _restore(self, name: str) -> None:
        import psycopg

        try:
            self._put_back(name)
        except psycopg.errors.LockNotAvailable:
            self._end_other_connections()  # a connection a test left open holds rows: end it, then again
            self._put_back(name)
        except psycopg.errors.UndefinedTable:  # a test left the schema downgraded (tests/kernel/test_db_engine)
            engine = make_engine(self.url)
            migrate.upgrade(engine)
            engine.dispose()
            self._put_back(name)

    def _put_back(self, name: str) -> None:
        snapshot = self.snapshots[name]
        try:
            changed = self._changed(snapshot) if self.current == name else set(self.tables)
            tables = set().union(*(_referencing(table) for table in changed)) & set(self.tables)
            statements = ["SET LOCAL synchronous_commit = off", "SET LOCAL lock_timeout = '20s'"]
            statements += [f'DELETE FROM public."{table}"' for table in reversed(self.tables) if table in tables]
            statements += [f'INSERT INTO public."{table}" OVERRIDING SYSTEM VALUE SELECT * FROM "{name}"."{table}"'
                           for table in self.tables if table in tables and snapshot.counts[table]]
            statements += [f"SELECT setval('public.\"{sequence}\"', {last}, {called})"
                           for sequence, (last, called) in snapshot.sequences.items()]
            cursor = self._cursor()
            cursor.execute(";\n".join(statements))
            cursor.execute("SELECT pg_current_xact_id()::text::bigint % 4294967296")
            transaction = cursor.fetchone()[0]
            self.connection.commit()
        except Exception:
            self.connection.rollback()
            self.current = None
            raise
        self.current = name
        self.written.update({table: transaction for table in tables})

    def _end_other_connections(self) -> None:
        cursor = self._cursor()
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        self.connection.commit()

    def fresh(self, state: str) -> str:
        self._restore(self.template(state))
        return self.url

    def snapshot(self, url: str) -> str:
        name = f"snapshot_{next(self.numbers)}"
        self._snapshot(name)
        return name

    def restore(self, snapshot: str, url: str) -> None:
        self._restore(snapshot)

    def done(self, url: str) -> None:
        pass

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.url is not None:
            drop_postgis_database(sa.engine.make_url(self.url).database)


@pytest.fixture(scope="session")
def states(tmp_path_factory):
    """The database states of this test process, per backend."""
    kept = {"spatialite": SpatiaLiteStates(tmp_path_factory.mktemp("databases")), "postgis": PostgisStates()}
    yield kept
    for backend in kept.values():
        backend.close()


@pytest.fixture
def database_state(request) -> str:
    """The state the test's database starts in, by the fixtures the test uses: "sample" for `sample_app`
    (and all that builds on it), "admin" for `admin_app`, else "empty"."""
    wanted = {STATE_OF_FIXTURE[name] for name in request.fixturenames if name in STATE_OF_FIXTURE}
    assert len(wanted) <= 1, f"one database state per test, not {sorted(wanted)}"
    return wanted.pop() if wanted else "empty"


@pytest.fixture(params=BACKENDS)
def database_url(request, states, database_state):
    """A database of the test's own, of each backend, in `database_state`."""
    backend = states[request.param]
    url = backend.fresh(database_state)
    yield url
    backend.done(url)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def prepared(states, database_url, app, tmp_path):
    """`prepared(build)`: what `build()` writes to the test's database and answers, made once per test
    process and backend for an expensive fixture.

    The first test to get here with its database in a given state runs `build`; its database as `build`
    left it is kept (a snapshot), with a copy of the answer (plain data) and of what `build` wrote into
    `tmp_path`. A later test that gets here with its database in the same state (the same number of rows
    in each table) gets the snapshot copied into its database, those files, and a copy of the answer,
    without running `build`. Whatever else `build` does (to Python objects, to monkeypatched functions)
    is not repeated: keep that outside `build`."""
    backend = states["spatialite" if database_url.startswith("sqlite") else "postgis"]
    engine = app.extensions["gridsvc"].engine

    def prepare(build: Callable[[], object]):
        key = (build.__code__.co_filename, build.__code__.co_firstlineno, _row_counts(engine))
        if key in backend.prepared:
            snapshot, answer, files = backend.prepared[key]
            backend.restore(snapshot, database_url)
            shutil.copytree(files, tmp_path, dirs_exist_ok=True)
            return copy.deepcopy(answer)
        before = _files(tmp_path)
        answer = build()
        snapshot = backend.snapshot(database_url)
        files = states["spatialite"].folder / f"files-{uuid.uuid4().hex}"
        files.mkdir()
        for name, stamp in _files(tmp_path).items():
            if before.get(name) != stamp:
                (files / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(tmp_path / name, files / name)
        backend.prepared[key] = (snapshot, copy.deepcopy(answer), files)
        return answer

    return prepare


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, index_refresh_seconds=0.0)


@pytest.fixture
def app(settings, tmp_path):
    """An app on the test's database (`database_url`): an empty network unless the test asks for more."""
    application = create_app(settings)
    application.instance_path = str(tmp_path)
    runtime = application.extensions["gridsvc"]
    yield application
    runtime.dispose()


@pytest.fixture
def rt(app):
    return app.extensions["gridsvc"]


@pytest.fixture
def sample_app(app, database_state):
    """An app with the sample county (双阳区) loaded."""
    assert database_state == "sample"
    return app


@pytest.fixture
def admin_app(app, database_state):
    """An app with the sample county's townships and villages, but no grids."""
    assert database_state == "admin"
    return app


@pytest.fixture
def client(sample_app):
    return sample_app.test_client()


@pytest.fixture
def runner(app):
    """The CLI on the test's app, inside its app context, as `gridsvc` runs a command: `gridsvc db …` on
    the test's database, not on the one the environment names (gridsvc.cli.commands._migrate)."""
    register_commands(app)
    with app.app_context():
        yield app.test_cli_runner()


@pytest.fixture
def backend_name(database_url) -> str:
    return "spatialite" if database_url.startswith("sqlite") else "postgis"


# -- people and phones of the sample county, shared by several folders ------------------------------


@pytest.fixture
def field(sample_app, rt):
    """A grid worker on a 齐家镇 grid that shares an edge, its commander, the officer of the department
    that answers for 乱堆乱放 there, and a grid worker of 鹿乡镇; phones signed in for each."""
    index = rt.index.get()
    mine, neighbour, probe = next(
        (a, b, p) for a, b, p in shared_edge_points(index, 3.0, limit=200) if a.startswith("220112100"))
    other = next(c.code for c in index.cells if c.code.startswith("220112102") and c.kind == "base")
    with rt.sessions.begin() as session:
        department = rt.rules.get().route(area_chain(index, mine), "02004").department.code
        create_user(session, "13800000003", "网格员小王", "grid_worker", PASSWORD, grid_codes=[mine])
        create_user(session, "13800000001", "齐家指挥长", "township_commander", PASSWORD, admin_code=QIJIA)
        create_user(session, "13800000006", "执法队员", "enforcement_officer", PASSWORD, department_code=department)
        create_user(session, "13800000009", "鹿乡网格员", "grid_worker", PASSWORD, grid_codes=[other])
    phone = sample_app.test_client()
    phones = {}

    def headers(number):
        if number not in phones:
            answer = phone.post("/mobile/v1/auth/login",
                                json={"phone": number, "password": PASSWORD, "device_id": f"android-{number}"})
            assert answer.status_code == 200, answer.get_json()
            phones[number] = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        return phones[number]

    return {"phone": phone, "headers": headers, "grid": mine, "neighbour": neighbour, "probe": probe,
            "department": department, "other_grid": other}


@pytest.fixture
def town(field, rt):
    """`field` plus the commander of the neighbouring township and an administrator.
    (tests/oversight has a `town` of its own: the people of the numbers' history.)"""
    with rt.sessions.begin() as session:
        create_user(session, LUXIANG_COMMANDER, "鹿乡指挥长", "township_commander", PASSWORD, admin_code=LUXIANG)
        create_user(session, ADMIN, "管理员", "administrator", PASSWORD)
    index = rt.index.get()
    return {**field, "other_point": index.geometry(index.position_of(field["other_grid"])).representative_point()}


@pytest.fixture
def office(sample_app, rt):
    """A 齐家镇 grid with its grid workers, the township's commander, the handlers of the departments
    that answer there, a 鹿乡镇 commander, the county supervisor and signed-in clients for all."""
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.code.startswith("220112100") and c.kind == "base")
    grid = index.cells[position]
    with rt.sessions.begin() as session:
        rules = responsibility_list(session)
        areas = area_chain(index, grid.code)
        local = rules.route(areas, LOCAL_CATEGORY).department.code
        reserved = rules.route(areas, RESERVED_CATEGORY).department.code
        phones = OFFICE_PHONES
        people = {
            "worker": (phones["worker"], "网格员小王", "grid_worker", {"grid_codes": [grid.code]}),
            "worker2": (phones["worker2"], "网格员小李", "grid_worker", {"grid_codes": [grid.code]}),
            "commander": (phones["commander"], "齐家指挥长", "township_commander", {"admin_code": QIJIA}),
            "other_commander": (phones["other_commander"], "鹿乡指挥长", "township_commander", {"admin_code": LUXIANG}),
            "supervisor": (phones["supervisor"], "区督办", "county_supervisor", {"admin_code": COUNTY}),
            "handler": (phones["handler"], "承办人", "department_handler", {"department_code": local}),
            "other_handler": (phones["other_handler"], "便民中心承办人", "department_handler",
                              {"department_code": f"{QIJIA}-BMFW" if local != f"{QIJIA}-BMFW" else f"{QIJIA}-SHSW"}),
            "county_handler": (phones["county_handler"], "市场监管", "enforcement_officer",
                               {"department_code": reserved}),
        }
        for phone, name, role, where in people.values():
            create_user(session, phone, name, role, PASSWORD, **where)
    client = sample_app.test_client()
    tokens = {}

    def headers(who):
        if who not in tokens:
            body = {"phone": people[who][0], "password": PASSWORD}
            tokens[who] = client.post("/api/v1/auth/login", json=body).get_json()["access_token"]
        return {"Authorization": f"Bearer {tokens[who]}"}

    return {"grid": grid, "point": index.geometry(position).representative_point(), "client": client,
            "headers": headers, "local": local, "reserved": reserved,
            "other_department": people["other_handler"][3]["department_code"]}


@pytest.fixture
def jpeg_bytes():
    def make():
        out = io.BytesIO()
        Image.new("RGB", (64, 48), (90, 140, 60)).save(out, "JPEG")
        return io.BytesIO(out.getvalue())
    return make


@pytest.fixture
def channel(sample_app, rt):
    """The citizen app's channel account (a county supervisor of the sample county, password unknown),
    and a point well inside a base grid with the grid and department that answer for 02004 there.
    (The module needs `settings` with the app's key: tests.support.open311_settings.)"""
    index = rt.index.get()
    for position, cell in enumerate(index.cells):
        if cell.kind != "base":
            continue
        point = index.geometry(position).representative_point()
        located = index.locate(point.x, point.y)
        if located.match == "inside" and located.grid.code == cell.code:
            break
    route = rt.rules.get().route(area_chain(index, cell.code), "02004")
    with rt.sessions.begin() as session:
        create_user(session, APP_PHONE, APP_NAME, "county_supervisor", uuid.uuid4().hex, admin_code=COUNTY)
        agency = session.get(Department, route.department.code).name_zh
    return {"client": sample_app.test_client(), "point": point, "grid": cell.code, "agency": agency}
