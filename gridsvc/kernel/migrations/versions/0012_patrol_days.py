"""Per grid worker and China day, what their patrols counted: the indicators' cache (gridsvc.patrols.recording).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrol_days",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("length_m", sa.Float, nullable=True),
        sa.Column("grid_codes", sa.JSON, nullable=True),
        sa.Column("network_revision", sa.Integer, nullable=True),
        sa.Column("rules", sa.String(40), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("patrol_days")
