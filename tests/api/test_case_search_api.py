"""GET /api/v1/cases as the screen's search (查找) asks it: Chinese words, filters, an order, pages, the names
of the cases' places; a refused filter is a 422 naming it, never a 500; another township's case is never
found. Both backends, the sample county and the `office` fixture's people."""

import uuid

import pytest

from tests.support import LOCAL_CATEGORY, LUXIANG, QIJIA, assert_documented

DISPUTE = "01001"  # 邻里纠纷 (综治)


def reported(office, description: str, category: str = LOCAL_CATEGORY, point=None) -> dict:
    point = point or office["point"]
    body = {"client_uuid": str(uuid.uuid4()), "category": category, "description": description,
            "lon": point.x, "lat": point.y, "crs": "cgcs2000"}
    answer = office["client"].post("/api/v1/reports", json=body, headers=office["headers"]("worker"))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def search(office, who: str = "commander", expect: int = 200, **query) -> dict:
    answer = office["client"].get("/api/v1/cases", query_string=query, headers=office["headers"](who))
    assert answer.status_code == expect, answer.get_json()
    return answer.get_json()


def luxiang_point(rt):
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.kind == "base" and c.code.startswith(LUXIANG[:9]))
    return index.geometry(position).representative_point()


def test_chinese_words_find_cases_with_the_names_of_their_places(office, rt):
    piled = reported(office, "村道旁堆放建筑垃圾")
    reported(office, "邻里因宅基地发生纠纷", category=DISPUTE)
    found = search(office, q="建筑垃圾")
    assert (found["total"], found["sort"]) == (1, "newest")
    assert [c["tracking_no"] for c in found["cases"]] == [piled["tracking_no"]]
    grid = office["grid"]
    assert found["places"] == {grid.code: grid.name, grid.village_code: rt.index.get().admin[grid.village_code].name,
                               QIJIA: "齐家镇"}
    assert search(office, q="垃圾 纠纷")["total"] == 0  # every word must occur
    assert search(office, q="纠纷", domain="governance")["total"] == 1
    assert search(office, q="纠纷", domain="enforcement")["total"] == 0
    assert search(office, q=piled["tracking_no"].lower())["cases"][0]["tracking_no"] == piled["tracking_no"]
    spec = office["client"].get("/api/openapi.json").get_json()
    answer = office["client"].get("/api/v1/cases", query_string={"q": "堆放", "sort": "deadline"},
                                  headers=office["headers"]("commander"))
    assert_documented(spec, "get", "/api/v1/cases", answer, 200)
    refused = office["client"].get("/api/v1/cases?sort=best", headers=office["headers"]("commander"))
    assert_documented(spec, "get", "/api/v1/cases", refused, 422)


def test_pages_in_an_order_reach_every_case_once(office):
    made = [reported(office, f"第{i}处堆放杂物")["tracking_no"] for i in range(7)]
    newest = [c["tracking_no"] for offset in (0, 3, 6)
              for c in search(office, q="堆放", limit=3, offset=offset)["cases"]]
    assert newest == made[::-1]
    oldest = search(office, q="堆放", sort="oldest", limit=5, offset=5)
    assert oldest["total"] == 7 and [c["tracking_no"] for c in oldest["cases"]] == made[5:]


def test_another_townships_commander_never_finds_the_case(office, rt):
    theirs = reported(office, "鹿乡村口堆放秸秆", point=luxiang_point(rt))
    assert search(office, q=theirs["tracking_no"])["total"] == 0
    assert search(office, q="秸秆")["total"] == 0
    assert search(office, "other_commander", q="秸秆")["cases"][0]["tracking_no"] == theirs["tracking_no"]
    county = search(office, "supervisor", q="秸秆")
    assert county["places"][LUXIANG] == "鹿乡镇"  # the county's list names each case's township


@pytest.mark.parametrize("query, field", [
    ({"sort": "best"}, "sort"),
    ({"domain": "traffic"}, "domain"),
    ({"received_from": "2026-05-02", "received_before": "2026-05-01"}, "received_before"),
    ({"q": "垃" * 101}, "q"),
    ({"q": " ".join("词" + str(i) for i in range(9))}, "q"),
    ({"overdue": "maybe"}, "overdue"),
    ({"status": "lost"}, "status"),
    ({"category": "abc"}, "category"),
    ({"area": "220112999000"}, "area"),
    ({"limit": "0"}, "limit"),
])
def test_a_filter_that_cannot_be_taken_is_a_422_naming_it(office, query, field):
    error = search(office, expect=422, **query)["error"]
    assert error["code"] == "invalid_parameters" and list(error["fields"]) == [field] and error["fields"][field]
    # every reason has its Chinese half (the screen shows only that; an unknown area was English only)
    assert all(not reason.partition(" / ")[0].isascii() for reason in error["fields"][field]), error


def test_the_maps_rows_carry_the_phones_time_of_a_report_queued_offline(office):
    """The marker's pop-up says when the case was reported by the phone, not when it was uploaded: the screen's
    rows carry `reported_at` where it lies a minute or more from `received_at` (null otherwise: most reports)."""
    from datetime import datetime, timedelta, timezone

    point = office["point"]
    an_hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)
    queued, at_once = (office["client"].post("/api/v1/reports", headers=office["headers"]("worker"), json={
        "client_uuid": str(uuid.uuid4()), "category": LOCAL_CATEGORY, "description": "离线上报的堆放",
        "lon": point.x, "lat": point.y, "crs": "cgcs2000", **extra}).get_json()["tracking_no"]
        for extra in ({"reported_at": an_hour_ago.isoformat()}, {}))
    rows = office["client"].get("/api/v1/screen/cases", query_string={"tracking_no": f"{queued},{at_once}"},
                                headers=office["headers"]("commander")).get_json()
    found = {row["tracking_no"]: row for row in (dict(zip(rows["fields"], values)) for values in rows["rows"])}
    assert datetime.fromisoformat(found[queued]["reported_at"]) == an_hour_ago
    assert found[at_once]["reported_at"] is None and found[at_once]["received_at"]
