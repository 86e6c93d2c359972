"""An index on the time of record entries: the indicators pick the cases with an entry in a period.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_events_at", "case_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_case_events_at", table_name="case_events")
