"""Indicators (考核指标) per township, village, grid, department or grid worker, for any period.

`indicator_table` reads the case records (gridsvc.cases.record) of the cases a user may see and
answers a table: one row per unit of the chosen level, a total, a score and a rank. Every figure
is defined in docs/indicators.md and comes from the record as it stood at the end of the period:
entries made after `to` are not read, so the figures of a past period do not change when a case
moves on later (a case is counted where it is located now).

The record is walked case by case in Python (`_walk`): whether a dispatch was sent back, or a
handling round went overdue, depends on the order of entries, which SQL cannot say portably. The
database picks the cases (those received in the period or with an entry in it) and hands back
their entries of the kinds that matter, in one query. Patrol figures come from the grid workers'
tracks, counted once per worker and day (gridsvc.patrols.days).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.patrols import days as patrol_days
from gridsvc.accounts.users import area_prefix, jurisdiction_of
from gridsvc.cases.access import case_area_sql, visible_to
from gridsvc.kernel.config import Settings
from gridsvc.geo.locate import GridIndex
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import AdminUnit, Case, CaseEvent, Department, GridCell, User
from gridsvc.oversight.numbers import OVERDUE_ACTION, WorkingClock, area_unit, check_period, rate
from gridsvc.worktime.calendar import CHINA, WorkCalendar, china_midnight

LEVELS = ("township", "village", "grid", "department", "grid_worker")
MAX_PERIOD = timedelta(days=366)  # a year: the annual assessment (年度考核)
HANDLING_STAGES = ("dispatched", "handling")  # the department's stages: the handling deadline runs
NOT_ACCEPTED = ("rejected", "merged")
P90 = 0.9

# The record entries the walk reads; the others (签收, 到达现场, 延期, 督办, reminders) change no figure.
_READ = ("report", "file", "reject", "merge", "self_handle", "escalate", "dispatch", "send_back", "feedback",
         "verify", "rework", "close", "reopen", "rate", OVERDUE_ACTION)
# Entries after which the department named in their data has the case.
_HANDS_TO = ("report", "file", "dispatch", "escalate", "reopen")
# The score: weights of the rates (sum 100). Satisfaction weighs most, as the seed asks (加大群众满意度权重).
SCORE_WEIGHTS = {
    "on_time_filing_rate": 10,
    "dispatch_accuracy_rate": 10,
    "on_time_handling_rate": 15,
    "closure_rate": 10,
    "on_time_closure_rate": 20,
    "rework_rate": 10,  # counted as 1 − rate: fewer reworks score higher
    "satisfaction": 25,  # (mean stars − 1) / 4
}


@dataclass(frozen=True)
class Column:
    key: str
    name_zh: str
    name_en: str
    kind: str = "count"  # count | rate | hours | stars | km | text | score


# The columns of a row, in the order of the table and its exports (docs/indicators.md defines each).
COLUMNS = (
    Column("code", "编码", "code", "text"),
    Column("name", "名称", "name", "text"),
    Column("reported", "上报数", "cases reported"),
    Column("filing_decisions", "立案审核数", "filing decisions"),
    Column("filed_on_time", "按时立案审核数", "filing decisions on time"),
    Column("on_time_filing_rate", "按时立案率", "on-time filing rate", "rate"),
    Column("dispatches", "派遣数", "dispatches"),
    Column("dispatches_kept", "准确派遣数", "dispatches not sent back"),
    Column("dispatch_accuracy_rate", "准确派遣率", "dispatch accuracy rate", "rate"),
    Column("handled", "处置数", "handlings fed back"),
    Column("handled_on_time", "按期处置数", "handlings on time"),
    Column("on_time_handling_rate", "按期处置率", "on-time handling rate", "rate"),
    Column("accepted", "受理数", "cases accepted"),
    Column("accepted_closed", "已结案数", "accepted cases closed"),
    Column("closure_rate", "结案率", "closure rate", "rate"),
    Column("closed", "结案数", "cases closed"),
    Column("closed_on_time", "按期结案数", "closed on time"),
    Column("closed_overdue", "超期结案数", "closed overdue"),
    Column("on_time_closure_rate", "按期结案率", "on-time closure rate", "rate"),
    Column("overdue", "超期数", "cases gone overdue"),
    Column("verifications", "核查数", "verifications"),
    Column("reworks", "返工数", "reworks"),
    Column("rework_rate", "返工率", "rework rate", "rate"),
    Column("reopened", "评价重办数", "reopened after a bad rating"),
    Column("average_handling_hours", "平均处置时长(工作小时)", "average handling time (working hours)", "hours"),
    Column("p90_handling_hours", "处置时长P90(工作小时)", "p90 handling time (working hours)", "hours"),
    Column("ratings", "评价数", "ratings"),
    Column("mean_stars", "满意度(星)", "mean stars", "stars"),
    Column("patrol_km", "巡查里程(公里)", "patrol distance (km)", "km"),
    Column("patrol_grid_days", "巡查网格工作日", "grid working days patrolled"),
    Column("patrol_coverage", "巡查覆盖率", "patrol coverage", "rate"),
    Column("score", "综合得分", "score", "score"),
    Column("rank", "排名", "rank"),
)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def whole_days(self) -> list[date]:
        """The China days wholly inside the period: the patrol figures' days."""
        first = as_utc(self.start).astimezone(CHINA).date()
        if china_midnight(first) < self.start:
            first += timedelta(days=1)
        days = []
        while china_midnight(first + timedelta(days=1)) <= self.end:
            days.append(first)
            first += timedelta(days=1)
        return days

    def working_days(self, calendar: WorkCalendar) -> list[date]:
        return [day for day in self.whole_days() if calendar.is_workday(day)]


# -- what a case's record says about the period ----------------------------------------------


@dataclass(frozen=True)
class Item:
    """One counted thing: a figure, the case it belongs to, the department it is charged to (if any)."""

    figure: str  # reported, filing, dispatch, handling, accepted, closed, overdue, verification, reopened, rating
    case_id: int
    department: str | None
    good: bool = True  # on time, kept, closed, not reworked: what the rate counts
    value: float | None = None  # working hours of a closed case, stars of a rating


@dataclass
class _Entry:
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    data: dict


def _walk(case, entries: list[_Entry], period: Period, clock: Callable[[datetime, datetime], float]
          ) -> Iterable[Item]:
    """The items one case gives the period, from its record up to the period's end (docs/indicators.md)."""
    holder = None  # the department that has the case
    filing_late = round_late = False  # an `overdue` entry in the filing stage / the current handling round
    ever_late = False
    pending_dispatch: _Entry | None = None  # the last dispatch, until it is sent back or superseded
    status, accepted, closing = None, False, None
    for e in entries:
        inside = period.holds(e.at)
        if e.action == OVERDUE_ACTION:
            ever_late = True
            handling = e.from_status in HANDLING_STAGES
            if inside:
                yield Item("overdue", case.id, holder if handling else None)
                # a stage gone overdue is counted late now, once, whatever happens to it later
                if e.from_status == "reported" and not filing_late:
                    yield Item("filing", case.id, None, False)
                if handling and not round_late:
                    yield Item("handling", case.id, holder, False)
            filing_late = filing_late or e.from_status == "reported"
            round_late = round_late or handling
            continue
        if e.action == "merge":
            accepted = False  # 合并 after 立案 too: the case lives on in the one it joined
        if e.from_status == "reported" and e.to_status != "reported":  # 立案, 不予立案, 合并, 自行处置, 上报县级
            accepted = e.to_status not in NOT_ACCEPTED
            if inside and not filing_late:
                yield Item("filing", case.id, None)
        if e.action in ("dispatch", "escalate", "send_back") and pending_dispatch is not None:
            if period.holds(pending_dispatch.at):
                yield Item("dispatch", case.id, pending_dispatch.data.get("department"), e.action != "send_back")
            pending_dispatch = None
        if e.action in _HANDS_TO and "department" in e.data:
            holder = e.data["department"]
        if e.action in ("dispatch", "escalate", "reopen", "rework"):
            round_late = False  # a new handling round: its own deadline
        if e.action == "dispatch":
            pending_dispatch = e
        elif e.action in ("send_back", "self_handle"):
            holder = None  # no department has it: sent back, or fixed on the spot by the grid worker
        elif e.action == "feedback" and inside and not round_late:
            yield Item("handling", case.id, holder)
        elif e.action in ("verify", "rework") and inside:
            yield Item("verification", case.id, holder, e.action == "verify")
        elif e.action == "reopen" and inside:
            yield Item("reopened", case.id, holder)
        elif e.action == "rate" and inside:
            yield Item("rating", case.id, holder, value=float(e.data["stars"]))
        if e.to_status == "closed" and e.from_status != "closed" and inside:
            closing = Item("closed", case.id, holder, not ever_late, clock(as_utc(case.received_at), e.at) / 3600.0)
        if e.to_status is not None:
            status = e.to_status
    if pending_dispatch is not None and period.holds(pending_dispatch.at):
        yield Item("dispatch", case.id, pending_dispatch.data.get("department"), True)
    if closing is not None:
        yield closing  # the last closing in the period, when a case was closed, reopened and closed again
    if period.holds(as_utc(case.received_at)):
        yield Item("reported", case.id, holder)
        if accepted:
            yield Item("accepted", case.id, holder, status == "closed")


# -- adding the items up -----------------------------------------------------------------------


@dataclass
class Tally:
    """The items of one row."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    good: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    overdue_cases: set[int] = field(default_factory=set)
    hours: list[float] = field(default_factory=list)
    stars: list[float] = field(default_factory=list)

    def add(self, item: Item) -> None:
        if item.figure == "overdue":
            self.overdue_cases.add(item.case_id)
            return
        self.counts[item.figure] += 1
        self.good[item.figure] += item.good
        if item.figure == "closed":
            self.hours.append(item.value)
        elif item.figure == "rating":
            self.stars.append(item.value)

    def figures(self) -> dict:
        c, g = self.counts, self.good
        hours = sorted(self.hours)
        return {
            "reported": c["reported"],
            "filing_decisions": c["filing"],
            "filed_on_time": g["filing"],
            "on_time_filing_rate": rate(g["filing"], c["filing"]),
            "dispatches": c["dispatch"],
            "dispatches_kept": g["dispatch"],
            "dispatch_accuracy_rate": rate(g["dispatch"], c["dispatch"]),
            "handled": c["handling"],
            "handled_on_time": g["handling"],
            "on_time_handling_rate": rate(g["handling"], c["handling"]),
            "accepted": c["accepted"],
            "accepted_closed": g["accepted"],
            "closure_rate": rate(g["accepted"], c["accepted"]),
            "closed": c["closed"],
            "closed_on_time": g["closed"],
            "closed_overdue": c["closed"] - g["closed"],
            "on_time_closure_rate": rate(g["closed"], c["closed"]),
            "overdue": len(self.overdue_cases),
            "verifications": c["verification"],
            "reworks": c["verification"] - g["verification"],
            "rework_rate": rate(c["verification"] - g["verification"], c["verification"]),
            "reopened": c["reopened"],
            "average_handling_hours": round(sum(hours) / len(hours), 2) if hours else None,
            "p90_handling_hours": round(hours[math.ceil(P90 * len(hours)) - 1], 2) if hours else None,
            "ratings": len(self.stars),
            "mean_stars": round(sum(self.stars) / len(self.stars), 2) if self.stars else None,
        }


def score(figures: dict) -> float | None:
    """综合得分 0–100: the weighted mean of the rates the row has (SCORE_WEIGHTS); None when it has none."""
    values = {
        "on_time_filing_rate": figures["on_time_filing_rate"],
        "dispatch_accuracy_rate": figures["dispatch_accuracy_rate"],
        "on_time_handling_rate": figures["on_time_handling_rate"],
        "closure_rate": figures["closure_rate"],
        "on_time_closure_rate": figures["on_time_closure_rate"],
        "rework_rate": None if figures["rework_rate"] is None else 1 - figures["rework_rate"],
        "satisfaction": None if figures["mean_stars"] is None else (figures["mean_stars"] - 1) / 4,
    }
    weights = {key: SCORE_WEIGHTS[key] for key, value in values.items() if value is not None}
    if not weights:
        return None
    return round(100 * sum(values[key] * w for key, w in weights.items()) / sum(weights.values()), 2)


def worker_score(figures: dict) -> float | None:
    """A grid worker's score: their patrol coverage, 0–100. The case figures of their row measure what
    others did with their reports, and the only ratings of those cases are their own."""
    coverage = figures["patrol_coverage"]
    return None if coverage is None else round(100 * coverage, 2)


def ranked(rows: list[dict]) -> list[dict]:
    """The rows by score, best first, with their rank (equal scores share one: 1, 1, 3); rows without
    a score come last, unranked, by code."""
    scored = sorted((r for r in rows if r["score"] is not None), key=lambda r: (-r["score"], _by_code(r)))
    rank = 0
    for i, row in enumerate(scored):
        if i == 0 or row["score"] != scored[i - 1]["score"]:
            rank = i + 1
        row["rank"] = rank
    rest = sorted((r for r in rows if r["score"] is None), key=_by_code)
    for row in rest:
        row["rank"] = None
    return scored + rest


def _by_code(row: dict) -> tuple[int, str]:
    return len(row["code"]), row["code"]  # grid workers' ids in numeric order (9 before 10)


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The cases counted (SQL conditions) and whose rows the caller may have: the units of an area
    (a code prefix; '' everywhere), or, for a caller without an area, only their own department,
    their own grids and themselves."""

    cases: list
    prefix: str | None
    department: str | None = None  # a department's people: their department's row
    grid_codes: frozenset[str] = frozenset()  # a grid worker: their grids' rows
    worker: str | None = None  # a grid worker: their own row

    def may_have(self, level: str, code: str) -> bool:
        """Whether a row of `level` for `code` is the caller's to see."""
        if self.prefix is not None:
            return level in ("department", "grid_worker") or code.startswith(self.prefix)
        return {"department": code == self.department, "grid_worker": code == self.worker,
                "grid": code in self.grid_codes}.get(level, True)


def indicator_table(session: Session, user: User, calendar: WorkCalendar, index: GridIndex, settings: Settings,
                    period: Period, level: str, area: str | None = None) -> dict:
    """The indicators of `level` rows for what `user` may see, inside `area` if given (docs/indicators.md).

    Raises gridsvc.oversight.numbers.PeriodError for a period that is empty, reversed or longer than MAX_PERIOD, and
    gridsvc.cases.search.UnknownArea for an `area` that is no administrative unit. Keeps the patrol days
    it had to count (gridsvc.patrols.days): flushes; the caller commits.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    check_period(period.start, period.end, MAX_PERIOD)
    scope = _scope(session, user, area)
    cases, entries = _read(session, scope, period)
    clock = _clock(calendar, cases, entries)
    key_of = _key(level)
    tallies: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    for case in cases:
        for item in _walk(case, entries.get(case.id, []), period, clock):
            total.add(item)
            key = key_of(case, item)
            if key is not None:
                tallies[key].add(item)
    names = _units(session, index, scope, level, tallies.keys())
    patrol = _patrol_figures(session, index, settings, scope, level, names, period, calendar)
    rows = []
    for key, name in names.items():
        row = {"code": key, "name": name, **tallies[key].figures(), **patrol.get(key, _NO_PATROL)}
        row["score"] = worker_score(row) if level == "grid_worker" else score(row)
        rows.append(row)
    total_row = {"code": None, "name": "合计", **total.figures(), **_NO_PATROL}
    total_row["score"], total_row["rank"] = score(total_row), None
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "level": level,
        "area": None if area is None else area,
        "working_days": len(period.working_days(calendar)),
        "rows": ranked(rows),
        "total": total_row,
    }


def _scope(session: Session, user: User, area: str | None) -> Scope:
    jurisdiction = jurisdiction_of(session, user)
    cases = [visible_to(session, user)]
    if jurisdiction.department_code is not None:
        # a department answers also for what it did with cases it no longer has (a dispatch it sent back)
        acted = sa.select(CaseEvent.case_id).join(User, User.id == CaseEvent.actor_id).where(
            User.department_code == jurisdiction.department_code)
        cases = [sa.or_(cases[0], Case.id.in_(acted))]
    if area is not None:
        unit = area_unit(session, area)
        prefix = area_prefix(unit.code, unit.level)
        cases.append(case_area_sql().startswith(prefix, autoescape=True))
        if not (jurisdiction.everywhere or jurisdiction.area_prefix and prefix.startswith(jurisdiction.area_prefix)):
            return _own_scope(cases, jurisdiction, user)  # an area beyond the caller's own
        return Scope(cases, prefix)
    if jurisdiction.everywhere:
        return Scope(cases, "")
    if jurisdiction.area_prefix is not None:
        return Scope(cases, jurisdiction.area_prefix)
    return _own_scope(cases, jurisdiction, user)


def _own_scope(cases: list, jurisdiction, user: User) -> Scope:
    worker = str(user.id) if user.role == "grid_worker" else None
    return Scope(cases, None, jurisdiction.department_code, jurisdiction.grid_codes, worker)


def _read(session: Session, scope: Scope, period: Period) -> tuple[list, dict[int, list[_Entry]]]:
    """The cases received in the period or with a read entry in it (the columns the walk and the rows
    need), and their read entries before its end."""
    touched = sa.select(CaseEvent.case_id).where(
        CaseEvent.at >= period.start, CaseEvent.at < period.end, CaseEvent.action.in_(_READ))
    chosen = (sa.select(Case.id).where(*scope.cases, sa.or_(
        sa.and_(Case.received_at >= period.start, Case.received_at < period.end), Case.id.in_(touched))))
    cases = session.execute(
        sa.select(Case.id, Case.received_at, Case.grid_code, Case.village_code, Case.township_code, Case.reporter_id)
        .where(Case.id.in_(chosen)).order_by(Case.id)).all()
    entries: dict[int, list[_Entry]] = defaultdict(list)
    rows = session.execute(
        sa.select(CaseEvent.case_id, CaseEvent.at, CaseEvent.action, CaseEvent.from_status, CaseEvent.to_status,
                  CaseEvent.data)
        .where(CaseEvent.case_id.in_(chosen), CaseEvent.at < period.end, CaseEvent.action.in_(_READ))
        .order_by(CaseEvent.case_id, CaseEvent.seq)
    )
    for case_id, at, action, from_status, to_status, data in rows:
        entries[case_id].append(_Entry(as_utc(at), action, from_status, to_status, data or {}))
    return cases, entries


def _clock(calendar: WorkCalendar, cases: list, entries: dict[int, list[_Entry]]):
    """Working seconds between two moments of these cases, summed per day once (numbers.WorkingClock)."""
    moments = [as_utc(c.received_at) for c in cases] + [e.at for es in entries.values() for e in es]
    if not moments:
        return lambda start, end: 0.0
    return WorkingClock(calendar, min(moments), max(moments)).between


def _key(level: str) -> Callable[[object, Item], str | None]:
    """Which row an item belongs to at `level`."""
    if level == "department":
        return lambda case, item: item.department
    if level == "grid_worker":
        return lambda case, item: str(case.reporter_id)  # rows of non-workers are dropped by _units
    column = {"township": "township_code", "village": "village_code", "grid": "grid_code"}[level]
    return lambda case, item: getattr(case, column)


def _units(session: Session, index: GridIndex, scope: Scope, level: str, met: Iterable[str]) -> dict[str, str]:
    """{code: name} of the rows: every unit of the level in the scope's area, and those met in the
    cases that are the caller's to see (Scope.may_have)."""
    met = {code for code in met if scope.may_have(level, code)}
    prefix = scope.prefix
    if level in ("township", "village"):
        query = sa.select(AdminUnit.code, AdminUnit.name).where(AdminUnit.level == level)
        if prefix is not None:
            query = query.where(sa.or_(AdminUnit.code.startswith(prefix, autoescape=True), AdminUnit.code.in_(met)))
        else:
            query = query.where(AdminUnit.code.in_(met))
        return dict(sorted(session.execute(query).all()))
    if level == "grid":
        names = {c.code: c.name for c in index.cells
                 if c.code in met or c.code in scope.grid_codes or (prefix is not None and c.code.startswith(prefix))}
        retired = met - names.keys()  # cases of a grid no longer in the network: named by its last version
        for code, name in session.execute(sa.select(GridCell.code, GridCell.name).where(GridCell.code.in_(retired))
                                          .order_by(GridCell.code, GridCell.version)):
            names[code] = name
        return dict(sorted(names.items()))
    if level == "department":
        query = sa.select(Department.code, Department.name_zh)
        if prefix is not None:
            query = query.where(sa.or_(Department.admin_code.startswith(prefix, autoescape=True),
                                       Department.code.in_(met)))
        else:
            query = query.where(Department.code.in_(met))
        return dict(sorted(session.execute(query).all()))
    return {str(uid): name for uid, name, grids in _grid_workers(session)
            if str(uid) in met or (prefix is not None and _works_in(grids, prefix))}


def _grid_workers(session: Session) -> list[tuple[int, str, list[str]]]:
    """(id, name, grid codes) of every grid worker, by id."""
    return [(uid, name, list(grids or ())) for uid, name, grids in session.execute(
        sa.select(User.id, User.name, User.grid_codes).where(User.role == "grid_worker").order_by(User.id))]


def _works_in(grids: list[str], prefix: str) -> bool:
    return any(g.startswith(prefix) for g in grids)


# -- patrols -----------------------------------------------------------------------------------

_NO_PATROL = {"patrol_km": None, "patrol_grid_days": None, "patrol_coverage": None}


def _patrol_figures(session: Session, index: GridIndex, settings: Settings, scope: Scope, level: str,
                    rows: dict[str, str], period: Period, calendar: WorkCalendar) -> dict[str, dict]:
    """巡查: per row, the grid working days patrolled and their share of all (and a worker's distance).
    A grid worker is measured on their own grids by their own tracks; an area on its base grids by the
    tracks of its villages' grid workers; a department not at all. Patrols are shown only inside the
    caller's area, or to a grid worker for themselves and their grids: where someone walked is not
    everyone's to know. Each day's count comes from gridsvc.patrols.days (kept per user and day)."""
    if level == "department" or (scope.prefix is None and scope.worker is None):
        return {}
    workers = _grid_workers(session)
    if level == "grid_worker":
        own = {uid: grids for uid, _, grids in workers if str(uid) in rows and (
            str(uid) == scope.worker or (scope.prefix is not None and _works_in(grids, scope.prefix)))}
        grids = {code for codes in own.values() for code in codes}
    else:
        rows = {k: v for k, v in rows.items() if scope.prefix is not None or k in scope.grid_codes}
        row_of = _row_of(level)
        grids = {c.code for c in index.cells if row_of(c.code) in rows and (level == "grid" or c.kind == "base")}
    grids &= {c.code for c in index.cells}  # grids of today's network
    villages = {code[:12] for code in grids}  # a colleague of the village standing in counts too
    walkers = sorted(own) if level == "grid_worker" else [uid for uid, _, codes in workers
                                                          if villages.intersection(c[:12] for c in codes)]
    days = period.whole_days()
    workdays = {day for day in days if calendar.is_workday(day)}
    counted = patrol_days.group_by_user(patrol_days.counted_days(session, index, settings, walkers, days))
    if level == "grid_worker":
        out = {}
        for uid, codes in own.items():
            mine = {g for g in codes if g in grids}
            mine_counted = counted.get(uid, {})
            patrolled = {(g, d) for d, count in mine_counted.items() if d in workdays
                         for g in count.grid_codes & mine}
            length = sum(count.length_m for count in mine_counted.values())
            out[str(uid)] = _patrol_row(len(patrolled), len(mine) * len(workdays), length)
        return out
    per_row: dict[str, int] = defaultdict(int)
    grids_per_row: dict[str, int] = defaultdict(int)
    for code in grids:
        grids_per_row[row_of(code)] += 1
    patrolled = {(g, d) for by_day in counted.values() for d, count in by_day.items() if d in workdays
                 for g in count.grid_codes & grids}
    for g, _ in patrolled:
        per_row[row_of(g)] += 1
    return {key: _patrol_row(per_row[key], grids_per_row[key] * len(workdays), None) for key in rows}


def _row_of(level: str) -> Callable[[str], str]:
    """The row (grid, village or township code) a grid code belongs to at a location level."""
    if level == "grid":
        return lambda code: code
    digits = len(area_prefix("0" * 12, level))  # 12 for a village, 9 for a township
    return lambda code: code[:digits].ljust(12, "0")


def _patrol_row(patrolled: int, possible: int, length_m: float | None) -> dict:
    return {"patrol_km": None if length_m is None else round(length_m / 1000.0, 2),
            "patrol_grid_days": patrolled, "patrol_coverage": rate(patrolled, possible)}
