"""Live events at their edges: failures inside the relay, cases leaving a department, stale and
racing acknowledgements, revocations racing a connection, savepoints.

Each was a defect found by a second reading of the first version (a failing test first). The relay
is pumped by hand, as in tests/events/test_events.py (tests/events/conftest.py).
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gridsvc.cases.deadline_sweep import sweep
from gridsvc.cases import dispatch_notices
from gridsvc.events import outbox
from gridsvc.events.outbox import COMMITTED_CALLBACK
from gridsvc.kernel.models import Case, Event, EventAck, User
from gridsvc.kernel.clock import utcnow
from tests.support import (COMMANDER, OFFICER, at_once, connect, dispatched, events_of, pump, token, town_report,
                           town_step)

COUNTY_BUREAU = "220112000000-CGZF"


# -- 1. the relay: an arrival whose catch-up fails is lost for good ---------------------------------


def test_an_arrival_whose_catch_up_fails_is_admitted_later_or_dropped(town, rt, sample_app, monkeypatch):
    town_report(town)
    pump(rt)
    screen = connect(sample_app, town, COMMANDER, since=0)
    real, failures = outbox.missed, []

    def missed_once(*args, **kwargs):  # the database drops the connection during this one catch-up
        if not failures:
            failures.append(1)
            raise sa.exc.OperationalError("SELECT events", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox, "missed", missed_once)
    other = connect(sample_app, town, OFFICER)
    pump(rt)  # the failure is the one connection's: it is closed (its client reconnects with `since`) …
    assert not screen.is_connected()
    late = town_report(town)
    pump(rt)  # … and the others are admitted and served as usual
    assert [e["data"]["case"]["tracking_no"] for e in events_of(other)] == [late["tracking_no"]]


# -- 3. visibility: the department a case leaves is never told ---------------------------------------


def test_the_officer_handling_a_case_hears_that_it_was_escalated_away(town, rt, sample_app):
    assert town["department"] != COUNTY_BUREAU
    officer = connect(sample_app, town, OFFICER)
    pump(rt)
    number = dispatched(town)
    town_step(town, OFFICER, number, "accept")
    pump(rt)
    officer.get_received()
    town_step(town, COMMANDER, number, "escalate", note="需区级执法", department=COUNTY_BUREAU)
    pump(rt)
    # The step's event goes to the case's rooms after the step (dept:<county bureau>); the township
    # officer whose task list shows the case "handling" hears that it left, and nothing of where to.
    (left,) = events_of(officer)
    assert left["kind"] == "case.left" and left["data"]["action"] == "escalate"
    assert set(left["data"]["case"]) == {"id", "tracking_no"} and left["data"]["case"]["tracking_no"] == number


# -- 5. dispatch notices: acknowledging an old dispatch silences the new one -------------------------


def test_acknowledging_a_previous_dispatch_does_not_acknowledge_the_redispatch(town, rt):
    number = dispatched(town)
    events = town["phone"].get("/api/v1/events?since=0", headers=town["headers"](OFFICER)).get_json()["events"]
    first = next(e for e in events if e["kind"] == "case.dispatched")
    town_step(town, OFFICER, number, "send_back", note="不属本部门")
    town_step(town, COMMANDER, number, "dispatch", department=town["department"])  # re-dispatched: a new notice
    start = utcnow()
    stale = town["phone"].post(f"/mobile/v1/events/{first['seq']}/ack", headers=town["headers"](OFFICER))
    assert stale.status_code == 200  # e.g. a phone's offline queue sending an old acknowledgement
    with rt.sessions() as session:
        acked = session.scalar(sa.select(Case.dispatch_acked_at).where(Case.tracking_no == number))
    result = sweep(rt.sessions, rt.calendar.get(), rt.settings, start + timedelta(minutes=11))
    assert acked is None and result.dispatch_reminders == 1


def test_ten_acknowledgements_of_one_dispatch_at_once_all_succeed_and_count_once(town, rt, sample_app):
    """Issue 14: 2 × 200 and 8 × 503 on PostGIS; the twin's duplicate key surfaced in an autoflush."""
    number = dispatched(town)
    events = town["phone"].get("/api/v1/events?since=0", headers=town["headers"](OFFICER)).get_json()["events"]
    seq = next(e["seq"] for e in events if e["kind"] == "case.dispatched")
    headers = town["headers"](OFFICER)

    def acknowledge():
        return sample_app.test_client().post(f"/mobile/v1/events/{seq}/ack", headers=headers).status_code

    assert at_once([acknowledge] * 10) == [200] * 10
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(EventAck).where(EventAck.seq == seq)) == 1
        kinds = session.scalars(sa.select(Event.kind).where(Event.seq > seq)).all()
        assert kinds.count("event.acknowledged") == 1
        assert session.scalar(sa.select(Case.dispatch_acked_at).where(Case.tracking_no == number)) is not None


# -- 4. auth: the live `ack` does not check the user or token any more -------------------------------


def test_a_deactivated_users_connection_cannot_acknowledge(town, rt, sample_app):
    officer = connect(sample_app, town, OFFICER)
    pump(rt)
    dispatched(town)
    pump(rt)
    dispatch = next(e for e in events_of(officer) if e["kind"] == "case.dispatched")
    with rt.sessions.begin() as session:
        session.execute(sa.update(User).where(User.phone == OFFICER).values(active=False))
    http = town["phone"].post(f"/mobile/v1/events/{dispatch['seq']}/ack", headers=town["headers"](OFFICER))
    assert http.status_code == 401
    live = officer.emit("ack", {"seq": dispatch["seq"]}, callback=True)
    assert "error" in live, live  # answered {"ok": True}: acknowledged, dispatch notice stopped


def test_a_token_revoked_before_the_connection_is_admitted_is_not_caught_up(town, rt, sample_app, recording):
    """The connect handler checks the token, then queues the arrival; a revocation committed (and its
    event relayed) in between is never applied to the arrival: it is caught up and stays live until
    the periodic re-check (60 s)."""
    pump(rt)
    officer = connect(sample_app, town, OFFICER, since=0)
    listener = rt.live.relay._arrivals.popleft()  # the relay has not taken it yet
    from gridsvc.accounts.users import revoke
    with rt.sessions.begin() as session:
        revoke(session, session.scalar(sa.select(User).where(User.phone == OFFICER)))
    pump(rt)  # relays the session.revoked event: the arrival is not among the live connections yet
    rt.live.relay._arrivals.append(listener)
    pump(rt)
    assert ("signed_out", {"reason": "token_revoked"}) in [(n, d) for to, n, d in recording.sent
                                                           if to == listener.sid]
    assert not officer.is_connected()


def test_a_concurrent_change_to_the_case_does_not_spoil_the_live_ack(town, rt, sample_app, monkeypatch):
    """The sweep re-sends a dispatch (a record entry: the case's row version moves) while an officer
    acknowledges it: the acknowledgement is not a change of the case, it goes through."""
    officer = connect(sample_app, town, OFFICER)
    pump(rt)
    number = dispatched(town)
    pump(rt)
    dispatch = next(e for e in events_of(officer) if e["kind"] == "case.dispatched")
    real = dispatch_notices.acknowledgement

    def sweep_meanwhile(*args):
        with rt.sessions.begin() as other:
            other.execute(sa.update(Case).where(Case.tracking_no == number)
                          .values(row_version=Case.row_version + 1))
        return real(*args)

    monkeypatch.setattr(dispatch_notices, "acknowledgement", sweep_meanwhile)
    assert officer.emit("ack", {"seq": dispatch["seq"]}, callback=True) == {"ok": True, "seq": dispatch["seq"]}
    with rt.sessions() as session:
        assert session.scalar(sa.select(Case.dispatch_acked_at).where(Case.tracking_no == number)) is not None


# -- 2. the outbox: savepoints -------------------------------------------------------------------------


def test_a_rolled_back_savepoint_keeps_the_outer_transactions_events(rt, sample_app):
    with rt.sessions() as session:
        before = outbox.head(session)
        session.commit()
        outbox.publish(session, "test.outer", ["public"], {})
        savepoint = session.begin_nested()
        outbox.publish(session, "test.inner", ["public"], {})
        savepoint.rollback()  # forgets the savepoint's own events, not the outer transaction's
        session.commit()
        assert [e.kind for e in outbox.read_after(session, before)] == ["test.outer"]


def test_a_released_savepoint_does_not_signal_before_the_commit(rt, sample_app):
    signals = []
    with rt.sessions() as session:
        session.info[COMMITTED_CALLBACK] = signals.append
        outbox.publish(session, "test.outer", ["public"], {})
        session.begin_nested().commit()  # before_commit/after_commit fire for a savepoint's release too …
        assert signals == []  # … but the events wait for the real commit, and so does the signal
        session.commit()
        assert len(signals) == 1


# -- a sick Redis --------------------------------------------------------------------------------------


def test_a_redis_that_does_not_answer_does_not_hold_up_requests():
    """A server that accepts the connection and never answers: the signal gives up within its timeout
    and is not tried again for a while, so requests that commit events are not held up."""
    import socket
    import time

    from gridsvc.events.wakeup import PUBLISH_TIMEOUT_S, Wakeup

    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen()
        wakeup = Wakeup(f"redis://127.0.0.1:{mute.getsockname()[1]}")
        started = time.monotonic()
        for seq in range(20):
            wakeup.committed(seq)
        assert time.monotonic() - started < 4 * PUBLISH_TIMEOUT_S


def test_a_savepoint_ended_by_a_failed_flush_keeps_the_outer_transactions_events(rt, sample_app):
    from gridsvc.kernel.models import NetworkRevision

    with rt.sessions() as session:
        before = outbox.head(session)
        session.commit()
        outbox.publish(session, "test.outer", ["public"], {})
        with pytest.raises(sa.exc.IntegrityError):
            with session.begin_nested():
                outbox.publish(session, "test.inner", ["public"], {})
                session.add(NetworkRevision(id=1, revision=0))  # row 1 exists: the flush fails
                session.flush()
        session.commit()
        assert [e.kind for e in outbox.read_after(session, before)] == ["test.outer"]


def test_a_catch_up_of_exactly_the_scan_limit_is_complete(rt, sample_app):
    with rt.sessions() as session:
        before = outbox.head(session)
        for n in range(5):
            outbox.publish(session, "test.one", ["public"], {"n": n})
        session.commit()
        head = outbox.head(session)
        whole = outbox.missed(session, frozenset({"public"}), before, head, limit=10, scan_limit=5)
        cut = outbox.missed(session, frozenset({"public"}), before, head, limit=10, scan_limit=4)
    assert (len(whole.events), whole.read_to, whole.complete) == (5, head, True)
    assert (len(cut.events), cut.read_to, cut.complete) == (4, before + 4, False)


class Connecting:
    """A transport whose connection is still in its connect handler for the first `rounds` looks."""

    def __init__(self, rounds: int):
        self.rounds, self.sent, self.joined = rounds, [], []

    def state(self, sid):
        self.rounds -= 1
        return "connecting" if self.rounds >= 0 else "connected"

    def send(self, to, name, data):
        self.sent.append((to, name))

    def join(self, sid, rooms):
        self.joined.append(sid)

    def drop(self, sid):
        raise AssertionError("a connection still connecting must not be dropped")


def test_a_connection_still_in_its_connect_handler_is_admitted_on_a_later_round(town, rt):
    from gridsvc.accounts.users import live_token_digests, valid_access_token
    from gridsvc.cases.audience import rooms_for
    from gridsvc.events.relay import Listener, Relay

    transport = Connecting(rounds=1)
    relay = Relay(rt.sessions, transport, 100, timedelta(seconds=60), live_token_digests)
    with rt.sessions() as session:
        stored = valid_access_token(session, token(town, COMMANDER))
        listener = Listener("sid-1", stored.user_id, stored.token_hash, stored.expires_at,
                            rooms_for(session, stored.user), None)
    relay.arrive(listener)
    relay.pump()
    assert transport.joined == [] and relay.listeners == 0  # still connecting: kept for the next round
    relay.pump()
    assert transport.joined == ["sid-1"] and ("sid-1", "live") in transport.sent
