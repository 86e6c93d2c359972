"""CLI for the work calendar (`gridsvc calendar …`): declare days over the official calendar.

    gridsvc calendar set 2027-02-08 --workday --note "春节调休上班"
    gridsvc calendar set 2027-02-11 --day-off --note "春节"
    gridsvc calendar unset 2027-02-08
    gridsvc calendar list --year 2027
"""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from gridsvc.worktime.declared_days import declared_days, set_day, unset_day
from gridsvc.cli.commands import runtime_with_schema
from gridsvc.kernel.clock import utcnow

DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.group("calendar")
def calendar() -> None:
    """Working days and days off declared by an administrator (they take precedence)."""


@calendar.command("set")
@click.argument("day", type=DAY)
@click.option("--workday/--day-off", required=True, help="A working day (调休上班) or a day off (放假).")
@click.option("--note", default=None, help="Why, e.g. the notice it comes from.")
@with_appcontext
def set_command(day: datetime, workday: bool, note: str | None) -> None:
    """Declare DAY (YYYY-MM-DD) a working day or a day off."""
    with runtime_with_schema().sessions.begin() as session:
        set_day(session, day.date(), workday, note, utcnow())
    click.echo(f"{day.date()} {'工作日 working day' if workday else '休息日 day off'}")


@calendar.command("unset")
@click.argument("day", type=DAY)
@with_appcontext
def unset_command(day: datetime) -> None:
    """Forget a declared DAY: the official calendar decides again."""
    with runtime_with_schema().sessions.begin() as session:
        if not unset_day(session, day.date()):
            raise click.ClickException(f"{day.date()} was not declared")
    click.echo(f"{day.date()} follows the official calendar again")


@calendar.command("list")
@click.option("--year", type=click.IntRange(2000, 2100), default=None)
@with_appcontext
def list_command(year: int | None) -> None:
    """The declared days, in order."""
    with runtime_with_schema().sessions() as session:
        for day in declared_days(session, year):
            kind = "工作日 working day" if day.workday else "休息日 day off"
            click.echo(f"{day.day}  {kind}  {day.note or ''}".rstrip())
