"""Phones' rate limits: a budget per sign-in across the mobile API, shared by processes through Redis,
and counted in each process's memory while Redis is away (refusing, or silent) rather than failing."""

import os
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from gridsvc.app import create_app
from gridsvc.accounts.users import create_user
from gridsvc.kernel.config import Settings
from tests.support import at_once

PASSWORD = "correct horse battery"
REDIS_URL = os.environ.get("GRIDSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
FIRST, SECOND = "13800000003", "13800000004"


def _signed_in(app, phone):
    answer = app.test_client().post("/mobile/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def _app_with(settings: Settings, tmp_path, **changes):
    app = create_app(Settings(**{**settings.__dict__, **changes}))
    app.instance_path = str(tmp_path)
    return app


@pytest.fixture
def phones(sample_app, rt):
    grid = next(c.code for c in rt.index.get().cells if c.kind == "base")
    with rt.sessions.begin() as session:
        create_user(session, FIRST, "网格员甲", "grid_worker", PASSWORD, grid_codes=[grid])
        create_user(session, SECOND, "网格员乙", "grid_worker", PASSWORD, grid_codes=[grid])


@pytest.fixture(params=["refusing", "silent"])
def unreachable_redis(request):
    """A Redis URL where nothing listens, or where a server takes connections and never answers (a hung Redis)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        if request.param == "silent":
            server.listen(32)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


def _within(seconds: float, call):
    """call() in a thread of its own, failing the test if it takes longer: without timeouts a hung Redis
    would hold it for ever (the thread ends when the fixture closes the silent server)."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


def _spend_a_budget_of_three(app) -> None:
    """FIRST's fourth request is refused, whichever route of the API it goes to; SECOND goes on."""
    first, second = _signed_in(app, FIRST), _signed_in(app, SECOND)
    client = app.test_client()
    paths = ["/mobile/v1/startup", "/mobile/v1/my/reports", "/mobile/v1/my/tasks"]
    assert [client.get(p, headers=first).status_code for p in paths] == [200, 200, 200]
    refused = client.get("/mobile/v1/my/verifications", headers=first)  # the budget spans the whole API
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests" and int(refused.headers["Retry-After"]) > 0
    assert client.get("/mobile/v1/startup", headers=second).status_code == 200


def test_a_phone_over_its_budget_gets_429_and_others_go_on(phones, settings, tmp_path):
    app = _app_with(settings, tmp_path, rate_limit="3 per minute")
    _spend_a_budget_of_three(app)
    health = app.test_client().get("/api/v1/health")  # the web API is not the phones' budget
    assert health.status_code == 200
    assert health.get_json()["rate_limits"] == {"storage": "memory", "reachable": True}


def test_with_redis_unreachable_phones_are_counted_in_memory_and_health_says_so(phones, settings, tmp_path,
                                                                                unreachable_redis, caplog):
    app = _app_with(settings, tmp_path, rate_limit="3 per minute", rate_limit_storage=unreachable_redis)
    _within(5, lambda: _spend_a_budget_of_three(app))
    assert "Rate limit storage unreachable - falling back to in-memory storage" in caplog.text
    health = _within(5, lambda: app.test_client().get("/api/v1/health"))
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert health.get_json()["rate_limits"] == {"storage": "redis", "reachable": False}


def test_requests_that_find_redis_gone_at_the_same_moment_are_all_answered(phones, settings, tmp_path):
    """They all wait on the silent server together; the first to give up switches to memory, and the
    others, finding the switch made, must not fail either."""
    tokens = [_signed_in(_app_with(settings, tmp_path / "memory"), phone) for phone in (FIRST, SECOND)]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(32)
        app = _app_with(settings, tmp_path, rate_limit_storage=f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        calls = [lambda headers=headers: app.test_client().get("/mobile/v1/startup", headers=headers)
                 for headers in tokens * 4]
        answers = _within(5, lambda: at_once(calls))
    assert [a.status_code for a in answers] == [200] * len(calls)


def test_processes_count_together_through_redis(phones, settings, tmp_path):
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"Redis not available: {exc}")
    limited = {"rate_limit": "4 per minute", "rate_limit_storage": REDIS_URL}
    one, two = _app_with(settings, tmp_path / "one", **limited), _app_with(settings, tmp_path / "two", **limited)
    token = _signed_in(one, FIRST)
    answers = [app.test_client().get("/mobile/v1/startup", headers=token).status_code
               for app in (one, two, one, two, one)]
    assert answers == [200, 200, 200, 200, 429]
    assert one.test_client().get("/api/v1/health").get_json()["rate_limits"] == {"storage": "redis",
                                                                                 "reachable": True}
