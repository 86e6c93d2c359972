"""What each grid worker's patrols counted on each China day, kept for the indicators (gridsvc.oversight.indicators).

A day's count: the length of the cleaned track within the day, and the cells (base or special) holding
a fix that survived the cleaning (gridsvc.geo.tracks: no jump, no lone spike, not jitter). A day is
always cleaned in the same window, the day and the silence allowed either side (`patrol_max_gap_minutes`),
so its count does not depend on which other days were counted with it, and a walk across midnight is
one track.

Counting a year of fixes again for every assessment would take minutes, so the counts are kept in
`patrol_days`, one row per user and day, and a row holds a `generation`:
- a batch of fixes (gridsvc.patrols.recording.add_points, `bump_days`) bumps the generation of the days it touches
  (and of the days whose window reaches it) and clears their counts, in the batch's own transaction;
- a reader counts a day whose row is missing, cleared, or made with another network revision or
  other track rules, and then stores it only if the generation it read first is still the row's
  (`UPDATE … WHERE generation = :read`, or an insert that does nothing on a conflict).

A batch committed while a reader counted therefore never leaves a stale count behind: on PostgreSQL
the reader's write waits for the batch's row lock and then finds the generation moved; on SQLite
writers take turns. Counts are computed first, for every user asked, and written afterwards in short
statements inside one SAVEPOINT of the caller's transaction (the caller commits), so a reader holds no
write lock while it cleans tracks; a write that fails (a lock timeout) only rolls back that savepoint
and leaves those days to be counted again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.kernel.config import Settings
from gridsvc.kernel.db import upsert_insert
from gridsvc.geo.locate import GridIndex
from gridsvc.geo.tracks import clean, pieces
from gridsvc.kernel.models import PatrolDay
from gridsvc.kernel.clock import utcnow
from gridsvc.patrols.recording import fixes_between, in_metres, track_rules
from gridsvc.worktime.calendar import china_midnight


@dataclass(frozen=True)
class DayCount:
    """What one user's patrols counted on one China day."""

    length_m: float
    grid_codes: frozenset[str]


def rules_key(settings: Settings) -> str:
    """The track rules a count was made with: counts made under other rules are made again."""
    rules = track_rules(settings)
    return f"{rules.max_speed_mps:g}/{rules.max_gap_s:g}/{rules.min_step_m:g}"


def counted_days(session: Session, index: GridIndex, settings: Settings, user_ids: list[int],
                 days: list[date]) -> dict[tuple[int, date], DayCount]:
    """{(user, day): DayCount} for every user and day asked; counts what is not kept and keeps it
    (flushes; the caller commits)."""
    if not user_ids or not days:
        return {}
    wanted, rules = set(days), rules_key(settings)
    rows = session.execute(sa.select(
        PatrolDay.user_id, PatrolDay.day, PatrolDay.generation, PatrolDay.length_m, PatrolDay.grid_codes,
        PatrolDay.network_revision, PatrolDay.rules,
    ).where(PatrolDay.user_id.in_(user_ids), PatrolDay.day >= min(days), PatrolDay.day <= max(days))).all()
    counted: dict[tuple[int, date], DayCount] = {}
    generations: dict[tuple[int, date], int] = {}
    for user_id, day, generation, length_m, grid_codes, revision, row_rules in rows:
        if day not in wanted:
            continue
        if length_m is not None and revision == index.revision and row_rules == rules:
            counted[(user_id, day)] = DayCount(length_m, frozenset(grid_codes or ()))
        else:
            generations[(user_id, day)] = generation
    fresh: dict[int, dict[date, DayCount]] = {}
    for user_id in user_ids:
        stale = sorted(day for day in wanted if (user_id, day) not in counted)
        if stale:
            fresh[user_id] = _count(session, index, settings, user_id, stale)
            counted.update({(user_id, day): count for day, count in fresh[user_id].items()})
    if fresh:
        _keep(session, index, rules, fresh, generations)
    return counted


def _count(session: Session, index: GridIndex, settings: Settings, user_id: int,
           days: list[date]) -> dict[date, DayCount]:
    """Count the user's `days`: one read of the fixes per run of consecutive days, each day cleaned in
    its own window (the day and the gap either side)."""
    gap = timedelta(minutes=settings.patrol_max_gap_minutes)
    out: dict[date, DayCount] = {}
    for run in _runs(days):
        tracks = fixes_between(session, [user_id], None, china_midnight(run[0]) - gap,
                               china_midnight(run[-1] + timedelta(days=1)) + gap)
        spans = [(min(t for _, _, t in track), max(t for _, _, t in track), track) for track in tracks.values()]
        for day in run:
            out[day] = _count_day(index, settings, spans, day, gap)
    return out


def _count_day(index: GridIndex, settings: Settings, spans, day: date, gap: timedelta) -> DayCount:
    """One day's count from the tracks (first time, last time, fixes) that reach its window."""
    t0, t1 = china_midnight(day).timestamp(), china_midnight(day + timedelta(days=1)).timestamp()
    low, high = t0 - gap.total_seconds(), t1 + gap.total_seconds()
    windows = [[fix for fix in track if low <= fix[2] < high] for first, last, track in spans
               if first < high and last >= low]
    windows = [window for window in windows if len(window) >= 2]  # a lone fix counts for nothing
    if not windows:
        return DayCount(0.0, frozenset())
    reference_lon = median(lon for window in windows for lon, _, _ in window)  # the day's own: one GK zone
    rules, length, kept = track_rules(settings), 0.0, []
    for window in windows:
        projected = in_metres(window, reference_lon)
        position = {id(fix): i for i, fix in enumerate(projected)}
        cleaned = clean(projected, rules)
        length += sum(piece.length for piece in pieces(cleaned, t0, t1))
        kept += [window[position[id(fix)]] for run in cleaned.runs for fix in run
                 if t0 <= window[position[id(fix)]][2] < t1]
    cells = set()
    if kept:
        _, positions = index.positions_holding([k[0] for k in kept], [k[1] for k in kept])
        cells = {index.cells[p].code for p in positions.tolist()}
    return DayCount(length, frozenset(cells))


def _runs(days: list[date]) -> list[list[date]]:
    """Sorted days cut into runs of consecutive days."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _keep(session: Session, index: GridIndex, rules: str, fresh: dict[int, dict[date, DayCount]],
          generations: dict[tuple[int, date], int]) -> None:
    """Store the fresh counts ({user: {day: count}}) where no batch moved the generation meanwhile, in
    one SAVEPOINT (flushes; the caller commits), a few short statements per user. A failed write (a
    lock timeout, a conflict) rolls back only the savepoint and leaves those days to be counted again."""
    now = utcnow()
    table = PatrolDay.__table__
    try:
        with session.begin_nested():
            for user_id in sorted(fresh):  # users in order, each one's days in order: as batches write them
                values = {day: {"length_m": count.length_m, "grid_codes": sorted(count.grid_codes),
                                "network_revision": index.revision, "rules": rules, "computed_at": now}
                          for day, count in fresh[user_id].items()}
                updates = [{"u": user_id, "d": day, "g": generations[(user_id, day)],
                            **{f"v_{name}": value for name, value in values[day].items()}}
                           for day in sorted(values) if (user_id, day) in generations]
                inserts = [{"user_id": user_id, "day": day, "generation": 0, **values[day]}
                           for day in sorted(values) if (user_id, day) not in generations]
                if updates:
                    session.execute(
                        table.update().where(table.c.user_id == sa.bindparam("u"), table.c.day == sa.bindparam("d"),
                                             table.c.generation == sa.bindparam("g"))
                        .values({name: sa.bindparam(f"v_{name}") for name in values[updates[0]["d"]]}), updates)
                if inserts:
                    session.execute(upsert_insert(session, PatrolDay).values(inserts)
                                    .on_conflict_do_nothing(index_elements=["user_id", "day"]))
    except sa.exc.DBAPIError:
        pass  # those days are counted again next time


def group_by_user(counted: dict[tuple[int, date], DayCount]) -> dict[int, dict[date, DayCount]]:
    out: dict[int, dict[date, DayCount]] = defaultdict(dict)
    for (user_id, day), count in counted.items():
        out[user_id][day] = count
    return out
