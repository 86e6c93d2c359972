"""The numbers (统计) of the township command screen: what came in, what was closed, what is late.

Plain functions on a session, no Flask: `screen_numbers` answers for one user (only the cases
`gridsvc.cases.access.visible_to` lets them see), optionally inside one administrative area, for a
period [from, to) and for "today" and "now". docs/numbers.md defines every figure.

Days are China days (Asia/Shanghai). Moments are compared as stored (UTC, `UtcDateTime`), so the
SQL is the same on SQLite and PostgreSQL: no interval arithmetic, no time-zone functions; a day's
bounds are computed here and bound as parameters. Counting is done by the database, grouped so
that a county's cases come back as a few hundred rows at most; only working hours are computed
here (the work calendar is not in the database), over the cases closed in the period and the ten
most overdue ones.

"Overdue" has one meaning, the record's: the deadline sweep (gridsvc.cases.deadline_sweep) writes an
`overdue` entry into a case's record when a stage passes its due time, and sets the case's
`overdue_level`. A case is overdue now when its `overdue_level` is above 0; a closed case was
closed on time when its record holds no `overdue` entry at all, in any stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.accounts.users import area_prefix
from gridsvc.cases import view
from gridsvc.cases.access import case_area_sql, visible_to
from gridsvc.cases.search import UnknownArea
from gridsvc.kernel.errors import DomainError
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import (
    CASE_STATUSES, DOMAIN_NAMES_ZH, DOMAINS, OPEN_STATUSES, STATUS_NAMES_ZH, AdminUnit, Case, CaseEvent, CaseRating,
    Category, Department, User,
)
from gridsvc.worktime.calendar import CHINA, WorkCalendar, china_midnight

MAX_PERIOD = timedelta(days=92)  # a quarter: the trend has one row per day
WORST_OVERDUE = 10
OVERDUE_ACTION = "overdue"  # the record entry gridsvc.cases.deadline_sweep writes when a stage passes its due time


class PeriodError(DomainError, ValueError):
    """A period that cannot be counted; `field` names the offending input (`from` or `to`)."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason, field=field)


def month_start(moment: datetime) -> datetime:
    """The start of the China-time month `moment` lies in."""
    return china_midnight(as_utc(moment).astimezone(CHINA).date().replace(day=1))


def default_period(now: datetime, period_from: datetime | None = None,
                   period_to: datetime | None = None) -> tuple[datetime, datetime]:
    """The period a screen gets when it names none: from the start of the current China-time month
    to now. A `to` alone counts from the start of its own month; a `from` alone counts up to now."""
    period_to = as_utc(period_to if period_to is not None else now)
    if period_from is None:
        period_from = month_start(period_to - timedelta(microseconds=1))  # `to` itself is not counted
    return as_utc(period_from), period_to


def check_period(period_from: datetime, period_to: datetime, longest: timedelta = MAX_PERIOD) -> None:
    """PeriodError unless `to` lies after `from` and at most `longest` later (the indicators allow a year)."""
    if period_to <= period_from:
        raise PeriodError("to", "截止时间须晚于起始时间 / must lie after `from`")
    if period_to - period_from > longest:
        raise PeriodError("to", f"统计期不得超过 {longest.days} 天 / the period may span at most {longest.days} days")


def area_unit(session: Session, code: str) -> AdminUnit:
    unit = session.get(AdminUnit, code)
    if unit is None:
        raise UnknownArea(f"{code} is not a known administrative unit")
    return unit


def screen_numbers(session: Session, user: User | None, calendar: WorkCalendar, now: datetime, period_from: datetime,
                   period_to: datetime, area: str | None = None) -> dict:
    """Every figure of the command screen for `user`, as JSON-ready data (docs/numbers.md).

    `user` None counts every case inside `area` (the public statistics, gridsvc.oversight.public_figures): give an
    area then.

    Raises PeriodError for a period that is empty, reversed or longer than MAX_PERIOD, and
    gridsvc.cases.search.UnknownArea for an `area` that is no administrative unit.
    """
    now, period_from, period_to = as_utc(now), as_utc(period_from), as_utc(period_to)
    check_period(period_from, period_to)
    if user is None and area is None:
        raise ValueError("figures without a user are figures of an area: name one")
    scope = [] if user is None else [visible_to(session, user)]
    unit = None
    if area is not None:
        unit = area_unit(session, area)
        scope.append(case_area_sql().startswith(area_prefix(unit.code, unit.level), autoescape=True))
    period = _Period(period_from, period_to)
    groups = _groups(session, scope, period)
    closed_hours = _handling_hours(session, scope, period, calendar)
    decided = _decided(session, scope, period)
    names = _Names(session, groups)
    worst = _worst_overdue(session, scope, calendar, now, names)
    received = sum(g.received for g in groups)
    closed = sum(g.closed for g in groups)
    on_time = sum(g.on_time for g in groups)
    average = sum(closed_hours) / len(closed_hours) / 3600.0 if closed_hours else None
    return {
        "from": period_from.isoformat(),
        "to": period_to.isoformat(),
        "now": now.isoformat(),
        "area": None if unit is None else {"code": unit.code, "name": unit.name, "level": unit.level},
        "today": _today(session, scope, now),
        "period": {
            "received": received,
            "closed": closed,
            "closed_on_time": on_time,
            "rejected": decided.get("reject", 0),
            "merged": decided.get("merge", 0),
            "on_time_closure_rate": rate(on_time, closed),
            "average_handling_hours": None if average is None else round(average, 2),
            "satisfaction": _satisfaction(session, scope, period),
        },
        "by_status": _by_status(groups),
        "by_domain": _by_domain(groups, names),
        "by_category": _by_category(groups, names),
        "worst_overdue": worst,
        "trend": _trend(session, scope, period),
        "by_village": _rows(groups, lambda g: g.village, lambda code: {"code": code, "name": names.village(code)}),
        "by_department": _rows(groups, lambda g: g.department, names.department),
    }


def rate(part: int, whole: int) -> float | None:
    """A share, 0–1 to 4 places; None when there is nothing to divide (every rate of the screen and the indicators)."""
    return round(part / whole, 4) if whole else None


# -- the period's counts, grouped in SQL ---------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    start: datetime
    end: datetime

    def holds(self, column) -> sa.ColumnElement[bool]:
        return sa.and_(column >= self.start, column < self.end)


@dataclass(frozen=True)
class _Group:
    """The counts of the cases that share a village, department, category version and status."""

    village: str | None
    department: str | None
    category: str
    category_version: int
    status: str
    received: int  # received in the period
    closed: int  # closed in the period
    on_time: int  # closed in the period, with no `overdue` entry in the record
    open: int  # open now
    overdue: int  # open now with overdue_level > 0


def _count_if(condition) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, sa.literal_column("1")), else_=sa.literal_column("0"))),
                            0)


def _ever_overdue() -> sa.Exists:
    """Whether the case's record holds an `overdue` entry (correlated: one index lookup per case)."""
    return sa.exists().where(CaseEvent.case_id == Case.id, CaseEvent.action == OVERDUE_ACTION)


def _groups(session: Session, scope: list, period: _Period) -> list[_Group]:
    """One row per (village, department, category version, status) of the cases received or closed
    in the period or open now; the other cases are not read."""
    received = period.holds(Case.received_at)
    closed = sa.and_(Case.status == "closed", period.holds(Case.closed_at))
    is_open = Case.status.in_(OPEN_STATUSES)
    # the record is looked at only for the cases closed in the period (CASE evaluates lazily)
    on_time = sa.case((closed, sa.case((_ever_overdue(), sa.literal_column("0")), else_=sa.literal_column("1"))),
                      else_=sa.literal_column("0"))
    keys = (Case.village_code, Case.department_code, Case.category_code, Case.category_version, Case.status)
    rows = session.execute(
        sa.select(*keys, _count_if(received), _count_if(closed), sa.func.coalesce(sa.func.sum(on_time), 0),
                  _count_if(is_open), _count_if(sa.and_(is_open, Case.overdue_level > 0)))
        .where(*scope, sa.or_(received, closed, is_open))
        .group_by(*keys)
    )
    return [_Group(*(row[:5]), *(int(n) for n in row[5:])) for row in rows]


def _decided(session: Session, scope: list, period: _Period) -> dict[str, int]:
    """How many cases were rejected (不予立案) and merged (合并) in the period: by the time of the
    record entry that did it. Such a case never changes again, so only cases in those statuses are read."""
    rows = session.execute(
        sa.select(CaseEvent.action, sa.func.count(sa.distinct(Case.id)))
        .join(CaseEvent, CaseEvent.case_id == Case.id)
        .where(*scope, Case.status.in_(("rejected", "merged")), CaseEvent.action.in_(("reject", "merge")),
               period.holds(CaseEvent.at))
        .group_by(CaseEvent.action)
    )
    return {action: int(count) for action, count in rows}


def _satisfaction(session: Session, scope: list, period: _Period) -> dict:
    """满意度: the mean stars and the number of the ratings given in the period (gridsvc.cases.ratings)."""
    count, total = session.execute(
        sa.select(sa.func.count(CaseRating.id), sa.func.coalesce(sa.func.sum(CaseRating.stars), 0))
        .join(Case, Case.id == CaseRating.case_id).where(*scope, period.holds(CaseRating.rated_at))
    ).one()
    return {"ratings": int(count), "mean_stars": round(int(total) / int(count), 2) if count else None}


def _handling_hours(session: Session, scope: list, period: _Period, calendar: WorkCalendar) -> list[float]:
    """Working seconds from receipt to closing of each case closed in the period."""
    spans = session.execute(
        sa.select(Case.received_at, Case.closed_at)
        .where(*scope, Case.status == "closed", period.holds(Case.closed_at))
    ).all()
    if not spans:
        return []
    clock = WorkingClock(calendar, min(as_utc(r) for r, _ in spans), max(as_utc(c) for _, c in spans))
    return [clock.between(as_utc(received), as_utc(closed)) for received, closed in spans]


def _today(session: Session, scope: list, now: datetime) -> dict:
    day = now.astimezone(CHINA).date()
    today = _Period(china_midnight(day), china_midnight(day + timedelta(days=1)))
    is_open = Case.status.in_(OPEN_STATUSES)
    closed = sa.and_(Case.status == "closed", today.holds(Case.closed_at))
    row = session.execute(
        sa.select(_count_if(today.holds(Case.received_at)), _count_if(closed), _count_if(is_open),
                  _count_if(sa.and_(is_open, Case.overdue_level > 0)))
        .where(*scope, sa.or_(today.holds(Case.received_at), closed, is_open))
    ).one()
    received, closed_today, open_now, overdue_now = (int(n) for n in row)
    return {"day": day.isoformat(), "received": received, "closed": closed_today, "open": open_now,
            "overdue": overdue_now}


def _trend(session: Session, scope: list, period: _Period) -> list[dict]:
    """One row per China day of the period (the first and last only for their part inside it)."""
    first = period.start.astimezone(CHINA).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(CHINA).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    ends = [min(period.end, china_midnight(day + timedelta(days=1))) for day in days]
    counts = {}
    events = (("received", Case.received_at, ()), ("closed", Case.closed_at, (Case.status == "closed",)))
    for name, column, extra in events:
        # the day's number, by the first day end the moment lies before: the grouping stays in SQL
        day_index = sa.case(*((column < end, sa.literal_column(str(i))) for i, end in enumerate(ends)))
        inner = sa.select(day_index.label("day")).where(*scope, *extra, period.holds(column)).subquery()
        counts[name] = dict(session.execute(sa.select(inner.c.day, sa.func.count()).group_by(inner.c.day)).all())
    return [{"day": day.isoformat(), "received": int(counts["received"].get(i, 0)),
             "closed": int(counts["closed"].get(i, 0))} for i, day in enumerate(days)]


def _worst_overdue(session: Session, scope: list, calendar: WorkCalendar, now: datetime, names: "_Names") -> list:
    cases = list(session.scalars(
        sa.select(Case).where(*scope, Case.status.in_(OPEN_STATUSES), Case.overdue_level > 0)
        .order_by(Case.stage_due_at.is_(None), Case.stage_due_at, Case.id).limit(WORST_OVERDUE)
    ))
    names.add_cases(cases)
    rows = []
    for case in cases:
        due = as_utc(case.stage_due_at) if case.stage_due_at else None
        category = names.category(case.category_code, case.category_version)
        rows.append({
            **view.overdue_row(case),
            "category_name_zh": category.name_zh if category else None,
            "village_name": names.village(case.village_code),
            "department_name_zh": names.department(case.department_code)["name_zh"],
            "overdue_working_hours": round(calendar.working_seconds_between(due, now) / 3600.0, 2) if due else None,
        })
    return rows


# -- rolling the groups up ----------------------------------------------------------------------


def _by_status(groups: list[_Group]) -> list[dict]:
    counts = dict.fromkeys(CASE_STATUSES, 0)
    for g in groups:
        counts[g.status] += g.received
    return [{"status": s, "name_zh": STATUS_NAMES_ZH[s], "count": n} for s, n in counts.items()]


def _by_domain(groups: list[_Group], names: "_Names") -> list[dict]:
    counts = dict.fromkeys(DOMAINS, 0)
    for g in groups:
        category = names.category(g.category, g.category_version)
        if category is not None and g.received:
            counts[category.domain] += g.received
    return [{"code": d, "name_zh": DOMAIN_NAMES_ZH[d], "count": n} for d, n in counts.items()]


def _by_category(groups: list[_Group], names: "_Names") -> list[dict]:
    """Counts by category code; the names are those of the newest catalogue version among the cases."""
    counts: dict[str, int] = {}
    newest: dict[str, int] = {}
    for g in groups:
        if g.received:
            counts[g.category] = counts.get(g.category, 0) + g.received
            newest[g.category] = max(newest.get(g.category, 0), g.category_version)
    rows = []
    for code, count in counts.items():
        category = names.category(code, newest[code])
        rows.append({"code": code, "name_zh": category.name_zh if category else None,
                     "name_en": category.name_en if category else None, "count": count})
    return sorted(rows, key=lambda r: (-r["count"], r["code"]))


def _rows(groups: list[_Group], key, head) -> list[dict]:
    """Rows of figures by village or department, most received first, then by code (none last)."""
    totals: dict[str | None, list[int]] = {}
    for g in groups:
        t = totals.setdefault(key(g), [0, 0, 0, 0, 0])
        for i, n in enumerate((g.received, g.open, g.overdue, g.closed, g.on_time)):
            t[i] += n
    rows = [{**head(code), "received": t[0], "open": t[1], "overdue": t[2], "closed": t[3], "closed_on_time": t[4],
             "on_time_rate": rate(t[4], t[3])} for code, t in totals.items()]
    return sorted(rows, key=lambda r: (-r["received"], r["code"] is None, r["code"] or ""))


class _Names:
    """Names of the villages, departments and category versions the figures mention: one query each."""

    def __init__(self, session: Session, groups: list[_Group]):
        self.session = session
        self.villages: dict[str, str] = {}
        self.departments: dict[str, Department] = {}
        self.categories: dict[tuple[str, int], Category] = {}
        self._load({g.village for g in groups}, {g.department for g in groups}, {g.category for g in groups})

    def add_cases(self, cases: list[Case]) -> None:
        self._load({c.village_code for c in cases} - set(self.villages),
                   {c.department_code for c in cases} - set(self.departments),
                   {c.category_code for c in cases if (c.category_code, c.category_version) not in self.categories})

    def _load(self, villages: set, departments: set, categories: set) -> None:
        villages, departments, categories = villages - {None}, departments - {None}, categories - {None}
        if villages:
            query = sa.select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(sorted(villages)))
            self.villages.update((code, name) for code, name in self.session.execute(query))
        if departments:
            query = sa.select(Department).where(Department.code.in_(sorted(departments)))
            self.departments.update((d.code, d) for d in self.session.scalars(query))
        if categories:
            query = sa.select(Category).where(Category.code.in_(sorted(categories)))
            self.categories.update(((c.code, c.version), c) for c in self.session.scalars(query))

    def village(self, code: str | None) -> str | None:
        return self.villages.get(code) if code else None

    def department(self, code: str | None) -> dict:
        found = self.departments.get(code) if code else None
        return {"code": code, "name_zh": found.name_zh if found else None, "name_en": found.name_en if found else None}

    def category(self, code: str, version: int) -> Category | None:
        return self.categories.get((code, version))


# -- working time for many spans at once --------------------------------------------------------


class WorkingClock:
    """`WorkCalendar.working_seconds_between` for many spans: the office seconds before each day
    from `first` to `last` are summed once, so a span costs two look-ups, not a walk over its days."""

    def __init__(self, calendar: WorkCalendar, first: datetime, last: datetime):
        self.calendar = calendar
        self.first_day = as_utc(first).astimezone(CHINA).date()
        days = (as_utc(last).astimezone(CHINA).date() - self.first_day).days + 1
        per_day = calendar.office_hours.seconds_per_day
        self.workdays = [calendar.is_workday(self.first_day + timedelta(days=i)) for i in range(days)]
        self.before = [0.0]
        for workday in self.workdays:
            self.before.append(self.before[-1] + (per_day if workday else 0.0))

    def elapsed(self, moment: datetime) -> float:
        """Office seconds from the first day's midnight to `moment` (which must lie within the days)."""
        local = as_utc(moment).astimezone(CHINA)
        index = (local.date() - self.first_day).days
        if not 0 <= index < len(self.workdays):
            raise ValueError(f"{moment} lies outside the clock's days")
        total = self.before[index]
        if self.workdays[index]:
            for opens, closes in self.calendar.office_hours.periods:
                start = datetime.combine(local.date(), opens, tzinfo=CHINA)
                end = datetime.combine(local.date(), closes, tzinfo=CHINA)
                total += max(0.0, (min(end, local) - start).total_seconds())
        return total

    def between(self, start: datetime, end: datetime) -> float:
        return max(0.0, self.elapsed(end) - self.elapsed(start))
