"""A value each process keeps in memory and rebuilds when the database says it changed.

The locate index, the responsibility list and the work calendar are read on
every report; loading them each time cost ~40 % of intake (the index takes
seconds). Instead a process keeps them and, at most every `refresh_seconds`,
asks the database one cheap question (a revision counter, the declared days)
to learn whether to rebuild. A change made by the CLI in another process
reaches every server within that delay.

Two rules keep a burst of requests from stalling on a refresh (issue 14: 40
reports at once just after the caches fell due waited 30 s for the pool):

- the refresh reads through `sessions` of the caches' own small pool
  (`gridsvc.app.create_app`), never the requests' pool. A request holds a
  connection of its own pool while it asks for a cache; if the refresh needed
  that pool too, a full pool of such requests would starve it;
- while one caller refreshes, the others keep the value they have instead of
  waiting. Only the very first load makes callers wait, and it waits for the
  caches' pool alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


class Reloading(Generic[T]):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        refresh_seconds: float,
        version: Callable[[Session], Hashable],
        build: Callable[[Session, Hashable], T],
    ) -> None:
        self._sessions = sessions
        self._refresh_seconds = refresh_seconds
        self._version_of = version
        self._build = build
        self._value: T | None = None
        self._version: Hashable = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> T:
        """The current value; while another caller checks or rebuilds it, the one before."""
        value = self._value
        if value is not None and time.monotonic() - self._checked_at < self._refresh_seconds:
            return value
        if value is not None and not self._lock.acquire(blocking=False):
            return value
        if value is None:
            self._lock.acquire()
        try:
            with self._sessions() as session:
                version = self._version_of(session)
                if self._value is None or version != self._version:
                    self._value, self._version = self._build(session, version), version
            self._checked_at = time.monotonic()
            return self._value
        finally:
            self._lock.release()

    def invalidate(self) -> None:
        """Forget the value (this process just changed what it was built from)."""
        with self._lock:
            self._value = None
