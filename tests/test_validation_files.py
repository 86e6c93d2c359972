"""Validation of real files against the stored villages, on both backends.

The broken file (tests/data/broken_grids.geojson: 齐家镇 with planted defects)
must yield exactly the planted findings; the clean sample none at all.
"""

import json
from pathlib import Path

from fixtures.sample import GRIDS_FILE
from gridsvc.network_import import check_grid_file

DATA = Path(__file__).parent / "data"


def _findings(report):
    return sorted((issue.kind, tuple(sorted(issue.grid_codes))) for issue in report.issues)


def test_clean_sample_has_no_findings(sample_app, rt):
    with rt.sessions() as session:
        report = check_grid_file(session, GRIDS_FILE, rt.settings).report
    assert report.issues == []


def test_every_planted_defect_is_found_and_nothing_else(sample_app, rt):
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
