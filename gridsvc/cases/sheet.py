"""A case as the case desk shows it: names instead of codes, the record with who did what, the
steps the viewer may take, and the clock of the current stage in working time.

The case API answers with codes (a phone caches the catalogue); a commander reading a case on the
screen wants "市容环境卫生 · 城管中队 · 张三 派遣 · 还剩 2.5 个工作小时" at once, so this puts one
case's names together in a few queries instead of a dozen calls from the browser.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.cases.dispatch_notices import REMINDER, UNACKNOWLEDGED
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import AdminUnit, Case, CaseEvent, Category, Department, GridCell, Team, User
from gridsvc.cases.workflow import STEPS, available_steps
from gridsvc.worktime.calendar import WorkCalendar

# Record actions that are not workflow steps, by what wrote them.
OTHER_ACTIONS_ZH = {
    "report": "上报", "absorb": "并入重复案件", "attach": "上传照片",
    "deadline_warning": "临期预警", "overdue": "超期", "county_alert": "超期上报县级预警",
    REMINDER: "派遣提醒", UNACKNOWLEDGED: "派遣未确认",
}
ACTION_NAMES_ZH = {**{name: step.label_zh for name, step in STEPS.items()}, **OTHER_ACTIONS_ZH}

# What the current stage's due time (Case.stage_due_at) is a deadline for.
STAGE_NAMES_ZH = {"reported": "立案时限", "filed": "派遣时限", "dispatched": "处置时限", "handling": "处置时限",
                  "handled": "核查时限", "verified": "结案时限"}


def stage_clock(case: Case, calendar: WorkCalendar, now: datetime) -> dict | None:
    """The current stage's deadline and the working hours left (negative: that long overdue)."""
    if case.stage_due_at is None or case.status not in STAGE_NAMES_ZH:
        return None
    due = as_utc(case.stage_due_at)
    if now <= due:
        hours = calendar.working_seconds_between(now, due) / 3600
    else:
        hours = -calendar.working_seconds_between(due, now) / 3600
    return {"stage_zh": STAGE_NAMES_ZH[case.status], "due_at": due.isoformat(),
            "working_hours_left": round(hours, 2), "overdue": now > due}


def case_names(session: Session, case: Case) -> dict:
    """zh-CN (and English where there is one) names of everything the case refers to by code."""
    category = session.scalar(sa.select(Category).where(Category.code == case.category_code,
                                                        Category.version == case.category_version))
    department = session.get(Department, case.department_code) if case.department_code else None
    team = session.get(Team, case.team_code) if case.team_code else None
    grid = session.scalar(sa.select(GridCell.name).where(GridCell.code == case.grid_code)
                          .order_by(GridCell.version.desc()).limit(1)) if case.grid_code else None
    units = dict(session.execute(sa.select(AdminUnit.code, AdminUnit.name).where(
        AdminUnit.code.in_([c for c in (case.village_code, case.township_code, case.county_code) if c]))).all())
    reporter = session.get(User, case.reporter_id)
    return {
        "category": {"name_zh": category.name_zh, "name_en": category.name_en, "domain": category.domain,
                     "township_may_act": category.township_may_act} if category else None,
        "department": {"name_zh": department.name_zh, "name_en": department.name_en} if department else None,
        "team": {"name_zh": team.name_zh, "name_en": team.name_en} if team else None,
        "grid": grid,
        "village": units.get(case.village_code),
        "township": units.get(case.township_code),
        "county": units.get(case.county_code),
        "reporter": {"name": reporter.name, "role": reporter.role} if reporter else None,
    }


def record_with_names(session: Session, case: Case) -> list[dict]:
    """The case's record, oldest first, each entry with its action's and its actor's name."""
    rows = session.execute(
        sa.select(CaseEvent, User.name).outerjoin(User, User.id == CaseEvent.actor_id)
        .where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))
    return [{"seq": e.seq, "at": as_utc(e.at).isoformat(), "action": e.action,
             "action_zh": ACTION_NAMES_ZH.get(e.action, e.action), "actor": name,
             "from_status": e.from_status, "to_status": e.to_status, "note": e.note}
            for e, name in rows]


def case_sheet(session: Session, calendar: WorkCalendar, viewer: User, case: Case, now: datetime) -> dict:
    """Names, clock, record and the viewer's steps of one case (the case itself comes from the case API)."""
    return {
        "names": case_names(session, case),
        "clock": stage_clock(case, calendar, now),
        "record": record_with_names(session, case),
        "steps": step_choices(session, viewer, case, now),
    }


def step_choices(session: Session, viewer: User, case: Case, now: datetime) -> list[dict]:
    """The steps the viewer may take now, as buttons need them."""
    return [{"step": s.name, "label_zh": s.label_zh, "needs_note": s.needs_note, "to_status": s.to_status}
            for s in available_steps(session, viewer, case, now)]
