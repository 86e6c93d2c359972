"""Where grid workers walk: the last fix of each open patrol, and a day's cleaned tracks as lines to draw.

The command screen's 巡查 layer reads these (gridsvc.oversight.patrols_now). A fix's time is the phone's
(`recorded_at`): a batch the phone kept through a dead spot and sent later puts the worker where they
were then, as old as it is, not where the upload came from.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gridsvc.geo import metric
from gridsvc.geo.tracks import clean, pieces
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.config import Settings
from gridsvc.kernel.models import Patrol, PatrolDay, PatrolPoint
from gridsvc.patrols.days import rules_key
from gridsvc.patrols.recording import fixes_between, in_metres, track_rules
from gridsvc.worktime.calendar import china_midnight


@dataclass(frozen=True)
class LastFix:
    """A walker's newest fix, in CGCS2000, and when the open patrol it belongs to started."""

    user_id: int
    started_at: datetime
    lon: float
    lat: float
    accuracy_m: float | None
    recorded_at: datetime


def last_fixes(session: Session, user_ids: list[int], since: datetime) -> dict[int, LastFix]:
    """{user id: the newest fix of their open (not stopped) patrols recorded at or after `since`}. A user
    who left a patrol open and started another is where their most recent fix puts them."""
    if not user_ids:
        return {}
    newest = (sa.select(PatrolPoint.patrol_id, sa.func.max(PatrolPoint.seq).label("seq"))
              .join(Patrol, Patrol.id == PatrolPoint.patrol_id)
              .where(Patrol.user_id.in_(user_ids), Patrol.ended_at.is_(None), PatrolPoint.recorded_at >= since)
              .group_by(PatrolPoint.patrol_id).subquery())
    rows = session.execute(
        sa.select(Patrol.user_id, Patrol.started_at, PatrolPoint.lon, PatrolPoint.lat, PatrolPoint.accuracy_m,
                  PatrolPoint.recorded_at)
        .join(newest, sa.and_(PatrolPoint.patrol_id == newest.c.patrol_id, PatrolPoint.seq == newest.c.seq))
        .join(Patrol, Patrol.id == PatrolPoint.patrol_id))
    found: dict[int, LastFix] = {}
    for user_id, started_at, lon, lat, accuracy_m, recorded_at in rows:
        fix = LastFix(user_id, as_utc(started_at), lon, lat, accuracy_m, as_utc(recorded_at))
        if user_id not in found or fix.recorded_at > found[user_id].recorded_at:
            found[user_id] = fix
    return found


class TrackCache:
    """Drawn day tracks by (user, day, the day's generation in `patrol_days`, track rules): {key: lines or
    None}. Every batch of fixes moves the generation of the days it touches on (gridsvc.patrols.days), so a
    screen asking every few seconds cleans a worker's day again only after new fixes arrived, not the
    thousands of fixes of every walker of the area each time. The generation is read before the fixes: a
    batch committed in between is drawn under the older generation, and the next question draws it again.
    The `KEPT` most recently asked are kept (a county's walkers of a day, several times over). One cache
    per database engine (`tracks_of`): another database's users and generations are other tracks."""

    KEPT = 20_000

    def __init__(self):
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple, BaseGeometry | None] = OrderedDict()

    def get(self, key: tuple):
        """The lines kept for `key` (None: the worker drew no line), or MISSING."""
        with self._lock:
            if key not in self._kept:
                return MISSING
            self._kept.move_to_end(key)
            return self._kept[key]

    def put(self, key: tuple, lines: BaseGeometry | None) -> None:
        with self._lock:
            self._kept[key] = lines
            while len(self._kept) > self.KEPT:
                self._kept.popitem(last=False)


MISSING = object()
_CACHES: weakref.WeakKeyDictionary[Engine, TrackCache] = weakref.WeakKeyDictionary()  # gone with their engine
_CACHES_LOCK = threading.Lock()


def tracks_of(session: Session) -> TrackCache:
    """The track cache of the session's database."""
    with _CACHES_LOCK:
        return _CACHES.setdefault(session.get_bind(), TrackCache())


def day_tracks(session: Session, settings: Settings, user_ids: list[int], day: date) -> dict[int, BaseGeometry]:
    """{user id: their patrols' track on the China day `day`, in CGCS2000}, for the users who walked. The
    track is cleaned by the rules the counts use (gridsvc.geo.tracks), so what is drawn is what is
    measured: no GPS jump across the township, no knot of a worker standing still. Lines only, simplified
    to `metric.DRAWING_TOLERANCE_M` in the day's Gauss–Krüger zone, as the grids are for drawing. A user
    with no `patrol_days` row for the day posted no fix recorded on it (gridsvc.patrols.recording.bump_days)."""
    if not user_ids:
        return {}
    rules, kept_tracks = rules_key(settings), tracks_of(session)
    generations = session.execute(sa.select(PatrolDay.user_id, PatrolDay.generation)
                                  .where(PatrolDay.user_id.in_(user_ids), PatrolDay.day == day)).all()
    out: dict[int, BaseGeometry] = {}
    stale: dict[int, tuple] = {}
    for user_id, generation in generations:
        key = (user_id, day, generation, rules)
        kept = kept_tracks.get(key)
        if kept is MISSING:
            stale[user_id] = key
        elif kept is not None:
            out[user_id] = kept
    if not stale:
        return out
    by_user: dict[int, list[list[tuple[float, float, float]]]] = defaultdict(list)
    for (user_id, _), fixes in fixes_between(session, sorted(stale), None, china_midnight(day),
                                             china_midnight(day + timedelta(days=1))).items():
        by_user[user_id].append(fixes)
    for user_id, key in stale.items():
        lines = _drawn(by_user.get(user_id, []), track_rules(settings))
        kept_tracks.put(key, lines)
        if lines is not None:
            out[user_id] = lines
    return out


def _drawn(patrols: list[list[tuple[float, float, float]]], rules) -> BaseGeometry | None:
    """One user's patrols of a day, cleaned and simplified for drawing, in CGCS2000; None without a line."""
    if not patrols:
        return None
    reference_lon = median(lon for fixes in patrols for lon, _, _ in fixes)
    lines = [piece for fixes in patrols for piece in pieces(clean(in_metres(fixes, reference_lon), rules))
             if piece.geom_type == "LineString"]
    if not lines:
        return None
    drawn = shapely.simplify(shapely.MultiLineString(lines), metric.DRAWING_TOLERANCE_M)
    return metric.from_zone(drawn, reference_lon)
