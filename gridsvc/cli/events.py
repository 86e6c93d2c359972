"""CLI for live events (`gridsvc events …`): prune the outbox, look at what went out."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask.cli import with_appcontext

from gridsvc.cli.commands import runtime_with_schema
from gridsvc.events import outbox
from gridsvc.kernel.clock import utcnow


@click.group()
def events() -> None:
    """Domain events: the outbox that screens and phones are fed from."""


@events.command("prune")
@click.option("--keep-days", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Keep this many days of events: a screen away longer reloads instead of catching up.")
@with_appcontext
def prune_command(keep_days: float) -> None:
    """Delete events older than --keep-days (run daily from cron); the records of cases keep everything."""
    with runtime_with_schema().sessions.begin() as session:
        deleted = outbox.prune(session, utcnow() - timedelta(days=keep_days))
    click.echo(f"{deleted} events deleted")


@events.command("list")
@click.option("--since", type=click.IntRange(min=0), default=0, show_default=True, help="After this seq.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@with_appcontext
def list_command(since: int, limit: int) -> None:
    """Print events after --since as JSON lines, oldest first (what every screen was sent)."""
    with runtime_with_schema().sessions() as session:
        for number, event in enumerate(outbox.read_after(session, since, batch=limit)):
            if number == limit:
                break
            click.echo(json.dumps(outbox.payload(event), ensure_ascii=False))
