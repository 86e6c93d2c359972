"""Load benchmark: reports per second and latency of the service under gunicorn, next to a bare Flask endpoint.

    python -m bench.load_bench [--duration 15] [--connections 4,16] [--workers N] [--threads N]
                               [--backends spatialite,postgis] [--postgres-url URL]

bench.intake_bench times one report at a time inside one process; a county's
phones meet the service as it is deployed: several gunicorn worker processes
behind a socket, sharing one database. This benchmark serves the real
`gridsvc.wsgi:app` under gunicorn on a fresh database of each backend (the
sample county, a grid worker signed in beforehand over HTTP), and drives
`POST /mobile/v1/reports` with wrk, a real load tool: a fixed duration at each
connection count, every request a new report with its own client UUID (see
bench/wrk_reports.lua). The baseline is a bare Flask endpoint that parses the
same JSON body and answers it back, served by gunicorn with the same settings
and measured in the same run right after the service at each connection count,
so that a busy machine weighs on both sides alike.

Afterwards the database must hold exactly one case for each 201 answer; the
only others allowed are requests wrk had sent but not seen answered when its
time ran out (the service finishes them after wrk hung up). Any other
difference, a repeated UUID, a 4xx/5xx or a socket error is reported.
Each run also records how much CPU other people's processes took meanwhile,
since the machine is shared and its figures move with that.

gunicorn runs sync workers, one per core by default: intake is CPU work in
Python (locate, route, deadline, ORM) around a short write, so only processes
run it in parallel (gthread's threads would share one GIL). SQLite admits one
writer at a time; a worker that finds the write lock taken sleeps in SQLite's
busy handler and tries again, so every worker beyond the cores adds no CPU,
only more such waits: with 2 per core the p99 latency on SpatiaLite was two to
six times that with 1 per core, for about the same throughput
(docs/benchmarks.md). With PostgreSQL on the same cores, a second worker per
core did not pay either. `--workers` measures other choices.
"""

from __future__ import annotations

# Import order: gridsvc.kernel.db must come first (see the comment there).
import gridsvc.kernel.db  # noqa: F401

import argparse
import json
import os
import platform
import re
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.index_rebuild_bench import drop, postgis_url
from bench.locate_bench import DEFAULT_POSTGRES_URL
from bench.sample_service import PASSWORD, add_reporter, bodies, sample_app
from bench.serving import ROOT, gunicorn, proc_stats
from gridsvc.kernel.models import Case

WRK_SCRIPT = Path(__file__).with_name("wrk_reports.lua")
SERVICE = ("gridsvc.wsgi:app", "/mobile/v1/reports")
BARE = ("bench.sample_service:bare_app()", "/echo")
WORKER_PHONE = "13800000002"
WARM_UP_S = 3
# The phones' rate limit stays on, counted in Redis as with several workers in production, with the
# default's two windows; only its budget is raised beyond what one sign-in sends in a run.
RATE_LIMIT = "1000000 per minute;1000000 per hour"


def parse_connections(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def ensure_wrk() -> str:
    """wrk comes from Debian, through the project's own helper, so `make bench` works on a fresh machine."""
    subprocess.run(["bash", "-c", "source scripts/apt.sh && apt_install_missing wrk"], cwd=ROOT, check=True)
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return version.split("[")[0].strip()


def sign_in(base: str) -> str:
    """The grid worker's access token, asked of the running service as the phone asks for it."""
    body = json.dumps({"phone": WORKER_PHONE, "password": PASSWORD, "device_id": "load-bench"}).encode()
    request = urllib.request.Request(base + "/mobile/v1/auth/login", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


def write_lua_data(path: Path, token: str, reports: list[dict]) -> None:
    """Hand wrk the token and the report bodies, each without its opening `{"client_uuid": …,`."""
    tails = []
    for report in reports:
        rest = {key: value for key, value in report.items() if key != "client_uuid"}
        tails.append("[==[" + json.dumps(rest, ensure_ascii=False, separators=(",", ":"))[1:] + "]==]")
    path.write_text(f"token = {json.dumps(token)}\ntails = {{\n" + ",\n".join(tails) + "\n}\n", encoding="utf-8")


@dataclass
class WrkRun:
    """One wrk run as wrk printed it, plus the script's counts and UUID logs."""

    requests_per_s: float
    duration_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    counts: dict[str, int]
    refusals: str  # "status:count …" of the 4xx/5xx answers
    sent: list[str]
    created: list[str]
    # Shares of all cores during the run: gunicorn and its PostgreSQL backends, wrk, everyone else.
    serving_cpu: float
    wrk_cpu: float
    others_cpu: float
    serving_ms: float  # CPU time of the serving side per answered request, whoever else is busy

    def cpu(self) -> str:
        return f"{self.serving_cpu:.0%} / {self.wrk_cpu:.0%} / {self.others_cpu:.0%}"

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.counts["existing"]

    @property
    def created_per_s(self) -> float:
        return self.counts["created"] / self.duration_s


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def milliseconds(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def parse_wrk(output: str) -> dict:
    """The figures of wrk's `--latency` report; a report without them is an error."""
    percentiles = {int(p): milliseconds(v, u) for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$",
                                                                        output, re.MULTILINE)}
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    counts = re.search(r"load_bench: sent (\d+) answered (\d+) created (\d+) existing (\d+) refused (\d+) "
                       r"\[([^\]]*)\]", output)
    if not (50 in percentiles and 99 in percentiles and total and rate and counts):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests_per_s": float(rate.group(1)),
        "duration_s": milliseconds(total.group(2), total.group(3)) / 1e3,
        "p50_ms": percentiles[50], "p99_ms": percentiles[99],
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, sockets.groups())) if sockets else 0,
        "counts": dict(zip(("sent", "answered", "created", "existing", "refused"), map(int, counts.groups()[:5]))),
        "refusals": counts.group(6),
    }


def process_table() -> dict[int, tuple[int, int]]:
    """Every process's parent and CPU time so far (clock ticks), from /proc."""
    return {pid: (int(fields[1]), int(fields[11]) + int(fields[12])) for pid, fields in proc_stats()}


def serving_ticks(table: dict[int, tuple[int, int]], roots: list[int], engine) -> int:
    """CPU time so far of the `roots`, every process under them and the scratch database's PostgreSQL
    backends: the serving side of a benchmark."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    serving, queue = set(), list(roots)
    while queue:
        pid = queue.pop()
        serving.add(pid)
        queue.extend(children.get(pid, []))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            serving.update(conn.scalars(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))
    return sum(table[pid][1] for pid in serving if pid in table)


def machine_ticks() -> int:
    """CPU time the whole machine spent busy so far (user, nice, system, irq, softirq, steal)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return user + nice + system + irq + softirq + steal


def our_ticks(engine) -> tuple[int, int]:
    """CPU time of this benchmark so far: the serving side (this process, gunicorn, its PostgreSQL
    backends), and wrk (ended runs)."""
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has ended
    ticks_per_s = os.sysconf("SC_CLK_TCK")
    return (serving_ticks(process_table(), [os.getpid()], engine),
            round((reaped.ru_utime + reaped.ru_stime) * ticks_per_s))


def run_wrk(url: str, data: Path, folder: Path, connections: int, duration_s: float, engine) -> WrkRun:
    """One wrk run, and how much of the machine other people's processes took meanwhile."""
    prefix = folder / f"run-{secrets.token_hex(4)}"
    nonce = secrets.randbelow(0x10000)
    command = ["wrk", "--threads", str(min(2, connections)), "--connections", str(connections),
               "--duration", f"{duration_s:g}s", "--timeout", "30s", "--latency", "--script", str(WRK_SCRIPT),
               url, "--", str(data), str(prefix), str(nonce)]
    started = (time.monotonic(), machine_ticks(), *our_ticks(engine))
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed_s, machine, serving, wrk = (now - then for now, then in zip(
        (time.monotonic(), machine_ticks(), *our_ticks(engine)), started))
    capacity = elapsed_s * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
    logged = {kind: [line for log in sorted(folder.glob(f"{prefix.name}-*-{kind}.txt"))
                     for line in log.read_text().split()] for kind in ("sent", "created")}
    figures = parse_wrk(output)
    return WrkRun(**figures, **logged, serving_cpu=serving / capacity, wrk_cpu=wrk / capacity,
                  others_cpu=max(machine - serving - wrk, 0) / capacity,
                  serving_ms=serving / os.sysconf("SC_CLK_TCK") * 1e3 / max(figures["counts"]["answered"], 1))


def case_uuids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(sa.select(Case.client_uuid)))


def settled_case_uuids(engine) -> set[str]:
    """The cases once the workers have finished what wrk left in flight (the count stops moving)."""
    before = case_uuids(engine)
    while True:
        time.sleep(0.5)
        now = case_uuids(engine)
        if len(now) == len(before):
            return now
        before = now


def check_cases(run: WrkRun, new: set[str], connections: int) -> str:
    """One case per 201 answer, nothing lost, nothing twice; extra cases only from cut-off requests."""
    created = set(run.created)
    problems = []
    if len(created) != len(run.created):
        problems.append(f"{len(run.created) - len(created)} UUIDs answered 201 twice")
    if created - new:
        problems.append(f"{len(created - new)} cases answered 201 are not in the database")
    cut_off = new - created
    unanswered = run.counts["sent"] - run.counts["answered"]
    if not cut_off <= set(run.sent) or len(cut_off) > unanswered:
        problems.append(f"{len(cut_off)} cases without a 201 answer, but only {unanswered} requests went unanswered")
    if run.refusals:
        problems.append(f"refused: {run.refusals}")
    if problems:
        return "; ".join(problems)
    return f"{len(new):,} cases = {len(created):,} answered 201 + {len(cut_off)} cut off (≤ {connections})"


def measure_backend(label: str, url: str, args, folder: Path, bare_url: str, lines: list[str],
                    details: list[str]) -> None:
    app = sample_app(url)
    rt = app.extensions["gridsvc"]
    with rt.sessions.begin() as session:
        add_reporter(session, rt, WORKER_PHONE)
    reports = bodies(app, 2000)
    env = {"GRIDSVC_DATABASE_URL": url, "GRIDSVC_RATE_LIMIT": RATE_LIMIT,
           "GRIDSVC_RATE_LIMIT_STORAGE": args.rate_limit_storage}
    with gunicorn(SERVICE[0], env, serving_options(args), folder / f"gunicorn-{label}.log") as base:
        data = folder / f"reports-{label}.lua"
        write_lua_data(data, sign_in(base), reports)
        service_url = base + SERVICE[1]
        for target in (service_url, bare_url):  # every worker builds its index and opens its connection
            run_wrk(target, data, folder, max(args.connections), WARM_UP_S, rt.engine)
        for connections in args.connections:
            before = settled_case_uuids(rt.engine)
            service = run_wrk(service_url, data, folder, connections, args.duration, rt.engine)
            check = check_cases(service, settled_case_uuids(rt.engine) - before, connections)
            bare = run_wrk(bare_url, data, folder, connections, args.duration, rt.engine)
            lines.append(
                f"| {label} | {connections} | {service.created_per_s:,.0f} | {service.p50_ms:.1f} | "
                f"{service.p99_ms:.1f} | {service.errors} | {bare.requests_per_s:,.0f} | {bare.p50_ms:.1f} | "
                f"{bare.p99_ms:.1f} | {bare.errors} | {service.others_cpu:.0%} / {bare.others_cpu:.0%} | {check} |"
            )
            print(lines[-1], flush=True)
            details.append(f"| {label} | {connections} | {service.cpu()} | {bare.cpu()} | {service.serving_ms:.1f} | "
                           f"{bare.serving_ms:.2f} | {service.requests_per_s:,.0f} | {service.counts['sent']:,} |")
    rt.dispose()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    gunicorn_version = subprocess.run([sys.executable, "-m", "gunicorn", "--version"], capture_output=True,
                                      text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, {memory_kb / 2**20:.0f} GB RAM; Python {platform.python_version()}, " \
           f"{gunicorn_version}"


def serving_options(args) -> list[str]:
    """gunicorn's worker options, the same for the service and the bare endpoint."""
    if args.threads > 1:
        return ["--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads)]
    return ["--workers", str(args.workers), "--worker-class", "sync"]


BACKENDS = {"spatialite": "SpatiaLite", "postgis": "PostGIS"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=parse_connections, default=[4, 16])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread when more than 1)")
    parser.add_argument("--backends", type=lambda text: text.split(","), default=list(BACKENDS))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--rate-limit-storage", default="redis://127.0.0.1:6379",
                        help="where the service's workers count the phones' requests")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop gunicorn, drop the db
    wrk = ensure_wrk()
    print(f"{machine()}, {wrk}; gunicorn {' '.join(serving_options(args))}; {args.duration:g} s per run; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    lines = [
        "| backend | connections | reports/s | p50 ms | p99 ms | errors | bare endpoint req/s | bare p50 ms "
        "| bare p99 ms | bare errors | others' CPU (service / bare run) | cases in the database |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    print("\n".join(lines), flush=True)
    details = [
        "| backend | connections | CPU in the service run: serving / wrk / others | the same in the bare run "
        "| serving CPU ms per report | the same per bare request | service requests/s (wrk) | requests sent |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with gunicorn(BARE[0], {}, serving_options(args), folder / "gunicorn-bare.log") as bare_base:
            if "spatialite" in args.backends:
                measure_backend("SpatiaLite", f"sqlite:///{folder / 'bench.sqlite'}", args, folder,
                                bare_base + BARE[1], lines, details)
            if "postgis" in args.backends:
                url, name = postgis_url(args.postgres_url)
                try:
                    measure_backend("PostGIS", url, args, folder, bare_base + BARE[1], lines, details)
                finally:
                    drop(args.postgres_url, name)
    print("\n" + "\n".join(details))
    print(f"load average after: {os.getloadavg()[0]:.2f} (this benchmark's own processes included)")


if __name__ == "__main__":
    main()
