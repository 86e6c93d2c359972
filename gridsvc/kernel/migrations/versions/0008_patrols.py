"""Patrols (巡查) and the GPS points of their tracks.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrols",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_patrols_user_id", "patrols", ["user_id"])
    op.create_table(
        "patrol_points",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patrol_id", sa.Integer, sa.ForeignKey("patrols.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("input_x", sa.Float, nullable=False),
        sa.Column("input_y", sa.Float, nullable=False),
        sa.Column("input_crs", sa.String(20), nullable=False),
        sa.Column("accuracy_m", sa.Float, nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("patrol_id", "seq", name="uq_patrol_points_patrol_seq"),
    )


def downgrade() -> None:
    op.drop_table("patrol_points")
    op.drop_index("ix_patrols_user_id", table_name="patrols")
    op.drop_table("patrols")
