"""Per-user rate limits for the phones' API (Flask-Limiter).

A phone in a loop (a retry bug, a stuck offline queue) must not crowd out the
township's other phones. Every sign-in (bearer token) gets its own budget,
`GRIDSVC_RATE_LIMIT` (Flask-Limiter's notation, e.g. "120 per minute;2000 per
hour"); a request without a token counts against its client address. Counters
live in `GRIDSVC_RATE_LIMIT_STORAGE`: `memory://` counts per process, fine for
one process; with several gunicorn workers or servers use Redis
(`redis://127.0.0.1:6379`) so they all count together. Refusals are 429 in the
service's error shape, with Retry-After.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, request
from flask_limiter import Limiter

from gridsvc.config import Settings


def caller_key() -> str:
    """The bearer token's digest (one budget per sign-in), else the client address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()
    return "addr:" + (request.remote_addr or "unknown")


def limit_blueprints(app: Flask, settings: Settings, *blueprints: Blueprint) -> Limiter:
    """One budget per caller across every route of `blueprints` (register them after this)."""
    limiter = Limiter(caller_key, app=app, storage_uri=settings.rate_limit_storage, headers_enabled=True,
                      key_prefix="gridsvc")
    shared = limiter.shared_limit(settings.rate_limit, scope="mobile")
    for blueprint in blueprints:
        shared(blueprint)
    return limiter
