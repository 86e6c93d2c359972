"""The 案卷 endpoints (gridsvc.web.case_file_api) and what the screen reads about evidence, through HTTP on
both backends: the file as a page and as a PDF (read back with pypdf), each as the OpenAPI document says,
for whoever may see the case and nobody else; a missing font is a structured 503; the case sheet's record
names departments, teams and people; its `evidence` and 核查通过 refused (409, in Chinese) without a photo of
the result where the category asks for one; each photo's EXIF-GPS check."""

import io
import re
from dataclasses import replace

from pypdf import PdfReader

from tests.support import assert_documented, fed_back_with_the_reporters_photo, report, step, whole_case

FILE, PDF = "/api/v1/cases/{tracking_no}/file", "/api/v1/cases/{tracking_no}/file.pdf"
SHEET = "/api/v1/screen/cases/{tracking_no}/sheet"


def get(office, path: str, number: str, who="commander"):
    return office["client"].get(path.format(tracking_no=number), headers=office["headers"](who))


def spec_of(office) -> dict:
    return office["client"].get("/api/openapi.json").get_json()


def test_the_file_as_a_page_and_as_a_pdf_for_those_who_may_see_the_case(office, rt):
    whole = whole_case(office, rt)
    number, spec = whole["number"], spec_of(office)
    dispatched_to = f"{whole['team']}（{whole['department']}）"

    page = get(office, FILE, number)
    assert_documented(spec, "get", FILE, page, 200)
    assert page.mimetype == "text/html" and page.headers["Cache-Control"] == "private, no-store"
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none': no script at all
    html = page.get_data(as_text=True)
    assert f"案件编号 {number}" in html and "乱堆乱放（02004）" in html
    assert f"派遣 → {dispatched_to}" in html and f"承办人（{dispatched_to}）" in html
    assert "到场位置距案件位置 60 米" in html and "全流程记录校验通过" in html
    assert html.count('src="data:image/jpeg;base64,') == 2  # the photos travel inside the page

    pdf = get(office, PDF, number)
    assert_documented(spec, "get", PDF, pdf, 200)
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="case-file-{number}.pdf"'
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages))
    assert number in text and "乱堆乱放" in text and f"派遣→{dispatched_to}齐家指挥长（乡镇指挥长）" in text

    for path in (FILE, PDF):  # the case's visibility: another township's commander learns nothing
        assert_documented(spec, "get", path, get(office, path, number, who="other_commander"), 404)
        assert get(office, path, number, who="other_commander").get_json()["error"]["code"] == "case_not_found"
        assert_documented(spec, "get", path, office["client"].get(path.format(tracking_no=number)), 401)
    assert get(office, FILE, number, who="handler").status_code == 200  # the department that had it


def test_a_missing_font_is_a_structured_503_and_the_page_still_prints(office, rt, monkeypatch, tmp_path):
    number = report(office)["tracking_no"]
    monkeypatch.setattr(rt, "settings", replace(rt.settings, case_file_font=str(tmp_path / "no-such-font.ttc")))
    refused = get(office, PDF, number)
    assert_documented(spec_of(office), "get", PDF, refused, 503)
    error = refused.get_json()["error"]
    assert error["code"] == "case_file_font_missing" and "中文字体" in error["message"]
    assert get(office, FILE, number).status_code == 200


def test_the_sheet_names_who_did_what_and_each_photos_gps_check(office, rt):
    whole = whole_case(office, rt)
    sheet = get(office, SHEET, whole["number"])
    assert_documented(spec_of(office), "get", SHEET, sheet, 200)
    body = sheet.get_json()
    assert body["names"]["category"]["feedback_photo_required"] is False
    assert body["evidence"] == {"photo_required": False, "result_photos": [whole["result"]], "photo_missing": False}
    dispatch = next(e for e in body["record"] if e["action"] == "dispatch")
    assert dispatch["to_department"]["name_zh"] == whole["department"]
    assert dispatch["to_team"]["name_zh"] == whole["team"]
    accept = next(e for e in body["record"] if e["action"] == "accept")
    assert (accept["actor"], accept["actor_team"]["code"], accept["actor_department"]["code"]) == (
        "承办人", whole["team_code"], office["local"])
    arrive = next(e for e in body["record"] if e["action"] == "arrive")
    assert round(arrive["distance_m"]) == 60 and arrive["place_zh"] == "到场位置距案件位置 60 米"

    photos = {p["id"]: p for p in get(office, "/api/v1/cases/{tracking_no}/attachments", whole["number"])
              .get_json()["attachments"]}
    on_the_spot, result = photos[whole["on_the_spot"]], photos[whole["result"]]
    assert (on_the_spot["location_mismatch"], on_the_spot["location_check_zh"]) == (
        False, "拍摄位置距案件位置 0 米，与上报位置相符")
    assert (result["location_mismatch"], result["location_check_zh"]) == (
        True, "拍摄位置距案件位置 2.0 公里，与上报位置不符")


def test_verification_without_a_photo_of_the_result_is_refused_in_chinese(office, rt):
    case, _ = fed_back_with_the_reporters_photo(office, rt)
    number = case["tracking_no"]
    sheet = get(office, SHEET, number, who="worker").get_json()
    assert sheet["names"]["category"]["feedback_photo_required"] is True
    assert sheet["evidence"] == {"photo_required": True, "result_photos": [], "photo_missing": True}
    assert "verify" in [s["step"] for s in sheet["steps"]]  # offered: the verifier decides, and is told why not
    refused = office["client"].post(f"/api/v1/cases/{number}/steps/verify", json={},
                                    headers=office["headers"]("worker"))
    assert_documented(spec_of(office), "post", "/api/v1/cases/{tracking_no}/steps/{step}", refused, 409)
    error = refused.get_json()["error"]
    assert error["code"] == "result_photo_missing" and "不能核查通过：请返工" in error["message"]
    assert step(office, "worker", case, "rework", note="请补拍处置后照片")["status"] == "handling"
