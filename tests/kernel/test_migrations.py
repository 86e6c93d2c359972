"""The migrations build exactly the schema the models describe, carry old rows forward, and go down
again (both backends)."""

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

from gridsvc.kernel import migrate
from gridsvc.kernel.db import make_engine
from gridsvc.kernel.models import Base, Case, Category
from tests.support import BACKENDS, create_postgis_database, drop_postgis_database


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    """Compare only our tables: SpatiaLite and PostGIS keep tables of their own, and spatial indexes
    are made by the geometry helpers, not declared as indexes."""
    if type_ == "table":
        return name in Base.metadata.tables
    if type_ == "index" and name and name.startswith("idx_"):
        return False
    return True


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _ours, "compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    """A database of its own (the shared one is at head already)."""
    if request.param == "spatialite":
        yield f"sqlite:///{tmp_path / 'old.sqlite'}"
        return
    url = create_postgis_database()
    yield url
    drop_postgis_database(sa.engine.make_url(url).database)


def test_cases_from_before_the_workflow_get_a_clock_and_utc_deadlines(empty_database):
    engine = make_engine(empty_database)
    try:
        migrate.upgrade(engine, "0004")
        sqlite = engine.dialect.name == "sqlite"
        # What the 0004-era code wrote: on SQLite the digits of a +08:00 deadline, without the offset.
        due = "2026-11-27 17:30:00.000000" if sqlite else "2026-11-27 17:30:00+08"
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (phone, name, role, grid_codes, password_hash, active, created_at) "
                "VALUES ('13800000001', 'x', 'administrator', '[]', 'x', true, '2026-11-25 00:00:00')"))
            conn.execute(sa.text(
                "INSERT INTO cases (tracking_no, client_uuid, content_hash, reporter_id, category_code, "
                "category_version, description, urgent, input_x, input_y, input_crs, lon, lat, location, "
                "received_at, locate_match, flags, reserved_to_county, status, handling_due_at, record_seq) "
                "VALUES ('20261125-AAAAAAAA', 'u', 'h', (SELECT id FROM users), '02004', 1, 'd', false, 125.6, 43.6, "
                "'cgcs2000', 125.6, 43.6, ST_GeomFromText('POINT(125.6 43.6)', 4490), '2026-11-25 01:00:00', "
                f"'inside', '[]', false, 'reported', '{due}', 0)"))
        migrate.upgrade(engine)
        with Session(engine) as session:
            case = session.scalar(sa.select(Case))
            expected = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
            assert case.handling_due_at == expected and case.stage_due_at == expected == case.stage_warn_at
            assert (case.row_version, case.overdue_level, case.escalated) == (1, 0, False)
        migrate.downgrade(engine, "0004")
        migrate.upgrade(engine)
        with Session(engine) as session:
            assert session.scalar(sa.select(Case.handling_due_at)) == expected
    finally:
        engine.dispose()


def test_categories_from_before_ask_for_no_photo_with_feedback_and_the_column_goes_down_again(empty_database):
    engine = make_engine(empty_database)
    try:
        migrate.upgrade(engine, "0012")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO category_majors (code, name_zh, name_en) VALUES ('02', '市容环境', 'City')"))
            conn.execute(sa.text(
                "INSERT INTO categories (code, version, major_code, name_zh, name_en, domain, limit_value, limit_unit, "
                "township_may_act, valid_from) VALUES ('02004', 1, '02', '乱堆乱放', 'Piled', 'enforcement', 2, 'days', "
                "true, '2026-11-25 00:00:00')"))
        migrate.upgrade(engine)
        with Session(engine) as session:
            assert session.scalars(sa.select(Category.feedback_photo_required)).all() == [False]
        migrate.downgrade(engine, "0012")
        assert "feedback_photo_required" not in {c["name"] for c in sa.inspect(engine).get_columns("categories")}
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM categories")) == 1
        migrate.upgrade(engine)
    finally:
        engine.dispose()
