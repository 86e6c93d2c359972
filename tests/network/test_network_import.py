"""Importing grid files: versions, all-or-nothing, formats, encodings — on both backends."""

import json
from datetime import timedelta

import pytest
import shapely
import sqlalchemy as sa
from geoalchemy2.shape import to_shape

from fixtures.sample import GRIDS_FILE
from gridsvc.geo import metric
from gridsvc.geo.crs import parse_crs
from gridsvc.geo.vector_io import VectorFileError, read_layer, write_layer
from gridsvc.kernel.models import GridCell
from gridsvc.network.index import cells_covering_in_db
from gridsvc.kernel.clock import as_utc
from gridsvc.network.store import cell_at, cell_versions, current_revision
from gridsvc.network.files import check_grid_file, export_grids, import_grid_file
from tests.support import DATA


def sample_rows():
    layer = read_layer(GRIDS_FILE)
    return layer.attributes, layer.geometries


def current_count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(GridCell).where(GridCell.valid_to.is_(None)))


def test_sample_loads_every_cell_once_and_reload_changes_nothing(sample_app, rt):
    rows, _ = sample_rows()
    with rt.sessions() as session:
        assert current_count(session) == len(rows)
        revision = current_revision(session)
    from fixtures.sample import load_sample

    with rt.sessions.begin() as session:
        summary = load_sample(session, rt.settings)
    assert (summary.grids.created, summary.grids.changed, summary.grids.unchanged) == (0, 0, len(rows))
    with rt.sessions() as session:
        assert current_revision(session) == revision


def _changed_file(tmp_path, code, new_geometry):
    rows, geoms = sample_rows()
    geoms = [new_geometry if row["code"] == code else g for row, g in zip(rows, geoms)]
    path = tmp_path / "changed.geojson"
    write_layer(path, rows, geoms)
    return path


def test_boundary_change_closes_old_version_and_opens_new(sample_app, rt, tmp_path):
    rows, geoms = sample_rows()
    code = rows[0]["code"]
    old = geoms[0]
    # Move the cell's boundary: a version change. (Validation is not the point here, so
    # keep it inside its village: shrink it by 5 m, leaving a small gap warning.)
    shrunk = metric.from_zone(metric.to_zone(old).buffer(-5.0), old.centroid.x)
    path = _changed_file(tmp_path, code, shrunk)
    with rt.sessions.begin() as session:
        check = check_grid_file(session, path, rt.settings)
        assert check.report.ok, check.report.format_text()
        result = import_grid_file(session, check)
    assert (result.created, result.changed) == (0, 1)
    with rt.sessions() as session:
        versions = cell_versions(session, code)
        assert [v.version for v in versions] == [1, 2]
        assert versions[0].valid_to is not None and versions[1].valid_to is None
        current = cell_at(session, code)
        assert current.version == 2
        assert metric.area_m2(to_shape(current.boundary)) < metric.area_m2(old)
        # The network as it was before the change still has the old boundary.
        then = cell_at(session, code, versions[0].valid_from)
        assert then.version == 1
        old_multi = shapely.MultiPolygon([old]) if old.geom_type == "Polygon" else old
        assert to_shape(then.boundary).equals_exact(old_multi, 1e-9)
        # The moment of the change belongs to the new version; a microsecond before, to the old.
        change = versions[1].valid_from
        assert versions[0].valid_to == change
        assert cell_at(session, code, change).version == 2
        assert cell_at(session, code, as_utc(change) - timedelta(microseconds=1)).version == 1
        # A point in the strip the change gave up: in the cell then, in no cell now.
        strip = old.difference(shrunk).representative_point()
        before = as_utc(change) - timedelta(microseconds=1)
        assert [c.code for c in cells_covering_in_db(session, strip.x, strip.y, at=before)] == [code]
        assert code not in [c.code for c in cells_covering_in_db(session, strip.x, strip.y)]
    # The API shows both.
    client = sample_app.test_client()
    moment = before.isoformat().replace("+", "%2B")
    assert client.get(f"/api/v1/grids/{code}?at={moment}").get_json()["properties"]["version"] == 1
    assert client.get(f"/api/v1/grids/{code}").get_json()["properties"]["version"] == 2
    versions_json = client.get(f"/api/v1/grids/{code}/versions").get_json()["versions"]
    assert versions_json[0]["valid_to"] == versions_json[1]["valid_from"]


def test_import_with_errors_writes_nothing(sample_app, rt):
    with rt.sessions() as session:
        revision = current_revision(session)
        count = current_count(session)
    with rt.sessions() as session:
        check = check_grid_file(session, DATA / "broken_grids.geojson", rt.settings)
    assert not check.report.ok
    with pytest.raises(ValueError):
        with rt.sessions.begin() as session:
            import_grid_file(session, check)
    with rt.sessions() as session:
        assert current_revision(session) == revision
        assert current_count(session) == count


def test_failure_midway_rolls_back_everything(sample_app, rt, tmp_path):
    """All or nothing even if the database refuses something halfway through."""
    rows, geoms = sample_rows()
    moved = [shapely.affinity.translate(g, 0, 0) for g in geoms]
    path = tmp_path / "all.geojson"
    write_layer(path, [{**r, "households": (r["households"] or 0) + 1} for r in rows], moved)
    with rt.sessions() as session:
        check = check_grid_file(session, path, rt.settings)
    assert check.report.ok
    # Sabotage the last record after validation: the database rejects it (NOT NULL village).
    check.report.records[-1] = check.report.records[-1].__class__(
        **{**check.report.records[-1].__dict__, "village_code": None}
    )
    with pytest.raises(sa.exc.IntegrityError):
        with rt.sessions.begin() as session:
            import_grid_file(session, check)
    with rt.sessions() as session:
        changed = session.scalar(sa.select(sa.func.count()).select_from(GridCell).where(GridCell.version > 1))
        assert changed == 0


def test_retire_missing_closes_cells_no_longer_in_file(sample_app, rt, tmp_path):
    rows, geoms = sample_rows()
    village = rows[0]["village_code"]
    dropped = rows[0]["code"]
    keep = [(r, g) for r, g in zip(rows, geoms) if r["code"] != dropped]
    path = tmp_path / "fewer.geojson"
    write_layer(path, [r for r, _ in keep], [g for _, g in keep])
    with rt.sessions() as session:
        keeping = check_grid_file(session, path, rt.settings)
        assert keeping.report.issues == []  # the stored cell stays, so the file leaves no gap
        assert import_grid_file(session, keeping).retired == 0
        session.rollback()
    with rt.sessions.begin() as session:
        check = check_grid_file(session, path, rt.settings, retire_missing=True)
        assert [i.kind for i in check.report.issues] == ["gap"]  # where the retired cell was
        result = import_grid_file(session, check)
    assert result.retired == 1
    with rt.sessions() as session:
        assert cell_at(session, dropped) is None
        assert cell_versions(session, dropped)[0].village_code == village


def test_gbk_shapefile_with_cpg_and_with_encoding_option(sample_app, rt, tmp_path):
    rows, geoms = sample_rows()
    shp = tmp_path / "grids.shp"
    # Write the attribute table in GBK, the way many Chinese GIS offices deliver it.
    from pyogrio import raw
    import numpy as np

    columns = ["code", "name", "village_co", "kind"]  # DBF names stop at 10 characters
    raw.write(
        str(shp), shapely.to_wkb(np.array(geoms, dtype=object)),
        [np.array([r[c] for r in rows], dtype=object) for c in ("code", "name", "village_code", "kind")], columns,
        driver="ESRI Shapefile", geometry_type="MultiPolygon", crs="EPSG:4490", encoding="GBK",
    )
    assert shp.with_suffix(".cpg").read_text().strip().upper() in ("GBK", "CP936", "936")
    raw_bytes = shp.with_suffix(".dbf").read_bytes()
    assert rows[0]["name"].encode("gbk") in raw_bytes and rows[0]["name"].encode("utf-8") not in raw_bytes

    with rt.sessions() as session:
        with_cpg = check_grid_file(session, shp, rt.settings)
    assert [r.name for r in with_cpg.report.records][:3] == [r["name"] for r in rows][:3]

    shp.with_suffix(".cpg").unlink()
    with rt.sessions() as session:
        told = check_grid_file(session, shp, rt.settings, encoding="GBK")
    assert [r.name for r in told.report.records][:3] == [r["name"] for r in rows][:3]
    assert told.report.ok, told.report.format_text()


def test_geopackage_in_gauss_kruger_zone_imports_to_same_cells(sample_app, rt, tmp_path):
    rows, geoms = sample_rows()
    gpkg = tmp_path / "gk.gpkg"
    write_layer(gpkg, rows, geoms, crs=parse_crs("EPSG:4551"))
    with rt.sessions() as session:
        check = check_grid_file(session, gpkg, rt.settings)
        assert check.layer.source_crs.epsg == 4551
        assert check.report.ok, check.report.format_text()
        for record, original in zip(check.report.records, geoms):
            assert record.geometry.hausdorff_distance(original) < 1e-8
        result = import_grid_file(session, check)
    # A projection round trip moves vertices by far less than a centimetre: no new versions.
    assert (result.created, result.changed, result.unchanged) == (0, 0, len(rows))


def test_gcj02_file_needs_declared_datum_and_converts(sample_app, rt, tmp_path):
    rows, geoms = sample_rows()
    path = tmp_path / "gcj.geojson"
    write_layer(path, rows, geoms, crs=parse_crs("gcj02"))  # what an AMap-based tool would export
    with rt.sessions() as session:
        wrong = check_grid_file(session, path, rt.settings)  # GeoJSON without crs = WGS84 by its standard
        right = check_grid_file(session, path, rt.settings, crs=parse_crs("gcj02"))
    assert not wrong.report.ok  # hundreds of metres off: grids spill out of their villages
    assert any(i.kind == "outside_village" for i in wrong.report.errors)
    assert right.report.ok, right.report.format_text()


def test_file_without_datum_is_refused(tmp_path, sample_app, rt):
    rows, geoms = sample_rows()
    shp = tmp_path / "nodatum.shp"
    write_layer(shp, rows[:2], geoms[:2])
    shp.with_suffix(".prj").unlink()
    with rt.sessions() as session:
        with pytest.raises(VectorFileError, match="--crs"):
            check_grid_file(session, shp, rt.settings)


def test_export_round_trip_geojson_and_geopackage(sample_app, rt, tmp_path):
    rows, _ = sample_rows()
    for name in ("out.geojson", "out.gpkg"):
        with rt.sessions() as session:
            count = export_grids(session, tmp_path / name)
        assert count == len(rows)
        layer = read_layer(tmp_path / name)
        assert sorted(a["code"] for a in layer.attributes) == sorted(r["code"] for r in rows)
        assert layer.source_crs.epsg == 4490
        with rt.sessions() as session:
            again = check_grid_file(session, tmp_path / name, rt.settings)
        assert again.report.ok and not again.report.issues


def test_export_one_township_in_gcj02(sample_app, rt, tmp_path):
    with rt.sessions() as session:
        count = export_grids(session, tmp_path / "qijia.geojson", crs=parse_crs("gcj02"), township_code="220112100000")
    data = json.loads((tmp_path / "qijia.geojson").read_text())
    assert count == len(data["features"]) > 0
    assert all(f["properties"]["code"].startswith("220112100") for f in data["features"])


def test_at_with_china_offset_means_the_same_moment(sample_app, rt):
    """08:00+08:00 is 00:00 UTC: SQLite keeps no offsets, so every query must convert."""
    from datetime import timedelta, timezone

    with rt.sessions() as session:
        code = session.scalar(sa.select(GridCell.code).limit(1))
        opened = cell_versions(session, code)[0].valid_from
        opened_utc = opened.replace(tzinfo=timezone.utc) if opened.tzinfo is None else opened
        beijing = timezone(timedelta(hours=8))
        assert cell_at(session, code, opened_utc.astimezone(beijing)) is not None
        assert cell_at(session, code, (opened_utc - timedelta(seconds=1)).astimezone(beijing)) is None
