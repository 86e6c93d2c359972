"""The case workflow (办理流程): which step may follow which, who may take it, what it changes.

上报 → 立案 (or 不予立案) → 派遣 → 签收 → 反馈 → 核查 → 结案, with the branches that real
systems have: 退回 and 重新派遣 (a department sends a case back, the township dispatches it
again), 延期 (a department asks, the township or county grants or refuses), 返工 (verification
fails, back to the department), 上报县级 (escalation to a county department), 督办 (an overdue
case is supervised), 合并 (a duplicate joins the case it repeats) and 自行处置 (a grid worker
fixes a minor matter on the spot and closes it with a photo).

Each step is a `Step`: the statuses it may start from, the status it leads to, which relations
to the case may take it (the commander of its township, the department that has it, the grid
worker of its grid, its reporter, the county's supervisor) and whether it needs a reason.
`act` checks all of that, then lets the step's own function change the case, restarts the stage
clock and appends the step to the record, all in the caller's transaction: when a check fails,
nothing is written. Refusals are `WorkflowError`s of a kind (gridsvc.kernel.errors): `forbidden`
not the caller's to take, `conflict` not from this status or the case changed meanwhile, `invalid`
bad input (naming the field), `not_found` no such step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridsvc.cases import record as case_record
from gridsvc.cases.access import case_area
from gridsvc.catalogue.store import area_chain, responsibility_list
from gridsvc.kernel.config import Settings
from gridsvc.kernel.db import MAX_INTEGER
from gridsvc.kernel.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, DomainError
from gridsvc.cases import dispatch_notices
from gridsvc.cases.audience import case_rooms
from gridsvc.cases.events import publish_departure
from gridsvc.cases.evidence import result_photos
from gridsvc.geo import metric
from gridsvc.geo.crs import InputCRS
from gridsvc.geo.locate import GridIndex
from gridsvc.cases.flags import ARRIVED_FAR_FROM_CASE, LOCATION_FLAGS, NO_RESPONSIBLE_DEPARTMENT
from gridsvc.accounts.users import jurisdiction_of
from gridsvc.kernel.models import OPEN_STATUSES, STATUS_NAMES_ZH, Attachment, Case, Category, Department, Team, User
from gridsvc.network.points import PointError, storage_point
from gridsvc.kernel.clock import as_utc
from gridsvc.cases.stage_clock import start_stage
from gridsvc.worktime.calendar import WorkCalendar

# Relations of a user to a case; a step names the ones that may take it.
COMMANDER = "commander"  # 指挥长 of the township the case is in (or an administrator)
SUPERVISOR = "supervisor"  # 县级督办 of the county the case is in (or an administrator)
DEPARTMENT = "department"  # a handler or enforcement officer of the department that has it
GRID_WORKER = "grid_worker"  # the 网格员 of the case's grid
REPORTER = "reporter"  # whoever reported it

_DEPARTMENT_ROLES = ("department_handler", "enforcement_officer")
MAX_EXTENSION = timedelta(days=365)  # an extension beyond a year is a new case, not a delay


class WorkflowError(DomainError):
    """A step refused: its kind, code and message, and for bad input the field to blame."""

    def __init__(self, kind: str, code: str, message: str, field_name: str | None = None):
        super().__init__(message, kind=kind, code=code, field=field_name)


class PhotoRequired(WorkflowError):
    """处置反馈 without a photo, for a category whose catalogue entry sets `feedback_photo_required`."""

    summary = "处置反馈须附照片 / the feedback needs a photo"

    def __init__(self):
        super().__init__(INVALID, "photo_required",
                         "该类事项反馈须附处置照片：请先上传照片，再在 attachments 中注明 / a photo of the result is "
                         "required for this category: upload it (POST …/attachments) and name it in attachments",
                         "attachments")


class ResultPhotoMissing(WorkflowError):
    """核查通过 of a case whose category requires a photo with the feedback, when the feedback names no photo
    of the result (gridsvc.cases.evidence): the verifier sends it back (返工) instead."""

    def __init__(self):
        super().__init__(CONFLICT, "result_photo_missing",
                         "该类事项须附处置照片，但处置反馈未附派遣后上传的现场照片，不能核查通过：请返工 / a photo of "
                         "the result is required for this category, and the feedback names none uploaded after "
                         "the dispatch: send it back for rework (返工)")


@dataclass(frozen=True)
class StepInput:
    """What a person says when taking a step; each step reads the parts it needs."""

    note: str | None = None
    department: str | None = None
    team: str | None = None
    grid: str | None = None
    until: datetime | None = None
    into: str | None = None  # the tracking number a duplicate is merged into
    attachments: tuple[int, ...] = ()
    lon: float | None = None  # where the person is (arrival on site), in `crs`
    lat: float | None = None
    crs: InputCRS | None = None
    expected_seq: int | None = None  # the record entry the caller last saw: refuse if the case moved on


@dataclass(frozen=True)
class Context:
    """What steps need besides the session: the network, the calendar, the settings and the time."""

    index: GridIndex
    calendar: WorkCalendar
    settings: Settings
    now: datetime


@dataclass
class _Effect:
    """What a step's function decided: the record entry's data and, for a merge, the survivor."""

    data: dict = field(default_factory=dict)
    survivor: Case | None = None


def _always(case: Case, now: datetime) -> WorkflowError | None:
    return None


def _extension_pending(case: Case, now: datetime) -> WorkflowError | None:
    if case.extension_until is None:
        return WorkflowError(CONFLICT, "no_extension_pending", "没有待审批的延期申请 / no extension request is pending")
    return None


def _no_extension_pending(case: Case, now: datetime) -> WorkflowError | None:
    if case.extension_until is not None:
        return WorkflowError(CONFLICT, "extension_pending", "已有延期申请待审批 / an extension request is already pending")
    return None


def _overdue(case: Case, now: datetime) -> WorkflowError | None:
    """督办 is for a case behind its stage's deadline (marked by the sweep, or past due already)."""
    if case.overdue_level == 0 and not (case.stage_due_at and as_utc(case.stage_due_at) <= now):
        return WorkflowError(CONFLICT, "not_overdue", "只对超期案件督办 / only an overdue case is supervised")
    return None


@dataclass(frozen=True)
class Step:
    name: str
    label_zh: str
    from_statuses: tuple[str, ...]
    to_status: str | None  # None: the case stays where it is
    taken_by: tuple[str, ...]
    needs_note: bool
    apply: Callable[[Session, Context, Case, User, StepInput], _Effect]
    # What the case must be like besides its status (so the screen offers only steps that can work).
    ready: Callable[[Case, datetime], WorkflowError | None] = _always
    restarts_clock: bool = False  # the stage's deadline moves although the status may not


# -- what each step does beyond changing the status ------------------------------------------


def _file(session, ctx, case, user, given) -> _Effect:
    """立案. A commander may confirm or correct the grid of a case located uncertainly; the case is
    then routed again for that grid. A grid named answers every question of where the case is (LOCATION_FLAGS:
    a boundary, an accuracy circle across one, a spot placed by hand), so those flags go."""
    if given.grid is None or given.grid == case.grid_code:
        if given.grid is not None:
            case.flags = [f for f in case.flags if f not in LOCATION_FLAGS]
        return _Effect({"grid": case.grid_code})
    if ctx.index.position_of(given.grid) is None:
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"{given.grid} 不是现行网格 / {given.grid} is not a current grid", "grid")
    if not jurisdiction_of(session, user).covers_area(given.grid):
        raise WorkflowError(FORBIDDEN, "not_permitted",
                            f"网格 {given.grid} 不在您的辖区内 / grid {given.grid} is outside your jurisdiction")
    areas = area_chain(ctx.index, given.grid)
    case.grid_code, case.village_code, case.township_code, case.county_code = (
        areas[0], areas[1] if len(areas) > 3 else None, areas[-2], areas[-1])
    route = responsibility_list(session).route(areas, case.category_code)
    case.department_code = route.department.code if route else None
    case.reserved_to_county = bool(route and route.reserved_to_county)
    flags = [f for f in case.flags if f not in (*LOCATION_FLAGS, NO_RESPONSIBLE_DEPARTMENT)]
    case.flags = flags if route else [*flags, NO_RESPONSIBLE_DEPARTMENT]
    return _Effect({"grid": case.grid_code, "department": case.department_code})


def _dispatch(session, ctx, case, user, given) -> _Effect:
    """派遣 (and 重新派遣 after a send-back): to the routed department unless the commander names one,
    a body of the case's own township or county."""
    department = _department(session, given.department or case.department_code)
    if department.admin_code not in (case.township_code, case.county_code):
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"该部门不属于案件所在乡镇或县 / {department.code} serves neither the case's township nor its county",
                            "department")
    if not _category_of(session, case).township_may_act and department.level != "county":
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"该类事项须由县级部门办理 / {case.category_code} is reserved to a county department", "department")
    case.department_code = department.code
    case.team_code = _team(session, department, given.team)
    return _Effect({"department": case.department_code, "team": case.team_code})


def _send_back(session, ctx, case, user, given) -> _Effect:
    """退回: the department says the case is not theirs; it no longer has it, and the township
    dispatches it again, naming the department."""
    returned_by = case.department_code
    case.department_code = case.team_code = None
    return _Effect({"department": returned_by})


def _arrive(session, ctx, case, user, given) -> _Effect:
    """到达现场: the officer is on site; where they are, and how far that is from the reported point, in
    metres (Gauss–Krüger, gridsvc.geo.metric). Farther than `arrival_max_distance_m` is still an arrival (GPS
    can be wrong, the matter can have moved), but the case is flagged ARRIVED_FAR_FROM_CASE for the commander."""
    if given.lon is None or given.lat is None or given.crs is None:
        raise WorkflowError(INVALID, "invalid_parameters",
                            "须提供所在位置（经纬度和坐标系） / lon, lat and crs of where you are are required", "lon")
    try:
        lon, lat = storage_point(given.lon, given.lat, given.crs)
    except PointError as exc:
        raise WorkflowError(INVALID, "invalid_parameters", str(exc), exc.field) from exc
    distance = round(metric.distance_m(shapely.Point(lon, lat), shapely.Point(case.lon, case.lat)), 1)
    limit = ctx.settings.arrival_max_distance_m
    far = distance > limit
    if far and ARRIVED_FAR_FROM_CASE not in (case.flags or []):
        case.flags = [*(case.flags or []), ARRIVED_FAR_FROM_CASE]  # a new list: the JSON column sees the change
    return _Effect({"point": [lon, lat], "input": [given.lon, given.lat, str(given.crs)],
                    "distance_m": distance, "max_distance_m": limit, "far_from_case": far})


def _feedback(session, ctx, case, user, given) -> _Effect:
    """处置反馈. A category whose catalogue entry (the version the case was reported under) sets
    `feedback_photo_required` needs at least one photo of the result among `attachments`."""
    if not given.attachments and _category_of(session, case).feedback_photo_required:
        raise PhotoRequired()
    return _Effect({"attachments": _attachments_of(session, case, given.attachments)})


def _verify(session, ctx, case, user, given) -> _Effect:
    """核查通过. A category that requires a photo with the feedback needs a photo of the result to pass."""
    photos = result_photos(session, case)
    if photos.photo_missing:
        raise ResultPhotoMissing()
    return _Effect({"result_photos": list(photos.result_photos)})


def _rework(session, ctx, case, user, given) -> _Effect:
    case.rework_count += 1
    return _Effect({"rework_count": case.rework_count})


def _close(session, ctx, case, user, given) -> _Effect:
    case.closed_at = ctx.now
    return _Effect()


def _request_extension(session, ctx, case, user, given) -> _Effect:
    if given.until is None:
        raise WorkflowError(INVALID, "invalid_parameters", "请填写延期至何时 / say until when", "until")
    if as_utc(given.until) <= as_utc(case.handling_due_at):
        raise WorkflowError(INVALID, "invalid_parameters",
                            "须晚于现办理期限 / must lie after the current handling deadline", "until")
    if as_utc(given.until) > ctx.now + MAX_EXTENSION:
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"最多延期至 {MAX_EXTENSION.days} 天后 / at most {MAX_EXTENSION.days} days ahead", "until")
    case.extension_until = as_utc(given.until)
    return _Effect({"until": case.extension_until.isoformat(), "due_was": as_utc(case.handling_due_at).isoformat()})


def _decide_extension(granted: bool):
    def decide(session, ctx, case, user, given) -> _Effect:
        asked = as_utc(case.extension_until)
        case.extension_until = None
        if granted:
            case.handling_due_at = asked
        return _Effect({"until": asked.isoformat(), "granted": granted})
    return decide


def _escalate(session, ctx, case, user, given) -> _Effect:
    """上报县级: to the county department the list names for the case's county, or the one given.
    The county department gets the category's whole handling limit from now."""
    code = given.department
    if code is None:
        route = responsibility_list(session).route([case.county_code] if case.county_code else [], case.category_code)
        code = route.department.code if route and route.department.level == "county" else None
    if code is None:
        raise WorkflowError(INVALID, "invalid_parameters",
                            "责任清单中没有负责该案件的县级部门，请选择部门 / no county department answers for this case: "
                            "name one", "department")
    department = _department(session, code)
    if department.level != "county" or department.admin_code != case.county_code:
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"所选部门不是案件所在县的县级部门 / {code} is not a department of the case's county",
                            "department")
    case.department_code, case.team_code, case.escalated = department.code, None, True
    case.handling_due_at = ctx.calendar.add(ctx.now, *_category_of(session, case).handling_limit(case.urgent))
    return _Effect({"department": department.code, "handling_due_at": as_utc(case.handling_due_at).isoformat()})


def _supervise(session, ctx, case, user, given) -> _Effect:
    case.supervision_count += 1
    return _Effect({"supervision_count": case.supervision_count})


def _self_handle(session, ctx, case, user, given) -> _Effect:
    """自行处置: a minor matter of the grid worker's own grid, fixed on the spot; a photo proves it."""
    if not _category_of(session, case).township_may_act:
        raise WorkflowError(CONFLICT, "not_minor", "该类事项须由职能部门办理 / this category must go to a department")
    if not given.attachments:
        raise WorkflowError(INVALID, "invalid_parameters",
                            "须附处置后的现场照片 / a photo of the fixed matter is needed", "attachments")
    case.closed_at = ctx.now
    return _Effect({"attachments": _attachments_of(session, case, given.attachments)})


def _merge(session, ctx, case, user, given) -> _Effect:
    """合并: the case repeats another open one of the same category; its reporter, and the reporters
    of cases merged into it before, follow that one."""
    if not given.into:
        raise WorkflowError(INVALID, "invalid_parameters", "请选择或填写要并入的案件 / name the case to merge into", "into")
    survivor = session.scalar(sa.select(Case).where(Case.tracking_no == given.into))
    if survivor is None or not jurisdiction_of(session, user).covers_area(case_area(survivor)):
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"您的辖区内没有案件 {given.into} / no case {given.into} in your jurisdiction", "into")
    if survivor.id == case.id or survivor.status not in OPEN_STATUSES:
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"{given.into} 不是另一件在办案件 / {given.into} is not another open case", "into")
    if survivor.category_code != case.category_code:
        raise WorkflowError(INVALID, "invalid_parameters",
                            "只能并入同一事项类别的案件 / only cases of the same category are merged", "into")
    case.merged_into_id = survivor.id
    session.execute(sa.update(Case).where(Case.merged_into_id == case.id).values(merged_into_id=survivor.id)
                    .execution_options(synchronize_session=False))
    return _Effect({"into": survivor.tracking_no}, survivor)


def _nothing(session, ctx, case, user, given) -> _Effect:
    return _Effect()


# -- the steps ---------------------------------------------------------------------------------

_ACTIVE = ("dispatched", "handling")
STEPS: dict[str, Step] = {step.name: step for step in (
    Step("file", "立案", ("reported",), "filed", (COMMANDER,), False, _file),
    Step("reject", "不予立案", ("reported",), "rejected", (COMMANDER,), True, _nothing),
    Step("merge", "合并", ("reported", "filed"), "merged", (COMMANDER,), False, _merge),
    Step("self_handle", "自行处置", ("reported",), "closed", (GRID_WORKER,), True, _self_handle),
    Step("dispatch", "派遣", ("filed",), "dispatched", (COMMANDER,), False, _dispatch),
    Step("accept", "签收", ("dispatched",), "handling", (DEPARTMENT,), False, _nothing),
    Step("arrive", "到达现场", ("handling",), None, (DEPARTMENT,), False, _arrive),
    Step("send_back", "退回", _ACTIVE, "filed", (DEPARTMENT,), True, _send_back),
    Step("request_extension", "延期申请", _ACTIVE, None, (DEPARTMENT,), True, _request_extension,
         _no_extension_pending),
    Step("approve_extension", "批准延期", _ACTIVE, None, (COMMANDER, SUPERVISOR), False, _decide_extension(True),
         _extension_pending, restarts_clock=True),
    Step("deny_extension", "驳回延期", _ACTIVE, None, (COMMANDER, SUPERVISOR), True, _decide_extension(False),
         _extension_pending),
    Step("feedback", "处置反馈", ("handling",), "handled", (DEPARTMENT,), True, _feedback),
    Step("verify", "核查通过", ("handled",), "verified", (GRID_WORKER, COMMANDER), False, _verify),
    Step("rework", "返工", ("handled",), "handling", (GRID_WORKER, COMMANDER), True, _rework),
    Step("close", "结案", ("verified",), "closed", (COMMANDER,), False, _close),
    Step("escalate", "上报县级", ("reported", "filed", "dispatched", "handling"), "dispatched", (COMMANDER,), True,
         _escalate, restarts_clock=True),
    Step("supervise", "督办", OPEN_STATUSES, None, (SUPERVISOR, COMMANDER), True, _supervise, _overdue),
)}


def _reopen(session, ctx, case, user, given) -> _Effect:
    """重新办理 after a bad rating: back to the department that had it, as a 返工 is, with the
    category's whole handling limit from now."""
    case.rework_count += 1
    case.closed_at = None
    case.handling_due_at = ctx.calendar.add(ctx.now, *_category_of(session, case).handling_limit(case.urgent))
    return _Effect({"rework_count": case.rework_count, "department": case.department_code,
                    "handling_due_at": as_utc(case.handling_due_at).isoformat()})


# Not a step anyone takes by hand (so not in STEPS): a bad rating of the reporter takes it (gridsvc.cases.ratings).
REOPEN = Step("reopen", "重新办理", ("closed",), "handling", (REPORTER,), False, _reopen)


def reopen(session: Session, ctx: Context, user: User, case: Case, note: str | None) -> None:
    """Move a closed case back to `handling` with its department (gridsvc.cases.ratings decides when), with the
    workflow's own mechanics: the stage clock, the record entry and its event. Flushes; the caller commits
    (ratings.rate calls it inside its own savepoint)."""
    if case.status not in REOPEN.from_statuses or case.department_code is None:
        raise WorkflowError(CONFLICT, "step_not_allowed", "该案件不能重新办理 / this case cannot be reopened")
    _take(session, ctx, user, case, REOPEN, note, StepInput())


def relations(session: Session, user: User, case: Case) -> frozenset[str]:
    """How `user` stands to `case`: which of the step-taking relations they have."""
    found = set()
    if user.role == "administrator":
        found |= {COMMANDER, SUPERVISOR}
    in_area = jurisdiction_of(session, user).covers_area(case_area(case))
    if user.role == "township_commander" and in_area:
        found.add(COMMANDER)
    if user.role == "county_supervisor" and in_area:
        found.add(SUPERVISOR)
    if user.role in _DEPARTMENT_ROLES and case.department_code and user.department_code == case.department_code:
        found.add(DEPARTMENT)
    if user.role == "grid_worker" and case.grid_code in (user.grid_codes or []):
        found.add(GRID_WORKER)
    if user.id == case.reporter_id:
        found.add(REPORTER)
    return frozenset(found)


def available_steps(session: Session, user: User, case: Case, now: datetime) -> list[Step]:
    """The steps `user` may take on `case` now (what the screen offers as buttons)."""
    mine = relations(session, user, case)
    return [
        s for s in STEPS.values()
        if case.status in s.from_statuses and mine & set(s.taken_by) and s.ready(case, now) is None
    ]


def act(session: Session, ctx: Context, user: User, case: Case, step_name: str, given: StepInput) -> Case:
    """Take one step on a case, in the caller's transaction: flushes; the caller commits.

    Returns the case that the caller should show next: the survivor for a merge, else `case`.
    The step is written inside a SAVEPOINT: when someone else changed the case first (its row
    version, the record's unique (case, seq)), or a check of the step's own refuses, only the
    savepoint is rolled back and the caller's transaction goes on without the step.
    """
    step = STEPS.get(step_name)
    if step is None:
        raise WorkflowError(NOT_FOUND, "unknown_step", f"没有这个办理环节 / no step {step_name!r}")
    if given.expected_seq is not None and given.expected_seq != case.record_seq:
        raise case_changed()
    if case.status not in step.from_statuses:
        raise WorkflowError(CONFLICT, "step_not_allowed", f"案件{STATUS_NAMES_ZH[case.status]}，不能{step.label_zh} / "
                            f"{step.name} is not possible from status {case.status}")
    if not relations(session, user, case) & set(step.taken_by):
        raise WorkflowError(FORBIDDEN, "not_permitted", f"您无权对该案件{step.label_zh} / you may not {step.name} this case")
    not_ready = step.ready(case, ctx.now)
    if not_ready is not None:
        raise not_ready
    note = (given.note or "").strip() or None
    if step.needs_note and note is None:
        raise WorkflowError(INVALID, "invalid_parameters", "请填写原因或说明 / a reason or description is required", "note")
    try:
        with session.begin_nested():
            effect = _take(session, ctx, user, case, step, note, given)
    except (StaleDataError, sa.exc.IntegrityError) as exc:  # someone else changed the case first
        raise case_changed() from exc
    return effect.survivor or case


def case_changed() -> WorkflowError:
    """Someone else changed the case first (a step, or a public note corrected: gridsvc.cases.public_notes)."""
    return WorkflowError(CONFLICT, "case_changed", "案件已被他人更新，请刷新 / the case changed meanwhile: reload it")


def _take(session: Session, ctx: Context, user: User, case: Case, step: Step, note: str | None,
          given: StepInput) -> _Effect:
    """Apply a checked step: its own changes, the new stage's clock, the record entries."""
    before, department_before = case.status, case.department_code
    rooms_before = set(case_rooms(session, case))
    effect = step.apply(session, ctx, case, user, given)
    if step.to_status is not None:
        case.status = step.to_status
    if case.status != before or step.restarts_clock:
        start_stage(case, ctx.calendar, ctx.settings, ctx.now)
    if case.status not in _ACTIVE or case.department_code != department_before:
        case.extension_until = None  # a request is the requesting department's, for this stage
    if case.status == "dispatched" and (before != "dispatched" or case.department_code != department_before):
        dispatch_notices.restart(case, ctx.now)
    data = {**effect.data, "stage_due_at": as_utc(case.stage_due_at).isoformat() if case.stage_due_at else None}
    case_record.append(session, case, ctx.now, step.name, actor_id=user.id, from_status=before,
                       to_status=case.status, note=note, data=data)
    if effect.survivor is not None:
        case_record.append(session, effect.survivor, ctx.now, "absorb", actor_id=user.id,
                           from_status=effect.survivor.status, to_status=effect.survivor.status, note=note,
                           data={"merged": case.tracking_no, "reporter_id": case.reporter_id})
    publish_departure(session, case, rooms_before, step.name)
    session.flush()
    return effect


# -- checks shared by steps --------------------------------------------------------------------


def _department(session: Session, code: str | None) -> Department:
    if code is None:
        raise WorkflowError(INVALID, "invalid_parameters",
                            "责任清单中没有负责该案件的部门，请选择部门 / no department answers for this case: name one",
                            "department")
    department = session.get(Department, code)
    if department is None:
        raise WorkflowError(INVALID, "invalid_parameters", f"没有部门 {code} / no department {code}", "department")
    return department


def _category_of(session: Session, case: Case) -> Category:
    """The catalogue entry the case was reported under (its version: still there when retired)."""
    return session.scalar(sa.select(Category).where(Category.code == case.category_code,
                                                    Category.version == case.category_version))


def _team(session: Session, department: Department, code: str | None) -> str | None:
    if code is None:
        return None
    team = session.get(Team, code)
    if team is None or team.department_code != department.code:
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"所选队伍不属于该部门 / {code} is not a team of {department.code}", "team")
    return team.code


def _attachments_of(session: Session, case: Case, ids: tuple[int, ...]) -> list[int]:
    """The given attachment ids, each checked to belong to this case."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    storable = [i for i in wanted if 0 < i <= MAX_INTEGER]  # the others are no attachment's id
    query = sa.select(Attachment.id).where(Attachment.case_id == case.id, Attachment.id.in_(storable))
    found = set(session.scalars(query))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"不是本案件的照片：{missing} / not attachments of this case: {missing}", "attachments")
    return wanted
