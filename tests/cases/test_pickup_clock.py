"""The case sheet's clock of a dispatched case (待签收) is the 签收 deadline, in minutes after the dispatch
(`dispatch_alert_minutes`, gridsvc.cases.sheet.pickup_clock), not the handling deadline; once the
department has picked it up (签收), the handling deadline (处置时限) is the clock."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from gridsvc.cases.sheet import pickup_clock
from gridsvc.kernel.config import Settings
from tests.support import report, step

SENT = datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)


def test_a_dispatched_case_is_due_to_be_picked_up_within_the_alert_minutes():
    settings = Settings(dispatch_alert_minutes=30)
    case = SimpleNamespace(status="dispatched", dispatched_at=SENT, dispatch_acked_at=None)
    clock = pickup_clock(case, settings, SENT + timedelta(minutes=12))
    assert clock == {"stage_zh": "签收时限", "due_at": (SENT + timedelta(minutes=30)).isoformat(), "minutes_left": 18,
                     "overdue": False, "acknowledged_at": None}
    late = pickup_clock(SimpleNamespace(status="dispatched", dispatched_at=SENT, dispatch_acked_at=SENT),
                        settings, SENT + timedelta(minutes=45))
    assert (late["minutes_left"], late["overdue"], late["acknowledged_at"]) == (-15, True, SENT.isoformat())
    assert pickup_clock(SimpleNamespace(status="handling", dispatched_at=SENT), settings, SENT) is None


def test_the_sheet_shows_the_pickup_deadline_until_the_case_is_accepted(office, rt):
    case = report(office)
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch")
    sheet = office["client"].get(f"/api/v1/screen/cases/{case['tracking_no']}/sheet",
                                 headers=office["headers"]("commander")).get_json()
    assert sheet["case"]["status_name_zh"] == "待签收"
    assert sheet["clock"]["stage_zh"] == "签收时限" and "working_hours_left" not in sheet["clock"]
    minutes = rt.settings.dispatch_alert_minutes
    assert minutes - 2 <= sheet["clock"]["minutes_left"] <= minutes and not sheet["clock"]["overdue"]
    step(office, "handler", case, "accept")
    accepted = office["client"].get(f"/api/v1/screen/cases/{case['tracking_no']}/sheet",
                                    headers=office["headers"]("commander")).get_json()
    assert accepted["clock"]["stage_zh"] == "处置时限" and accepted["clock"]["due_at"] == sheet["case"]["handling_due_at"]


def test_the_case_file_states_the_pickup_deadline_of_a_case_not_yet_accepted(office, rt):
    """The 案卷 says what the sheet says: 签收时限 for a case still 待签收, never 处置时限."""
    import sqlalchemy as sa

    from gridsvc.cases.case_file import case_file
    from gridsvc.kernel.clock import utcnow
    from gridsvc.kernel.models import Case, User
    from tests.support import OFFICE_PHONES

    case = report(office)
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch")

    def deadlines():
        with rt.sessions() as session:
            viewer = session.scalar(sa.select(User).where(User.phone == OFFICE_PHONES["commander"]))
            found = session.scalar(sa.select(Case).where(Case.tracking_no == case["tracking_no"]))
            return dict(case_file(session, rt.calendar.get(), rt.settings, viewer, found, utcnow()).deadlines)

    waiting = deadlines()
    assert "签收时限" in waiting and "处置时限" not in waiting
    assert "分钟" in waiting["签收时限"]
    step(office, "handler", case, "accept")
    accepted = deadlines()
    assert "处置时限" in accepted and "签收时限" not in accepted
