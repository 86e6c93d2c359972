"""Finding cases for the case desk: filters, the caller's visibility, newest first, a page at a time.

Every filter is optional and they combine with AND. The visibility rule of
`gridsvc.cases.access` is part of the query, so a page is always full and the
total counts only cases the caller may open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.accounts.users import area_prefix
from gridsvc.cases.access import case_area_sql, visible_to
from gridsvc.geo.grid_records import is_grid_code
from gridsvc.kernel.errors import DomainError
from gridsvc.kernel.models import AdminUnit, Case, User


@dataclass(frozen=True)
class CaseFilter:
    bounds: tuple[float, float, float, float] | None = None  # CGCS2000 lon/lat
    statuses: tuple[str, ...] = ()
    category: str | None = None
    department: str | None = None
    area: str | None = None  # a 12-digit administrative or 15-digit grid code: the cases inside it
    overdue: bool | None = None
    flagged: bool | None = None
    flag: str | None = None  # one flag, e.g. possible_duplicate
    received_from: datetime | None = None
    received_before: datetime | None = None
    limit: int = 50
    offset: int = 0


class UnknownArea(DomainError, ValueError):
    """An `area` that is neither an administrative unit nor a grid: always the `area` parameter's fault."""

    field = "area"


def find_cases(session: Session, user: User, wanted: CaseFilter) -> tuple[int, list[Case]]:
    """How many visible cases match, and the requested page of them (newest first)."""
    conditions = [visible_to(session, user), *_conditions(wanted)]
    if wanted.area is not None:
        conditions.append(case_area_sql().startswith(_area_prefix(session, wanted.area), autoescape=True))
    total = session.scalar(sa.select(sa.func.count()).select_from(Case).where(*conditions))
    page = session.scalars(
        sa.select(Case).where(*conditions).order_by(Case.received_at.desc(), Case.id.desc())
        .limit(wanted.limit).offset(wanted.offset)
    )
    return total, list(page)


def _area_prefix(session: Session, code: str) -> str:
    """The code prefix of everything inside an area: a grid code itself, or an administrative unit's
    code cut to its level (a township's 220112100000 covers 220112100…)."""
    if is_grid_code(code):
        return code
    unit = session.get(AdminUnit, code)
    if unit is None:
        raise UnknownArea(f"{code} is neither a known administrative unit nor a grid")
    return area_prefix(unit.code, unit.level)


def _conditions(wanted: CaseFilter) -> list[sa.ColumnElement[bool]]:
    found = []
    if wanted.bounds is not None:
        min_lon, min_lat, max_lon, max_lat = wanted.bounds
        found += [Case.lon.between(min_lon, max_lon), Case.lat.between(min_lat, max_lat)]
    if wanted.statuses:
        found.append(Case.status.in_(wanted.statuses))
    if wanted.category is not None:
        found.append(Case.category_code == wanted.category)
    if wanted.department is not None:
        found.append(Case.department_code == wanted.department)
    if wanted.overdue is not None:
        found.append(Case.overdue_level > 0 if wanted.overdue else Case.overdue_level == 0)
    # Flags are a JSON list of identifiers: as text, a flagged case's list holds a quoted string.
    flags_text = sa.cast(Case.flags, sa.Text)
    if wanted.flagged is not None:
        has_flag = flags_text.contains('"', autoescape=True)
        found.append(has_flag if wanted.flagged else ~has_flag)
    if wanted.flag is not None:
        found.append(flags_text.contains(f'"{wanted.flag}"', autoescape=True))
    if wanted.received_from is not None:
        found.append(Case.received_at >= wanted.received_from)
    if wanted.received_before is not None:
        found.append(Case.received_at < wanted.received_before)
    return found
