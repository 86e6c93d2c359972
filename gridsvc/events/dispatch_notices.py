"""Dispatch notices: a dispatch is a notice that the department which must act acknowledges.

When a case is dispatched (派遣, or 上报县级 to a county bureau) its notice starts: the
`case.dispatched` event asks for an acknowledgement (gridsvc.events.acks). Until someone of the
department acknowledges it, or accepts the case (签收), the deadline sweep re-sends it every
`dispatch_resend_minutes` (`dispatch_reminder`) and, once `dispatch_alert_minutes` have passed,
shows the township's commander that nobody has picked it up (`dispatch_unacknowledged`). Both are
record entries, so they are events too. The minutes are wall-clock minutes: a dispatch sent at
night is re-sent at night, to phones that are meant to be on duty.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from gridsvc.config import Settings
from gridsvc.models import Case, as_utc

REMINDER, UNACKNOWLEDGED = "dispatch_reminder", "dispatch_unacknowledged"


def restart(case: Case, now: datetime) -> None:
    """The case went to a (new) department: a new notice, waiting for its acknowledgement."""
    case.dispatched_at, case.dispatch_acked_at = now, None
    case.dispatch_reminded_at, case.dispatch_alerted = None, False


def acknowledge(case: Case, now: datetime) -> None:
    if case.status == "dispatched" and case.dispatch_acked_at is None:
        case.dispatch_acked_at = now


def waiting_condition(settings: Settings, now: datetime) -> sa.ColumnElement[bool]:
    """An SQL condition on `Case`: a notice is owed (`due` says which); the times are computed here, not in SQL."""
    resend_before = now - timedelta(minutes=settings.dispatch_resend_minutes)
    alert_before = now - timedelta(minutes=settings.dispatch_alert_minutes)
    return sa.and_(
        Case.status == "dispatched", Case.dispatched_at.is_not(None), Case.dispatch_acked_at.is_(None),
        sa.or_(
            sa.and_(Case.dispatch_alerted.is_(False), Case.dispatched_at <= alert_before),
            sa.and_(Case.dispatch_reminded_at.is_(None), Case.dispatched_at <= resend_before),
            Case.dispatch_reminded_at <= resend_before,
        ),
    )


def due(case: Case, settings: Settings, now: datetime) -> str | None:
    """The notice this case's dispatch owes now, if any (the alert first: it says more)."""
    if case.status != "dispatched" or case.dispatched_at is None or case.dispatch_acked_at is not None:
        return None
    sent = as_utc(case.dispatched_at)
    if not case.dispatch_alerted and now - sent >= timedelta(minutes=settings.dispatch_alert_minutes):
        return UNACKNOWLEDGED
    last = as_utc(case.dispatch_reminded_at) if case.dispatch_reminded_at else sent
    if now - last >= timedelta(minutes=settings.dispatch_resend_minutes):
        return REMINDER
    return None


def mark(case: Case, notice: str, now: datetime) -> dict:
    """Note the notice on the case; returns what its record entry says."""
    if notice == UNACKNOWLEDGED:
        case.dispatch_alerted = True
    case.dispatch_reminded_at = now
    return {"department": case.department_code, "team": case.team_code,
            "dispatched_at": as_utc(case.dispatched_at).isoformat(),
            "notify": ["township"] if notice == UNACKNOWLEDGED else ["department"]}
