"""The phone's lists: what I reported, what waits for my verification, my department's open tasks.

Each comes a page at a time (`limit`, then `next` sent back as `before`). My reports go newest first and
their cursor is a tracking number (received_at never changes). Tasks and verifications go by deadline,
the nearest first, and a case's deadline and status change while the phone pages (an extension is
granted, a task is handed in), so their cursor is the place in that order itself: the last row's stage
deadline and id (`deadline_cursor`), never a case to look up again. A case whose deadline moved across
the cursor meanwhile can be missed or shown twice; none that stayed put is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.accounts.users import jurisdiction_of
from gridsvc.cases.access import in_area_of
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.db import MAX_INTEGER
from gridsvc.kernel.errors import DomainError
from gridsvc.kernel.models import OPEN_STATUSES, Case, User

LIST_LIMIT = 200  # the longest list in one answer
PAGE = 50  # the cases a page holds unless the phone asks for another `limit`
_NO_DEADLINE = "none"
_DEADLINE_CURSOR = re.compile(r"(?P<due>[0-9]{8}T[0-9]{12}Z|none)\.(?P<id>[0-9]{1,12})")  # whole: fullmatch
CURSOR_MAX_LENGTH = 40


class UnknownCursor(DomainError, ValueError):
    """`before` names no report of the caller's (or is no `next` of a list by deadline): the `before`
    parameter's fault."""

    field = "before"


@dataclass(frozen=True)
class CasePage:
    """One page of any of the phone's lists."""

    total: int  # all the cases that match, on every page
    cases: list[Case]
    next: str | None  # the `before` of the following page; None on the last


def my_reports(session: Session, user: User, open_only: bool, limit: int, before: str | None = None) -> CasePage:
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
    return CasePage(total, page, page[-1].tracking_no if len(found) > limit else None)


def _cursor_case(session: Session, user: User, tracking_no: str) -> Case:
    case = session.scalar(sa.select(Case).where(Case.tracking_no == tracking_no, Case.reporter_id == user.id))
    if case is None:
        raise UnknownCursor(f"{tracking_no} is not one of your reports")
    return case


def _older_than(case: Case) -> sa.ColumnElement[bool]:
    """After `case` in the list's order (received_at, then id, both descending)."""
    return sa.or_(Case.received_at < case.received_at,
                  sa.and_(Case.received_at == case.received_at, Case.id < case.id))


def waiting_for_my_verification(session: Session, user: User, limit: int = PAGE,
                                before: str | None = None) -> CasePage:
    """One page of the handled cases of my grids (a grid worker) or my area (a commander), the nearest
    deadline first."""
    if user.role not in ("grid_worker", "township_commander", "administrator"):
        return _by_deadline(session, [sa.false()], limit, before)
    return _by_deadline(session, [Case.status == "handled", in_area_of(jurisdiction_of(session, user))],
                        limit, before)


def my_tasks(session: Session, user: User, limit: int = PAGE, before: str | None = None) -> CasePage:
    """One page of my department's dispatched and in-hand cases, the nearest deadline first."""
    if user.department_code is None:
        return _by_deadline(session, [sa.false()], limit, before)
    return _by_deadline(session, [Case.department_code == user.department_code,
                                  Case.status.in_(("dispatched", "handling"))], limit, before)


# The lists by deadline: the nearest first, cases without one (none should be in these statuses) last, then by
# id. `IS NULL` first spells "nulls last" alike on both backends (PostgreSQL and SQLite sort NULLs apart).
_DEADLINE_ORDER = (Case.stage_due_at.is_(None), Case.stage_due_at.asc(), Case.id.asc())


def _by_deadline(session: Session, where: list, limit: int, before: str | None) -> CasePage:
    after = parse_deadline_cursor(before) if before is not None else None  # a bad cursor, before any query
    total = session.scalar(sa.select(sa.func.count()).select_from(Case).where(*where))
    query = sa.select(Case).where(*where)
    if after is not None:
        query = query.where(_later_than(*after))
    found = list(session.scalars(query.order_by(*_DEADLINE_ORDER).limit(limit + 1)))
    page = found[:limit]
    return CasePage(total, page, deadline_cursor(page[-1]) if len(found) > limit else None)


def deadline_cursor(case: Case) -> str:
    """The place of `case` in a list by deadline: its stage deadline (UTC, to the microsecond) and its id,
    e.g. `20260511T013000000000Z.42`, or `none.42` for a case without a deadline."""
    due = as_utc(case.stage_due_at) if case.stage_due_at is not None else None
    return f"{due:%Y%m%dT%H%M%S%fZ}.{case.id}" if due else f"{_NO_DEADLINE}.{case.id}"


def parse_deadline_cursor(text: str) -> tuple[datetime | None, int]:
    """(deadline or None, id) from a `deadline_cursor`; UnknownCursor for anything else."""
    found = _DEADLINE_CURSOR.fullmatch(text)
    if found is None or int(found["id"]) > MAX_INTEGER:
        raise UnknownCursor("not the `next` of a page of this list")
    if found["due"] == _NO_DEADLINE:
        return None, int(found["id"])
    try:
        due = datetime.strptime(found["due"], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise UnknownCursor("not the `next` of a page of this list") from None
    return due, int(found["id"])


def _later_than(due: datetime | None, case_id: int) -> sa.ColumnElement[bool]:
    """After the place (due, case_id) in `_DEADLINE_ORDER`."""
    if due is None:
        return sa.and_(Case.stage_due_at.is_(None), Case.id > case_id)
    return sa.or_(Case.stage_due_at.is_(None), Case.stage_due_at > due,
                  sa.and_(Case.stage_due_at == due, Case.id > case_id))
