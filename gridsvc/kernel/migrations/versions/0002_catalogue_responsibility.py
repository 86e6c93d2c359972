"""The case catalogue, departments and teams, the responsibility list.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_majors",
        sa.Column("code", sa.String(2), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("major_code", sa.String(2), sa.ForeignKey("category_majors.code"), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("domain", sa.String(16), nullable=False),
        sa.Column("limit_value", sa.Float, nullable=False),
        sa.Column("limit_unit", sa.String(8), nullable=False),
        sa.Column("urgent_limit_value", sa.Float, nullable=True),
        sa.Column("urgent_limit_unit", sa.String(8), nullable=True),
        sa.Column("township_may_act", sa.Boolean, nullable=False),
        sa.Column("reserved_power", sa.String(40), nullable=True),
        sa.Column("description_zh", sa.Text, nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("code", "version", name="uq_categories_code_version"),
        sa.CheckConstraint("domain IN ('governance', 'enforcement', 'services')", name="ck_categories_domain"),
        sa.CheckConstraint("limit_unit IN ('hours', 'days')", name="ck_categories_limit_unit"),
    )
    op.create_index("ix_categories_code", "categories", ["code"])
    op.create_index(
        "uq_categories_current_code", "categories", ["code"], unique=True,
        postgresql_where=sa.text("valid_to IS NULL"), sqlite_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "departments",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("admin_code", sa.String(12), sa.ForeignKey("admin_units.code"), nullable=False),
        sa.CheckConstraint("level IN ('county', 'township')", name="ck_departments_level"),
    )
    op.create_index("ix_departments_admin_code", "departments", ["admin_code"])
    op.create_table(
        "teams",
        sa.Column("code", sa.String(48), primary_key=True),
        sa.Column("department_code", sa.String(40), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
    )
    op.create_index("ix_teams_department_code", "teams", ["department_code"])
    op.create_table(
        "responsibility_rules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("area_code", sa.String(15), nullable=False),
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("department_code", sa.String(40), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("note_zh", sa.String(200), nullable=True),
        sa.UniqueConstraint("area_code", "subject_kind", "subject", name="uq_responsibility_rules_area_subject"),
        sa.CheckConstraint("subject_kind IN ('category', 'domain')", name="ck_responsibility_rules_kind"),
    )
    op.create_index("ix_responsibility_rules_area_code", "responsibility_rules", ["area_code"])


def downgrade() -> None:
    op.drop_table("responsibility_rules")
    op.drop_table("teams")
    op.drop_table("departments")
    op.drop_table("categories")
    op.drop_table("category_majors")
