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

CHANNEL = "gridsvc:events"
log = logging.getLogger(__name__)


class Wakeup:
    def __init__(self, redis_url: str = ""):
        self._flag = threading.Event()
        self._redis = redis.Redis.from_url(redis_url) if redis_url else None

    @property
    def shared(self) -> bool:
        return self._redis is not None

    def committed(self, last_seq: int) -> None:
        """Called after a commit that wrote events (the session's `events_committed` callback)."""
        self._flag.set()
        if self._redis is not None:
            try:
                self._redis.publish(CHANNEL, str(last_seq))
            except redis.RedisError as exc:  # the relays' timer still finds the events
                log.warning("could not signal committed events through Redis: %s", exc)

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
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self._flag.set()  # events may have been committed while not subscribed
                for _message in pubsub.listen():
                    self._flag.set()
            except redis.RedisError as exc:
                log.warning("lost the Redis channel for events (%s); retrying", exc)
                time.sleep(1.0)
