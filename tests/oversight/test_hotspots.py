"""Hotspots (gridsvc.oversight.hotspots, /api/v1/hotspots/*): counts per grid and per H3 hexagon, and rising grids,
checked against cases reported through intake at known points and known China times (docs/hotspots.md).

The places: G1 and G3, two base grids of 齐家村, G2 a base grid of 东升村 (both 齐家镇), GL a base grid of
鹿乡村 (鹿乡镇). Each case is reported at its grid's representative point, so the cases of one grid share
one point and so one H3 cell at any resolution.
"""

import json
import uuid
from datetime import date, datetime, timezone

import h3
import pytest
import shapely
import sqlalchemy as sa
from pyproj import Geod
from shapely.geometry import Point, shape

from gridsvc.cases import intake
from gridsvc.accounts.users import create_user
from gridsvc.geo.chinese_offsets import wgs84_to_gcj02
from gridsvc.geo.crs import parse_crs
from gridsvc.oversight.hotspots import CaseFilter, grid_hotspots, hexagon_hotspots, is_rising, rising_grids, week_bounds
from gridsvc.cases.intake import Intake, Report, submit
from gridsvc.kernel.models import Case, User
from gridsvc.oversight.numbers import PeriodError
from gridsvc.cases.workflow import Context, StepInput, act
from tests.support import assert_documented

PASSWORD = "correct horse battery"
QIJIA, LUXIANG = "220112100000", "220112102000"
V1, V2, L1 = "220112100201", "220112100202", "220112102201"  # 齐家村, 东升村 (齐家镇), 鹿乡村 (鹿乡镇)
PILED, DISPUTE, CLEANING = "02004", "01001", "02001"  # 乱堆乱放 (执法), 邻里纠纷 (综治), 保洁 (服务)
CGCS2000 = parse_crs("cgcs2000")


def at(text: str) -> datetime:
    """A China time, e.g. at("2026-05-11T15:10")."""
    return datetime.fromisoformat(text + "+08:00")


class Place:
    """The sample county's people and four grids, and a helper that reports at a given moment."""

    def __init__(self, rt, monkeypatch):
        self.rt, self.monkeypatch = rt, monkeypatch
        self.index = rt.index.get()
        base = [(i, c) for i, c in enumerate(self.index.cells) if c.kind == "base"]
        v1 = [(i, c) for i, c in base if c.village_code == V1]
        chosen = {"G1": v1[0], "G3": v1[1], "G2": next(x for x in base if x[1].village_code == V2),
                  "GL": next(x for x in base if x[1].village_code == L1)}
        self.grids = {name: c.code for name, (_, c) in chosen.items()}
        self.points = {name: self.index.geometry(i).representative_point() for name, (i, _) in chosen.items()}
        people = {
            "worker": ("13800000011", "grid_worker", {"grid_codes": [self.grids["G1"]]}),
            "commander": ("13800000001", "township_commander", {"admin_code": QIJIA}),
            "other_commander": ("13800000002", "township_commander", {"admin_code": LUXIANG}),
        }
        with rt.sessions.begin() as session:
            self.ids = {who: create_user(session, phone, who, role, PASSWORD, **where).id
                        for who, (phone, role, where) in people.items()}
        self.phones = {who: phone for who, (phone, _, _) in people.items()}

    def user(self, session, who: str) -> User:
        return session.get(User, self.ids[who])

    def report(self, grid: str, category: str, moment: datetime) -> str:
        """A case at `grid`'s point, received at `moment` (intake stamps the server's clock)."""
        self.monkeypatch.setattr(intake, "utcnow", lambda: moment.astimezone(timezone.utc))
        point = self.points[grid]
        rt = self.rt
        with rt.sessions() as session:
            report = Report(str(uuid.uuid4()), category, "村道旁堆放杂物", point.x, point.y, CGCS2000)
            case, created = submit(session, Intake(self.index, rt.calendar.get(), rt.rules.get(), rt.settings),
                                   self.user(session, "worker"), report)
            session.commit()
            assert created and case.grid_code == self.grids[grid]
            return case.tracking_no

    def reject(self, number: str, moment: datetime) -> None:
        rt = self.rt
        with rt.sessions() as session:
            case = session.scalar(sa.select(Case).where(Case.tracking_no == number))
            act(session, Context(self.index, rt.calendar.get(), rt.settings, moment),
                self.user(session, "commander"), case, "reject", StepInput(note="不属于受理范围"))
            session.commit()

    def grids_of(self, who: str, which=CaseFilter(), crs=CGCS2000, period=None) -> dict:
        with self.rt.sessions() as session:
            return grid_hotspots(session, self.index, self.user(session, who), crs, *(period or PERIOD), which)

    def hexagons(self, who: str, resolution=9, which=CaseFilter(), crs=CGCS2000) -> dict:
        with self.rt.sessions() as session:
            return hexagon_hotspots(session, self.user(session, who), crs, *PERIOD, resolution, which)

    def hexagons_in(self, start: datetime, end: datetime) -> dict:
        with self.rt.sessions() as session:
            return hexagon_hotspots(session, self.user(session, "commander"), CGCS2000, start, end)

    def rising(self, who: str, week_ending: date, min_count=3, which=CaseFilter()) -> dict:
        with self.rt.sessions() as session:
            return rising_grids(session, self.index, self.user(session, who), week_ending, min_count, which)


PERIOD = (at("2026-05-06T00:00"), at("2026-05-16T00:00"))


@pytest.fixture
def place(sample_app, rt, monkeypatch):
    return Place(rt, monkeypatch)


@pytest.fixture
def history(place, prepared):
    """In the period [6 May, 16 May): G1 three 乱堆乱放 and one 邻里纠纷; G2 one 乱堆乱放 (plus one before the
    period, one at its end and one rejected: none counted); GL (鹿乡镇) two 乱堆乱放. Made once per test
    process and backend (`prepared`), copied for each test."""

    def build():
        p = place
        for day in ("06", "07", "08"):
            p.report("G1", PILED, at(f"2026-05-{day}T10:00"))
        p.report("G1", DISPUTE, at("2026-05-09T10:00"))
        p.report("G2", PILED, at("2026-05-06T00:00"))  # the first moment of the period: counted
        p.report("G2", PILED, at("2026-05-05T23:59"))  # before it
        p.report("G2", PILED, at("2026-05-16T00:00"))  # `to` is excluded
        p.reject(p.report("G2", PILED, at("2026-05-10T09:00")), at("2026-05-10T09:10"))
        p.report("GL", PILED, at("2026-05-11T10:00"))
        p.report("GL", PILED, at("2026-05-12T10:00"))

    prepared(build)


def props(collection: dict) -> dict:
    return {f["id"]: f["properties"] for f in collection["features"]}


def test_counts_per_grid_with_rank_and_share(place, history):
    found = place.grids_of("commander")
    g = place.grids
    assert found["total"] == 5 and found["crs"] == "cgcs2000"
    by_code = props(found)
    assert all(code.startswith("220112100") for code in by_code)  # 齐家镇's grids, every one of them
    assert len(by_code) == sum(1 for c in place.index.cells if c.code.startswith("220112100"))
    assert (by_code[g["G1"]]["count"], by_code[g["G1"]]["rank"], by_code[g["G1"]]["share"]) == (4, 1, 0.8)
    assert (by_code[g["G2"]]["count"], by_code[g["G2"]]["rank"], by_code[g["G2"]]["share"]) == (1, 2, 0.2)
    assert (by_code[g["G3"]]["count"], by_code[g["G3"]]["rank"], by_code[g["G3"]]["share"]) == (0, None, 0.0)
    assert [f["id"] for f in found["features"][:2]] == [g["G1"], g["G2"]]  # most cases first
    g1 = next(f for f in found["features"] if f["id"] == g["G1"])
    assert shape(g1["geometry"]).contains(place.points["G1"])


def test_grid_counts_by_category_and_domain(place, history):
    g = place.grids
    assert props(place.grids_of("commander", CaseFilter(category=PILED)))[g["G1"]]["count"] == 3
    governance = place.grids_of("commander", CaseFilter(domain="governance"))  # 邻里纠纷 only
    assert governance["total"] == 1 and props(governance)[g["G1"]]["count"] == 1
    assert place.grids_of("commander", CaseFilter(domain="services"))["total"] == 0
    both = place.grids_of("commander", CaseFilter(category=PILED, domain="governance"))
    assert both["total"] == 0 and both["category"] == PILED and both["domain"] == "governance"


def test_another_township_sees_none_of_these_cases(place, history):
    other = place.grids_of("other_commander")
    assert other["total"] == 2 and props(other)[place.grids["GL"]]["count"] == 2
    assert not any(code.startswith("220112100") for code in props(other))
    hexagons = place.hexagons("other_commander")
    assert [f["properties"]["count"] for f in hexagons["features"]] == [2]


def test_counts_per_hexagon(place, history):
    p1, p2 = place.points["G1"], place.points["G2"]
    cell1, cell2 = h3.latlng_to_cell(p1.y, p1.x, 9), h3.latlng_to_cell(p2.y, p2.x, 9)
    assert cell1 != cell2
    found = place.hexagons("commander")
    assert found["total"] == 5 and found["resolution"] == 9 and found["cell_area_km2"] == pytest.approx(0.105, 0.01)
    assert {c: f["count"] for c, f in props(found).items()} == {cell1: 4, cell2: 1}
    assert [f["id"] for f in found["features"]] == [cell1, cell2]
    assert props(found)[cell1]["share"] == 0.8 and props(found)[cell2]["rank"] == 2
    hexagon = shape(found["features"][0]["geometry"])
    assert len(hexagon.exterior.coords) == 7 and hexagon.contains(p1)  # six corners, the ring closed
    area, _ = Geod(ellps="GRS80").geometry_area_perimeter(hexagon)
    # H3 cells vary in size with the place (about 0.076 km² here, 0.105 km² on average at resolution 9);
    # H3 measures on a sphere, pyproj on the ellipsoid: 0.2 % apart here
    assert abs(area) / 1e6 == pytest.approx(h3.cell_area(cell1, "km^2"), rel=1e-2) and 0.05e6 < abs(area) < 0.15e6
    assert {c: f["count"] for c, f in props(place.hexagons("commander", 9, CaseFilter(category=PILED))).items()} == {
        cell1: 3, cell2: 1}
    coarse = place.hexagons("commander", resolution=7)
    assert coarse["total"] == 5 and all(h3.get_resolution(f["id"]) == 7 for f in coarse["features"])


def test_hexagons_in_gcj02_enclose_the_shifted_points(place, history):
    found = place.hexagons("commander", crs=parse_crs("gcj02"))
    assert found["crs"] == "gcj02"
    hexagon = shape(found["features"][0]["geometry"])
    p1 = place.points["G1"]
    shifted = Point(*wgs84_to_gcj02(p1.x, p1.y))
    assert hexagon.contains(shifted) and shapely.distance(shifted, p1) > 0.001  # hundreds of metres away


def test_periods_are_checked(place):
    with pytest.raises(PeriodError):
        place.grids_of("commander", period=(at("2026-05-02T00:00"), at("2026-05-01T00:00")))
    with pytest.raises(PeriodError):
        place.hexagons_in(at("2026-01-01T00:00"), at("2026-04-04T00:00"))  # 93 days
    assert place.grids_of("commander", period=(at("2026-01-01T00:00"), at("2026-04-03T00:00")))["total"] == 0  # 92
    with pytest.raises(ValueError):
        place.hexagons("commander", resolution=11)


# -- rising ---------------------------------------------------------------------------------------


def test_the_rising_rule():
    assert is_rising(3, 0) and is_rising(3, 1) and is_rising(4, 2)
    assert not is_rising(3, 2)  # not twice
    assert not is_rising(2, 0)  # too few
    assert not is_rising(0, 0)
    assert is_rising(1, 0, min_count=1) and is_rising(2, 0, min_count=2)


def test_weeks_are_seven_china_days_whatever_the_holidays():
    # 劳动节 (1–5 May 2026) changes nothing: the weeks are calendar days, not working days
    last, this, end = week_bounds(date(2026, 5, 5))
    assert (last, this, end) == (at("2026-04-22T00:00"), at("2026-04-29T00:00"), at("2026-05-06T00:00"))


@pytest.fixture
def june(place):
    """Two holiday-free weeks (1–7 and 8–14 June 2026, week ending Sunday 14 June), 齐家镇 only:
    G1 1 → 3 (rising); G2 2 → 3 (not twice: not rising); G3 0 → 2 (too few, unless min_count ≤ 2);
    and cases just outside both weeks, of another category, or in 鹿乡镇, none of them counted."""
    p = place
    p.report("G1", PILED, at("2026-06-03T10:00"))
    for moment in ("2026-06-09T10:00", "2026-06-10T10:00", "2026-06-14T23:30"):
        p.report("G1", PILED, at(moment))
    for moment in ("2026-06-01T00:00", "2026-06-05T10:00", "2026-06-08T00:00", "2026-06-11T10:00",
                   "2026-06-12T10:00"):
        p.report("G2", PILED, at(moment))
    p.report("G2", PILED, at("2026-05-31T23:59"))  # before last week
    p.report("G2", PILED, at("2026-06-15T00:00"))  # after this week
    for moment in ("2026-06-10T10:00", "2026-06-13T10:00"):
        p.report("G3", PILED, at(moment))
    p.report("G3", CLEANING, at("2026-06-13T11:00"))
    for moment in ("2026-06-10T10:00", "2026-06-11T10:00", "2026-06-12T10:00"):
        p.report("GL", PILED, at(moment))


def rows(answer: dict) -> list[tuple]:
    return [(r["code"], r["last_week"], r["this_week"], r["change"], r["rising"]) for r in answer["grids"]]


def test_rising_grids_in_a_simple_pair_of_weeks(place, june):
    g = place.grids
    found = place.rising("commander", date(2026, 6, 14), which=CaseFilter(category=PILED))
    assert found["this_week"] == {"from": "2026-06-08T00:00:00+08:00", "to": "2026-06-15T00:00:00+08:00",
                                  "total": 8}
    assert found["last_week"] == {"from": "2026-06-01T00:00:00+08:00", "to": "2026-06-08T00:00:00+08:00",
                                  "total": 3}
    assert rows(found) == [(g["G1"], 1, 3, 2, True), (g["G3"], 0, 2, 2, False), (g["G2"], 2, 3, 1, False)]
    assert found["grids"][0]["change_ratio"] == 2.0 and found["grids"][1]["change_ratio"] is None
    lenient = place.rising("commander", date(2026, 6, 14), min_count=2, which=CaseFilter(category=PILED))
    assert [r[0] for r in rows(lenient) if r[4]] == [g["G1"], g["G3"]]
    every = place.rising("commander", date(2026, 6, 14))  # with G3's 保洁: 0 → 3, rising
    assert [(r[0], r[2], r[4]) for r in rows(every) if r[0] == g["G3"]] == [(g["G3"], 3, True)]
    other = place.rising("other_commander", date(2026, 6, 14))
    assert rows(other) == [(g["GL"], 0, 3, 3, True)]


def test_a_week_later_the_rise_is_over(place, june):
    g = place.grids
    found = place.rising("commander", date(2026, 6, 21), which=CaseFilter(category=PILED))
    # this week (15–21 June): G2's case at 15 June 00:00; last week (8–14 June): G1 3, G2 3, G3 2
    assert rows(found) == [(g["G2"], 3, 1, -2, False), (g["G3"], 2, 0, -2, False), (g["G1"], 3, 0, -3, False)]


# -- the API ------------------------------------------------------------------------------------


@pytest.fixture
def api(sample_app, place):
    client = sample_app.test_client()
    token = client.post("/api/v1/auth/login", json={"phone": place.phones["commander"], "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    spec = client.get("/api/openapi.json").get_json()

    def get(path: str, expect: int = 200, **query) -> dict:
        response = client.get(f"/api/v1/hotspots/{path}", query_string=query, headers=headers)
        assert_documented(spec, "get", f"/api/v1/hotspots/{path}", response, expect)
        return response.get_json()

    return get


def as_json(value):
    return json.loads(json.dumps(value))


PERIOD_QUERY = {"from": "2026-05-06T00:00:00+08:00", "to": "2026-05-16T00:00:00+08:00"}


def test_the_endpoints_answer_what_the_functions_compute(place, history, june, api):
    with place.rt.sessions() as session:
        commander = place.user(session, "commander")
        grids = grid_hotspots(session, place.index, commander, CGCS2000, *PERIOD, CaseFilter(PILED))
        hexagons = hexagon_hotspots(session, commander, parse_crs("gcj02"), *PERIOD, 8, CaseFilter(PILED))
        rising = rising_grids(session, place.index, commander, date(2026, 6, 14), 2, CaseFilter(domain="enforcement"))
    assert api("grids", **PERIOD_QUERY, category=PILED) == as_json(grids)
    assert api("hexagons", **PERIOD_QUERY, category=PILED, resolution=8, crs="gcj02") == as_json(hexagons)
    assert api("rising", week_ending="2026-06-14", min_count=2, domain="enforcement") == as_json(rising)
    assert api("grids", **PERIOD_QUERY)["total"] == 5  # no base map: CGCS2000, and every category
    assert api("grids", **PERIOD_QUERY)["crs"] == "cgcs2000"
    # the counts alone, for a map that has drawn the grids already: the same features, no geometry
    bare = api("grids", **PERIOD_QUERY, category=PILED, outlines="false")
    assert all(f["geometry"] is None for f in bare["features"])
    assert [(f["id"], f["properties"]) for f in bare["features"]] == [
        (f["id"], f["properties"]) for f in as_json(grids)["features"]]


def test_the_endpoints_have_defaults(place, api):
    assert api("grids")["total"] == 0 and api("hexagons")["resolution"] == 9
    assert api("rising")["grids"] == []


def test_the_endpoints_refuse_bad_input_with_the_field(api):
    def fields(path, **query):
        return api(path, 422, **query)["error"]["fields"]

    for path in ("grids", "hexagons"):
        assert fields(path, **{"from": "last week"})["from"][0].startswith(
            "须为 ISO 8601 日期或时间，如 2026-05-01T08:00:00+08:00 / must be an ISO 8601")
        assert fields(path, **{"from": "2026-05-02T00:00:00+08:00", "to": "2026-05-01T00:00:00+08:00"}) == {
            "to": ["截止时间须晚于起始时间 / must lie after `from`"]}
        assert list(fields(path, **{"from": "2026-01-01T00:00:00+08:00", "to": "2026-05-01T00:00:00+08:00"})) == [
            "to"]
        assert list(fields(path, **{"from": "2026-01-01T00:00:00+08:00"})) == ["from"]
        assert fields(path, category="12") == {"category": ["须为 5 位分类代码 / a 5-digit category code"]}
        assert list(fields(path, category="99999")) == ["category"]
        assert list(fields(path, domain="roads")) == ["domain"]
        assert list(fields(path, crs="nowhere")) == ["crs"]
    for resolution in ("6", "11", "nine"):
        assert list(fields("hexagons", resolution=resolution)) == ["resolution"]
    for week_ending in ("2026-13-01", "0001-01-01", "tomorrow", "2026-06-14T00:00:00+08:00"):
        assert list(fields("rising", week_ending=week_ending)) == ["week_ending"]
    for min_count in ("0", "-1", "many"):
        assert list(fields("rising", min_count=min_count)) == ["min_count"]
    assert list(fields("rising", category="99999")) == ["category"]


def test_the_endpoints_need_a_signed_in_caller(sample_app):
    client = sample_app.test_client()
    spec = client.get("/api/openapi.json").get_json()
    for path in ("grids", "hexagons", "rising"):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = client.get(f"/api/v1/hotspots/{path}", headers=headers)
            assert_documented(spec, "get", f"/api/v1/hotspots/{path}", response, 401)
