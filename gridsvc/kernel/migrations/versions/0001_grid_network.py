"""The grid network: administrative units, versioned grid cells, network revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from geoalchemy2 import alembic_helpers  # noqa: F401  (registers op.*_geospatial_table)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _boundary(nullable: bool) -> sa.Column:
    return sa.Column(
        "boundary",
        Geometry("MULTIPOLYGON", srid=4490, spatial_index=True),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_geospatial_table(
        "admin_units",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent_code", sa.String(12), sa.ForeignKey("admin_units.code"), nullable=True),
        _boundary(nullable=True),
        sa.CheckConstraint("level IN ('county', 'township', 'village')", name="ck_admin_units_level"),
    )
    op.create_index("ix_admin_units_parent_code", "admin_units", ["parent_code"])
    op.create_geospatial_table(
        "grid_cells",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(15), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("village_code", sa.String(12), sa.ForeignKey("admin_units.code"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("special_type", sa.String(32), nullable=True),
        sa.Column("domains", sa.JSON, nullable=False),
        sa.Column("households", sa.Integer, nullable=True),
        sa.Column("population", sa.Integer, nullable=True),
        _boundary(nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("code", "version", name="uq_grid_cells_code_version"),
        sa.CheckConstraint("kind IN ('base', 'special')", name="ck_grid_cells_kind"),
    )
    op.create_index("ix_grid_cells_code", "grid_cells", ["code"])
    op.create_index("ix_grid_cells_village_code", "grid_cells", ["village_code"])
    op.create_index(
        "uq_grid_cells_current_code",
        "grid_cells",
        ["code"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
        sqlite_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "network_revision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.bulk_insert(
        sa.table("network_revision", sa.column("id"), sa.column("revision")),
        [{"id": 1, "revision": 0}],
    )


def downgrade() -> None:
    op.drop_table("network_revision")
    op.drop_index("uq_grid_cells_current_code", table_name="grid_cells")
    op.drop_index("ix_grid_cells_village_code", table_name="grid_cells")
    op.drop_index("ix_grid_cells_code", table_name="grid_cells")
    op.drop_geospatial_table("grid_cells")
    op.drop_index("ix_admin_units_parent_code", table_name="admin_units")
    op.drop_geospatial_table("admin_units")
