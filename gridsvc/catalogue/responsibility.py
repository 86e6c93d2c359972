"""Who answers for a report: the responsibility list (责任清单) as data, and routing by it.

Like FixMyStreet's contacts, routing is data, not code. A rule says "in this
area, for this category (or for a whole domain), this department answers";
areas nest by their codes (grid ⊂ village ⊂ township ⊂ county). For a report
the most specific rule wins: the smallest area first, and within one area a
rule for the category before a rule for its domain.

Where the township has no authority over a category (行政处罚, 行政许可 reserved
to the county: `township_may_act` false), only a rule for that very category
naming a county department counts: a reserved power belongs to a named
bureau, so a domain catch-all never answers for it, and a missing rule shows
up in the coverage check instead of landing with the wrong office. The
report goes up to the county (上报县级) by the list itself, not by a special
case in the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    name_zh: str
    name_en: str
    domain: str
    township_may_act: bool


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name_zh: str
    name_en: str
    level: str  # 'county' | 'township'
    admin_code: str


@dataclass(frozen=True)
class Rule:
    area_code: str
    subject_kind: str  # 'category' | 'domain'
    subject: str
    department_code: str
    note_zh: str | None = None


@dataclass(frozen=True)
class Route:
    """The department that answers, the rule that said so, and whether it went to the county
    because the township may not act."""

    department: DepartmentInfo
    rule: Rule
    reserved_to_county: bool


@dataclass(frozen=True)
class CoverageGap:
    grid_code: str
    category_code: str


class ResponsibilityList:
    """An immutable view of the rules, ready to route."""

    def __init__(
        self,
        rules: Iterable[Rule],
        departments: Mapping[str, DepartmentInfo],
        categories: Mapping[str, CategoryInfo],
    ) -> None:
        self.rules = list(rules)
        self.departments = dict(departments)
        self.categories = dict(categories)
        self._by_area: dict[str, dict[tuple[str, str], Rule]] = {}
        for rule in self.rules:
            self._by_area.setdefault(rule.area_code, {})[(rule.subject_kind, rule.subject)] = rule

    def route(self, areas: Sequence[str], category_code: str) -> Route | None:
        """Route a report in `areas` (most specific first: grid, village, township, county codes);
        None when no rule answers or the category is not (any longer) in the catalogue."""
        category = self.categories.get(category_code)
        if category is None:
            return None
        subjects = [("category", category.code)]
        if category.township_may_act:
            subjects.append(("domain", category.domain))
        for area in areas:
            rules = self._by_area.get(area)
            if not rules:
                continue
            for key in subjects:
                rule = rules.get(key)
                if rule is None:
                    continue
                department = self.departments[rule.department_code]
                if category.township_may_act or department.level == "county":
                    return Route(department, rule, not category.township_may_act)
        return None

    def coverage_gaps(self, grid_areas: Iterable[Sequence[str]]) -> list[CoverageGap]:
        """Every (grid, category) pair no rule covers; `grid_areas` as for `route`, grid code first."""
        gaps = []
        for areas in grid_areas:
            for code in sorted(self.categories):
                if self.route(areas, code) is None:
                    gaps.append(CoverageGap(areas[0], code))
        return gaps
