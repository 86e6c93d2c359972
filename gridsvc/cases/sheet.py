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

from gridsvc.cases.dispatch_notices import REMINDER, UNACKNOWLEDGED, pickup_due
from gridsvc.cases.evidence import place_zh, result_photos
from gridsvc.cases.merge_candidates import merge_candidates
from gridsvc.cases.public_notes import (CORRECT, CORRECT_NAME_ZH, PUBLIC_NOTE_STEPS, may_correct, notes_published,
                                        public_notes)
from gridsvc.kernel.clock import as_utc, iso_or_none
from gridsvc.kernel.config import Settings
from gridsvc.kernel.models import (ROLE_NAMES_ZH, AdminUnit, Case, CaseEvent, Category, Department, GridCell, Team,
                                   User)
from gridsvc.cases.workflow import STEPS, available_steps
from gridsvc.worktime.calendar import WorkCalendar

# Record actions that are not workflow steps, by what wrote them.
OTHER_ACTIONS_ZH = {
    "report": "上报", "absorb": "并入重复案件", "attach": "上传照片",
    "deadline_warning": "临期预警", "overdue": "超期", "county_alert": "超期上报县级预警",
    REMINDER: "派遣提醒", UNACKNOWLEDGED: "派遣未确认", CORRECT: CORRECT_NAME_ZH,
}
ACTION_NAMES_ZH = {**{name: step.label_zh for name, step in STEPS.items()}, **OTHER_ACTIONS_ZH}
# Steps whose entry names the department (and team) they gave the case to; 退回's names the one that gave it back.
SENT_TO = ("file", "dispatch", "escalate", "reopen")

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


def pickup_clock(case: Case, settings: Settings, now: datetime) -> dict | None:
    """A dispatched case's clock (待签收): the department must pick it up (签收) within `dispatch_alert_minutes`
    of the dispatch, in wall-clock minutes (gridsvc.cases.dispatch_notices), not the handling deadline that
    starts to matter once it has. `acknowledged_at`: when a phone of the department confirmed the notice."""
    due = pickup_due(case, settings)
    if due is None:
        return None
    return {"stage_zh": "签收时限", "due_at": due.isoformat(), "minutes_left": round((due - now).total_seconds() / 60),
            "overdue": now > due, "acknowledged_at": iso_or_none(case.dispatch_acked_at)}


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
                     "township_may_act": category.township_may_act,
                     "feedback_photo_required": category.feedback_photo_required} if category else None,
        "department": {"name_zh": department.name_zh, "name_en": department.name_en} if department else None,
        "team": {"name_zh": team.name_zh, "name_en": team.name_en} if team else None,
        "grid": grid,
        "village": units.get(case.village_code),
        "township": units.get(case.township_code),
        "county": units.get(case.county_code),
        "reporter": {"name": reporter.name, "role": reporter.role} if reporter else None,
    }


def record_with_names(session: Session, case: Case) -> list[dict]:
    """The case's record, oldest first, each entry named as a person reads it: the action; who took it,
    with their department and team, or their role (`actor_zh`: "王建国（城管中队（综合行政执法队））");
    where the step sent the case (`to_zh`: "城管中队（综合行政执法队）"); how far an arrival, or a photo's
    EXIF position, lay from the case's point; the photos the step named. The case desk and the 案卷
    show these as they are, so both say the same."""
    events = list(session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))
    people = {u.id: u for u in session.scalars(sa.select(User).where(
        User.id.in_({e.actor_id for e in events if e.actor_id is not None})))}
    named = [(e.data or {}) for e in events]
    units = [_actor_unit(data, people.get(e.actor_id)) for e, data in zip(events, named)]
    departments = {d.code: d for d in session.scalars(sa.select(Department).where(Department.code.in_(
        ({d.get("department") for d in named} | {u["department"] for u in units}) - {None})))}
    teams = {t.code: t for t in session.scalars(sa.select(Team).where(Team.code.in_(
        ({d.get("team") for d in named} | {u["team"] for u in units}) - {None})))}
    return [_named_entry(e, data, people.get(e.actor_id), unit, departments, teams)
            for e, data, unit in zip(events, named, units)]


def _actor_unit(data: dict, actor: User | None) -> dict:
    """The actor's department and team when they took the step, as the entry sealed them; an entry written
    before the record kept them (or by someone of no department) gives the person's as they are now."""
    if "actor_unit" in data:
        return data["actor_unit"]
    return {"department": actor.department_code if actor else None, "team": actor.team_code if actor else None}


def _named_entry(event: CaseEvent, data: dict, actor: User | None, unit: dict, departments: dict,
                 teams: dict) -> dict:
    sent = event.action in SENT_TO
    to_department = departments.get(data.get("department")) if sent else None
    to_team = teams.get(data.get("team")) if sent else None
    actor_department, actor_team = departments.get(unit["department"]), teams.get(unit["team"])
    distance = data.get("distance_m")  # 到达现场: where the officer stood; 上传照片: the photo's EXIF GPS
    far = bool(data.get("far_from_case") or data.get("location_mismatch")) if distance is not None else None
    return {
        "seq": event.seq, "at": as_utc(event.at).isoformat(), "action": event.action,
        "action_zh": ACTION_NAMES_ZH.get(event.action, event.action),
        "actor": actor.name if actor else None, "actor_role": actor.role if actor else None,
        "actor_department": _code_and_name(actor_department), "actor_team": _code_and_name(actor_team),
        "actor_zh": _person_zh(actor, actor_department, actor_team),
        "to_department": _code_and_name(to_department), "to_team": _code_and_name(to_team),
        "to_zh": _unit_zh(to_department, to_team),
        "distance_m": distance, "far_from_case": far, "place_zh": place_zh(event.action, distance, far),
        "attachments": data.get("attachments") or ([data["attachment"]] if "attachment" in data else []),
        "from_status": event.from_status, "to_status": event.to_status, "note": event.note,
    }


def _code_and_name(unit: Department | Team | None) -> dict | None:
    return {"code": unit.code, "name_zh": unit.name_zh} if unit else None


def _unit_zh(department: Department | None, team: Team | None) -> str | None:
    """"城管中队（综合行政执法队）", or the department alone."""
    if team is not None:
        return f"{team.name_zh}（{department.name_zh}）" if department else team.name_zh
    return department.name_zh if department else None


def _person_zh(person: User | None, department: Department | None, team: Team | None) -> str | None:
    """The person with their department and team, or with their role when they belong to none."""
    if person is None:
        return None
    return f"{person.name}（{_unit_zh(department, team) or ROLE_NAMES_ZH.get(person.role, person.role)}）"


def case_sheet(session: Session, calendar: WorkCalendar, viewer: User, case: Case, now: datetime,
               settings: Settings) -> dict:
    """Names, clock, record and the viewer's steps of one case (the case itself comes from the case API); for
    合并, the cases it likely repeats (gridsvc.cases.merge_candidates)."""
    steps = step_choices(session, viewer, case, now)
    return {
        "names": case_names(session, case),
        "clock": pickup_clock(case, settings, now) or stage_clock(case, calendar, now),
        "record": record_with_names(session, case),
        "steps": steps,
        "merge_candidates": merge_candidates(session, viewer, case) if any(s["step"] == "merge" for s in steps) else [],
        "public_notes": public_notes_of(session, viewer, case),
        "evidence": result_photos(session, case).as_json(),
    }


def public_notes_of(session: Session, viewer: User, case: Case) -> dict:
    """What the public page shows of the case's notes, whether it publishes them at all (not for enforcement
    cases), and whether the viewer may correct them."""
    published = notes_published(session, case)
    return {"published": published, "may_correct": published and may_correct(session, viewer, case),
            "notes": [{"seq": n.seq, **n.as_published()} for n in public_notes(session, case)] if published else []}


def step_choices(session: Session, viewer: User, case: Case, now: datetime) -> list[dict]:
    """The steps the viewer may take now, as buttons need them; `public_note`: the step's note will be published
    (so the form says so, docs/public.md)."""
    steps = available_steps(session, viewer, case, now)
    published = any(s.name in PUBLIC_NOTE_STEPS for s in steps) and notes_published(session, case)
    return [{"step": s.name, "label_zh": s.label_zh, "needs_note": s.needs_note, "to_status": s.to_status,
             "public_note": published and s.name in PUBLIC_NOTE_STEPS}
            for s in steps]
