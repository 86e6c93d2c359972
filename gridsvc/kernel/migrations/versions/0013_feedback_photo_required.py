"""Each category says whether its feedback step (处置反馈) needs a photo of the result.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (as 0006): every stored version, retired ones too, needs no photo, as before.
    op.add_column("categories", sa.Column("feedback_photo_required", sa.Boolean, nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("categories", "feedback_photo_required")
