"""CLI for user accounts (`gridsvc users …`): create a user, revoke a lost phone's tokens, prune old records."""

from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from gridsvc.accounts.users import ROLES, AccountError, create_user, prune, revoke
from gridsvc.cli.commands import runtime_with_schema
from gridsvc.kernel.models import User
from gridsvc.kernel.clock import utcnow


@click.group()
def users() -> None:
    """User accounts: grid workers, commanders, handlers, officers, supervisors, administrators."""


@users.command("create")
@click.argument("phone")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--admin-code", help="Township (commander) or county (supervisor) code.")
@click.option("--department", "department_code", help="Department code (handler, enforcement officer).")
@click.option("--grid", "grid_codes", multiple=True, help="Grid code (grid worker); repeat for several.")
@click.option("--team", "team_code", help="Team code within the department (e.g. an enforcement squad).")
@click.password_option(help="Asked for when not given (at least 10 characters).")
@with_appcontext
def create_command(phone, name, role, admin_code, department_code, grid_codes, team_code, password) -> None:
    """Create a user who signs in with PHONE."""
    rt = runtime_with_schema()
    try:
        with rt.sessions.begin() as session:
            create_user(session, phone, name, role, password, admin_code, department_code, list(grid_codes),
                        team_code)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {phone} ({role}) created")


@users.command("revoke")
@click.argument("phone")
@click.option("--device", "device_id", help="Only the tokens of this device (default: all).")
@with_appcontext
def revoke_command(phone, device_id) -> None:
    """Revoke a user's tokens at once (a lost phone, someone who left)."""
    rt = runtime_with_schema()
    with rt.sessions.begin() as session:
        user = session.scalar(sa.select(User).where(User.phone == phone))
        if user is None:
            raise click.ClickException(f"no user with phone {phone}")
        count = revoke(session, user, device_id)
    click.echo(f"{count} tokens revoked")


@users.command("prune")
@click.option("--keep-days", type=click.FloatRange(min=0), default=90.0, show_default=True,
              help="Keep sign-in attempts and expired tokens this many days (the audit trail).")
@with_appcontext
def prune_command(keep_days: float) -> None:
    """Delete old sign-in attempts and long-expired tokens (run daily from cron)."""
    try:
        with runtime_with_schema().sessions.begin() as session:
            attempts, tokens = prune(session, timedelta(days=keep_days), utcnow())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{attempts} sign-in attempts and {tokens} expired tokens deleted")
