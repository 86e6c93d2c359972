"""A burst of reports as a storm brings them, served as deployed (gunicorn, gevent workers, PostGIS).

The probe behind issue 14 saw 40 reports fired at once, just after the per-process caches fell due,
answer 12 × 503 after 30 s: the requests held the pool's connections while they waited for the
cache's refresh, and the refresh waited for a connection. Round one here is a cold start (the
caches are empty), rounds two and three start just after the caches fell due.
"""

from __future__ import annotations

import time

import pytest
import requests

from bench.serving import gunicorn
from tests.support import at_once, report_body, token

GRID_WORKER = "13800000003"
BURST = 40
REFRESH_SECONDS = 1.0


@pytest.mark.parametrize("database_url", ["postgis"], indirect=True)
def test_forty_reports_at_once_after_the_caches_fall_due_all_succeed_quickly(town, database_url, tmp_path):
    env = {"GRIDSVC_DATABASE_URL": database_url, "GRIDSVC_INDEX_REFRESH_SECONDS": str(REFRESH_SECONDS),
           "GRIDSVC_RATE_LIMIT": "100000 per minute"}
    serving = ["--worker-class", "gevent", "--workers", "2"]
    headers = {"Authorization": f"Bearer {token(town, GRID_WORKER)}"}

    def one_report(base: str):
        started = time.monotonic()
        answer = requests.post(f"{base}/mobile/v1/reports", json=report_body(town), headers=headers, timeout=60)
        return answer.status_code, time.monotonic() - started

    with gunicorn("gridsvc.wsgi:app", env, serving, tmp_path / "burst.log") as base:
        for round_no in range(1, 4):
            if round_no > 1:
                time.sleep(REFRESH_SECONDS * 1.5)  # every cache of every worker is due for its check now
            answers = at_once([lambda: one_report(base)] * BURST)
            latencies = sorted(seconds for _, seconds in answers)
            print(f"round {round_no}: statuses {sorted({s for s, _ in answers})}, "
                  f"latency min {latencies[0]:.2f} s, median {latencies[BURST // 2]:.2f} s, max {latencies[-1]:.2f} s")
            assert [status for status, _ in answers] == [201] * BURST, answers
            assert latencies[-1] < 10.0, latencies
