"""Who may see which cases: one rule for opening a case and for listing cases.

A user sees a case when it lies in their jurisdiction (area prefix, grids),
when their department has it, when they reported it, or when they reported a
case that was merged into it: a reporter follows the surviving case.
`can_see` answers for one case in Python; `visible_to` is the same rule as an
SQL condition, so a listing never loads cases it would then hide.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from gridsvc.accounts.users import Jurisdiction, jurisdiction_of
from gridsvc.kernel.models import Case, User


def case_area(case: Case) -> str:
    """The most specific area of a case: its grid, or (located nowhere) its township or county."""
    return case.grid_code or case.township_code or case.county_code or ""


def case_area_sql() -> sa.ColumnElement[str]:
    """`case_area` as an SQL expression on `Case`."""
    return sa.func.coalesce(Case.grid_code, Case.township_code, Case.county_code, "")


def can_see(session: Session, user: User, case: Case) -> bool:
    jurisdiction = jurisdiction_of(session, user)
    if case.reporter_id == user.id or jurisdiction.covers_area(case_area(case)):
        return True
    if case.department_code and jurisdiction.covers_department(case.department_code):
        return True
    merged = sa.select(Case.id).where(Case.merged_into_id == case.id, Case.reporter_id == user.id).limit(1)
    return session.scalar(merged) is not None


def visible_to(session: Session, user: User) -> sa.ColumnElement[bool]:
    """An SQL condition on `Case` that holds exactly for the cases `can_see` allows."""
    jurisdiction = jurisdiction_of(session, user)
    if jurisdiction.everywhere:
        return sa.true()
    absorbed = aliased(Case)
    followed = sa.select(absorbed.merged_into_id).where(absorbed.reporter_id == user.id,
                                                        absorbed.merged_into_id.is_not(None))
    departments = (Case.department_code == jurisdiction.department_code if jurisdiction.department_code is not None
                   else sa.false())
    return sa.or_(Case.reporter_id == user.id, Case.id.in_(followed), in_area_of(jurisdiction), departments)


def in_area_of(jurisdiction: Jurisdiction) -> sa.ColumnElement[bool]:
    """An SQL condition on `Case`: its area lies in the jurisdiction's area or grids (`covers_area`)."""
    if jurisdiction.everywhere:
        return sa.true()
    if jurisdiction.area_prefix is not None:
        return case_area_sql().startswith(jurisdiction.area_prefix, autoescape=True)
    if jurisdiction.grid_codes:
        return Case.grid_code.in_(sorted(jurisdiction.grid_codes))
    return sa.false()


def visible_numbers(session: Session, user: User, numbers: set[str]) -> set[str]:
    """The tracking numbers among `numbers` of cases the user may open."""
    if not numbers:
        return set()
    return set(session.scalars(sa.select(Case.tracking_no).where(Case.tracking_no.in_(sorted(numbers)),
                                                                 visible_to(session, user))))


def record_data_as_shown(session: Session, user: User, entries: list[dict]) -> list[dict]:
    """Record entries' `data` as the user may read it: the possible duplicates that intake noted lie
    near the report, whatever its township, so a reporter from elsewhere would learn other townships'
    case numbers from their own report's record. Only those the user may open are shown (the stored,
    sealed entry keeps them all: `gridsvc cases verify-record` checks what is stored)."""
    hinted = {number for data in entries for number in (data or {}).get("possible_duplicates", [])}
    visible = visible_numbers(session, user, hinted)
    return [
        {**data, "possible_duplicates": [n for n in data["possible_duplicates"] if n in visible]}
        if data and "possible_duplicates" in data else data
        for data in entries
    ]
