"""满意度评价 (gridsvc.cases.ratings): only the reporter, only after closing, once; a bad rating reopens the case."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import Case, CaseRating, Event
from tests.support import PASSWORD, actions, assert_documented, assert_record_intact, closed_case, rate, report, step

RATING = "/api/v1/cases/{tracking_no}/rating"


def test_only_the_reporter_rates_and_only_after_closing(office):
    case = report(office)
    assert rate(office, "worker", case, 409, stars=5).get_json()["error"]["code"] == "not_closed"
    case = closed_case(office)
    assert rate(office, "commander", case, 403, stars=5).get_json()["error"]["code"] == "not_permitted"
    assert rate(office, "worker2", case, 403, stars=5).get_json()["error"]["code"] == "not_permitted"
    for bad in (0, 6, "5", None, 4.5):
        assert "stars" in rate(office, "worker", case, 422, stars=bad).get_json()["error"]["fields"]
    assert rate(office, "worker", case, 422, stars=4, comment="x" * 1001).get_json()["error"]["fields"]
    unrated = office["client"].get(RATING.format(**case), headers=office["headers"]("worker"))
    assert unrated.status_code == 404 and unrated.get_json()["error"]["code"] == "rating_not_found"
    rate(office, "other_commander", case, 404, stars=5)  # not visible: as if it did not exist


def test_a_rating_is_stored_once_and_a_retry_gets_it_back(office, rt):
    spec = office["client"].get("/api/openapi.json").get_json()
    case = closed_case(office)
    created = rate(office, "worker", case, 201, stars=4, comment=" 处理及时 ")
    assert_documented(spec, "post", RATING, created, 201)
    body = created.get_json()
    assert (body["stars"], body["comment"], body["outcome"], body["case"]["status"]) == (4, "处理及时", "none", "closed")
    again = rate(office, "worker", case, 200, stars=4, comment="处理及时")
    assert_documented(spec, "post", RATING, again, 200)
    assert again.get_json()["rated_at"] == body["rated_at"]
    conflict = rate(office, "worker", case, 409, stars=5, comment="处理及时")
    assert_documented(spec, "post", RATING, conflict, 409)
    assert conflict.get_json()["error"]["code"] == "already_rated"
    for who in ("worker", "commander"):  # whoever sees the case sees its rating
        shown = office["client"].get(RATING.format(**case), headers=office["headers"](who))
        assert_documented(spec, "get", RATING, shown, 200)
        assert shown.get_json()["stars"] == 4
    assert actions(office, case)[-2:] == ["close", "rate"]
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CaseRating)) == 1
        kinds = [e.data["action"] for e in session.scalars(sa.select(Event).where(Event.kind == "case.rated"))]
        assert kinds == ["rate"]
    assert_record_intact(rt)


def test_the_unique_constraint_holds_one_rating_per_case(office, rt):
    case = closed_case(office)
    rate(office, "worker", case, 201, stars=5)
    with rt.sessions() as session:
        stored = session.scalar(sa.select(CaseRating))
        session.add(CaseRating(case_id=stored.case_id, rater_id=stored.rater_id, stars=5, rated_at=utcnow(),
                               outcome="none"))
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()


def test_a_bad_rating_soon_after_closing_sends_the_case_back_to_its_department(office, rt):
    case = closed_case(office)
    before = utcnow()
    reopened = rate(office, "worker", case, 201, stars=2, comment="垃圾又堆回来了").get_json()
    assert reopened["outcome"] == "reopened"
    shown = reopened["case"]
    assert (shown["status"], shown["department"], shown["rework_count"], shown["closed_at"]) == (
        "handling", office["local"], 1, None)
    assert shown["handling_due_at"] > before.isoformat() and shown["stage_due_at"] == shown["handling_due_at"]
    assert actions(office, case)[-3:] == ["close", "rate", "reopen"]
    # a retry after the reopening still finds the rating; the case goes round again, but is rated once
    assert rate(office, "worker", case, 200, stars=2, comment="垃圾又堆回来了").get_json()["outcome"] == "reopened"
    step(office, "handler", case, "feedback", note="再次清理")
    step(office, "worker", case, "verify")
    step(office, "commander", case, "close")
    assert rate(office, "worker", case, 409, stars=5).get_json()["error"]["code"] == "already_rated"
    with rt.sessions() as session:
        kinds = {e.data.get("action"): e.kind for e in session.scalars(sa.select(Event))}
        assert kinds["rate"] == "case.rated" and kinds["reopen"] == "case.status_changed"
    assert_record_intact(rt)


def test_a_late_bad_rating_asks_the_commander_instead(office, rt):
    case = closed_case(office)
    with rt.sessions.begin() as session:  # closed a month ago: past the 10 working days
        session.execute(sa.update(Case).where(Case.tracking_no == case["tracking_no"])
                        .values(closed_at=utcnow() - timedelta(days=30)))
    rated = rate(office, "worker", case, 201, stars=1).get_json()
    assert rated["outcome"] == "reopen_requested"
    assert rated["case"]["status"] == "closed" and "reopen_requested" in rated["case"]["flags"]
    assert rated["case"]["rework_count"] == 0
    assert_record_intact(rt)


def test_a_good_rating_changes_nothing_and_the_phone_rates_too(office, rt):
    case = closed_case(office)
    login = office["client"].post("/mobile/v1/auth/login", json={"phone": "13800000003", "password": PASSWORD})
    token = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    url = f"/mobile/v1/cases/{case['tracking_no']}/rating"
    spec = office["client"].get("/mobile/v1/openapi.json").get_json()
    made = office["client"].post(url, json={"stars": 3}, headers=token)
    assert_documented(spec, "post", "/mobile/v1/cases/{tracking_no}/rating", made, 201)
    assert made.get_json()["case"]["status"] == "closed"  # 3 stars: not a bad rating
    shown = office["client"].get(url, headers=token)
    assert_documented(spec, "get", "/mobile/v1/cases/{tracking_no}/rating", shown, 200)
    assert shown.get_json()["outcome"] == "none"
