"""Finding cases for the case desk and the screen's search: words, filters, the caller's visibility, an
order (newest first unless asked otherwise), a page at a time.

Every filter is optional and they combine with AND. The visibility rule of
`gridsvc.cases.access` is part of the query, so a page is always full and the
total counts only cases the caller may open. Words (`q`) are matched by
`gridsvc.cases.search_text`. A filter the search cannot take is refused as a
`SearchRefused` naming it, never passed on to the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from gridsvc.accounts.users import area_prefix
from gridsvc.cases.access import case_area_sql, visible_to
from gridsvc.cases.search_text import text_condition
from gridsvc.geo.grid_records import DOMAINS, is_grid_code
from gridsvc.kernel.errors import DomainError
from gridsvc.geo.locate import GridIndex
from gridsvc.kernel.models import AdminUnit, Case, Category, User
from gridsvc.kernel.search_terms import words

# The orders a page can come in; each ends with the id, so that pages never overlap or skip a case.
SORTS = {
    "newest": (Case.received_at.desc(), Case.id.desc()),
    "oldest": (Case.received_at.asc(), Case.id.asc()),
    "deadline": (Case.handling_due_at.asc(), Case.id.asc()),  # the handling deadline nearest first
    "overdue": (Case.overdue_level.desc(), Case.handling_due_at.asc(), Case.id.asc()),  # longest overdue first
}
MAX_WORDS = 8  # each word is a few index lookups and substring checks


@dataclass(frozen=True)
class CaseFilter:
    bounds: tuple[float, float, float, float] | None = None  # CGCS2000 lon/lat
    statuses: tuple[str, ...] = ()
    category: str | None = None
    department: str | None = None
    area: str | None = None  # a 12-digit administrative or 15-digit grid code: the cases inside it
    overdue: bool | None = None
    flagged: bool | None = None
    flag: str | None = None  # a flag, e.g. possible_duplicate, or several separated by commas: any of them
    escalated: bool | None = None  # 上报县级: the case went to a county department
    county_alerted: bool | None = None  # the deadline sweep's county_alert: long overdue (overdue level 2)
    supervised: bool | None = None  # 督办 at least once
    received_from: datetime | None = None
    received_before: datetime | None = None
    q: str | None = None  # words, every one of which must occur (gridsvc.cases.search_text)
    domain: str | None = None  # 综治 governance, 执法 enforcement, 服务 services: the category's domain
    sort: str = "newest"  # a key of SORTS
    limit: int = 50
    offset: int = 0


class UnknownArea(DomainError, ValueError):
    """An `area` that is neither an administrative unit nor a grid: always the `area` parameter's fault."""

    field = "area"


class SearchRefused(DomainError, ValueError):
    """A filter the search cannot take; `field` names it."""


def find_cases(session: Session, user: User, wanted: CaseFilter) -> tuple[int, list[Case]]:
    """How many visible cases match, and the requested page of them (in `wanted.sort`'s order)."""
    _check(wanted)
    conditions = [visible_to(session, user), *_conditions(wanted)]
    if wanted.area is not None:
        conditions.append(case_area_sql().startswith(_area_prefix(session, wanted.area), autoescape=True))
    total = session.scalar(sa.select(sa.func.count()).select_from(Case).where(*conditions))
    page = session.scalars(  # a merged case's row names its survivor: one query for the page, not one a case
        sa.select(Case).where(*conditions).order_by(*SORTS[wanted.sort]).limit(wanted.limit).offset(wanted.offset)
        .options(selectinload(Case.merged_into))
    )
    return total, list(page)


def place_names(index: GridIndex, cases: list[Case]) -> dict[str, str]:
    """The names of the grids, villages and townships of `cases`, by code, as the network stands (a county
    supervisor's list needs each case's township by name)."""
    codes = {code for case in cases for code in (case.grid_code, case.village_code, case.township_code) if code}
    return {code: name for code in sorted(codes) if (name := index.name_of(code)) is not None}


def _check(wanted: CaseFilter) -> None:
    if wanted.sort not in SORTS:
        raise SearchRefused(f"排序方式无效 / sort must be one of {', '.join(SORTS)}", field="sort")
    if wanted.domain is not None and wanted.domain not in DOMAINS:
        raise SearchRefused(f"领域无效 / domain must be one of {', '.join(DOMAINS)}", field="domain")
    if wanted.q is not None and len(words(wanted.q)) > MAX_WORDS:
        raise SearchRefused(f"查找词过多 / at most {MAX_WORDS} words", field="q")
    if None not in (wanted.received_from, wanted.received_before) and wanted.received_from >= wanted.received_before:
        raise SearchRefused("截止时间须晚于起始时间 / must be later than received_from", field="received_before")


def _area_prefix(session: Session, code: str) -> str:
    """The code prefix of everything inside an area: a grid code itself, or an administrative unit's
    code cut to its level (a township's 220112100000 covers 220112100…)."""
    if is_grid_code(code):
        return code
    unit = session.get(AdminUnit, code)
    if unit is None:
        raise UnknownArea(f"没有区划或网格 {code} / {code} is neither a known administrative unit nor a grid")
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
        found.append(sa.or_(*(flags_text.contains(f'"{flag}"', autoescape=True) for flag in wanted.flag.split(","))))
    if wanted.escalated is not None:
        found.append(Case.escalated.is_(wanted.escalated))
    if wanted.county_alerted is not None:
        found.append(Case.overdue_level >= 2 if wanted.county_alerted else Case.overdue_level < 2)
    if wanted.supervised is not None:
        found.append(Case.supervision_count > 0 if wanted.supervised else Case.supervision_count == 0)
    if wanted.domain is not None:
        found.append(sa.exists().where(Category.code == Case.category_code, Category.version == Case.category_version,
                                       Category.domain == wanted.domain))
    said = words(wanted.q or "")
    if said:
        found.append(text_condition(said))
    if wanted.received_from is not None:
        found.append(Case.received_at >= wanted.received_from)
    if wanted.received_before is not None:
        found.append(Case.received_at < wanted.received_before)
    return found
