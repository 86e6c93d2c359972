"""Grid network validation on synthetic townships near 125.5°E 43.5°N (no database).

Shapes are drawn in metres in the Gauss–Krüger zone and projected to CGCS2000
lon/lat, as a GIS office's file would be; expected areas are therefore exact
in metres and the validator has to get them back through its own projection.

Each township is 1200 m x 400 m, split into a western and an eastern village
of 600 m x 400 m, each covered by six 200 m base grids numbered west→east,
north→south (001–003 north row, 004–006 south row).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest
import shapely
from shapely.affinity import translate
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from gridsvc.geo.grid_records import GridRecord
from gridsvc.geo.metric import from_zone, to_zone
from gridsvc.geo.validation import AdminArea, ValidationReport, validate_grids

CELL = 200.0


@dataclass(frozen=True)
class Frame:
    """Local metres around an origin, drawn in the GK zone of `zone_lon`."""

    lon: float = 125.5
    lat: float = 43.5
    zone_lon: float = 125.5

    def lonlat(self, shape):
        x0, y0 = to_zone(Point(self.lon, self.lat), self.zone_lon).coords[0]
        return from_zone(translate(shape, x0, y0), self.zone_lon)

    def metres(self, geometry):
        x0, y0 = to_zone(Point(self.lon, self.lat), self.zone_lon).coords[0]
        return translate(to_zone(geometry, self.zone_lon), -x0, -y0)


FRAME = Frame()


@dataclass
class Net:
    records: list[GridRecord]
    villages: dict[str, AdminArea]
    townships: dict[str, AdminArea]
    frame: Frame = FRAME

    def validate(self, **options) -> ValidationReport:
        return validate_grids(self.records, self.villages, self.townships, **options)

    def index(self, code: str) -> int:
        return next(i for i, r in enumerate(self.records) if r.code == code)

    def redraw(self, code: str, shape) -> None:
        """Give grid `code` a new shape drawn in local metres."""
        i = self.index(code)
        self.records[i] = self.records[i].with_geometry(self.frame.lonlat(shape))

    def change(self, grid: str, **fields) -> GridRecord:
        i = self.index(grid)
        self.records[i] = replace(self.records[i], **fields)
        return self.records[i]

    def add(self, code: str, village_code: str, shape, kind: str | None = "base") -> None:
        self.records.append(GridRecord(len(self.records) + 1, code, code, village_code, kind=kind,
                                       geometry=self.frame.lonlat(shape)))

    def merge(self, other: "Net") -> "Net":
        records = [replace(r, source_row=len(self.records) + r.source_row) for r in other.records]
        return Net(self.records + records, {**self.villages, **other.villages},
                   {**self.townships, **other.townships}, self.frame)


def cell(col: int, row: int, x: float = 0.0) -> Polygon:
    """Grid cell in column `col` (from the west) and row `row` (0 = north) of a 400 m high township."""
    left, top = x + col * CELL, 2 * CELL - row * CELL
    return box(left, top - CELL, left + CELL, top)


def township(prefix: str = "220112100", name: str = "齐家镇", x: float = 0.0, frame: Frame = FRAME) -> Net:
    township_code = f"{prefix}000"
    townships = {township_code: AdminArea(township_code, name, "township", None,
                                          frame.lonlat(box(x, 0, x + 6 * CELL, 2 * CELL)))}
    villages, records = {}, []
    for v, village_name in enumerate(("西村", "东村")):
        village_code = f"{prefix}{201 + v}"
        village_x = x + v * 3 * CELL
        villages[village_code] = AdminArea(village_code, f"{name}{village_name}", "village", township_code,
                                           frame.lonlat(box(village_x, 0, village_x + 3 * CELL, 2 * CELL)))
        for n in range(6):
            records.append(GridRecord(len(records) + 1, f"{village_code}{n + 1:03d}", f"{village_name}{n + 1}网格",
                                      village_code, geometry=frame.lonlat(cell(n % 3, n // 3, village_x))))
    return Net(records, villages, townships, frame)


def only(report: ValidationReport, kind: str):
    found = [i for i in report.issues if i.kind == kind]
    assert len(found) == 1, report.format_text()
    return found[0]


def issues_of(report: ValidationReport, label: str) -> set[str]:
    return {i.kind for i in report.issues if label in i.grid_codes}


def assert_at(net: Net, geometry, x: float, y: float, tolerance_m: float = 1.0) -> None:
    """The issue's CGCS2000 geometry is centred at local metres (x, y)."""
    centre = net.frame.metres(geometry).centroid
    assert centre.distance(Point(x, y)) < tolerance_m, (centre, x, y)


W1, E2 = "220112100201", "220112100202"  # the western and eastern village of the default township


def test_clean_network_has_no_issues():
    net = township()
    report = net.validate()
    assert report.issues == []
    assert report.ok and report.errors == [] and report.warnings == []
    assert len(report.records) == 12
    assert all(isinstance(r.geometry, MultiPolygon) and r.geometry.is_valid for r in report.records)
    assert "合计：12 个网格，0 个错误，0 个警告，校验通过" in report.format_text()


def test_overlap_is_reported_with_both_codes_its_area_and_place():
    net = township()
    net.redraw(f"{W1}001", cell(0, 0).union(box(200, 300, 210, 320)))  # 10 m x 20 m into 002
    report = net.validate()
    overlap = only(report, "overlap")
    assert overlap.severity == "error"
    assert overlap.township_code == "220112100000"
    assert overlap.grid_codes == (f"{W1}001", f"{W1}002")
    assert overlap.area_m2 == pytest.approx(200.0, rel=1e-3)
    assert "重叠 200.0 平方米" in overlap.message
    assert_at(net, overlap.geometry, 205, 310)
    assert [i.kind for i in report.issues] == ["overlap"]
    assert not report.ok


def test_overlap_below_tolerance_is_not_reported():
    net = township()
    net.redraw(f"{W1}001", cell(0, 0).union(box(200, 300, 200.5, 301)))  # 0.5 m²
    assert net.validate().issues == []
    assert only(net.validate(area_tolerance_m2=0.1), "overlap").area_m2 == pytest.approx(0.5, rel=1e-2)


def test_special_grid_over_base_grids_is_not_an_overlap():
    net = township()
    net.add(f"{W1}101", W1, box(100, 100, 700, 300), kind="special")  # a school across both villages
    assert net.validate().issues == []


def test_gap_is_a_warning_naming_its_village():
    net = township()
    net.records.pop(net.index(f"{E2}004"))  # the eastern village's south-west cell, on the village border
    report = net.validate()
    gap = only(report, "gap")
    assert gap.severity == "warning" and report.ok
    assert gap.township_code == "220112100000" and gap.grid_codes == ()
    assert gap.area_m2 == pytest.approx(40_000.0, rel=1e-3)
    assert f"齐家镇东村（{E2}）" in gap.message and "西村" not in gap.message
    assert_at(net, gap.geometry, 700, 100)


def test_gap_outside_every_village_says_so():
    net = township()
    net.villages.pop(E2)
    for code in [r.code for r in net.records if r.village_code == E2]:
        net.change(code, village_code=W1)  # keep the grids; only the eastern village boundary is unknown
    net.records = [r for r in net.records if not r.code.startswith(E2)]
    gap = only(net.validate(), "gap")
    assert "不在任何已知村（社区）界内" in gap.message
    assert gap.area_m2 == pytest.approx(240_000.0, rel=1e-3)


def test_base_grid_spilling_out_of_its_village():
    net = township()
    net.redraw(f"{W1}001", cell(0, 0).union(box(-10, 300, 0, 320)))  # 10 m x 20 m west of the township
    report = net.validate()
    spill = only(report, "outside_village")
    assert spill.severity == "error" and spill.grid_codes == (f"{W1}001",)
    assert spill.area_m2 == pytest.approx(200.0, rel=1e-3)
    assert W1 in spill.message and "齐家镇西村" in spill.message
    assert_at(net, spill.geometry, -5, 310)
    assert [i.kind for i in report.issues] == ["outside_village"]


def test_special_grid_spilling_out_of_its_township():
    net = township()
    net.add(f"{E2}101", E2, box(1100, 100, 1230, 200), kind="special")  # 30 m x 100 m beyond the east edge
    report = net.validate()
    spill = only(report, "outside_township")
    assert spill.severity == "error" and spill.grid_codes == (f"{E2}101",)
    assert spill.area_m2 == pytest.approx(3000.0, rel=1e-3)
    assert_at(net, spill.geometry, 1215, 150)
    assert [i.kind for i in report.issues] == ["outside_township"]


def test_duplicate_code_is_one_error_naming_every_feature():
    net = township()
    net.change(f"{W1}002", code=f"{W1}001")
    net.change(f"{W1}003", code=f"{W1}001")
    duplicate = only(net.validate(), "duplicate_code")
    assert duplicate.severity == "error" and duplicate.grid_codes == (f"{W1}001",)
    assert "3 次" in duplicate.message and "第 1、2、3 个要素" in duplicate.message
    assert duplicate.geometry is not None


@pytest.mark.parametrize("code, label", [
    (None, "row 2"),
    ("22011210020100", "22011210020100"),  # 14 digits
    ("2201121002010A2", "2201121002010A2"),
    (f"{E2}099", f"{E2}099"),  # well formed, but the eastern village's code on a western grid
])
def test_malformed_codes(code, label):
    net = township()
    net.change(f"{W1}002", code=code)
    report = net.validate()
    malformed = only(report, "malformed_code")
    assert malformed.severity == "error" and malformed.grid_codes == (label,)
    assert malformed.geometry.equals(report.records[1].geometry)
    assert issues_of(report, label) == {"malformed_code"}


def test_missing_village_code():
    net = township()
    net.change(f"{W1}002", village_code=None)
    report = net.validate()
    missing = only(report, "no_village")
    assert missing.severity == "error" and missing.township_code is None
    assert issues_of(report, f"{W1}002") == {"no_village"}
    assert only(report, "gap").area_m2 == pytest.approx(40_000.0, rel=1e-3)  # not in the township's net


def test_unknown_village_code():
    net = township()
    net.change(f"{W1}002", village_code="220112100299")
    report = net.validate()
    unknown = only(report, "unknown_village")
    assert unknown.severity == "error" and unknown.township_code is None
    assert "220112100299" in unknown.message
    assert issues_of(report, f"{W1}002") == {"unknown_village", "malformed_code"}


def test_kind_not_understood():
    net = township()
    net.change(f"{W1}002", kind=None)
    report = net.validate()
    assert only(report, "bad_kind").severity == "error"
    assert issues_of(report, f"{W1}002") == {"bad_kind"}


def test_bow_tie_is_repaired_and_reported_at_the_crossing():
    net = township()
    # Crossing at (297.44, 97.44): off the vertices that densifying the diagonals adds.
    net.redraw(f"{W1}005", Polygon([(200, 0), (400, 200), (400, 0), (200, 190)]))
    report = net.validate()
    repaired = only(report, "repaired_geometry")
    assert repaired.severity == "warning" and repaired.grid_codes == (f"{W1}005",)
    assert "自相交" in repaired.message
    assert repaired.geometry.geom_type == "Point"
    assert_at(net, repaired.geometry, 297.44, 97.44)
    record = report.records[net.index(f"{W1}005")]
    assert isinstance(record.geometry, MultiPolygon) and record.geometry.is_valid
    assert len(record.geometry.geoms) == 2
    assert net.frame.metres(record.geometry).area == pytest.approx(19_513.2, rel=1e-3)
    assert report.ok  # the repair and the two triangles of gap it leaves are warnings
    assert {i.kind for i in report.issues} == {"repaired_geometry", "gap"}


@pytest.mark.parametrize("geometry", [
    None,
    Polygon(),
    LineString([(125.5, 43.5), (125.51, 43.51)]),
    Polygon([(125.5, 43.5), (125.75, 43.75), (126.0, 44.0)]),  # exactly collinear: nothing left after repair
], ids=["missing", "empty", "line", "collinear"])
def test_unusable_geometry_is_an_error_and_kept_as_is(geometry):
    net = township()
    net.change(f"{W1}002", geometry=geometry)
    report = net.validate()
    invalid = only(report, "invalid_geometry")
    assert invalid.severity == "error" and invalid.grid_codes == (f"{W1}002",)
    assert report.records[1].geometry is geometry
    assert not report.ok


def test_overlap_across_a_zone_border_is_measured_in_metres():
    # Two townships either side of 127.5°E, the border of GK zones 42 and 43.
    frame = Frame(lon=127.5, zone_lon=127.45)
    west = township("220112100", "西镇", x=-6 * CELL, frame=frame)
    east = township("220112102", "东镇", x=0.0, frame=frame)
    net = west.merge(east)
    net.redraw("220112100202003", cell(2, 0, -3 * CELL).union(box(0, 300, 10, 320)))
    report = net.validate()
    overlap = only(report, "overlap")
    assert set(overlap.grid_codes) == {"220112100202003", "220112102201001"}
    assert overlap.area_m2 == pytest.approx(200.0, rel=2e-3)
    assert only(report, "outside_village").area_m2 == pytest.approx(200.0, rel=2e-3)


def two_defective_townships() -> ValidationReport:
    net = township().merge(township("220112102", "鹿乡镇", x=5000.0))
    net.redraw(f"{W1}001", cell(0, 0).union(box(200, 300, 210, 320)))
    net.records.pop(net.index("220112102202006"))
    net.change(f"{W1}003", village_code=None)
    return net.validate()


def test_geojson_is_a_serialisable_feature_collection_of_placed_issues():
    report = two_defective_townships()
    collection = json.loads(json.dumps(report.to_geojson(), ensure_ascii=False))
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == sum(1 for i in report.issues if i.geometry is not None) > 0
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert set(feature["properties"]) == {"kind", "severity", "township_code", "grid_codes", "message", "area_m2"}
        lon, lat = shapely.geometry.shape(feature["geometry"]).centroid.coords[0]
        assert 125.4 < lon < 125.6 and 43.4 < lat < 43.6  # CGCS2000 degrees, not metres


def test_json_summary_counts_per_township_and_kind():
    report = two_defective_townships()
    summary = json.loads(json.dumps(report.to_json(), ensure_ascii=False))
    assert summary["ok"] is False and summary["grid_count"] == 23
    assert summary["error_count"] == len(report.errors) and summary["warning_count"] == len(report.warnings)
    townships = {t["township_code"]: t for t in summary["townships"]}
    assert townships["220112100000"]["kinds"] == {"overlap": 1, "gap": 1}
    assert townships["220112102000"] == {"township_code": "220112102000", "township_name": "鹿乡镇",
                                         "errors": 0, "warnings": 1, "kinds": {"gap": 1}}
    assert townships[None]["kinds"] == {"no_village": 1}
    assert len(summary["issues"]) == len(report.issues)
    assert all(i["wkt"] for i in summary["issues"])


def test_text_report_is_grouped_by_township():
    report = two_defective_townships()
    text = report.format_text()
    assert "乡镇 220112100000 齐家镇：1 个错误，1 个警告" in text
    assert "乡镇 220112102000 鹿乡镇：0 个错误，1 个警告" in text
    assert "未能确定所属乡镇：1 个错误，0 个警告" in text
    assert text.index("220112100000") < text.index("220112102000") < text.index("未能确定所属乡镇")
    assert text.splitlines()[-1] == "合计：23 个网格，2 个错误，2 个警告，校验未通过，请修正错误后重新导入。"
    assert list(report.by_township()) == ["220112100000", "220112102000", None]


def test_progress_is_reported_once_per_record():
    net = township()
    steps = []
    net.validate(progress=steps.append)
    assert steps == [1] * len(net.records)
