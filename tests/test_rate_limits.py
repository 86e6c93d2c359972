"""Phones' rate limits: a budget per sign-in across the mobile API, shared by processes through Redis."""

import os

import pytest
import redis

from gridsvc import create_app
from gridsvc.accounts import create_user
from gridsvc.config import Settings

PASSWORD = "correct horse battery"
REDIS_URL = os.environ.get("GRIDSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _signed_in(app, phone):
    answer = app.test_client().post("/mobile/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def _app_with(settings: Settings, tmp_path):
    app = create_app(settings)
    app.instance_path = str(tmp_path)
    return app


@pytest.fixture
def phones(sample_app, rt):
    grid = next(c.code for c in rt.index.get().cells if c.kind == "base")
    with rt.sessions.begin() as session:
        create_user(session, "13800000003", "网格员甲", "grid_worker", PASSWORD, grid_codes=[grid])
        create_user(session, "13800000004", "网格员乙", "grid_worker", PASSWORD, grid_codes=[grid])


def test_a_phone_over_its_budget_gets_429_and_others_go_on(phones, settings, tmp_path):
    app = _app_with(Settings(**{**settings.__dict__, "rate_limit": "3 per minute"}), tmp_path)
    first, second = _signed_in(app, "13800000003"), _signed_in(app, "13800000004")
    client = app.test_client()
    paths = ["/mobile/v1/startup", "/mobile/v1/my/reports", "/mobile/v1/my/tasks"]
    assert [client.get(p, headers=first).status_code for p in paths] == [200, 200, 200]
    refused = client.get("/mobile/v1/my/verifications", headers=first)  # the budget spans the whole API
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests" and int(refused.headers["Retry-After"]) > 0
    assert client.get("/mobile/v1/startup", headers=second).status_code == 200
    assert client.get("/api/v1/health").status_code == 200  # the web API is not the phones' budget


def test_processes_count_together_through_redis(phones, settings, tmp_path):
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI: {exc}")
        pytest.skip(f"Redis not available: {exc}")
    limited = Settings(**{**settings.__dict__, "rate_limit": "4 per minute", "rate_limit_storage": REDIS_URL})
    one, two = _app_with(limited, tmp_path / "one"), _app_with(limited, tmp_path / "two")
    token = _signed_in(one, "13800000003")
    answers = [app.test_client().get("/mobile/v1/startup", headers=token).status_code
               for app in (one, two, one, two, one)]
    assert answers == [200, 200, 200, 200, 429]
