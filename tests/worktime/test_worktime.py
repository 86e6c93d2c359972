"""Working time on China's official calendar, across holidays and adjusted workdays (调休).

2026 Mid-Autumn: 25-27 September; National Day: 1-7 October are holidays;
Sunday 20 September and Saturday 10 October are adjusted workdays. Spring Festival 2026: 15-23 February off,
Saturday 14 and Saturday 28 February worked.
"""

from datetime import date, datetime, time, timedelta, timezone

import pytest

from gridsvc.worktime.calendar import CHINA, OfficeHours, WorkCalendar

CAL = WorkCalendar()  # 08:30-12:00 and 13:30-17:30: 7.5 office hours a day


def at(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=CHINA)


@pytest.mark.parametrize("day,workday", [
    ("2026-09-30", True),   # Wednesday before National Day
    ("2026-10-01", False),  # National Day
    ("2026-10-07", False),
    ("2026-10-08", True),
    ("2026-10-10", True),   # Saturday, adjusted workday
    ("2026-09-20", True),   # Sunday, adjusted workday
    ("2026-09-25", False),  # Mid-Autumn Festival, a Friday
    ("2026-10-03", False),  # an ordinary Saturday inside the holiday
    ("2026-02-16", False),  # Spring Festival
    ("2026-02-28", True),   # Saturday, adjusted workday
])
def test_official_workdays(day, workday):
    assert CAL.is_workday(date.fromisoformat(day)) is workday
    assert CAL.is_official(date.fromisoformat(day))


def test_hours_across_national_day():
    # 1.5 h left on 30 September, the other 2.5 h on 8 October after seven days off.
    assert CAL.add_working_hours(at("2026-09-30", "16:00"), 4) == at("2026-10-08", "11:00")


def test_hours_into_an_adjusted_saturday():
    assert CAL.add_working_hours(at("2026-10-09", "17:00"), 1) == at("2026-10-10", "09:00")


def test_a_deadline_falls_on_the_closing_minute_not_after_lunch():
    assert CAL.add_working_hours(at("2026-11-25", "10:00"), 2) == at("2026-11-25", "12:00")
    assert CAL.add_working_hours(at("2026-11-25", "12:00"), 0.5) == at("2026-11-25", "14:00")
    assert CAL.add_working_hours(at("2026-11-25", "17:30"), 0.5) == at("2026-11-26", "09:00")


def test_long_spans_are_counted_whole():
    start, end = at("2026-01-05", "08:30"), at("2036-01-05", "08:30")  # ten years
    days = sum(CAL.is_workday(start.date() + timedelta(days=i)) for i in range((end - start).days))
    assert CAL.working_seconds_between(start, end) == days * 7.5 * 3600
    with pytest.raises(ValueError, match="finite"):
        CAL.add_working_hours(start, float("inf"))


def test_lunch_break_and_evening_do_not_count():
    assert CAL.add_working_hours(at("2026-11-25", "11:30"), 1) == at("2026-11-25", "14:00")
    assert CAL.add_working_hours(at("2026-11-25", "20:00"), 0.5) == at("2026-11-26", "09:00")
    assert CAL.add_working_hours(at("2026-11-25", "20:00"), 0) == at("2026-11-26", "08:30")


def test_working_days_across_national_day():
    # Thu 24 Sep + 5 working days: Mid-Autumn takes 25-27 September, National Day 1-7 October,
    # so Mon 28, Tue 29, Wed 30, Thu 8 and Fri 9 October.
    assert CAL.add_working_days(at("2026-09-24", "10:00"), 5) == at("2026-10-09", "10:00")
    # 20 working days (illegal building demolition) from Monday 1 June 2026; 19 June (Dragon Boat) is off.
    assert CAL.add_working_days(at("2026-06-01", "09:00"), 20) == at("2026-06-30", "09:00")


def test_working_time_between_matches_addition():
    start = at("2026-09-29", "15:20")
    for hours in (0.25, 3, 7.5, 11, 40):
        end = CAL.add_working_hours(start, hours)
        assert CAL.working_seconds_between(start, end) == pytest.approx(hours * 3600)
    assert CAL.working_seconds_between(at("2026-10-02", "09:00"), at("2026-10-06", "17:00")) == 0
    assert CAL.working_seconds_between(at("2026-10-08", "09:00"), at("2026-10-01", "09:00")) == 0


def test_any_time_zone_in_china_time_out():
    utc_start = at("2026-09-30", "16:00").astimezone(timezone.utc)
    assert CAL.add_working_hours(utc_start, 4) == at("2026-10-08", "11:00")
    with pytest.raises(ValueError, match="aware"):
        CAL.add_working_hours(datetime(2026, 9, 30, 16, 0), 1)


def test_year_without_notice_falls_back_to_weekdays_and_says_so():
    day = date(2099, 1, 1)  # no notice for 2099 in any calendar package
    assert not CAL.is_official(day)
    assert CAL.is_workday(day)  # a Thursday, by the weekday rule
    assert not CAL.is_workday(date(2099, 1, 3))  # a Saturday
    declared = WorkCalendar(overrides={day: False, date(2099, 1, 2): False})
    assert declared.is_official(day) and not declared.is_workday(day)
    assert declared.add_working_hours(at("2098-12-31", "17:00"), 1) == at("2099-01-05", "09:00")


def test_custom_office_hours():
    summer = WorkCalendar(OfficeHours(((time(8, 0), time(12, 0)), (time(14, 30), time(18, 0)))))
    assert summer.office_hours.seconds_per_day == 7.5 * 3600
    assert summer.add_working_hours(at("2026-07-01", "11:00"), 2) == at("2026-07-01", "15:30")
    with pytest.raises(ValueError):
        OfficeHours(((time(13, 0), time(12, 0)),))
    assert OfficeHours.parse("08:00-12:00, 14:30-18:00") == summer.office_hours
    for bad in ("8-12", "08:00-12:00-13:00", "13:00-12:00", ""):
        with pytest.raises(ValueError):
            OfficeHours.parse(bad)


def test_no_working_time_at_all_is_an_error():
    always_off = {date(2026, 1, 1) + timedelta(days=i): False for i in range(4 * 366)}
    with pytest.raises(ValueError, match="more than three years ahead"):
        WorkCalendar(overrides=always_off).add_working_hours(at("2026-01-01", "09:00"), 1)
