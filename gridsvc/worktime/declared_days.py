"""Days declared by an administrator, and each process's work calendar built from them.

`chinese-calendar` knows a year's holidays and adjusted workdays (调休) only
after a release carries the State Council's notice; before that, and for local
decisions (a day off for a flood), an administrator stores days here
(`gridsvc calendar set`). Every process re-reads them at most every
`index_refresh_seconds`, so a day stored from the CLI reaches running servers
without a restart and without a query per request.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.kernel.models import CalendarDay
from gridsvc.kernel.reloading import Reloading
from gridsvc.worktime.calendar import OfficeHours, WorkCalendar


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


def calendar_cache(sessions: sessionmaker[Session], office_hours: OfficeHours,
                   refresh_seconds: float) -> Reloading[WorkCalendar]:
    """One process's work calendar: the office hours and the declared days, re-read now and then."""
    return Reloading(
        sessions, refresh_seconds,
        version=lambda session: tuple((d.day, d.workday) for d in declared_days(session)),
        build=lambda session, days: WorkCalendar(office_hours, dict(days)),
    )
