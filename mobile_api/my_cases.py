"""The phone's lists: what I reported, what waits for my verification, my department's open tasks."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.accounts.users import jurisdiction_of
from gridsvc.cases.access import in_area_of
from gridsvc.kernel.errors import DomainError
from gridsvc.kernel.models import OPEN_STATUSES, Case, User

LIST_LIMIT = 200  # the longest list in one answer
PAGE = 50  # my reports a page holds unless the phone asks for another `limit`


class UnknownCursor(DomainError, ValueError):
    """`before` names no report of the caller's: the `before` parameter's fault."""

    field = "before"


@dataclass(frozen=True)
class ReportPage:
    total: int  # all my reports that match, on every page
    cases: list[Case]
    next: str | None  # the `before` of the following page; None on the last


def my_reports(session: Session, user: User, open_only: bool, limit: int, before: str | None = None) -> ReportPage:
    """One page of the cases I reported, newest first (a merged one shows as merged, with the case it joined).

    Why a cursor (`before`: the last case of the page before) and not an offset: the phone pages while
    it may still be reporting, and with `open_only` its cases close meanwhile; an offset would then show
    a case twice or skip one, while "older than that case" stays true of every case that was not shown."""
    mine = [Case.reporter_id == user.id]
    if open_only:
        mine.append(Case.status.in_(OPEN_STATUSES))
    total = session.scalar(sa.select(sa.func.count()).select_from(Case).where(*mine))
    query = sa.select(Case).where(*mine)
    if before is not None:
        query = query.where(_older_than(_cursor_case(session, user, before)))
    found = list(session.scalars(query.order_by(Case.received_at.desc(), Case.id.desc()).limit(limit + 1)))
    page = found[:limit]
    return ReportPage(total, page, page[-1].tracking_no if len(found) > limit else None)


def _cursor_case(session: Session, user: User, tracking_no: str) -> Case:
    case = session.scalar(sa.select(Case).where(Case.tracking_no == tracking_no, Case.reporter_id == user.id))
    if case is None:
        raise UnknownCursor(f"{tracking_no} is not one of your reports")
    return case


def _older_than(case: Case) -> sa.ColumnElement[bool]:
    """After `case` in the list's order (received_at, then id, both descending)."""
    return sa.or_(Case.received_at < case.received_at,
                  sa.and_(Case.received_at == case.received_at, Case.id < case.id))


def waiting_for_my_verification(session: Session, user: User) -> list[Case]:
    """Handled cases of my grids (a grid worker) or my area (a commander), oldest deadline first."""
    if user.role not in ("grid_worker", "township_commander", "administrator"):
        return []
    return list(session.scalars(
        sa.select(Case).where(Case.status == "handled", in_area_of(jurisdiction_of(session, user)))
        .order_by(Case.stage_due_at.asc(), Case.id.asc()).limit(LIST_LIMIT)
    ))


def my_tasks(session: Session, user: User) -> list[Case]:
    """My department's dispatched and in-hand cases, the nearest deadline first."""
    if user.department_code is None:
        return []
    return list(session.scalars(
        sa.select(Case).where(Case.department_code == user.department_code,
                              Case.status.in_(("dispatched", "handling")))
        .order_by(Case.stage_due_at.asc(), Case.id.asc()).limit(LIST_LIMIT)
    ))
