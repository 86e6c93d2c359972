"""The stored catalogue, departments and responsibility list, on SpatiaLite and PostGIS."""

import copy
import json

import pytest
import sqlalchemy as sa

from fixtures.sample import CATALOGUE_FILE, DEPARTMENTS_FILE, RULES_FILE
from gridsvc.catalogue.store import (
    CatalogueError,
    area_chain,
    current_categories,
    grid_area_chains,
    load_catalogue,
    load_departments,
    load_rules,
    read_json,
    responsibility_list,
)
from gridsvc.kernel.models import Category, ResponsibilityRule


def test_sample_covers_every_category_in_every_grid(sample_app, rt):
    with rt.sessions() as session:
        rules = responsibility_list(session)
        assert len(rules.categories) >= 30
        assert rules.coverage_gaps(grid_area_chains(rt.index.get())) == []


def test_reserved_categories_route_to_their_county_bureau_everywhere(sample_app, rt):
    index = rt.index.get()
    with rt.sessions() as session:
        rules = responsibility_list(session)
    reserved = [c for c in rules.categories.values() if not c.township_may_act]
    assert len(reserved) >= 10
    bureau = {  # as the sample's responsibility.json names them
        r["category_code"]: r["department_code"] for r in read_json(RULES_FILE)["rules"]
        if r["area_code"] == "220112000000" and r.get("category_code")
    }
    for chain in grid_area_chains(index):
        for category in reserved:
            route = rules.route(chain, category.code)
            assert route.reserved_to_county and route.rule.subject == category.code
            assert route.department.code == bureau[category.code], (chain[0], category.code)


def test_a_reserved_category_without_its_bureau_is_a_coverage_gap(sample_app, rt):
    data = read_json(RULES_FILE)
    with rt.sessions() as session:
        reserved = next(c.code for c in current_categories(session) if not c.township_may_act)
    data["rules"] = [r for r in data["rules"] if r.get("category_code") != reserved]
    with rt.sessions.begin() as session:
        load_rules(session, data)
    with rt.sessions() as session:
        gaps = responsibility_list(session).coverage_gaps(grid_area_chains(rt.index.get()))
    assert gaps and {g.category_code for g in gaps} == {reserved}
    assert len(gaps) == len(rt.index.get().cells)


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


def test_a_category_asks_for_a_photo_with_feedback_in_a_version_of_its_own(sample_app, rt, client):
    data = read_json(CATALOGUE_FILE)
    assert not any("feedback_photo_required" in c for c in data["categories"])  # absent: no photo asked
    with rt.sessions() as session:
        assert not any(c.feedback_photo_required for c in current_categories(session))
    code = data["categories"][5]["code"]
    data["categories"][5]["feedback_photo_required"] = True
    with rt.sessions.begin() as session:
        result = load_catalogue(session, data)
    assert (result.created, result.changed, result.unchanged) == (0, 1, len(data["categories"]) - 1)
    with rt.sessions() as session:
        versions = session.scalars(sa.select(Category).where(Category.code == code).order_by(Category.version)).all()
        assert [(v.version, v.feedback_photo_required) for v in versions] == [(1, False), (2, True)]
    with rt.sessions.begin() as session:
        assert load_catalogue(session, data).changed == 0  # the same file again: nothing changes
    listed = {c["code"]: c for c in client.get("/api/v1/categories").get_json()["categories"]}
    assert listed[code]["feedback_photo_required"] is True
    assert [c for c, entry in listed.items() if entry["feedback_photo_required"]] == [code]


@pytest.mark.parametrize("breakage,message", [
    (lambda d: d["categories"][0].update(code="1x001"), "5 digits"),
    (lambda d: d["categories"][1].update(domain="weather"), "domain"),
    (lambda d: d["categories"][2].update(limit_value=-1), "greater than 0"),
    (lambda d: d["categories"].append(dict(d["categories"][0])), "twice"),
    (lambda d: d["categories"][3].update(code="99001"), "major class 99"),
    (lambda d: d["categories"][2].update(limit_value=True), "limit_value: Not a valid number"),
    (lambda d: d["categories"][2].update(limit_value=float("inf")), "limit_value"),
    (lambda d: d["categories"][2].update(limit_value=1000, limit_unit="days"), "at most 250"),
    (lambda d: d["categories"][2].update(urgent_limt_value=1), "Unknown field"),
    (lambda d: d["categories"][2].update(urgent_limit_value=None), "go together"),
    (lambda d: d["categories"][2].update(township_may_act=False, reserved_power=None), "reserved_power"),
    (lambda d: d["categories"][2].update(name_zh="长" * 101), "name_zh"),
    (lambda d: d["categories"].insert(0, "01001"), "categories.0"),
    (lambda d: d["categories"][2].update(feedback_photo_required="yes"), "feedback_photo_required: Not a valid"),
    (lambda d: d["categories"][2].update(feedback_photo_required=None), "feedback_photo_required"),
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
    (lambda r: r.update(area_code="220112999999"), "no such unit"),
    (lambda r: r.update(area_code="220112100201", department_code="220112102000-BMFW"), "not a body of this"),
    (lambda r: r.update(area_code="220112100000", category_code="06002", domain=None,
                        department_code="220112100000-ZHZF"), "reserved to the county"),
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


@pytest.mark.parametrize("data", [[], "departments", {"departments": ["x"]}, {"departments": [{"code": 1}]}])
def test_badly_shaped_files_are_catalogue_errors_not_crashes(sample_app, rt, data):
    for loader in (load_catalogue, load_departments, load_rules):
        with pytest.raises(CatalogueError):
            with rt.sessions.begin() as session:
                loader(session, data)


def test_department_level_and_teams_are_checked(sample_app, rt):
    data = read_json(DEPARTMENTS_FILE)
    township = next(d for d in data["departments"] if d["level"] == "township")
    township["level"] = "county"  # a township body passing as a county bureau
    with pytest.raises(CatalogueError, match="is not a known county"):
        with rt.sessions.begin() as session:
            load_departments(session, data)
    data = read_json(DEPARTMENTS_FILE)
    first, second = [d for d in data["departments"] if d["teams"]][:2]
    second["teams"][0]["code"] = first["teams"][0]["code"]
    with pytest.raises(CatalogueError, match="belongs to another department"):
        with rt.sessions.begin() as session:
            load_departments(session, data)


def test_department_with_unknown_unit_is_refused(sample_app, rt):
    data = read_json(DEPARTMENTS_FILE)
    data["departments"][0]["admin_code"] = "999999000000"
    with pytest.raises(CatalogueError, match="is not a known county"):
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
    coverage = client.get("/api/v1/responsibility/coverage").get_json()
    assert coverage["complete"] is True and coverage["gaps"] == []
    assert coverage["grids"] > 100 and coverage["categories"] >= 30


def test_api_route(client, rt):
    grid = next(c for c in rt.index.get().cells if c.kind == "base")
    with rt.sessions() as session:
        rules = responsibility_list(session)
    category = sorted(rules.categories)[0]
    body = client.get(f"/api/v1/route?grid={grid.code}&category={category}").get_json()
    assert body["department"]["code"] == rules.route(area_chain(rt.index.get(), grid.code), category).department.code
    bad = client.get(f"/api/v1/route?grid=220112999999001&category={category}")
    assert bad.status_code == 422 and "grid" in bad.get_json()["error"]["fields"]
    bad = client.get(f"/api/v1/route?grid={grid.code}&category=99999")
    assert bad.status_code == 422 and "category" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/route?grid=x").status_code == 422


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


def test_api_route_gives_deadlines_in_working_time(client, rt, sample_app):
    """A report received the afternoon before the 2026 National Day holiday is due after it.

    The expected moments are worked out by hand: 1.5 office hours are left on Wednesday
    30 September after 16:00; 1-7 October are holidays; Thursday 8 October opens at 08:30.
    """
    from gridsvc.catalogue.store import load_catalogue

    grid = next(c for c in rt.index.get().cells if c.kind == "base")
    data = read_json(CATALOGUE_FILE)
    entry = next(c for c in data["categories"] if c["township_may_act"])
    entry.update(limit_value=4, limit_unit="hours", urgent_limit_value=1, urgent_limit_unit="hours")
    with rt.sessions.begin() as session:
        load_catalogue(session, data)
    at = "2026-09-30T16:00:00%2B08:00"
    body = client.get(f"/api/v1/route?grid={grid.code}&category={entry['code']}&at={at}").get_json()
    deadlines = body["deadlines"]
    assert deadlines["received_at"] == "2026-09-30T16:00:00+08:00"
    assert deadlines["handling_due_at"] == "2026-10-08T11:00:00+08:00"
    assert deadlines["urgent_handling_due_at"] == "2026-09-30T17:00:00+08:00"
    assert deadlines["calendar_official"] is True
    late = client.get(f"/api/v1/route?grid={grid.code}&category={entry['code']}&at=2099-12-30T16:00:00%2B08:00")
    assert late.get_json()["deadlines"]["calendar_official"] is False  # no notice for 2099 yet
    assert client.get(f"/api/v1/route?grid={grid.code}&category={entry['code']}&at=9999-12-31").status_code == 422


def test_a_category_left_out_of_the_file_is_retired_only_when_asked(sample_app, rt, runner, tmp_path):
    data = read_json(CATALOGUE_FILE)
    dropped = data["categories"].pop()["code"]
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    kept = runner.invoke(args=["catalogue", "load-categories", str(path)])
    assert kept.exit_code == 0 and "0 retired" in kept.output
    with rt.sessions() as session:
        assert dropped in {c.code for c in current_categories(session)}
    retired = runner.invoke(args=["catalogue", "load-categories", str(path), "--retire-missing"])
    assert retired.exit_code == 0 and "1 retired" in retired.output, retired.output
    with rt.sessions() as session:
        assert dropped not in {c.code for c in current_categories(session)}
        old = session.scalar(sa.select(Category).where(Category.code == dropped))
        assert old.valid_to is not None  # kept for the cases that used it
        rules = responsibility_list(session)
        assert all(r.subject != dropped for r in rules.rules)
    assert sample_app.test_client().get("/api/v1/responsibility").status_code == 200
    assert sample_app.test_client().get("/api/v1/responsibility/coverage").get_json()["gaps"] == []


def test_a_new_responsibility_list_reaches_running_processes(sample_app, rt, runner, tmp_path):
    """Processes keep the list in memory; a load from the CLI bumps the catalogue revision they watch."""
    from gridsvc.catalogue.store import responsibility_cache

    index = rt.index.get()
    grid = next(c.code for c in index.cells if c.code.startswith("220112100") and c.kind == "base")
    slow = responsibility_cache(rt.sessions, refresh_seconds=3600)
    before = slow.get().route(area_chain(index, grid), "02004").department.code
    data = read_json(RULES_FILE)
    data["rules"].append({"area_code": grid, "category_code": "02004", "department_code": "220112100000-CJHB"})
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["catalogue", "load-rules", str(path)]).exit_code == 0
    assert before != "220112100000-CJHB"
    assert rt.rules.get().route(area_chain(index, grid), "02004").department.code == "220112100000-CJHB"
    assert slow.get().route(area_chain(index, grid), "02004").department.code == before  # within its delay
    route = sample_app.test_client().get("/api/v1/route", query_string={"grid": grid, "category": "02004"})
    assert route.get_json()["department"]["code"] == "220112100000-CJHB"
