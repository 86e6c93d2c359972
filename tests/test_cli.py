"""The `gridsvc` command line, run as a user would (Flask's CLI runner)."""

import json
from pathlib import Path

from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.geo.vector_io import read_layer

DATA = Path(__file__).parent / "data"


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

    result = runner.invoke(args=["admin", "import", str(GRIDS_FILE)])
    assert result.exit_code == 1
    assert "level" in result.output


def test_commands_on_an_empty_database_say_what_to_do(tmp_path):
    from gridsvc import create_app
    from gridsvc.config import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    result = app.test_cli_runner().invoke(args=["locate", "125.6", "43.5", "--crs", "wgs84"])
    assert result.exit_code == 1
    assert "gridsvc db upgrade" in result.output
