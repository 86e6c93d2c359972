"""The database seam: SpatiaLite loading and migrations on both backends."""

import subprocess
import sys
import textwrap

import sqlalchemy as sa

from gridsvc.kernel import migrate
from gridsvc.kernel.db import make_engine
from tests.support import wipe


def test_spatialite_process_exits_cleanly_after_migrating(tmp_path):
    """mod_spatialite is loaded RTLD_GLOBAL: if shapely/pyproj load after it, the process
    corrupts its heap and aborts at exit. gridsvc.kernel.db must load them first."""
    script = textwrap.dedent(f"""
        import sys
        from gridsvc.kernel.db import make_engine
        assert {{"shapely", "pyproj", "pyogrio"}} <= set(sys.modules), "loaded too late"
        from gridsvc.kernel import migrate
        engine = make_engine("sqlite:///{tmp_path / 'x.sqlite'}")
        migrate.upgrade(engine)
        engine.dispose()
        print("done")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"


def test_migrations_go_down_and_up_again(database_url):
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, "base")
        with engine.connect() as conn:
            assert "grid_cells" not in sa.inspect(conn).get_table_names()
        migrate.upgrade(engine)
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            assert {"admin_units", "grid_cells", "network_revision"} <= tables
            assert conn.execute(sa.text("SELECT revision FROM network_revision")).scalar() == 0
    finally:
        engine.dispose()


def test_current_code_is_unique_but_history_is_kept(database_url):
    """The partial unique index: many versions of a code, at most one current."""
    engine = make_engine(database_url)
    insert = sa.text(
        "INSERT INTO grid_cells (code, version, name, village_code, kind, domains, boundary, valid_from, valid_to) "
        "VALUES ('220112100201001', :v, 'x', '220112100201', 'base', '[]', "
        "ST_GeomFromText('MULTIPOLYGON(((125 43,125.1 43,125.1 43.1,125 43)))', 4490), '2026-01-01', :to)"
    )
    wipe(engine)  # whatever an earlier test of this worker left (departments refer to admin units)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO admin_units (code, level, name) VALUES ('220112100201', 'village', '齐家村')"))
            conn.execute(insert, {"v": 1, "to": "2026-02-01"})
            conn.execute(insert, {"v": 2, "to": None})
        try:
            with engine.begin() as conn:
                conn.execute(insert, {"v": 3, "to": None})
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("a second current version was accepted")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM grid_cells"))
            conn.execute(sa.text("DELETE FROM admin_units"))
        engine.dispose()
