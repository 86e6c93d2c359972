"""Cases and their hash-chained record.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from geoalchemy2 import alembic_helpers  # noqa: F401  (registers op.*_geospatial_table)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tracking_no", sa.String(24), nullable=False, unique=True),
        sa.Column("client_uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("reporter_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("category_code", sa.String(5), nullable=False),
        sa.Column("category_version", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("input_x", sa.Float, nullable=False),
        sa.Column("input_y", sa.Float, nullable=False),
        sa.Column("input_crs", sa.String(20), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("location", Geometry("POINT", srid=4490, spatial_index=True), nullable=False),
        sa.Column("accuracy_m", sa.Float, nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grid_code", sa.String(15), nullable=True),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("township_code", sa.String(12), nullable=True),
        sa.Column("county_code", sa.String(12), nullable=True),
        sa.Column("locate_match", sa.String(10), nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("department_code", sa.String(40), sa.ForeignKey("departments.code"), nullable=True),
        sa.Column("reserved_to_county", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("handling_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_seq", sa.Integer, nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=True),
    )
    for column in ("reporter_id", "category_code", "received_at", "grid_code", "township_code"):
        op.create_index(f"ix_cases_{column}", "cases", [column])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])


def downgrade() -> None:
    op.drop_table("case_events")
    for column in ("reporter_id", "category_code", "received_at", "grid_code", "township_code"):
        op.drop_index(f"ix_cases_{column}", table_name="cases")
    op.drop_geospatial_table("cases")
