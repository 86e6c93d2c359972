"""The clock of a case's current stage: when it is due, and when to warn that it soon will be.

Each stage has its own limit in working time (the calendar's office hours, the
official holidays and adjusted workdays): filing, dispatch and closing within
minutes (`filing_limit_minutes`, shorter for urgent cases); handling until
the case's handling deadline, which the category sets at intake and only an
approved extension moves; verification within `verify_limit_hours`. The
warning falls when `warn_at_fraction` of the stage's working time is used up.
Starting a stage clears the previous stage's warning and overdue marks: the
record keeps them.
"""

from __future__ import annotations

from datetime import datetime

from gridsvc.kernel.config import Settings
from gridsvc.kernel.models import Case, FINAL_STATUSES
from gridsvc.kernel.clock import as_utc
from gridsvc.worktime.calendar import WorkCalendar

_QUICK_STAGES = ("reported", "filed", "verified")  # filing, dispatch, closing
_HANDLING_STAGES = ("dispatched", "handling")


def stage_due(case: Case, calendar: WorkCalendar, settings: Settings, start: datetime) -> datetime | None:
    """When the stage the case is now in must be done, if it started at `start` (None: no limit)."""
    if case.status in _QUICK_STAGES:
        minutes = settings.urgent_filing_limit_minutes if case.urgent else settings.filing_limit_minutes
        return calendar.add_working_hours(start, minutes / 60.0)
    if case.status in _HANDLING_STAGES:
        return as_utc(case.handling_due_at)  # SQLite hands back naive UTC
    if case.status == "handled":
        return calendar.add_working_hours(start, settings.verify_limit_hours)
    if case.status in FINAL_STATUSES:
        return None
    raise ValueError(f"no clock for status {case.status!r}")


def start_stage(case: Case, calendar: WorkCalendar, settings: Settings, start: datetime) -> None:
    """Set the clock of the stage the case has just entered."""
    due = stage_due(case, calendar, settings, start)
    case.stage_due_at = due
    case.stage_warn_at = None if due is None else warn_time(calendar, settings, start, due)
    case.stage_warned = False
    case.overdue_level = 0


def warn_time(calendar: WorkCalendar, settings: Settings, start: datetime, due: datetime) -> datetime:
    """The moment `warn_at_fraction` of the working time from `start` to `due` is used up."""
    allowed = calendar.working_seconds_between(start, due)
    if allowed <= 0:
        return due
    return calendar.add_working_hours(start, settings.warn_at_fraction * allowed / 3600.0)
