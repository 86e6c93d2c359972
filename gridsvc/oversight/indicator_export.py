"""The indicator table (gridsvc.oversight.indicators) as a file: CSV for programs, Excel (.xlsx) for offices.

Both have one header row naming each column in Chinese and English ("按时立案率 on-time filing
rate"), the rows in rank order, and the total (合计) last. Rates stay fractions (0–1) in the CSV;
Excel shows them as percentages but keeps the fraction as the cell's value, so a sum or a chart
in Excel computes on the real figure. A name starting like a formula (`FORMULA_STARTS`) gets a
leading apostrophe, in both files.
The CSV starts with a UTF-8 byte order mark: without it, Excel on a Chinese Windows reads the file
as GBK and garbles every name.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from gridsvc.oversight.indicators import COLUMNS
from gridsvc.worktime.calendar import CHINA

LEVEL_NAMES_ZH = {"township": "乡镇", "village": "村（社区）", "grid": "网格", "department": "部门",
                  "grid_worker": "网格员"}
_NUMBER_FORMATS = {"rate": "0.00%", "hours": "0.00", "stars": "0.00", "km": "0.00", "score": "0.00"}
CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def header() -> list[str]:
    return [f"{c.name_zh} {c.name_en}" for c in COLUMNS]


def _lines(table: dict) -> list[list]:
    return [[_inert(row[c.key]) for c in COLUMNS] for row in (*table["rows"], table["total"])]


# What a spreadsheet may read as the start of a formula (OWASP's CSV-injection list): a TAB or CR
# first hides an `=` behind it from a check of the first character alone.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value):
    """A name that a spreadsheet would take for a formula is written as text: a unit's name is typed
    by people, and a file opened by a county office must not compute what a name says."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(table: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header())
    writer.writerows(_lines(table))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(table: dict) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"{LEVEL_NAMES_ZH[table['level']]}指标"
    sheet.append(header())
    for line in _lines(table):
        sheet.append(line)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(i)
        sheet.column_dimensions[letter].width = 14 if column.key != "name" else 24
        number_format = _NUMBER_FORMATS.get(column.kind)
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = number_format
    sheet.freeze_panes = "C2"
    about = book.create_sheet("说明")
    for line in (("统计期起 from", table["from"]), ("统计期止 to", table["to"]),
                 ("层级 level", f"{LEVEL_NAMES_ZH[table['level']]} {table['level']}"),
                 ("区域 area", table["area"] or "本人辖区 the caller's area"),
                 ("工作日 working days", table["working_days"]),
                 ("口径 definitions", "docs/indicators.md")):
        about.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(table: dict, extension: str) -> str:
    """indicators-township-20260501-20260601.xlsx: the level and the China dates of the period."""
    start, end = (datetime.fromisoformat(table[k]).astimezone(CHINA).strftime("%Y%m%d") for k in ("from", "to"))
    return f"indicators-{table['level']}-{start}-{end}.{extension}"
