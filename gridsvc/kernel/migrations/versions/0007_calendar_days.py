"""Days an administrator declared working days or days off (over the official calendar); a revision
counter for the catalogue, departments and rules (row 2 of network_revision), so processes can cache
the responsibility list.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("workday", sa.Boolean, nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(sa.table("network_revision", sa.column("id"), sa.column("revision")), [{"id": 2, "revision": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM network_revision WHERE id = 2")
    op.drop_table("calendar_days")
