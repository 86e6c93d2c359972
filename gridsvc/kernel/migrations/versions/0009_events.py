"""Domain events: the outbox, acknowledgements, dispatch notices on cases, users' teams.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_DISPATCH_COLUMNS = ("dispatched_at", "dispatch_acked_at", "dispatch_reminded_at")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rooms", sa.JSON, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "event_acks",
        sa.Column("seq", sa.Integer, sa.ForeignKey("events.seq"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(sa.table("network_revision", sa.column("id"), sa.column("revision")), [{"id": 3, "revision": 0}])
    # cases carries a SpatiaLite geometry, so no batch (table copy) on SQLite: plain ADD COLUMN does
    for name in _DISPATCH_COLUMNS:
        op.add_column("cases", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column("cases", sa.Column("dispatch_alerted", sa.Boolean, nullable=False, server_default=sa.false()))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE users ADD COLUMN team_code VARCHAR(48) REFERENCES teams (code)")
    else:
        op.add_column("users", sa.Column("team_code", sa.String(48), sa.ForeignKey("teams.code"), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "team_code")
    for name in (*_DISPATCH_COLUMNS, "dispatch_alerted"):
        op.drop_column("cases", name)
    op.execute("DELETE FROM network_revision WHERE id = 3")
    op.drop_table("event_acks")
    op.drop_table("events")
