"""The case file (案卷, gridsvc.cases.case_file and case_file_pdf) and the evidence 核查 needs
(gridsvc.cases.evidence), called without HTTP on both backends: the record named with departments, teams
and people; the PDF read back with pypdf (its text in Chinese, its font embedded); a changed record
reported as such; a missing font refused as `unavailable`; 核查通过 refused without a photo of the
result where the category asks for one. (tests/api/test_case_file_api.py checks the endpoints.)"""

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from gridsvc.cases.attachments import THUMBNAIL, MediaStore
from gridsvc.cases.case_file import case_file
from gridsvc.cases.case_file_pdf import FontUnavailable, case_file_pdf
from gridsvc.cases.evidence import ResultPhotos, result_photos
from gridsvc.cases.sheet import record_with_names
from gridsvc.cases.workflow import Context, StepInput, WorkflowError, act
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.errors import CONFLICT, UNAVAILABLE
from gridsvc.kernel.models import Case, CaseEvent, User
from tests.support import (OFFICE_PHONES, fed_back_with_the_reporters_photo, moved, phone_jpeg, report, step,
                           upload_photo, whole_case)

COMMANDER = "齐家指挥长（乡镇指挥长）"
WORKER = "网格员小王（网格员）"


def case_of(session, number: str) -> Case:
    return session.scalar(sa.select(Case).where(Case.tracking_no == number))


def person(session, who: str) -> User:
    return session.scalar(sa.select(User).where(User.phone == OFFICE_PHONES[who]))


def file_of(rt, number: str):
    with rt.sessions() as session:
        return case_file(session, rt.calendar.get(), rt.settings, person(session, "commander"),
                         case_of(session, number), utcnow())


def squeezed(text: str) -> str:
    """Text without white space: pypdf breaks a table cell's text where the PDF wraps it."""
    return re.sub(r"\s+", "", text)


def test_the_record_names_departments_teams_people_and_how_far_an_arrival_was(office, rt):
    whole = whole_case(office, rt)
    with rt.sessions.begin() as session:  # the handler moves on: the record says which team they acted for then
        person(session, "handler").team_code = None
    with rt.sessions() as session:
        entries = record_with_names(session, case_of(session, whole["number"]))
    record = {e["action"]: e for e in entries}
    dispatch, accept, arrive = record["dispatch"], record["accept"], record["arrive"]
    assert dispatch["to_department"] == {"code": office["local"], "name_zh": whole["department"]}
    assert dispatch["to_team"] == {"code": whole["team_code"], "name_zh": whole["team"]}
    assert dispatch["to_zh"] == f"{whole['team']}（{whole['department']}）"
    assert (dispatch["actor"], dispatch["actor_role"]) == ("齐家指挥长", "township_commander")
    assert dispatch["actor_zh"] == COMMANDER
    assert dispatch["actor_department"] is None and dispatch["actor_team"] is None
    assert accept["actor_department"] == {"code": office["local"], "name_zh": whole["department"]}
    assert accept["actor_team"] == {"code": whole["team_code"], "name_zh": whole["team"]}
    assert accept["actor_zh"] == f"承办人（{whole['team']}（{whole['department']}））"
    assert accept["to_department"] is None  # 签收 sends the case nowhere
    assert arrive["distance_m"] == pytest.approx(60, abs=1) and arrive["far_from_case"] is False
    assert arrive["place_zh"] == "到场位置距案件位置 60 米"
    assert record["feedback"]["attachments"] == [whole["result"]]
    photos = [e for e in entries if e["action"] == "attach"]
    assert [(e["attachments"], e["far_from_case"]) for e in photos] == [
        ([whole["on_the_spot"]], False), ([whole["result"]], True)]
    assert photos[1]["place_zh"] == "拍摄位置距案件位置 2.0 公里，与上报位置不符"


def test_the_pdf_holds_the_case_and_every_step_with_department_team_and_person(office, rt, tmp_path):
    whole = whole_case(office, rt)
    file = file_of(rt, whole["number"])
    handler = f"承办人（{whole['team']}（{whole['department']}））"
    assert [(e.action_zh, e.to_zh, e.actor_zh) for e in file.record] == [
        ("上报", None, WORKER), ("上传照片", None, WORKER), ("立案", None, COMMANDER),
        ("派遣", f"{whole['team']}（{whole['department']}）", COMMANDER), ("签收", None, handler),
        ("到达现场", None, handler), ("上传照片", None, handler), ("处置反馈", None, handler),
        ("核查通过", None, WORKER), ("结案", None, COMMANDER)]
    assert file.seal.intact and file.seal.problems_zh == ()

    store = MediaStore(tmp_path / "media")  # the app's media folder: the instance folder's
    pdf = case_file_pdf(file, rt.settings.case_file_font, lambda sha256: store.path(THUMBNAIL, sha256).read_bytes())
    reader = PdfReader(io.BytesIO(pdf))
    text = squeezed("".join(page.extract_text() for page in reader.pages))
    assert whole["number"] in text and "乱堆乱放（02004）" in text and "村道旁堆放建筑垃圾" in text
    for entry in file.record:  # each row: what, where to, who with department and team, in that order
        assert squeezed(f"{entry.action_zh}{' → ' + entry.to_zh if entry.to_zh else ''}{entry.actor_zh}") in text
    assert squeezed(f"派遣→{whole['team']}（{whole['department']}）{COMMANDER}") in text
    assert "到场位置距案件位置60米" in text and "已清理完毕" in text
    assert "拍摄位置距案件位置2.0公里，与上报位置不符" in text and "拍摄位置距案件位置0米，与上报位置相符" in text
    assert "全流程记录校验通过：共10条记录" in text
    for page in reader.pages:  # every font the text uses travels inside the file
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            assert "/FontFile2" in font["/FontDescriptor"], font["/BaseFont"]  # TrueType, subset and embedded
    images = sum(len(page.images) for page in reader.pages)
    assert images == 2  # both photos printed


def test_a_changed_record_shows_in_the_file(office, rt):
    case = report(office)
    step(office, "commander", case, "file")
    assert file_of(rt, case["tracking_no"]).seal.intact
    with rt.sessions.begin() as session:
        session.execute(sa.update(CaseEvent).where(CaseEvent.case_id == case_of(session, case["tracking_no"]).id,
                                                   CaseEvent.seq == 2).values(note="事后改写的说明"))
    seal = file_of(rt, case["tracking_no"]).seal
    assert not seal.intact and "记录校验未通过" in seal.statement_zh
    assert seal.problems_zh == ("第 2 条：content does not match its seal",)


def test_a_missing_or_unreadable_font_is_unavailable(office, rt, tmp_path):
    file = file_of(rt, report(office)["tracking_no"])
    not_a_font = tmp_path / "not-a-font.ttf"
    not_a_font.write_bytes(b"\x00\x01\x00\x00 but nothing of a font")
    for path in (tmp_path / "missing.ttc", not_a_font):
        with pytest.raises(FontUnavailable) as refusal:
            case_file_pdf(file, str(path), lambda sha256: None)
        assert (refusal.value.kind, refusal.value.code) == (UNAVAILABLE, "case_file_font_missing")
        assert "中文字体" in refusal.value.message_zh


def test_verification_needs_a_photo_of_the_result_where_the_category_asks_for_one(office, rt):
    # The feedback may name any photo of the case: the reporter's shows the problem, not that it was solved.
    case, reporters = fed_back_with_the_reporters_photo(office, rt)
    number, point = case["tracking_no"], office["point"]
    with rt.sessions() as session:
        assert result_photos(session, case_of(session, number)) == ResultPhotos(True, ())
        context = Context(rt.index.get(), rt.calendar.get(), rt.settings, utcnow())
        with pytest.raises(WorkflowError) as refusal:
            act(session, context, person(session, "worker"), case_of(session, number), "verify", StepInput())
    assert (refusal.value.kind, refusal.value.code) == (CONFLICT, "result_photo_missing")
    assert "不能核查通过" in refusal.value.message_zh and "rework" in refusal.value.message_en

    step(office, "worker", case, "rework", note="请补拍处置后的现场照片")
    after = upload_photo(office, "handler", number, phone_jpeg(moved(point, 5).x, point.y))
    step(office, "handler", case, "feedback", note="已清理，附照片", attachments=[reporters, after])
    with rt.sessions() as session:
        assert result_photos(session, case_of(session, number)) == ResultPhotos(True, (after,))
    assert step(office, "worker", case, "verify")["status"] == "verified"
    with rt.sessions() as session:
        entry = session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_of(session, number).id)
                                .order_by(CaseEvent.seq.desc())).first()
    assert (entry.action, entry.data["result_photos"]) == ("verify", [after])
