"""政务公开 (gridsvc.oversight.public_figures): no sign-in, and never the reporter's name, phone, place or photos."""

import json

import sqlalchemy as sa

from gridsvc.kernel.models import Case
from tests.support import QIJIA, assert_documented, closed_case, rate, report, step

SERVICES = "02001"  # 保洁: a services (服务) category the township acts on
ENFORCEMENT = "02004"  # 乱堆乱放: an enforcement (执法) category
REPORTER_NAME, REPORTER_PHONE = "网格员小王", "13800000003"  # the `office` fixture's `worker`
PUBLIC_CASE = "/api/v1/public/cases/{tracking_no}"
STATS = "/api/v1/public/townships/{township}/stats"


def personal_data(rt, tracking_no: str) -> list[str]:
    """What must never appear in a public answer about the case: who reported it, and exactly where."""
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == tracking_no))
        values = [case.lon, case.lat, case.input_x, case.input_y]
        found = [REPORTER_NAME, REPORTER_PHONE, case.description, case.client_uuid]
    for value in values:  # the coordinates to about 10 m, rounded or cut, however they are written
        found += [f"{value:.4f}", str(value)[:str(value).index(".") + 5]]
    return found


def assert_nothing_personal(response, forbidden: list[str]) -> None:
    text = json.dumps(response.get_json(), ensure_ascii=False)
    leaked = [f for f in forbidden if f and f in text]
    assert leaked == [], text


def public_get(office, url):
    response = office["client"].get(url)  # no Authorization header: anyone
    return response


def test_a_closed_rated_case_shows_its_progress_but_nobody_personal(office, rt, jpeg_bytes):
    spec = office["client"].get("/api/openapi.json").get_json()
    case = report(office, category=SERVICES)
    office["client"].post(f"/api/v1/cases/{case['tracking_no']}/attachments", headers=office["headers"]("worker"),
                          data={"photo": (jpeg_bytes(), "IMG_1.jpg", "image/jpeg")}, content_type="multipart/form-data")
    forbidden = personal_data(rt, case["tracking_no"])
    url = PUBLIC_CASE.format(**case)

    opened = public_get(office, url)
    assert_documented(spec, "get", PUBLIC_CASE, opened, 200)
    assert_nothing_personal(opened, forbidden)
    assert opened.get_json()["status_name_zh"] == "待立案" and opened.get_json()["closed_on"] is None

    step(office, "commander", case, "file", note=f"{REPORTER_NAME}上报，已立案")  # not a public note
    step(office, "commander", case, "dispatch")
    shown = public_get(office, url).get_json()
    assert shown["department"] is not None and shown["domain"] == "services"
    assert shown["category"]["code"] == SERVICES and shown["category"]["name_zh"] and shown["category"]["name_en"]
    assert shown["township"] == {"code": QIJIA, "name": "齐家镇"} and shown["village"]["code"].startswith("220112100")
    assert "notes" in shown and shown["notes"] == []
    assert_nothing_personal(public_get(office, url), forbidden)


def test_the_closing_note_and_the_stars_are_public_the_comment_is_not(office, rt):
    spec = office["client"].get("/api/openapi.json").get_json()
    case = closed_case(office)  # 02004 is enforcement: use the whole path on a services case below as well
    rate(office, "worker", case, 201, stars=5, comment=f"很满意 {REPORTER_NAME} {REPORTER_PHONE}")
    enforcement = public_get(office, PUBLIC_CASE.format(**case))
    assert_documented(spec, "get", PUBLIC_CASE, enforcement, 200)
    body = enforcement.get_json()
    assert body["enforcement"] is True and body["status"] == "closed" and body["closed_on"]
    assert not {"category", "village", "notes", "rating"} & set(body)  # 执法公示: status and department only
    assert_nothing_personal(enforcement, personal_data(rt, case["tracking_no"]) + ["现场恢复整洁", "很满意"])

    services = report(office, category=SERVICES)
    step(office, "commander", services, "reject", note="属物业管理范围，请联系物业")
    rejected = public_get(office, PUBLIC_CASE.format(**services)).get_json()
    assert [(n["step"], n["note"]) for n in rejected["notes"]] == [("reject", "属物业管理范围，请联系物业")]
    assert rejected["status_name_zh"] == "不予立案" and rejected["rating"] is None


def test_a_services_case_rated_shows_stars(office, rt):
    case = report(office, category=SERVICES)
    with rt.sessions.begin() as session:  # close it the short way: the rating rules are test_ratings'
        session.execute(sa.update(Case).where(Case.tracking_no == case["tracking_no"]).values(status="closed"))
    step(office, "commander", case, "file", expect=409)
    rate(office, "worker", case, 201, stars=4, comment=f"{REPORTER_PHONE} 打电话给我")
    shown = public_get(office, PUBLIC_CASE.format(**case))
    assert shown.get_json()["rating"]["stars"] == 4
    assert_nothing_personal(shown, personal_data(rt, case["tracking_no"]) + ["打电话给我"])


def test_unknown_numbers_say_nothing(office):
    spec = office["client"].get("/api/openapi.json").get_json()
    answers = [public_get(office, PUBLIC_CASE.format(tracking_no=n))
               for n in ("20990101-AAAAAAAA", "nonsense", "1' OR '1'='1")]
    for answer in answers:
        assert_documented(spec, "get", PUBLIC_CASE, answer, 404)
    assert len({json.dumps(a.get_json()) for a in answers}) == 1  # the same answer, whatever was asked


def test_township_stats_are_counts_only(office, rt):
    spec = office["client"].get("/api/openapi.json").get_json()
    cases = [closed_case(office), report(office, category=SERVICES)]
    rate(office, "worker", cases[0], 201, stars=5)
    url = STATS.format(township=QIJIA)
    stats = public_get(office, url)
    assert_documented(spec, "get", STATS, stats, 200)
    body = stats.get_json()
    assert (body["received"], body["closed"], body["closed_on_time"], body["on_time_closure_rate"]) == (2, 1, 1, 1.0)
    assert body["satisfaction"] == {"ratings": 1, "mean_stars": 5.0}
    domains = {d["code"]: d["count"] for d in body["by_domain"]}
    assert (domains["enforcement"], domains["services"]) == (1, 1)
    assert sum(s["count"] for s in body["by_status"]) == 2
    for case in cases:
        assert case["tracking_no"] not in stats.get_data(as_text=True)
        assert_nothing_personal(stats, personal_data(rt, case["tracking_no"]))
    assert_documented(spec, "get", STATS, public_get(office, STATS.format(township="220112100201")), 404)  # a village
    assert_documented(spec, "get", STATS, public_get(office, STATS.format(township="999999999999")), 404)
    reversed_period = public_get(office, url + "?from=2026-05-02T00:00:00%2B08:00&to=2026-05-01T00:00:00%2B08:00")
    assert_documented(spec, "get", STATS, reversed_period, 422)
    empty = public_get(office, url + "?from=2020-01-01T00:00:00%2B08:00&to=2020-02-01T00:00:00%2B08:00").get_json()
    assert empty["received"] == 0 and empty["satisfaction"]["mean_stars"] is None
    # Whole China days: a window of a second would tell when a case came in.
    second = public_get(office, url + "?from=2026-05-01T10:00:00%2B08:00&to=2026-05-01T10:00:01%2B08:00").get_json()
    assert (second["from"], second["to"]) == ("2026-04-30T16:00:00+00:00", "2026-05-01T16:00:00+00:00")


def test_the_responsibility_list_is_public_here_too(office):
    spec = office["client"].get("/api/openapi.json").get_json()
    public = public_get(office, "/api/v1/public/responsibility")
    assert_documented(spec, "get", "/api/v1/public/responsibility", public, 200)
    assert public.get_json() == public_get(office, "/api/v1/responsibility").get_json()
