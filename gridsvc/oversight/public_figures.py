"""政务公开: what anyone may read about a case, and a township's anonymised figures, without signing in.

Plain functions (the web layer is gridsvc.web.public_api); the rules are in docs/public.md. In short:

- a case is found by its tracking number only; an unknown or malformed number is the same `NotPublic`;
- never who reported it (no name, phone, user id), no description, no point or coordinates (the place
  is named down to the village), no photos (so no EXIF), no free text but the notes of the `reject`
  (不予立案的理由) and `close` (结案说明) steps, which officials write knowing they are public, each with
  its newest text when a commander corrected it (gridsvc.cases.public_notes);
  the rating's stars, not its comment;
- enforcement cases (执法, the category's domain `enforcement`) show only what 执法公示 allows while
  no decision is published here: status, domain, township, department and dates;
- the figures of a township are gridsvc.oversight.numbers' own (one piece of code), cut to counts and rates.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from gridsvc.kernel.errors import NOT_FOUND, DomainError
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import DOMAIN_NAMES_ZH, STATUS_NAMES_ZH, AdminUnit, Case, Category, Department
from gridsvc.oversight.numbers import screen_numbers
from gridsvc.cases.public_notes import ENFORCEMENT, public_notes
from gridsvc.cases.ratings import rating_of
from gridsvc.worktime.calendar import CHINA, WorkCalendar, china_day, china_midnight

RESPONSIBILITY_LIST = "/api/v1/responsibility"  # the published 责任清单, already public


def public_townships(session: Session) -> list[dict]:
    """Every township (乡镇/街道) with its county, by code: what the public page offers to choose from."""
    county = aliased(AdminUnit)
    rows = session.execute(
        sa.select(AdminUnit.code, AdminUnit.name, county.code, county.name)
        .outerjoin(county, county.code == AdminUnit.parent_code)
        .where(AdminUnit.level == "township").order_by(AdminUnit.code)
    )
    return [{"code": code, "name": name, "county": {"code": parent, "name": parent_name} if parent else None}
            for code, name, parent, parent_name in rows]


class NotPublic(DomainError, LookupError):
    """No case to show (whether or not one exists), or no such township: `not_found` either way."""

    kind = NOT_FOUND

    @classmethod
    def case(cls) -> NotPublic:
        """No case to show: the same words for an unknown, a malformed and a withheld number."""
        return cls("未找到该编号 / no case with this number", code="case_not_found")

    @classmethod
    def township(cls, code: str) -> NotPublic:
        return cls(f"没有乡镇 {code} / no township {code}", code="township_not_found")


def _place(session: Session, code: str | None) -> dict | None:
    if not code:
        return None
    unit = session.get(AdminUnit, code)
    return {"code": code, "name": unit.name if unit else None}


def public_case(session: Session, tracking_no: str) -> dict:
    case = session.scalar(sa.select(Case).where(Case.tracking_no == tracking_no))
    if case is None:
        raise NotPublic.case()
    category = session.scalar(sa.select(Category).where(Category.code == case.category_code,
                                                        Category.version == case.category_version))
    department = session.get(Department, case.department_code) if case.department_code else None
    domain = category.domain if category else None
    answer = {
        "tracking_no": case.tracking_no,
        "status": case.status,
        "status_name_zh": STATUS_NAMES_ZH[case.status],
        "domain": domain,
        "domain_name_zh": DOMAIN_NAMES_ZH.get(domain) if domain else None,
        "township": _place(session, case.township_code),
        "department": {"name_zh": department.name_zh, "name_en": department.name_en} if department else None,
        "received_on": china_day(case.received_at),
        "closed_on": china_day(case.closed_at),
        "enforcement": domain == ENFORCEMENT,
        "responsibility_list": RESPONSIBILITY_LIST,
    }
    if domain == ENFORCEMENT:
        return answer  # 执法公示: nothing of what, where exactly, or what was said
    rating = rating_of(session, case)
    return {
        **answer,
        "category": {"code": case.category_code, "name_zh": category.name_zh if category else None,
                     "name_en": category.name_en if category else None},
        "village": _place(session, case.village_code),
        "notes": [n.as_published() for n in public_notes(session, case) if n.note is not None],
        "rating": {"stars": rating.stars, "rated_on": china_day(rating.rated_at)} if rating else None,
    }


_TICK = timedelta(microseconds=1)


def _day_start(moment: datetime) -> datetime:
    """The start of the China day of `moment`, in UTC."""
    return as_utc(china_midnight(moment.astimezone(CHINA).date()))


def township_stats(session: Session, code: str, calendar: WorkCalendar, now: datetime, period_from: datetime,
                   period_to: datetime) -> dict:
    """A township's anonymised figures for [from, to): gridsvc.oversight.numbers without a user, cut to counts and
    rates. Raises NotPublic for an unknown code or one that is no township, gridsvc.oversight.numbers.PeriodError for
    a bad period."""
    unit = session.get(AdminUnit, code)
    if unit is None or unit.level != "township":
        raise NotPublic.township(code)
    # Whole China days only: windows of a second would tell when each case came, which the case
    # page gives only to the day.
    period_from, period_to = _day_start(period_from), _day_start(period_to + timedelta(days=1) - _TICK)
    figures = screen_numbers(session, None, calendar, now, period_from, period_to, area=code)
    period = figures["period"]
    return {
        "township": {"code": unit.code, "name": unit.name},
        "from": figures["from"],
        "to": figures["to"],
        "received": period["received"],
        "closed": period["closed"],
        "closed_on_time": period["closed_on_time"],
        "on_time_closure_rate": period["on_time_closure_rate"],
        "satisfaction": period["satisfaction"],
        "by_status": figures["by_status"],
        "by_domain": figures["by_domain"],
    }
