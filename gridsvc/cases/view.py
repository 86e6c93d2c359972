"""The one view of a case: what each audience sees of it, every field named and formatted in one place.

    full(case)                      the case API (/api/v1/cases/…, the phones' /mobile/v1/cases/…, the
                                    screen's case sheet, a rating's answer): every field, codes not names
    identity(case)                  what names a case and where it stands: the head of `full` and of
                                    `phone_summary`
    phone_summary(session, case, index)   what a phone shows at once (/mobile/v1/reports, its lists)
    phone_work_rows(session, cases, index, crs)   a phone's task and verification lists: each case's
                                    `phone_summary`, its category's names, description, urgency and
                                    point in the phone's map datum, in one call
    event_payload(case)             the case inside every case event (a map marker, a queue row)
    departure(case)                 the case inside `case.left`: its number, nothing of where it went
    screen_row(row, lon, lat)       the command screen's compact row, SCREEN_ROW_FIELDS, made from the
                                    columns `screen_row_columns` names (ten thousand at a time)
    card_row(case)                  a case in a grid's card on the screen
    overdue_row(case)               a case in the screen's list of the most overdue cases

`FIELDS` is the core: each field's one name and how its value is read from a case and formatted
(moments ISO 8601 in UTC or None, the stored point in CGCS2000, flags a fresh list). An audience is a
choice of fields, shown under those names, except where its JSON was published with others before
(an event's `category_code`, `grid_code`, `status_zh`…: the screens and phones read them). The
getters read attributes only, so a query row whose columns have Case's names serves as well as a Case.
Open311 keeps the standard's own shape (gridsvc.standards.open311); the public page its own rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.geo.crs import InputCRS, from_cgcs2000
from gridsvc.geo.locate import GridIndex
from gridsvc.kernel.clock import as_utc, iso_or_none
from gridsvc.cases.flags import needs_action
from gridsvc.kernel.models import STATUS_NAMES_ZH, Case, Category, Department

STORAGE_CRS = "EPSG:4490"  # CGCS2000: the stored point's datum

# field -> its value, from a Case (or a row with Case's attribute names)
FIELDS: dict[str, Callable[[Any], object]] = {
    "id": lambda c: c.id,
    "tracking_no": lambda c: c.tracking_no,
    "client_uuid": lambda c: c.client_uuid,
    "status": lambda c: c.status,
    "status_name_zh": lambda c: STATUS_NAMES_ZH[c.status],
    "category": lambda c: c.category_code,
    "category_version": lambda c: c.category_version,
    "description": lambda c: c.description,
    "urgent": lambda c: bool(c.urgent),
    "input": lambda c: {"lon": c.input_x, "lat": c.input_y, "crs": c.input_crs},  # as the phone sent it
    "point": lambda c: {"lon": c.lon, "lat": c.lat, "crs": STORAGE_CRS},
    "lon": lambda c: c.lon,
    "lat": lambda c: c.lat,
    "accuracy_m": lambda c: c.accuracy_m,
    "reported_at": lambda c: iso_or_none(c.reported_at),  # the phone's clock
    "received_at": lambda c: iso_or_none(c.received_at),  # the server's
    "grid": lambda c: c.grid_code,
    "village": lambda c: c.village_code,
    "township": lambda c: c.township_code,
    "county": lambda c: c.county_code,
    "locate_match": lambda c: c.locate_match,
    "department": lambda c: c.department_code,
    "team": lambda c: c.team_code,
    "reserved_to_county": lambda c: c.reserved_to_county,
    "flags": lambda c: list(c.flags or []),
    "handling_due_at": lambda c: iso_or_none(c.handling_due_at),
    "escalated": lambda c: c.escalated,
    "stage_due_at": lambda c: iso_or_none(c.stage_due_at),
    "stage_warn_at": lambda c: iso_or_none(c.stage_warn_at),
    "overdue_level": lambda c: c.overdue_level,
    "extension_requested_until": lambda c: iso_or_none(c.extension_until),
    "rework_count": lambda c: c.rework_count,
    "supervision_count": lambda c: c.supervision_count,
    "merged_into": lambda c: c.merged_into.tracking_no if c.merged_into_id else None,  # loads the survivor
    "merged_into_id": lambda c: c.merged_into_id,
    "closed_at": lambda c: iso_or_none(c.closed_at),
    "record_seq": lambda c: c.record_seq,  # grows with every change: the newest view of a case wins
}


def _same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


def pick(case, shown: Mapping[str, str]) -> dict:
    """{name shown: FIELDS[field](case)} for each `shown` name and the field it shows."""
    return {name: FIELDS[field](case) for name, field in shown.items()}


IDENTITY = _same("tracking_no", "client_uuid", "status", "status_name_zh", "category")
FULL = {**IDENTITY, **_same(
    "category_version", "description", "urgent", "input", "point", "accuracy_m", "reported_at", "received_at",
    "grid", "village", "township", "county", "locate_match", "department", "reserved_to_county", "flags",
    "handling_due_at", "team", "escalated", "stage_due_at", "stage_warn_at", "overdue_level",
    "extension_requested_until", "rework_count", "supervision_count", "merged_into", "closed_at", "record_seq",
)}
# An event's names were published with the live channel (docs/events.md): codes say `_code`.
EVENT = {
    "id": "id", "tracking_no": "tracking_no", "status": "status", "status_zh": "status_name_zh",
    "category_code": "category", "urgent": "urgent", "lon": "lon", "lat": "lat", "grid_code": "grid",
    "village_code": "village", "township_code": "township", "county_code": "county",
    "department_code": "department", "team_code": "team", "flags": "flags", "escalated": "escalated",
    "overdue_level": "overdue_level", "received_at": "received_at", "stage_due_at": "stage_due_at",
    "handling_due_at": "handling_due_at", "merged_into_id": "merged_into_id",
}
DEPARTURE = _same("id", "tracking_no")
PHONE_TAIL = _same("flags", "received_at", "reported_at", "stage_due_at", "handling_due_at")
PHONE_WORK = _same("description", "urgent")
CARD = _same("tracking_no", "category", "status", "overdue_level", "received_at")
OVERDUE = _same("tracking_no", "category", "status", "status_name_zh", "grid", "village", "department",
                "stage_due_at", "overdue_level")


def identity(case: Case) -> dict:
    return pick(case, IDENTITY)


def full(case: Case) -> dict:
    return pick(case, FULL)


def event_payload(case: Case) -> dict:
    """What a map marker and a queue row need; coordinates in CGCS2000 (EPSG:4490), like the API's."""
    return pick(case, EVENT)


def departure(case: Case) -> dict:
    return pick(case, DEPARTURE)


def card_row(case: Case) -> dict:
    return pick(case, CARD)


def overdue_row(case: Case) -> dict:
    """A case in the screen's list of the most overdue (gridsvc.oversight.numbers adds the names)."""
    return pick(case, OVERDUE)


def phone_summary(session: Session, case: Case, index: GridIndex) -> dict:
    """What the phone shows at once: where the case went, to whom, by when, and what to watch (the grid's
    and the department's names with their codes)."""
    position = index.position_of(case.grid_code) if case.grid_code else None
    department = session.get(Department, case.department_code) if case.department_code else None
    return {
        **identity(case),
        "grid": {"code": FIELDS["grid"](case), "name": index.cells[position].name if position is not None else None},
        "locate_match": FIELDS["locate_match"](case),
        "department": {"code": department.code, "name_zh": department.name_zh} if department else None,
        **pick(case, PHONE_TAIL),
    }


def phone_work_rows(session: Session, cases: list[Case], index: GridIndex, crs: InputCRS) -> list[dict]:
    """A phone's task or verification list (/mobile/v1/my/tasks, /my/verifications), every row enough to
    show and to put on the phone's map without opening the case: its `phone_summary`, the category's zh-CN
    and English names (of the version the case was reported under), the description, whether it is urgent,
    and the point in `crs`, the datum of the phone's map (converted for all rows at once; labelled)."""
    if not cases:
        return []
    names = _category_names(session, cases)
    lons, lats = from_cgcs2000(np.array([c.lon for c in cases], dtype=float),
                               np.array([c.lat for c in cases], dtype=float), crs)
    rows = []
    for case, lon, lat in zip(cases, np.atleast_1d(lons), np.atleast_1d(lats)):
        name_zh, name_en = names.get((case.category_code, case.category_version), (None, None))
        rows.append({
            **phone_summary(session, case, index),
            "category_name_zh": name_zh,
            "category_name_en": name_en,
            **pick(case, PHONE_WORK),
            "point": {"lon": round(float(lon), SCREEN_DECIMALS), "lat": round(float(lat), SCREEN_DECIMALS),
                      "crs": str(crs)},
        })
    return rows


def _category_names(session: Session, cases: list[Case]) -> dict[tuple[str, int], tuple[str, str]]:
    """{(code, version): (name_zh, name_en)} of the catalogue entries the cases were reported under."""
    wanted = {(c.category_code, c.category_version) for c in cases}
    rows = session.execute(sa.select(Category.code, Category.version, Category.name_zh, Category.name_en)
                           .where(Category.code.in_(sorted({code for code, _ in wanted}))))
    return {(code, version): (zh, en) for code, version, zh, en in rows if (code, version) in wanted}


# The columns of the screen's row, in order: the screen holds ten thousand of them, so names go once.
# `reported_at` (the phone's time, for the marker's pop-up) only where it lies a minute or more from
# `received_at` (a report queued offline), else null: most reports are uploaded as they are made.
SCREEN_ROW_FIELDS = ("tracking_no", "lon", "lat", "status", "category", "domain", "overdue_level", "flagged",
                     "urgent", "grid", "received_at", "record_seq", "reported_at")
SCREEN_DECIMALS = 7  # about a centimetre


def screen_row_columns() -> tuple:
    """What to select for `screen_row`: Case's columns under their own names, the category's domain,
    and the flags as text (whether one asks a commander to act, without decoding ten thousand JSON lists)."""
    domain = (sa.select(Category.domain).where(Category.code == Case.category_code,
                                               Category.version == Case.category_version)
              .scalar_subquery())
    return (Case.tracking_no, Case.lon, Case.lat, Case.status, Case.category_code, domain.label("domain"),
            Case.overdue_level, sa.cast(Case.flags, sa.Text).label("flags_text"), Case.urgent, Case.grid_code,
            Case.received_at, Case.record_seq, Case.reported_at)


_ROW_OWN = ("lon", "lat", "domain", "flagged", "reported_at")  # the row's own: converted point, the category's,
# flags as text, the phone's time only where it tells something
_OFFLINE = timedelta(minutes=1)
_ROW_FIELDS = tuple((name, FIELDS[name]) for name in SCREEN_ROW_FIELDS if name not in _ROW_OWN)


def screen_row(row, lon: float, lat: float) -> list:
    """One row of SCREEN_ROW_FIELDS from a row of `screen_row_columns`, its point already in the
    screen's datum (converted for all rows at once by the caller)."""
    values = {name: value(row) for name, value in _ROW_FIELDS}
    values.update(lon=round(float(lon), SCREEN_DECIMALS), lat=round(float(lat), SCREEN_DECIMALS),
                  domain=row.domain, flagged=needs_action(row.flags_text),
                  reported_at=_phone_time(row.reported_at, row.received_at))
    return [values[name] for name in SCREEN_ROW_FIELDS]


def _phone_time(reported_at: datetime | None, received_at: datetime) -> str | None:
    if reported_at is None or abs(as_utc(reported_at) - as_utc(received_at)) < _OFFLINE:
        return None
    return iso_or_none(reported_at)
