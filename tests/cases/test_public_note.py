"""Correcting a published note (更正公示说明, gridsvc.cases.public_notes, docs/public.md): the township commander of
the case (or an administrator) replaces what the public page shows for a 不予立案 or 结案 entry; the sealed record
keeps the old text and the new in an entry of its own, and the chain still verifies. Everyone else is refused."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gridsvc.accounts.users import create_user
from gridsvc.cases import record as case_record
from gridsvc.kernel.models import Event
from tests.support import PASSWORD, assert_documented, report, step

SERVICES = "02001"  # 保洁: a services (服务) category, its notes published
ENFORCEMENT = "02004"  # 乱堆乱放: an enforcement (执法) category, its notes not published
PUBLIC_CASE = "/api/v1/public/cases/{tracking_no}"
CORRECT = "/api/v1/cases/{tracking_no}/public-note"
ADMIN_PHONE = "13800000099"


def correct(office, who, case, expect=200, headers=None, **body):
    response = office["client"].post(CORRECT.format(**case), json=body, headers=headers or office["headers"](who))
    assert response.status_code == expect, response.get_json()
    return response


def public_notes(office, case) -> list[tuple[str, str, str | None]]:
    """(step, note, corrected_on) of each note the public page shows, asked without signing in."""
    shown = office["client"].get(PUBLIC_CASE.format(**case)).get_json()
    return [(n["step"], n["note"], n["corrected_on"]) for n in shown["notes"]]


def record(office, case) -> list[dict]:
    answer = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/record", headers=office["headers"]("commander"))
    return answer.get_json()["record"]


def sheet_notes(office, case, who="commander") -> dict:
    answer = office["client"].get(f"/api/v1/screen/cases/{case['tracking_no']}/sheet", headers=office["headers"](who))
    return answer.get_json()["public_notes"]


def china_today() -> str:
    return datetime.now(timezone.utc).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_a_commander_corrects_a_rejection_reason_the_record_keeps_both_and_the_public_reads_the_new(office, rt):
    spec = office["client"].get("/api/openapi.json").get_json()
    case = report(office, category=SERVICES)
    wrong = "属物业管理范围，请联系物业王经理 13912345678"
    step(office, "commander", case, "reject", note=wrong)
    assert public_notes(office, case) == [("reject", wrong, None)]
    notes = sheet_notes(office, case)
    assert notes["published"] is True and notes["may_correct"] is True
    rejected = next(e for e in record(office, case) if e["action"] == "reject")
    assert [(n["seq"], n["note"]) for n in notes["notes"]] == [(rejected["seq"], wrong)]

    right = "属物业管理范围，请联系小区物业"
    answer = correct(office, "commander", case, seq=rejected["seq"], note=f"  {right}  ")
    assert_documented(spec, "post", "/api/v1/cases/{tracking_no}/public-note", answer, 200)
    assert answer.get_json()["note"] == {"seq": rejected["seq"], "step": "reject", "step_name_zh": "不予立案",
                                         "on": notes["notes"][0]["on"], "note": right, "corrected_on": china_today()}

    shown = office["client"].get(PUBLIC_CASE.format(**case))
    assert_documented(spec, "get", "/api/v1/public/cases/{tracking_no}", shown, 200)
    assert public_notes(office, case) == [("reject", right, china_today())]
    assert "13912345678" not in shown.get_data(as_text=True)

    entries = record(office, case)
    assert next(e for e in entries if e["seq"] == rejected["seq"])["note"] == wrong  # sealed: never rewritten
    last = entries[-1]
    assert last["action"] == "correct_public_note" and last["action_name_zh"] == "更正公示说明"
    assert last["note"] == right and last["data"]["corrects"] == rejected["seq"]
    assert last["data"]["step"] == "reject" and last["data"]["old"] == wrong
    assert last["from_status"] == last["to_status"] == "rejected"
    assert answer.get_json()["record_seq"] == last["seq"]
    with rt.sessions() as session:
        assert case_record.verify(session) == []
        event = session.scalar(sa.select(Event).order_by(Event.seq.desc()).limit(1))
    assert event.kind == "case.updated" and event.data["action"] == "correct_public_note"
    assert event.data["case"]["tracking_no"] == case["tracking_no"] and event.data["note"] == right

    # Corrected again: the old text of the second correction is the first correction's.
    correct(office, "commander", case, seq=rejected["seq"], note="属小区物业管理范围")
    assert public_notes(office, case) == [("reject", "属小区物业管理范围", china_today())]
    assert record(office, case)[-1]["data"]["old"] == right
    sheet = office["client"].get(f"/api/v1/screen/cases/{case['tracking_no']}/sheet",
                                 headers=office["headers"]("commander"))
    assert_documented(spec, "get", "/api/v1/screen/cases/{tracking_no}/sheet", sheet, 200)
    assert [e["action_zh"] for e in sheet.get_json()["record"]][-2:] == ["更正公示说明", "更正公示说明"]
    with rt.sessions() as session:
        assert case_record.verify(session) == []


def test_a_closing_note_is_marked_public_in_the_steps_and_one_left_out_can_be_added(office, rt):
    case = report(office, category=SERVICES)
    steps = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/steps",
                                 headers=office["headers"]("commander")).get_json()["steps"]
    assert {s["step"]: s["public_note"] for s in steps} == {"file": False, "reject": True, "merge": False,
                                                            "escalate": False}
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch", department=office["local"])
    step(office, "handler", case, "accept")
    step(office, "handler", case, "feedback", note="已清扫")
    step(office, "worker", case, "verify")
    closing = office["client"].get(f"/api/v1/cases/{case['tracking_no']}/steps",
                                   headers=office["headers"]("commander")).get_json()["steps"]
    assert [(s["step"], s["public_note"]) for s in closing] == [("close", True)]
    step(office, "commander", case, "close")  # without a note: nothing to publish yet
    assert public_notes(office, case) == []
    closed = next(e for e in record(office, case) if e["action"] == "close")
    assert sheet_notes(office, case)["notes"][0]["note"] is None

    correct(office, "commander", case, seq=closed["seq"], note="已清扫完毕，路面恢复整洁")
    assert public_notes(office, case) == [("close", "已清扫完毕，路面恢复整洁", china_today())]
    assert record(office, case)[-1]["data"]["old"] is None

    piled = report(office, category=ENFORCEMENT)  # 执法: no note of it is published, nor marked so
    marked = office["client"].get(f"/api/v1/cases/{piled['tracking_no']}/steps",
                                  headers=office["headers"]("commander")).get_json()["steps"]
    assert not any(s["public_note"] for s in marked)


def test_only_the_cases_commander_or_an_administrator_corrects_and_only_a_published_note(office, rt):
    spec = office["client"].get("/api/openapi.json").get_json()
    path = "/api/v1/cases/{tracking_no}/public-note"
    case = report(office, category=SERVICES)
    step(office, "commander", case, "file", note="立案")  # not a published note
    other = report(office, category=SERVICES)
    step(office, "commander", other, "reject", note="不属本镇管辖")
    rejected = record(office, other)[-1]["seq"]
    before = record(office, other)

    for who in ("worker", "supervisor"):  # the reporter, the county's supervisor: they see it, may not correct
        refused = correct(office, who, other, 403, seq=rejected, note="改")
        assert_documented(spec, "post", path, refused, 403)
        assert refused.get_json()["error"]["code"] == "not_permitted"
        assert sheet_notes(office, other, who)["may_correct"] is False
    hidden = correct(office, "other_commander", other, 404, seq=rejected, note="改")  # 鹿乡镇: not theirs to see
    assert_documented(spec, "post", path, hidden, 404)
    assert hidden.get_json()["error"]["code"] == "case_not_found"

    filed = next(e for e in record(office, case) if e["action"] == "file")
    for target, body, field in ((case, {"seq": filed["seq"], "note": "改"}, "seq"),  # 立案's note is not published
                                (other, {"seq": 9999, "note": "改"}, "seq"),
                                (other, {"seq": rejected, "note": "   "}, "note"),
                                (other, {"seq": rejected, "note": "不属本镇管辖"}, "note"),  # the same text again
                                (other, {"note": "改"}, "seq"),
                                (other, {"seq": rejected}, "note")):
        invalid = correct(office, "commander", target, 422, **body)
        assert_documented(spec, "post", path, invalid, 422)
        assert field in invalid.get_json()["error"]["fields"], invalid.get_json()

    enforcement = report(office, category=ENFORCEMENT)
    step(office, "commander", enforcement, "reject", note="已自行清理")
    not_public = correct(office, "commander", enforcement, 409, seq=record(office, enforcement)[-1]["seq"],
                         note="改")
    assert_documented(spec, "post", path, not_public, 409)
    assert not_public.get_json()["error"]["code"] == "note_not_public"
    assert record(office, other) == before  # nothing of the refusals was written

    with rt.sessions.begin() as session:
        create_user(session, ADMIN_PHONE, "管理员", "administrator", PASSWORD)
    signed_in = office["client"].post("/api/v1/auth/login", json={"phone": ADMIN_PHONE, "password": PASSWORD})
    admin = {"Authorization": f"Bearer {signed_in.get_json()['access_token']}"}
    correct(office, None, other, headers=admin, seq=rejected, note="不属本镇管辖，已告知上报人")
    assert public_notes(office, other) == [("reject", "不属本镇管辖，已告知上报人", china_today())]
    with rt.sessions() as session:
        assert case_record.verify(session) == []
