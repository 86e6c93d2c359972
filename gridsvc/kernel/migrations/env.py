"""Alembic environment: runs on SpatiaLite and PostGIS alike.

`gridsvc db upgrade` passes an open connection (see gridsvc.kernel.migrate); running
`alembic` by hand uses GRIDSVC_DATABASE_URL.
"""

from alembic import context
from geoalchemy2 import alembic_helpers

from gridsvc.kernel.db import make_engine
from gridsvc.kernel.models import Base

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
