"""The 位置待确认 queue (the screen's `location_flags`): the cases with any flag that asks where the case is, found
with `flag=` naming several flags; 立案 with the grid confirmed answers them all, on both backends."""

import uuid

from gridsvc.cases.flags import LOCATION_FLAGS
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from tests.support import LOCAL_CATEGORY, report, step


def placed_by_hand(office) -> dict:
    """A report whose spot was placed on a map (no GPS fix): flagged `location_picked_by_hand`."""
    x, y = from_cgcs2000(office["point"].x, office["point"].y, parse_crs("gcj02"))
    body = {"client_uuid": str(uuid.uuid4()), "category": LOCAL_CATEGORY, "description": "村道旁堆放建筑垃圾",
            "lon": x, "lat": y, "crs": "gcj02", "location_source": "map"}
    answer = office["client"].post("/api/v1/reports", json=body, headers=office["headers"]("worker"))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def queue(office) -> set[str]:
    query = {"flag": ",".join(LOCATION_FLAGS), "status": "reported,filed"}
    answer = office["client"].get("/api/v1/cases", query_string=query, headers=office["headers"]("commander"))
    assert answer.status_code == 200, answer.get_json()
    return {c["tracking_no"] for c in answer.get_json()["cases"]}


def test_the_location_queue_holds_every_location_flag_until_the_grid_is_confirmed(office):
    config = office["client"].get("/api/v1/screen/config", headers=office["headers"]("commander")).get_json()
    assert config["location_flags"] == list(LOCATION_FLAGS)
    by_hand = placed_by_hand(office)
    assert by_hand["flags"] == ["location_picked_by_hand"]
    plain = report(office, category="02001")  # another matter, by GPS: no location flag
    assert not set(plain["flags"]) & set(LOCATION_FLAGS)
    assert queue(office) == {by_hand["tracking_no"]}
    filed = step(office, "commander", by_hand, "file", grid=by_hand["grid"])
    assert filed["flags"] == [] and queue(office) == set()
    refused = office["client"].get("/api/v1/cases", query_string={"flag": "location_unconfirmed;x"},
                                   headers=office["headers"]("commander"))
    assert refused.status_code == 422 and "flag" in refused.get_json()["error"]["fields"]
