"""The deadline sweep: warn before a stage's deadline, mark it overdue after, alert the county later.

Run it every minute or so (`gridsvc cases sweep`, from cron or a systemd timer).
For each open case it does at most one thing about its deadline, and only once per stage:

- `deadline_warning` when `warn_at_fraction` of the stage's working time is used up;
- `overdue` when the stage's deadline has passed: the township's commander must act
  (overdue level 1, what 督办 looks for);
- `county_alert` when the case is still overdue `county_alert_after_days` working days
  after its deadline: the county's supervisor is told (overdue level 2).

It also re-sends dispatches that nobody acknowledged (gridsvc.cases.dispatch_notices).
Each goes into the case's record, and so out as an event. It is safe to run from several processes at once: each case
is changed in its own transaction, guarded by the case's row version (optimistic locking) and
by the record's unique (case, seq), so when two sweeps reach a case together one commits and
the other backs off; running the sweep again finds nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from gridsvc.cases import record as case_record
from gridsvc.kernel.config import Settings
from gridsvc.cases import dispatch_notices
from gridsvc.kernel.models import OPEN_STATUSES, Case
from gridsvc.kernel.clock import as_utc
from gridsvc.worktime.calendar import WorkCalendar

# Who must finish each stage, and so is told first when its deadline nears.
STAGE_HOLDER = {
    "reported": "township", "filed": "township", "verified": "township",
    "dispatched": "department", "handling": "department", "handled": "grid_worker",
}


@dataclass
class SweepResult:
    warned: int = 0
    overdue: int = 0
    county_alerted: int = 0
    dispatch_reminders: int = 0
    dispatch_alerts: int = 0
    lost_races: int = 0  # cases another process or a person changed first


_COUNTED_AS = {"deadline_warning": "warned", "overdue": "overdue", "county_alert": "county_alerted",
               dispatch_notices.REMINDER: "dispatch_reminders", dispatch_notices.UNACKNOWLEDGED: "dispatch_alerts"}


def sweep(sessions: sessionmaker[Session], calendar: WorkCalendar, settings: Settings, now: datetime) -> SweepResult:
    now = as_utc(now)
    result = SweepResult()
    with sessions() as session:
        candidates = list(session.scalars(
            sa.select(Case.id).where(sa.or_(
                sa.and_(Case.status.in_(OPEN_STATUSES), Case.stage_due_at.is_not(None), sa.or_(
                    sa.and_(Case.stage_warned.is_(False), Case.stage_warn_at <= now),
                    sa.and_(Case.overdue_level == 0, Case.stage_due_at <= now),
                    Case.overdue_level == 1,
                )),
                dispatch_notices.waiting_condition(settings, now),
            )).order_by(Case.id)
        ))
    for case_id in candidates:  # the loop is the adapter here: one unit of work per case, committed by it
        with sessions() as session:
            case = session.get(Case, case_id)
            try:
                actions = sweep_case(session, case, calendar, settings, now)
                if not actions:
                    continue
                session.commit()
            except (StaleDataError, sa.exc.IntegrityError, sa.exc.OperationalError):
                # another sweep or a person changed the case first, or SQLite stayed locked past its
                # busy timeout: the case is looked at again on the next run
                session.rollback()
                result.lost_races += 1
                continue
            for action in actions:
                setattr(result, _COUNTED_AS[action], getattr(result, _COUNTED_AS[action]) + 1)
    return result


def sweep_case(session: Session, case: Case, calendar: WorkCalendar, settings: Settings, now: datetime) -> list[str]:
    """Do what the sweep owes one case now (a deadline action, a dispatch notice, or both): the actions
    taken. Flushes; the caller commits (the sweep's loop, one case per transaction)."""
    actions = [a for a in (_due_action(case, calendar, settings, now), dispatch_notices.due(case, settings, now))
               if a is not None]
    for action in actions:
        _apply(session, case, action, now)
    session.flush()
    return actions


def _due_action(case: Case, calendar: WorkCalendar, settings: Settings, now: datetime) -> str | None:
    """The one thing the sweep owes this case's deadline now, if any."""
    if case.status not in OPEN_STATUSES or case.stage_due_at is None:
        return None
    due = as_utc(case.stage_due_at)
    if case.overdue_level == 0 and due <= now:
        return "overdue"
    if case.overdue_level == 1 and calendar.add_working_days(due, settings.county_alert_after_days) <= now:
        return "county_alert"
    if case.overdue_level == 0 and not case.stage_warned and as_utc(case.stage_warn_at) <= now:
        return "deadline_warning"
    return None


def _apply(session: Session, case: Case, action: str, now: datetime) -> None:
    if action in (dispatch_notices.REMINDER, dispatch_notices.UNACKNOWLEDGED):
        data = dispatch_notices.mark(case, action, now)
    else:
        data = _mark_deadline(case, action)
    case_record.append(session, case, now, action, from_status=case.status, to_status=case.status, data=data)


def _mark_deadline(case: Case, action: str) -> dict:
    """Note a deadline action on the case; returns what its record entry says."""
    case.stage_warned = True
    if action == "overdue":
        case.overdue_level = 1
    elif action == "county_alert":
        case.overdue_level = 2
    holder = STAGE_HOLDER[case.status]
    notify = {"deadline_warning": [holder], "overdue": sorted({holder, "township"}), "county_alert": ["county"]}
    return {"stage": case.status, "due_at": as_utc(case.stage_due_at).isoformat(), "notify": notify[action]}
