"""The stored catalogue, departments and responsibility list, on SpatiaLite and PostGIS."""

import copy
import json

import pytest
import sqlalchemy as sa

from fixtures.sample import CATALOGUE_FILE, DEPARTMENTS_FILE, RULES_FILE
from gridsvc.catalogue import (
    CatalogueError,
    current_categories,
    grid_area_chains,
    load_catalogue,
    load_departments,
    load_rules,
    read_json,
    responsibility_list,
)
from gridsvc.models import Category, ResponsibilityRule


def test_sample_covers_every_category_in_every_grid(sample_app, rt):
    with rt.sessions() as session:
        rules = responsibility_list(session)
        assert len(rules.categories) >= 30
        assert rules.coverage_gaps(grid_area_chains(rt.index.get())) == []


def test_reserved_categories_route_to_county_departments(sample_app, rt):
    index = rt.index.get()
    with rt.sessions() as session:
        rules = responsibility_list(session)
    reserved = [c for c in rules.categories.values() if not c.township_may_act]
    assert reserved
    for chain in grid_area_chains(index)[:20]:
        for category in reserved:
            route = rules.route(chain, category.code)
            assert route.department.level == "county" and route.reserved_to_county


def test_every_domain_lands_with_the_grids_own_township_or_its_county(sample_app, rt):
    index = rt.index.get()
    with rt.sessions() as session:
        rules = responsibility_list(session)
    for chain in grid_area_chains(index):
        township, county = chain[-2], chain[-1]
        for category in rules.categories.values():
            department = rules.route(chain, category.code).department
            assert department.admin_code in (township, county), (chain[0], category.code, department.code)


def test_reload_changes_nothing_and_an_edit_opens_a_version(sample_app, rt):
    data = read_json(CATALOGUE_FILE)
    with rt.sessions.begin() as session:
        again = load_catalogue(session, data)
    assert (again.created, again.changed) == (0, 0)
    edited = copy.deepcopy(data)
    edited["categories"][0]["limit_value"] = edited["categories"][0]["limit_value"] + 1
    code = edited["categories"][0]["code"]
    with rt.sessions.begin() as session:
        result = load_catalogue(session, edited)
    assert (result.created, result.changed) == (0, 1)
    with rt.sessions() as session:
        versions = session.scalars(sa.select(Category).where(Category.code == code).order_by(Category.version)).all()
        assert [v.version for v in versions] == [1, 2]
        assert versions[0].valid_to == versions[1].valid_from and versions[1].valid_to is None
        assert [c.limit_value for c in current_categories(session) if c.code == code] == [versions[1].limit_value]


@pytest.mark.parametrize("breakage,message", [
    (lambda d: d["categories"][0].update(code="1x001"), "5 digits"),
    (lambda d: d["categories"][1].update(domain="weather"), "domain"),
    (lambda d: d["categories"][2].update(limit_value=-1), "positive"),
    (lambda d: d["categories"].append(dict(d["categories"][0])), "twice"),
    (lambda d: d["categories"][3].update(code="99001"), "major class 99"),
])
def test_bad_catalogue_is_refused_whole(sample_app, rt, breakage, message):
    data = read_json(CATALOGUE_FILE)
    data["categories"][4]["name_zh"] = "改过的名字"  # a valid change that must not land either
    breakage(data)
    with pytest.raises(CatalogueError, match=message):
        with rt.sessions.begin() as session:
            load_catalogue(session, data)
    with rt.sessions() as session:
        assert "改过的名字" not in [c.name_zh for c in current_categories(session)]


@pytest.mark.parametrize("breakage,message", [
    (lambda r: r.update(department_code="nobody"), "department nobody"),
    (lambda r: r.update(category_code="99999", domain=None), "not in the catalogue"),
    (lambda r: r.update(category_code="01001", domain="governance"), "exactly one"),
    (lambda r: r.update(area_code="2201"), "12-digit"),
])
def test_bad_rules_are_refused_and_the_old_list_stays(sample_app, rt, breakage, message):
    data = read_json(RULES_FILE)
    breakage(data["rules"][0])
    with rt.sessions() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(ResponsibilityRule))
    with pytest.raises(CatalogueError, match=message):
        with rt.sessions.begin() as session:
            load_rules(session, data)
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ResponsibilityRule)) == before


def test_department_with_unknown_unit_is_refused(sample_app, rt):
    data = read_json(DEPARTMENTS_FILE)
    data["departments"][0]["admin_code"] = "999999000000"
    with pytest.raises(CatalogueError, match="not a known unit"):
        with rt.sessions.begin() as session:
            load_departments(session, data)


def test_api_catalogue_departments_and_published_list(client):
    catalogue = client.get("/api/v1/categories").get_json()
    assert catalogue["majors"] and catalogue["categories"]
    first = catalogue["categories"][0]
    assert {"code", "name_zh", "name_en", "domain", "limit", "township_may_act"} <= set(first)
    departments = client.get("/api/v1/departments").get_json()["departments"]
    assert any(d["level"] == "county" for d in departments) and any(d["teams"] for d in departments)
    published = client.get("/api/v1/responsibility").get_json()["rules"]
    assert published and all(r["department"]["name_zh"] and r["area_name"] for r in published)
    assert client.get("/api/v1/responsibility/coverage").get_json() == {"complete": True, "gaps": []}


def test_api_route(client, rt):
    grid = next(c for c in rt.index.get().cells if c.kind == "base")
    with rt.sessions() as session:
        rules = responsibility_list(session)
    category = sorted(rules.categories)[0]
    body = client.get(f"/api/v1/route?grid={grid.code}&category={category}").get_json()
    assert body["department"]["code"] == rules.route(grid_area_chains_for(rt, grid.code), category).department.code
    bad = client.get(f"/api/v1/route?grid=220112999999001&category={category}")
    assert bad.status_code == 422 and "grid" in bad.get_json()["error"]["fields"]
    bad = client.get(f"/api/v1/route?grid={grid.code}&category=99999")
    assert bad.status_code == 422 and "category" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/route?grid=x").status_code == 422


def grid_area_chains_for(rt, code):
    from gridsvc.catalogue import area_chain

    return area_chain(rt.index.get(), code)


def test_cli_coverage_and_loads(runner, sample_app, tmp_path):
    result = runner.invoke(args=["catalogue", "coverage"])
    assert result.exit_code == 0 and "0 uncovered" in result.output
    assert "0 new, 0 changed" in runner.invoke(args=["catalogue", "load-categories", str(CATALOGUE_FILE)]).output
    rules = read_json(RULES_FILE)
    county_rules = [r for r in rules["rules"] if r["area_code"] == "220112000000"]
    rules["rules"] = [r for r in rules["rules"] if r not in county_rules]
    fewer = tmp_path / "rules.json"
    fewer.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["catalogue", "load-rules", str(fewer)]).exit_code == 0
    result = runner.invoke(args=["catalogue", "coverage"])
    assert result.exit_code == 1 and "uncovered" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = runner.invoke(args=["catalogue", "load-rules", str(broken)])
    assert result.exit_code == 1 and "Error:" in result.output


def test_api_route_gives_deadlines_in_working_time(client, rt):
    """A report received the afternoon before National Day is due after the holiday."""
    from datetime import datetime

    from gridsvc.worktime import CHINA

    grid = next(c for c in rt.index.get().cells if c.kind == "base")
    with rt.sessions() as session:
        # 1.5 office hours are left on 30 September after 16:00: a longer limit must cross the holiday.
        hours = next(c for c in current_categories(session) if c.limit_unit == "hours" and 1.5 < c.limit_value <= 7)
    at = "2026-09-30T16:00:00%2B08:00"
    body = client.get(f"/api/v1/route?grid={grid.code}&category={hours.code}&at={at}").get_json()
    due = datetime.fromisoformat(body["deadlines"]["handling_due_at"])
    expected = rt.calendar.add_working_hours(datetime(2026, 9, 30, 16, 0, tzinfo=CHINA), hours.limit_value)
    assert due == expected and due.date().isoformat() >= "2026-10-08"
    assert body["deadlines"]["calendar_official"] is True
