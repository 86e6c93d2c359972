"""The demo data (`gridsvc fixtures demo`, fixtures/demo.py): accounts to sign in with, cases in every
status made through intake and the workflow, loaded once however often the command runs."""

from datetime import datetime

import pytest
import sqlalchemy as sa

from fixtures.demo import ACCOUNTS, DEMO_PASSWORD, LUXIANG, QIJIA, load_demo
from gridsvc.cases import record as case_record
from gridsvc.accounts.users import create_user, record_attempt, sign_in, user_for_token
from gridsvc.cases.search import CaseFilter, find_cases
from gridsvc.cases.intake import Intake
from gridsvc.kernel.models import Case, CaseEvent, Event, User
from gridsvc.kernel.clock import as_utc

WALKED = ("reported", "filed", "dispatched", "handling", "handled", "verified", "closed")
PHONE = {account.key: account.phone for account in ACCOUNTS}


def _counts(rt) -> tuple[int, ...]:
    with rt.sessions() as session:
        return tuple(session.scalar(sa.select(sa.func.count()).select_from(table))
                     for table in (User, Case, CaseEvent, Event))


def _user(session, key: str) -> User:
    return session.scalar(sa.select(User).where(User.phone == PHONE[key]))


def test_demo_command_loads_people_and_cases_once(sample_app, runner, rt):
    result = runner.invoke(args=["fixtures", "demo"])
    assert result.exit_code == 0, result.output
    assert "60 new" in result.output and "演示账号" in result.output and "demo only" in result.output
    assert DEMO_PASSWORD in result.output and all(a.phone in result.output for a in ACCOUNTS)

    with rt.sessions() as session:
        for account in ACCOUNTS:  # every demo account signs in with the documented password
            attempt = record_attempt(session, account.phone, "127.0.0.1")
            session.commit()
            pair = sign_in(session, attempt, DEMO_PASSWORD, "demo-test")
            session.commit()
            assert user_for_token(session, pair.access_token).role == account.role
        admin = _user(session, "admin")
        total, cases = find_cases(session, admin, CaseFilter(limit=500))
        assert total == 60
        statuses = {c.status for c in cases}
        assert set(WALKED) <= statuses and "rejected" in statuses
        overdue, _ = find_cases(session, admin, CaseFilter(overdue=True))
        assert 1 <= overdue < 15
        assert {c.township_code for c in cases} == {QIJIA, LUXIANG}
        assert case_record.verify(session) == []

        # Each township's commander sees their own township's cases, not the other's.
        qijia, seen = find_cases(session, _user(session, "qijia_commander"), CaseFilter(limit=500))
        luxiang, _ = find_cases(session, _user(session, "luxiang_commander"), CaseFilter(limit=500))
        assert {c.township_code for c in seen} == {QIJIA} and qijia + luxiang == 60 and luxiang > 0
        assert find_cases(session, _user(session, "qijia_commander"), CaseFilter(area=LUXIANG))[0] == 0
        # The grid worker and the departments have work of their own.
        assert find_cases(session, _user(session, "worker"), CaseFilter())[0] > 0
        assert find_cases(session, _user(session, "officer"), CaseFilter(statuses=("handling",)))[0] > 0

    before = _counts(rt)
    again = runner.invoke(args=["fixtures", "demo"])
    assert again.exit_code == 0, again.output
    assert "0 new, 60 there already" in again.output and "(0 new)" in again.output
    assert "another version" not in again.output  # each report found by its UUID, with the same content
    assert _counts(rt) == before


@pytest.mark.parametrize("now", [
    "2026-10-04T09:00:00+08:00",  # 国庆 National Day holiday
    "2026-05-11T08:31:00+08:00",  # a Monday, one minute into office hours
])
def test_the_same_statuses_and_overdue_cases_on_any_day(sample_app, rt, now):
    intake = Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings)
    moment = datetime.fromisoformat(now)
    with rt.sessions() as session:
        summary = load_demo(session, intake, moment, cases=20)
        assert (summary.cases_created, summary.users_created) == (20, len(ACCOUNTS))
        assert all(summary.statuses[s] > 0 for s in WALKED) and summary.statuses["rejected"] == 2
        assert summary.overdue == 2  # exactly the two planned: a case in handling and one never filed
        latest = session.scalar(sa.select(sa.func.max(CaseEvent.at)))
        assert as_utc(latest) <= moment  # a history, nothing in the future

        more = load_demo(session, intake, moment, cases=25)  # the 20 are found again, 5 are added
        assert (more.cases_created, more.cases_existing, more.cases_different, more.users_created) == (5, 20, 0, 0)
        assert case_record.verify(session) == []


def test_the_demo_needs_the_sample_and_its_own_phones(app, runner, rt):
    missing = runner.invoke(args=["fixtures", "demo"])
    assert missing.exit_code == 1 and "gridsvc fixtures load" in missing.output

    from fixtures.sample import load_sample
    with rt.sessions.begin() as session:
        load_sample(session, rt.settings)
        create_user(session, PHONE["qijia_commander"], "真实用户", "county_supervisor", "a real password",
                    admin_code="220112000000")
    taken = runner.invoke(args=["fixtures", "demo", "--cases", "5"])
    assert taken.exit_code == 1 and PHONE["qijia_commander"] in taken.output
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_cases_made_by_another_version_of_the_demo_are_left_alone(sample_app, rt, monkeypatch):
    import fixtures.demo as demo

    intake = Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings)
    moment = datetime.fromisoformat("2026-05-12T10:00:00+08:00")
    with rt.sessions() as session:
        assert load_demo(session, intake, moment, cases=5).cases_created == 5
    before = _counts(rt)
    edited = {code: tuple(f"{text}（补充）" for text in texts) for code, texts in demo.DESCRIPTIONS.items()}
    monkeypatch.setattr(demo, "DESCRIPTIONS", edited)
    with rt.sessions() as session:
        again = load_demo(session, intake, moment, cases=5)
    assert (again.cases_created, again.cases_existing, again.cases_different) == (0, 5, 5)
    assert _counts(rt) == before


def test_the_demo_stays_off_a_database_with_real_accounts(sample_app, runner, rt):
    with rt.sessions.begin() as session:
        create_user(session, "13700000001", "真实指挥长", "township_commander", "a real password",
                    admin_code="220112100000")
    refused = runner.invoke(args=["fixtures", "demo", "--cases", "3"])
    assert refused.exit_code == 1 and "1 accounts of its own" in refused.output
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    allowed = runner.invoke(args=["fixtures", "demo", "--cases", "3", "--beside-real-accounts"])
    assert allowed.exit_code == 0, allowed.output
