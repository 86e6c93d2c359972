"""Redis away does not take the phones down: a Redis of the test's own goes away mid-stream, then comes back.

Two gunicorn servers (gevent workers) count the phones' rate limits and signal live events through
that Redis. Phones report and read their cases on the first server throughout; a command screen
listens on the second. Redis is first killed (as by a crash) and started again on its port, then
frozen (SIGSTOP: it takes connections and never answers) and thawed. Meanwhile no phone gets a 5xx
nor waits long (each server counts in memory; the second hears of events by its relay's timer, or
once Redis is back), and `GET /api/v1/health` says "degraded"; after, it says "ok" and the screen
has had every report exactly once, those made during the outages included. Both databases.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
import redis
import requests

from bench.serving import free_port, gunicorn
from gridsvc.app import create_app
from gridsvc.kernel.config import Settings
from gridsvc.events.wakeup import CHANNEL, QUIET_AFTER_FAILURE_S
from gridsvc.kernel.shared_stores import CachedCheck
from tests.support import COMMANDER, WORKER, Screen, eventually, report_body, service_env, token

OUTAGE_S = 4.0
POLL_S = 30.0  # the relays' timer: longer than the test, so what reaches the other server came through Redis


class RedisServer:
    """A redis-server of the test's own on a free port, to kill and start again, or to freeze and thaw."""

    def __init__(self, binary: str):
        self._binary, self._port = binary, free_port()
        self.url = f"redis://127.0.0.1:{self._port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [self._binary, "--port", str(self._port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
        if not eventually(self._answers, 10):
            raise RuntimeError(f"redis-server on port {self._port} did not start")

    def kill(self) -> None:
        self._process.kill()
        self._process.wait()

    def freeze(self) -> None:
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._process.send_signal(signal.SIGCONT)

    def subscribers(self) -> int:
        """How many server processes listen on the events channel."""
        return redis.Redis.from_url(self.url, socket_timeout=1).pubsub_numsub(CHANNEL)[0][1]

    def _answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def own_redis():
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is required in CI (scripts/ensure-redis.sh installs it)")
        pytest.skip("redis-server is not installed")
    server = RedisServer(binary)
    server.start()
    yield server
    server.kill()  # frozen or not


@dataclass(frozen=True)
class Answer:
    sent_at: float
    answered_at: float
    what: str
    status: int  # 0: no answer at all (the connection failed)
    body: str


class Phones:
    """Phones at work, each in a thread of its own: a report, then that case, then the list of their
    reports, over and over; every answer is noted."""

    def __init__(self, base: str, people, who: list[str]):
        self._base, self._people = base, people
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self.reports: list[tuple[float, str]] = []  # (when sent, tracking number)
        self._threads = [threading.Thread(target=self._work, args=(number,)) for number in who]

    def __enter__(self) -> "Phones":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def count(self) -> int:
        with self._lock:
            return len(self.answers)

    def sent_between(self, start: float, end: float) -> list[Answer]:
        with self._lock:
            return [a for a in self.answers if start <= a.sent_at <= end]

    def _work(self, who: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token(self._people, who)}"
        while not self._stop.is_set():
            sent_at = time.monotonic()
            reported = self._ask(session, "POST", "/mobile/v1/reports", report_body(self._people))
            if reported is not None and reported.status_code == 201:
                number = reported.json()["tracking_no"]
                with self._lock:
                    self.reports.append((sent_at, number))
                self._ask(session, "GET", f"/mobile/v1/cases/{number}")
            self._ask(session, "GET", "/mobile/v1/my/reports?limit=5")

    def _ask(self, session: requests.Session, method: str, path: str, body: dict | None = None):
        sent_at = time.monotonic()
        try:
            response = session.request(method, self._base + path, json=body, timeout=10)
            status, text = response.status_code, response.text[:300]
        except requests.RequestException as exc:
            response, status, text = None, 0, repr(exc)
        with self._lock:
            self.answers.append(Answer(sent_at, time.monotonic(), f"{method} {path}", status, text))
        return response


def health(base: str) -> dict:
    answer = requests.get(f"{base}/api/v1/health", timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def status_on_both(bases, wanted: str) -> bool:
    return all(health(base)["status"] == wanted for base in bases)


def outage(servers, phones: Phones, go, come_back) -> tuple[float, float]:
    """Redis away for OUTAGE_S amid the phones' stream: health says so meanwhile, and "ok" once it is
    back. When it went and when it came back."""
    answered = phones.count()
    assert eventually(lambda: phones.count() >= answered + 20)  # the phones are at work
    go()
    went = time.monotonic()
    assert eventually(lambda: status_on_both(servers, "degraded"), 5)
    down = health(servers[0])
    assert down["rate_limits"] == {"storage": "redis", "reachable": False}
    assert down["live_events"] == {"wakeup": "redis", "reachable": False}
    time.sleep(max(0.0, went + OUTAGE_S - time.monotonic()))
    come_back()
    back = time.monotonic()
    assert eventually(lambda: status_on_both(servers, "ok"), 5)
    return went, back


@pytest.fixture
def servers(town, database_url, own_redis, tmp_path):
    env = {**service_env(database_url, own_redis.url), "GRIDSVC_RATE_LIMIT_STORAGE": own_redis.url,
           "GRIDSVC_RATE_LIMIT": "100000 per minute", "GRIDSVC_EVENTS_POLL_SECONDS": str(POLL_S)}
    serving = ["--worker-class", "gevent", "--workers", "1", "--graceful-timeout", "0"]  # stopped after the test
    with gunicorn("gridsvc.wsgi:app", env, serving, tmp_path / "one.log") as one, \
            gunicorn("gridsvc.wsgi:app", env, serving, tmp_path / "two.log") as two:
        yield one, two


def test_phones_get_no_5xx_while_redis_is_away_and_screens_get_every_report(servers, town, own_redis):
    one, two = servers
    screen = Screen(two, token(town, COMMANDER))
    try:
        assert eventually(lambda: screen.heard("live") and own_redis.subscribers() == 1)
        assert status_on_both(servers, "ok")
        with Phones(one, town, [WORKER, COMMANDER]) as phones:
            killed = outage(servers, phones, own_redis.kill, own_redis.start)
            frozen = outage(servers, phones, own_redis.freeze, own_redis.thaw)
            assert eventually(lambda: own_redis.subscribers() == 1, 5)  # the second server listens again
        failed = [a for a in phones.answers if a.status not in (200, 201)]
        assert failed == [], failed[:5]
        for went, back in (killed, frozen):
            assert any(went < sent_at < back for sent_at, _ in phones.reports), "no report while Redis was away"
        slowest = max(phones.sent_between(*frozen), key=lambda a: a.answered_at - a.sent_at)
        assert slowest.answered_at - slowest.sent_at < OUTAGE_S / 2, slowest  # not held up by the frozen Redis
        # The first server's signal stays quiet for a while after a failure (gridsvc.events.wakeup): what it
        # commits meanwhile waits for its next signal, or the timer. Its next report, then, brings them all.
        time.sleep(max(0.0, frozen[1] + QUIET_AFTER_FAILURE_S + 1 - time.monotonic()))
        later = requests.post(f"{one}/mobile/v1/reports", json=report_body(town), timeout=10,
                              headers={"Authorization": f"Bearer {token(town, WORKER)}"}).json()["tracking_no"]
        assert eventually(lambda: screen.cases()[-1:] == [later])
        assert sorted(screen.cases()) == sorted([number for _, number in phones.reports] + [later])
        seqs = [event["seq"] for event in screen.events()]
        assert seqs == sorted(set(seqs))  # each once, in order
    finally:
        screen.close()


def test_a_report_in_flight_when_redis_goes_is_answered_201(town, settings, own_redis, tmp_path, caplog):
    """Redis answers the rate-limit check, then goes while the report is taken in: the answer's rate-limit
    headers and the wake-up signal after the commit both find it gone. Neither may turn the stored
    report's answer into a 500 (its retry would find it stored, but the phone was told it failed)."""
    app = create_app(Settings(**{**settings.__dict__, "rate_limit_storage": own_redis.url,
                                 "events_redis_url": own_redis.url}))
    app.instance_path = str(tmp_path)
    take_in = app.view_functions["mobile_api.report"]

    def redis_goes_meanwhile():
        own_redis.kill()
        return take_in()

    app.view_functions["mobile_api.report"] = redis_goes_meanwhile
    try:
        answer = app.test_client().post("/mobile/v1/reports", json=report_body(town), headers=town["headers"](WORKER))
    finally:
        app.extensions["gridsvc"].dispose()
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert int(answer.headers["X-RateLimit-Remaining"]) >= 0  # counted on in memory
    assert "falling back to in-memory storage" in caplog.text
    assert "could not signal committed events through Redis" in caplog.text


def test_a_store_is_asked_at_most_once_in_a_while():
    asked = []
    check = CachedCheck(lambda: asked.append(time.monotonic()) or False, every_s=60)
    assert [check() for _ in range(5)] == [False] * 5
    assert len(asked) == 1
