"""The per-process caches: a refresh never makes other callers wait, and reads through the caches' own pool."""

from __future__ import annotations

import threading
from contextlib import nullcontext

from gridsvc.kernel.reloading import Reloading


def test_callers_keep_the_old_value_while_another_refreshes():
    versions = iter([1] + [2] * 10)
    building = threading.Event()
    release = threading.Event()

    def build(_session, version):
        if version == 2:
            building.set()
            release.wait(10)
        return f"built from {version}"

    cache = Reloading(lambda: nullcontext(), refresh_seconds=0.0, version=lambda _s: next(versions), build=build)
    assert cache.get() == "built from 1"
    refresher = threading.Thread(target=cache.get)
    refresher.start()
    assert building.wait(10)
    assert cache.get() == "built from 1"  # answered at once, while the refresh is stuck in its build
    release.set()
    refresher.join(10)
    assert cache.get() == "built from 2"


def test_invalidate_rebuilds_on_the_next_call_even_at_the_same_version():
    builds = []
    cache = Reloading(lambda: nullcontext(), refresh_seconds=3600, version=lambda _s: 7,
                      build=lambda _s, v: builds.append(v) or len(builds))
    assert cache.get() == 1 and cache.get() == 1
    cache.invalidate()
    assert cache.get() == 2


def test_the_caches_refresh_through_a_pool_of_their_own(sample_app, rt):
    """A request holding every connection of the requests' pool still gets a refreshed cache."""
    held = [rt.engine.connect() for _ in range(rt.engine.pool.size() + rt.engine.pool._max_overflow)]
    try:
        rt.index.invalidate()
        rt.rules.invalidate()
        assert len(rt.index.get()) > 0 and rt.rules.get() is not None
        assert rt.calendar.get() is not None
    finally:
        for connection in held:
            connection.close()
