"""Intake: a report becomes one case, routed, with a deadline and a sealed record (both backends)."""

import uuid

import pytest
import sqlalchemy as sa

from gridsvc.cases import record as case_record
from gridsvc.accounts.users import create_user
from gridsvc.catalogue.store import area_chain, current_categories, responsibility_list
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.cases.intake import MAX_POSSIBLE_DUPLICATES, Intake, Report, submit
from gridsvc.kernel.models import Case, CaseEvent, User
from tests.support import at_once

PASSWORD = "correct horse battery"


@pytest.fixture
def desk(sample_app, rt):
    """A grid worker of one 齐家镇 grid, commanders of 齐家镇 and 鹿乡镇, and signed-in clients."""
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.code.startswith("220112100") and c.kind == "base")
    grid = index.cells[position]
    with rt.sessions.begin() as session:
        create_user(session, "13800000003", "网格员小王", "grid_worker", PASSWORD, grid_codes=[grid.code])
        create_user(session, "13800000001", "齐家指挥长", "township_commander", PASSWORD, admin_code="220112100000")
        create_user(session, "13800000002", "鹿乡指挥长", "township_commander", PASSWORD, admin_code="220112102000")
        category = next(c for c in current_categories(session) if c.township_may_act)
    client = sample_app.test_client()

    def headers(phone):
        body = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD}).get_json()
        return {"Authorization": f"Bearer {body['access_token']}"}

    centre = index.geometry(position).representative_point()
    return {"grid": grid, "category": category.code, "client": client, "headers": headers, "point": centre}


def report_body(desk, **changes):
    x, y = from_cgcs2000(desk["point"].x, desk["point"].y, parse_crs("gcj02"))  # what AMap reports
    return {"client_uuid": str(uuid.uuid4()), "category": desk["category"], "description": "路边堆放垃圾",
            "lon": x, "lat": y, "crs": "gcj02", "accuracy": 5, "reported_at": "2026-11-25T10:00:00+08:00",
            **changes}


def test_report_becomes_a_routed_case_with_a_record(desk, rt):
    client, headers = desk["client"], desk["headers"]("13800000003")
    response = client.post("/api/v1/reports", json=report_body(desk), headers=headers)
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert case["grid"] == desk["grid"].code and case["locate_match"] == "inside"
    assert case["township"] == "220112100000" and case["status"] == "reported"
    with rt.sessions() as session:
        expected = responsibility_list(session).route(area_chain(rt.index.get(), desk["grid"].code), desk["category"])
    assert case["department"] == expected.department.code
    assert case["flags"] == [] and case["handling_due_at"] > case["received_at"]
    record = client.get(f"/api/v1/cases/{case['tracking_no']}/record", headers=headers).get_json()["record"]
    assert [e["action"] for e in record] == ["report"] and record[0]["data"]["department"] == case["department"]
    rule = expected.rule
    assert record[0]["data"]["rule"] == {"area": rule.area_code, rule.subject_kind: rule.subject}


def test_retry_returns_the_same_case_and_other_content_is_a_conflict(desk):
    client, headers = desk["client"], desk["headers"]("13800000003")
    body = report_body(desk)
    first = client.post("/api/v1/reports", json=body, headers=headers)
    again = client.post("/api/v1/reports", json=body, headers=headers)  # the phone never saw the answer
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["tracking_no"] == first.get_json()["tracking_no"]
    changed = client.post("/api/v1/reports", json={**body, "description": "别的事"}, headers=headers)
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "client_uuid_conflict"


def test_twenty_concurrent_retries_make_one_case(desk, rt):
    with rt.sessions() as session:
        reporter = session.scalar(sa.select(User).where(User.phone == "13800000003"))
        session.expunge(reporter)
    body = report_body(desk)
    report = Report(body["client_uuid"], body["category"], body["description"], body["lon"], body["lat"],
                    parse_crs("gcj02"), 5.0)
    intake = Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings)

    def send():
        with rt.sessions() as session:
            case, created = submit(session, intake, reporter, report)
            session.commit()
            return case.tracking_no, created

    results = at_once([send] * 20)
    assert len({number for number, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(CaseEvent)) == 1


def test_commander_of_another_township_gets_404(desk):
    client = desk["client"]
    case = client.post("/api/v1/reports", json=report_body(desk), headers=desk["headers"]("13800000003")).get_json()
    own = desk["headers"]("13800000001")
    other = desk["headers"]("13800000002")
    assert client.get(f"/api/v1/cases/{case['tracking_no']}", headers=own).status_code == 200
    for path in (f"/api/v1/cases/{case['tracking_no']}", f"/api/v1/cases/{case['tracking_no']}/record"):
        response = client.get(path, headers=other)
        assert response.status_code == 404 and case["description"] not in response.get_data(as_text=True)
    assert client.get(f"/api/v1/cases/{case['tracking_no']}").status_code == 401


def test_flags_for_location_outside_own_grids_and_duplicates(desk, rt):
    client, headers = desk["client"], desk["headers"]("13800000003")
    far = client.post("/api/v1/reports", json=report_body(desk, lon=116.39, lat=39.9, crs="wgs84"),
                      headers=headers).get_json()
    assert far["grid"] is None and far["locate_match"] == "none"
    assert {"location_unconfirmed", "no_responsible_department", "outside_own_grids"} <= set(far["flags"])
    first = client.post("/api/v1/reports", json=report_body(desk), headers=headers).get_json()
    second = client.post("/api/v1/reports", json=report_body(desk), headers=headers).get_json()
    assert "possible_duplicate" not in first["flags"] and "possible_duplicate" in second["flags"]
    record = client.get(f"/api/v1/cases/{second['tracking_no']}/record", headers=headers).get_json()["record"]
    assert record[0]["data"]["possible_duplicates"] == [first["tracking_no"]]


def test_a_reporter_from_another_township_sees_no_duplicate_they_may_not_open(desk, rt):
    """Issue 14: a 鹿乡镇 grid worker reporting at a 齐家镇 case's point read 齐家镇's numbers in
    their own case's record; the 齐家镇 commander, who may open both, still gets the hint to merge."""
    client, own = desk["client"], desk["headers"]("13800000003")
    index = rt.index.get()
    luxiang_grid = next(c.code for c in index.cells if c.code.startswith("220112102") and c.kind == "base")
    with rt.sessions.begin() as session:
        create_user(session, "13800000009", "鹿乡网格员", "grid_worker", PASSWORD, grid_codes=[luxiang_grid])
    first = client.post("/api/v1/reports", json=report_body(desk), headers=own).get_json()
    visitor = desk["headers"]("13800000009")
    second = client.post("/api/v1/reports", json=report_body(desk), headers=visitor).get_json()
    assert "possible_duplicate" in second["flags"]
    path = f"/api/v1/cases/{second['tracking_no']}/record"
    seen_by_reporter = client.get(path, headers=visitor).get_json()["record"][0]["data"]
    assert seen_by_reporter["possible_duplicates"] == []
    assert first["tracking_no"] not in client.get(path, headers=visitor).get_data(as_text=True)
    seen_by_commander = client.get(path, headers=desk["headers"]("13800000001")).get_json()["record"][0]["data"]
    assert seen_by_commander["possible_duplicates"] == [first["tracking_no"]]


def test_a_report_notes_at_most_twenty_possible_duplicates_nearest_first(desk, rt):
    headers = desk["headers"]("13800000003")
    x, y = from_cgcs2000(desk["point"].x, desk["point"].y, parse_crs("gcj02"))
    near = desk["client"].post("/api/v1/reports", json=report_body(desk, lon=x + 0.00001), headers=headers).get_json()
    for _ in range(MAX_POSSIBLE_DUPLICATES + 4):
        desk["client"].post("/api/v1/reports", json=report_body(desk, lon=x + 0.0002), headers=headers)
    last = desk["client"].post("/api/v1/reports", json=report_body(desk), headers=headers).get_json()
    record = desk["client"].get(f"/api/v1/cases/{last['tracking_no']}/record", headers=headers).get_json()["record"]
    hinted = record[0]["data"]["possible_duplicates"]
    assert len(hinted) == MAX_POSSIBLE_DUPLICATES and hinted[0] == near["tracking_no"]


@pytest.mark.parametrize("changes,field", [
    ({"client_uuid": "not-a-uuid"}, "client_uuid"),
    ({"category": "99999"}, "category"),
    ({"lat": 95, "crs": "wgs84"}, "lat"),
    ({"accuracy": -1}, "accuracy"),
    ({"crs": "mars"}, "crs"),
    ({"description": "   "}, "description"),
])
def test_bad_reports_are_422_with_the_field_and_write_nothing(desk, rt, changes, field):
    response = desk["client"].post("/api/v1/reports", json=report_body(desk, **changes),
                                   headers=desk["headers"]("13800000003"))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_reports_need_a_signed_in_user(desk):
    assert desk["client"].post("/api/v1/reports", json=report_body(desk)).status_code == 401


def test_tampering_with_the_record_is_detected(desk, rt, runner):
    client, headers = desk["client"], desk["headers"]("13800000003")
    client.post("/api/v1/reports", json=report_body(desk), headers=headers)
    with rt.sessions.begin() as session:
        case = session.scalar(sa.select(Case))
        case_record.append(session, case, case.received_at, "note", note="第二条记录")
    assert runner.invoke(args=["cases", "verify-record"]).exit_code == 0
    with rt.sessions.begin() as session:  # someone edits history directly in the database
        session.execute(sa.update(CaseEvent).where(CaseEvent.seq == 1).values(note="改过的"))
    result = runner.invoke(args=["cases", "verify-record"])
    assert result.exit_code == 1 and "entry 1" in result.output and "seal" in result.output
    with rt.sessions() as session:
        assert [p.seq for p in case_record.verify(session)] == [1]


@pytest.mark.parametrize("tamper,reason", [
    (lambda s: s.execute(sa.delete(CaseEvent).where(CaseEvent.seq == 2)), "does not end where"),
    (lambda s: s.execute(sa.delete(CaseEvent)), "does not end where"),
    (lambda s: s.execute(sa.update(Case).values(description="改过的描述")), "no longer matches"),
    (lambda s: s.execute(sa.update(Case).values(category_code="99999")), "no longer matches"),
    (lambda s: s.execute(sa.update(CaseEvent).where(CaseEvent.seq == 2).values(data={"x": 1})), "seal"),
    (lambda s: s.execute(sa.update(CaseEvent).where(CaseEvent.seq == 1).values(actor_id=None)), "seal"),
])
def test_truncation_and_edits_of_the_case_row_are_detected(desk, rt, tamper, reason):
    desk["client"].post("/api/v1/reports", json=report_body(desk), headers=desk["headers"]("13800000003"))
    with rt.sessions.begin() as session:
        case = session.scalar(sa.select(Case))
        case_record.append(session, case, case.received_at, "note", note="第二条记录", data={"x": 0})
    with rt.sessions() as session:
        assert case_record.verify(session) == []
    with rt.sessions.begin() as session:
        tamper(session)
    with rt.sessions() as session:
        problems = case_record.verify(session)
    assert problems and any(reason in p.reason for p in problems), problems


def test_one_uuid_in_any_spelling_is_one_case(desk):
    client, headers = desk["client"], desk["headers"]("13800000003")
    body = report_body(desk)
    spellings = [body["client_uuid"], body["client_uuid"].upper(), body["client_uuid"].replace("-", ""),
                 "{" + body["client_uuid"] + "}"]
    answers = [client.post("/api/v1/reports", json={**body, "client_uuid": u}, headers=headers) for u in spellings]
    assert [a.status_code for a in answers] == [201, 200, 200, 200]
    assert len({a.get_json()["tracking_no"] for a in answers}) == 1


@pytest.mark.parametrize("changes,field", [
    ({"description": "nul\x00byte"}, "description"),
    ({"description": "lone \ud800 surrogate"}, "description"),
])
def test_text_databases_cannot_store_is_422(desk, rt, changes, field):
    import json

    # json.dumps escapes a lone surrogate as \ud800, which the server decodes back into one.
    response = desk["client"].post("/api/v1/reports", data=json.dumps(report_body(desk, **changes)),
                                   content_type="application/json", headers=desk["headers"]("13800000003"))
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]


def test_a_case_located_nowhere_is_seen_by_the_reporters_township(desk):
    client = desk["client"]
    far = client.post("/api/v1/reports", json=report_body(desk, lon=116.39, lat=39.9, crs="wgs84"),
                      headers=desk["headers"]("13800000003")).get_json()
    assert far["grid"] is None and far["township"] == "220112100000" and far["department"] is None
    assert client.get(f"/api/v1/cases/{far['tracking_no']}", headers=desk["headers"]("13800000001")).status_code == 200
    assert client.get(f"/api/v1/cases/{far['tracking_no']}", headers=desk["headers"]("13800000002")).status_code == 404


def test_odd_tracking_numbers_are_404(desk):
    headers = desk["headers"]("13800000001")
    for number in ("a%00b", "20261125-XXXXXXXX", "x" * 200):
        assert desk["client"].get(f"/api/v1/cases/{number}", headers=headers).status_code == 404
