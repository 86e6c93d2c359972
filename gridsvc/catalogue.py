"""The stored catalogue, departments and responsibility list: loading, versioning, reading.

Administrators keep these as JSON files (see fixtures/data/shuangyang/ for
the shape) and load them with the CLI. Loading checks everything before it
writes, and the caller's transaction makes it all or nothing. A changed
category opens a new version (the old one is closed, never deleted); loading
the same file again changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.geo.locate import GridIndex
from gridsvc.models import (
    CATEGORY_LIMIT_UNITS,
    DEPARTMENT_LEVELS,
    DOMAINS,
    AdminUnit,
    Category,
    CategoryMajor,
    Department,
    ResponsibilityRule,
    Team,
)
from gridsvc.network import as_utc, utcnow
from gridsvc.responsibility import CategoryInfo, DepartmentInfo, ResponsibilityList, Rule

CATEGORY_CODE = re.compile(r"^\d{5}$")
AREA_CODE = re.compile(r"^\d{12}(\d{3})?$")
_CATEGORY_FIELDS = (
    "major_code", "name_zh", "name_en", "domain", "limit_value", "limit_unit", "urgent_limit_value",
    "urgent_limit_unit", "township_may_act", "reserved_power", "description_zh",
)


class CatalogueError(ValueError):
    """A catalogue, department or rule file that cannot be loaded as it is."""


def read_json(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


# -- catalogue -------------------------------------------------------------------------


@dataclass
class CatalogueResult:
    created: int = 0
    changed: int = 0
    unchanged: int = 0


def _category_values(entry: dict) -> dict:
    code = str(entry.get("code", ""))
    if not CATEGORY_CODE.match(code):
        raise CatalogueError(f"category {code!r}: the code must be 5 digits (2 major + 3 subclass)")
    values = {"major_code": code[:2], **{k: entry.get(k) for k in _CATEGORY_FIELDS if k != "major_code"}}
    if not values["name_zh"] or not values["name_en"]:
        raise CatalogueError(f"category {code}: both name_zh and name_en are needed")
    if values["domain"] not in DOMAINS:
        raise CatalogueError(f"category {code}: domain must be one of {', '.join(DOMAINS)}")
    for prefix, required in (("limit", True), ("urgent_limit", False)):
        value, unit = values[f"{prefix}_value"], values[f"{prefix}_unit"]
        if value is None and unit is None and not required:
            continue
        if not isinstance(value, (int, float)) or value <= 0 or unit not in CATEGORY_LIMIT_UNITS:
            raise CatalogueError(f"category {code}: {prefix} needs a positive value and a unit (hours or days)")
        values[f"{prefix}_value"] = float(value)
    if not isinstance(values["township_may_act"], bool):
        raise CatalogueError(f"category {code}: township_may_act must be true or false")
    return values


def load_catalogue(session: Session, data: dict, at: datetime | None = None) -> CatalogueResult:
    """Upsert the major classes and categories; a changed category opens a new version."""
    at = as_utc(at) if at else utcnow()
    majors = {str(m.get("code")): m for m in data.get("majors", [])}
    entries = [(str(e.get("code")), _category_values(e)) for e in data.get("categories", [])]
    codes = [code for code, _ in entries]
    if len(set(codes)) != len(codes):
        raise CatalogueError("a category code appears twice")
    known_majors = majors.keys() | set(session.scalars(sa.select(CategoryMajor.code)))
    for code, values in entries:
        if values["major_code"] not in known_majors:
            raise CatalogueError(f"category {code}: major class {values['major_code']} is not defined")
    for code, major in majors.items():
        if not re.match(r"^\d{2}$", code) or not major.get("name_zh") or not major.get("name_en"):
            raise CatalogueError(f"major class {code!r}: needs a 2-digit code, name_zh and name_en")
        session.merge(CategoryMajor(code=code, name_zh=major["name_zh"], name_en=major["name_en"]))
    session.flush()
    current = {c.code: c for c in session.scalars(sa.select(Category).where(Category.valid_to.is_(None)))}
    result = CatalogueResult()
    opened = []
    for code, values in entries:
        stored = current.get(code)
        if stored is not None and all(getattr(stored, k) == v for k, v in values.items()):
            result.unchanged += 1
            continue
        if stored is not None:
            stored.valid_to = at
            result.changed += 1
        else:
            result.created += 1
        version = (stored.version if stored else _latest_version(session, code)) + 1
        opened.append(Category(code=code, version=version, valid_from=at, valid_to=None, **values))
    session.flush()  # close old versions before opening new ones (one current row per code)
    session.add_all(opened)
    session.flush()
    return result


def _latest_version(session: Session, code: str) -> int:
    return session.scalar(sa.select(sa.func.max(Category.version)).where(Category.code == code)) or 0


def current_categories(session: Session) -> list[Category]:
    return list(session.scalars(sa.select(Category).where(Category.valid_to.is_(None)).order_by(Category.code)))


# -- departments ------------------------------------------------------------------------


def load_departments(session: Session, data: dict) -> int:
    """Upsert departments and their teams."""
    units = set(session.scalars(sa.select(AdminUnit.code)))
    departments = data.get("departments", [])
    for entry in departments:
        code = str(entry.get("code", ""))
        if not code or not entry.get("name_zh") or not entry.get("name_en"):
            raise CatalogueError(f"department {code!r}: needs a code, name_zh and name_en")
        if entry.get("level") not in DEPARTMENT_LEVELS:
            raise CatalogueError(f"department {code}: level must be county or township")
        if entry.get("admin_code") not in units:
            raise CatalogueError(f"department {code}: admin_code {entry.get('admin_code')} is not a known unit")
    for entry in departments:
        session.merge(Department(
            code=entry["code"], name_zh=entry["name_zh"], name_en=entry["name_en"],
            level=entry["level"], admin_code=entry["admin_code"],
        ))
        session.flush()
        for team in entry.get("teams", []):
            session.merge(Team(
                code=team["code"], department_code=entry["code"], name_zh=team["name_zh"], name_en=team["name_en"],
            ))
    session.flush()
    return len(departments)


# -- responsibility list ----------------------------------------------------------------


def _rule(entry: dict, departments: set[str], categories: set[str]) -> Rule:
    area, category, domain = str(entry.get("area_code", "")), entry.get("category_code"), entry.get("domain")
    if not AREA_CODE.match(area):
        raise CatalogueError(f"rule for area {area!r}: the area must be a 12-digit unit or 15-digit grid code")
    if (category is None) == (domain is None):
        raise CatalogueError(f"rule for area {area}: give exactly one of category_code and domain")
    if category is not None and category not in categories:
        raise CatalogueError(f"rule for area {area}: category {category} is not in the catalogue")
    if domain is not None and domain not in DOMAINS:
        raise CatalogueError(f"rule for area {area}: domain must be one of {', '.join(DOMAINS)}")
    if entry.get("department_code") not in departments:
        raise CatalogueError(f"rule for area {area}: department {entry.get('department_code')} is not known")
    kind, subject = ("category", category) if category is not None else ("domain", domain)
    return Rule(area, kind, subject, entry["department_code"], entry.get("note_zh"))


def load_rules(session: Session, data: dict) -> int:
    """Replace the responsibility list with the file's rules (checked first, all or nothing)."""
    departments = set(session.scalars(sa.select(Department.code)))
    categories = {c.code for c in current_categories(session)}
    rules = [_rule(entry, departments, categories) for entry in data.get("rules", [])]
    keys = [(r.area_code, r.subject_kind, r.subject) for r in rules]
    if len(set(keys)) != len(keys):
        raise CatalogueError("two rules name the same area and category/domain")
    session.execute(sa.delete(ResponsibilityRule))
    session.add_all(ResponsibilityRule(
        area_code=r.area_code, subject_kind=r.subject_kind, subject=r.subject,
        department_code=r.department_code, note_zh=r.note_zh,
    ) for r in rules)
    session.flush()
    return len(rules)


def responsibility_list(session: Session) -> ResponsibilityList:
    """The stored rules, departments and current categories, ready to route."""
    rules = [
        Rule(r.area_code, r.subject_kind, r.subject, r.department_code, r.note_zh)
        for r in session.scalars(sa.select(ResponsibilityRule).order_by(ResponsibilityRule.id))
    ]
    departments = {
        d.code: DepartmentInfo(d.code, d.name_zh, d.name_en, d.level, d.admin_code)
        for d in session.scalars(sa.select(Department))
    }
    categories = {
        c.code: CategoryInfo(c.code, c.name_zh, c.name_en, c.domain, c.township_may_act, c.reserved_power)
        for c in current_categories(session)
    }
    return ResponsibilityList(rules, departments, categories)


def area_chain(index: GridIndex, grid_code: str) -> list[str]:
    """The areas a grid lies in, most specific first: grid, village, township, county codes."""
    position = index.position_of(grid_code)
    if position is None:
        raise KeyError(grid_code)
    chain = [grid_code]
    for unit in index.hierarchy(index.cells[position].village_code):
        if unit is not None:
            chain.append(unit.code)
    return chain


def grid_area_chains(index: GridIndex) -> list[list[str]]:
    return [area_chain(index, cell.code) for cell in index.cells]
