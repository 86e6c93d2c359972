"""Live events as deployed: two gunicorn servers (gevent workers), one Redis, real Socket.IO clients.

A report accepted by one server reaches the allowed screens on both, and no screen of another
township; a screen that was away catches up exactly once, in order; the deadline sweep run as a
separate process reaches the screens too. Both databases (conftest's `database_url`).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import requests
import socketio

from bench.serving import gunicorn
from gridsvc.network.store import utcnow
from test_events import ADMIN, LUXIANG_COMMANDER, report, token, town  # noqa: F401
from test_mobile_api import COMMANDER, OFFICER, STRANGER, field, report_body  # noqa: F401

REDIS_URL = os.environ.get("GRIDSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"Redis not available: {exc}")
    return REDIS_URL


def service_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {"GRIDSVC_DATABASE_URL": database_url, "GRIDSVC_EVENTS_REDIS_URL": redis_url,
            "GRIDSVC_EVENTS_POLL_SECONDS": "30"}  # long: what arrives quickly came through Redis


@pytest.fixture
def servers(town, database_url, redis_url, tmp_path):
    env = service_env(database_url, redis_url)
    serving = ["--worker-class", "gevent", "--workers", "1"]
    with gunicorn("gridsvc.wsgi:app", env, serving, tmp_path / "one.log") as one, \
            gunicorn("gridsvc.wsgi:app", env, serving, tmp_path / "two.log") as two:
        yield one, two


def handle_in_arrival_order(client: socketio.Client) -> None:
    """Make `client` run its handlers one at a time, in the order the messages arrived.

    python-engineio's client starts a new thread for every message it receives, so under load two
    events that arrived in order can be noted the other way round: a screen then seemed to hear
    …72, 74, 73… from a server that sent them in order (seen once in three suite runs). The
    command screen's Socket.IO client in the browser handles messages one by one; so does this one,
    in the thread that reads the connection (the handlers here only take notes)."""
    trigger = client.eio._trigger_event

    def in_order(event, *args, **kwargs):
        return trigger(event, *args, **{**kwargs, "run_async": False})

    client.eio._trigger_event = in_order


class Screen:
    """A Socket.IO client as the command screen is one: connects with its token, notes what it hears."""

    def __init__(self, base: str, access_token: str, since: int | None = None):
        self.messages: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        handle_in_arrival_order(self.client)
        for name in ("event", "live", "resync", "signed_out"):
            self.client.on(name, functools.partial(self._note, name))
        auth = {"token": access_token, **({"since": since} if since is not None else {})}
        self.client.connect(base, auth=auth, transports=["websocket"], wait_timeout=10)

    def _note(self, name: str, data: dict) -> None:
        with self._lock:
            self.messages.append((name, data))

    def events(self) -> list[dict]:
        with self._lock:
            return [data for name, data in self.messages if name == "event"]

    def heard(self, name: str) -> bool:
        with self._lock:
            return any(n == name for n, _ in self.messages)

    def cases(self, kind: str = "case.created") -> list[str]:
        return [e["data"]["case"]["tracking_no"] for e in self.events() if e["kind"] == kind]

    def close(self) -> None:
        self.client.disconnect()


def eventually(check, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def submit(base: str, town, who=COMMANDER) -> str:
    answer = requests.post(f"{base}/mobile/v1/reports", json=report_body(town), timeout=30,
                           headers={"Authorization": f"Bearer {token(town, who)}"})
    assert answer.status_code == 201, answer.text
    return answer.json()["tracking_no"]


def test_a_report_reaches_every_allowed_screen_on_either_server_and_no_other(servers, town):
    one, two = servers
    allowed = [Screen(one, token(town, COMMANDER)), Screen(two, token(town, COMMANDER)),
               Screen(two, token(town, OFFICER)), Screen(one, token(town, ADMIN))]
    others = [Screen(one, token(town, LUXIANG_COMMANDER)), Screen(two, token(town, LUXIANG_COMMANDER)),
              Screen(two, token(town, STRANGER))]
    screens = allowed + others
    try:
        assert eventually(lambda: all(s.heard("live") for s in screens))
        number = submit(one, town)
        assert eventually(lambda: all(s.cases() == [number] for s in allowed)), [s.messages for s in allowed]
        time.sleep(0.5)  # the others had as long as the slowest allowed screen, and some more
        assert all(s.events() == [] for s in others)
    finally:
        for screen in screens:
            screen.close()


def test_a_screen_away_for_100_events_gets_each_once_in_order(servers, town):
    one, two = servers
    screen = Screen(two, token(town, COMMANDER))
    first = submit(one, town)
    assert eventually(lambda: screen.cases() == [first])
    last = screen.events()[-1]["seq"]
    screen.close()
    missed = [submit(one, town) for _ in range(100)]
    back = Screen(two, token(town, COMMANDER), since=last)
    try:
        later = submit(one, town)
        assert eventually(lambda: back.cases()[-1:] == [later])
        assert back.cases() == missed + [later]
        seqs = [e["seq"] for e in back.events()]
        assert seqs == sorted(set(seqs))
        names = [name for name, _ in back.messages]
        assert names.count("live") == 1 and names.index("live") == 100  # the 100 first, then live
    finally:
        back.close()


def test_the_deadline_sweep_in_its_own_process_reaches_the_screens(servers, town, database_url,
                                                                   redis_url):
    one, two = servers
    screens = [Screen(one, token(town, COMMANDER)), Screen(two, token(town, COMMANDER))]
    try:
        number = submit(one, town)
        assert eventually(lambda: all(s.cases() == [number] for s in screens))
        later = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")
        gridsvc = Path(sys.executable).with_name("gridsvc")
        swept = subprocess.run([str(gridsvc), "cases", "sweep", "--now", later], capture_output=True, text=True,
                               env={**os.environ, **service_env(database_url, redis_url)}, timeout=120)
        assert swept.returncode == 0, swept.stderr
        assert "1 overdue" in swept.stdout
        assert eventually(lambda: all(s.cases("case.overdue") == [number] for s in screens))
    finally:
        for screen in screens:
            screen.close()
