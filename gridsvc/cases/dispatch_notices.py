"""Dispatch notices: a dispatch is a notice that the department which must act acknowledges.

When a case is dispatched (派遣, or 上报县级 to a county bureau) its notice starts: the
`case.dispatched` event asks for an acknowledgement (gridsvc.cases.acks). Until someone of the
department acknowledges it, or accepts the case (签收), the deadline sweep re-sends it every
`dispatch_resend_minutes` (`dispatch_reminder`) and, once `dispatch_alert_minutes` have passed,
shows the township's commander that nobody has picked it up (`dispatch_unacknowledged`); from
then on the commander follows it up and nothing more is re-sent. Both are record entries, so
they are events too. The minutes are wall-clock minutes: a dispatch sent at
night is re-sent at night, to phones that are meant to be on duty.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from gridsvc.kernel.config import Settings
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import Case

REMINDER, UNACKNOWLEDGED = "dispatch_reminder", "dispatch_unacknowledged"


def restart(case: Case, now: datetime) -> None:
    """The case went to a (new) department: a new notice, waiting for its acknowledgement."""
    case.dispatched_at, case.dispatch_acked_at = now, None
    case.dispatch_reminded_at, case.dispatch_alerted = None, False


def acknowledgement(case_id: int, sent_at: datetime, now: datetime) -> sa.Update:
    """The update that notes an acknowledgement of a dispatch notice sent at `sent_at`: only of the
    case's current dispatch (an old one, acknowledged late from a phone's queue, is not this one).
    A plain UPDATE, not through the ORM: acknowledging is not a change of the case, so it neither
    moves the case's row version nor fails when the sweep changed the case a moment before."""
    return (sa.update(Case)
            .where(Case.id == case_id, Case.status == "dispatched", Case.dispatch_acked_at.is_(None),
                   Case.dispatched_at <= sent_at)
            .values(dispatch_acked_at=now)
            .execution_options(synchronize_session=False))


def waiting_condition(settings: Settings, now: datetime) -> sa.ColumnElement[bool]:
    """An SQL condition on `Case`: a notice is owed (`due` says which); the times are computed here, not in SQL."""
    resend_before = now - timedelta(minutes=settings.dispatch_resend_minutes)
    alert_before = now - timedelta(minutes=settings.dispatch_alert_minutes)
    return sa.and_(
        Case.status == "dispatched", Case.dispatched_at.is_not(None), Case.dispatch_acked_at.is_(None),
        Case.dispatch_alerted.is_(False),
        sa.or_(
            Case.dispatched_at <= alert_before,
            sa.and_(Case.dispatch_reminded_at.is_(None), Case.dispatched_at <= resend_before),
            Case.dispatch_reminded_at <= resend_before,
        ),
    )


def due(case: Case, settings: Settings, now: datetime) -> str | None:
    """The notice this case's dispatch owes now, if any (the alert first: it says more)."""
    if (case.status != "dispatched" or case.dispatched_at is None or case.dispatch_acked_at is not None
            or case.dispatch_alerted):
        return None  # after the commander was shown it, the commander follows it up: no more re-sending
    sent = as_utc(case.dispatched_at)
    if now - sent >= timedelta(minutes=settings.dispatch_alert_minutes):
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


def pickup_due(case: Case, settings: Settings) -> datetime | None:
    """When a dispatched case (待签收) is late to be picked up: `dispatch_alert_minutes` after its dispatch, the
    moment the commander is shown that nobody did (None for a case not waiting for 签收)."""
    if case.status != "dispatched" or case.dispatched_at is None:
        return None
    return as_utc(case.dispatched_at) + timedelta(minutes=settings.dispatch_alert_minutes)
