"""The phone's lists: what I reported, what waits for my verification, my department's open tasks."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.accounts import jurisdiction_of
from gridsvc.case_access import in_area_of
from gridsvc.models import OPEN_STATUSES, Case, User

LIST_LIMIT = 200


def my_reports(session: Session, user: User, open_only: bool) -> list[Case]:
    """The cases I reported, newest first (a merged one shows as merged, with the case it joined)."""
    query = sa.select(Case).where(Case.reporter_id == user.id)
    if open_only:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    return list(session.scalars(query.order_by(Case.received_at.desc(), Case.id.desc()).limit(LIST_LIMIT)))


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
