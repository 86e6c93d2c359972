"""Live-event benchmark: from a report's acceptance to its arrival at N connected screens, next to a raw Socket.IO emit.

    python -m bench.live_bench [--reports 100] [--screens 1,50,200] [--pause-ms 20]
                               [--backends spatialite,postgis] [--postgres-url URL]

A command screen learns of a new case through the live channel (gridsvc.events): intake writes
the event into the outbox in the report's own transaction, the commit wakes the process's relay
(and, through Redis, every other process's), the relay reads the outbox and emits the event to
the Socket.IO rooms of those who may see the case. This benchmark times that path as a screen
sees it: `gridsvc.wsgi:app` under gunicorn with one gevent worker, as deployed for the live
channel (GRIDSVC_EVENTS_REDIS_URL set), on a fresh database of each backend holding the sample
county, a grid worker who reports and a county supervisor whose screens watch the whole county
(reports land at random grids in all of its townships). N python-socketio clients, all signed in
with the supervisor's one token, connect over WebSocket; once every one has heard `live`, the
grid worker sends K reports one at a time over one keep-alive HTTP connection. t0 is taken just
before each POST; every screen notes when the `case.created` event with that tracking number
arrives. The next report goes once every screen has it (or after 10 s) and a short pause, so
that each figure is one report's delivery, not a queue of earlier ones.

The baseline, measured in the same run right after the service at each N, is the same path with
nothing of the service in it: a bare Flask-SocketIO app (`bare_socketio_app` below) under the
same gunicorn options, whose `POST /emit` emits its JSON body to a room that every client joined
on connecting. The body is a `case.created` event the service sent in the warm-up, with its own
numbered tracking number, so both sides send messages of one shape and size. So the difference
between the two sides is intake, the outbox write and commit, the wake-up and the relay's read.

Per report: the first screen's and the last screen's arrival, and every (report × screen) arrival,
each minus t0, as p50 / p99 over the K reports; the POST as the client saw it and as gunicorn
timed it (its access log's %(D)s), which tells the server's share from the client's. Every screen
must get every report exactly once; any missing, repeated or unknown arrival is printed.

The clients are threads of this process (python-socketio's synchronous client over
websocket-client; its asyncio client needs aiohttp, which the project does not install), on the
same cores as the server. Each message starts a thread in the client and waits for this
process's one GIL among the N clients', so with many screens the later arrivals measure the
clients as much as the server; the first screen's arrival does much less so. This weighs on both
sides alike. Each run also records how much CPU the server, this process and everyone else took
meanwhile (and the server's CPU time per message, which moves less with others' load), and how
long tasks stalled on the disk (/proc/pressure/io), since the machine is shared and an SQLite
commit waits for its fsync.
"""

from __future__ import annotations

# Import order: gridsvc.kernel.db must come first (see the comment there).
import gridsvc.kernel.db  # noqa: F401

import argparse
import copy
import functools
import json
import os
import secrets
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import numpy as np
import redis
import requests
import socketio
from flask import Flask, request
from flask_socketio import SocketIO, join_room

from bench.index_rebuild_bench import drop, postgis_url
from bench.load_bench import BACKENDS, RATE_LIMIT, machine, machine_ticks, process_table, serving_ticks
from bench.locate_bench import DEFAULT_POSTGRES_URL
from bench.sample_service import PASSWORD, add_reporter, bodies, sample_app
from bench.serving import gunicorn
from gridsvc.accounts.users import create_user
from gridsvc.web.live import async_mode

SERVICE = "gridsvc.wsgi:app"
BARE = "bench.live_bench:bare_socketio_app()"
SERVING = ["--worker-class", "gevent", "--workers", "1"]
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s"  # %(D)s: microseconds from the request read to the answer sent
EVENTS_REDIS_URL = "redis://127.0.0.1:6379/15"
REPORTER_PHONE, SCREEN_PHONE = "13800000002", "13800000003"
COUNTY = "220112000000"  # 双阳区, the sample county (fixtures/build_sample.py)
WARM_UP_REPORTS = 5
ARRIVAL_TIMEOUT_S = 10.0
LATE_S = 0.5  # after the last report, for late or repeated arrivals
CONNECTING_THREADS = 16


def bare_socketio_app() -> Flask:
    """The baseline: HTTP in, one Socket.IO emit to a room out, nothing else.

    gunicorn's target as `bench.live_bench:bare_socketio_app()`; under the gevent worker
    Flask-SocketIO runs on gevent, as the service's live channel does (gridsvc.web.live).
    """
    app = Flask("live-baseline")
    sockets = SocketIO(app, async_mode=async_mode())

    @sockets.on("connect")
    def connect(auth=None):
        join_room("all")

    @app.post("/emit")
    def emit():
        sockets.emit("event", request.get_json(), to="all")
        return "", 204

    return app


class Screens:
    """N Socket.IO clients connected to one server, noting when each `case.created` arrives."""

    def __init__(self, base: str, n: int, auth: dict | None, wait_for_live: bool):
        self.n = n
        self._cond = threading.Condition()
        self.arrivals: dict[str, list[tuple[int, float]]] = {}  # tracking number -> (screen, perf_counter)
        self._heard_by: dict[str, set[int]] = {}  # tracking number -> screens
        self.other_kinds: dict[str, int] = {}
        self.malformed = 0
        self.sample: dict | None = None  # one event as received, for the baseline's messages
        self._live = [threading.Event() for _ in range(n)]
        self.clients = [socketio.Client(reconnection=False) for _ in range(n)]
        for index, client in enumerate(self.clients):
            client.on("event", functools.partial(self._event, index))
            client.on("live", functools.partial(self._heard_live, index))
        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(CONNECTING_THREADS) as pool:
                list(pool.map(lambda client: client.connect(base, auth=auth, transports=["websocket"],
                                                            wait_timeout=30), self.clients))
        except Exception:
            self.close()
            raise
        if not wait_for_live:
            for event in self._live:
                event.set()
        if not all(event.wait(30) for event in self._live):
            self.close()
            raise RuntimeError(f"{sum(not e.is_set() for e in self._live)} of {n} screens never heard `live`")
        self.connect_s = time.perf_counter() - started

    def _heard_live(self, index: int, _data=None) -> None:
        self._live[index].set()

    def _event(self, index: int, data) -> None:
        now = time.perf_counter()
        try:
            kind, number = data["kind"], data["data"]["case"]["tracking_no"]
        except (KeyError, TypeError):
            kind, number = (data.get("kind") if isinstance(data, dict) else None), None
        with self._cond:
            if kind != "case.created" or number is None:
                if kind is None:
                    self.malformed += 1
                else:
                    self.other_kinds[kind] = self.other_kinds.get(kind, 0) + 1
                return
            self.arrivals.setdefault(number, []).append((index, now))
            self.sample = data
            heard_by = self._heard_by.setdefault(number, set())
            heard_by.add(index)
            if len(heard_by) == self.n:  # wake the sender only once every screen has it
                self._cond.notify_all()

    def wait(self, number: str, timeout_s: float) -> bool:
        """Until every screen has heard of `number` (once or more)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._heard_by.get(number, ())) >= self.n, timeout_s)

    def close(self) -> None:
        with ThreadPoolExecutor(CONNECTING_THREADS) as pool:
            list(pool.map(lambda client: client.disconnect(), self.clients))


@dataclass
class Run:
    """One side at one N: every (report × screen) arrival, the last screen per report, the POSTs."""

    arrivals_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    last_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)  # the same POSTs as gunicorn timed them
    before_answer: int = 0  # arrivals earlier than the POST's answer
    problems: list[str] = field(default_factory=list)
    connect_s: float = 0.0
    serving_cpu: float = 0.0  # shares of all cores during the reports: the server(s), this process, others
    bench_cpu: float = 0.0
    others_cpu: float = 0.0
    serving_ms: float = 0.0  # CPU time of the serving side per message, whoever else is busy
    io_stalled: float | None = None  # share of the time some task waited for the disk (/proc/pressure/io)

    def cpu(self) -> str:
        return f"{self.serving_cpu:.0%} / {self.bench_cpu:.0%} / {self.others_cpu:.0%}"

    def io(self) -> str:
        return "–" if self.io_stalled is None else f"{self.io_stalled:.0%}"

    @staticmethod
    def p(values: list[float]) -> str:
        if not values:
            return "–"
        p50, p99 = np.percentile(values, [50, 99])
        return f"{p50:.1f} / {p99:.1f}"

    def check(self) -> str:
        return "; ".join(self.problems) if self.problems else "all, once each"

    def row(self) -> str:
        before = self.before_answer / max(len(self.arrivals_ms), 1)
        return " | ".join((self.p(self.first_ms), self.p(self.arrivals_ms), self.p(self.last_ms), self.p(self.post_ms),
                           self.p(self.server_ms), f"{before:.0%}", self.cpu(), f"{self.serving_ms:.1f}", self.io(),
                           f"{self.connect_s:.1f}", self.check()))


def cpu_ticks(engine) -> tuple[int, int]:
    """CPU time so far of the serving side (this process's descendants, i.e. both gunicorns, and the
    scratch database's PostgreSQL backends) and of this process (the screens and the HTTP client)."""
    table = process_table()
    children = [pid for pid, (parent, _) in table.items() if parent == os.getpid()]
    return serving_ticks(table, children, engine), table.get(os.getpid(), (0, 0))[1]


def io_stall_us() -> int | None:
    """Microseconds so far in which some task waited for I/O (Linux's pressure stall information)."""
    try:
        some = Path("/proc/pressure/io").read_text().splitlines()[0]
    except OSError:
        return None
    return int(some.rsplit("total=", 1)[1])


@dataclass
class Server:
    """A running gunicorn: its address, its access log, the path the benchmark POSTs to."""

    base: str
    access_log: Path
    post_path: str

    def server_ms(self, offset: int) -> list[float]:
        """How long gunicorn took over each POST logged since `offset` (request read to answer sent)."""
        with self.access_log.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode().splitlines()
        return [int(fields[3]) / 1e3 for fields in map(str.split, lines)
                if len(fields) == 4 and fields[:2] == ["POST", self.post_path]]


def serving(access_log: Path) -> list[str]:
    return [*SERVING, "--access-logfile", str(access_log), "--access-logformat", ACCESS_LOG_FORMAT]


def measure(server: Server, n: int, auth: dict | None, send, reports: int, pause_s: float, engine) -> Run:
    """Connect n screens, send `reports` messages one at a time through `send(k) -> tracking number`,
    and gather the arrivals."""
    screens = Screens(server.base, n, auth, wait_for_live=auth is not None)
    run = Run(connect_s=screens.connect_s)
    sent: list[tuple[str, float, float]] = []
    offset = server.access_log.stat().st_size
    try:
        stall = io_stall_us()
        started = (time.monotonic(), machine_ticks(), *cpu_ticks(engine))
        for k in range(reports):
            t0 = time.perf_counter()
            number = send(k)
            sent.append((number, t0, time.perf_counter()))
            screens.wait(number, ARRIVAL_TIMEOUT_S)
            time.sleep(pause_s)
        elapsed_s, busy, serving, bench = (now - then for now, then in zip(
            (time.monotonic(), machine_ticks(), *cpu_ticks(engine)), started))
        if stall is not None:
            run.io_stalled = (io_stall_us() - stall) / 1e6 / elapsed_s
        time.sleep(LATE_S)
    finally:
        screens.close()
    run.server_ms = server.server_ms(offset)
    if len(run.server_ms) != reports:
        run.problems.append(f"{len(run.server_ms)} POSTs in gunicorn's access log")
    capacity = elapsed_s * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
    run.serving_cpu, run.bench_cpu = serving / capacity, bench / capacity
    run.serving_ms = serving / os.sysconf("SC_CLK_TCK") * 1e3 / max(reports, 1)
    run.others_cpu = max(busy - serving - bench, 0) / capacity
    missing = repeated = 0
    for number, t0, answered in sent:
        run.post_ms.append((answered - t0) * 1e3)
        first: dict[int, float] = {}
        for screen, at in screens.arrivals.get(number, ()):
            if screen in first:
                repeated += 1
            else:
                first[screen] = at
        missing += n - len(first)
        run.arrivals_ms.extend((at - t0) * 1e3 for at in first.values())
        if first:
            run.first_ms.append((min(first.values()) - t0) * 1e3)
        run.before_answer += sum(at < answered for at in first.values())
        if len(first) == n:
            run.last_ms.append((max(first.values()) - t0) * 1e3)
    unknown = set(screens.arrivals) - {number for number, _, _ in sent}
    if missing:
        run.problems.append(f"{missing} of {n * reports} arrivals missing")
    if repeated:
        run.problems.append(f"{repeated} arrivals repeated")
    if unknown:
        run.problems.append(f"{len(unknown)} unknown tracking numbers")
    if screens.malformed:
        run.problems.append(f"{screens.malformed} malformed events")
    if screens.other_kinds:  # not wrong (a report may cause more events), but worth seeing
        run.problems.append("also heard " + ", ".join(f"{k} ×{v}" for k, v in sorted(screens.other_kinds.items())))
    return run


def sign_in(http: requests.Session, base: str, phone: str) -> str:
    answer = http.post(base + "/mobile/v1/auth/login", timeout=30,
                       json={"phone": phone, "password": PASSWORD, "device_id": "live-bench"})
    answer.raise_for_status()
    return answer.json()["access_token"]


def reporter(http: requests.Session, base: str, token: str, reports: list[dict]):
    """`send` for the service: the k-th report; its tracking number from the 201 answer."""
    headers = {"Authorization": f"Bearer {token}"}
    queue = iter(reports)

    def send(_k: int) -> str:
        answer = http.post(base + "/mobile/v1/reports", json=next(queue), headers=headers, timeout=30)
        if answer.status_code != 201:
            raise RuntimeError(f"report answered {answer.status_code}: {answer.text[:500]}")
        return answer.json()["tracking_no"]

    return send


def emitter(http: requests.Session, base: str, sample: dict):
    """`send` for the baseline: the service's event, renumbered (a tracking number as long as the real ones)."""
    nonce = secrets.randbelow(1000)

    def send(k: int) -> str:
        number = f"BENCH{nonce:03d}-{k:08d}"
        body = copy.deepcopy(sample)
        body["seq"] = k
        body["data"]["case"]["tracking_no"] = number
        answer = http.post(base + "/emit", json=body, timeout=30)
        if answer.status_code != 204:
            raise RuntimeError(f"/emit answered {answer.status_code}: {answer.text[:500]}")
        return number

    return send


def measure_backend(label: str, url: str, args, folder: Path, bare: Server, lines: list[str],
                    notes: list[str]) -> None:
    app = sample_app(url)
    rt = app.extensions["gridsvc"]
    with rt.sessions.begin() as session:
        # The screens are the county supervisor's, whose room hears of every case in the county.
        add_reporter(session, rt, REPORTER_PHONE)
        create_user(session, SCREEN_PHONE, "基准区级督查", "county_supervisor", PASSWORD, admin_code=COUNTY)
    total = WARM_UP_REPORTS + args.reports * len(args.screens)
    env = {"GRIDSVC_DATABASE_URL": url, "GRIDSVC_EVENTS_REDIS_URL": EVENTS_REDIS_URL,
           "GRIDSVC_RATE_LIMIT": RATE_LIMIT, "GRIDSVC_RATE_LIMIT_STORAGE": args.rate_limit_storage}
    access_log = folder / f"access-{label}.log"
    with gunicorn(SERVICE, env, serving(access_log), folder / f"gunicorn-{label}.log") as base, \
            requests.Session() as http:
        service_server = Server(base, access_log, "/mobile/v1/reports")
        auth = {"token": sign_in(http, base, SCREEN_PHONE)}
        report = reporter(http, base, sign_in(http, base, REPORTER_PHONE), bodies(app, total))
        # Warm-up: the worker builds its index, starts its relay, opens its connections; one event
        # is kept as the baseline's message.
        warm = Screens(base, 1, auth, wait_for_live=True)
        try:
            for _ in range(WARM_UP_REPORTS):
                warm.wait(report(0), ARRIVAL_TIMEOUT_S)
        finally:
            warm.close()
        if warm.sample is None:
            raise RuntimeError("the warm-up screen heard no case.created event")
        size = len(json.dumps(warm.sample, separators=(",", ":")))  # as python-socketio encodes it
        notes.append(f"{label}: a case.created event is {size:,} bytes of JSON on the wire")
        emit = emitter(http, bare.base, warm.sample)
        measure(bare, 1, None, emit, WARM_UP_REPORTS, args.pause_ms / 1e3, rt.engine)
        for n in args.screens:
            service = measure(service_server, n, auth, report, args.reports, args.pause_ms / 1e3, rt.engine)
            baseline = measure(bare, n, None, emit, args.reports, args.pause_ms / 1e3, rt.engine)
            for side, run in (("service", service), ("bare emit", baseline)):
                lines.append(f"| {label} | {n} | {side} | {run.row()} |")
                print(lines[-1], flush=True)
    rt.dispose()


def versions() -> str:
    packages = ("python-socketio", "python-engineio", "Flask-SocketIO", "gevent", "simple-websocket",
                "websocket-client", "requests")
    server = redis.Redis.from_url(EVENTS_REDIS_URL).info("server")["redis_version"]
    return ", ".join(f"{name} {version(name)}" for name in packages) + f", Redis {server}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.live_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100, help="reports (and baseline emits) per N")
    parser.add_argument("--screens", type=lambda text: [int(p) for p in text.split(",") if p.strip()],
                        default=[1, 50, 200], help="numbers of connected screens")
    parser.add_argument("--pause-ms", type=float, default=20, help="pause after each report has reached every screen")
    parser.add_argument("--backends", type=lambda text: text.split(","), default=["spatialite"],
                        help=f"some of {','.join(BACKENDS)}")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--rate-limit-storage", default="redis://127.0.0.1:6379",
                        help="where the service counts the phones' requests")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop gunicorn, drop the db
    began = time.monotonic()
    print(f"{machine()}; {versions()}; gunicorn {' '.join(SERVING)}; {args.reports} reports per N, "
          f"{args.pause_ms:g} ms pause; load average {os.getloadavg()[0]:.2f}", flush=True)
    lines = [
        "| backend | screens | side | first screen ms p50 / p99 | every arrival ms p50 / p99 "
        "| last screen ms p50 / p99 | POST answered ms p50 / p99 | POST in gunicorn ms p50 / p99 "
        "| arrivals before the answer | CPU: server / clients / others | server CPU ms per message | I/O stalled "
        "| connecting s | delivered |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    print("\n".join(lines), flush=True)
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        access_log = folder / "access-bare.log"
        with gunicorn(BARE, {}, serving(access_log), folder / "gunicorn-bare.log") as bare_base:
            bare = Server(bare_base, access_log, "/emit")
            if "spatialite" in args.backends:
                measure_backend("SpatiaLite", f"sqlite:///{folder / 'bench.sqlite'}", args, folder, bare, lines,
                                notes)
            if "postgis" in args.backends:
                url, name = postgis_url(args.postgres_url)
                try:
                    measure_backend("PostGIS", url, args, folder, bare, lines, notes)
                finally:
                    drop(args.postgres_url, name)
        for log in sorted(folder.glob("gunicorn-*.log")):
            text = log.read_text().strip()
            if text:
                print(f"\n{log.name}:\n{text[-3000:]}")
    print("\n".join(notes))
    print(f"took {(time.monotonic() - began) / 60:.1f} min; load average after: {os.getloadavg()[0]:.2f} "
          f"(this benchmark's own processes included)")


if __name__ == "__main__":
    main()
