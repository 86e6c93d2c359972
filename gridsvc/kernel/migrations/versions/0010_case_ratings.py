"""The reporter's rating of a closed case (满意度评价): one per case.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("rater_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("stars", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.UniqueConstraint("case_id", name="uq_case_ratings_case_id"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_case_ratings_stars"),
        sa.CheckConstraint("outcome IN ('none', 'reopened', 'reopen_requested')", name="ck_case_ratings_outcome"),
    )
    op.create_index("ix_case_ratings_rated_at", "case_ratings", ["rated_at"])


def downgrade() -> None:
    op.drop_index("ix_case_ratings_rated_at", table_name="case_ratings")
    op.drop_table("case_ratings")
