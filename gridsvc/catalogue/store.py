"""The stored catalogue, departments and responsibility list: loading, versioning, reading.

Administrators keep these as JSON files (see fixtures/data/shuangyang/ for
the shape) and load them with the CLI. Loading checks everything before it
writes, and the caller's transaction makes it all or nothing. A changed
category opens a new version (the old one is closed, never deleted); loading
the same file again changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.geo.locate import GridIndex
from gridsvc.kernel.models import (
    CATALOGUE_COUNTER,
    CATEGORY_LIMIT_UNITS,
    DEPARTMENT_LEVELS,
    DOMAINS,
    AdminUnit,
    Category,
    CategoryMajor,
    Department,
    GridCell,
    ResponsibilityRule,
    Team,
)
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.network.store import bump_revision, current_revision
from gridsvc.kernel.reloading import Reloading
from gridsvc.catalogue.responsibility import CategoryInfo, DepartmentInfo, ResponsibilityList, Rule

RESERVED_POWERS = ("administrative_penalty", "administrative_license", "criminal")
# Upper bounds that keep deadlines sane: a year of office time either way.
MAX_LIMIT = {"hours": 2000.0, "days": 250.0}


class CatalogueError(ValueError):
    """A catalogue, department or rule file that cannot be loaded as it is."""


def read_json(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


# -- file shapes: every field typed and bounded, unknown keys refused -------------------------


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _name(length: int) -> fields.String:
    return fields.String(required=True, validate=Length(1, length))


class MajorSchema(_Strict):
    code = fields.String(required=True, validate=Regexp(r"^\d{2}$", error="2 digits"))
    name_zh = _name(100)
    name_en = _name(200)


class CategorySchema(_Strict):
    code = fields.String(required=True, validate=Regexp(r"^\d{5}$", error="5 digits (2 major + 3 subclass)"))
    name_zh = _name(100)
    name_en = _name(200)
    domain = fields.String(required=True, validate=OneOf(DOMAINS))
    limit_value = fields.Float(required=True, allow_nan=False, validate=Range(min=0, min_inclusive=False))
    limit_unit = fields.String(required=True, validate=OneOf(CATEGORY_LIMIT_UNITS))
    urgent_limit_value = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                                      validate=Range(min=0, min_inclusive=False))
    urgent_limit_unit = fields.String(load_default=None, allow_none=True, validate=OneOf(CATEGORY_LIMIT_UNITS))
    township_may_act = fields.Boolean(required=True, truthy={True}, falsy={False})
    reserved_power = fields.String(load_default=None, allow_none=True, validate=OneOf(RESERVED_POWERS))
    description_zh = fields.String(load_default=None, allow_none=True, validate=Length(max=2000))
    duplicate_distance_m = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                                        validate=Range(min=1, max=5000))
    # The feedback step (处置反馈) must name a photo of the result.
    feedback_photo_required = fields.Boolean(load_default=False, truthy={True}, falsy={False})

    @validates_schema
    def _consistent(self, data, **_):
        for prefix in ("limit", "urgent_limit"):
            value, unit = data.get(f"{prefix}_value"), data.get(f"{prefix}_unit")
            if (value is None) != (unit is None):
                raise ValidationError(f"{prefix}_value and {prefix}_unit go together")
            if value is not None and value > MAX_LIMIT[unit]:
                raise ValidationError(f"{prefix} is at most {MAX_LIMIT[unit]:g} working {unit}")
        if data["township_may_act"] == (data.get("reserved_power") is not None):
            raise ValidationError("reserved_power is set exactly when township_may_act is false")


class CatalogueSchema(_Strict):
    majors = fields.List(fields.Nested(MajorSchema), load_default=list)
    categories = fields.List(fields.Nested(CategorySchema), required=True)


class TeamSchema(_Strict):
    code = fields.String(required=True, validate=Length(1, 48))
    name_zh = _name(100)
    name_en = _name(200)


class DepartmentSchema(_Strict):
    code = fields.String(required=True, validate=Regexp(r"^\d{12}-[A-Z0-9]{1,20}$", error="<unit code>-<LETTERS>"))
    name_zh = _name(100)
    name_en = _name(200)
    level = fields.String(required=True, validate=OneOf(DEPARTMENT_LEVELS))
    admin_code = fields.String(required=True, validate=Regexp(r"^\d{12}$", error="12 digits"))
    teams = fields.List(fields.Nested(TeamSchema), load_default=list)


class DepartmentsSchema(_Strict):
    departments = fields.List(fields.Nested(DepartmentSchema), required=True)


class RuleSchema(_Strict):
    area_code = fields.String(
        required=True, validate=Regexp(r"^\d{12}(\d{3})?$", error="a 12-digit unit or 15-digit grid code")
    )
    category_code = fields.String(load_default=None, allow_none=True)
    domain = fields.String(load_default=None, allow_none=True, validate=OneOf(DOMAINS))
    department_code = fields.String(required=True, validate=Length(1, 40))
    note_zh = fields.String(load_default=None, allow_none=True, validate=Length(max=200))

    @validates_schema
    def _one_subject(self, data, **_):
        if (data.get("category_code") is None) == (data.get("domain") is None):
            raise ValidationError("give exactly one of category_code and domain")


class RulesSchema(_Strict):
    rules = fields.List(fields.Nested(RuleSchema), required=True)


def _parse(schema: Schema, data, what: str) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise CatalogueError(f"{what}: {_first_problem(exc.messages)}") from exc


def _first_problem(messages, path: str = "") -> str:
    """The first message of marshmallow's nested dict, with where it is (categories.3.limit_value)."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        where = path if key == "_schema" else f"{path}.{key}" if path else str(key)
        return _first_problem(value, where)
    if isinstance(messages, list) and messages and not isinstance(messages[0], str):
        return _first_problem(messages[0], path)
    return f"{path}: {'; '.join(messages) if isinstance(messages, list) else messages}"


# -- catalogue -------------------------------------------------------------------------


@dataclass
class CatalogueResult:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    retired: int = 0


def load_catalogue(
    session: Session, data: dict, at: datetime | None = None, retire_missing: bool = False
) -> CatalogueResult:
    """Upsert the major classes and categories; a changed category opens a new version.

    With `retire_missing`, a current category the file no longer lists is retired
    (its version closes): new reports can no longer use it, old cases keep it.
    """
    at = as_utc(at) if at else utcnow()
    parsed = _parse(CatalogueSchema(), data, "catalogue")
    majors = {m["code"]: m for m in parsed["majors"]}
    entries = {}
    for entry in parsed["categories"]:
        if entry["code"] in entries:
            raise CatalogueError(f"category {entry['code']} appears twice")
        entries[entry["code"]] = {"major_code": entry["code"][:2], **{k: v for k, v in entry.items() if k != "code"}}
    known_majors = majors.keys() | set(session.scalars(sa.select(CategoryMajor.code)))
    current = {c.code: c for c in session.scalars(sa.select(Category).where(Category.valid_to.is_(None)))}
    for code, values in entries.items():
        if values["major_code"] not in known_majors:
            raise CatalogueError(f"category {code}: major class {values['major_code']} is not defined")
        if code in current and as_utc(current[code].valid_from) > at:
            raise CatalogueError(f"category {code}: its current version starts after {at.isoformat()}")
    for major in majors.values():
        session.merge(CategoryMajor(**major))
    result = CatalogueResult()
    opened = []
    for code, values in entries.items():
        stored = current.get(code)
        if stored is not None and all(getattr(stored, k) == v for k, v in values.items()):
            result.unchanged += 1
            continue
        if stored is not None:
            stored.valid_to = at
            result.changed += 1
        else:
            result.created += 1
        version = stored.version + 1 if stored else 1
        opened.append(Category(code=code, version=version, valid_from=at, valid_to=None, **values))
    if retire_missing:
        for code in current.keys() - entries.keys():
            current[code].valid_to = at
            result.retired += 1
    session.flush()  # close old versions before opening new ones (one current row per code)
    session.add_all(opened)
    session.flush()
    if result.created or result.changed or result.retired:
        bump_revision(session, at, CATALOGUE_COUNTER)
    return result


def current_category(session: Session, code: str) -> Category | None:
    """The current version of one category, or None."""
    return session.scalar(sa.select(Category).where(Category.code == code, Category.valid_to.is_(None)))


def current_categories(session: Session) -> list[Category]:
    return list(session.scalars(sa.select(Category).where(Category.valid_to.is_(None)).order_by(Category.code)))


# -- departments ------------------------------------------------------------------------


def load_departments(session: Session, data: dict) -> int:
    """Upsert departments and their teams, every one checked before anything is written."""
    departments = _parse(DepartmentsSchema(), data, "departments")["departments"]
    levels = dict(session.execute(sa.select(AdminUnit.code, AdminUnit.level)).all())
    team_owner = dict(session.execute(sa.select(Team.code, Team.department_code)).all())
    seen_teams: set[str] = set()
    for entry in departments:
        code = entry["code"]
        if levels.get(entry["admin_code"]) != entry["level"]:
            raise CatalogueError(f"department {code}: admin_code {entry['admin_code']} is not a known {entry['level']}")
        if not code.startswith(entry["admin_code"] + "-"):
            raise CatalogueError(f"department {code}: the code must start with its unit's code")
        for team in entry["teams"]:
            if team["code"] in seen_teams or team_owner.get(team["code"], code) != code:
                raise CatalogueError(f"team {team['code']}: the code belongs to another department")
            seen_teams.add(team["code"])
    for entry in departments:
        teams = entry.pop("teams")
        session.merge(Department(**entry))
        session.flush()
        for team in teams:
            session.merge(Team(department_code=entry["code"], **team))
    session.flush()
    bump_revision(session, counter=CATALOGUE_COUNTER)
    return len(departments)


# -- responsibility list ----------------------------------------------------------------


def load_rules(session: Session, data: dict) -> int:
    """Replace the responsibility list with the file's rules (all checked first, all or nothing).

    Refused: areas that do not exist, departments of another township or
    county than the area's, category rules for reserved matters naming a
    township body (they would be published but never route).
    """
    parsed = _parse(RulesSchema(), data, "responsibility list")["rules"]
    departments = {d.code: d for d in session.scalars(sa.select(Department))}
    categories = {c.code: c for c in current_categories(session)}
    units = {u.code: u for u in session.scalars(sa.select(AdminUnit))}
    grids = dict(session.execute(
        sa.select(GridCell.code, GridCell.village_code).where(GridCell.valid_to.is_(None))
    ).all())
    rules = [_rule(entry, departments, categories, units, grids) for entry in parsed]
    keys = [(r.area_code, r.subject_kind, r.subject) for r in rules]
    if len(set(keys)) != len(keys):
        raise CatalogueError("two rules name the same area and category/domain")
    session.execute(sa.delete(ResponsibilityRule))
    session.add_all(ResponsibilityRule(
        area_code=r.area_code, subject_kind=r.subject_kind, subject=r.subject,
        department_code=r.department_code, note_zh=r.note_zh,
    ) for r in rules)
    session.flush()
    bump_revision(session, counter=CATALOGUE_COUNTER)
    return len(rules)


def _rule(entry: dict, departments: dict, categories: dict, units: dict, grids: dict) -> Rule:
    area, category_code = entry["area_code"], entry["category_code"]
    where = f"rule for area {area}"
    unit_code = grids.get(area, area)  # a grid answers to its village's units
    if unit_code not in units:
        raise CatalogueError(f"{where}: no such unit or current grid")
    if category_code is not None and category_code not in categories:
        raise CatalogueError(f"{where}: category {category_code} is not in the catalogue")
    department = departments.get(entry["department_code"])
    if department is None:
        raise CatalogueError(f"{where}: department {entry['department_code']} is not known")
    if department.admin_code not in _units_above(units, unit_code):
        raise CatalogueError(f"{where}: {department.code} is not a body of this area's township or county")
    if category_code is not None and not categories[category_code].township_may_act and department.level != "county":
        raise CatalogueError(f"{where}: category {category_code} is reserved to the county; name a county department")
    kind, subject = ("category", category_code) if category_code is not None else ("domain", entry["domain"])
    return Rule(area, kind, subject, department.code, entry["note_zh"])


def _units_above(units: dict, code: str) -> set[str]:
    """A unit's code and those of every unit above it."""
    found = set()
    while code is not None and code in units and code not in found:
        found.add(code)
        code = units[code].parent_code
    return found


def responsibility_list(session: Session) -> ResponsibilityList:
    """The stored rules, departments and current categories, ready to route.

    A rule for a retired category routes nothing any more, so it is left out (it stays stored).
    """
    categories = {
        c.code: CategoryInfo(c.code, c.name_zh, c.name_en, c.domain, c.township_may_act)
        for c in current_categories(session)
    }
    rules = [
        Rule(r.area_code, r.subject_kind, r.subject, r.department_code, r.note_zh)
        for r in session.scalars(sa.select(ResponsibilityRule).order_by(ResponsibilityRule.id))
        if r.subject_kind != "category" or r.subject in categories
    ]
    departments = {
        d.code: DepartmentInfo(d.code, d.name_zh, d.name_en, d.level, d.admin_code)
        for d in session.scalars(sa.select(Department))
    }
    return ResponsibilityList(rules, departments, categories)


def responsibility_cache(sessions: sessionmaker[Session], refresh_seconds: float) -> Reloading[ResponsibilityList]:
    """One process's responsibility list, rebuilt when the catalogue revision moves."""
    return Reloading(sessions, refresh_seconds, version=lambda session: current_revision(session, CATALOGUE_COUNTER),
                     build=lambda session, _revision: responsibility_list(session))


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
