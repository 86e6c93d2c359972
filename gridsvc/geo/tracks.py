"""GPS tracks in metres: which steps to believe, and how much of each grid a track covers.

A phone's track is a sequence of fixes (time, x, y) in one Gauss–Krüger zone
(`gridsvc.geo.metric`). Phones lie now and then, and an indicator fed by
lengths must not reward a lie, so the track is cleaned by three rules, in order:

1. **A step is plausible** when time does not run backwards, the silence is at
   most `max_gap_s` (a longer one means no signal, a bus, a phone in a drawer:
   the path in between is unknown) and the speed is at most `max_speed_mps`.
2. **A lone bad fix is dropped**: when the steps into and out of a fix are both
   implausible but its neighbours connect plausibly (the classic spike of a
   multipath fix), the fix goes and its neighbours are joined. A burst of
   several bad fixes is not repaired; its steps are simply not counted.
3. **Jitter is not walking**: within a run of plausible steps, a fix counts only
   once it lies `min_step_m` from the last counted one, so a worker standing
   still for an hour does not collect kilometres of GPS noise.

What remains are pieces: polylines (and single points for someone who stood
still, seen by at least two agreeing fixes). An isolated fix, with no plausible
step either side, counts for nothing. A step that crosses the edge of the
requested time window is cut in proportion to time.

Coverage of a grid is the share of its area within `buffer_m` of the pieces;
the length in a grid is the length of the pieces inside it. Every number is
computed in metres, never in degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True, slots=True)
class Fix:
    t: float  # seconds (any epoch, the same for the whole track)
    x: float  # metres, in one Gauss–Krüger zone
    y: float


@dataclass(frozen=True)
class TrackRules:
    max_speed_mps: float = 30.0
    max_gap_s: float = 300.0
    min_step_m: float = 5.0


@dataclass
class CleanTrack:
    runs: list[list[Fix]]  # maximal chains of plausible steps, jitter removed
    ignored_steps: int  # steps not counted: jumps, long silences, time running backwards
    dropped_fixes: int  # lone bad fixes removed (rule 2)


def _distance(a: Fix, b: Fix) -> float:
    return math.hypot(b.x - a.x, b.y - a.y)


def plausible(a: Fix, b: Fix, rules: TrackRules) -> bool:
    """Rule 1: could the phone have gone from `a` to `b`?"""
    dt = b.t - a.t
    return 0.0 <= dt <= rules.max_gap_s and _distance(a, b) <= rules.max_speed_mps * dt


def clean(fixes: list[Fix], rules: TrackRules) -> CleanTrack:
    """The fixes (in the phone's order) cleaned by the three rules of the module docstring."""
    kept: list[Fix] = []
    dropped = 0
    for fix in fixes:
        kept.append(fix)
        if (len(kept) >= 3 and not plausible(kept[-3], kept[-2], rules)
                and not plausible(kept[-2], kept[-1], rules) and plausible(kept[-3], kept[-1], rules)):
            del kept[-2]
            dropped += 1
    runs: list[list[Fix]] = []
    ignored = 0
    current: list[Fix] = []
    for fix in kept:
        if current and not plausible(current[-1], fix, rules):
            ignored += 1
            runs.append(current)
            current = []
        current.append(fix)
    if current:
        runs.append(current)
    return CleanTrack([_steady(run, rules.min_step_m) for run in runs if len(run) >= 2], ignored, dropped)


def _steady(run: list[Fix], min_step_m: float) -> list[Fix]:
    """Rule 3: the fixes of a run that moved at least `min_step_m` from the previous counted one."""
    steady = [run[0]]
    for fix in run[1:]:
        if _distance(steady[-1], fix) >= min_step_m:
            steady.append(fix)
    return steady


def _at(a: Fix, b: Fix, t: float) -> tuple[float, float]:
    if b.t == a.t:
        return a.x, a.y
    f = (t - a.t) / (b.t - a.t)
    return a.x + f * (b.x - a.x), a.y + f * (b.y - a.y)


def clip_run(run: list[Fix], t0: float, t1: float) -> list[tuple[float, float]]:
    """The part of a run between the times t0 and t1, positions interpolated in proportion to time."""
    if len(run) == 1:
        return [(run[0].x, run[0].y)] if t0 <= run[0].t <= t1 else []
    coords: list[tuple[float, float]] = []
    for a, b in zip(run, run[1:]):
        lo, hi = max(a.t, t0), min(b.t, t1)
        if lo > hi:
            continue
        start, end = _at(a, b, lo), _at(a, b, hi)
        if not coords or coords[-1] != start:
            coords.append(start)
        if coords[-1] != end:
            coords.append(end)
    return coords


def pieces(track: CleanTrack, t0: float = -math.inf, t1: float = math.inf) -> list[BaseGeometry]:
    """The counted track between t0 and t1: LineStrings, and Points where someone stood still."""
    out: list[BaseGeometry] = []
    for run in track.runs:
        coords = clip_run(run, t0, t1)
        if len(coords) >= 2:
            out.append(shapely.LineString(coords))
        elif coords:
            out.append(shapely.Point(coords[0]))
    return out


@dataclass(frozen=True)
class Cover:
    length_m: float  # length of the track inside the area
    covered_m2: float  # area within the buffer of the track
    area_m2: float

    @property
    def share(self) -> float:
        return self.covered_m2 / self.area_m2 if self.area_m2 > 0 else 0.0


class Coverage:
    """One track's pieces and their buffer, measured against areas (all in the same GK zone)."""

    def __init__(self, track_pieces: list[BaseGeometry], buffer_m: float) -> None:
        lines = [p for p in track_pieces if p.geom_type == "LineString"]
        self.lines = shapely.MultiLineString(lines) if lines else shapely.MultiLineString()
        self.length_m = self.lines.length
        self.covered = shapely.union_all([p.buffer(buffer_m, quad_segs=16) for p in track_pieces]) \
            if track_pieces and buffer_m > 0 else shapely.Polygon()
        shapely.prepare(self.covered)

    def of(self, area: BaseGeometry) -> Cover:
        return Cover(
            self.lines.intersection(area).length if not self.lines.is_empty else 0.0,
            self.covered.intersection(area).area if not self.covered.is_empty else 0.0,
            area.area,
        )
