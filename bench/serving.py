"""Serving the app as it is deployed, for benchmarks and the live-events tests: gunicorn in a
process group of its own, stopped with everything it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    """Whether an HTTP server answers at `url` at all (any status will do)."""
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@contextmanager
def gunicorn(target: str, env: dict[str, str], serving: list[str], log: Path) -> Iterator[str]:
    """Serve `target` as it is deployed; yields its base URL.

    gunicorn runs in a process group of its own, so that the master and every
    worker go when the benchmark ends, also on an error or Ctrl-C.
    """
    port = free_port()
    # --no-control-socket: two instances run at once and would share its one default path.
    command = [sys.executable, "-m", "gunicorn", *serving, "--bind", f"127.0.0.1:{port}", "--no-control-socket",
               "--error-logfile", str(log), "--log-level", "warning", target]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
                               stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not answers(base + "/"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {target} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)  # a test waits for every server it starts
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """TERM to the whole group (gunicorn's graceful stop); after 30 s, or once the master is gone, KILL
    whatever of the group is left (a hung master, workers of a master that died)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    for pid, fields in proc_stats():
        if int(fields[2]) == process.pid and fields[0] != "Z":
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    process.wait()


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """Every process's id and its /proc/<pid>/stat fields from the state on (state, ppid, pgrp, …)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended meanwhile
