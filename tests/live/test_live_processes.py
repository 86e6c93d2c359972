"""Live events as deployed: two gunicorn servers (gevent workers), one Redis, real Socket.IO clients.

A report accepted by one server reaches the allowed screens on both, and no screen of another
township; a screen that was away catches up exactly once, in order; the deadline sweep run as a
separate process reaches the screens too. Both databases (conftest's `database_url`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import requests

from bench.serving import gunicorn
from gridsvc.kernel.clock import utcnow
from tests.support import (ADMIN, COMMANDER, LUXIANG_COMMANDER, OFFICER, REDIS_URL, STRANGER, Screen, eventually,
                           in_ci, report_body, service_env, token)


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError as exc:
        if in_ci():
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"Redis not available: {exc}")
    return REDIS_URL


@pytest.fixture
def servers(town, database_url, redis_url, tmp_path):
    env = service_env(database_url, redis_url)
    serving = ["--worker-class", "gevent", "--workers", "1", "--graceful-timeout", "0"]  # stopped after the test
    with gunicorn("gridsvc.wsgi:app", env, serving, tmp_path / "one.log") as one, \
            gunicorn("gridsvc.wsgi:app", env, serving, tmp_path / "two.log") as two:
        yield one, two


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
