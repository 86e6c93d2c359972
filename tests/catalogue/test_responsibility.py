"""Routing by the responsibility list: the most specific rule wins; reserved matters go to the county."""

import pytest

from gridsvc.catalogue.responsibility import CategoryInfo, DepartmentInfo, ResponsibilityList, Rule

COUNTY, TOWN, VILLAGE, GRID = "220112000000", "220112100000", "220112100201", "220112100201003"
AREAS = [GRID, VILLAGE, TOWN, COUNTY]
OTHER_VILLAGE_AREAS = ["220112100202001", "220112100202", TOWN, COUNTY]

DEPARTMENTS = {
    d.code: d for d in [
        DepartmentInfo(f"{TOWN}-ZZZX", "齐家镇综治中心", "Qijia Governance Centre", "township", TOWN),
        DepartmentInfo(f"{TOWN}-ZHZF", "齐家镇综合行政执法队", "Qijia Enforcement Team", "township", TOWN),
        DepartmentInfo(f"{TOWN}-SWB", "齐家镇社会事务办", "Qijia Social Affairs Office", "township", TOWN),
        DepartmentInfo(f"{COUNTY}-ZJ", "双阳区住房和城乡建设局", "Housing and Construction Bureau", "county", COUNTY),
        DepartmentInfo(f"{COUNTY}-JY", "双阳区教育局", "Education Bureau", "county", COUNTY),
    ]
}
CATEGORIES = {
    c.code: c for c in [
        CategoryInfo("01001", "邻里纠纷", "Neighbour disputes", "governance", True),
        CategoryInfo("03001", "低保救助", "Minimum living allowance", "services", True),
        CategoryInfo("03002", "控辍保学", "School drop-outs", "services", True),
        CategoryInfo("05001", "违法建设", "Illegal building", "enforcement", False),
        CategoryInfo("05002", "占道经营", "Street vending", "enforcement", True),
    ]
}
RULES = [
    Rule(TOWN, "domain", "governance", f"{TOWN}-ZZZX"),
    Rule(TOWN, "domain", "enforcement", f"{TOWN}-ZHZF"),
    Rule(TOWN, "domain", "services", f"{TOWN}-SWB"),
    Rule(COUNTY, "category", "05001", f"{COUNTY}-ZJ"),
    Rule(GRID, "category", "03002", f"{COUNTY}-JY"),  # the school's grid
]


@pytest.fixture
def responsibility():
    return ResponsibilityList(RULES, DEPARTMENTS, CATEGORIES)


@pytest.mark.parametrize("category,department", [
    ("01001", f"{TOWN}-ZZZX"),  # by domain, township
    ("05002", f"{TOWN}-ZHZF"),
    ("03001", f"{TOWN}-SWB"),
    ("03002", f"{COUNTY}-JY"),  # the grid rule beats the township's domain rule
])
def test_most_specific_rule_wins(responsibility, category, department):
    route = responsibility.route(AREAS, category)
    assert route.department.code == department and not route.reserved_to_county


def test_grid_rule_applies_only_in_its_grid(responsibility):
    assert responsibility.route(OTHER_VILLAGE_AREAS, "03002").department.code == f"{TOWN}-SWB"


def test_reserved_matter_skips_township_rules_and_goes_to_county(responsibility):
    # The township's enforcement team would match by domain, but may not impose the penalty.
    route = responsibility.route(AREAS, "05001")
    assert route.department.code == f"{COUNTY}-ZJ"
    assert route.reserved_to_county and route.rule.area_code == COUNTY


def test_a_domain_catch_all_never_answers_for_a_reserved_power():
    rules = [r for r in RULES if r.subject != "05001"] + [Rule(COUNTY, "domain", "enforcement", f"{COUNTY}-ZJ")]
    responsibility = ResponsibilityList(rules, DEPARTMENTS, CATEGORIES)
    assert responsibility.route(AREAS, "05001") is None  # shows up as a coverage gap
    assert responsibility.route(AREAS, "05002").department.code == f"{TOWN}-ZHZF"


def test_category_rule_beats_domain_rule_in_the_same_area():
    rules = RULES + [Rule(TOWN, "category", "01001", f"{TOWN}-SWB")]
    assert ResponsibilityList(rules, DEPARTMENTS, CATEGORIES).route(AREAS, "01001").department.code == f"{TOWN}-SWB"


def test_coverage_gaps_name_every_uncovered_pair():
    rules = [r for r in RULES if r.subject != "05001"]  # nobody at the county for illegal building
    gaps = ResponsibilityList(rules, DEPARTMENTS, CATEGORIES).coverage_gaps([AREAS, OTHER_VILLAGE_AREAS])
    assert [(g.grid_code, g.category_code) for g in gaps] == [(GRID, "05001"), ("220112100202001", "05001")]
    assert ResponsibilityList(RULES, DEPARTMENTS, CATEGORIES).coverage_gaps([AREAS]) == []


def test_nothing_for_an_area_without_rules(responsibility):
    assert responsibility.route(["220112101201001", "220112101201", "220112101000", "220113000000"], "01001") is None
