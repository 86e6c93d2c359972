"""What one running process holds: settings, database pools, the reloading caches, the live channel.

`gridsvc.app.create_app` builds it and hangs it off `app.extensions["gridsvc"]`; web views and CLI
commands reach it through `runtime()`. It lives in the kernel, not in the app module, so that the
adapters can reach it without importing the factory that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.kernel.config import Settings
from gridsvc.kernel.reloading import Reloading

if TYPE_CHECKING:  # types only: the kernel imports no package above it
    from gridsvc.catalogue.responsibility import ResponsibilityList
    from gridsvc.geo.locate import GridIndex
    from gridsvc.web.live import LiveChannel
    from gridsvc.worktime.calendar import WorkCalendar


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    index: Reloading[GridIndex]
    calendar: Reloading[WorkCalendar]
    rules: Reloading[ResponsibilityList]
    cache_engine: Engine  # the caches' own small pool (gridsvc.kernel.reloading says why)
    live: "LiveChannel | None" = None  # the Socket.IO server and this process's relay (gridsvc.web.live)

    def dispose(self) -> None:
        """Close both pools' connections (tests and benchmarks that make many apps)."""
        self.engine.dispose()
        self.cache_engine.dispose()


def runtime() -> Runtime:
    """The running app's Runtime (inside a request or app context)."""
    return current_app.extensions["gridsvc"]
