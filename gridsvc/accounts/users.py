"""Users, sign-in, tokens and jurisdiction: who may see and do what, and where.

- Passwords are hashed with scrypt (Werkzeug's default KDF), never stored.
- Sign-in answers an access token (short-lived, for every request) and a
  refresh token (long-lived, to get a new pair without the password): the
  same scheme serves the web screen and a phone with patchy signal. Tokens are
  opaque random strings stored as SHA-256, so signing out and an
  administrator's revocation of a lost phone take effect at once.
- Throttling, per `WINDOW`: `MAX_FAILURES` failures for one phone number from
  one client address; `MAX_FAILURES_PER_PHONE` from any address (a looser
  ceiling, so a stranger cannot lock a commander out with five tries); and
  `MAX_FAILURES_PER_ADDRESS` for any numbers from one address. Each attempt is
  written and committed *before* the password is checked, so simultaneous
  guesses all count (`record_attempt`, the caller commits, then `sign_in`).
  The attempts are in the database: every process counts the same. Behind
  a reverse proxy, set GRIDSVC_TRUSTED_PROXIES so the client address is the
  caller's, not the proxy's.
- A sign-in starts a token family; a refresh replaces the family's tokens,
  and a refresh token presented twice (stolen and replayed) revokes the whole
  family. Signing out ends the family.
- Jurisdiction: a user sees and acts inside an area (an administrative code
  prefix: a township commander their township, a county supervisor their
  county), a set of grids (a grid worker), or a department (a handler or an
  enforcement officer). Administrators see everything.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from gridsvc.events.outbox import publish
from gridsvc.events.rooms import user_room
from gridsvc.kernel.errors import TOO_MANY, UNAUTHENTICATED, DomainError
from gridsvc.kernel.models import ROLES, AdminUnit, AuthToken, Department, LoginAttempt, Team, User
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.network.store import current_cells_query

ACCESS_LIFETIME = timedelta(hours=2)
REFRESH_LIFETIME = timedelta(days=30)
WINDOW = timedelta(minutes=15)
MAX_FAILURES = 5  # one phone number from one address
MAX_FAILURES_PER_PHONE = 20  # one phone number from anywhere
MAX_FAILURES_PER_ADDRESS = 50  # any phone numbers from one address
MIN_PASSWORD_LENGTH = 10
PHONE = re.compile(r"^1\d{10}$")  # a mainland mobile number
_AREA_ROLES = ("township_commander", "county_supervisor")
_DEPARTMENT_ROLES = ("department_handler", "enforcement_officer")
# scrypt with N=2**15, r=8, p=1 (werkzeug's default): a tenth of a second or more per guess, which is
# the point. Named so that the test suite can lower the work factor; what it checks is which passwords
# match, not how slowly (tests/accounts/test_accounts.py holds this production value).
PASSWORD_HASH_METHOD = "scrypt:32768:8:1"


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash checked for an unknown phone number, so timing does not tell which numbers exist."""
    return generate_password_hash("not a password of anyone", method=method)


def prepare_sign_in() -> None:
    """Make the unknown-number hash now (the app factory calls this), so that the first sign-in
    with an unknown number does not take twice as long as a known one's."""
    _dummy_hash(PASSWORD_HASH_METHOD)


class AccountError(DomainError, ValueError):
    """A user that cannot be created as asked."""


REFUSED = "手机号或密码错误，或凭证已失效 / wrong phone number or password, or the token is no longer valid"


class SignInRefused(DomainError):
    """Wrong phone number or password, an inactive user, or a bad token: one answer for all, so that a
    caller cannot learn which phone numbers exist (hence no argument: nothing can tell them apart)."""

    kind, code = UNAUTHENTICATED, "sign_in_refused"

    def __init__(self) -> None:
        super().__init__(REFUSED)


class SignInThrottled(DomainError):
    """Too many failed sign-ins within `WINDOW`: refused until `retry_after_s` seconds have passed."""

    kind, code = TOO_MANY, "too_many_attempts"

    def __init__(self, retry_after_s: int):
        super().__init__(f"登录失败次数过多 / too many failed sign-ins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Jurisdiction:
    """Where a user may see and act."""

    everywhere: bool = False
    area_prefix: str | None = None  # e.g. '220112100' for a township, '220112' for a county
    grid_codes: frozenset[str] = frozenset()
    department_code: str | None = None

    def covers_area(self, code: str) -> bool:
        """True for an administrative unit or grid code inside the jurisdiction."""
        if self.everywhere:
            return True
        if self.area_prefix is not None:
            return code.startswith(self.area_prefix)
        return code in self.grid_codes

    def covers_department(self, department_code: str) -> bool:
        return self.everywhere or self.department_code == department_code


def area_prefix(admin_code: str, level: str) -> str:
    """The code prefix shared by everything inside a unit (county 6, township 9, village 12 digits)."""
    return admin_code[: {"county": 6, "township": 9, "village": 12}[level]]


def jurisdiction_of(session: Session, user: User) -> Jurisdiction:
    if user.role == "administrator":
        return Jurisdiction(everywhere=True)
    if user.role in _DEPARTMENT_ROLES:
        return Jurisdiction(department_code=user.department_code)
    if user.role == "grid_worker":
        return Jurisdiction(grid_codes=frozenset(user.grid_codes or ()))
    unit = session.get(AdminUnit, user.admin_code)
    return Jurisdiction(area_prefix=area_prefix(unit.code, unit.level))


# -- users ---------------------------------------------------------------------------------


def create_user(
    session: Session,
    phone: str,
    name: str,
    role: str,
    password: str,
    admin_code: str | None = None,
    department_code: str | None = None,
    grid_codes: list[str] | tuple[str, ...] = (),
    team_code: str | None = None,
) -> User:
    """Create a user whose jurisdiction fits their role; refuses what would be meaningless."""
    if not PHONE.match(phone or ""):
        raise AccountError("phone must be an 11-digit mainland mobile number")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(sa.select(User.id).where(User.phone == phone)) is not None:
        raise AccountError(f"a user with phone {phone} exists already")
    _check_jurisdiction(session, role, admin_code, department_code, list(grid_codes))
    if team_code is not None:
        team = session.get(Team, team_code)
        if role not in _DEPARTMENT_ROLES or team is None or team.department_code != department_code:
            raise AccountError("a team must be one of the user's department (handlers and officers only)")
    user = User(
        phone=phone, name=name, role=role, admin_code=admin_code, department_code=department_code,
        grid_codes=list(grid_codes), team_code=team_code, active=True,
        password_hash=generate_password_hash(password, method=PASSWORD_HASH_METHOD),
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def _check_jurisdiction(session, role, admin_code, department_code, grid_codes) -> None:
    if role in _AREA_ROLES:
        unit = session.get(AdminUnit, admin_code) if admin_code else None
        wanted = "township" if role == "township_commander" else "county"
        if unit is None or unit.level != wanted:
            raise AccountError(f"a {role} needs the code of their {wanted}")
    if role in _DEPARTMENT_ROLES and (not department_code or session.get(Department, department_code) is None):
        raise AccountError(f"a {role} needs a known department")
    if role == "grid_worker":
        known = {c.code for c in session.scalars(current_cells_query())}
        if not grid_codes or not set(grid_codes) <= known:
            raise AccountError("a grid_worker needs one or more current grid codes")


# -- sign-in and tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    user: User


def record_attempt(session: Session, phone: str, remote_addr: str | None) -> LoginAttempt:
    """The first half of a sign-in: note the attempt, as failed until `sign_in` says otherwise.

    Flushes; the caller commits, and must commit before calling `sign_in`: an attempt is counted
    before its password is checked, so that simultaneous guesses see each other and all count
    (every attempt is kept, also a refused one)."""
    attempt = LoginAttempt(phone=(phone or "")[:20], remote_addr=remote_addr, at=utcnow(), succeeded=False)
    session.add(attempt)
    session.flush()
    return attempt


def sign_in(session: Session, attempt: LoginAttempt, password: str, device_id: str | None) -> TokenPair:
    """The second half: check the recorded (and committed) attempt's password, throttled, and issue a
    token pair. Flushes; the caller commits. Raises SignInThrottled, SignInRefused."""
    _refuse_if_throttled(session, attempt)
    user = session.scalar(sa.select(User).where(User.phone == attempt.phone))
    valid = check_password_hash(user.password_hash if user else _dummy_hash(PASSWORD_HASH_METHOD), password or "")
    if not (user and user.active and valid):
        raise SignInRefused()
    attempt.succeeded = True
    return _issue(session, user, device_id, as_utc(attempt.at), secrets.token_hex(16))


def _refuse_if_throttled(session: Session, attempt: LoginAttempt) -> None:
    """Refuse when the failures in the window, this attempt included, pass a limit."""
    failures = sa.select(LoginAttempt.at).where(
        LoginAttempt.at > attempt.at - WINDOW, LoginAttempt.succeeded.is_(False), LoginAttempt.id != attempt.id
    )
    limits = [
        (failures.where(LoginAttempt.phone == attempt.phone, LoginAttempt.remote_addr == attempt.remote_addr),
         MAX_FAILURES),
        (failures.where(LoginAttempt.phone == attempt.phone), MAX_FAILURES_PER_PHONE),
    ]
    if attempt.remote_addr is not None:
        limits.append((failures.where(LoginAttempt.remote_addr == attempt.remote_addr), MAX_FAILURES_PER_ADDRESS))
    for query, limit in limits:
        times = sorted(as_utc(t) for t in session.scalars(query))
        if len(times) >= limit:
            retry_after = (times[-limit] + WINDOW - as_utc(attempt.at)).total_seconds()
            raise SignInThrottled(max(1, int(retry_after) + 1))


def _issue(session: Session, user: User, device_id: str | None, now: datetime, family: str) -> TokenPair:
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add_all([
        AuthToken(user_id=user.id, token_hash=_digest(access), kind="access", family=family, device_id=device_id,
                  issued_at=now, expires_at=now + ACCESS_LIFETIME),
        AuthToken(user_id=user.id, token_hash=_digest(refresh), kind="refresh", family=family,
                  device_id=device_id, issued_at=now, expires_at=now + REFRESH_LIFETIME),
    ])
    session.flush()
    return TokenPair(access, refresh, now + ACCESS_LIFETIME, now + REFRESH_LIFETIME, user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _valid_token(session: Session, token: str, kind: str) -> AuthToken:
    stored = session.scalar(sa.select(AuthToken).where(AuthToken.token_hash == _digest(token or "")))
    if (
        stored is None or stored.kind != kind or stored.revoked_at is not None
        or as_utc(stored.expires_at) <= utcnow() or not stored.user.active
    ):
        raise SignInRefused()
    return stored


def user_for_token(session: Session, access_token: str) -> User:
    """The user an access token belongs to, or SignInRefused."""
    return valid_access_token(session, access_token).user


def valid_access_token(session: Session, access_token: str) -> AuthToken:
    """The stored access token (its user, expiry and digest), or SignInRefused."""
    return _valid_token(session, access_token, "access")


def live_token_digests(session: Session, digests: list[str], now: datetime) -> set[str]:
    """Those of the given token digests that are still valid now (a live connection re-checks its token)."""
    if not digests:
        return set()
    query = (sa.select(AuthToken.token_hash).join(AuthToken.user)
             .where(AuthToken.token_hash.in_(digests), AuthToken.revoked_at.is_(None), AuthToken.expires_at > now,
                    User.active.is_(True)))
    return set(session.scalars(query))


def refresh(session: Session, refresh_token: str) -> TokenPair:
    """A new pair for a valid refresh token, replacing its family's tokens.

    The refresh token is spent by a conditional update, so of simultaneous
    uses only one wins; a spent refresh token presented again means it was
    copied, and the whole family is revoked.

    Flushes; the caller commits, also after SignInRefused: a replay's revocation must stay.
    """
    stored = session.scalar(sa.select(AuthToken).where(AuthToken.token_hash == _digest(refresh_token or "")))
    if stored is not None and stored.kind == "refresh" and stored.revoked_at is not None:
        _revoke_family(session, stored.family)
        session.flush()
        raise SignInRefused()
    stored = _valid_token(session, refresh_token, "refresh")
    now = utcnow()
    spent = session.execute(
        sa.update(AuthToken).where(AuthToken.id == stored.id, AuthToken.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    if spent != 1:
        raise SignInRefused()
    _revoke_family(session, stored.family)
    return _issue(session, stored.user, stored.device_id, now, stored.family)


def _revoke_family(session: Session, family: str) -> None:
    session.execute(
        sa.update(AuthToken).where(AuthToken.family == family, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def sign_out(session: Session, access_token: str) -> None:
    """End the sign-in the access token belongs to (its family): other devices stay signed in."""
    stored = _valid_token(session, access_token, "access")
    _revoke_family(session, stored.family)
    _announce_revocation(session, stored.user_id, stored.device_id)


def revoke(session: Session, user: User, device_id: str | None = None) -> int:
    """Revoke a user's live tokens (of one device, or all of them): a lost phone, a leaver."""
    query = sa.update(AuthToken).where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
    if device_id is not None:
        query = query.where(AuthToken.device_id == device_id)
    revoked = session.execute(query.values(revoked_at=utcnow())).rowcount
    if revoked:
        _announce_revocation(session, user.id, device_id)
    return revoked


def _announce_revocation(session: Session, user_id: int, device_id: str | None) -> None:
    """An event, so that every server process drops the live connections those tokens opened."""
    publish(session, "session.revoked", [user_room(user_id)], {"user_id": user_id, "device_id": device_id})


def prune(session: Session, older_than: timedelta, now: datetime) -> tuple[int, int]:
    """Delete sign-in attempts and expired tokens older than `older_than` (they only grow otherwise).

    Throttling reads only the last `WINDOW` of attempts; what is kept beyond it is the
    audit trail of who tried to sign in, for as long as `older_than` says.
    """
    if older_than < WINDOW:
        raise AccountError(f"keep at least {WINDOW}: throttling counts the attempts of that window")
    cutoff = now - older_than
    attempts = session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < cutoff)).rowcount
    tokens = session.execute(sa.delete(AuthToken).where(AuthToken.expires_at < cutoff)).rowcount
    return attempts, tokens
