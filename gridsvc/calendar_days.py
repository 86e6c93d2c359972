"""Days declared by an administrator, and each process's work calendar built from them.

`chinese-calendar` knows a year's holidays and adjusted workdays (调休) only
after a release carries the State Council's notice; before that, and for local
decisions (a day off for a flood), an administrator stores days here
(`gridsvc calendar set`). Every process re-reads them at most every
`index_refresh_seconds`, so a day stored from the CLI reaches running servers
without a restart and without a query per request.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.models import CalendarDay
from gridsvc.worktime import OfficeHours, WorkCalendar


def set_day(session: Session, day: date, workday: bool, note: str | None, at: datetime) -> None:
    session.merge(CalendarDay(day=day, workday=workday, note=note, set_at=at))


def unset_day(session: Session, day: date) -> bool:
    """Forget a declared day (the official calendar decides again); False if none was stored."""
    return session.execute(sa.delete(CalendarDay).where(CalendarDay.day == day)).rowcount > 0


def declared_days(session: Session, year: int | None = None) -> list[CalendarDay]:
    query = sa.select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        query = query.where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    return list(session.scalars(query))


class CalendarCache:
    """One process's work calendar: the office hours and the declared days, re-read now and then."""

    def __init__(self, sessions: sessionmaker[Session], office_hours: OfficeHours, refresh_seconds: float) -> None:
        self._sessions = sessions
        self._office_hours = office_hours
        self._refresh_seconds = refresh_seconds
        self._calendar: WorkCalendar | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> WorkCalendar:
        calendar = self._calendar
        if calendar is not None and time.monotonic() - self._checked_at < self._refresh_seconds:
            return calendar
        with self._lock:
            with self._sessions() as session:
                overrides = {d.day: d.workday for d in declared_days(session)}
            if self._calendar is None or dict(self._calendar.overrides) != overrides:
                self._calendar = WorkCalendar(self._office_hours, overrides)
            self._checked_at = time.monotonic()
            return self._calendar
