"""The case workflow: who has a case, the stage clock, escalation, merging, optimistic locking;
and each category's own duplicate distance.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FOREIGN_KEYS = {"team_code": ("teams", "code"), "merged_into_id": ("cases", "id")}
_COLUMNS = (
    ("team_code", sa.String(48), True, None),
    ("escalated", sa.Boolean, False, sa.false()),
    ("stage_warn_at", sa.DateTime(timezone=True), True, None),
    ("stage_due_at", sa.DateTime(timezone=True), True, None),
    ("stage_warned", sa.Boolean, False, sa.false()),
    ("overdue_level", sa.Integer, False, "0"),
    ("extension_until", sa.DateTime(timezone=True), True, None),
    ("rework_count", sa.Integer, False, "0"),
    ("supervision_count", sa.Integer, False, "0"),
    ("merged_into_id", sa.Integer, True, None),
    ("closed_at", sa.DateTime(timezone=True), True, None),
    ("row_version", sa.Integer, False, "1"),
)


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite batch mode would copy the table and lose
    # SpatiaLite's registration of the geometry column. SQLite takes a foreign key only inside
    # ADD COLUMN itself (REFERENCES), which Alembic does not emit, so those two are written out.
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, type_, nullable, default in _COLUMNS:
        target = _FOREIGN_KEYS.get(name)
        if target and sqlite:
            sql_type = sa.types.to_instance(type_).compile(dialect=op.get_bind().dialect)
            op.execute(f"ALTER TABLE cases ADD COLUMN {name} {sql_type} REFERENCES {target[0]} ({target[1]})")
            continue
        foreign_key = (sa.ForeignKey(f"{target[0]}.{target[1]}", name=f"fk_cases_{name}"),) if target else ()
        op.add_column("cases", sa.Column(name, type_, *foreign_key, nullable=nullable, server_default=default))
    for column in ("status", "stage_due_at", "merged_into_id"):
        op.create_index(f"ix_cases_{column}", "cases", [column])
    op.add_column("categories", sa.Column("duplicate_distance_m", sa.Float, nullable=True))
    if sqlite:
        # Until now SQLite kept the China-time digits of handling deadlines (the work calendar
        # computes them at +08:00) without their offset; every moment is UTC from here on.
        op.execute("UPDATE cases SET handling_due_at = "
                   "strftime('%Y-%m-%d %H:%M:%S', handling_due_at, '-8 hours') || substr(handling_due_at, 20)")
    # Cases reported before the workflow get a clock for their stage: their handling deadline.
    op.execute("UPDATE cases SET stage_due_at = handling_due_at, stage_warn_at = handling_due_at "
               "WHERE status = 'reported'")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE cases SET handling_due_at = "
                   "strftime('%Y-%m-%d %H:%M:%S', handling_due_at, '+8 hours') || substr(handling_due_at, 20)")
    op.drop_column("categories", "duplicate_distance_m")
    for column in ("status", "stage_due_at", "merged_into_id"):
        op.drop_index(f"ix_cases_{column}", table_name="cases")
    for name, *_ in reversed(_COLUMNS):
        op.drop_column("cases", name)
