"""Live events in one process: the outbox, rooms, catch-up, sign-in checks and acknowledgements.

The relay is pumped by hand here (`events_poll_seconds=0`), so each test says exactly when events
travel; tests/live/test_live_processes.py runs the real loop in server processes with Redis.
"""

import functools
from datetime import timedelta

import sqlalchemy as sa

from gridsvc.accounts.users import ACCESS_LIFETIME, create_user, revoke
from gridsvc.cases.deadline_sweep import sweep
from gridsvc.events import outbox
from gridsvc.kernel.models import Case, Event, User
from gridsvc.kernel.clock import utcnow
from tests.support import (ADMIN, COMMANDER, LUXIANG, LUXIANG_COMMANDER, OFFICER, PASSWORD, STRANGER, WORKER, at_once,
                           connect, dispatched, events_of, pump, received, report_body, town_report, town_step)


# -- the outbox ----------------------------------------------------------------------------------


def test_a_report_writes_its_event_in_its_own_transaction(town, rt):
    case = town_report(town)
    with rt.sessions() as session:
        (event,) = session.scalars(sa.select(Event).where(Event.kind == "case.created")).all()
        assert outbox.head(session) == event.seq
    assert event.data["case"]["tracking_no"] == case["tracking_no"]
    assert event.data["case"]["grid_code"] == town["grid"] and event.data["ack_required"] is False
    grid = town["grid"]
    assert {f"area:{grid[:6]}", f"area:{grid[:9]}", f"area:{grid[:12]}", f"grid:{grid}",
            f"dept:{town['department']}", "admin"} <= set(event.rooms)


def test_a_rolled_back_change_leaves_no_event(rt, sample_app):
    with rt.sessions() as session:
        before = outbox.head(session)  # the sample's network and catalogue changes
        session.commit()
        outbox.publish(session, "test.nothing", ["public"], {})
        session.rollback()
        session.commit()
        assert outbox.head(session) == before == session.scalar(sa.select(sa.func.count(Event.seq)))


def test_numbers_are_gapless_under_concurrent_reports(town, rt):
    headers = [town["headers"](who) for who in (WORKER, COMMANDER)]  # signed in before the race

    def send(number: int) -> int:
        return town["phone"].post("/mobile/v1/reports", json=report_body(town),
                                  headers=headers[number % 2]).status_code

    assert at_once([functools.partial(send, n) for n in range(12)]) == [201] * 12
    with rt.sessions() as session:
        events = session.scalars(sa.select(Event).order_by(Event.seq)).all()
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert outbox.head(session) == len(events)
        created = sorted(e.data["case"]["id"] for e in events if e.kind == "case.created")
        assert created == sorted(session.scalars(sa.select(Case.id)))


# -- rooms: who hears what ------------------------------------------------------------------------


def test_each_screen_hears_exactly_the_cases_it_may_open(town, rt, sample_app):
    listeners = {who: connect(sample_app, town, who) for who in (COMMANDER, OFFICER, STRANGER, LUXIANG_COMMANDER,
                                                                 ADMIN, WORKER)}
    pump(rt)
    with rt.sessions() as session:
        head = outbox.head(session)
    for client in listeners.values():
        assert received(client) == [("live", {"seq": head})]  # from now on: nothing of the past
    case = town_report(town)
    assert pump(rt) == 1
    heard = {who: events_of(client) for who, client in listeners.items()}
    for who in (COMMANDER, OFFICER, ADMIN, WORKER):
        assert [(e["kind"], e["data"]["case"]["tracking_no"]) for e in heard[who]] == \
            [("case.created", case["tracking_no"])], who
    assert heard[STRANGER] == [] and heard[LUXIANG_COMMANDER] == []


def test_a_dispatch_reaches_the_team_and_the_network_change_everyone(town, rt, sample_app):
    with rt.sessions.begin() as session:
        team = session.scalars(sa.select(sa.text("code")).select_from(sa.text("teams"))
                               .where(sa.text("department_code = :d")).params(d=town["department"])).first()
        create_user(session, "13800000013", "中队员", "enforcement_officer", PASSWORD,
                    department_code=town["department"], team_code=team)
    squad = connect(sample_app, town, "13800000013")
    pump(rt)
    squad.get_received()
    number = town_report(town)["tracking_no"]
    town_step(town, COMMANDER, number, "file")
    town_step(town, COMMANDER, number, "dispatch", team=team)
    pump(rt)
    kinds = [(e["kind"], e["data"]["case"]["team_code"]) for e in events_of(squad)]
    assert kinds == [("case.created", None), ("case.status_changed", None), ("case.dispatched", team)]
    with rt.sessions.begin() as session:
        from gridsvc.network.store import bump_revision
        bump_revision(session)
    pump(rt)
    assert [e["kind"] for e in events_of(squad)] == ["network.changed"]


# -- no lost events --------------------------------------------------------------------------------


def test_a_screen_that_missed_100_events_gets_each_once_in_order(town, rt, sample_app):
    screen = connect(sample_app, town, COMMANDER)
    pump(rt)
    first = town_report(town)
    pump(rt)
    seen = events_of(screen)
    assert [e["data"]["case"]["tracking_no"] for e in seen] == [first["tracking_no"]]
    last = seen[-1]["seq"]
    screen.disconnect()
    pump(rt)
    missed = [town_report(town)["tracking_no"] for _ in range(60)]
    for _ in range(20):
        missed.append(town_report(town, STRANGER)["tracking_no"])  # another township's: not for this screen
    for number in missed[:40]:  # 40 filings: 100 events for this screen in all
        town_step(town, COMMANDER, number, "file")
    screen = connect(sample_app, town, COMMANDER, since=last)
    more = town_report(town)  # committed after the connection, before the relay's next round
    pump(rt)
    late = town_report(town)
    pump(rt)
    messages = received(screen)
    names = [name for name, _ in messages]
    assert names.count("live") == 1
    caught_up = [m for name, m in messages[:names.index("live")] if name == "event"]
    assert len(caught_up) == 101  # 60 reports and 40 filings of this township, then `more`
    assert [e["seq"] for e in caught_up] == sorted(e["seq"] for e in caught_up)
    assert caught_up[-1]["data"]["case"]["tracking_no"] == more["tracking_no"]
    after = [m for name, m in messages[names.index("live") + 1:] if name == "event"]
    assert [e["data"]["case"]["tracking_no"] for e in after] == [late["tracking_no"]]
    every = [e["seq"] for e in caught_up + after]
    assert len(every) == len(set(every)) and every == sorted(every)
    assert messages[names.index("live")][1]["seq"] == caught_up[-1]["seq"]


def test_the_same_catch_up_over_http(town, rt):
    numbers = [town_report(town)["tracking_no"] for _ in range(5)]
    town_report(town, STRANGER)
    client, headers = town["phone"], town["headers"](COMMANDER)
    with rt.sessions() as session:
        since = outbox.head(session) - 6  # after the sample's network and catalogue changes
    got = []
    while True:
        page = client.get(f"/api/v1/events?since={since}&limit=2", headers=headers).get_json()
        got += page["events"]
        since = page["next"]
        if since == page["head"]:
            break
    assert [e["data"]["case"]["tracking_no"] for e in got if e["kind"] == "case.created"] == numbers
    theirs = client.get("/mobile/v1/events?since=0", headers=town["headers"](STRANGER)).get_json()["events"]
    assert [e["data"]["case"]["township_code"] for e in theirs if e["kind"].startswith("case.")] == [LUXIANG]
    wrong = client.get(f"/api/v1/events?since={since + 5}", headers=headers)
    assert wrong.status_code == 422 and "since" in wrong.get_json()["error"]["fields"]


def test_too_far_behind_or_unknown_numbers_are_told_to_reload(town, rt, sample_app):
    rt.live.relay._catch_up_limit = 3
    for _ in range(5):
        town_report(town)
    behind = connect(sample_app, town, COMMANDER, since=0)
    ahead = connect(sample_app, town, COMMANDER, since=999)
    pump(rt)
    assert [name for name, _ in received(behind)] == ["resync", "live"]
    assert [name for name, _ in received(ahead)] == ["resync", "live"]


# -- signing in, and out ----------------------------------------------------------------------------


def test_a_connection_needs_a_valid_token_and_a_proper_since(town, rt, sample_app):
    socketio = rt.live.socketio
    assert not socketio.test_client(sample_app, auth={"token": "nonsense"}).is_connected()
    assert not socketio.test_client(sample_app).is_connected()
    assert not connect(sample_app, town, COMMANDER, since="12").is_connected()
    assert not connect(sample_app, town, COMMANDER, since=-1).is_connected()
    assert connect(sample_app, town, COMMANDER, since=0).is_connected()


def test_revoking_a_phone_drops_its_live_connection_at_once(town, rt, sample_app, recording):
    officer, commander = connect(sample_app, town, OFFICER), connect(sample_app, town, COMMANDER)
    pump(rt)
    with rt.sessions.begin() as session:
        revoke(session, session.scalar(sa.select(User).where(User.phone == OFFICER)))
    pump(rt)
    assert [(name, data) for _, name, data in recording.sent if name == "signed_out"] == [
        ("signed_out", {"reason": "token_revoked"})]
    assert not officer.is_connected() and commander.is_connected()
    assert rt.live.relay.listeners == 1


def test_an_expired_token_ends_the_connection(town, rt, sample_app, recording):
    screen = connect(sample_app, town, COMMANDER)
    pump(rt)
    rt.live.relay.pump(utcnow() + ACCESS_LIFETIME + timedelta(seconds=1))
    assert ("signed_out", {"reason": "token_expired"}) in [(name, data) for _, name, data in recording.sent]
    assert not screen.is_connected()


# -- dispatch notices --------------------------------------------------------------------------------


def test_an_officer_acknowledges_a_dispatch_over_the_live_channel(town, rt, sample_app):
    officer, stranger = connect(sample_app, town, OFFICER), connect(sample_app, town, STRANGER)
    pump(rt)
    dispatched(town)
    pump(rt)
    dispatch = next(e for e in events_of(officer) if e["kind"] == "case.dispatched")
    assert dispatch["data"]["ack_required"] is True
    assert stranger.emit("ack", {"seq": dispatch["seq"]}, callback=True)["error"]["code"] == "not_found"
    assert officer.emit("ack", {"seq": dispatch["seq"] - 1}, callback=True)["error"]["code"] == "not_acknowledgeable"
    assert officer.emit("ack", {"seq": "x"}, callback=True)["error"]["code"] == "invalid_parameters"
    assert officer.emit("ack", {"seq": dispatch["seq"]}, callback=True) == {"ok": True, "seq": dispatch["seq"]}
    again = town["phone"].post(f"/mobile/v1/events/{dispatch['seq']}/ack", headers=town["headers"](OFFICER))
    assert again.status_code == 200
    pump(rt)
    acknowledged = [e for e in events_of(officer) if e["kind"] == "event.acknowledged"]
    assert len(acknowledged) == 1 and acknowledged[0]["data"]["seq"] == dispatch["seq"]
    with rt.sessions() as session:
        assert session.scalar(sa.select(Case.dispatch_acked_at)) is not None


def test_unacknowledged_dispatches_are_resent_then_shown_to_the_commander(town, rt):
    number = dispatched(town)
    settings, calendar = rt.settings, rt.calendar.get()
    start = utcnow()
    first = sweep(rt.sessions, calendar, settings, start + timedelta(minutes=5))
    assert (first.dispatch_reminders, first.dispatch_alerts) == (0, 0)
    resent = sweep(rt.sessions, calendar, settings, start + timedelta(minutes=11))
    assert resent.dispatch_reminders == 1
    assert sweep(rt.sessions, calendar, settings, start + timedelta(minutes=12)).dispatch_reminders == 0
    alerted = sweep(rt.sessions, calendar, settings, start + timedelta(minutes=31))
    assert (alerted.dispatch_reminders, alerted.dispatch_alerts) == (0, 1)
    commander = town["phone"].get("/api/v1/events?since=0", headers=town["headers"](COMMANDER)).get_json()["events"]
    kinds = [e["kind"] for e in commander if e["data"].get("case", {}).get("tracking_no") == number]
    assert kinds[-2:] == ["case.dispatch_reminder", "case.dispatch_unacknowledged"]
    reminder = next(e for e in commander if e["kind"] == "case.dispatch_reminder")
    assert town["phone"].post(f"/api/v1/events/{reminder['seq']}/ack",
                              headers=town["headers"](OFFICER)).status_code == 200
    later = sweep(rt.sessions, calendar, settings, start + timedelta(minutes=60))
    assert (later.dispatch_reminders, later.dispatch_alerts) == (0, 0)


def test_accepting_the_case_ends_the_reminders(town, rt):
    number = dispatched(town)
    town["phone"].post(f"/mobile/v1/cases/{number}/steps/accept", json={}, headers=town["headers"](OFFICER))
    result = sweep(rt.sessions, rt.calendar.get(), rt.settings, utcnow() + timedelta(minutes=45))
    assert (result.dispatch_reminders, result.dispatch_alerts) == (0, 0)


# -- keeping the outbox small ------------------------------------------------------------------------


def test_pruned_events_make_a_late_screen_reload(town, rt, sample_app, runner):
    numbers = [town_report(town)["tracking_no"] for _ in range(3)]
    with rt.sessions.begin() as session:
        session.execute(sa.update(Event).values(at=utcnow() - timedelta(days=40)))
        head = outbox.head(session)
    result = runner.invoke(args=["events", "prune", "--keep-days", "30"])
    assert result.exit_code == 0 and f"{head - 1} events deleted" in result.output
    listed = runner.invoke(args=["events", "list", "--since", "0"]).output.splitlines()
    assert len(listed) == 1 and numbers[-1] in listed[0]  # the newest is kept: the numbering stays anchored
    late = connect(sample_app, town, COMMANDER, since=head - 3)
    current = connect(sample_app, town, COMMANDER, since=head - 1)
    pump(rt)
    assert [m for m in received(late) if m[0] == "resync"] == [("resync", {"seq": head, "reason": "pruned"})]
    assert [(name, e["seq"]) for name, e in received(current)] == [("event", head), ("live", head)]
    polled = town["phone"].get(f"/api/v1/events?since={head - 3}", headers=town["headers"](COMMANDER))
    assert polled.status_code == 409 and polled.get_json()["error"]["code"] == "resync_required"
    fresh = town["phone"].get(f"/api/v1/events?since={head - 1}", headers=town["headers"](COMMANDER)).get_json()
    assert [e["seq"] for e in fresh["events"]] == [head]


def test_a_patrol_is_heard_by_its_grids_screens(town, rt, sample_app):
    commander, stranger = connect(sample_app, town, COMMANDER), connect(sample_app, town, LUXIANG_COMMANDER)
    pump(rt)
    patrol = "6f1c1f9e-5d43-4c1e-9a57-2d6f1c0e7b41"
    started = town["phone"].post("/mobile/v1/patrols", json={"client_uuid": patrol}, headers=town["headers"](WORKER))
    assert started.status_code == 201, started.get_json()
    town["phone"].post(f"/mobile/v1/patrols/{patrol}/stop", json={}, headers=town["headers"](WORKER))
    pump(rt)
    heard = events_of(commander)
    assert [e["kind"] for e in heard] == ["patrol.started", "patrol.stopped"]
    assert heard[0]["data"]["grid_codes"] == [town["grid"]] and heard[1]["data"]["ended_at"] is not None
    assert events_of(stranger) == []
