"""CLI for cases (`gridsvc cases …`): verify that no record was tampered with; sweep deadlines."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from gridsvc.cases import record as case_record
from gridsvc.cli.commands import runtime_with_schema
from gridsvc.cases.deadline_sweep import sweep
from gridsvc.kernel.clock import as_utc, utcnow


@click.group()
def cases() -> None:
    """Cases and their records."""


@cases.command("verify-record")
@with_appcontext
def verify_record_command() -> None:
    """Check every case record's hash chain; exit 1 and say where if any entry was altered."""
    with runtime_with_schema().sessions() as session:
        problems = case_record.verify(session)
    for problem in problems:
        click.echo(f"篡改 tampered: case {problem.case_id}, entry {problem.seq}: {problem.reason}")
    click.echo(f"{len(problems)} problems found")
    if problems:
        raise SystemExit(1)


@cases.command("sweep")
@click.option("--now", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
              help="Sweep as if it were this moment (UTC unless an offset is given); default: now.")
@with_appcontext
def sweep_command(now: datetime | None) -> None:
    """Warn of deadlines near, mark overdue cases, alert the county, re-send unacknowledged dispatches;
    safe to run from cron in parallel."""
    rt = runtime_with_schema()
    result = sweep(rt.sessions, rt.calendar.get(), rt.settings, as_utc(now) if now else utcnow())
    click.echo(f"{result.warned} warned, {result.overdue} overdue, {result.county_alerted} county alerts, "
               f"{result.dispatch_reminders} dispatches re-sent, {result.dispatch_alerts} unacknowledged "
               f"dispatches shown to the commander, {result.lost_races} left to another process")
