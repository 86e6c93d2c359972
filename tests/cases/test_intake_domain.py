"""Intake (gridsvc.cases.intake) called directly on a session, without HTTP: a report becomes a located,
routed case with a deadline, flags and its record's first entry, in the caller's transaction (intake
flushes, the caller commits); retries, conflicts and bad input. Both backends, the sample county and
the `office` fixture's people. (tests/cases/test_intake.py checks the same through the API.)"""

import uuid
from dataclasses import replace

import pytest
import shapely
import sqlalchemy as sa

from gridsvc.cases import record as case_record
from gridsvc.cases.intake import (LOCATION_PICKED_BY_HAND, LOCATION_UNCONFIRMED, NO_RESPONSIBLE_DEPARTMENT,
                                  OUTSIDE_OWN_GRIDS, POSSIBLE_DUPLICATE, Intake, Report, ReportConflict, ReportError,
                                  submit)
from gridsvc.catalogue.store import area_chain, current_category
from gridsvc.geo.crs import from_cgcs2000, parse_crs
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.errors import CONFLICT, INVALID
from gridsvc.kernel.models import Case, CaseEvent, User
from tests.support import COUNTY, LOCAL_CATEGORY, LUXIANG, OFFICE_PHONES, QIJIA, at, shared_edge_points

NOW = at("2026-05-11T09:00")  # a Monday, a working day
CGCS2000 = parse_crs("cgcs2000")
DISPUTE = "01001"  # 邻里纠纷: another category than LOCAL_CATEGORY (乱堆乱放)


def intake_of(rt) -> Intake:
    return Intake(rt.index.get(), rt.calendar.get(), rt.rules.get(), rt.settings)


def person(session, who: str) -> User:
    return session.scalar(sa.select(User).where(User.phone == OFFICE_PHONES[who]))


def a_report(point, **changes) -> Report:
    return Report(**{"client_uuid": str(uuid.uuid4()), "category_code": LOCAL_CATEGORY,
                     "description": "村道旁堆放建筑垃圾", "x": point.x, "y": point.y, "crs": CGCS2000,
                     "accuracy_m": 5.0, **changes})


def record_of(session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))


def submitted(rt, who: str, report: Report, now=NOW) -> Case:
    """Submit and commit, as the API does: the case."""
    with rt.sessions() as session:
        case, created = submit(session, intake_of(rt), person(session, who), report, now=now)
        session.commit()
        assert created
        return case


def test_a_report_becomes_a_routed_case_with_a_deadline_and_a_record(office, rt):
    grid = office["grid"]
    with rt.sessions() as session:
        reporter = person(session, "worker")
        case, created = submit(session, intake_of(rt), reporter, a_report(office["point"]), now=NOW)
        assert created and case.id is not None
        route = rt.rules.get().route(area_chain(rt.index.get(), grid.code), LOCAL_CATEGORY)
        category = current_category(session, LOCAL_CATEGORY)
        assert (case.status, case.locate_match, case.flags) == ("reported", "inside", [])
        assert (case.grid_code, case.village_code, case.township_code, case.county_code) == (
            grid.code, grid.village_code, QIJIA, COUNTY)
        assert case.department_code == route.department.code == office["local"] and not case.reserved_to_county
        assert as_utc(case.received_at) == NOW and case.tracking_no.startswith("20260511-")
        assert as_utc(case.handling_due_at) == rt.calendar.get().add(NOW, *category.handling_limit(False))
        assert NOW < as_utc(case.stage_due_at) <= as_utc(case.handling_due_at)  # filing's clock runs
        (entry,) = record_of(session, case)
        assert (entry.seq, entry.action, entry.actor_id, entry.to_status) == (1, "report", reporter.id, "reported")
        assert entry.data["department"] == case.department_code and entry.data["grid"] == grid.code
        assert entry.data["rule"] == {"area": route.rule.area_code, route.rule.subject_kind: route.rule.subject}
        assert entry.data["flags"] == [] and entry.data["possible_duplicates"] == []
        number = case.tracking_no
        with rt.sessions() as elsewhere:  # flushed, not committed: no other connection sees it yet
            assert elsewhere.scalar(sa.select(Case).where(Case.tracking_no == number)) is None
        session.commit()
    with rt.sessions() as session:
        assert session.scalar(sa.select(Case).where(Case.tracking_no == number)).record_seq == 1
        assert case_record.verify(session) == []


def test_a_retry_in_any_spelling_is_the_same_case_and_other_content_a_conflict(office, rt):
    sent = a_report(office["point"], client_uuid=str(uuid.uuid4()))
    first = submitted(rt, "worker", sent)
    with rt.sessions() as session:
        reporter = person(session, "worker")
        for spelling in (sent.client_uuid, sent.client_uuid.upper(), "{" + sent.client_uuid + "}"):
            again = replace(sent, client_uuid=spelling)
            case, created = submit(session, intake_of(rt), reporter, again, now=NOW)
            assert (case.id, created) == (first.id, False)
        with pytest.raises(ReportConflict) as conflict:
            submit(session, intake_of(rt), reporter, replace(sent, description="另一件事"), now=NOW)
        assert (conflict.value.kind, conflict.value.code) == (CONFLICT, "client_uuid_conflict")
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


@pytest.mark.parametrize("changes, field", [
    ({"client_uuid": "not-a-uuid"}, "client_uuid"),
    ({"category_code": "99999"}, "category"),
    ({"description": "   "}, "description"),
    ({"accuracy_m": 0.0}, "accuracy"),
    ({"accuracy_m": 1e6}, "accuracy"),
    ({"x": float("nan")}, "lon"),
    ({"x": 125.5, "y": 95.0}, "lat"),
    ({"location_source": "wifi"}, "location_source"),
    ({"location_source": "GPS"}, "location_source"),
])
def test_a_bad_report_names_its_field_and_writes_nothing(office, rt, changes, field):
    with rt.sessions() as session:
        with pytest.raises(ReportError) as refused:
            submit(session, intake_of(rt), person(session, "worker"), a_report(office["point"], **changes), now=NOW)
        assert (refused.value.kind, refused.value.field) == (INVALID, field)
        assert session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(CaseEvent)) == 0


def test_a_spot_placed_on_the_map_or_a_grid_chosen_by_name_is_flagged(office, rt):
    by_gps = submitted(rt, "worker", a_report(office["point"]))
    assert by_gps.flags == []
    for source, category in (("map", DISPUTE), ("grid", "02001")):  # other categories: no possible duplicate
        sent = a_report(office["point"], location_source=source, category_code=category)
        case = submitted(rt, "worker", sent)
        assert case.flags == [LOCATION_PICKED_BY_HAND] and case.grid_code == office["grid"].code
        with rt.sessions() as session:
            (entry,) = record_of(session, case)
            assert entry.data["location_source"] == source and entry.data["flags"] == [LOCATION_PICKED_BY_HAND]
            reporter = person(session, "worker")
            again, created = submit(session, intake_of(rt), reporter, sent, now=NOW)  # a retry: the same case
            assert (again.id, created) == (case.id, False)
            with pytest.raises(ReportConflict):  # the same UUID from another source is other content
                submit(session, intake_of(rt), reporter, replace(sent, location_source="gps"), now=NOW)
    with rt.sessions() as session:
        assert record_of(session, by_gps)[0].data["location_source"] == "gps"
    # A GPS report's content is what it was before the field existed: a retry from an older app still matches.
    plain = a_report(office["point"])
    assert plain.content_hash(1) == replace(plain, location_source="gps").content_hash(1)
    assert plain.content_hash(1) != replace(plain, location_source="map").content_hash(1)


def test_a_point_on_a_shared_edge_needs_its_grid_confirmed(office, rt):
    index = rt.index.get()
    mine, neighbour, probe = next(p for p in shared_edge_points(index, 0.3, limit=400) if p[0] == office["grid"].code)
    case = submitted(rt, "worker", a_report(probe))
    assert case.locate_match == "boundary" and LOCATION_UNCONFIRMED in case.flags
    assert case.grid_code in (mine, neighbour)


def test_a_grid_worker_reporting_beyond_their_grid_is_flagged(office, rt):
    index = rt.index.get()
    position = next(i for i, c in enumerate(index.cells) if c.code.startswith("220112102") and c.kind == "base")
    elsewhere = submitted(rt, "worker", a_report(index.geometry(position).representative_point()))
    assert elsewhere.township_code == LUXIANG and elsewhere.flags == [OUTSIDE_OWN_GRIDS]
    by_the_commander = submitted(rt, "commander", a_report(index.geometry(position).representative_point()))
    assert OUTSIDE_OWN_GRIDS not in by_the_commander.flags  # only grid workers have grids of their own


def test_a_near_open_report_of_the_same_category_in_the_window_is_a_possible_duplicate(office, rt):
    point = office["point"]
    first = submitted(rt, "worker", a_report(point))
    near = submitted(rt, "worker2", a_report(shapely.Point(point.x + 0.0002, point.y)), now=at("2026-05-11T10:00"))
    assert POSSIBLE_DUPLICATE in near.flags
    other_category = submitted(rt, "worker2", a_report(point, category_code=DISPUTE), now=at("2026-05-11T10:00"))
    day_later = submitted(rt, "worker2", a_report(point), now=at("2026-05-12T09:30"))  # 24.5 h after the first
    with rt.sessions() as session:
        (entry,) = record_of(session, near)
        assert entry.data["possible_duplicates"] == [first.tracking_no]
        assert POSSIBLE_DUPLICATE not in other_category.flags
        (entry,) = record_of(session, day_later)
        assert entry.data["possible_duplicates"] == [near.tracking_no]  # the first is out of the window now


def test_a_report_located_nowhere_has_no_department_and_stays_with_the_reporters_township(office, rt):
    x, y = from_cgcs2000(116.397, 39.909, CGCS2000)  # Beijing: no grid of the sample county near
    case = submitted(rt, "worker", a_report(office["point"], x=x, y=y))
    assert (case.grid_code, case.department_code, case.locate_match) == (None, None, "none")
    assert {LOCATION_UNCONFIRMED, NO_RESPONSIBLE_DEPARTMENT} <= set(case.flags)
    assert (case.township_code, case.county_code) == (QIJIA, COUNTY)


def test_an_urgent_report_gets_the_categorys_urgent_limit(office, rt):
    urgent = submitted(rt, "worker", a_report(office["point"], urgent=True))
    assert urgent.urgent and as_utc(urgent.handling_due_at) == rt.calendar.get().add(NOW, 4, "hours")  # 乱堆乱放
    ordinary = submitted(rt, "worker2", a_report(office["point"]))
    assert as_utc(ordinary.handling_due_at) == rt.calendar.get().add(NOW, 2, "days")
