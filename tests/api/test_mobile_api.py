"""The mobile API as a phone uses it: sign in, start-up data, reports, the offline queue, dispatches."""

import io
import uuid

import shapely
import sqlalchemy as sa
from PIL import Image
from shapely.geometry import shape

from gridsvc.catalogue.store import current_categories, load_catalogue, read_json
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.kernel.models import Case
from fixtures.sample import CATALOGUE_FILE
from tests.support import COMMANDER, JSON_TYPE_ERRORS, OFFICER, QIJIA, STRANGER, WORKER, report_body


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

MISSING = ["Missing data for required field."]


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
        {"lon": ["Not a valid number."]}, {"urgent": ["Not a valid boolean."]}, {"accuracy": ["Not a valid number."]}]
    assert results[2]["client_uuid"] == queue[2]["client_uuid"]


def test_numbers_and_booleans_in_json_bodies_are_json_numbers_and_booleans(field):
    for change, reason in JSON_TYPE_ERRORS:
        refused = post(field, WORKER, "/reports", json=report_body(field, **change))
        assert refused.status_code == 422, change
        assert refused.get_json()["error"]["fields"] == {name: [reason] for name in change}
    number = post(field, WORKER, "/reports", json=report_body(field, urgent=True)).get_json()["tracking_no"]
    for step, body, fields in (
        ("file", {"expected_seq": "1"}, {"expected_seq": ["Not a valid integer."]}),
        ("file", {"attachments": [1, "2", True]}, {"attachments[1]": ["Not a valid integer."],
                                                   "attachments[2]": ["Not a valid integer."]}),
        ("arrive", {"lon": "125.5", "lat": 43.5, "crs": "gcj02"}, {"lon": ["Not a valid number."]}),
    ):
        refused = field["phone"].post(f"/mobile/v1/cases/{number}/steps/{step}", json=body,
                                      headers=field["headers"](COMMANDER))
        assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == fields, body
    rating = post(field, WORKER, f"/cases/{number}/rating", json={"stars": "5"})
    assert rating.status_code == 422 and rating.get_json()["error"]["fields"] == {"stars": ["Not a valid integer."]}
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
                          ({"before": "the last one"}, "a tracking number")):
        refused = get(field, WORKER, "/my/reports", query_string=query)
        assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == {"before": [reason]}
    for limit in (0, 201, "many"):
        refused = get(field, WORKER, "/my/reports", query_string={"limit": limit})
        assert refused.status_code == 422 and list(refused.get_json()["error"]["fields"]) == ["limit"]
