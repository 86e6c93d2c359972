"""The `gridsvc` command line (Flask CLI): database, fixtures, grid files, locate.

    gridsvc db upgrade
    gridsvc fixtures load
    gridsvc fixtures demo [--cases 60]
    gridsvc admin import UNITS.geojson
    gridsvc grids validate FILE [--crs gcj02] [--encoding GBK] [--map code=WGBM ...]
    gridsvc grids import FILE ...
    gridsvc grids export OUT.gpkg [--crs gcj02] [--township CODE] [--at DATE]
    gridsvc locate LON LAT --crs gcj02 [--accuracy 30]
    gridsvc run

Commands print for people; `--json` / `--report` write for machines.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, has_app_context
from flask.cli import FlaskGroup, with_appcontext

from gridsvc.app import create_app
from gridsvc.kernel import migrate
from gridsvc.kernel.config import Settings, default_database_url
from gridsvc.kernel.db import make_engine
from gridsvc.kernel.runtime import runtime
from gridsvc.geo.crs import UnknownCRSError, parse_crs
from gridsvc.geo.grid_records import AttributeMapping
from gridsvc.geo.vector_io import VectorFileError, feature_count
from gridsvc.network.points import PointError, check_accuracy, result_to_dict, storage_point
from gridsvc.network.files import check_grid_file, export_grids, import_admin_file, import_grid_file


class CrsParam(click.ParamType):
    name = "datum"

    def convert(self, value, param, ctx):
        try:
            return parse_crs(value)
        except UnknownCRSError as exc:
            self.fail(str(exc), param, ctx)


CRS = CrsParam()


def app_with_commands():
    """The app that `gridsvc` runs its commands in: the factory's, with this package's commands on its CLI."""
    app = create_app()
    register_commands(app)
    return app


@click.group(cls=FlaskGroup, create_app=app_with_commands)
def main() -> None:
    """gridsvc: 镇村一张网 grid management service."""


def register_commands(app) -> None:
    """Attach the commands to the app's CLI (what `gridsvc` and Flask's test runner call); the factory
    does not, since the CLI sits above it in the dependency rule."""
    from gridsvc.cli.users import users
    from gridsvc.cli.calendar import calendar
    from gridsvc.cli.cases import cases
    from gridsvc.cli.catalogue import catalogue
    from gridsvc.cli.events import events

    for command in (db, fixtures, admin, grids, locate_command, catalogue, users, cases, calendar, events):
        app.cli.add_command(command)


def runtime_with_schema():
    """The runtime, after making sure the schema exists (a clear message instead of a traceback)."""
    rt = runtime()
    if not migrate.is_current(rt.engine):
        raise click.ClickException("the database schema is missing or old: run `gridsvc db upgrade` first")
    return rt


# -- db ------------------------------------------------------------------------


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


def _migrate(step, revision: str) -> None:
    """Run a migration step on the running app's database, or, from the `gridsvc` command, on the one the
    settings name without building the app at all: `gridsvc db upgrade` is the first command on every new
    machine and every deployment, and the app's blueprints, caches and live channel take longer to start
    than a fresh database takes to migrate."""
    if has_app_context():
        step(runtime().engine, revision)
        return
    settings = Settings.from_env()
    instance_path = Path(Flask("gridsvc", instance_relative_config=True).instance_path)  # as the factory's
    instance_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url or default_database_url(instance_path))
    try:
        step(engine, revision)
    finally:
        engine.dispose()


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the schema to REVISION (default: latest)."""
    _migrate(migrate.upgrade, revision)
    click.echo(f"schema at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Take the schema back to REVISION (`base` empties it)."""
    _migrate(migrate.downgrade, revision)
    click.echo(f"schema at {revision}")


main.add_command(db)  # found by `gridsvc` before (and without) loading the app: see `_migrate`


# -- fixtures --------------------------------------------------------------------


@click.group()
def fixtures() -> None:
    """Sample data."""


@fixtures.command("load")
@with_appcontext
def fixtures_load() -> None:
    """Load the sample county (双阳区) into the database: idempotent."""
    from fixtures.sample import load_sample

    rt = runtime()
    migrate.upgrade(rt.engine)
    with rt.sessions.begin() as session:
        summary = load_sample(session, rt.settings)
    rt.index.invalidate()
    click.echo(
        f"sample county loaded: {summary.admin_units} administrative units; grids "
        f"{summary.grids.created} new, {summary.grids.changed} changed, {summary.grids.unchanged} unchanged; "
        f"categories {summary.categories.created} new, {summary.categories.changed} changed; "
        f"{summary.departments} departments, {summary.rules} responsibility rules"
    )


@fixtures.command("demo")
@click.option("--cases", "case_count", type=click.IntRange(0, 500), default=60, show_default=True,
              help="How many demo cases (in 齐家镇 and 鹿乡镇); every status from 20 on.")
@click.option("--now", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
              help="Write the history as if it were this moment (UTC unless an offset is given); default: now.")
@click.option("--beside-real-accounts", is_flag=True,
              help="Load even though the database has accounts of its own (a copy made for training).")
@with_appcontext
def fixtures_demo(case_count: int, now: datetime | None, beside_real_accounts: bool) -> None:
    """Demo accounts and cases in every status on the sample county (演示数据, demo only): idempotent."""
    from fixtures.demo import DemoError, load_demo
    from gridsvc.cases.intake import Intake
    from gridsvc.kernel.models import STATUS_NAMES_ZH
    from gridsvc.kernel.clock import as_utc, utcnow

    rt = runtime_with_schema()
    intake = Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings)
    try:
        with rt.sessions() as session:
            summary = load_demo(session, intake, as_utc(now) if now else utcnow(), cases=case_count,
                                beside_real_accounts=beside_real_accounts)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"演示数据 demo data: {summary.cases_created + summary.cases_existing} cases "
               f"({summary.cases_created} new, {summary.cases_existing} there already), "
               f"{len(summary.accounts)} accounts ({summary.users_created} new)")
    if summary.cases_different:
        click.echo(f"  {summary.cases_different} of the cases there were made by another version of the demo "
                   "and are left as they are")
    statuses = ", ".join(f"{STATUS_NAMES_ZH[s]} {s} {n}" for s, n in summary.statuses.items() if n)
    click.echo(f"  {statuses}; 超期 overdue {summary.overdue}")
    click.echo(f"演示账号 demo accounts (demo only, 仅供演示: never on a database real people use), "
               f"shared password 演示密码: {summary.password}")
    for account in summary.accounts:
        click.echo(f"  {account.phone}  {account.name}  {account.title_zh} ({account.role}): {account.jurisdiction}")
    click.echo("sign in on the command screen at /screen/ (e.g. http://127.0.0.1:5000/screen/)")


# -- administrative units ---------------------------------------------------------


@click.group()
def admin() -> None:
    """Administrative units (county, township, village boundaries)."""


@admin.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", type=CRS, help="Datum of the file, if it does not declare one.")
@click.option("--encoding", help="Attribute table encoding (e.g. GBK) for Shapefiles without a .cpg.")
@with_appcontext
def admin_import(path, crs, encoding) -> None:
    """Load or update units from a file with code, name, level and parent_code attributes."""
    rt = runtime_with_schema()
    try:
        with rt.sessions.begin() as session:
            count = import_admin_file(session, path, crs, encoding)
    except VectorFileError as exc:
        raise click.ClickException(str(exc)) from exc
    rt.index.invalidate()
    click.echo(f"{count} administrative units loaded")


# -- grids ---------------------------------------------------------------------


def grid_file_options(func):
    options = [
        click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--crs", type=CRS, help="Datum of the file's coordinates, if it does not declare one "
                     "or declares the wrong one: wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>."),
        click.option("--encoding", help="Attribute table encoding (e.g. GBK) for Shapefiles without a .cpg."),
        click.option("--layer", help="Layer name (GeoPackage)."),
        click.option("--map", "mapping", multiple=True, metavar="FIELD=ATTRIBUTE",
                     help="Which file attribute holds a field, e.g. --map code=WGBM --map village_code=CJDM."),
        click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Also write the report as JSON here, and its problem areas as GeoJSON beside it."),
        click.option("--retire-missing", is_flag=True,
                     help="The file is the whole network of its villages: their stored cells it lacks are closed."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _check(path, crs, encoding, layer, mapping, report_path, retire_missing):
    rt = runtime_with_schema()
    try:
        attribute_mapping = AttributeMapping.parse(mapping)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--map") from exc
    with rt.sessions() as session:
        try:
            with _progress(feature_count(path, layer), "校验 validating") as bar:
                check = check_grid_file(
                    session, path, rt.settings, attribute_mapping, crs, encoding, layer, retire_missing, bar.update
                )
        except VectorFileError as exc:
            raise click.ClickException(str(exc)) from exc
    declared = check.layer.declared_crs or "nothing"
    click.echo(f"坐标系 datum: read as {check.layer.source_crs} (the file declares {declared[:60]})")
    click.echo(check.report.format_text())
    if report_path:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(check.report.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
        geojson_path = report_path.with_suffix(".geojson")
        geojson_path.write_text(json.dumps(check.report.to_geojson(), ensure_ascii=False), encoding="utf-8")
        click.echo(f"report: {report_path}, problem areas: {geojson_path}")
    return check


def _progress(length: int, label: str):
    """A progress bar on stderr, so piped output stays clean."""
    return click.progressbar(length=length, label=label, file=sys.stderr)


@click.group()
def grids() -> None:
    """Grid network files: validate, import, export."""


@grids.command("validate")
@grid_file_options
@with_appcontext
def grids_validate(path, crs, encoding, layer, mapping, report_path, retire_missing) -> None:
    """Check a grid file against the stored network as it would stand after importing it; exit 1 on errors."""
    check = _check(path, crs, encoding, layer, mapping, report_path, retire_missing)
    if not check.report.ok:
        raise SystemExit(1)


@grids.command("import")
@grid_file_options
@with_appcontext
def grids_import(path, crs, encoding, layer, mapping, report_path, retire_missing) -> None:
    """Validate, then store the file as new grid versions: all or nothing."""
    check = _check(path, crs, encoding, layer, mapping, report_path, retire_missing)
    if not check.report.ok:
        click.echo("导入已取消，数据库未改动 / import refused: nothing was written", err=True)
        raise SystemExit(1)
    rt = runtime()
    with rt.sessions.begin() as session:
        with _progress(len(check.report.records), "导入 importing") as bar:
            result = import_grid_file(session, check, progress=bar.update)
    rt.index.invalidate()
    click.echo(
        f"imported: {result.created} new, {result.changed} changed (new version), "
        f"{result.unchanged} unchanged, {result.retired} retired; network revision {result.revision}"
    )


@grids.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--crs", type=CRS, help="Output datum (default cgcs2000); gcj02 for AMap-based tools.")
@click.option("--township", help="Only this township's grids (12-digit code).")
@click.option("--at", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              help="The network as it stood at this date/time (UTC).")
@with_appcontext
def grids_export(path, crs, township, at: datetime | None) -> None:
    """Write the grid network to GeoJSON (.geojson) or GeoPackage (.gpkg)."""
    from gridsvc.kernel.clock import as_utc

    rt = runtime_with_schema()
    unit = rt.index.get().admin.get(township) if township else None
    if township and (unit is None or unit.level != "township"):
        raise click.BadParameter(f"{township} is not a known township code", param_hint="--township")
    try:
        with rt.sessions() as session:
            count = export_grids(session, path, crs, township, as_utc(at) if at else None)
    except VectorFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{count} grid cells written to {path}")


# -- locate --------------------------------------------------------------------


@click.command("locate")
@click.argument("lon", type=float)
@click.argument("lat", type=float)
@click.option("--crs", type=CRS, required=True, help="Datum of LON LAT: wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>.")
@click.option("--accuracy", type=float, help="Accuracy radius in metres.")
@with_appcontext
def locate_command(lon: float, lat: float, crs, accuracy) -> None:
    """Which grid, village, township and county is this point in?"""
    rt = runtime_with_schema()
    try:
        check_accuracy(accuracy, rt.settings.max_accuracy_m)
        x, y = storage_point(lon, lat, crs)
    except PointError as exc:
        raise click.BadParameter(str(exc), param_hint=exc.field.upper() if exc.field != "accuracy" else "--accuracy")
    index = rt.index.get()
    result = index.locate(x, y, accuracy_m=accuracy)
    click.echo(json.dumps(result_to_dict(index, result, lon, lat, crs), ensure_ascii=False, indent=2))
