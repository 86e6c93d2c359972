"""The wake-up signal: "events were committed", heard at once by every relay that should look.

In the committing process a flag wakes its relay directly. With Redis configured the last number
is also published on a channel that every server process listens to, so a report accepted by one
process reaches screens connected to another within milliseconds, and events of the deadline
sweep or another CLI command reach all of them. The signal carries no events, only the news:
relays read the events themselves from the outbox, so a lost or doubled signal loses or doubles
nothing, and relays also poll on a timer in case a signal never comes (Redis down, no Redis).
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from gridsvc.kernel.shared_stores import REDIS_TIMEOUT_S, CachedCheck

CHANNEL = "gridsvc:events"
PUBLISH_TIMEOUT_S = REDIS_TIMEOUT_S  # the signal is sent inside the request that committed
QUIET_AFTER_FAILURE_S = 5.0  # and after a failure, requests do not try again for a while
log = logging.getLogger(__name__)


class Wakeup:
    def __init__(self, redis_url: str = ""):
        self._flag = threading.Event()
        self._url = redis_url
        self._publisher = (redis.Redis.from_url(redis_url, socket_timeout=PUBLISH_TIMEOUT_S,
                                                socket_connect_timeout=PUBLISH_TIMEOUT_S)
                           if redis_url else None)
        self._quiet_until = 0.0
        self._reachable = CachedCheck(self._ping)

    @property
    def shared(self) -> bool:
        return self._publisher is not None

    def committed(self, last_seq: int) -> None:
        """Called after a commit that wrote events (the session's `events_committed` callback)."""
        self._flag.set()
        if self._publisher is None or time.monotonic() < self._quiet_until:
            return
        try:
            self._publisher.publish(CHANNEL, str(last_seq))
        except redis.RedisError as exc:  # the relays' timer still finds the events
            self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
            log.warning("could not signal committed events through Redis: %s", exc)

    def health(self) -> dict:
        """For the health check: how other processes hear of this one's events, and whether Redis answers
        (when it does not, their relays find the events by their timer, `events_poll_seconds`)."""
        return {"wakeup": "redis" if self.shared else "poll", "reachable": not self.shared or self._reachable()}

    def _ping(self) -> bool:
        try:
            return bool(self._publisher.ping())
        except redis.RedisError:
            return False

    def poke(self) -> None:
        """Wake this process's relay only (a connection arrived and waits for its catch-up)."""
        self._flag.set()

    def wait(self, timeout: float) -> None:
        """Until a signal comes or `timeout` seconds pass."""
        self._flag.wait(timeout)
        self._flag.clear()

    def listen_forever(self) -> None:
        """Relay other processes' signals to this process's flag (run as a background task)."""
        while True:
            try:
                pubsub = redis.Redis.from_url(self._url).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self._flag.set()  # events may have been committed while not subscribed
                for _message in pubsub.listen():
                    self._flag.set()
            except redis.RedisError as exc:
                log.warning("lost the Redis channel for events (%s); retrying", exc)
                time.sleep(1.0)
