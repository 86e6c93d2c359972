"""CLI for cases (`gridsvc cases …`): verify that no case record was tampered with."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gridsvc import case_record
from gridsvc.cli import runtime_with_schema


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
