"""The `gridsvc` command line, run as a user would (Flask's CLI runner)."""

import json

import pytest

from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.geo.vector_io import read_layer
from tests.support import DATA


def test_fixtures_load_then_locate(runner, rt):
    result = runner.invoke(args=["fixtures", "load"])
    assert result.exit_code == 0, result.output
    assert "sample county loaded" in result.output
    again = runner.invoke(args=["fixtures", "load"])
    assert "0 new, 0 changed" in again.output

    index = rt.index.get()
    point = index.geometry(0).representative_point()
    x, y = from_cgcs2000(point.x, point.y, parse_crs("bd09"))
    located = runner.invoke(args=["locate", str(x), str(y), "--crs", "bd09"])
    assert located.exit_code == 0, located.output
    body = json.loads(located.output)
    assert body["grid"]["code"] == index.cells[0].code


def test_locate_rejects_unknown_datum(runner):
    result = runner.invoke(args=["locate", "125.6", "43.5", "--crs", "mars"])
    assert result.exit_code == 2
    assert "unknown datum" in result.output


@pytest.mark.parametrize("args,reason", [
    (["nan", "43.6", "--crs", "wgs84"], "finite"),
    (["1e30", "1e30", "--crs", "EPSG:4551"], "after conversion"),
    (["500", "43.6", "--crs", "wgs84"], "longitude"),
    (["125.6", "43.6", "--crs", "wgs84", "--accuracy", "1e7"], "at most"),
])
def test_locate_rejects_impossible_points_like_the_api(sample_app, runner, args, reason):
    result = runner.invoke(args=["locate", *args])
    assert result.exit_code == 2
    assert reason in result.output


def test_validate_broken_file_reports_and_writes_json_and_geojson(runner, sample_app, tmp_path):
    report = tmp_path / "report.json"
    result = runner.invoke(args=["grids", "validate", str(DATA / "broken_grids.geojson"), "--report", str(report)])
    assert result.exit_code == 1
    assert "220112100000" in result.output
    body = json.loads(report.read_text(encoding="utf-8"))
    assert body["ok"] is False and body["issues"]
    problems = json.loads(report.with_suffix(".geojson").read_text(encoding="utf-8"))
    assert problems["type"] == "FeatureCollection" and problems["features"]


def test_import_refuses_broken_file(runner, sample_app, rt):
    before = rt.index.get().revision
    result = runner.invoke(args=["grids", "import", str(DATA / "broken_grids.geojson")])
    assert result.exit_code == 1
    assert "nothing was written" in result.output
    assert rt.index.get().revision == before


def test_export_then_import_with_attribute_mapping(runner, sample_app, rt, tmp_path):
    out = tmp_path / "net.gpkg"
    assert runner.invoke(args=["grids", "export", str(out)]).exit_code == 0
    # Rename the attributes the way a GIS office might, then map them back.
    layer = read_layer(out)
    renamed = tmp_path / "office.geojson"
    from gridsvc.geo.vector_io import write_layer

    write_layer(renamed, [{"WGBM": a["code"], "WGMC": a["name"], "CJDM": a["village_code"], "LX": a["kind"],
                           "ZSLX": a["special_type"], "FW": a["domains"], "HS": a["households"], "RK": a["population"]}
                          for a in layer.attributes], layer.geometries)
    result = runner.invoke(args=["grids", "import", str(renamed), "--map", "code=WGBM", "--map", "name=WGMC",
                                 "--map", "village_code=CJDM", "--map", "kind=LX", "--map", "special_type=ZSLX",
                                 "--map", "domains=FW", "--map", "households=HS", "--map", "population=RK"])
    assert result.exit_code == 0, result.output
    assert "0 new" in result.output


def test_bad_mapping_is_a_usage_error(runner, sample_app):
    result = runner.invoke(args=["grids", "validate", str(DATA / "broken_grids.geojson"), "--map", "colour=X"])
    assert result.exit_code == 2
    assert "bad mapping" in result.output


def test_db_upgrade_is_idempotent(runner):
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0


def test_admin_import_from_file(runner, rt):
    from fixtures.sample import ADMIN_FILE

    result = runner.invoke(args=["admin", "import", str(ADMIN_FILE)])
    assert result.exit_code == 0, result.output
    assert "administrative units loaded" in result.output
    index = rt.index.get()
    assert index.admin["220112000000"].name == "双阳区"


def test_admin_import_refuses_file_without_levels(runner, tmp_path):
    from fixtures.sample import GRIDS_FILE

    result = runner.invoke(args=["admin", "import", str(GRIDS_FILE)])  # grid codes, no levels
    assert result.exit_code == 1
    assert "code must be a 12-digit" in result.output


def test_commands_on_an_empty_database_say_what_to_do(tmp_path):
    from gridsvc.app import create_app
    from gridsvc.cli.commands import register_commands
    from gridsvc.kernel.config import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    register_commands(app)
    result = app.test_cli_runner().invoke(args=["locate", "125.6", "43.5", "--crs", "wgs84"])
    assert result.exit_code == 1
    assert "gridsvc db upgrade" in result.output


@pytest.mark.parametrize("content,options,reason", [
    ('{"type": "FeatureCollection", "features": [', [], "grids.geojson"),
    ("", [], "grids.geojson"),
    (None, ["--layer", "nope"], "nope"),
    (None, ["--encoding", "NOPE"], "NOPE"),
])
def test_unreadable_files_are_reported_not_crashed_on(runner, admin_app, tmp_path, content, options, reason):
    from fixtures.sample import GRIDS_FILE

    path = tmp_path / "grids.geojson"
    path.write_text(GRIDS_FILE.read_text(encoding="utf-8") if content is None else content, encoding="utf-8")
    result = runner.invoke(args=["grids", "validate", str(path), *options])
    assert result.exit_code == 1, result.output
    assert "Error: " in result.output and reason in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_export_into_missing_folder_is_an_error_not_a_crash(runner, sample_app, tmp_path):
    result = runner.invoke(args=["grids", "export", str(tmp_path / "no" / "such" / "out.gpkg")])
    assert result.exit_code == 1 and "Error: " in result.output


@pytest.mark.parametrize("change,reason", [
    ({"parent_code": "220112999000"}, "parent 220112999000"),
    ({"name": None}, "name is missing"),
    ({"level": "province"}, "level must be"),
])
def test_admin_import_checks_every_row_before_writing(runner, rt, tmp_path, change, reason):
    from fixtures.sample import ADMIN_FILE
    from gridsvc.geo.vector_io import read_layer, write_layer

    layer = read_layer(ADMIN_FILE)
    rows = [dict(a) for a in layer.attributes]
    township = next(i for i, r in enumerate(rows) if r["level"] == "township")
    rows[township].update(change)
    path = tmp_path / "units.geojson"
    write_layer(path, rows, layer.geometries)
    result = runner.invoke(args=["admin", "import", str(path)])
    assert result.exit_code == 1 and reason in result.output
    assert rt.index.get().admin == {}  # nothing was written


def test_export_unknown_township_is_a_usage_error(runner, sample_app, tmp_path):
    result = runner.invoke(args=["grids", "export", str(tmp_path / "x.gpkg"), "--township", "220112999000"])
    assert result.exit_code == 2 and "not a known township" in result.output
