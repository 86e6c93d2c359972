"""The workflow (gridsvc.cases.workflow) called directly on a session, without HTTP: each step's checks
(status, relation, readiness, reason), what it changes, the record it writes, all in the caller's
transaction (a step flushes, the caller commits). Both backends, the sample county and the `office`
fixture's people. (tests/cases/test_workflow.py checks the same paths through the API.)"""

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gridsvc.cases import record as case_record, view
from gridsvc.cases.attachments import MediaStore, attach
from gridsvc.cases.flags import ARRIVED_FAR_FROM_CASE, LOCATION_UNCONFIRMED
from gridsvc.cases.intake import Intake, Report, submit
from gridsvc.cases.workflow import (COMMANDER, DEPARTMENT, GRID_WORKER, REPORTER, SUPERVISOR, Context, StepInput,
                                    WorkflowError, act, available_steps, relations, reopen)
from gridsvc.catalogue.store import area_chain, responsibility_list
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND
from gridsvc.kernel.models import Case, CaseEvent, Category, Event, User
from tests.support import (COUNTY, LOCAL_CATEGORY, LUXIANG, OFFICE_PHONES, QIJIA, RESERVED_CATEGORY, at, moved,
                           phone_jpeg, photo_required_for)

NOW = at("2026-05-11T09:00")  # a Monday, a working day
LATER = NOW + timedelta(minutes=10)


def person(session, who: str) -> User:
    return session.scalar(sa.select(User).where(User.phone == OFFICE_PHONES[who]))


def context(rt, now=LATER) -> Context:
    return Context(rt.index.get(), rt.calendar.get(), rt.settings, now)


def reported(office, rt, category=LOCAL_CATEGORY, offset=0.0, who="worker") -> str:
    """A case reported through intake (committed): its tracking number."""
    point = office["point"]
    report = Report(str(uuid.uuid4()), category, "村道旁堆放建筑垃圾", point.x + offset, point.y, parse_crs("cgcs2000"), 5.0)
    with rt.sessions() as session:
        case, _ = submit(session, Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings),
                         person(session, who), report, now=NOW)
        session.commit()
        return case.tracking_no


def case_of(session, number: str) -> Case:
    return session.scalar(sa.select(Case).where(Case.tracking_no == number))


def take(rt, who: str, number: str, name: str, now=LATER, **given) -> Case:
    """One step, committed as the API commits it: the case after it."""
    with rt.sessions() as session:
        case = act(session, context(rt, now), person(session, who), case_of(session, number), name, StepInput(**given))
        session.commit()
        return case


def refused(rt, who: str, number: str, name: str, now=LATER, **given) -> WorkflowError:
    """A step refused: its error, after checking that nothing of it was written."""
    with rt.sessions() as session:
        case = case_of(session, number)
        status, seq = case.status, case.record_seq
        with pytest.raises(WorkflowError) as error:
            act(session, context(rt, now), person(session, who), case, name, StepInput(**given))
        session.commit()
    with rt.sessions() as session:
        case = case_of(session, number)
        assert (case.status, case.record_seq) == (status, seq)
    return error.value


def actions(rt, number: str) -> list[str]:
    with rt.sessions() as session:
        return list(session.scalars(sa.select(CaseEvent.action).join(Case).where(Case.tracking_no == number)
                                    .order_by(CaseEvent.seq)))


def test_the_whole_path_from_report_to_closing(office, rt):
    number = reported(office, rt)
    filed = take(rt, "commander", number, "file")
    assert filed.status == "filed" and filed.department_code == office["local"]
    team = f"{office['local']}-T1"
    dispatched = take(rt, "commander", number, "dispatch", team=team)
    assert (dispatched.status, dispatched.department_code, dispatched.team_code) == (
        "dispatched", office["local"], team)
    assert as_utc(dispatched.stage_due_at) == as_utc(dispatched.handling_due_at)
    assert take(rt, "handler", number, "accept").status == "handling"
    assert take(rt, "handler", number, "feedback", note="已清理完毕").status == "handled"
    assert take(rt, "worker", number, "verify").status == "verified"
    closed = take(rt, "commander", number, "close", now=LATER + timedelta(hours=1))
    assert closed.status == "closed" and as_utc(closed.closed_at) == LATER + timedelta(hours=1)
    assert closed.stage_due_at is None
    assert actions(rt, number) == ["report", "file", "dispatch", "accept", "feedback", "verify", "close"]
    with rt.sessions() as session:
        entries = list(session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == closed.id)
                                       .order_by(CaseEvent.seq)))
        assert [(e.from_status, e.to_status) for e in entries[1:3]] == [("reported", "filed"), ("filed", "dispatched")]
        assert entries[1].actor_id == person(session, "commander").id and entries[4].note == "已清理完毕"
        assert case_record.verify(session) == []


def test_a_step_flushes_and_the_caller_commits(office, rt):
    number = reported(office, rt)
    with rt.sessions() as session:
        case = act(session, context(rt), person(session, "commander"), case_of(session, number), "file", StepInput())
        assert (case.status, case.record_seq) == ("filed", 2)
        with rt.sessions() as elsewhere:
            assert (case_of(elsewhere, number).status, case_of(elsewhere, number).record_seq) == ("reported", 1)
        session.commit()
    with rt.sessions() as session:
        assert case_of(session, number).status == "filed"


def test_each_refusal_has_its_kind_and_writes_nothing(office, rt):
    number = reported(office, rt)
    unknown = refused(rt, "commander", number, "teleport")
    assert (unknown.kind, unknown.code) == (NOT_FOUND, "unknown_step")
    not_theirs = refused(rt, "worker", number, "file")
    assert (not_theirs.kind, not_theirs.code) == (FORBIDDEN, "not_permitted")
    assert refused(rt, "other_commander", number, "file").kind == FORBIDDEN  # another township's
    assert refused(rt, "supervisor", number, "file").kind == FORBIDDEN
    too_soon = refused(rt, "commander", number, "close")
    assert (too_soon.kind, too_soon.code) == (CONFLICT, "step_not_allowed")
    no_reason = refused(rt, "commander", number, "reject", note="  ")
    assert (no_reason.kind, no_reason.field) == (INVALID, "note")
    moved_on = refused(rt, "commander", number, "file", expected_seq=5)
    assert (moved_on.kind, moved_on.code) == (CONFLICT, "case_changed")
    assert take(rt, "commander", number, "file", expected_seq=1).status == "filed"


def test_the_steps_offered_follow_the_status_and_how_the_user_stands_to_the_case(office, rt):
    number = reported(office, rt)
    with rt.sessions() as session:
        case = case_of(session, number)
        offered = {who: {s.name for s in available_steps(session, person(session, who), case, LATER)}
                   for who in ("commander", "worker", "supervisor", "handler", "other_commander")}
        assert offered == {"commander": {"file", "reject", "merge", "escalate"}, "worker": {"self_handle"},
                           "supervisor": set(), "handler": set(), "other_commander": set()}
        assert relations(session, person(session, "worker"), case) == {GRID_WORKER, REPORTER}
        assert relations(session, person(session, "commander"), case) == {COMMANDER}
        assert relations(session, person(session, "supervisor"), case) == {SUPERVISOR}
        overdue = as_utc(case.stage_due_at) + timedelta(minutes=1)
        assert "supervise" in {s.name for s in available_steps(session, person(session, "supervisor"), case, overdue)}
    take(rt, "commander", number, "file")
    take(rt, "commander", number, "dispatch")
    with rt.sessions() as session:
        case = case_of(session, number)
        assert relations(session, person(session, "handler"), case) == {DEPARTMENT}
        assert {s.name for s in available_steps(session, person(session, "handler"), case, LATER)} == {
            "accept", "send_back", "request_extension"}


def test_filing_can_correct_the_grid_and_the_case_is_routed_again(office, rt):
    index = rt.index.get()
    grid = office["grid"]
    other = next(c for c in index.cells if c.kind == "base" and c.code.startswith("220112100")
                 and c.village_code != grid.village_code)
    number = reported(office, rt)
    with rt.sessions.begin() as session:
        case_of(session, number).flags = [LOCATION_UNCONFIRMED]
    not_a_grid = refused(rt, "commander", number, "file", grid="220112100999999")
    assert (not_a_grid.kind, not_a_grid.field) == (INVALID, "grid")
    theirs = next(c.code for c in index.cells if c.code.startswith("220112102") and c.kind == "base")
    assert refused(rt, "commander", number, "file", grid=theirs).kind == FORBIDDEN  # outside the jurisdiction
    filed = take(rt, "commander", number, "file", grid=other.code)
    areas = area_chain(index, other.code)
    with rt.sessions() as session:
        route = responsibility_list(session).route(areas, LOCAL_CATEGORY)
    assert (filed.grid_code, filed.village_code, filed.township_code) == (other.code, other.village_code, QIJIA)
    assert filed.department_code == route.department.code and LOCATION_UNCONFIRMED not in filed.flags


def test_a_department_sends_back_and_the_township_dispatches_elsewhere(office, rt):
    number = reported(office, rt)
    take(rt, "commander", number, "file")
    take(rt, "commander", number, "dispatch")
    take(rt, "handler", number, "request_extension", note="需协调", until=NOW + timedelta(days=10))
    back = take(rt, "handler", number, "send_back", note="不属于本部门职责")
    assert (back.status, back.department_code, back.team_code, back.extension_until) == ("filed", None, None, None)
    unnamed = refused(rt, "commander", number, "dispatch")
    assert (unnamed.kind, unnamed.field) == (INVALID, "department")
    assert refused(rt, "commander", number, "dispatch", department=f"{LUXIANG}-ZZZX").field == "department"
    wrong_team = refused(rt, "commander", number, "dispatch", department=office["other_department"],
                         team=f"{office['local']}-T1")
    assert (wrong_team.kind, wrong_team.field) == (INVALID, "team")
    again = take(rt, "commander", number, "dispatch", department=office["other_department"])
    assert again.department_code == office["other_department"]
    assert refused(rt, "handler", number, "accept").kind == FORBIDDEN  # no longer theirs
    assert take(rt, "other_handler", number, "accept").status == "handling"


def test_an_extension_is_asked_by_the_department_and_decided_by_the_township(office, rt):
    number = reported(office, rt)
    for who, name in (("commander", "file"), ("commander", "dispatch"), ("handler", "accept")):
        take(rt, who, number, name)
    with rt.sessions() as session:
        due = as_utc(case_of(session, number).handling_due_at)
    assert refused(rt, "handler", number, "request_extension", note="需协调", until=due).field == "until"
    assert refused(rt, "handler", number, "request_extension", note="需很久", until=LATER + timedelta(days=400)).field \
        == "until"
    until = due + timedelta(days=10)
    asked = take(rt, "handler", number, "request_extension", note="需协调村委会", until=until)
    assert as_utc(asked.extension_until) == until and as_utc(asked.handling_due_at) == due
    pending = refused(rt, "handler", number, "request_extension", note="再次", until=until)
    assert (pending.kind, pending.code) == (CONFLICT, "extension_pending")
    assert refused(rt, "handler", number, "approve_extension").kind == FORBIDDEN
    granted = take(rt, "commander", number, "approve_extension")
    assert as_utc(granted.handling_due_at) == until == as_utc(granted.stage_due_at) and granted.extension_until is None
    assert refused(rt, "commander", number, "approve_extension").code == "no_extension_pending"
    take(rt, "handler", number, "request_extension", note="仍需时间", until=until + timedelta(days=10))
    denied = take(rt, "supervisor", number, "deny_extension", note="不予延期")
    assert as_utc(denied.handling_due_at) == until and denied.extension_until is None


def test_rework_and_a_reopening_send_the_case_back_to_its_department(office, rt):
    number = reported(office, rt)
    for who, name, note in (("commander", "file", None), ("commander", "dispatch", None), ("handler", "accept", None),
                            ("handler", "feedback", "已处理")):
        take(rt, who, number, name, note=note)
    rework = take(rt, "worker", number, "rework", note="现场仍有垃圾")
    assert (rework.status, rework.rework_count) == ("handling", 1)
    take(rt, "handler", number, "feedback", note="已彻底清理")
    with rt.sessions() as session:
        with pytest.raises(WorkflowError) as not_closed:
            reopen(session, context(rt), person(session, "worker"), case_of(session, number), "不满意")
        assert not_closed.value.code == "step_not_allowed"
    take(rt, "commander", number, "verify")
    take(rt, "commander", number, "close")
    reopened_at = LATER + timedelta(days=1)
    with rt.sessions() as session:
        case = case_of(session, number)
        reopen(session, context(rt, reopened_at), person(session, "worker"), case, "仍未清理")
        category = session.scalar(sa.select(Category).where(Category.code == case.category_code,
                                                            Category.version == case.category_version))
        session.commit()
    assert (case.status, case.rework_count, case.closed_at, case.department_code) == (
        "handling", 2, None, office["local"])
    assert as_utc(case.handling_due_at) == rt.calendar.get().add(reopened_at, *category.handling_limit(False))
    assert actions(rt, number)[-3:] == ["verify", "close", "reopen"]


def test_escalation_gives_a_county_department_the_whole_handling_limit(office, rt):
    number = reported(office, rt)
    take(rt, "commander", number, "file")
    to_township = refused(rt, "commander", number, "escalate", note="上报", department=office["local"])
    assert (to_township.kind, to_township.field) == (INVALID, "department")
    escalated = take(rt, "commander", number, "escalate", note="超出乡镇处置能力")
    with rt.sessions() as session:
        expected = responsibility_list(session).route([COUNTY], LOCAL_CATEGORY).department
    assert (escalated.status, escalated.escalated, escalated.department_code) == ("dispatched", True, expected.code)
    assert expected.level == "county"
    assert as_utc(escalated.handling_due_at) == rt.calendar.get().add(LATER, 2, "days")  # 乱堆乱放: 2 days


def test_supervision_is_for_a_case_behind_its_deadline(office, rt):
    number = reported(office, rt)
    take(rt, "commander", number, "file")
    early = refused(rt, "supervisor", number, "supervise", note="请抓紧")
    assert (early.kind, early.code) == (CONFLICT, "not_overdue")
    with rt.sessions() as session:
        late = as_utc(case_of(session, number).stage_due_at) + timedelta(minutes=5)
    supervised = take(rt, "supervisor", number, "supervise", now=late, note="请立即派遣")
    assert (supervised.status, supervised.supervision_count) == ("filed", 1)


def test_a_minor_matter_is_fixed_on_the_spot_with_a_photo_of_its_own_case(office, rt, tmp_path):
    number, other = reported(office, rt), reported(office, rt, offset=0.004)
    store = MediaStore(tmp_path)
    photos = {}
    with rt.sessions() as session:
        for tracking_no in (number, other):
            photo, _ = attach(session, store, rt.settings, case_of(session, tracking_no), person(session, "worker"),
                              phone_jpeg(), LATER)
            photos[tracking_no] = photo.id
        session.commit()
    assert refused(rt, "worker", number, "self_handle", note="已当场清理").field == "attachments"
    wrong_photo = refused(rt, "worker", number, "self_handle", note="已当场清理", attachments=(photos[other],))
    assert (wrong_photo.kind, wrong_photo.field) == (INVALID, "attachments")
    closed = take(rt, "worker", number, "self_handle", note="已当场清理", attachments=(photos[number],))
    assert closed.status == "closed" and as_utc(closed.closed_at) == LATER
    reserved = reported(office, rt, category=RESERVED_CATEGORY)
    not_minor = refused(rt, "worker", reserved, "self_handle", note="已处理", attachments=(photos[number],))
    assert (not_minor.kind, not_minor.code) == (CONFLICT, "not_minor")


def test_duplicates_merge_into_an_open_case_of_the_same_category_and_their_merges_follow(office, rt):
    first, second, survivor = (reported(office, rt) for _ in range(3))
    take(rt, "commander", first, "merge", into=second)
    take(rt, "commander", survivor, "file")
    merged = take(rt, "commander", second, "merge", into=survivor)
    assert merged.tracking_no == survivor  # the case to show next: the survivor
    with rt.sessions() as session:
        assert case_of(session, second).status == "merged"
        target = case_of(session, survivor).id
        assert case_of(session, first).merged_into_id == case_of(session, second).merged_into_id == target
    assert actions(rt, survivor)[-1] == "absorb"
    lone, other_category, rejected = reported(office, rt), reported(office, rt, category="01001"), reported(office, rt)
    take(rt, "commander", rejected, "reject", note="不属于受理范围")
    for into in (other_category, lone, rejected, "20990101-AAAAAAAA", ""):  # other category, itself, closed, none
        error = refused(rt, "commander", lone, "merge", into=into)
        assert (error.kind, error.field) == (INVALID, "into")


def test_a_reserved_matter_goes_to_the_county_department_only(office, rt):
    number = reported(office, rt, category=RESERVED_CATEGORY)
    with rt.sessions() as session:
        case = case_of(session, number)
        assert case.department_code == office["reserved"] and case.reserved_to_county
    take(rt, "commander", number, "file")
    assert refused(rt, "commander", number, "dispatch", department=office["local"]).field == "department"
    assert take(rt, "commander", number, "dispatch").department_code == office["reserved"]
    assert take(rt, "county_handler", number, "accept").status == "handling"


# -- arrival on site far from the case; feedback that needs a photo -------------------------------------------


def handling(office, rt, category=LOCAL_CATEGORY) -> str:
    """A case reported, filed, dispatched to the handler's department and accepted: its tracking number."""
    number = reported(office, rt, category=category)
    take(rt, "commander", number, "file")
    take(rt, "commander", number, "dispatch", department=office["local"])
    take(rt, "handler", number, "accept")
    return number


def screen_flagged(session, number: str) -> bool:
    """What the command screen's row of the case says: flagged or not."""
    row = session.execute(sa.select(*view.screen_row_columns()).where(Case.tracking_no == number)).one()
    return dict(zip(view.SCREEN_ROW_FIELDS, view.screen_row(row, row.lon, row.lat)))["flagged"]


def last_event(session, number: str) -> dict:
    """The data of the newest event about the case (the outbox, written at the commit)."""
    events = session.scalars(sa.select(Event).order_by(Event.seq.desc()))
    return next(e.data for e in events if e.data.get("case", {}).get("tracking_no") == number)


def test_an_arrival_far_from_the_case_flags_it_for_the_commander(office, rt):
    number = handling(office, rt)
    point, gcj02 = office["point"], parse_crs("gcj02")
    near = moved(point, 40)
    arrived = take(rt, "handler", number, "arrive", lon=near.x, lat=near.y, crs=parse_crs("cgcs2000"))
    assert arrived.flags == []
    with rt.sessions() as session:
        assert not screen_flagged(session, number) and last_event(session, number)["case"]["flags"] == []
    far = from_cgcs2000(*moved(point, 0, 2000).coords[0], gcj02)  # 2 km north, as an AMap phone says it
    arrived = take(rt, "handler", number, "arrive", lon=far[0], lat=far[1], crs=gcj02)
    assert arrived.status == "handling" and arrived.flags == [ARRIVED_FAR_FROM_CASE]
    take(rt, "handler", number, "arrive", lon=far[0], lat=far[1], crs=gcj02)  # again: flagged once
    with rt.sessions() as session:
        case = case_of(session, number)
        assert case.flags == [ARRIVED_FAR_FROM_CASE]
        entries = list(session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                                  CaseEvent.action == "arrive")
                                       .order_by(CaseEvent.seq)))
        # Metres, not degrees: 40 m and 2 km, each with the limit it was judged by.
        assert [(e.data["max_distance_m"], e.data["far_from_case"]) for e in entries] == [
            (300.0, False), (300.0, True), (300.0, True)]
        assert entries[0].data["distance_m"] == pytest.approx(40, abs=0.5)
        assert entries[1].data["distance_m"] == pytest.approx(2000, abs=1)
        # What the command screen reads: the case, its row on the map, the event of the step.
        assert view.full(case)["flags"] == [ARRIVED_FAR_FROM_CASE] and screen_flagged(session, number)
        event = last_event(session, number)
        assert event["action"] == "arrive" and event["case"]["flags"] == [ARRIVED_FAR_FROM_CASE]
        assert case_record.verify(session) == []


def test_the_arrival_limit_is_a_setting(office, rt):
    number = handling(office, rt)
    far = moved(office["point"], 2000)
    wide = Context(rt.index.get(), rt.calendar.get(), replace(rt.settings, arrival_max_distance_m=5000.0), LATER)
    with rt.sessions() as session:
        case = act(session, wide, person(session, "handler"), case_of(session, number), "arrive",
                   StepInput(lon=far.x, lat=far.y, crs=parse_crs("cgcs2000")))
        session.commit()
        assert case.flags == []
        entry = session.scalar(sa.select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "arrive"))
        assert (entry.data["max_distance_m"], entry.data["far_from_case"]) == (5000.0, False)


def test_feedback_of_a_category_that_wants_a_photo_needs_one(office, rt, tmp_path):
    before = handling(office, rt)  # reported under the version that asked for no photo
    photo_required_for(rt, LOCAL_CATEGORY)
    number, other = handling(office, rt), handling(office, rt, category="02001")  # 02001: no photo asked
    refusal = refused(rt, "handler", number, "feedback", note="已清理")
    assert (refusal.kind, refusal.code, refusal.field) == (INVALID, "photo_required", "attachments")
    assert refusal.message_zh.startswith("该类事项反馈须附处置照片") and "photo" in refusal.message_en
    assert refused(rt, "handler", number, "feedback", note="已清理", attachments=()).code == "photo_required"
    with rt.sessions() as session:
        photo, _ = attach(session, MediaStore(tmp_path), rt.settings, case_of(session, number),
                          person(session, "handler"), phone_jpeg(), LATER)
        session.commit()
        photo_id = photo.id
    handled = take(rt, "handler", number, "feedback", note="已清理", attachments=(photo_id,))
    assert handled.status == "handled"
    # Unchanged where the catalogue asks for no photo: another category, and a case of the earlier version.
    assert take(rt, "handler", other, "feedback", note="已清理").status == "handled"
    assert take(rt, "handler", before, "feedback", note="已清理").status == "handled"
