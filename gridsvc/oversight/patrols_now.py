"""The command screen's 巡查 layer and its 在岗 figure: which of an area's grid workers are on patrol now,
where they are and since when, today's tracks, and the grids today's patrols covered (docs/screen.md).

- **The area's grid workers**: the active grid workers with a grid in the user's area (`watched_area`: a
  township for its commander, the county for its supervisor). A worker whose grids all lie in another
  township is never shown, wherever they walk; only the area's grids of a worker are named. A
  department's people and grid workers watch no one's patrols, as they see no patrol figures in the
  indicators (docs/indicators.md, "Who sees patrols"): where someone walks is not everyone's to know.
- **On patrol now**: a patrol not stopped whose newest fix, by the phone's clock, is at most
  `patrol_live_minutes` old. A phone that never stopped its patrol drops off by itself; its position is
  that fix, and its age says how old it is.
- **Today** is the China day (Asia/Shanghai) of `now`. The tracks are each worker's cleaned track
  (gridsvc.patrols.now.day_tracks). **Coverage (巡查覆盖)** is the indicators' rule for one day
  (docs/indicators.md, 巡查网格工作日): a grid is covered when a counted fix of one of the area's grid
  workers lies in it, as gridsvc.patrols.days counts and keeps it per worker and day. The share is of the
  area's base grids; special grids are listed when walked but not counted in it.

Positions and tracks come in `crs`, the screen's datum, converted here as every other layer is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from gridsvc.accounts.users import Jurisdiction, jurisdiction_of
from gridsvc.geo.crs import InputCRS, from_cgcs2000, geometry_from_cgcs2000
from gridsvc.geo.locate import GridIndex
from gridsvc.kernel.clock import as_utc, iso_or_none
from gridsvc.kernel.config import Settings
from gridsvc.kernel.models import User
from gridsvc.oversight.screen_map import cells_in
from gridsvc.patrols.days import counted_days
from gridsvc.patrols.now import LastFix, day_tracks, last_fixes
from gridsvc.worktime.calendar import CHINA


NOBODY = Jurisdiction()  # covers no place


@dataclass(frozen=True)
class Worker:
    id: int
    name: str
    grid_codes: tuple[str, ...]  # those inside the area


def watched_area(session: Session, user: User) -> Jurisdiction:
    """The area whose grid workers' patrols the user may watch: their jurisdiction when it is an area (or
    everywhere), else NOBODY."""
    jurisdiction = jurisdiction_of(session, user)
    return jurisdiction if jurisdiction.everywhere or jurisdiction.area_prefix is not None else NOBODY


def area_workers(session: Session, area: Jurisdiction) -> list[Worker]:
    """The active grid workers with a grid in `area` (an area, everywhere or NOBODY), by id. (Grid codes are
    a JSON list: as text, a worker of the area holds a quoted code starting with its prefix; Python checks
    each code after.)"""
    if area is NOBODY:
        return []
    query = (sa.select(User.id, User.name, User.grid_codes)
             .where(User.role == "grid_worker", User.active.is_(True)).order_by(User.id))
    if area.area_prefix is not None:
        query = query.where(sa.cast(User.grid_codes, sa.Text).contains(f'"{area.area_prefix}', autoescape=True))
    workers = [Worker(uid, name, tuple(code for code in grids or () if area.covers_area(code)))
               for uid, name, grids in session.execute(query)]
    return [worker for worker in workers if worker.grid_codes]


def patrols_now(session: Session, index: GridIndex, settings: Settings, user: User, crs: InputCRS,
                now: datetime, with_tracks: bool = True) -> dict:
    """Who of the user's area is on patrol now; with `with_tracks`, also today's tracks and coverage.
    Counting today's coverage keeps the counts it made (gridsvc.patrols.days): flushes; the caller commits."""
    area = watched_area(session, user)
    workers = area_workers(session, area)
    live = last_fixes(session, [w.id for w in workers], now - timedelta(minutes=settings.patrol_live_minutes))
    answer = {
        "crs": str(crs),
        "at": iso_or_none(now),
        "live_minutes": settings.patrol_live_minutes,
        "grid_workers": len(workers),
        "on_patrol": len(live),
        "patrolling": _positions([w for w in workers if w.id in live], live, crs, now),
    }
    if with_tracks:
        today = as_utc(now).astimezone(CHINA).date()
        answer["day"] = today.isoformat()
        answer["tracks"] = _tracks(session, settings, workers, live, today, crs)
        answer["coverage"] = _coverage(session, index, settings, area, workers, today)
    return answer


def _positions(walking: list[Worker], live: dict[int, LastFix], crs: InputCRS, now: datetime) -> list[dict]:
    if not walking:
        return []
    fixes = [live[w.id] for w in walking]
    lons, lats = from_cgcs2000(np.array([f.lon for f in fixes]), np.array([f.lat for f in fixes]), crs)
    return [{
        "user_id": worker.id, "name": worker.name, "grid_codes": list(worker.grid_codes),
        "lon": float(lon), "lat": float(lat), "accuracy_m": fix.accuracy_m,
        "fix_at": iso_or_none(fix.recorded_at), "age_s": max(0, round((now - fix.recorded_at).total_seconds())),
        "patrol_started_at": iso_or_none(fix.started_at),
    } for worker, fix, lon, lat in zip(walking, fixes, np.atleast_1d(lons), np.atleast_1d(lats))]


def _tracks(session, settings, workers, live, today, crs) -> dict:
    """Today's track of each worker who walked, as a GeoJSON FeatureCollection in `crs`."""
    tracks = day_tracks(session, settings, [w.id for w in workers], today)
    walked = [w for w in workers if w.id in tracks]
    drawn = geometry_from_cgcs2000(np.array([tracks[w.id] for w in walked]), crs) if walked else []
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": worker.id, "geometry": mapping(line),
        "properties": {"user_id": worker.id, "name": worker.name, "on_patrol": worker.id in live},
    } for worker, line in zip(walked, drawn)]}


def _coverage(session, index, settings, area, workers, today) -> dict:
    """The area's grids walked today (巡查覆盖) with who walked them, and the share of its base grids."""
    names = {w.id: w.name for w in workers}
    walked_by: dict[str, list[str]] = defaultdict(list)
    for (user_id, _), count in counted_days(session, index, settings, list(names), [today]).items():
        for code in count.grid_codes:
            if area.covers_area(code):
                walked_by[code].append(names[user_id])
    base = [cell.code for _, cell in cells_in(area, index) if cell.kind == "base"]
    covered = sum(1 for code in base if code in walked_by)
    return {
        "base_grids": len(base),
        "covered_base_grids": covered,
        "share": round(covered / len(base), 4) if base else None,
        "grids": [{"code": code, "walked_by": sorted(walked_by[code])} for code in sorted(walked_by)],
    }
