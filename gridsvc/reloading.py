"""A value each process keeps in memory and rebuilds when the database says it changed.

The responsibility list and the work calendar are read on every report;
loading them each time cost ~40 % of intake. Instead a process keeps them and,
at most every `refresh_seconds`, asks the database one cheap question (a
revision counter, the declared days) to learn whether to rebuild. A change
made by the CLI in another process reaches every server within that delay.
(The locate index has its own cache, gridsvc.locating.IndexCache: rebuilding
it takes seconds, so other threads keep the old one meanwhile.)
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
        if self._value is not None and time.monotonic() - self._checked_at < self._refresh_seconds:
            return self._value
        with self._lock:
            with self._sessions() as session:
                version = self._version_of(session)
                if self._value is None or version != self._version:
                    self._value, self._version = self._build(session, version), version
            self._checked_at = time.monotonic()
            return self._value
