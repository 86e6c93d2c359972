"""Database engines for SpatiaLite (embedded default) and PostGIS (production).

This module is the dialect seam: SpatiaLite needs its extension loaded on every
connection and a few PRAGMAs; PostGIS needs nothing. Everything above it uses
plain SQLAlchemy 2 and GeoAlchemy2.
"""

from __future__ import annotations

import os

# SQLite loads mod_spatialite with RTLD_GLOBAL, which exports Debian's GEOS and
# PROJ symbols to the whole process. The GEOS/PROJ/GDAL bundled in the shapely,
# pyproj and pyogrio wheels must be loaded before that happens, or they bind to
# the wrong library and the process crashes with heap corruption on exit.
import pyogrio  # noqa: F401  (import order matters, see above)
import pyproj  # noqa: F401
import shapely  # noqa: F401
import sqlalchemy as sa
from geoalchemy2 import load_spatialite
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

# Debian's libsqlite3-mod-spatialite puts mod_spatialite on the loader path.
os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")

# The largest id an INTEGER column holds on PostgreSQL. A larger number from a request matches no row, but
# sent to the database it is an error (PostgreSQL: out of range; SQLite past 2**63: OverflowError).
MAX_INTEGER = 2**31 - 1


def is_sqlite(engine_or_url) -> bool:
    url = getattr(engine_or_url, "url", engine_or_url)
    return sa.engine.make_url(str(url)).get_backend_name() == "sqlite"


def _load_spatialite(dbapi_conn, _record) -> None:
    """Load SpatiaLite; a new file's spatial metadata (some 6,000 reference systems) is written in one
    transaction: written row by row, each its own commit, a fresh database took 13–70 s to migrate."""
    load_spatialite(dbapi_conn, transaction=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the web process read while a CLI import writes; foreign keys
    # are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin_before_savepoint(conn, _name) -> None:
    """A SAVEPOINT inside the caller's transaction, also on SQLite.

    pysqlite opens a transaction (BEGIN) only before an INSERT, UPDATE or DELETE; reads run outside
    one. A SAVEPOINT sent while none is open starts SQLite's transaction itself, and its RELEASE
    then commits it: the caller's later ROLLBACK undoes nothing (SQLAlchemy's pysqlite notes,
    "Serializable isolation / Savepoints / Transactional DDL"). The documented remedy, BEGIN sent by
    us at the start of every transaction, makes each request's reads a snapshot, and in WAL mode a
    reader that then writes while another connection writes fails at once ("database is locked":
    the busy timeout does not apply to that upgrade); 8 of the 10 tests that race requests with
    at_once failed that way. So only here, where pysqlite has opened nothing yet, is the transaction
    opened, and as a writer (BEGIN IMMEDIATE, which waits out the busy timeout): a savepoint is taken
    because a write follows. Reads before it stay outside a transaction, as before; once open,
    pysqlite's own COMMIT or ROLLBACK ends the transaction as usual."""
    if not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # through SQLAlchemy: a lock timeout is its OperationalError


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; for SQLite the SpatiaLite extension is loaded on connect, and a SAVEPOINT
    stays inside the caller's transaction (`_begin_before_savepoint`)."""
    url = _with_psycopg3(url)
    engine = sa.create_engine(url, **kwargs)
    if is_sqlite(engine):
        event.listen(engine, "connect", _load_spatialite)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _begin_before_savepoint)
    return engine


def make_cache_engine(engine: Engine) -> Engine:
    """The per-process caches' own small pool, one connection per cache (gridsvc.kernel.reloading says why).
    An in-memory SQLite database exists only inside its engine: there the caches share it."""
    if is_sqlite(engine) and engine.url.database in (None, "", ":memory:"):
        return engine
    return make_engine(engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=2)


def _with_psycopg3(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver the project installs)."""
    parsed = sa.engine.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upsert_insert(session: Session, model):
    """An INSERT for `model` that can say what to do on a conflict (`on_conflict_do_update` /
    `on_conflict_do_nothing`), in the dialect of the session's database: SQLite and PostgreSQL
    spell it the same way, and SQLAlchemy has one construct per dialect."""
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)
