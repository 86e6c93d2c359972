"""One rule for transactions (gridsvc.kernel): the adapter commits, a domain function only flushes, and a
race the database settles is settled inside a SAVEPOINT of the caller's transaction. On both backends:
on SQLite a savepoint must not end the caller's transaction (gridsvc.kernel.db._begin_before_savepoint).
"""

import threading
import uuid

import sqlalchemy as sa

from gridsvc.cases import intake as intake_module
from gridsvc.cases.acks import acknowledge
from gridsvc.cases.intake import Report, submit
from gridsvc.cases.workflow import Context, StepInput, act
from gridsvc.geo.crs import parse_crs
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import Case, CaseEvent, Event, EventAck, User
from tests.support import at_once, report, step

WORKER, COMMANDER, HANDLER = "13800000003", "13800000001", "13800000006"  # of the office fixture


def counts(rt) -> dict[str, int]:
    """Rows of everything a report, a step or an acknowledgement writes, seen from a new session."""
    with rt.sessions() as session:
        return {model.__name__: session.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (Case, CaseEvent, Event, EventAck)}


def user(session, phone: str) -> User:
    return session.scalar(sa.select(User).where(User.phone == phone))


def a_report(office, client_uuid: str | None = None) -> Report:
    point = office["point"]
    return Report(client_uuid or str(uuid.uuid4()), "02004", "村道旁堆放建筑垃圾", point.x, point.y,
                  parse_crs("cgcs2000"), 5.0)


def current_intake(rt) -> intake_module.Intake:
    return intake_module.Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings)


def test_a_report_in_a_transaction_the_caller_rolls_back_leaves_nothing(office, rt):
    before = counts(rt)
    sent = a_report(office)
    with rt.sessions() as session:
        reporter = user(session, WORKER)  # a read first, as a view's sign-in check is
        case, created = submit(session, current_intake(rt), reporter, sent)
        assert created and case.id is not None  # flushed: the case, its record entry and its event exist here
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == before["Case"] + 1
        assert counts(rt) == before  # and nowhere else: intake did not commit
        session.rollback()
    assert counts(rt) == before
    with rt.sessions() as session:  # the client UUID is free again: the same report is new
        _, created = submit(session, current_intake(rt), user(session, WORKER), sent)
        session.commit()
    assert created and counts(rt)["Case"] == before["Case"] + 1


def test_a_workflow_step_rolled_back_leaves_the_case_as_it_was(office, rt):
    number = report(office)["tracking_no"]
    before = counts(rt)
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        context = Context(rt.index.get(), rt.calendar.get(), rt.settings, utcnow())
        act(session, context, user(session, COMMANDER), case, "file", StepInput())
        assert (case.status, case.record_seq) == ("filed", 2)
        session.rollback()
    assert counts(rt) == before
    with rt.sessions() as session:
        case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
        assert (case.status, case.record_seq) == ("reported", 1)


def test_an_acknowledgement_rolled_back_is_not_kept(office, rt):
    case = report(office)
    step(office, "commander", case, "file")
    step(office, "commander", case, "dispatch")
    with rt.sessions() as session:
        seq = session.scalar(sa.select(Event.seq).where(Event.kind == "case.dispatched"))
    before = counts(rt)
    with rt.sessions() as session:
        ack = acknowledge(session, user(session, HANDLER), seq, utcnow())
        assert ack.seq == seq
        session.rollback()
    assert counts(rt) == before  # no acknowledgement, no `event.acknowledged`, the dispatch still waiting
    answer = office["client"].post(f"/api/v1/events/{seq}/ack", headers=office["headers"]("handler"))
    assert answer.status_code == 200, answer.get_json()
    after = counts(rt)
    assert (after["EventAck"], after["Event"]) == (before["EventAck"] + 1, before["Event"] + 1)


def test_two_sessions_submitting_one_report_at_once_make_one_case(office, rt, monkeypatch):
    """Both pass the check for an existing case before either writes (a barrier holds them there), so
    one of them must lose at the unique client UUID and find the winner's case."""
    sent = a_report(office)
    reads = []
    existing, new_case = intake_module._existing, intake_module._new_case
    both_checked = threading.Barrier(2, timeout=30)

    def counted_existing(*args):
        reads.append(args[1])
        return existing(*args)

    def new_case_once_both_checked(*args):
        both_checked.wait()
        return new_case(*args)
    monkeypatch.setattr(intake_module, "_existing", counted_existing)
    monkeypatch.setattr(intake_module, "_new_case", new_case_once_both_checked)

    def send():
        with rt.sessions() as session:
            case, created = submit(session, current_intake(rt), user(session, WORKER), sent)
            session.commit()
            return case.tracking_no, created

    results = at_once([send, send])
    assert len({number for number, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, True]
    assert len(reads) == 3  # each checked once; the loser read again after its savepoint was rolled back
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)
                              .where(Case.client_uuid == sent.client_uuid)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(CaseEvent)) == 1


def test_a_lost_race_rolls_back_only_its_savepoint(office, rt, monkeypatch):
    """The caller's earlier writes survive when intake loses a race: the winner's case committed after
    this session had checked for it (the check is made to miss it once)."""
    shared = a_report(office)
    with rt.sessions() as session:
        winner, _ = submit(session, current_intake(rt), user(session, WORKER), shared)
        session.commit()
    existing = intake_module._existing
    missed = []

    def missing_once(session, client_uuid, content_hash):
        if client_uuid == shared.client_uuid and not missed:
            missed.append(client_uuid)
            return None  # as if checked just before the winner committed
        return existing(session, client_uuid, content_hash)
    monkeypatch.setattr(intake_module, "_existing", missing_once)
    own = a_report(office)
    with rt.sessions() as session:
        reporter = user(session, WORKER)
        mine, created_mine = submit(session, current_intake(rt), reporter, own)
        found, created = submit(session, current_intake(rt), reporter, shared)  # stops at the unique UUID
        assert (created_mine, created, found.id) == (True, False, winner.id) and missed
        session.commit()
    with rt.sessions() as session:
        numbers = set(session.scalars(sa.select(Case.tracking_no)))
    assert numbers == {winner.tracking_no, mine.tracking_no}
