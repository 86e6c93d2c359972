"""CLI for the catalogue, departments and responsibility list (`gridsvc catalogue …`)."""

from __future__ import annotations

import functools
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from gridsvc.catalogue.store import (
    CatalogueError,
    grid_area_chains,
    load_catalogue,
    load_departments,
    load_rules,
    read_json,
    responsibility_list,
)
from gridsvc.cli.commands import runtime_with_schema

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def catalogue() -> None:
    """Case catalogue, departments and the responsibility list (责任清单)."""


def _load(loader, path: Path) -> object:
    rt = runtime_with_schema()
    try:
        with rt.sessions.begin() as session:
            return loader(session, read_json(path))
    except CatalogueError as exc:
        raise click.ClickException(str(exc)) from exc
    except SQLAlchemyError as exc:  # a limit the checks did not foresee: nothing was written
        raise click.ClickException(f"{path}: the database refused the file: {exc.orig or exc}") from exc


@catalogue.command("load-categories")
@click.argument("path", type=FILE)
@click.option("--retire-missing", is_flag=True, help="Retire current categories the file no longer lists.")
@with_appcontext
def load_categories_command(path: Path, retire_missing: bool) -> None:
    """Load the category catalogue; changed categories get a new version."""
    result = _load(functools.partial(load_catalogue, retire_missing=retire_missing), path)
    click.echo(
        f"categories: {result.created} new, {result.changed} changed (new version), {result.unchanged} unchanged, "
        f"{result.retired} retired"
    )


@catalogue.command("load-departments")
@click.argument("path", type=FILE)
@with_appcontext
def load_departments_command(path: Path) -> None:
    """Load departments and their teams."""
    click.echo(f"{_load(load_departments, path)} departments loaded")


@catalogue.command("load-rules")
@click.argument("path", type=FILE)
@with_appcontext
def load_rules_command(path: Path) -> None:
    """Replace the responsibility list with the file's rules."""
    click.echo(f"{_load(load_rules, path)} rules loaded")


@catalogue.command("coverage")
@with_appcontext
def coverage_command() -> None:
    """List every (grid, category) pair no rule covers; exit 1 if there is any."""
    rt = runtime_with_schema()
    with rt.sessions() as session:
        gaps = responsibility_list(session).coverage_gaps(grid_area_chains(rt.index.get()))
    for gap in gaps:
        click.echo(f"未覆盖 uncovered: grid {gap.grid_code}, category {gap.category_code}")
    click.echo(f"{len(gaps)} uncovered (grid, category) pairs")
    if gaps:
        raise SystemExit(1)
