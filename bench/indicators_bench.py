"""Indicators benchmark: one call of gridsvc.oversight.indicators.indicator_table per level, against baselines.

    python -m bench.indicators_bench [--cases 2000] [--workers 20] [--days 20] [--fixes 120]
                                     [--backends spatialite,postgis] [--postgres-url URL]

A fresh database per backend with the sample county, `cases` demo cases (fixtures.demo: reports
through intake, walked along the workflow with the deadline sweep in between, so every case has a
real record), and `workers` grid workers of 齐家镇 who each walk `fixes` fixes in their grid on
`days` days (through gridsvc.patrols.recording, as the phones do). The county supervisor then asks for the
indicators of a 92-day period holding all of it, at every level.

The first call counts every patrol day once (gridsvc.patrols.days) and keeps the counts;
the calls after it read them. Baselines, measured in the same run on the same data:
- `read`: only the database's share of the indicators, the one query for the cases and the one for
  their entries (indicators._read): what any computation from the records must pay;
- `numbers`: the command screen's figures (gridsvc.oversight.numbers.screen_numbers) for the same user and
  period, counted by grouped SQL.
Each figure is the median of `--repeat` calls. This is a benchmark, not a test.
"""

from __future__ import annotations

# Import order: gridsvc.kernel.db must come first (see the comment there).
import gridsvc.kernel.db  # noqa: F401

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.index_rebuild_bench import drop, postgis_url
from bench.load_bench import BACKENDS
from bench.locate_bench import DEFAULT_POSTGRES_URL
from fixtures.demo import load_demo
from fixtures.sample import load_sample
from gridsvc.app import create_app
from gridsvc.oversight import indicators
from gridsvc.kernel import migrate
from gridsvc.accounts.users import create_user
from gridsvc.kernel.config import Settings
from gridsvc.geo import metric
from gridsvc.geo.crs import parse_crs
from gridsvc.cases.intake import Intake
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import User
from gridsvc.oversight.numbers import screen_numbers
from gridsvc.patrols.recording import PointInput, add_points, start

SUPERVISOR = "13800000099"
QIJIA_PREFIX = "220112100"


def build(url: str, cases: int, workers: int, days: int, fixes: int) -> tuple:
    app = create_app(Settings(database_url=url, media_dir=tempfile.mkdtemp()))
    migrate.upgrade(app.extensions["gridsvc"].engine)
    rt = app.extensions["gridsvc"]
    now = utcnow()
    with rt.sessions.begin() as session:
        load_sample(session, rt.settings)
    started = time.perf_counter()
    with rt.sessions() as session:
        load_demo(session, Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings), now, cases=cases)
    made = time.perf_counter() - started
    index = rt.index.get()
    grids = [(i, c.code) for i, c in enumerate(index.cells) if c.kind == "base" and c.code.startswith(QIJIA_PREFIX)]
    with rt.sessions.begin() as session:
        supervisor = create_user(session, SUPERVISOR, "supervisor", "county_supervisor", "benchmark password",
                                 admin_code="220112000000").id
        walkers = [create_user(session, f"1381000{n:04d}", f"worker{n}", "grid_worker", "benchmark password",
                               grid_codes=[grids[n % len(grids)][1]]).id for n in range(workers)]
    for n, uid in enumerate(walkers):
        position = grids[n % len(grids)][0]
        centre = index.geometry(position).representative_point()
        step = metric.degree_window(centre.y, 4.0)[0]
        for day in range(days):
            moment = now - timedelta(days=day + 1)
            with rt.sessions() as session:
                user = session.get(User, uid)
                patrol, _ = start(session, user, str(uuid.uuid4()), moment, now=moment)
                session.commit()
                points = [PointInput(i, centre.x + step * ((i % 10) - 5), centre.y, parse_crs("cgcs2000"), 5.0,
                                     moment + timedelta(seconds=10 * i)) for i in range(fixes)]
                add_points(session, patrol, points, rt.settings, now=moment + timedelta(hours=1))
                session.commit()
    return app, supervisor, now, made


def timed(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(app, supervisor: int, now, repeat: int) -> dict[str, float]:
    rt = app.extensions["gridsvc"]
    period = indicators.Period(now - timedelta(days=91), now + timedelta(minutes=1))
    out = {}
    with rt.sessions() as session:
        user = session.get(User, supervisor)
        scope = indicators._scope(session, user, None)

        def table(level: str) -> dict:  # as the view does it: the counted patrol days are committed
            answer = indicators.indicator_table(session, user, rt.calendar.get(), rt.index.get(), rt.settings,
                                                period, level)
            session.commit()
            return answer
        out["township, first call (counts the patrol days)"] = timed(lambda: table("township"), 1)
        out["read (baseline)"] = timed(lambda: indicators._read(session, scope, period), repeat)
        out["numbers (baseline)"] = timed(lambda: screen_numbers(
            session, user, rt.calendar.get(), now, period.start, period.end), repeat)
        for level in indicators.LEVELS:
            out[level] = timed(lambda: table(level), repeat)
        counts = session.execute(sa.text("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_events), "
                                         "(SELECT count(*) FROM patrol_points)")).one()
    out["_counts"] = counts
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.indicators_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--fixes", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", type=lambda text: text.split(","), default=list(BACKENDS))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as folder:
            name = None
            if backend == "spatialite":
                url = f"sqlite:///{Path(folder) / 'bench.db'}"
            else:
                url, name = postgis_url(args.postgres_url)
            try:
                app, supervisor, now, made = build(url, args.cases, args.workers, args.days, args.fixes)
                figures = measure(app, supervisor, now, args.repeat)
                app.extensions["gridsvc"].dispose()
            finally:
                if name:
                    drop(args.postgres_url, name)
        cases, entries, fixes = figures.pop("_counts")
        print(f"\n{BACKENDS[backend]}: {cases} cases, {entries} record entries, {fixes} patrol fixes "
              f"(made in {made:.0f} s); median of {args.repeat} calls, 92 days, the county supervisor")
        print("| call | seconds |\n|---|---|")
        for call, seconds in figures.items():
            print(f"| {call} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
