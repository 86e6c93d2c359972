"""Declared days: an administrator's working days and days off take precedence, in every process."""

from datetime import date, datetime

from gridsvc.worktime.declared_days import calendar_cache, set_day
from gridsvc.kernel.clock import utcnow
from gridsvc.worktime.calendar import OfficeHours


def test_declared_days_move_deadlines_and_reach_running_processes(app, rt, runner):
    friday_evening = datetime.fromisoformat("2027-01-01T17:00:00+08:00")  # 2027: no official notice yet
    calendar = rt.calendar.get()
    assert not calendar.is_official(date(2027, 1, 1))
    before = calendar.add_working_hours(friday_evening, 1)
    assert before == datetime.fromisoformat("2027-01-04T09:00:00+08:00")  # the weekday guess: Monday

    result = runner.invoke(args=["calendar", "set", "2027-01-04", "--day-off", "--note", "元旦假期 (notice)"])
    assert result.exit_code == 0, result.output
    calendar = rt.calendar.get()  # the test app re-reads at once (index_refresh_seconds=0)
    assert calendar.is_official(date(2027, 1, 4)) and not calendar.is_workday(date(2027, 1, 4))
    assert calendar.add_working_hours(friday_evening, 1) == datetime.fromisoformat("2027-01-05T09:00:00+08:00")

    assert runner.invoke(args=["calendar", "set", "2027-01-02", "--workday"]).exit_code == 0
    listed = runner.invoke(args=["calendar", "list", "--year", "2027"]).output.splitlines()
    assert listed == ["2027-01-02  工作日 working day", "2027-01-04  休息日 day off  元旦假期 (notice)"]
    assert rt.calendar.get().add_working_hours(friday_evening, 1) == datetime.fromisoformat(
        "2027-01-02T09:00:00+08:00")

    assert runner.invoke(args=["calendar", "unset", "2027-01-02"]).exit_code == 0
    assert runner.invoke(args=["calendar", "unset", "2027-01-02"]).exit_code == 1
    assert not rt.calendar.get().is_official(date(2027, 1, 2))


def test_a_process_rereads_declared_days_only_after_its_refresh_delay(rt):
    cache = calendar_cache(rt.sessions, OfficeHours(), refresh_seconds=3600)
    assert cache.get().overrides == {}
    with rt.sessions.begin() as session:
        set_day(session, date(2027, 1, 4), False, None, utcnow())
    assert cache.get().overrides == {}  # still within its delay
    assert calendar_cache(rt.sessions, OfficeHours(), refresh_seconds=0).get().overrides == {date(2027, 1, 4): False}


def test_bad_days_are_refused(runner, app):
    result = runner.invoke(args=["calendar", "set", "2027-13-01", "--workday"])
    assert result.exit_code == 2 and "2027-13-01" in result.output
    assert runner.invoke(args=["calendar", "set", "2027-01-01"]).exit_code == 2  # say which
