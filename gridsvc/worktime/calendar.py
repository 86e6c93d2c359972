"""Working time on China's official calendar: deadlines in working hours and working days.

"限时办结" deadlines are counted in working time: office hours on working days,
where working days follow the State Council's yearly notice (public holidays
off, adjusted workdays 调休 on, even on a Saturday or Sunday). The notice's
data come from the `chinese-calendar` package (chinesecalendar on PyPI),
which covers each year once it has been announced. For a year it does not
cover yet, Monday–Friday are taken as working days and `is_official` says so;
`overrides` can declare such days early (not yet stored anywhere).

A working day is one day's office hours: "3 working days" from Thursday 10:00
ends at the same office time three working days later. All computation is in
China's time zone (Asia/Shanghai); any aware datetime may come in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Mapping
from zoneinfo import ZoneInfo

import chinese_calendar

from gridsvc.kernel.clock import as_utc

CHINA = ZoneInfo("Asia/Shanghai")
# How far ahead a deadline may lie: far beyond the longest handling limit (250
# working days); a search that runs past it means the calendar has no working time.
_SEARCH_DAYS = 3 * 366


@dataclass(frozen=True)
class OfficeHours:
    """The office periods of a working day, in China time. Default: a township office's day."""

    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))

    def __post_init__(self) -> None:
        previous_end = time(0, 0)
        for start, end in self.periods:
            if not previous_end <= start < end:
                raise ValueError("office periods must be increasing and not overlap")
            previous_end = end

    @classmethod
    def parse(cls, text: str) -> "OfficeHours":
        """Office hours as `08:30-12:00,13:30-17:30` (the GRIDSVC_OFFICE_HOURS setting)."""
        try:
            periods = tuple(
                (time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
                for start, end in (part.split("-") for part in text.split(","))
            )
        except ValueError:
            raise ValueError(f"office hours must look like 08:30-12:00,13:30-17:30, not {text!r}") from None
        return cls(periods)

    @property
    def seconds_per_day(self) -> float:
        return sum(_seconds(start, end) for start, end in self.periods)


def china_midnight(day: date) -> datetime:
    """The first moment of a China day (00:00 Asia/Shanghai): where every day-based figure starts."""
    return datetime.combine(day, time(0), tzinfo=CHINA)


def china_day(moment: datetime | None) -> str | None:
    """The China day of a moment, ISO (what the public is told: a day, not a time)."""
    return as_utc(moment).astimezone(CHINA).date().isoformat() if moment else None


def _seconds(start: time, end: time) -> float:
    return (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds()


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days, and how much office time lies between two moments."""

    office_hours: OfficeHours = OfficeHours()
    # Days declared by an administrator (True: a working day), taking precedence over the package.
    overrides: Mapping[date, bool] = field(default_factory=dict)

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:  # a year the package has no notice for yet
            return day.weekday() < 5

    def is_official(self, day: date) -> bool:
        """True when the day's status comes from the official notice or an override, not a guess."""
        if day in self.overrides:
            return True
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of office time after `start` (counting from the next office opening)."""
        return self._add_seconds(start, hours * 3600.0)

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The moment `days` days' worth of office time after `start`."""
        return self._add_seconds(start, days * self.office_hours.seconds_per_day)

    def add(self, start: datetime, value: float, unit: str) -> datetime:
        """Add a limit as the catalogue states it: `value` working 'hours' or 'days'."""
        if unit == "hours":
            return self.add_working_hours(start, value)
        if unit == "days":
            return self.add_working_days(start, value)
        raise ValueError(f"unknown working-time unit {unit!r} (hours or days)")

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Office time between two moments (0 if `end` is not after `start`)."""
        start, end = _local(start), _local(end)
        total = 0.0
        days = max(0, (end.date() - start.date()).days + 1)
        for opens, closes in self._office_periods(start.date(), days):
            total += max(0.0, (min(closes, end) - max(opens, start)).total_seconds())
        return total

    def _add_seconds(self, start: datetime, seconds: float) -> datetime:
        if not 0 <= seconds < math.inf:
            raise ValueError("working time to add must be a finite amount, not negative")
        start = _local(start)
        remaining = seconds
        for opens, closes in self._office_periods(start.date(), _SEARCH_DAYS):
            if closes <= start:
                continue
            begin = max(opens, start)
            available = (closes - begin).total_seconds()
            if remaining <= available:
                return begin + timedelta(seconds=remaining)
            remaining -= available
        raise ValueError("the deadline lies more than three years ahead: check the limit and the calendar overrides")

    def _office_periods(self, first_day: date, days: int):
        """(opens, closes) of every office period of the `days` days from `first_day` on."""
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            if not self.is_workday(day):
                continue
            for opens, closes in self.office_hours.periods:
                yield (
                    datetime.combine(day, opens, tzinfo=CHINA),
                    datetime.combine(day, closes, tzinfo=CHINA),
                )


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("working time needs aware datetimes (a time zone), not naive ones")
    return moment.astimezone(CHINA)
