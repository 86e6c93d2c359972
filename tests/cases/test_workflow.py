"""The case workflow: every path a case can take, who may take each step, on both backends."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from gridsvc.catalogue.store import area_chain, current_category, responsibility_list
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.kernel.models import Case, CaseEvent, Category
from tests.support import (COUNTY, LOCAL_CATEGORY, LUXIANG, QIJIA, REPO, RESERVED_CATEGORY, actions,
                           assert_record_intact, at_once, moved, report, step)


def test_the_whole_path_from_report_to_closing(office, rt):
    case = report(office)
    assert case["stage_due_at"] is not None and case["stage_due_at"] <= case["handling_due_at"]
    filed = step(office, "commander", case, "file")
    assert (filed["status"], filed["status_name_zh"]) == ("filed", "待派遣")
    team = f"{office['local']}-T1"
    dispatched = step(office, "commander", case, "dispatch", team=team)
    assert (dispatched["status"], dispatched["department"], dispatched["team"]) == ("dispatched", office["local"], team)
    assert dispatched["stage_due_at"] == case["handling_due_at"]
    assert step(office, "handler", case, "accept")["status"] == "handling"
    handled = step(office, "handler", case, "feedback", note="已清理完毕")
    assert handled["status"] == "handled" and handled["stage_due_at"] > handled["received_at"]
    assert step(office, "worker", case, "verify")["status"] == "verified"
    closed = step(office, "commander", case, "close")
    assert closed["status"] == "closed" and closed["closed_at"] and closed["stage_due_at"] is None
    assert actions(office, case) == ["report", "file", "dispatch", "accept", "feedback", "verify", "close"]
    assert_record_intact(rt)


def test_steps_offered_depend_on_status_and_role(office):
    case = report(office)
    offered = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/steps", headers=office["headers"]("commander"))
    names = {s["step"] for s in offered.get_json()["steps"]}
    assert {"file", "reject", "merge", "escalate"} == names  # not supervise: the case is not overdue
    by_worker = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/steps", headers=office["headers"]("worker"))
    assert {s["step"] for s in by_worker.get_json()["steps"]} == {"self_handle"}


def test_rejection_needs_a_reason_and_ends_the_case(office, rt):
    case = report(office)
    refused = step(office, "commander", case, "reject", expect=422)
    assert refused["error"]["fields"] == {"note": ["请填写原因或说明 / a reason or description is required"]}
    assert step(office, "commander", case, "reject", note="重复上报，已有处理")["status"] == "rejected"
    assert step(office, "commander", case, "file", expect=409)["error"]["code"] == "step_not_allowed"
    assert actions(office, case) == ["report", "reject"]


def test_wrong_department_sends_back_and_the_township_dispatches_again(office, rt):
    case = report(office)
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch")
    step(office, "handler", case, "send_back", expect=422)
    step(office, "handler", case, "request_extension", note="需协调", until=_later(case, days=5))
    back = step(office, "handler", case, "send_back", note="不属于本部门职责")
    assert back["status"] == "filed" and back["department"] is None and back["extension_requested_until"] is None
    assert "department" in step(office, "commander", case, "dispatch", expect=422)["error"]["fields"]
    elsewhere = step(office, "commander", case, "dispatch", expect=422, department=f"{LUXIANG}-ZZZX")
    assert "department" in elsewhere["error"]["fields"]  # another township's body
    again = step(office, "commander", case, "dispatch", department=office["other_department"])
    assert again["department"] == office["other_department"]
    # The first department no longer has it: it cannot see it, let alone act.
    assert step(office, "handler", case, "accept", expect=404)["error"]["code"] == "case_not_found"
    assert step(office, "other_handler", case, "accept")["status"] == "handling"
    assert actions(office, case)[-3:] == ["send_back", "dispatch", "accept"]


def _later(case, days: int) -> str:
    return (datetime.fromisoformat(case["handling_due_at"]) + timedelta(days=days)).isoformat()


def test_an_extension_is_asked_by_the_department_and_decided_by_the_township(office):
    case = report(office)
    for who, name in (("commander", "file"), ("commander", "dispatch"), ("handler", "accept")):
        step(office, who, case, name)
    too_early = step(office, "handler", case, "request_extension", expect=422, note="需协调", until="2026-01-01T00:00:00Z")
    assert "until" in too_early["error"]["fields"]
    until = (datetime.fromisoformat(case["handling_due_at"]) + timedelta(days=10)).isoformat()
    asked = step(office, "handler", case, "request_extension", note="需协调村委会", until=until)
    assert asked["extension_requested_until"] == until and asked["handling_due_at"] == case["handling_due_at"]
    assert step(office, "handler", case, "request_extension", expect=409, note="再次", until=until)["error"]["code"] \
        == "extension_pending"
    step(office, "handler", case, "approve_extension", expect=403)
    offered = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/steps", headers=office["headers"]("commander"))
    assert {"approve_extension", "deny_extension"} <= {s["step"] for s in offered.get_json()["steps"]}
    granted = step(office, "commander", case, "approve_extension")
    assert granted["handling_due_at"] == until == granted["stage_due_at"]
    assert granted["extension_requested_until"] is None
    step(office, "commander", case, "approve_extension", expect=409)
    offered = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/steps", headers=office["headers"]("commander"))
    assert not {"approve_extension", "deny_extension", "supervise"} & {s["step"] for s in offered.get_json()["steps"]}
    too_late = (datetime.fromisoformat(case["handling_due_at"]) + timedelta(days=400)).isoformat()
    assert "until" in step(office, "handler", case, "request_extension", expect=422, note="需很久",
                           until=too_late)["error"]["fields"]
    later = (datetime.fromisoformat(case["handling_due_at"]) + timedelta(days=20)).isoformat()
    step(office, "handler", case, "request_extension", note="仍需时间", until=later)
    denied = step(office, "supervisor", case, "deny_extension", note="不予延期")
    assert denied["handling_due_at"] == until and denied["extension_requested_until"] is None


def test_failed_verification_sends_the_case_back_for_rework(office, rt):
    case = report(office)
    for who, name, note in (("commander", "file", None), ("commander", "dispatch", None), ("handler", "accept", None),
                            ("handler", "feedback", "已处理")):
        step(office, who, case, name, note=note)
    rework = step(office, "worker", case, "rework", note="现场仍有垃圾")
    assert (rework["status"], rework["rework_count"]) == ("handling", 1)
    step(office, "handler", case, "feedback", note="已彻底清理")
    step(office, "commander", case, "verify")
    assert step(office, "commander", case, "close")["rework_count"] == 1
    assert_record_intact(rt)


def test_escalation_goes_to_the_county_department(office, rt):
    case = report(office)
    step(office, "commander", case, "file")
    escalated = step(office, "commander", case, "escalate", note="超出乡镇处置能力")
    with rt.sessions() as session:
        expected = responsibility_list(session).route([COUNTY], LOCAL_CATEGORY)
    assert escalated["escalated"] is True and escalated["status"] == "dispatched"
    assert escalated["department"] == expected.department.code and expected.department.level == "county"
    township_dept = step(office, "commander", report(office, offset_m=400), "escalate", expect=422,
                         note="上报", department=office["local"])
    assert township_dept["error"]["fields"] == {
        "department": [f"所选部门不是案件所在县的县级部门 / {office['local']} is not a department of the case's county"]}


def test_a_reserved_matter_cannot_be_dispatched_to_a_township_body(office):
    case = report(office, category=RESERVED_CATEGORY)
    assert case["department"] == office["reserved"] and case["reserved_to_county"]
    step(office, "commander", case, "file")
    refused = step(office, "commander", case, "dispatch", expect=422, department=office["local"])
    assert "department" in refused["error"]["fields"]
    assert step(office, "commander", case, "dispatch")["department"] == office["reserved"]
    assert step(office, "county_handler", case, "accept")["status"] == "handling"


def test_roles_and_jurisdiction_are_checked_for_every_step(office):
    case = report(office)
    assert step(office, "worker", case, "file", expect=403)["error"]["code"] == "not_permitted"
    assert step(office, "supervisor", case, "file", expect=403)["error"]["code"] == "not_permitted"
    for who in ("other_commander", "other_handler"):
        assert step(office, who, case, "file", expect=404)["error"]["code"] == "case_not_found"
    assert step(office, "commander", case, "close", expect=409)["error"]["code"] == "step_not_allowed"
    assert step(office, "commander", case, "teleport", expect=404)["error"]["code"] == "unknown_step"
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch")
    assert step(office, "other_handler", case, "accept", expect=404)["error"]["code"] == "case_not_found"
    assert step(office, "worker", case, "accept", expect=403)["error"]["code"] == "not_permitted"


def test_a_step_on_a_case_that_moved_on_is_refused(office):
    case = report(office)
    assert step(office, "commander", case, "file", expect=409, expected_seq=5)["error"]["code"] == "case_changed"
    assert step(office, "commander", case, "file", expected_seq=case["record_seq"])["status"] == "filed"


def test_concurrent_steps_on_one_case_let_exactly_one_through(office, rt, sample_app):
    case = report(office)
    headers = office["headers"]("commander")

    def file_it():
        client = sample_app.test_client()
        return client.post(f"/api/v1/cases/{case['tracking_no']}/steps/file", json={}, headers=headers).status_code

    codes = at_once([file_it] * 10)
    assert sorted(codes) == [200] + [409] * 9
    assert actions(office, case) == ["report", "file"]
    assert_record_intact(rt)


def test_supervision_is_for_overdue_cases(office, rt, runner):
    case = report(office)
    step(office, "commander", case, "file")
    assert step(office, "supervisor", case, "supervise", expect=409, note="请抓紧")["error"]["code"] == "not_overdue"
    with rt.sessions.begin() as session:  # the dispatch deadline passed a while ago
        row = session.scalar(sa.select(Case).where(Case.tracking_no == case["tracking_no"]))
        row.stage_due_at = row.stage_warn_at = row.received_at
    assert "1 overdue" in runner.invoke(args=["cases", "sweep"]).output
    supervised = step(office, "supervisor", case, "supervise", note="请立即派遣")
    assert supervised["overdue_level"] == 1 and supervised["supervision_count"] == 1
    assert actions(office, case)[-2:] == ["overdue", "supervise"]


def test_a_minor_matter_fixed_on_the_spot_is_closed_with_a_photo(office, rt, jpeg_bytes):
    case = report(office)
    refused = step(office, "worker", case, "self_handle", expect=422, note="已当场清理")
    assert "attachments" in refused["error"]["fields"]
    upload = office["client"].post(f"/api/v1/cases/{case['tracking_no']}/attachments",
                                   data={"photo": (jpeg_bytes(), "after.jpg")}, headers=office["headers"]("worker"),
                                   content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    photo = upload.get_json()["id"]
    assert "attachments" in step(office, "worker", case, "self_handle", expect=422, note="已当场清理",
                                 attachments=[photo + 1000])["error"]["fields"]
    assert step(office, "worker2", case, "file", expect=403)["error"]["code"] == "not_permitted"
    closed = step(office, "worker", case, "self_handle", note="已当场清理", attachments=[photo])
    assert closed["status"] == "closed" and closed["closed_at"]
    record = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/record", headers=office["headers"]("worker"))
    assert record.get_json()["record"][-1]["data"]["attachments"] == [photo]
    reserved = report(office, category=RESERVED_CATEGORY)
    assert step(office, "worker", reserved, "self_handle", expect=409, note="已处理", attachments=[photo])["error"][
        "code"] == "not_minor"


def test_duplicates_are_merged_and_their_reporters_follow_the_survivor(office, rt):
    first = report(office, who="worker")
    second = report(office, who="worker2", offset_m=10)
    assert "possible_duplicate" in second["flags"]
    assert step(office, "commander", second, "merge", expect=422, into=second["tracking_no"])["error"]["fields"]
    other = report(office, category="02001", offset_m=5)
    assert step(office, "commander", second, "merge", expect=422, into=other["tracking_no"])["error"]["fields"]
    survivor = step(office, "commander", second, "merge", into=first["tracking_no"])
    assert survivor["tracking_no"] == first["tracking_no"]
    merged = office["client"].get(f"/api/v1/cases/{second['tracking_no']}", headers=office["headers"]("worker2"))
    assert merged.get_json()["status"] == "merged" and merged.get_json()["merged_into"] == first["tracking_no"]
    with rt.sessions.begin() as session:  # worker2 follows the survivor even outside their own grids
        session.execute(sa.text("UPDATE users SET grid_codes = '[]' WHERE phone = '13800000004'"))
    followed = office["client"].get(f"/api/v1/cases/{first['tracking_no']}", headers=office["headers"]("worker2"))
    assert followed.status_code == 200
    listed = office["client"].get("/api/v1/cases", headers=office["headers"]("worker2")).get_json()
    assert {c["tracking_no"] for c in listed["cases"]} == {first["tracking_no"], second["tracking_no"]}
    assert actions(office, first)[-1] == "absorb" and actions(office, second)[-1] == "merge"
    assert_record_intact(rt)


def test_a_commander_confirms_the_grid_of_an_uncertain_location(office, rt):
    index = rt.index.get()
    other = next(c for c in index.cells if c.code.startswith("220112100") and c.kind == "base"
                 and c.code != office["grid"].code)
    case = report(office)
    filed = step(office, "commander", case, "file", grid=other.code)
    assert filed["grid"] == other.code
    with rt.sessions() as session:
        expected = responsibility_list(session).route(area_chain(index, other.code), LOCAL_CATEGORY)
        assert current_category(session, LOCAL_CATEGORY) is not None
    assert filed["department"] == expected.department.code
    luxiang = next(c for c in index.cells if c.code.startswith("220112102"))
    second = report(office, offset_m=300)
    assert step(office, "commander", second, "file", expect=403, grid=luxiang.code)["error"]["code"] == "not_permitted"
    assert "grid" in step(office, "commander", second, "file", expect=422, grid="220112100999999")["error"]["fields"]


def test_record_entries_name_who_did_what(office, rt):
    case = report(office)
    step(office, "commander", case, "file", note="受理")
    with rt.sessions() as session:
        query = sa.select(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
        entry = session.scalar(query.where(Case.tracking_no == case["tracking_no"], CaseEvent.seq == 2))
        assert (entry.action, entry.from_status, entry.to_status, entry.note) == ("file", "reported", "filed", "受理")
        assert entry.actor_id is not None and entry.data["stage_due_at"]


# -- finding cases -------------------------------------------------------------------------


def listing(office, who="commander", **query):
    response = office["client"].get("/api/v1/cases", query_string=query, headers=office["headers"](who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def numbers(body) -> set[str]:
    return {c["tracking_no"] for c in body["cases"]}


def test_cases_are_found_by_status_category_department_area_and_flags(office, rt):
    plain = report(office)
    duplicate = report(office, offset_m=10)
    food = report(office, category=RESERVED_CATEGORY, offset_m=500)
    step(office, "commander", plain, "file")
    everything = listing(office)
    assert everything["total"] == 3 and [c["tracking_no"] for c in everything["cases"]] == [
        food["tracking_no"], duplicate["tracking_no"], plain["tracking_no"]]  # newest first
    assert numbers(listing(office, status="filed")) == {plain["tracking_no"]}
    assert numbers(listing(office, status="reported,filed")) == numbers(everything)
    assert numbers(listing(office, category=RESERVED_CATEGORY)) == {food["tracking_no"]}
    assert numbers(listing(office, department=office["reserved"])) == {food["tracking_no"]}
    assert numbers(listing(office, flag="possible_duplicate")) == {duplicate["tracking_no"]}
    assert numbers(listing(office, flagged="true")) == {duplicate["tracking_no"]}
    assert numbers(listing(office, flagged="false")) == {plain["tracking_no"], food["tracking_no"]}
    assert numbers(listing(office, area=office["grid"].code)) == numbers(everything)
    assert numbers(listing(office, area=QIJIA)) == numbers(everything)  # a township's 12-digit code
    assert numbers(listing(office, area=COUNTY)) == numbers(everything)
    assert listing(office, area=LUXIANG)["total"] == 0
    unknown = office["client"].get("/api/v1/cases", query_string={"area": "220112999000"},
                                   headers=office["headers"]("commander"))
    assert unknown.status_code == 422 and "area" in unknown.get_json()["error"]["fields"]
    page = listing(office, limit=2, offset=2)
    assert (page["total"], numbers(page)) == (3, {plain["tracking_no"]})
    received = everything["cases"][1]["received_at"]
    assert numbers(listing(office, received_before=received)) == {plain["tracking_no"]}
    assert plain["tracking_no"] not in numbers(listing(office, received_from=received))


def test_an_arrival_two_kilometres_away_is_flagged_where_the_command_screen_looks(office, rt):
    case = report(office)
    for who, name in (("commander", "file"), ("commander", "dispatch"), ("handler", "accept")):
        step(office, who, case, name)
    number, commander = case["tracking_no"], office["headers"]("commander")

    def screen_row():
        rows = office["client"].get(f"/api/v1/screen/cases?tracking_no={number}", headers=commander).get_json()
        return dict(zip(rows["fields"], rows["rows"][0]))

    def arrive_at(east_m, north_m):
        x, y = from_cgcs2000(*moved(office["point"], east_m, north_m).coords[0], parse_crs("gcj02"))
        return step(office, "handler", case, "arrive", lon=x, lat=y, crs="gcj02")

    assert case["flags"] == [] and arrive_at(30, 26)["flags"] == []  # 40 m: on site
    assert screen_row()["flagged"] is False and listing(office, flag="arrived_far_from_case")["total"] == 0
    arrived = arrive_at(0, -2000)
    assert arrived["status"] == "handling" and arrived["flags"] == ["arrived_far_from_case"]
    assert screen_row()["flagged"] is True
    assert numbers(listing(office, flag="arrived_far_from_case")) == {number}
    config = office["client"].get("/api/v1/screen/config", headers=commander).get_json()
    assert config["flags"]["arrived_far_from_case"] == "到场位置与案件位置相距过远"
    events = office["client"].get("/api/v1/events?since=0", headers=commander).get_json()["events"]
    arrivals = [e["data"] for e in events if e["data"].get("action") == "arrive"]
    assert [a["case"]["flags"] for a in arrivals] == [[], ["arrived_far_from_case"]]
    record = office["client"].get(f"/api/v1/cases/{number}/record", headers=commander).get_json()["record"]
    far = [e["data"] for e in record if e["action"] == "arrive"][-1]
    assert far["distance_m"] == pytest.approx(2000, abs=1) and (far["max_distance_m"], far["far_from_case"]) == (
        300, True)


def test_cases_are_found_by_a_bounding_box_in_any_datum(office):
    near = report(office)
    far = report(office, offset_m=3000)
    point = office["point"]
    lon0, lat0 = from_cgcs2000(point.x - 0.002, point.y - 0.002, parse_crs("gcj02"))
    lon1, lat1 = from_cgcs2000(point.x + 0.002, point.y + 0.002, parse_crs("gcj02"))
    inside = listing(office, bbox=f"{lon0},{lat0},{lon1},{lat1}", crs="gcj02")
    assert numbers(inside) == {near["tracking_no"]} and far["tracking_no"] in numbers(listing(office))
    # The same numbers read as CGCS2000 are ~500 m off: the box misses the case.
    assert near["tracking_no"] not in numbers(listing(office, bbox=f"{lon0},{lat0},{lon0 + 0.001},{lat0 + 0.001}"))


def test_overdue_cases_are_found(office, rt, runner):
    late = report(office)
    on_time = report(office, offset_m=300)
    with rt.sessions.begin() as session:
        row = session.scalar(sa.select(Case).where(Case.tracking_no == late["tracking_no"]))
        row.stage_due_at = row.stage_warn_at = row.received_at
    runner.invoke(args=["cases", "sweep"])
    assert numbers(listing(office, overdue="true")) == {late["tracking_no"]}
    assert numbers(listing(office, overdue="false")) == {on_time["tracking_no"]}


def test_each_user_finds_only_what_they_may_see(office):
    mine = report(office, who="worker")
    food = report(office, category=RESERVED_CATEGORY, who="commander", offset_m=300)
    assert listing(office, who="other_commander")["total"] == 0
    assert numbers(listing(office, who="supervisor")) == {mine["tracking_no"], food["tracking_no"]}
    assert numbers(listing(office, who="county_handler")) == {food["tracking_no"]}
    assert listing(office, who="other_handler")["total"] == 0
    assert numbers(listing(office, who="worker2")) == {mine["tracking_no"], food["tracking_no"]}  # their grid


@pytest.mark.parametrize("query, field", [
    ({"status": "lost"}, "status"), ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"),
    ({"bbox": "1,2,3"}, "bbox"), ({"overdue": "maybe"}, "overdue"), ({"category": "2004"}, "category"),
    ({"received_from": "yesterday"}, "received_from"), ({"flag": "DROP TABLE"}, "flag"),
])
def test_bad_filters_are_422_with_the_field(office, query, field):
    response = office["client"].get("/api/v1/cases", query_string=query, headers=office["headers"]("commander"))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_a_category_sets_its_own_duplicate_distance(office, rt):
    with rt.sessions() as session:
        assert current_category(session, "02003").duplicate_distance_m == 30  # 占道经营: a stall is small
    # offset_m/90000 degrees of longitude is ~0.9 offset_m metres here (latitude 43.5°)
    report(office, category="02003")
    assert "possible_duplicate" not in report(office, category="02003", offset_m=40)["flags"]
    assert "possible_duplicate" in report(office, category="02003", offset_m=20)["flags"]
    report(office, category=LOCAL_CATEGORY)
    assert "possible_duplicate" in report(office, offset_m=45)["flags"]  # 乱堆乱放: the 50 m default


def test_deadlines_read_back_as_they_were_written(office):
    """China-time deadlines must not come back eight hours off from SQLite, which keeps no offset."""
    case = report(office)
    fetched = office["client"].get(f"/api/v1/cases/{case['tracking_no']}", headers=office["headers"]("commander"))
    for moment in ("received_at", "handling_due_at", "stage_due_at", "stage_warn_at"):
        assert fetched.get_json()[moment] == case[moment]


def test_the_documented_steps_are_the_steps():
    """docs/workflow.md's table is what gridsvc.cases.workflow does (a step added or changed shows here)."""
    from gridsvc.cases.workflow import STEPS

    rows = [line.split("|")[1:-1] for line in (REPO / "docs" / "workflow.md").read_text(
        encoding="utf-8").splitlines() if line.startswith("| `")]
    documented = {
        cells[0].strip().strip("`"): (cells[1].strip(), cells[2].strip(), cells[3].strip(), cells[4].strip(),
                                      cells[5].strip() == "yes")
        for cells in rows if len(cells) == 6
    }
    actual = {
        s.name: (s.label_zh, ", ".join(s.from_statuses), s.to_status or "(stays)", ", ".join(s.taken_by), s.needs_note)
        for s in STEPS.values()
    }
    assert documented == actual


def _retire(rt, code: str) -> None:
    with rt.sessions.begin() as session:
        session.scalar(sa.select(Category).where(Category.code == code, Category.valid_to.is_(None))).valid_to = \
            datetime.now().astimezone()


def test_cases_of_a_retired_category_keep_their_rules(office, rt):
    food = report(office, category=RESERVED_CATEGORY)
    litter = report(office, offset_m=300)
    step(office, "commander", food, "file")
    step(office, "commander", litter, "file")
    _retire(rt, RESERVED_CATEGORY)
    _retire(rt, LOCAL_CATEGORY)
    # Still reserved to the county: the case keeps the catalogue version it was reported under.
    assert "department" in step(office, "commander", food, "dispatch", expect=422,
                                department=office["local"])["error"]["fields"]
    # No current rule names a retired category: escalation asks for a department instead of failing.
    assert "department" in step(office, "commander", litter, "escalate", expect=422, note="上报")["error"]["fields"]
    county = step(office, "commander", litter, "escalate", note="上报", department=f"{COUNTY}-CGZF")
    assert county["department"] == f"{COUNTY}-CGZF" and county["escalated"]


def test_escalation_gives_the_county_the_whole_handling_limit(office, rt):
    case = report(office)
    for who, name in (("commander", "file"), ("commander", "dispatch"), ("handler", "accept")):
        step(office, who, case, name)
    with rt.sessions.begin() as session:  # the township let the deadline pass
        row = session.scalar(sa.select(Case).where(Case.tracking_no == case["tracking_no"]))
        row.handling_due_at = row.received_at
    escalated = step(office, "commander", case, "escalate", note="需区级执法")
    now = datetime.now(timezone.utc).isoformat()
    assert escalated["handling_due_at"] > now  # the category's limit, counted again from the escalation
    assert escalated["stage_due_at"] == escalated["handling_due_at"] and escalated["status"] == "dispatched"
    assert "handler" not in escalated and step(office, "handler", case, "accept", expect=404)


def test_reporters_follow_a_chain_of_merges(office, rt):
    first = report(office, who="worker")
    second = report(office, who="worker2", offset_m=10)
    third = report(office, who="commander", offset_m=20)
    step(office, "commander", first, "merge", into=second["tracking_no"])
    step(office, "commander", second, "merge", into=third["tracking_no"])
    with rt.sessions.begin() as session:  # the grid workers no longer have the grid: only merging links them
        session.execute(sa.text("UPDATE users SET grid_codes = '[]' WHERE role = 'grid_worker'"))
    for who in ("worker", "worker2"):
        assert office["client"].get(f"/api/v1/cases/{third['tracking_no']}",
                                    headers=office["headers"](who)).status_code == 200
        assert third["tracking_no"] in numbers(listing(office, who=who))


def test_what_a_user_lists_is_exactly_what_they_may_open(office):
    cases = [report(office, who="worker"), report(office, category=RESERVED_CATEGORY, who="commander", offset_m=300),
             report(office, who="commander", offset_m=600)]
    step(office, "commander", cases[2], "file")
    step(office, "commander", cases[2], "dispatch", department=office["other_department"])
    for who in ("worker", "worker2", "commander", "other_commander", "supervisor", "handler", "other_handler",
                "county_handler"):
        listed = numbers(listing(office, who=who))
        for case in cases:
            opened = office["client"].get(f"/api/v1/cases/{case['tracking_no']}", headers=office["headers"](who))
            assert opened.status_code == (200 if case["tracking_no"] in listed else 404), (who, case["tracking_no"])
