"""The search index of a case (migration 0014): its searchable text and that text's character bigrams.

Written once, by intake, in the same transaction as the case: what the index holds (the tracking number
and the description, gridsvc.kernel.search_terms.case_document) never changes afterwards, since no step
rewrites either. Names that steps or imports do change (a grid confirmed at 立案, a renamed village, a
reporter's name) are not copied here; the search matches them where they are kept
(gridsvc.cases.search_text), so they cannot go stale. Cases stored before the index existed were indexed
by the migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.kernel.models import Case, CaseSearchTerm, CaseSearchText
from gridsvc.kernel.search_terms import bigrams, case_document


def index_case(session: Session, case: Case) -> None:
    """Write a new case's searchable text and bigrams (the case is flushed: it has its id). Flushes;
    the caller commits."""
    text = case_document(case.tracking_no, case.description)
    session.add(CaseSearchText(case_id=case.id, document=text))
    terms = sorted(bigrams(text))
    if terms:
        session.execute(sa.insert(CaseSearchTerm), [{"term": term, "case_id": case.id} for term in terms])
    session.flush()
