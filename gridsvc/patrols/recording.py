"""Patrols (巡查): start, GPS points in batches, stop, and what a day's walking covered per grid.

Phones walk in and out of signal, so every call may arrive twice: a start is
keyed by the phone's `client_uuid`, each fix by the phone's sequence number
within its patrol (unique per patrol), and a stop of a stopped patrol changes
nothing. A batch is judged fix by fix: a fix with a bad coordinate, accuracy or
time is refused with its reason, and the good ones land anyway.

Every fix names its datum (gcj02 from AMap/Tencent, bd09 from Baidu, wgs84 from
the GPS chip) and is stored in CGCS2000. Time comes from the phone's clock
(`recorded_at`, which orders nothing: the phone's `seq` does) and the server's
(`received_at`). A fix recorded more than `CLOCK_SLACK` before its patrol
started, after it stopped, or in the server's future is refused: the phone's
clock or the fix is wrong, and the day it would be counted in is not known.

Coverage, per China-time day (Asia/Shanghai) and grid: metres walked and the
share of the grid within `patrol_buffer_m` of the track, in the Gauss–Krüger
zone of the day's fixes, after the track is cleaned of jumps, silences and
jitter (rules in gridsvc.geo.tracks). Grids are those of the current network
(the locate index), so a day long past is measured against today's grids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.kernel.config import Settings
from gridsvc.kernel.db import upsert_insert
from gridsvc.cases.audience import patrol_rooms
from gridsvc.events.outbox import publish
from gridsvc.geo import metric
from gridsvc.geo.chinese_offsets import in_china
from gridsvc.geo.crs import InputCRS
from gridsvc.geo.locate import GridIndex
from gridsvc.geo.tracks import Coverage, Fix, TrackRules, clean, pieces
from gridsvc.kernel.errors import CONFLICT, UNAVAILABLE, DomainError
from gridsvc.kernel.idempotency import canonical_uuid_or_none, written_once
from gridsvc.network.points import PointError, check_accuracy, storage_point
from gridsvc.kernel.clock import iso_or_none
from gridsvc.kernel.models import Patrol, PatrolDay, PatrolPoint, User
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.worktime.calendar import CHINA, china_midnight

CLOCK_SLACK = timedelta(minutes=10)
MAX_SEQ = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL
_RETRIES = 3  # a concurrent batch with the same fixes: read again and write what is still missing


class PatrolError(DomainError, ValueError):
    """Bad input for a patrol; `field` names it, the message says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason, field=field)


class PatrolConflict(DomainError):
    """The client UUID belongs to another user's patrol."""

    kind, code = CONFLICT, "client_uuid_conflict"

    def __init__(self, client_uuid: str):
        super().__init__(f"该编号已用于另一次巡查 / client_uuid {client_uuid} belongs to another patrol")


class PatrolBusy(DomainError):
    """A batch kept colliding with concurrent uploads of the same patrol: nothing is wrong with it,
    so the phone should send it again in a second."""

    kind, code, retry_after_s = UNAVAILABLE, "patrol_busy", 1

    def __init__(self) -> None:
        super().__init__("轨迹正在同时上传，请稍后重试 / could not store the batch: "
                         "it kept colliding with concurrent uploads")


@dataclass(frozen=True)
class PointInput:
    seq: int
    x: float
    y: float
    crs: InputCRS
    accuracy_m: float | None
    recorded_at: datetime


@dataclass(frozen=True)
class PointResult:
    seq: int
    result: str  # added | already_had | rejected
    code: str | None = None  # invalid_parameters | seq_conflict, for a rejected fix
    fields: dict[str, list[str]] | None = None


# -- recording --------------------------------------------------------------------------------


def start(session: Session, user: User, client_uuid: str, started_at: datetime | None = None,
          now: datetime | None = None) -> tuple[Patrol, bool]:
    """The patrol of this UUID, and whether it was started now (False: a retry; the first start wins).

    Flushes; the caller commits. Raises PatrolError (bad UUID, start in the future) and PatrolConflict.
    The patrol is written inside a SAVEPOINT: a concurrent retry that inserted it first stops this
    one at the unique client UUID, only the savepoint is rolled back, and the first one's patrol is
    returned.
    """
    now = now or utcnow()
    client_uuid = _uuid(client_uuid)
    existing = _by_uuid(session, user, client_uuid)
    if existing is not None:
        return existing, False
    started_at = as_utc(started_at) if started_at else now
    if started_at > now + CLOCK_SLACK:
        raise PatrolError("started_at", "must not lie in the future (is the phone's clock right?)")
    patrol = Patrol(client_uuid=client_uuid, user_id=user.id, started_at=started_at, received_at=now)

    def write() -> tuple[Patrol, bool]:
        with session.begin_nested():
            session.add(patrol)
            _publish(session, "patrol.started", user, patrol, now)
            session.flush()
        return patrol, True

    return written_once(write, lambda: _by_uuid(session, user, client_uuid))  # a retry that won: its patrol


def _uuid(value: str) -> str:
    canonical = canonical_uuid_or_none(value)
    if canonical is None:
        raise PatrolError("client_uuid", "must be a UUID made by the client")
    return canonical


def _by_uuid(session: Session, user: User, client_uuid: str) -> Patrol | None:
    patrol = session.scalar(sa.select(Patrol).where(Patrol.client_uuid == client_uuid))
    if patrol is not None and patrol.user_id != user.id:
        raise PatrolConflict(client_uuid)
    return patrol


def my_patrol(session: Session, user: User, client_uuid: str) -> Patrol | None:
    """The user's patrol of this UUID; None for another user's, an unknown or a malformed UUID."""
    client_uuid = canonical_uuid_or_none(client_uuid)
    if client_uuid is None:
        return None
    return session.scalar(sa.select(Patrol).where(Patrol.client_uuid == client_uuid, Patrol.user_id == user.id))


def stop(session: Session, patrol: Patrol, ended_at: datetime | None = None,
         now: datetime | None = None) -> bool:
    """Stop the patrol; True if it was stopped now (False: it was already, and stays as it was).
    Flushes; the caller commits."""
    if patrol.ended_at is not None:
        return False
    now = now or utcnow()
    ended_at = as_utc(ended_at) if ended_at else now
    if ended_at > now + CLOCK_SLACK:
        raise PatrolError("ended_at", "must not lie in the future (is the phone's clock right?)")
    if ended_at < as_utc(patrol.started_at):
        raise PatrolError("ended_at", "must not lie before the patrol started")
    patrol.ended_at = ended_at
    _publish(session, "patrol.stopped", session.get(User, patrol.user_id), patrol, now)
    session.flush()
    return True


def _publish(session: Session, kind: str, user: User, patrol: Patrol, now: datetime) -> None:
    """Tell the screens of the worker's grids that a patrol started or stopped."""
    publish(session, kind, patrol_rooms(user.grid_codes), {
        "client_uuid": patrol.client_uuid, "user_id": user.id, "name": user.name, "grid_codes": list(user.grid_codes),
        "started_at": iso_or_none(patrol.started_at),
        "ended_at": iso_or_none(patrol.ended_at),
    }, at=now)


def point_count(session: Session, patrol: Patrol) -> int:
    return session.scalar(sa.select(sa.func.count()).where(PatrolPoint.patrol_id == patrol.id))


def add_points(session: Session, patrol: Patrol, points: list[PointInput], settings: Settings,
               now: datetime | None = None) -> list[PointResult]:
    """Store a batch of fixes; one result per input, in order. Flushes; the caller commits.

    A fix whose seq the patrol already has is `already_had` when it is the same
    fix, and rejected as a `seq_conflict` (the first one stays) when it is not.
    Each try is written inside a SAVEPOINT: when a concurrent batch stored some of the same seqs
    first, only the savepoint is rolled back and the batch is judged again.
    """
    now = now or utcnow()
    for _ in range(_RETRIES):
        results, rows = _judge(session, patrol, points, settings, now)
        try:
            with session.begin_nested():
                session.add_all(rows)
                session.flush()  # the fixes first: a concurrent batch's seqs collide here
                bump_days(session, settings, patrol.user_id, [row.recorded_at for row in rows])
            return results
        except sa.exc.IntegrityError:
            pass  # another request stored some of these seqs meanwhile: judge again
    raise PatrolBusy()


def _judge(session: Session, patrol: Patrol, points: list[PointInput], settings: Settings,
           now: datetime) -> tuple[list[PointResult], list[PatrolPoint]]:
    seqs = sorted({p.seq for p in points})
    had = {
        row.seq: row for row in session.scalars(
            sa.select(PatrolPoint).where(PatrolPoint.patrol_id == patrol.id, PatrolPoint.seq.in_(seqs)))
    } if seqs else {}
    results, rows = [], []
    for point in points:
        previous = had.get(point.seq)
        if previous is not None:
            if _same(previous, point):
                results.append(PointResult(point.seq, "already_had"))
            else:
                results.append(PointResult(point.seq, "rejected", "seq_conflict", {
                    "seq": [f"seq {point.seq} was already used for another fix of this patrol; the first one stays"]}))
            continue
        try:
            lon, lat = _check(patrol, point, settings, now)
        except PatrolError as exc:
            results.append(PointResult(point.seq, "rejected", "invalid_parameters", {exc.field: [str(exc)]}))
            continue
        row = PatrolPoint(
            patrol_id=patrol.id, seq=point.seq, lon=lon, lat=lat, input_x=point.x, input_y=point.y,
            input_crs=str(point.crs), accuracy_m=point.accuracy_m, recorded_at=as_utc(point.recorded_at),
            received_at=now,
        )
        had[point.seq] = row  # the same seq later in this batch is a repeat of this one
        rows.append(row)
        results.append(PointResult(point.seq, "added"))
    return results, rows


def _same(row: PatrolPoint, point: PointInput) -> bool:
    return (row.input_x, row.input_y, row.input_crs, row.accuracy_m, as_utc(row.recorded_at)) == (
        point.x, point.y, str(point.crs), point.accuracy_m, as_utc(point.recorded_at))


def _check(patrol: Patrol, point: PointInput, settings: Settings, now: datetime) -> tuple[float, float]:
    """The fix's CGCS2000 lon/lat, or PatrolError with the reason it is implausible."""
    if not 0 <= point.seq <= MAX_SEQ:
        raise PatrolError("seq", f"must be between 0 and {MAX_SEQ}")
    try:
        check_accuracy(point.accuracy_m, settings.patrol_max_accuracy_m)
        lon, lat = storage_point(point.x, point.y, point.crs)
    except PointError as exc:
        raise PatrolError(exc.field, str(exc)) from exc
    if not in_china(lon, lat):
        raise PatrolError("lon", "the fix lies outside China: a phone without a position, or a wrong datum")
    recorded = as_utc(point.recorded_at)
    if recorded > now + CLOCK_SLACK:
        raise PatrolError("recorded_at", "lies in the future (is the phone's clock right?)")
    if recorded < as_utc(patrol.started_at) - CLOCK_SLACK:
        raise PatrolError("recorded_at", "lies before the patrol started")
    if patrol.ended_at is not None and recorded > as_utc(patrol.ended_at) + CLOCK_SLACK:
        raise PatrolError("recorded_at", "lies after the patrol was stopped")
    return lon, lat


# -- coverage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCoverage:
    code: str
    name: str
    kind: str
    length_m: float
    covered_m2: float
    area_m2: float

    @property
    def covered_share(self) -> float:
        return self.covered_m2 / self.area_m2 if self.area_m2 > 0 else 0.0


@dataclass(frozen=True)
class DayCoverage:
    day: date
    buffer_m: float
    fixes: int  # fixes recorded that day
    length_m: float  # counted length, all grids or none
    outside_m: float  # of which outside every base grid
    ignored_steps: int  # steps not counted: jumps, silences, time running backwards
    dropped_fixes: int  # lone bad fixes removed
    grids: list[GridCoverage]


def track_rules(settings: Settings) -> TrackRules:
    return TrackRules(settings.patrol_max_speed_mps, settings.patrol_max_gap_minutes * 60.0,
                      settings.patrol_min_step_m)


def day_coverage(session: Session, index: GridIndex, settings: Settings, user: User, day: date,
                 patrol: Patrol | None = None) -> DayCoverage:
    """What the user's patrols (or one of them) covered on a China-time day, grid by grid."""
    day_start, day_end = china_midnight(day), china_midnight(day + timedelta(days=1))
    gap = timedelta(minutes=settings.patrol_max_gap_minutes)
    tracks = fixes_between(session, [user.id], patrol, day_start - gap, day_end + gap)
    all_fixes = [fix for fixes in tracks.values() for fix in fixes]
    t0, t1 = day_start.timestamp(), day_end.timestamp()
    empty = DayCoverage(day, settings.patrol_buffer_m, 0, 0.0, 0.0, 0, 0, [])
    if not all_fixes:
        return empty
    reference_lon = median(lon for lon, _, _ in all_fixes)
    rules = track_rules(settings)
    track_pieces, ignored, dropped = [], 0, 0
    for fixes in tracks.values():
        track = clean(in_metres(fixes, reference_lon), rules)
        track_pieces += pieces(track, t0, t1)
        ignored, dropped = ignored + track.ignored_steps, dropped + track.dropped_fixes
    coverage = Coverage(track_pieces, settings.patrol_buffer_m)
    grids = _grid_coverage(index, coverage, all_fixes, reference_lon, settings.patrol_buffer_m)
    base_length = sum(g.length_m for g in grids if g.kind == "base")
    fixes_that_day = sum(1 for _, _, t in all_fixes if t0 <= t < t1)
    return DayCoverage(day, settings.patrol_buffer_m, fixes_that_day, coverage.length_m,
                       max(coverage.length_m - base_length, 0.0), ignored, dropped, grids)


def fixes_between(session: Session, user_ids: list[int], patrol: Patrol | None, since: datetime,
                  until: datetime) -> dict[tuple[int, int], list[tuple[float, float, float]]]:
    """(lon, lat, epoch seconds) of the fixes recorded in [since, until) by the users' patrols (or one
    of them), in the phone's order: {(user id, patrol id): fixes}.

    Only patrols whose time can hold such fixes are read (fixes lie within
    CLOCK_SLACK of their patrol's start and stop), so a year of patrols is not scanned.
    """
    query = (
        sa.select(Patrol.user_id, PatrolPoint.patrol_id, PatrolPoint.lon, PatrolPoint.lat, PatrolPoint.recorded_at)
        .join(Patrol, Patrol.id == PatrolPoint.patrol_id)
        .where(Patrol.user_id.in_(user_ids),
               Patrol.started_at < until + CLOCK_SLACK,
               sa.or_(Patrol.ended_at.is_(None), Patrol.ended_at >= since - CLOCK_SLACK),
               PatrolPoint.recorded_at >= since, PatrolPoint.recorded_at < until)
        .order_by(PatrolPoint.patrol_id, PatrolPoint.seq)
    )
    if patrol is not None:
        query = query.where(Patrol.id == patrol.id)
    tracks: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
    for user_id, patrol_id, lon, lat, recorded_at in session.execute(query):
        tracks.setdefault((user_id, patrol_id), []).append((lon, lat, as_utc(recorded_at).timestamp()))
    return tracks


def in_metres(fixes: list[tuple[float, float, float]], reference_lon: float) -> list[Fix]:
    """The fixes in metres, in the Gauss–Krüger zone of `reference_lon`."""
    points = metric.to_zone(shapely.points([(lon, lat) for lon, lat, _ in fixes]), reference_lon)
    xs, ys = shapely.get_x(points), shapely.get_y(points)
    return [Fix(t, float(x), float(y)) for (_, _, t), x, y in zip(fixes, xs, ys)]


def _grid_coverage(index: GridIndex, coverage: Coverage, fixes, reference_lon: float,
                   buffer_m: float) -> list[GridCoverage]:
    """Length and covered area in every grid (base or special) the buffered track reaches."""
    if coverage.covered.is_empty and coverage.lines.is_empty:
        return []
    lons = np.array([lon for lon, _, _ in fixes])
    lats = np.array([lat for _, lat, _ in fixes])
    dlon, dlat = metric.degree_window(float(np.abs(lats).max()), buffer_m + 1.0)
    positions = index.cells_in_bbox(lons.min() - dlon, lats.min() - dlat, lons.max() + dlon, lats.max() + dlat)
    out = []
    for position in positions:
        cell = index.cells[position]
        cover = coverage.of(metric.to_zone(index.geometry(position), reference_lon))
        if cover.length_m > 0 or cover.covered_m2 > 0:
            out.append(GridCoverage(cell.code, cell.name, cell.kind, cover.length_m, cover.covered_m2,
                                    cover.area_m2))
    return out


# -- the kept day counts (gridsvc.patrols.days) -----------------------------------------------------


def bump_days(session: Session, settings: Settings, user_id: int, moments: list[datetime]) -> None:
    """New fixes recorded at `moments`: the kept counts of the days they can change (their own, and those
    whose cleaning window, the gap either side, reaches them) are cleared and their generation moved on,
    in the caller's transaction (gridsvc.patrols.days explains why a generation). Rows go in day order,
    as readers write them."""
    reach = max(1, math.ceil(settings.patrol_max_gap_minutes / (24 * 60)))
    days = sorted({as_utc(moment).astimezone(CHINA).date() + timedelta(days=shift)
                   for moment in moments for shift in range(-reach, reach + 1)})
    if not days:
        return
    insert = upsert_insert(session, PatrolDay).values([{"user_id": user_id, "day": day, "generation": 1}
                                                       for day in days])
    session.execute(insert.on_conflict_do_update(
        index_elements=["user_id", "day"],
        set_={"generation": PatrolDay.generation + 1, "length_m": None, "grid_codes": None,
              "network_revision": None, "rules": None, "computed_at": None}))
