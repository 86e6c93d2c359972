"""Live events in one process: the relay is pumped by hand (`events_poll_seconds=0`), so each test says
exactly when events travel."""

import pytest

from gridsvc.kernel.config import Settings
from tests.support import Recording


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, index_refresh_seconds=0.0, events_poll_seconds=0.0)


@pytest.fixture
def recording(rt) -> Recording:
    rt.live.relay._transport = Recording(rt.live.relay._transport)
    return rt.live.relay._transport
