"""Finding a case by its words: each case's searchable text and its character bigrams, for every case
already stored too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from gridsvc.kernel.search_terms import bigrams, case_document

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BATCH = 1000  # cases read and indexed at a time: a county's years of cases never sit in memory at once

_cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("tracking_no", sa.String),
                  sa.column("description", sa.Text))
_texts = sa.table("case_search", sa.column("case_id", sa.Integer), sa.column("document", sa.Text))
_terms = sa.table("case_search_terms", sa.column("term", sa.String), sa.column("case_id", sa.Integer))


def upgrade() -> None:
    op.create_table(
        "case_search",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "case_search_terms",
        sa.Column("term", sa.String(2), primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_case_search_terms_case_id", "case_search_terms", ["case_id"])
    _index_stored_cases(op.get_bind())


def _index_stored_cases(conn) -> None:
    """What gridsvc.cases.search_index.index_case writes at intake, for the cases stored before."""
    last = 0
    while True:
        rows = conn.execute(sa.select(_cases.c.id, _cases.c.tracking_no, _cases.c.description)
                            .where(_cases.c.id > last).order_by(_cases.c.id).limit(BATCH)).all()
        if not rows:
            return
        texts = [{"case_id": row.id, "document": case_document(row.tracking_no, row.description)} for row in rows]
        conn.execute(_texts.insert(), texts)
        terms = [{"term": term, "case_id": text["case_id"]} for text in texts for term in bigrams(text["document"])]
        if terms:
            conn.execute(_terms.insert(), terms)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_case_search_terms_case_id", table_name="case_search_terms")
    op.drop_table("case_search_terms")
    op.drop_table("case_search")
