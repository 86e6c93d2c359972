"""Users, sign-in, tokens, throttling and jurisdiction, on SpatiaLite and PostGIS."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gridsvc.accounts import users as accounts
from gridsvc.accounts.users import (
    AccountError,
    Jurisdiction,
    SignInRefused,
    SignInThrottled,
    create_user,
    jurisdiction_of,
    record_attempt,
    user_for_token,
)
from gridsvc.kernel.models import AuthToken, LoginAttempt, User
from tests.support import PRODUCTION_PASSWORD_HASH_METHOD

PASSWORD = "correct horse battery"
QIJIA, LUXIANG, COUNTY = "220112100000", "220112102000", "220112000000"


def sign_in(session, phone: str, password: str, device_id: str | None, remote_addr: str | None):
    """A sign-in as the view makes it: the attempt is committed before its password is checked."""
    attempt = record_attempt(session, phone, remote_addr)
    session.commit()
    pair = accounts.sign_in(session, attempt, password, device_id)
    session.commit()
    return pair


@pytest.fixture
def people(sample_app, rt):
    """A commander of 齐家镇, one of 鹿乡镇, a grid worker, a county supervisor, an officer."""
    grid = next(c.code for c in rt.index.get().cells if c.code.startswith("220112100") and c.kind == "base")
    with rt.sessions.begin() as session:
        create_user(session, "13800000001", "齐家指挥长", "township_commander", PASSWORD, admin_code=QIJIA)
        create_user(session, "13800000002", "鹿乡指挥长", "township_commander", PASSWORD, admin_code=LUXIANG)
        create_user(session, "13800000003", "网格员小王", "grid_worker", PASSWORD, grid_codes=[grid])
        create_user(session, "13800000004", "区督办", "county_supervisor", PASSWORD, admin_code=COUNTY)
        create_user(session, "13800000005", "执法队员", "enforcement_officer", PASSWORD,
                    department_code=f"{QIJIA}-ZHZF")
    return {"grid": grid}


def login(client, phone, password=PASSWORD, device="phone-1"):
    return client.post("/api/v1/auth/login", json={"phone": phone, "password": password, "device_id": device})


def test_passwords_are_stored_as_a_modern_kdf(people, rt):
    with rt.sessions() as session:
        stored = session.scalar(sa.select(User.password_hash).where(User.phone == "13800000001"))
    assert stored.startswith("scrypt:") and PASSWORD not in stored
    assert PRODUCTION_PASSWORD_HASH_METHOD == "scrypt:32768:8:1"  # the suite hashes with a lower work factor


@pytest.mark.parametrize("kwargs,message", [
    ({"phone": "12345", "role": "grid_worker"}, "11-digit"),
    ({"phone": "13900000009", "role": "mayor"}, "role must be"),
    ({"phone": "13900000009", "role": "township_commander", "admin_code": COUNTY}, "their township"),
    ({"phone": "13900000009", "role": "county_supervisor", "admin_code": QIJIA}, "their county"),
    ({"phone": "13900000009", "role": "department_handler", "department_code": "nobody"}, "known department"),
    ({"phone": "13900000009", "role": "grid_worker", "grid_codes": ["220112999999001"]}, "current grid"),
    ({"phone": "13800000001", "role": "administrator"}, "exists already"),
    ({"phone": "13900000009", "role": "administrator", "password": "short"}, "at least 10"),
])
def test_users_that_would_be_meaningless_are_refused(people, rt, kwargs, message):
    kwargs = {"name": "x", "password": PASSWORD, **kwargs}
    with pytest.raises(AccountError, match=message):
        with rt.sessions.begin() as session:
            create_user(session, **kwargs)


def test_sign_in_me_refresh_and_sign_out(people, client):
    response = login(client, "13800000001")
    assert response.status_code == 200
    tokens = response.get_json()
    assert tokens["token_type"] == "Bearer" and tokens["user"]["role"] == "township_commander"
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = client.get("/api/v1/me", headers=auth).get_json()
    assert me["jurisdiction"]["area_prefix"] == "220112100"

    renewed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200

    new_auth = {"Authorization": f"Bearer {renewed.get_json()['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=new_auth).status_code == 204
    assert client.get("/api/v1/me", headers=new_auth).status_code == 401
    assert client.get("/api/v1/me", headers=auth).status_code == 401  # the whole device is signed out


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic x"}])
def test_no_or_bad_token_is_401(people, client, headers):
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["error"]["code"] in ("sign_in_required",
                                                                                    "sign_in_refused")


def test_wrong_password_and_unknown_phone_look_the_same(people, client):
    wrong = login(client, "13800000001", "wrong password!")
    unknown = login(client, "13999999999")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


@pytest.mark.parametrize("body", [None, [], {"phone": "13800000001"}, {"phone": 1, "password": 2}])
def test_bad_login_bodies_are_4xx(people, client, body):
    response = client.post("/api/v1/auth/login", json=body) if body is not None else \
        client.post("/api/v1/auth/login", data="x", content_type="text/plain")
    assert response.status_code in (400, 422)


def test_throttling_after_repeated_failures_even_with_the_right_password(people, client, rt):
    for _ in range(accounts.MAX_FAILURES):
        assert login(client, "13800000001", "wrong password!").status_code == 401
    throttled = login(client, "13800000001")
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= accounts.WINDOW.total_seconds() + 1
    assert login(client, "13800000002").status_code == 200  # another account is not affected
    # Once the window has passed, the right password works again.
    with rt.sessions.begin() as session:
        for attempt in session.scalars(sa.select(LoginAttempt)):
            attempt.at -= accounts.WINDOW + timedelta(seconds=1)
    assert login(client, "13800000001").status_code == 200


def test_throttling_is_counted_in_the_database(people, rt):
    """Any process sees the same count: the attempts live in the database."""
    for _ in range(accounts.MAX_FAILURES):
        with rt.sessions() as session:
            with pytest.raises(SignInRefused):
                sign_in(session, "13800000003", "wrong password!", None, "10.0.0.1")
    with rt.sessions() as session:  # a new session, as another process would have
        with pytest.raises(SignInThrottled):
            sign_in(session, "13800000003", PASSWORD, None, "10.0.0.1")


def test_revoking_a_lost_phone_ends_its_tokens_only(people, client, runner):
    phone_tokens = login(client, "13800000003", device="lost-phone").get_json()
    tablet_tokens = login(client, "13800000003", device="tablet").get_json()
    result = runner.invoke(args=["users", "revoke", "13800000003", "--device", "lost-phone"])
    assert result.exit_code == 0 and "2 tokens revoked" in result.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {phone_tokens['access_token']}"}) \
        .status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {tablet_tokens['access_token']}"}) \
        .status_code == 200


def test_tokens_are_stored_hashed_and_expire(people, client, rt):
    tokens = login(client, "13800000004").get_json()
    with rt.sessions() as session:
        hashes = set(session.scalars(sa.select(AuthToken.token_hash)))
        assert tokens["access_token"] not in hashes
        session.execute(sa.update(AuthToken).values(expires_at=AuthToken.issued_at))
        session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 401


def test_jurisdictions(people, rt):
    grid = people["grid"]
    with rt.sessions() as session:
        users = {u.phone: jurisdiction_of(session, u) for u in session.scalars(sa.select(User))}
    qijia, luxiang, worker, county, officer = (users[f"1380000000{i}"] for i in range(1, 6))
    assert qijia.covers_area(grid) and qijia.covers_area("220112100201") and not qijia.covers_area(LUXIANG)
    assert not luxiang.covers_area(grid)  # a commander of township B sees nothing of township A
    assert worker.covers_area(grid) and not worker.covers_area(grid[:12])
    assert county.covers_area(grid) and county.covers_area(LUXIANG) and not county.covers_area("220113000000")
    assert officer.covers_department(f"{QIJIA}-ZHZF") and not officer.covers_department(f"{LUXIANG}-ZHZF")
    assert not officer.covers_area(grid)
    assert Jurisdiction(everywhere=True).covers_area("650000000000")


def test_user_for_token_refuses_inactive_users(people, client, rt):
    tokens = login(client, "13800000005").get_json()
    with rt.sessions.begin() as session:
        session.execute(sa.update(User).where(User.phone == "13800000005").values(active=False))
    with rt.sessions() as session:
        with pytest.raises(SignInRefused):
            user_for_token(session, tokens["access_token"])


def test_cli_create_user(sample_app, runner, rt):
    result = runner.invoke(args=["users", "create", "13700000001", "--name", "管理员", "--role", "administrator"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["users", "create", "13700000002", "--name", "x", "--role", "grid_worker",
                              "--grid", "220112999999001", "--password", PASSWORD])
    assert bad.exit_code == 1 and "current grid" in bad.output


def test_simultaneous_guesses_cannot_pass_the_limit(people, rt):
    """Each attempt is counted before its password is checked: at most MAX_FAILURES guesses get checked."""
    import threading

    outcomes = []
    barrier = threading.Barrier(30)

    def guess():
        barrier.wait()
        with rt.sessions() as session:
            try:
                sign_in(session, "13800000001", "wrong password!", None, "10.0.0.9")
            except SignInRefused:
                outcomes.append("checked")
            except SignInThrottled:
                outcomes.append("throttled")

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 30 and outcomes.count("checked") <= accounts.MAX_FAILURES


def test_a_stranger_cannot_lock_a_user_out_from_elsewhere(people, rt):
    for _ in range(accounts.MAX_FAILURES):
        with rt.sessions() as session:
            with pytest.raises(SignInRefused):
                sign_in(session, "13800000001", "wrong password!", None, "10.0.0.66")
    with rt.sessions() as session:
        with pytest.raises(SignInThrottled):
            sign_in(session, "13800000001", PASSWORD, None, "10.0.0.66")
    with rt.sessions() as session:  # the commander's own office is not locked out
        assert sign_in(session, "13800000001", PASSWORD, None, "10.1.1.1").user.phone == "13800000001"


def test_a_refresh_token_works_once_and_a_replay_revokes_the_family(people, client):
    tokens = login(client, "13800000001").get_json()
    first = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).get_json()
    old_access = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/v1/me", headers=old_access).status_code == 401  # replaced by the refresh
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    # The replay shows the token was copied: the legitimate new pair is revoked too.
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {first['access_token']}"}).status_code == 401


def test_simultaneous_refreshes_yield_one_pair(people, client, rt):
    import threading

    from gridsvc.accounts.users import refresh

    token = login(client, "13800000001").get_json()["refresh_token"]
    wins = []
    barrier = threading.Barrier(10)

    def use():
        barrier.wait()
        with rt.sessions() as session:
            try:
                refresh(session, token)
                session.commit()
                wins.append(1)
            except (SignInRefused, sa.exc.OperationalError):
                session.rollback()

    threads = [threading.Thread(target=use) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1


def test_signing_out_on_the_web_keeps_the_phone_signed_in(people, client):
    web = login(client, "13800000001", device=None).get_json()
    phone = login(client, "13800000001", device="phone-1").get_json()
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {web['access_token']}"}) \
        .status_code == 204
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {phone['access_token']}"}).status_code == 200


@pytest.mark.parametrize("body", [
    {"phone": "1380000\x000001", "password": PASSWORD},
    {"phone": "13800000001", "password": "bad \ud800 text"},
])
def test_text_databases_cannot_store_is_422_at_sign_in(people, client, body):
    import json

    # json.dumps escapes a lone surrogate as \ud800, which the server decodes back into one.
    response = client.post("/api/v1/auth/login", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422


def test_old_sign_in_attempts_and_expired_tokens_are_pruned(people, client, rt, runner):
    assert login(client, "13800000001").status_code == 200
    assert login(client, "13800000001", password="wrong password!").status_code == 401
    with rt.sessions.begin() as session:  # one attempt is 100 days old, the tokens expired 110 days ago
        session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id)).first().at -= timedelta(days=100)
        for token in session.scalars(sa.select(AuthToken)):
            token.expires_at -= timedelta(days=200)
    result = runner.invoke(args=["users", "prune", "--keep-days", "90"])
    assert result.exit_code == 0 and "1 sign-in attempts and 2 expired tokens deleted" in result.output, result.output
    with rt.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 1
    refused = runner.invoke(args=["users", "prune", "--keep-days", "0"])
    assert refused.exit_code == 1 and "throttling" in refused.output
