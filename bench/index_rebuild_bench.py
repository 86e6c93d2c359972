"""Index rebuild benchmark: how long a process takes to rebuild its locate index from the database.

    python -m bench.index_rebuild_bench [--sizes 100000,1000000] [--postgres-url URL]

After an import every process rebuilds its index from the stored network
(`gridsvc.network.index.build_index`: read the current cells, decode their WKB,
build the STRtrees). This times that path on SpatiaLite and on PostGIS with
a synthetic network (`fixtures.scale`), and prints a markdown table. The
cells are bulk-loaded with SQL, not through the import (which validates), so
only the rebuild is measured.
"""

from __future__ import annotations

# Import order: gridsvc.kernel.db must come first (see the comment there).
import gridsvc.kernel.db  # noqa: F401

import argparse
import os
import tempfile
import time
import uuid

import shapely
import sqlalchemy as sa

from bench.locate_bench import DEFAULT_POSTGRES_URL, parse_sizes, rss_mb
from fixtures.scale import generate_network
from gridsvc.kernel import migrate
from gridsvc.kernel.config import Settings
from gridsvc.kernel.db import make_engine, make_session_factory
from gridsvc.network.index import build_index

INSERT = (
    "INSERT INTO grid_cells (code, version, name, village_code, kind, domains, boundary, valid_from) "
    "VALUES (:code, 1, :code, :village, 'base', '[]', ST_Multi(ST_GeomFromWKB(:wkb, 4490)), '2026-01-01')"
)


def load(engine, network) -> None:
    """Bulk-load the network (foreign keys are deferred to a single county row)."""
    wkb = shapely.to_wkb(network.geometries)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO admin_units (code, level, name) VALUES ('220112000000', 'county', 'x')"))
        villages = sorted(set(network.village_codes.tolist()))
        conn.execute(
            sa.text(
                "INSERT INTO admin_units (code, level, name, parent_code) "
                "VALUES (:c, 'village', :c, '220112000000')"
            ),
            [{"c": v} for v in villages],
        )
        cells = zip(network.codes.tolist(), network.village_codes.tolist(), wkb)
        conn.execute(sa.text(INSERT), [{"code": c, "village": v, "wkb": bytes(w)} for c, v, w in cells])


def time_rebuild(url: str, n_cells: int) -> tuple[float, float, float]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    load(engine, generate_network(n_cells))
    load_s = time.perf_counter() - started
    before = rss_mb()
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        index = build_index(session, Settings())
        build_s = time.perf_counter() - started
    assert len(index) == n_cells
    engine.dispose()
    return load_s, build_s, rss_mb() - before


def postgis_url(admin_url: str) -> tuple[str, str]:
    name = f"gridsvc_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION postgis"))
    engine.dispose()
    return url, name


def drop(admin_url: str, name: str) -> None:
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.index_rebuild_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[100_000, 1_000_000])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    print("| backend | N | bulk load s | build_index s | RSS growth MB |")
    print("|---|---:|---:|---:|---:|")
    for n_cells in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{os.path.join(folder, 'bench.sqlite')}"
            load_s, build_s, grown = time_rebuild(url, n_cells)
            print(f"| SpatiaLite | {n_cells:,} | {load_s:.1f} | {build_s:.1f} | {grown:,.0f} |", flush=True)
        url, name = postgis_url(args.postgres_url)
        try:
            load_s, build_s, grown = time_rebuild(url, n_cells)
            print(f"| PostGIS | {n_cells:,} | {load_s:.1f} | {build_s:.1f} | {grown:,.0f} |", flush=True)
        finally:
            drop(args.postgres_url, name)


if __name__ == "__main__":
    main()
