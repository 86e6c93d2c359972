"""Intake benchmark: the cost of accepting one report, next to a bare Flask JSON endpoint.

    python -m bench.intake_bench [--reports 500] [--postgres-url URL]

A report's intake validates the body, converts the point from GCJ-02,
locates it, routes it, computes its deadline, checks for duplicates, writes
the case and the first record entry, and commits. The baseline is a Flask
endpoint in the same process that parses the same JSON body and answers it
back, so the difference is what intake itself costs. Both go through Flask's
test client (no network), on SpatiaLite and on PostGIS, in the same run.
"""

from __future__ import annotations

# Import order: gridsvc.kernel.db must come first (see the comment there).
import gridsvc.kernel.db  # noqa: F401

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.index_rebuild_bench import drop, postgis_url
from bench.locate_bench import DEFAULT_POSTGRES_URL
from bench.sample_service import PASSWORD, bare_app, bodies, sample_app
from gridsvc.accounts.users import create_user


def timed_posts(client, path: str, payloads: list[dict], headers: dict) -> list[float]:
    elapsed = []
    for body in payloads:
        started = time.perf_counter_ns()
        response = client.post(path, json=body, headers=headers)
        elapsed.append((time.perf_counter_ns() - started) / 1000)
        assert response.status_code == 201, response.get_json()
    return elapsed


def summary(values: list[float]) -> str:
    p50, p99 = np.percentile(values, [50, 99])
    return f"{statistics.fmean(values):,.0f} ({p50:,.0f}/{p99:,.0f})"


def measure(url: str, n: int) -> tuple[str, str, float]:
    app = sample_app(url)
    rt = app.extensions["gridsvc"]
    with rt.sessions.begin() as session:
        create_user(session, "13800000001", "基准", "township_commander", PASSWORD, admin_code="220112100000")
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"phone": "13800000001", "password": PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    payloads = bodies(app, n)
    timed_posts(client, "/api/v1/reports", bodies(app, 20), headers)  # warm the index and caches
    intake = timed_posts(client, "/api/v1/reports", payloads, headers)
    baseline = timed_posts(bare_app().test_client(), "/echo", payloads, {})
    rt.dispose()
    return summary(intake), summary(baseline), statistics.fmean(intake) / statistics.fmean(baseline)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.intake_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    print("| backend | reports | intake µs/report mean (p50/p99) "
          "| bare Flask JSON endpoint µs mean (p50/p99) | ratio |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        intake, baseline, ratio = measure(f"sqlite:///{Path(folder) / 'bench.sqlite'}", args.reports)
        print(f"| SpatiaLite | {args.reports} | {intake} | {baseline} | {ratio:.0f}× |", flush=True)
    url, name = postgis_url(args.postgres_url)
    try:
        intake, baseline, ratio = measure(url, args.reports)
        print(f"| PostGIS | {args.reports} | {intake} | {baseline} | {ratio:.0f}× |", flush=True)
    finally:
        drop(args.postgres_url, name)


if __name__ == "__main__":
    main()
