"""The case file (案卷, gridsvc.cases.case_file) laid out as a PDF, with its Chinese font embedded.

A PDF's standard fonts have no Chinese glyphs, and a PDF that names a font without embedding it shows
boxes on a machine without that font (most of a county office's). So the file embeds a TrueType font
(the `case_file_font` setting: Debian's WenQuanYi Micro Hei, which scripts/ensure-fonts.sh installs),
subset to the glyphs used, with the mapping back to Unicode that lets the text be searched and copied.
reportlab reads TrueType outlines only: an OpenType/CFF font such as Noto Sans CJK is refused. A missing
or unreadable font is `unavailable` (503 `case_file_font_missing`): the operator has to install it, and
the HTML form of the file still works meanwhile.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from gridsvc.cases.case_file import CaseFile, FilePhoto
from gridsvc.kernel.errors import UNAVAILABLE, DomainError

log = logging.getLogger(__name__)
PHOTO_SIDE = 55 * mm  # a photo's longest side on the page
GRID, HEAD, ALERT = colors.HexColor("#999999"), colors.HexColor("#eeeeee"), colors.HexColor("#b91c1c")


class FontUnavailable(DomainError):
    """The CJK font the PDF needs is not there (or is not a TrueType font)."""

    kind = UNAVAILABLE
    code = "case_file_font_missing"

    def __init__(self):
        super().__init__("生成 PDF 案卷所需的中文字体不可用，请管理员安装（scripts/ensure-fonts.sh，设置 "
                         "GRIDSVC_CASE_FILE_FONT）；网页版案卷仍可打印 / the CJK font for PDF case files is missing: "
                         "install it (scripts/ensure-fonts.sh, setting GRIDSVC_CASE_FILE_FONT); the HTML case file "
                         "still prints")


@cache
def _font(path: str) -> str:
    """Register the font once per process; its reportlab name."""
    name = f"case-file-{len(pdfmetrics.getRegisteredFontNames())}"
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    except (OSError, TTFError) as exc:
        log.error("case file font %s unusable: %s", path, exc)
        raise FontUnavailable() from None
    return name


def case_file_pdf(file: CaseFile, font_path: str, photo: Callable[[str], bytes | None]) -> bytes:
    """The file as PDF bytes (A4). `photo(sha256)` gives a photo's picture to print (a JPEG), or None
    when its file is gone; the photo's caption and check are printed either way."""
    page = _Layout(_font(font_path))
    text, table = page.text, page.table
    body = [text(f"镇村一张网 · {file.title_zh}", "title"), text(f"案件编号 {file.tracking_no}　{file.made_zh}", "small"),
            text("案件信息", "heading"), table(file.facts, [30 * mm, 150 * mm]),
            text("时限", "heading"), table(file.deadlines, [30 * mm, 150 * mm]),
            text("办理记录", "heading"),
            table([("序号", "时间", "环节", "办理人", "说明", "封印")]
                  + [(str(e.seq), e.at, e.action_zh + (f" → {e.to_zh}" if e.to_zh else ""), e.actor_zh, e.details_zh,
                      e.seal) for e in file.record],
                  [12 * mm, 24 * mm, 38 * mm, 40 * mm, 40 * mm, 26 * mm], head=True),
            text("现场照片", "heading")]
    body += [page.photo(p, photo(p.sha256)) for p in file.photos] or [text("无照片")]
    body += [text("记录校验", "heading"), text(file.seal.statement_zh, "text" if file.seal.intact else "alert")]
    body += [text(problem, "alert") for problem in file.seal.problems_zh]
    body += [Spacer(1, 4 * mm), text(file.seal.limits_zh, "small")]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                      bottomMargin=15 * mm, title=f"案卷 {file.tracking_no}", author="镇村一张网",
                      initialFontName=page.font).build(body)  # else every page names Helvetica
    return out.getvalue()


class _Layout:
    """Paragraphs, tables and photos in the file's font."""

    def __init__(self, font: str):
        self.font = font
        # A table sets its own font (Helvetica) for every cell, flowables or not: the file's, so that no font
        # without Chinese glyphs, and none unembedded, is named in the file.
        self.cells = [("FONT", (0, 0), (-1, -1), font), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        base = {"fontName": font, "wordWrap": "CJK"}
        self.styles = {
            "title": ParagraphStyle("title", **base, fontSize=16, leading=22, spaceAfter=4),
            "heading": ParagraphStyle("heading", **base, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4),
            "text": ParagraphStyle("text", **base, fontSize=9, leading=12.5),
            "alert": ParagraphStyle("alert", **base, fontSize=9, leading=12.5, textColor=ALERT),
            "small": ParagraphStyle("small", **base, fontSize=8, leading=10.5, textColor=colors.HexColor("#444444")),
        }

    def text(self, value: str, style: str = "text") -> Paragraph:
        return Paragraph(escape(value), self.styles[style])

    def table(self, rows, widths: list[float], head: bool = False) -> Table:
        """Rows of text; shaded: the first column (label, value), or with `head` the first row, repeated on
        every page."""
        shown = Table([[self.text(cell) for cell in row] for row in rows], colWidths=widths,
                      repeatRows=1 if head else 0)
        shaded = ((0, 0), (-1, 0)) if head else ((0, 0), (0, -1))
        shown.setStyle(TableStyle([*self.cells, ("GRID", (0, 0), (-1, -1), 0.4, GRID), ("BACKGROUND", *shaded, HEAD)]))
        return shown

    def photo(self, photo: FilePhoto, picture: bytes | None) -> Table:
        """A photo beside its caption and check; a missing picture says so instead."""
        if picture is None:
            shown = self.text("（照片文件缺失）")
        else:
            width, height = ImageReader(io.BytesIO(picture)).getSize()
            scale = min(PHOTO_SIDE / width, PHOTO_SIDE / height)
            shown = Image(io.BytesIO(picture), width * scale, height * scale)
        words = [self.text(photo.caption_zh), self.text(photo.check_zh, "alert" if photo.mismatch else "text")]
        row = Table([[shown, words]], colWidths=[PHOTO_SIDE + 4 * mm, 121 * mm])
        row.setStyle(TableStyle([*self.cells, ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
        return row
