"""The deadline sweep: warnings, overdue marks and county alerts in working time, once each, on both backends."""

import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa

from gridsvc.cases import record as case_record
from gridsvc.accounts.users import create_user
from gridsvc.cases.deadline_sweep import SweepResult, sweep
from gridsvc.geo.crs import parse_crs
from gridsvc.cases.intake import Intake, Report, submit
from gridsvc.kernel.models import Case, CaseEvent
from gridsvc.cases.stage_clock import start_stage
from tests.support import at_once

CST = "+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + CST)


@pytest.fixture
def new_case(sample_app, rt):
    """Make cases of a 齐家镇 grid and put them in a stage that started at a chosen moment."""
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.code.startswith("220112100") and c.kind == "base")
    point = index.geometry(position).representative_point()
    with rt.sessions.begin() as session:
        worker = create_user(session, "13800000003", "网格员小王", "grid_worker", "correct horse battery",
                             grid_codes=[index.cells[position].code])
        worker_id = worker.id

    def make(status: str, stage_start: datetime, handling_due: datetime | None = None) -> int:
        with rt.sessions() as session:
            reporter = session.get(type(worker), worker_id)
            report = Report(str(uuid.uuid4()), "02004", "乱堆乱放", point.x, point.y, parse_crs("cgcs2000"))
            case, _ = submit(session, Intake(index, rt.calendar.get(), rt.rules.get(), rt.settings), reporter, report)
            case.status = status
            if handling_due is not None:
                case.handling_due_at = handling_due
            start_stage(case, rt.calendar.get(), rt.settings, stage_start)
            session.commit()
            return case.id

    return make


def entries(rt, case_id: int) -> list[str]:
    with rt.sessions() as session:
        query = sa.select(CaseEvent.action).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
        return list(session.scalars(query))


def run(rt, moment: datetime):
    return sweep(rt.sessions, rt.calendar.get(), rt.settings, moment)


def test_verification_clock_stops_over_national_day(rt, new_case):
    case_id = new_case("handled", at("2026-09-30T17:00:00"))  # 2 working hours to verify
    with rt.sessions() as session:
        case = session.get(Case, case_id)
        assert case.stage_due_at == at("2026-10-08T10:00:00")  # half an hour on 30 Sept, 90 min after the holiday
        assert case.stage_warn_at == at("2026-10-08T09:36:00")  # 80 % of 120 working minutes
    assert run(rt, at("2026-10-05T12:00:00")).warned == 0  # mid-holiday: the clock is not running
    assert run(rt, at("2026-10-08T09:40:00")).warned == 1
    assert run(rt, at("2026-10-08T09:50:00")).warned == 0  # once per stage
    assert run(rt, at("2026-10-08T10:00:00")).overdue == 1
    assert run(rt, at("2026-10-09T09:59:00")).county_alerted == 0
    assert run(rt, at("2026-10-09T10:00:00")).county_alerted == 1  # one working day (7.5 h) later
    assert run(rt, at("2026-10-20T10:00:00")).county_alerted == 0
    assert entries(rt, case_id)[-3:] == ["deadline_warning", "overdue", "county_alert"]
    with rt.sessions() as session:
        case = session.get(Case, case_id)
        assert case.overdue_level == 2
        notes = session.scalars(sa.select(CaseEvent.data).where(CaseEvent.case_id == case_id,
                                                                CaseEvent.action != "report").order_by(CaseEvent.seq))
        assert [n["notify"] for n in notes] == [["grid_worker"], ["grid_worker", "township"], ["county"]]
        assert case_record.verify(session) == []


def test_county_alert_falls_on_an_adjusted_saturday(rt, new_case):
    case_id = new_case("handling", at("2026-10-09T09:00:00"), handling_due=at("2026-10-09T16:00:00"))
    assert run(rt, at("2026-10-09T16:00:00")).overdue == 1
    # 1.5 h on Friday, then Saturday 10 October is a working day (调休): 3.5 h + 2.5 h → 16:00.
    assert run(rt, at("2026-10-10T15:59:00")).county_alerted == 0
    assert run(rt, at("2026-10-10T16:00:00")).county_alerted == 1
    assert entries(rt, case_id)[-2:] == ["overdue", "county_alert"]


def test_a_new_stage_restarts_the_clock(rt, new_case):
    case_id = new_case("filed", at("2026-11-20T09:00:00"))  # 30 working minutes to dispatch
    assert run(rt, at("2026-11-20T09:31:00")).overdue == 1
    with rt.sessions.begin() as session:
        case = session.get(Case, case_id)
        case.status = "handling"
        start_stage(case, rt.calendar.get(), rt.settings, at("2026-11-20T09:40:00"))
        assert case.overdue_level == 0 and not case.stage_warned
    assert run(rt, at("2026-11-20T09:41:00")).overdue == 0  # handling is due when the category says


def test_closed_cases_are_left_alone(rt, new_case):
    case_id = new_case("closed", at("2026-11-20T09:00:00"))
    assert run(rt, at("2027-01-01T09:00:00")) == SweepResult()
    assert entries(rt, case_id) == ["report"]


def test_sweeps_running_at_once_mark_each_case_once(rt, new_case):
    cases = [new_case("filed", at("2026-11-20T09:00:00")) for _ in range(12)]
    results = at_once([lambda: run(rt, at("2026-11-23T09:00:00"))] * 4)
    assert sum(r.overdue for r in results) == 12
    for case_id in cases:
        assert entries(rt, case_id).count("overdue") == 1
    assert run(rt, at("2026-11-23T09:00:00")).overdue == 0
    with rt.sessions() as session:
        assert case_record.verify(session) == []


def test_sweep_command_reports_what_it_did(rt, new_case, runner):
    new_case("filed", at("2026-11-20T09:00:00"))
    result = runner.invoke(args=["cases", "sweep", "--now", "2026-11-23T09:00:00+0800"])
    assert result.exit_code == 0, result.output
    assert "0 warned, 1 overdue, 0 county alerts" in result.output
