"""Hotspots (热点): where the cases come from, per grid and per H3 hexagon, and which grids are rising.

Plain functions on a session, no Flask; docs/hotspots.md defines every figure.

* `grid_hotspots`: the grids of the caller's drawn area (gridsvc.oversight.screen_map.drawn_area) as a GeoJSON
  FeatureCollection in `crs`, each with the number of counted cases received in [from, to), its rank
  and its share.
* `hexagon_hotspots`: the same cases binned into H3 cells (resolution 7–10) as hexagon Features.
  H3 works on WGS84 longitude/latitude; cases are stored in CGCS2000, which lies within centimetres of
  WGS84 (gridsvc.geo.crs), far below a hexagon's 200-odd metres, so the stored lon/lat go to H3 as
  they are, and the hexagons' corners are treated as CGCS2000 before being converted to `crs`.
* `rising_grids`: per grid, the cases of the 7 China days ending with `week_ending` against the 7
  before, and the `rising` flag (RISING_FACTOR, `min_count`).

A counted case is one the user may see (gridsvc.cases.access.visible_to), received in the period
(`received_at`, as numbers.py counts "received"), of the category or domain asked for, and neither
rejected (不予立案: no incident to handle) nor merged (合并: a duplicate, counted once through the case
it joined). Periods are those of gridsvc.oversight.numbers: China days, at most 92 days.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import h3
import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from gridsvc.cases.access import visible_to
from gridsvc.geo.crs import InputCRS, geometry_from_cgcs2000
from gridsvc.geo.locate import GridIndex
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import Case, Category, User
from gridsvc.oversight.numbers import check_period
from gridsvc.oversight.screen_map import OUTLINES, cells_in, drawn_area
from gridsvc.worktime.calendar import china_midnight

H3_RESOLUTIONS = range(7, 11)  # 7 ≈ 5.2 km², 8 ≈ 0.74 km², 9 ≈ 0.11 km², 10 ≈ 0.015 km²
DEFAULT_RESOLUTION = 9
NOT_COUNTED = ("rejected", "merged")
WEEK = timedelta(days=7)
RISING_FACTOR = 2  # this week at least twice last week …
DEFAULT_MIN_COUNT = 3  # … and at least this many cases this week


@dataclass(frozen=True)
class CaseFilter:
    """Which cases count: of one category code (any catalogue version) and/or one domain."""

    category: str | None = None
    domain: str | None = None

    def conditions(self) -> list:
        found = [Case.status.not_in(NOT_COUNTED)]
        if self.category is not None:
            found.append(Case.category_code == self.category)
        if self.domain is not None:
            # the domain of the catalogue version the case was filed under
            found.append(sa.exists().where(Category.code == Case.category_code,
                                           Category.version == Case.category_version,
                                           Category.domain == self.domain))
        return found

    def as_json(self) -> dict:
        return {"category": self.category, "domain": self.domain}


def known_category(session: Session, code: str) -> bool:
    return session.scalar(sa.select(Category.id).where(Category.code == code).limit(1)) is not None


def _counted(session: Session, user: User, which: CaseFilter, start: datetime, end: datetime) -> list:
    return [visible_to(session, user), *which.conditions(), Case.received_at >= start, Case.received_at < end]


def _ranked(counts: dict[str, int]) -> tuple[dict[str, int | None], int]:
    """Competition ranks ("1224") by count, highest first; None for a count of 0. And the total."""
    first: dict[int, int] = {}  # count -> the rank of the first key with it
    for place, count in enumerate(sorted(counts.values(), reverse=True), start=1):
        first.setdefault(count, place)
    return {key: first[count] if count else None for key, count in counts.items()}, sum(counts.values())


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


# -- per grid -----------------------------------------------------------------------------------


def grid_counts(session: Session, user: User, which: CaseFilter, start: datetime, end: datetime) -> dict[str, int]:
    """{grid code: counted cases received in [start, end)}, grouped by the database."""
    rows = session.execute(
        sa.select(Case.grid_code, sa.func.count())
        .where(*_counted(session, user, which, start, end), Case.grid_code.is_not(None))
        .group_by(Case.grid_code)
    )
    return {code: int(n) for code, n in rows}


def grid_hotspots(session: Session, index: GridIndex, user: User, crs: InputCRS, period_from: datetime,
                  period_to: datetime, which: CaseFilter = CaseFilter(), with_outlines: bool = True) -> dict:
    """The caller's grids with their counts as a GeoJSON FeatureCollection in `crs`, most cases first;
    without outlines (null geometries) for a map that has them already: the counts are a tenth the size.

    Raises gridsvc.oversight.numbers.PeriodError for a period that is empty, reversed or longer than 92 days."""
    period_from, period_to = as_utc(period_from), as_utc(period_to)
    check_period(period_from, period_to)
    cells = cells_in(drawn_area(session, user), index)
    found = grid_counts(session, user, which, period_from, period_to)
    counts = {cell.code: found.get(cell.code, 0) for _, cell in cells}
    ranks, total = _ranked(counts)
    outlines = OUTLINES.outlines(index, crs) if cells and with_outlines else {}
    features = [
        {"type": "Feature", "id": cell.code, "geometry": outlines.get(cell.code),
         "properties": {"code": cell.code, "name": cell.name, "kind": cell.kind, "village_code": cell.village_code,
                        "count": counts[cell.code], "rank": ranks[cell.code],
                        "share": _share(counts[cell.code], total)}}
        for _, cell in cells
    ]
    features.sort(key=lambda f: (-f["properties"]["count"], f["id"]))
    return {"type": "FeatureCollection", "crs": str(crs), "network_revision": index.revision,
            "from": period_from.isoformat(), "to": period_to.isoformat(), **which.as_json(), "total": total,
            "features": features}


# -- per hexagon --------------------------------------------------------------------------------


def hexagon_of(lon: float, lat: float, resolution: int) -> str:
    """The H3 cell of a CGCS2000 (≈ WGS84) point."""
    return h3.latlng_to_cell(lat, lon, resolution)


def hexagon_outline(cell: str) -> shapely.Polygon:
    """The H3 cell's boundary as a lon/lat polygon (WGS84, taken as CGCS2000)."""
    return shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


def hexagon_hotspots(session: Session, user: User, crs: InputCRS, period_from: datetime, period_to: datetime,
                     resolution: int = DEFAULT_RESOLUTION, which: CaseFilter = CaseFilter()) -> dict:
    """The H3 cells holding counted cases, with their counts, as hexagon Features in `crs`.

    Raises gridsvc.oversight.numbers.PeriodError for a bad period, ValueError for a resolution outside 7–10."""
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"the resolution must lie between {H3_RESOLUTIONS.start} and {H3_RESOLUTIONS.stop - 1}")
    period_from, period_to = as_utc(period_from), as_utc(period_to)
    check_period(period_from, period_to)
    counted = _counted(session, user, which, period_from, period_to)
    points = session.execute(sa.select(Case.lon, Case.lat).where(*counted))
    counts = dict(Counter(hexagon_of(lon, lat, resolution) for lon, lat in points))
    ranks, total = _ranked(counts)
    order = sorted(counts, key=lambda c: (-counts[c], c))
    shapes = [hexagon_outline(c) for c in order]
    drawn = geometry_from_cgcs2000(np.array(shapes, dtype=object), crs) if shapes else []
    features = [
        {"type": "Feature", "id": cell, "geometry": mapping(shape),
         "properties": {"h3": cell, "resolution": resolution, "count": counts[cell], "rank": ranks[cell],
                        "share": _share(counts[cell], total)}}
        for cell, shape in zip(order, drawn)
    ]
    return {"type": "FeatureCollection", "crs": str(crs), "resolution": resolution,
            "cell_area_km2": round(h3.average_hexagon_area(resolution, "km^2"), 4),
            "from": period_from.isoformat(), "to": period_to.isoformat(), **which.as_json(), "total": total,
            "features": features}


# -- rising grids -------------------------------------------------------------------------------


def is_rising(this_week: int, last_week: int, min_count: int = DEFAULT_MIN_COUNT) -> bool:
    """The rule (docs/hotspots.md): at least `min_count` cases this week, and at least twice last week's."""
    return this_week >= min_count and this_week >= RISING_FACTOR * last_week


def week_bounds(week_ending: date) -> tuple[datetime, datetime, datetime]:
    """(start of last week, start of this week, end of this week): this week is the 7 China days
    ending with `week_ending` (that day included), last week the 7 before."""
    end = china_midnight(week_ending + timedelta(days=1))
    return end - 2 * WEEK, end - WEEK, end


def rising_grids(session: Session, index: GridIndex, user: User, week_ending: date,
                 min_count: int = DEFAULT_MIN_COUNT, which: CaseFilter = CaseFilter()) -> dict:
    """Per grid of the caller's area with a counted case in either week: both weeks' counts, the change
    and the `rising` flag; rising grids first, then by change, this week's count and code."""
    last_start, this_start, this_end = week_bounds(week_ending)
    this_week = grid_counts(session, user, which, this_start, this_end)
    last_week = grid_counts(session, user, which, last_start, this_start)
    cells = {cell.code: cell for _, cell in cells_in(drawn_area(session, user), index)}
    rows = []
    for code in sorted((set(this_week) | set(last_week)) & set(cells)):
        now, before = this_week.get(code, 0), last_week.get(code, 0)
        rows.append({"code": code, "name": cells[code].name, "village_code": cells[code].village_code,
                     "this_week": now, "last_week": before, "change": now - before,
                     "change_ratio": round((now - before) / before, 4) if before else None,
                     "rising": is_rising(now, before, min_count)})
    rows.sort(key=lambda r: (not r["rising"], -r["change"], -r["this_week"], r["code"]))
    return {
        "week_ending": week_ending.isoformat(),
        "this_week": {"from": this_start.isoformat(), "to": this_end.isoformat(),
                      "total": sum(r["this_week"] for r in rows)},
        "last_week": {"from": last_start.isoformat(), "to": this_start.isoformat(),
                      "total": sum(r["last_week"] for r in rows)},
        **which.as_json(),
        "min_count": min_count,
        "rule": f"rising: this_week >= {min_count} and this_week >= {RISING_FACTOR} × last_week",
        "grids": rows,
    }
