"""Asking whether a shared store answers, cheaply enough for the health check.

The phones' rate limits (gridsvc.web.rate_limits) and the wake-up of live events (gridsvc.events.wakeup)
use Redis when configured, and neither fails a request while it is away: the one counts in each
process's memory meanwhile, the other leaves the relays to their timer. So an outage shows in no
answer but the health check's (`GET /api/v1/health`), and a monitor or load balancer may ask that
every second: a store is asked at most every CHECK_EVERY_S seconds, and callers in between get the
last answer rather than a wait.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

CHECK_EVERY_S = 2.0
# The longest a request waits for Redis (a rate-limit count, the wake-up signal, this check): a Redis
# that accepts connections and never answers must not hold requests up.
REDIS_TIMEOUT_S = 0.25


class CachedCheck:
    """A store's check (True: it answers), run at most every `every_s` seconds."""

    def __init__(self, check: Callable[[], bool], every_s: float = CHECK_EVERY_S):
        self._check, self._every_s = check, every_s
        self._next_at = -math.inf
        self._answer = True

    def __call__(self) -> bool:
        now = time.monotonic()
        if now >= self._next_at:
            self._next_at = now + self._every_s  # first: callers meanwhile take the last answer, not a hung store
            self._answer = self._check()
        return self._answer
