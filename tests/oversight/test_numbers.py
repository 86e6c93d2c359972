"""The command screen's numbers (gridsvc.oversight.numbers, GET /api/v1/numbers), checked against a known history.

The history (tests/oversight/conftest.py) is made the ordinary way: reports through intake, steps through the
workflow, the deadline sweep marking what is late, each at a chosen China time. Every expected figure is worked out
by hand in the comments, on office hours 08:30–12:00 and 13:30–17:30 (7.5 h a day) and the 2026
calendar: 25–26 April a weekend, 1–5 May Labour Day (劳动节), Saturday 9 May a working day (调休).
"""

import random
from datetime import timedelta, timezone

import pytest
import sqlalchemy as sa

from gridsvc.web import numbers_api
from gridsvc.cases.search import UnknownArea
from gridsvc.kernel.models import Case
from gridsvc.oversight.numbers import PeriodError, WorkingClock, default_period
from tests.support import (CJHB, CLEANING, DISPUTE, FROM, L1, LUXIANG, NOW, PASSWORD, PILED, QIJIA, TO, V1, V2, ZHZF,
                           ZZZX, assert_documented, at, utc)

NO_RATINGS = {"ratings": 0, "mean_stars": None}


def test_the_deadlines_of_the_history_are_the_hand_computed_ones(town, history):
    assert town.due(history["J"]) == (at("2026-04-22T09:00"), at("2026-04-22T09:00"))
    assert town.due(history["A"])[0] == at("2026-04-28T09:00")
    assert town.due(history["B"])[0] == at("2026-05-07T16:00")
    assert town.due(history["E"]) == (at("2026-05-08T09:55"), at("2026-05-08T09:55"))
    assert town.due(history["F"])[1] == at("2026-05-09T09:30")
    assert town.due(history["I"])[1] == at("2026-05-11T15:20")


def test_a_township_commander_sees_every_figure_of_their_township(town, history):
    c = history
    numbers = town.numbers("commander")
    assert (numbers["from"], numbers["to"], numbers["now"]) == (
        "2026-04-26T16:00:00+00:00", "2026-05-11T16:00:00+00:00", "2026-05-11T07:10:00+00:00")
    assert numbers["area"] is None
    # Today (11 May): H and I came in, H was closed; E, F, I, J are open, of them E, F, J overdue.
    assert numbers["today"] == {"day": "2026-05-11", "received": 2, "closed": 1, "open": 4, "overdue": 3}
    # Received in [27 Apr, 12 May): B C D E F H I. Closed: A (28 Apr), B (8 May), H (11 May); B was overdue.
    # Working hours receipt → closing:
    #   A: Fri 24 Apr 09:00 → Tue 28 Apr 09:45 = 7 (Fri) + 0 (weekend) + 7.5 (Mon) + 1.25 (Tue) = 15.75
    #   B: Thu 30 Apr 16:00 → Fri 8 May 10:00 = 1.5 + 0 (1–5 May) + 7.5 + 7.5 + 1.5 = 18
    #   H: Mon 11 May 09:00 → 10:45 = 1.75
    #   mean (15.75 + 18 + 1.75) / 3 = 11.8333…
    assert numbers["period"] == {"received": 7, "closed": 3, "closed_on_time": 2, "rejected": 1, "merged": 1,
                                 "on_time_closure_rate": 0.6667, "average_handling_hours": 11.83,
                                 "satisfaction": NO_RATINGS}
    # Status now of the seven received in the period: F, I reported; E handling; B, H closed; C rejected; D merged.
    assert numbers["by_status"] == [
        {"status": "reported", "name_zh": "待立案", "count": 2}, {"status": "filed", "name_zh": "待派遣", "count": 0},
        {"status": "dispatched", "name_zh": "待签收", "count": 0},
        {"status": "handling", "name_zh": "处置中", "count": 1}, {"status": "handled", "name_zh": "待核查", "count": 0},
        {"status": "verified", "name_zh": "待结案", "count": 0}, {"status": "closed", "name_zh": "已结案", "count": 2},
        {"status": "rejected", "name_zh": "不予立案", "count": 1}, {"status": "merged", "name_zh": "已合并", "count": 1},
    ]
    # 乱堆乱放 (执法): B D E H; 邻里纠纷 (综治): C F; 道路及公共区域保洁 (服务): I.
    assert numbers["by_domain"] == [{"code": "governance", "name_zh": "综治", "count": 2},
                                    {"code": "enforcement", "name_zh": "执法", "count": 4},
                                    {"code": "services", "name_zh": "服务", "count": 1}]
    assert numbers["by_category"] == [
        {"code": PILED, "name_zh": "乱堆乱放", "name_en": "Materials and debris piled in public places", "count": 4},
        {"code": DISPUTE, "name_zh": "邻里纠纷", "name_en": "Neighbour disputes", "count": 2},
        {"code": CLEANING, "name_zh": "道路及公共区域保洁", "name_en": "Cleaning of roads and public spaces", "count": 1},
    ]
    # Most overdue first. Working hours from the stage's due time to Mon 11 May 15:10:
    #   J from Wed 22 Apr 09:00: 7 + 7.5 + 7.5 (22–24 Apr) + 30 (27–30 Apr) + 22.5 (6–8 May) + 7.5 (Sat 9 May)
    #     + 5h10 (Mon) = 87.1667
    #   E from Fri 8 May 09:55: 6h05 + 7.5 (Sat 9 May) + 5h10 = 18.75
    #   F from Sat 9 May 09:30: 6h30 + 5h10 = 11.6667
    worst = numbers["worst_overdue"]
    assert [(w["tracking_no"], w["stage_due_at"], w["overdue_working_hours"], w["overdue_level"]) for w in worst] == [
        (c["J"], utc("2026-04-22T09:00"), 87.17, 2), (c["E"], utc("2026-05-08T09:55"), 18.75, 1),
        (c["F"], utc("2026-05-09T09:30"), 11.67, 1)]
    assert worst[0] == {
        "tracking_no": c["J"], "category": PILED, "category_name_zh": "乱堆乱放", "status": "handling",
        "status_name_zh": "处置中", "grid": town.grids[V1][0], "village": V1, "village_name": "齐家村",
        "department": ZHZF, "department_name_zh": "齐家镇综合行政执法队", "stage_due_at": utc("2026-04-22T09:00"),
        "overdue_level": 2, "overdue_working_hours": 87.17}
    assert [(w["status"], w["village_name"], w["department"]) for w in worst[1:]] == [
        ("handling", "齐家村", ZHZF), ("reported", "东升村", ZZZX)]
    # One row per China day, 27 Apr … 11 May.
    received = {"2026-04-30": 1, "2026-05-06": 3, "2026-05-09": 1, "2026-05-11": 2}
    closed = {"2026-04-28": 1, "2026-05-08": 1, "2026-05-11": 1}
    days = [(FROM + timedelta(days=i)).date().isoformat() for i in range(15)]
    assert numbers["trend"] == [{"day": d, "received": received.get(d, 0), "closed": closed.get(d, 0)} for d in days]
    # 齐家村: received B D E I; open E I J; overdue E J; closed A B (A on time).
    # 东升村: received C F H; open F; overdue F; closed H (on time).
    assert numbers["by_village"] == [
        {"code": V1, "name": "齐家村", "received": 4, "open": 3, "overdue": 2, "closed": 2, "closed_on_time": 1,
         "on_time_rate": 0.5},
        {"code": V2, "name": "东升村", "received": 3, "open": 1, "overdue": 1, "closed": 1, "closed_on_time": 1,
         "on_time_rate": 1.0},
    ]
    # 执法队 has A B D E H J; 综治中心 C F; 村镇建设办 I.
    assert numbers["by_department"] == [
        {"code": ZHZF, "name_zh": "齐家镇综合行政执法队", "name_en": "Qijia Town Integrated Administrative Enforcement Team",
         "received": 4, "open": 2, "overdue": 2, "closed": 3, "closed_on_time": 2, "on_time_rate": 0.6667},
        {"code": ZZZX, "name_zh": "齐家镇综治中心", "name_en": "Qijia Town Comprehensive Governance Centre",
         "received": 2, "open": 1, "overdue": 1, "closed": 0, "closed_on_time": 0, "on_time_rate": None},
        {"code": CJHB, "name_zh": "齐家镇村镇建设和环境保护办公室",
         "name_en": "Qijia Town Village Construction and Environment Office",
         "received": 1, "open": 1, "overdue": 0, "closed": 0, "closed_on_time": 0, "on_time_rate": None},
    ]


def test_on_time_is_read_from_the_record(town, history):
    """B's later stages kept their deadlines; the `overdue` entry of its handling stage decides."""
    with town.rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == history["B"]))
        assert case.overdue_level == 0 and case.status == "closed"  # the case row no longer says it was late
    period = town.numbers("commander", at("2026-05-08T00:00"), at("2026-05-09T00:00"))["period"]
    assert (period["closed"], period["closed_on_time"], period["on_time_closure_rate"]) == (1, 0, 0.0)
    assert period["average_handling_hours"] == 18.0


def test_another_township_sees_nothing_of_this_one(town, history):
    numbers = town.numbers("other_commander")
    everything = repr(numbers)
    assert not any(history[k] in everything for k in "JABCDEFHI") and QIJIA[:9] not in everything
    assert numbers["today"] == {"day": "2026-05-11", "received": 0, "closed": 0, "open": 1, "overdue": 1}
    assert numbers["period"] == {"received": 1, "closed": 0, "closed_on_time": 0, "rejected": 0, "merged": 0,
                                 "on_time_closure_rate": None, "average_handling_hours": None,
                                 "satisfaction": NO_RATINGS}
    # L was due Wed 6 May 11:30: 0.5 + 4 (Wed) + 7.5 × 3 (Thu, Fri, Sat 9 May) + 5h10 (Mon) = 32.1667
    assert [(w["tracking_no"], w["overdue_working_hours"], w["overdue_level"], w["department"])
            for w in numbers["worst_overdue"]] == [(history["L"], 32.17, 2, f"{LUXIANG}-ZZZX")]
    assert [(r["code"], r["name"], r["received"], r["open"], r["overdue"]) for r in numbers["by_village"]] == [
        (L1, "鹿乡村", 1, 1, 1)]
    assert [r["code"] for r in numbers["by_department"]] == [f"{LUXIANG}-ZZZX"]
    assert sum(r["received"] for r in numbers["trend"]) == 1 and numbers["trend"][9]["day"] == "2026-05-06"
    assert numbers["trend"][9]["received"] == 1


def test_the_area_filter(town, history):
    county = town.numbers("supervisor")
    assert county["period"]["received"] == 8 and county["today"]["overdue"] == 4  # with 鹿乡's L
    township = town.numbers("supervisor", area=QIJIA)
    assert township == {**town.numbers("commander"), "area": {"code": QIJIA, "name": "齐家镇", "level": "township"}}
    village = town.numbers("commander", area=V2)  # 东升村: C (rejected), F (overdue), H (closed today, 1.75 h)
    assert village["area"] == {"code": V2, "name": "东升村", "level": "village"}
    assert village["today"] == {"day": "2026-05-11", "received": 1, "closed": 1, "open": 1, "overdue": 1}
    assert village["period"] == {"received": 3, "closed": 1, "closed_on_time": 1, "rejected": 1, "merged": 0,
                                 "on_time_closure_rate": 1.0, "average_handling_hours": 1.75,
                                 "satisfaction": NO_RATINGS}
    assert [w["tracking_no"] for w in village["worst_overdue"]] == [history["F"]]
    assert [r["code"] for r in village["by_village"]] == [V2]
    assert [(r["code"], r["received"]) for r in village["by_department"]] == [(ZZZX, 2), (ZHZF, 1)]
    # An area outside one's jurisdiction is simply empty; an unknown one is an error.
    elsewhere = town.numbers("commander", area=LUXIANG)
    assert elsewhere["period"]["received"] == 0 and elsewhere["by_village"] == [] and elsewhere["today"]["open"] == 0
    with pytest.raises(UnknownArea):
        town.numbers("commander", area="220112999000")


def test_the_period_bounds_cut_partial_days(town, history):
    # [Wed 6 May 09:58, Mon 11 May 09:05): received D (10:00), F, H (09:00); C (09:00) and E (09:55) came before.
    # Closed: B (8 May, late), not H (10:45). Rejected: none (C at 09:10, before). Merged: D (10:05).
    numbers = town.numbers("commander", at("2026-05-06T09:58"), at("2026-05-11T09:05"))
    assert numbers["period"] == {"received": 3, "closed": 1, "closed_on_time": 0, "rejected": 0, "merged": 1,
                                 "on_time_closure_rate": 0.0, "average_handling_hours": 18.0,
                                 "satisfaction": NO_RATINGS}
    assert [(r["day"], r["received"], r["closed"]) for r in numbers["trend"]] == [
        ("2026-05-06", 1, 0), ("2026-05-07", 0, 0), ("2026-05-08", 0, 1), ("2026-05-09", 1, 0),
        ("2026-05-10", 0, 0), ("2026-05-11", 1, 0)]
    assert {s["status"]: s["count"] for s in numbers["by_status"] if s["count"]} == {"reported": 1, "closed": 1,
                                                                                     "merged": 1}
    assert numbers["today"]["received"] == 2  # today does not depend on the period


def test_the_period_is_at_most_92_days(town):
    start = at("2026-07-01T00:00")
    quarter = town.numbers("commander", start, at("2026-10-01T00:00"), now=at("2026-10-01T00:00"))
    assert len(quarter["trend"]) == 92 and quarter["trend"][-1]["day"] == "2026-09-30"
    with pytest.raises(PeriodError) as too_long:
        town.numbers("commander", start, at("2026-10-01T00:00:01"))
    assert too_long.value.field == "to" and "92 days" in str(too_long.value)
    with pytest.raises(PeriodError) as reversed_:
        town.numbers("commander", start, start)
    assert reversed_.value.field == "to"


def test_the_default_period_is_the_china_month_so_far():
    assert default_period(NOW) == (at("2026-05-01T00:00"), NOW)
    early = at("2026-06-01T07:00")  # still 31 May in UTC: the China month decides
    assert default_period(early) == (at("2026-06-01T00:00"), early)
    assert default_period(NOW, period_to=at("2026-04-15T12:00")) == (at("2026-04-01T00:00"), at("2026-04-15T12:00"))
    assert default_period(NOW, period_to=at("2026-05-01T00:00"))[0] == at("2026-04-01T00:00")
    assert default_period(NOW, period_from=at("2026-04-20T00:00")) == (at("2026-04-20T00:00"), NOW)


def test_the_working_clock_agrees_with_the_calendar(rt):
    calendar = rt.calendar.get()
    first, last = at("2026-04-20T00:00"), at("2026-05-20T00:00")
    clock = WorkingClock(calendar, first, last)
    moments = [at("2026-05-09T08:30"), at("2026-05-05T10:00"), at("2026-04-30T17:30"), at("2026-05-06T12:45")]
    pick = random.Random(7)
    moments += [first + timedelta(seconds=pick.randrange(int((last - first).total_seconds()))) for _ in range(200)]
    for start, end in zip(moments, reversed(moments)):
        assert clock.between(start, end) == pytest.approx(calendar.working_seconds_between(start, end), abs=1e-6)


def test_the_work_is_a_fixed_number_of_queries(town, history, rt):
    statements = []

    def count(*_):
        statements.append(1)

    sa.event.listen(rt.engine, "before_cursor_execute", count)
    try:
        town.numbers("commander")
        few = len(statements)
        for _ in range(3):
            town.report("worker1", V1, PILED, at("2026-05-07T09:00"))
        statements.clear()
        town.numbers("commander")
    finally:
        sa.event.remove(rt.engine, "before_cursor_execute", count)
    assert len(statements) == few <= 14


# -- the endpoint ------------------------------------------------------------------------------------


@pytest.fixture
def api(town, history, sample_app, monkeypatch):
    """A client signed in as the 齐家 commander, at NOW."""
    monkeypatch.setattr(numbers_api, "utcnow", lambda: NOW.astimezone(timezone.utc))
    client = sample_app.test_client()
    token = client.post("/api/v1/auth/login", json={"phone": town.phones["commander"], "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    spec = client.get("/api/openapi.json").get_json()

    def get(expect: int, **query):
        response = client.get("/api/v1/numbers", query_string=query, headers=headers)
        assert_documented(spec, "get", "/api/v1/numbers", response, expect)
        return response.get_json()

    return get


def test_the_endpoint_answers_what_the_function_computes(town, api):
    answer = api(200, **{"from": FROM.isoformat(), "to": TO.isoformat()})
    assert answer == town.numbers("commander")
    assert api(200, **{"from": FROM.isoformat(), "to": TO.isoformat(), "area": V2}) == town.numbers(
        "commander", area=V2)


def test_the_endpoint_defaults_to_this_china_month(town, api):
    answer = api(200)
    assert (answer["from"], answer["to"]) == (utc("2026-05-01T00:00"), NOW.astimezone(timezone.utc).isoformat())
    assert answer == town.numbers("commander", at("2026-05-01T00:00"), NOW)


def test_the_endpoint_refuses_bad_input_with_the_field(api):
    assert api(422, **{"from": "last week"})["error"]["fields"]["from"][0].startswith(
        "须为 ISO 8601 日期或时间，如 2026-05-01T08:00:00+08:00 / must be an ISO 8601")
    assert api(422, **{"from": "2026-05-01T00:00:00+08:00", "to": "2026-04-01T00:00:00+08:00"})["error"] == {
        "code": "invalid_parameters", "message": "参数无效 / invalid parameters",
        "fields": {"to": ["截止时间须晚于起始时间 / must lie after `from`"]}}
    too_long = api(422, **{"from": "2026-01-01T00:00:00+08:00", "to": "2026-05-01T00:00:00+08:00"})
    assert too_long["error"]["fields"] == {"to": ["统计期不得超过 92 天 / the period may span at most 92 days"]}
    alone = api(422, **{"from": "2026-01-01T00:00:00+08:00"})  # `to` is now: the caller's `from` is at fault
    assert alone["error"]["fields"] == {"from": ["统计期不得超过 92 天 / the period may span at most 92 days"]}
    assert api(422, area="2201121")["error"]["fields"] == {"area": ["须为 12 位区划代码 / a 12-digit administrative code"]}
    unknown = api(422, area="220112999000")["error"]["fields"]
    assert unknown == {"area": ["220112999000 is not a known administrative unit"]}


def test_the_endpoint_needs_a_signed_in_caller(sample_app):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = sample_app.test_client().get("/api/v1/numbers", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] in ("sign_in_required", "sign_in_refused")
