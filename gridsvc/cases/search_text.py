"""Words in the search box: which cases a query's words find, as one SQL condition on `Case`.

A case matches when every word of the query (white space between words) occurs in one of:

- its tracking number or description: the word's character bigrams are looked up in the index
  (gridsvc.cases.search_index; why bigrams: gridsvc.kernel.search_terms), which gives the candidates,
  and the word must then occur in the stored text itself, so "堆放杂" does not find a text that only
  holds 堆放 and 放杂 apart. A word of one character has no bigram and is checked against the text alone;
- its reporter's name or phone number;
- the name of its grid or of its village (any version of the grid: a case filed before a grid was renamed
  is found by either name).

The names are matched in their own tables (users, grid cells, administrative units: a county's thousands
of rows, not its cases) at the moment of the search, so a renamed grid or village, or a grid confirmed at
立案, is found by its name of today without anything to re-index. Everything is plain SQL, the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa

from gridsvc.kernel.models import AdminUnit, Case, CaseSearchTerm, CaseSearchText, GridCell, User
from gridsvc.kernel.search_terms import bigrams


def text_condition(words: list[str]) -> sa.ColumnElement[bool]:
    """Cases in which every one of `words` (in the search's spelling, gridsvc.kernel.search_terms.words)
    occurs."""
    return sa.and_(*(_word_condition(word) for word in words))


def _word_condition(word: str) -> sa.ColumnElement[bool]:
    in_text = sa.select(CaseSearchText.case_id).where(CaseSearchText.document.contains(word, autoescape=True))
    pairs = sorted(bigrams(word))
    if pairs:  # candidates from the index: the cases holding every bigram of the word
        in_text = in_text.where(CaseSearchText.case_id.in_(
            sa.select(CaseSearchTerm.case_id).where(CaseSearchTerm.term.in_(pairs))
            .group_by(CaseSearchTerm.case_id).having(sa.func.count() == len(pairs))))
    reporters = sa.select(User.id).where(sa.or_(sa.func.lower(User.name).contains(word, autoescape=True),
                                                User.phone.contains(word, autoescape=True)))
    grids = sa.select(GridCell.code).where(sa.func.lower(GridCell.name).contains(word, autoescape=True))
    villages = sa.select(AdminUnit.code).where(AdminUnit.level == "village",
                                               sa.func.lower(AdminUnit.name).contains(word, autoescape=True))
    return sa.or_(Case.id.in_(in_text), Case.reporter_id.in_(reporters), Case.grid_code.in_(grids),
                  Case.village_code.in_(villages))
