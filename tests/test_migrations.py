"""The migrations build exactly the schema the models describe (both backends), and go down again."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gridsvc.db import make_engine
from gridsvc.models import Base


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
