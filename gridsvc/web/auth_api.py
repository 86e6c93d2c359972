"""Sign-in API: tokens for the command screen and phones, and who the caller is.

    POST /api/v1/auth/login    {"phone", "password", "device_id"?} -> access + refresh token
    POST /api/v1/auth/refresh  {"refresh_token"}                    -> a new pair
    POST /api/v1/auth/logout   (Authorization: Bearer <access>)     -> 204
    GET  /api/v1/me            (Authorization: Bearer <access>)     -> profile and jurisdiction

Thin: the rules are in gridsvc.accounts.users, and so are the refusals: every refusal is
the same SignInRefused (a 401), so a caller cannot learn which phone numbers exist;
throttling is SignInThrottled (a 429 with Retry-After). gridsvc.web.errors answers both.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema
from marshmallow.validate import Length

from gridsvc.kernel.runtime import runtime
from gridsvc.web.grids_api import Text
from gridsvc.accounts.users import (
    SignInRefused,
    TokenPair,
    jurisdiction_of,
    record_attempt,
    refresh,
    sign_in,
    sign_out,
    user_for_token,
)
from gridsvc.web.errors import ApiError

auth_api = Blueprint("auth_api", __name__, url_prefix="/api/v1")


class LoginBody(Schema):
    class Meta:
        unknown = EXCLUDE

    phone = Text(required=True, validate=Length(1, 20))
    password = Text(required=True, validate=Length(1, 200))
    device_id = Text(load_default=None, allow_none=True, validate=Length(max=100))


class RefreshBody(Schema):
    class Meta:
        unknown = EXCLUDE

    refresh_token = Text(required=True, validate=Length(1, 200))


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "请求体须为 JSON 对象 / the body must be a JSON object")
    return body


def _pair(pair: TokenPair) -> dict:
    return {
        "token_type": "Bearer",
        "access_token": pair.access_token,
        "access_expires_at": pair.access_expires_at.isoformat(),
        "refresh_token": pair.refresh_token,
        "refresh_expires_at": pair.refresh_expires_at.isoformat(),
        "user": {"phone": pair.user.phone, "name": pair.user.name, "role": pair.user.role},
    }


@auth_api.post("/auth/login")
def login():
    body = LoginBody().load(json_body())
    with runtime().sessions() as session:
        attempt = record_attempt(session, body["phone"], request.remote_addr)
        session.commit()  # counted before the password is checked: simultaneous guesses all count
        pair = sign_in(session, attempt, body["password"], body["device_id"])
        session.commit()
        return jsonify(_pair(pair))


@auth_api.post("/auth/refresh")
def refresh_tokens():
    body = RefreshBody().load(json_body())
    with runtime().sessions() as session:
        try:
            pair = refresh(session, body["refresh_token"])
        except SignInRefused:
            session.commit()  # a replayed refresh token's family stays revoked
            raise
        session.commit()
        return jsonify(_pair(pair))


def bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "sign_in_required", "需要登录 / sign in and send Authorization: Bearer <token>")
    return token.strip()


@auth_api.post("/auth/logout")
def logout():
    with runtime().sessions.begin() as session:
        sign_out(session, bearer_token())
    return "", 204


def signed_in_user(session):
    """The user of the request's bearer token; ApiError `sign_in_required` without one, SignInRefused
    for one that is not (or no longer) valid."""
    return user_for_token(session, bearer_token())


@auth_api.get("/me")
def me():
    with runtime().sessions() as session:
        user = signed_in_user(session)
        jurisdiction = jurisdiction_of(session, user)
        return jsonify({
            "phone": user.phone,
            "name": user.name,
            "role": user.role,
            "jurisdiction": {
                "everywhere": jurisdiction.everywhere,
                "area_prefix": jurisdiction.area_prefix,
                "grid_codes": sorted(jurisdiction.grid_codes),
                "department_code": jurisdiction.department_code,
            },
        })
