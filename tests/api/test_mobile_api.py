"""The mobile API as a phone uses it: sign in, start-up data, reports, the offline queue, dispatches."""

import io
import uuid

import pytest
import shapely
import sqlalchemy as sa
from PIL import Image
from shapely.geometry import shape

from gridsvc.catalogue.store import current_categories, load_catalogue, read_json
from gridsvc.geo import metric
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.kernel.models import Case
from fixtures.sample import CATALOGUE_FILE
from tests.support import (COMMANDER, JSON_TYPE_ERRORS, OFFICER, QIJIA, STRANGER, WORKER, assert_documented,
                           report_body)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (120, 90, 30)).save(out, "JPEG")
    return out.getvalue()


def post(field, who, path, **kwargs):
    return field["phone"].post(f"/mobile/v1{path}", headers=field["headers"](who), **kwargs)


def get(field, who, path, **kwargs):
    return field["phone"].get(f"/mobile/v1{path}", headers=field["headers"](who), **kwargs)


def test_startup_data_for_working_offline(field, rt):
    answer = get(field, WORKER, "/startup")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["user"]["role"] == "grid_worker" and body["crs"] == "gcj02"
    assert [g["code"] for g in body["grids"]] == [field["grid"]]
    grid = body["grids"][0]
    assert grid["township"]["code"] == QIJIA and grid["village"]["code"]
    # The boundary is in GCJ-02, as the phone's map draws it: the GCJ-02 image of a point inside holds.
    x, y = from_cgcs2000(field["probe"].x, field["probe"].y, parse_crs("gcj02"))
    assert shape(grid["boundary"]).contains(shapely.Point(x, y))
    assert not shape(grid["boundary"]).contains(field["probe"])  # the CGCS2000 numbers are ~500 m off
    with rt.sessions() as session:
        assert len(body["catalogue"]["categories"]) == len(current_categories(session))
    # An unchanged start-up answer costs a 304 without a body.
    etag = answer.headers["ETag"]
    again = field["phone"].get("/mobile/v1/startup", headers={**field["headers"](WORKER), "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    data = read_json(CATALOGUE_FILE)
    data["categories"][0]["name_zh"] += "（修订）"
    with rt.sessions.begin() as session:
        load_catalogue(session, data)
    changed = field["phone"].get("/mobile/v1/startup", headers={**field["headers"](WORKER), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["catalogue"]["revision"] == body["catalogue"]["revision"] + 1


def test_a_report_near_a_boundary_lands_in_its_grid_and_a_resend_finds_it(field):
    body = report_body(field)
    first = post(field, WORKER, "/reports", json=body)
    assert first.status_code == 201, first.get_json()
    case = first.get_json()
    assert case["grid"]["code"] == field["grid"] and case["grid"]["code"] != field["neighbour"]
    assert case["department"]["code"] == field["department"] and case["department"]["name_zh"]
    # 3 m from the edge with a 4 m accuracy circle: the right grid, flagged for the commander to confirm.
    assert case["tracking_no"] and case["stage_due_at"] and case["flags"] == ["accuracy_crosses_boundary"]
    # The answer was lost on a bad network: the phone sends the same report again.
    resent = post(field, WORKER, "/reports", json=body)
    assert resent.status_code == 200 and resent.get_json()["tracking_no"] == case["tracking_no"]
    changed = post(field, WORKER, "/reports", json={**body, "description": "另一件事"})
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "client_uuid_conflict"
    outside = post(field, STRANGER, "/reports", json=report_body(field))
    assert "outside_own_grids" in outside.get_json()["flags"]


def test_photos_are_sent_separately_and_safely_again(field):
    body = report_body(field)
    post(field, WORKER, "/reports", json=body)
    photo = {"photo": (io.BytesIO(jpeg()), "scene.jpg")}
    first = post(field, WORKER, f"/reports/{body['client_uuid']}/photos", data=photo,
                 content_type="multipart/form-data")
    assert first.status_code == 201, first.get_json()
    again = post(field, WORKER, f"/reports/{body['client_uuid']}/photos",
                 data={"photo": (io.BytesIO(jpeg()), "scene.jpg")}, content_type="multipart/form-data")
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    for who, uuid_ in ((STRANGER, body["client_uuid"]), (WORKER, str(uuid.uuid4())), (WORKER, "not-a-uuid")):
        refused = post(field, who, f"/reports/{uuid_}/photos", data={"photo": (io.BytesIO(jpeg()), "x.jpg")},
                       content_type="multipart/form-data")
        assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "report_not_found"


def test_an_offline_queue_is_synced_and_one_bad_item_sinks_nothing(field):
    sent_before = report_body(field)
    post(field, WORKER, "/reports", json=sent_before)
    queue = [report_body(field), report_body(field, category="99999"), sent_before, "not a report",
             report_body(field, client_uuid="x"), report_body(field, lon=200)]
    answer = post(field, WORKER, "/reports/batch", json={"reports": queue})
    assert answer.status_code == 200, answer.get_json()
    results = answer.get_json()["results"]
    assert [r["result"] for r in results] == ["created", "rejected", "existing", "rejected", "rejected", "rejected"]
    assert "category" in results[1]["error"]["fields"] and results[1]["client_uuid"] == queue[1]["client_uuid"]
    assert results[2]["case"]["client_uuid"] == sent_before["client_uuid"]
    assert "client_uuid" in results[4]["error"]["fields"] and "lon" in results[5]["error"]["fields"]
    mine = get(field, WORKER, "/my/reports").get_json()["cases"]
    assert {c["client_uuid"] for c in mine} == {queue[0]["client_uuid"], sent_before["client_uuid"]}
    assert post(field, WORKER, "/reports/batch", json={"reports": []}).status_code == 422
    assert post(field, WORKER, "/reports/batch", json={"reports": [report_body(field)] * 101}).status_code == 422


def test_a_dispatch_is_taken_up_and_completed_with_evidence_then_verified(field):
    case = post(field, WORKER, "/reports", json=report_body(field)).get_json()
    number = case["tracking_no"]
    commander = field["headers"](COMMANDER)
    for step in ("file", "dispatch"):
        assert field["phone"].post(f"/api/v1/cases/{number}/steps/{step}", json={}, headers=commander).status_code \
            == 200
    tasks = get(field, OFFICER, "/my/tasks").get_json()["cases"]
    assert [t["tracking_no"] for t in tasks] == [number] and tasks[0]["status"] == "dispatched"
    assert post(field, OFFICER, f"/cases/{number}/steps/accept", json={}).status_code == 200
    x, y = from_cgcs2000(field["probe"].x + 0.0002, field["probe"].y, parse_crs("gcj02"))
    arrived = post(field, OFFICER, f"/cases/{number}/steps/arrive", json={"lon": x, "lat": y, "crs": "gcj02"})
    assert arrived.status_code == 200, arrived.get_json()
    assert post(field, OFFICER, f"/cases/{number}/steps/arrive", json={}).status_code == 422
    evidence = post(field, OFFICER, f"/cases/{number}/attachments", data={"photo": (io.BytesIO(jpeg()), "done.jpg")},
                    content_type="multipart/form-data")
    assert evidence.status_code == 201, evidence.get_json()
    done = post(field, OFFICER, f"/cases/{number}/steps/feedback",
                json={"note": "已清理", "attachments": [evidence.get_json()["id"]]})
    assert done.status_code == 200 and done.get_json()["status"] == "handled"
    assert get(field, OFFICER, "/my/tasks").get_json()["cases"] == []
    waiting = get(field, WORKER, "/my/verifications").get_json()["cases"]
    assert [c["tracking_no"] for c in waiting] == [number]
    assert post(field, WORKER, f"/cases/{number}/steps/verify", json={}).get_json()["status"] == "verified"
    record = field["phone"].get(f"/api/v1/cases/{number}/record", headers=commander).get_json()["record"]
    arrival = next(e for e in record if e["action"] == "arrive")
    assert 10 < arrival["data"]["distance_m"] < 25  # 0.0002° of longitude east, at latitude 43.5°


def test_another_townships_worker_gets_nothing_of_this_township(field):
    case = post(field, WORKER, "/reports", json=report_body(field)).get_json()
    number = case["tracking_no"]
    assert get(field, STRANGER, f"/cases/{number}").status_code == 404
    assert post(field, STRANGER, f"/cases/{number}/steps/verify", json={}).status_code == 404
    assert post(field, STRANGER, f"/cases/{number}/attachments", data={"photo": (io.BytesIO(jpeg()), "x.jpg")},
                content_type="multipart/form-data").status_code == 404
    assert get(field, STRANGER, "/my/reports").get_json()["cases"] == []
    assert get(field, STRANGER, "/my/verifications").get_json()["cases"] == []
    assert [g["code"] for g in get(field, STRANGER, "/startup").get_json()["grids"]] == [field["other_grid"]]


def test_phones_get_the_one_error_shape(field):
    unsigned = field["phone"].get("/mobile/v1/startup")
    assert unsigned.status_code == 401 and unsigned.get_json()["error"]["code"] == "sign_in_required"
    missing = field["phone"].get("/mobile/v1/nothing-here")
    assert missing.status_code == 404 and "error" in missing.get_json()
    bad = post(field, WORKER, "/reports", data="{", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_body"


# -- the error contract (issue 14): one bad item alone, JSON numbers, flat field names ----------------------------

MISSING = ["必填 / Missing data for required field."]


def test_a_null_or_a_number_in_a_string_in_the_queue_is_rejected_alone(field):
    queue = [report_body(field), None, report_body(field, lon="125.56"), report_body(field, urgent="yes"),
             report_body(field, accuracy=True), report_body(field, lon=125, urgent=True)]
    answer = post(field, WORKER, "/reports/batch", json={"reports": queue})
    assert answer.status_code == 200, answer.get_json()
    results = answer.get_json()["results"]
    assert [r["result"] for r in results] == ["created", "rejected", "rejected", "rejected", "rejected", "created"]
    assert results[1] == {"index": 1, "client_uuid": None, "result": "rejected", "case": None, "error": {
        "code": "invalid_parameters",
        "fields": {name: MISSING for name in ("client_uuid", "category", "description", "lon", "lat", "crs")}}}
    assert [r["error"]["fields"] for r in results[2:5]] == [
        {"lon": ["须为数字 / Not a valid number."]}, {"urgent": ["须为布尔值 / Not a valid boolean."]},
        {"accuracy": ["须为数字 / Not a valid number."]}]
    assert results[2]["client_uuid"] == queue[2]["client_uuid"]


def test_numbers_and_booleans_in_json_bodies_are_json_numbers_and_booleans(field):
    for change, reason in JSON_TYPE_ERRORS:
        refused = post(field, WORKER, "/reports", json=report_body(field, **change))
        assert refused.status_code == 422, change
        assert refused.get_json()["error"]["fields"] == {name: [reason] for name in change}
    number = post(field, WORKER, "/reports", json=report_body(field, urgent=True)).get_json()["tracking_no"]
    for step, body, fields in (
        ("file", {"expected_seq": "1"}, {"expected_seq": ["须为整数 / Not a valid integer."]}),
        ("file", {"attachments": [1, "2", True]}, {"attachments[1]": ["须为整数 / Not a valid integer."],
                                                   "attachments[2]": ["须为整数 / Not a valid integer."]}),
        ("arrive", {"lon": "125.5", "lat": 43.5, "crs": "gcj02"}, {"lon": ["须为数字 / Not a valid number."]}),
    ):
        refused = field["phone"].post(f"/mobile/v1/cases/{number}/steps/{step}", json=body,
                                      headers=field["headers"](COMMANDER))
        assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == fields, body
    rating = post(field, WORKER, f"/cases/{number}/rating", json={"stars": "5"})
    assert rating.status_code == 422
    assert rating.get_json()["error"]["fields"] == {"stars": ["须为整数 / Not a valid integer."]}
    # A query string is text by nature: its numbers and booleans keep being read from text.
    assert get(field, WORKER, "/my/reports", query_string={"open": "yes", "limit": "5"}).status_code == 200


def test_my_reports_come_a_page_at_a_time_with_no_overlap_and_no_gap(field, rt):
    sent = [post(field, WORKER, "/reports", json=report_body(field)).get_json()["tracking_no"] for _ in range(7)]
    # Three received in the same instant, across the boundary of the first two pages: the order falls back to
    # the case's id, the same on both backends.
    with rt.sessions.begin() as session:
        instant = session.scalar(sa.select(Case.received_at).where(Case.tracking_no == sent[3]))
        session.execute(sa.update(Case).where(Case.tracking_no.in_([sent[2], sent[4]])).values(received_at=instant))
    everything = [c["tracking_no"] for c in get(field, WORKER, "/my/reports", query_string={"limit": 200})
                  .get_json()["cases"]]
    assert sorted(everything) == sorted(sent)
    pages, before = [], None
    while True:
        page = get(field, WORKER, "/my/reports", query_string={"limit": 3, **({"before": before} if before else {})})
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        pages.append([c["tracking_no"] for c in body["cases"]])
        assert body["limit"] == 3 and body["total"] == 7 + (len(pages) > 1)
        if len(pages) == 1:  # a report sent while the phone pages is newer: it moves no case to a later page
            post(field, WORKER, "/reports", json=report_body(field))
        before = body["next"]
        if before is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [number for page in pages for number in page] == everything


def test_a_page_of_my_reports_needs_a_cursor_of_my_own(field):
    theirs = post(field, STRANGER, "/reports", json=report_body(field)).get_json()["tracking_no"]
    for query, reason in (({"before": theirs}, f"{theirs} is not one of your reports"),
                          ({"before": "20260101-AAAAAAAA"}, "20260101-AAAAAAAA is not one of your reports"),
                          ({"before": "the last one"}, "须为案件编号 / a tracking number")):
        refused = get(field, WORKER, "/my/reports", query_string=query)
        assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == {"before": [reason]}
    for limit in (0, 201, "many"):
        refused = get(field, WORKER, "/my/reports", query_string={"limit": limit})
        assert refused.status_code == 422 and list(refused.get_json()["error"]["fields"]) == ["limit"]


# -- what the field app needs: hand-picked spots, photos with feedback, task lists in one call ---------------------

PICKED = "location_picked_by_hand"
NOT_A_SOURCE = "须为以下之一：gps, map, grid / Must be one of: gps, map, grid."


def test_a_spot_picked_by_hand_is_flagged_for_the_commander_alone_or_in_the_queue(field):
    placed = post(field, WORKER, "/reports", json=report_body(field, location_source="map", accuracy=None))
    assert placed.status_code == 201, placed.get_json()
    assert PICKED in placed.get_json()["flags"]
    by_gps = post(field, WORKER, "/reports", json=report_body(field, category="01001"))
    assert PICKED not in by_gps.get_json()["flags"]  # no location_source: a GPS fix
    unknown = post(field, WORKER, "/reports", json=report_body(field, location_source="wifi"))
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["fields"] == {"location_source": [NOT_A_SOURCE]}
    queue = [report_body(field, category="02001", location_source="grid"),
             report_body(field, category="02002", location_source="gps"),
             report_body(field, location_source="satellite")]
    results = post(field, WORKER, "/reports/batch", json={"reports": queue}).get_json()["results"]
    assert [r["result"] for r in results] == ["created", "created", "rejected"]
    assert PICKED in results[0]["case"]["flags"] and PICKED not in results[1]["case"]["flags"]
    assert results[2]["error"]["fields"] == {"location_source": [NOT_A_SOURCE]}
    # The commander finds them by the flag, and the screen names it.
    listed = field["phone"].get("/api/v1/cases", query_string={"flag": PICKED}, headers=field["headers"](COMMANDER))
    assert {c["tracking_no"] for c in listed.get_json()["cases"]} == {
        placed.get_json()["tracking_no"], results[0]["case"]["tracking_no"]}
    config = field["phone"].get("/api/v1/screen/config", headers=field["headers"](COMMANDER)).get_json()
    assert config["flags"][PICKED] == "位置为手动选取，非定位所得"


def test_a_category_that_wants_a_photo_with_feedback_says_so_at_startup_and_refuses_feedback_without(field, rt):
    def asks_photo():
        categories = get(field, OFFICER, "/startup").get_json()["catalogue"]["categories"]
        return next(c["feedback_photo_required"] for c in categories if c["code"] == "02004")

    assert asks_photo() is False
    data = read_json(CATALOGUE_FILE)
    next(c for c in data["categories"] if c["code"] == "02004")["feedback_photo_required"] = True
    with rt.sessions.begin() as session:
        load_catalogue(session, data)
    assert asks_photo() is True
    number = post(field, WORKER, "/reports", json=report_body(field)).get_json()["tracking_no"]
    for who, step in ((COMMANDER, "file"), (COMMANDER, "dispatch"), (OFFICER, "accept")):
        assert post(field, who, f"/cases/{number}/steps/{step}", json={}).status_code == 200
    refused = post(field, OFFICER, f"/cases/{number}/steps/feedback", json={"note": "已清理"})
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "photo_required" and list(error["fields"]) == ["attachments"]
    assert error["fields"]["attachments"][0].startswith("该类事项反馈须附处置照片") and " / a photo" in \
        error["fields"]["attachments"][0]
    evidence = post(field, OFFICER, f"/cases/{number}/attachments", data={"photo": (io.BytesIO(jpeg()), "done.jpg")},
                    content_type="multipart/form-data").get_json()
    done = post(field, OFFICER, f"/cases/{number}/steps/feedback",
                json={"note": "已清理", "attachments": [evidence["id"]]})
    assert done.status_code == 200 and done.get_json()["status"] == "handled"


def dispatched_here(field, **changes) -> str:
    """A case reported, filed and dispatched to the officer's department (whatever its category): its number."""
    number = post(field, WORKER, "/reports", json=report_body(field, **changes)).get_json()["tracking_no"]
    for step, body in (("file", {}), ("dispatch", {"department": field["department"]})):
        assert post(field, COMMANDER, f"/cases/{number}/steps/{step}", json=body).status_code == 200
    return number


def pages_of(field, who, path, limit, **query) -> list[dict]:
    """Every page of a list, following `next`: each answer, checked against the phones' document."""
    spec = field["phone"].get("/mobile/v1/openapi.json").get_json()
    answers, before = [], None
    while True:
        answer = get(field, who, path, query_string={"limit": limit, **query, **({"before": before} if before else {})})
        assert_documented(spec, "get", f"/mobile/v1{path}", answer, 200)
        answers.append(answer.get_json())
        before = answers[-1]["next"]
        if before is None:
            return answers


def test_tasks_come_a_page_at_a_time_each_row_enough_for_the_list_and_its_map(field, rt):
    categories = ("02004", "02001", "02002", "02003", "02005")  # five categories: no possible duplicates
    numbers = [dispatched_here(field, category=c, urgent=c == "02001") for c in categories]
    # Two cases due in the same instant, across the boundary of the first two pages: the order falls back to the id.
    with rt.sessions.begin() as session:
        due = session.scalar(sa.select(Case.stage_due_at).where(Case.tracking_no == numbers[0]))
        session.execute(sa.update(Case).where(Case.tracking_no.in_(numbers[:3])).values(stage_due_at=due))
        stored = {c.tracking_no: c for c in session.scalars(sa.select(Case))}
    pages = pages_of(field, OFFICER, "/my/tasks", 2)
    assert [len(p["cases"]) for p in pages] == [2, 2, 1] and {p["total"] for p in pages} == {5}
    rows = [row for page in pages for row in page["cases"]]
    assert sorted(r["tracking_no"] for r in rows) == sorted(numbers)
    expected = sorted(stored.values(), key=lambda c: (c.stage_due_at, c.id))
    assert [r["tracking_no"] for r in rows] == [c.tracking_no for c in expected]
    row = next(r for r in rows if r["tracking_no"] == numbers[1])
    assert (row["category"], row["category_name_zh"], row["category_name_en"]) == (
        "02001", "道路及公共区域保洁", "Cleaning of roads and public spaces")
    assert (row["status"], row["status_name_zh"], row["urgent"], row["description"]) == (
        "dispatched", "待签收", True, "村口堆放秸秆")
    assert row["stage_due_at"] and row["handling_due_at"] and row["department"]["code"] == field["department"]
    assert all(r["urgent"] is False for r in rows if r["tracking_no"] != numbers[1])
    # The point in the phone's map datum (GCJ-02 unless it asks), a few hundred metres from the stored one.
    case = stored[numbers[1]]
    assert pages[0]["crs"] == "gcj02" and row["point"]["crs"] == "gcj02"
    assert (row["point"]["lon"], row["point"]["lat"]) == pytest.approx(
        from_cgcs2000(case.lon, case.lat, parse_crs("gcj02")), abs=1e-7)
    plain = get(field, OFFICER, "/my/tasks", query_string={"crs": "cgcs2000", "limit": 200}).get_json()
    as_stored = next(r for r in plain["cases"] if r["tracking_no"] == numbers[1])["point"]
    assert plain["crs"] == as_stored["crs"] == "cgcs2000" and plain["next"] is None
    assert (as_stored["lon"], as_stored["lat"]) == pytest.approx((case.lon, case.lat), abs=1e-7)
    shift = metric.distance_m(shapely.Point(as_stored["lon"], as_stored["lat"]),
                              shapely.Point(row["point"]["lon"], row["point"]["lat"]))
    assert 100 < shift < 1000
    assert get(field, WORKER, "/my/tasks").get_json() == {"total": 0, "limit": 50, "next": None, "crs": "gcj02",
                                                          "cases": []}


def test_verifications_page_on_while_cases_leave_the_list(field):
    numbers = [dispatched_here(field, category=c) for c in ("02004", "02001", "02002", "02003", "02005")]
    for number in numbers:
        for step, body in (("accept", {}), ("feedback", {"note": "已处理"})):
            assert post(field, OFFICER, f"/cases/{number}/steps/{step}", json=body).status_code == 200
    first = get(field, WORKER, "/my/verifications", query_string={"limit": 2}).get_json()
    assert first["total"] == 5 and len(first["cases"]) == 2 and first["next"]
    assert all(r["status"] == "handled" and r["point"]["crs"] == "gcj02" for r in first["cases"])
    # Verified meanwhile, on this page and on the next: the cursor is a place in the list, not a case to find.
    shown = [r["tracking_no"] for r in first["cases"]]
    later = [n for n in numbers if n not in shown]
    for number in (shown[-1], later[0]):
        assert post(field, WORKER, f"/cases/{number}/steps/verify", json={}).status_code == 200
    rest = pages_of(field, WORKER, "/my/verifications", 2, before=first["next"])
    assert shown == numbers[:2] and [r["tracking_no"] for page in rest for r in page["cases"]] == later[1:]
    assert rest[0]["total"] == 3
    assert get(field, STRANGER, "/my/verifications").get_json()["total"] == 0


@pytest.mark.parametrize("query, field_name", [
    ({"before": "20260101-AAAAAAAA"}, "before"), ({"before": "20261399T000000000000Z.1"}, "before"),
    ({"before": "none.99999999999"}, "before"), ({"before": "x" * 41}, "before"), ({"limit": 0}, "limit"),
    ({"limit": 201}, "limit"), ({"crs": "mars"}, "crs"),
])
def test_a_bad_page_of_tasks_is_a_422_naming_the_parameter(field, query, field_name):
    for path in ("/my/tasks", "/my/verifications"):
        refused = get(field, OFFICER, path, query_string=query)
        assert refused.status_code == 422 and list(refused.get_json()["error"]["fields"]) == [field_name], query
