"""Validation of real files against the stored villages, on both backends.

The broken file (tests/data/broken_grids.geojson: 齐家镇 with planted defects)
must yield exactly the planted findings; the clean sample none at all.
"""

import json

from fixtures.sample import GRIDS_FILE
from gridsvc.network.files import check_grid_file
from tests.support import DATA


def _findings(report):
    return sorted((issue.kind, tuple(sorted(issue.grid_codes))) for issue in report.issues)


def test_clean_sample_has_no_findings(sample_app, rt):
    with rt.sessions() as session:
        report = check_grid_file(session, GRIDS_FILE, rt.settings).report
    assert report.issues == []


def test_every_planted_defect_is_found_and_nothing_else(admin_app, rt):
    """The file on its own (no grids stored yet), as the expected file describes it."""
    expected = json.loads((DATA / "broken_grids.expected.json").read_text(encoding="utf-8"))
    with rt.sessions() as session:
        report = check_grid_file(session, DATA / "broken_grids.geojson", rt.settings).report
    planted = sorted((d["kind"], tuple(sorted(d["grid_codes"]))) for d in expected["defects"])
    assert _findings(report) == planted
    for defect in expected["defects"]:
        if "area_m2" not in defect:
            continue
        matching = [
            i for i in report.issues
            if i.kind == defect["kind"] and sorted(i.grid_codes) == sorted(defect["grid_codes"])
            and defect.get("village_code", "") in i.message  # gaps name no grid, only their village
        ]
        assert abs(matching[0].area_m2 - defect["area_m2"]) < 0.05 * defect["area_m2"]
    spatial = {i.township_code for i in report.issues if i.kind in ("overlap", "gap", "outside_village")}
    assert spatial == {expected["township_code"]}


def _one_cell_file(tmp_path, code, geometry, **attributes):
    from gridsvc.geo.vector_io import write_layer

    path = tmp_path / "one.geojson"
    write_layer(path, [{"code": code, "village_code": code[:12], "kind": "base", **attributes}], [geometry])
    return path


def test_partial_file_is_checked_against_the_stored_cells_it_keeps(sample_app, rt, tmp_path):
    """A single new cell drawn over a stored one overlaps it; the rest of the township is no gap."""
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.kind == "base")
    stored = index.cells[position]
    copy = _one_cell_file(tmp_path, stored.code[:12] + "099", index.geometry(position), name="重画的网格")
    with rt.sessions() as session:
        report = check_grid_file(session, copy, rt.settings).report
    assert _findings(report) == [("overlap", tuple(sorted((stored.code, stored.code[:12] + "099"))))]
    assert len(report.records) == 1

    # The same file changing the stored cell itself (same code) is no overlap and no gap.
    same = _one_cell_file(tmp_path, stored.code, index.geometry(position), name=stored.name)
    with rt.sessions() as session:
        assert check_grid_file(session, same, rt.settings).report.issues == []


def test_retire_missing_validates_without_the_cells_it_retires(sample_app, rt, tmp_path):
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.kind == "base")
    stored = index.cells[position]
    only = _one_cell_file(tmp_path, stored.code, index.geometry(position), name=stored.name)
    with rt.sessions() as session:
        report = check_grid_file(session, only, rt.settings, retire_missing=True).report
    # The file would become the whole village: the rest of the village is then uncovered.
    gaps = [i for i in report.issues if i.kind == "gap"]
    assert gaps and all(stored.village_code in i.message for i in gaps)
