"""Per-user rate limits for the phones' API (Flask-Limiter).

A phone in a loop (a retry bug, a stuck offline queue) must not crowd out the
township's other phones. Every sign-in (bearer token) gets its own budget,
`GRIDSVC_RATE_LIMIT` (Flask-Limiter's notation, e.g. "120 per minute;2000 per
hour"); a request without a token counts against its client address. Counters
live in `GRIDSVC_RATE_LIMIT_STORAGE`: `memory://` counts per process, fine for
one process; with several gunicorn workers or servers use Redis
(`redis://127.0.0.1:6379`) so they all count together. Refusals are 429 in the
service's error shape, with Retry-After.

Redis away must not take the phones' API down with it: a request that finds the
storage unreachable (refused, or silent for REDIS_TIMEOUT_S) switches the
process to counting in its own memory, with the same budget, and Flask-Limiter
logs the switch ("Rate limit storage unreachable") and the return ("Rate limit
storage recovered"; it asks again 1, 2, 4 … 32 s apart, so a process may go on
counting alone for about half a minute after Redis is back). While it counts
alone, a phone's budget is per process rather than shared. Any other storage
error (two requests failing at once as Redis goes, say) is logged and lets that
request through uncounted: never a 5xx. `GET /api/v1/health` says whether Redis answers.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, Flask, request
from flask_limiter import Limiter

from gridsvc.kernel.config import Settings
from gridsvc.kernel.shared_stores import REDIS_TIMEOUT_S, CachedCheck

_HEALTH = "gridsvc.web.rate_limits.health"  # key in app.extensions


def caller_key() -> str:
    """The bearer token's digest (one budget per sign-in), else the client address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return "token:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()
    return "addr:" + (request.remote_addr or "unknown")


def limit_blueprints(app: Flask, settings: Settings, *blueprints: Blueprint) -> Limiter:
    """One budget per caller across every route of `blueprints` (register them after this)."""
    uri = settings.rate_limit_storage
    limiter = Limiter(caller_key, app=app, storage_uri=uri, storage_options=_storage_options(uri),
                      headers_enabled=True, key_prefix="gridsvc", in_memory_fallback_enabled=True,
                      swallow_errors=True)
    shared = limiter.shared_limit(settings.rate_limit, scope="mobile")
    for blueprint in blueprints:
        shared(blueprint)
    reachable = CachedCheck(limiter.storage.check)
    app.extensions[_HEALTH] = lambda: {"storage": urlsplit(uri).scheme, "reachable": reachable()}
    return limiter


def storage_health(app: Flask) -> dict:
    """For the health check: where the counters live, and whether that store answers (when it does
    not, each process counts alone in its memory)."""
    return app.extensions[_HEALTH]()


def _storage_options(uri: str) -> dict:
    """Timeouts for a Redis storage (redis-py waits for ever by default); nothing for the others."""
    if urlsplit(uri).scheme.startswith("redis"):
        return {"socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S}
    return {}
