"""Intake (乡镇前台综合受理): a geotagged report becomes a case, once.

One call does what the front desk does: convert the point from its datum,
locate it on the grid network, route it by the responsibility list, set the
handling deadline in working time, flag what a commander must look at, give
a public tracking number, and open the case's record, all in the caller's
transaction (the caller commits).

The phone's client UUID makes retries safe (as in ODK Central): the same
UUID with the same content returns the existing case; with other content it
is a conflict. The database's unique constraint settles concurrent retries:
the loser of the race finds the winner's case.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import shapely
import sqlalchemy as sa
from geoalchemy2.shape import from_shape
from sqlalchemy.orm import Session

from gridsvc.cases import record as case_record
from gridsvc.accounts.users import jurisdiction_of
from gridsvc.catalogue.store import area_chain, current_category
from gridsvc.kernel.config import Settings
from gridsvc.kernel.errors import CONFLICT, DomainError
from gridsvc.kernel.idempotency import canonical_uuid_or_none, written_once
from gridsvc.geo import metric
from gridsvc.geo.crs import STORAGE_EPSG, InputCRS
from gridsvc.geo.locate import GridIndex
from gridsvc.network.points import check_accuracy, storage_point
from gridsvc.kernel.models import OPEN_STATUSES, Case, User
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.catalogue.responsibility import ResponsibilityList
from gridsvc.cases.search_index import index_case
from gridsvc.cases.stage_clock import start_stage
from gridsvc.cases.flags import (ACCURACY_CROSSES_BOUNDARY, LOCATION_PICKED_BY_HAND, LOCATION_UNCONFIRMED,
                                 NO_RESPONSIBLE_DEPARTMENT, OUTSIDE_OWN_GRIDS, POSSIBLE_DUPLICATE, UNOFFICIAL_CALENDAR)
from gridsvc.worktime.calendar import CHINA, WorkCalendar

# A report notes at most this many possible duplicates (the nearest): the hint is for a person to read.
MAX_POSSIBLE_DUPLICATES = 20
# Where the report's point came from (the phone says): a GPS fix, a spot placed on the map by hand, or a grid
# chosen by name (GPS denied or unavailable). The last two flag the case LOCATION_PICKED_BY_HAND.
GPS, MAP, GRID = "gps", "map", "grid"
LOCATION_SOURCES = (GPS, MAP, GRID)


class ReportError(DomainError, ValueError):
    """A report that cannot become a case; `field` names the offending input, the message says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason, field=field)


class ReportConflict(DomainError):
    """The client UUID is already used by a report with other content."""

    kind, code = CONFLICT, "client_uuid_conflict"

    def __init__(self, client_uuid: str):
        super().__init__(f"该编号已用于另一份上报 / client_uuid {client_uuid} was used for a different report")


@dataclass(frozen=True)
class Report:
    client_uuid: str
    category_code: str
    description: str
    x: float
    y: float
    crs: InputCRS
    accuracy_m: float | None = None
    reported_at: datetime | None = None
    urgent: bool = False
    location_source: str = GPS  # one of LOCATION_SOURCES

    def content_hash(self, reporter_id: int) -> str:
        content = {
            "reporter": reporter_id, "category": self.category_code, "description": self.description,
            "x": self.x, "y": self.y, "crs": self.crs.epsg or self.crs.name, "accuracy": self.accuracy_m,
            "reported_at": as_utc(self.reported_at).isoformat() if self.reported_at else None,
            "urgent": self.urgent,
        }
        if self.location_source != GPS:  # so a GPS report keeps the hash it had before the field existed
            content["location_source"] = self.location_source
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Intake:
    """What intake needs besides the session: the running index, calendar, rules and settings."""

    index: GridIndex
    calendar: WorkCalendar
    rules: ResponsibilityList
    settings: Settings


def submit(session: Session, intake: Intake, reporter: User, report: Report,
           now: datetime | None = None) -> tuple[Case, bool]:
    """The case for a report, and whether it was created now (False: a retry of an earlier one).

    `now` is when the report is received (default: the server's clock); only a history written
    after the fact (the demo data of fixtures/demo.py) passes one, never the API.
    Flushes; the caller commits. Raises ReportError, ReportConflict.

    The case is written inside a SAVEPOINT: when a concurrent retry of the same report inserted
    its case first, the unique client UUID stops this one there, only the savepoint is rolled
    back, and the winner's case is returned, all in the caller's transaction.
    """
    report = replace(report, client_uuid=canonical_uuid(report.client_uuid))
    content_hash = report.content_hash(reporter.id)
    existing = _existing(session, report.client_uuid, content_hash)
    if existing is not None:
        return existing, False
    received = as_utc(now) if now else utcnow()
    return written_once(  # a concurrent retry that won the race: its case is ours
        lambda: (_new_case(session, intake, reporter, report, content_hash, received), True),
        lambda: _existing(session, report.client_uuid, content_hash))


def canonical_uuid(value: str) -> str:
    """One spelling per UUID (gridsvc.kernel.idempotency): `{ABC…}` and `abc…` are the same retry."""
    canonical = canonical_uuid_or_none(value)
    if canonical is None:
        raise ReportError("client_uuid", "must be a UUID made by the client")
    return canonical


def _existing(session: Session, client_uuid: str, content_hash: str) -> Case | None:
    case = session.scalar(sa.select(Case).where(Case.client_uuid == client_uuid))
    if case is not None and case.content_hash != content_hash:
        raise ReportConflict(client_uuid)
    return case


def _new_case(session: Session, intake: Intake, reporter: User, report: Report, content_hash: str,
              received: datetime) -> Case:
    category = current_category(session, report.category_code)
    if category is None:
        raise ReportError("category", f"{report.category_code} is not in the current catalogue")
    if not report.description.strip():
        raise ReportError("description", "describe what was seen")
    if report.location_source not in LOCATION_SOURCES:
        raise ReportError("location_source", f"must be one of: {', '.join(LOCATION_SOURCES)}")
    try:
        check_accuracy(report.accuracy_m, intake.settings.max_accuracy_m)
        lon, lat = storage_point(report.x, report.y, report.crs)
    except ValueError as exc:
        raise ReportError(getattr(exc, "field", "lon"), str(exc)) from exc
    located = intake.index.locate(lon, lat, accuracy_m=report.accuracy_m)
    flags = _location_flags(located)
    grid = located.grid
    areas = area_chain(intake.index, grid.code) if grid else _reporter_areas(session, intake.index, reporter)
    route = intake.rules.route(areas, category.code) if grid else None
    if route is None:
        flags.append(NO_RESPONSIBLE_DEPARTMENT)
    if reporter.role == "grid_worker" and not (grid and jurisdiction_of(session, reporter).covers_area(grid.code)):
        flags.append(OUTSIDE_OWN_GRIDS)
    if report.location_source != GPS:
        flags.append(LOCATION_PICKED_BY_HAND)
    reach = category.duplicate_distance_m or intake.settings.duplicate_distance_m
    duplicates = _possible_duplicates(session, intake.settings, category.code, reach, lon, lat, received)
    if duplicates:
        flags.append(POSSIBLE_DUPLICATE)
    due = intake.calendar.add(received, *category.handling_limit(report.urgent))
    if not intake.calendar.is_official(due.astimezone(CHINA).date()):
        flags.append(UNOFFICIAL_CALENDAR)
    case = Case(
        tracking_no=_tracking_number(received), client_uuid=report.client_uuid, content_hash=content_hash,
        reporter_id=reporter.id, category_code=category.code, category_version=category.version,
        description=report.description.strip(), urgent=report.urgent, input_x=report.x, input_y=report.y,
        input_crs=str(report.crs), lon=lon, lat=lat,
        location=from_shape(shapely.Point(lon, lat), srid=STORAGE_EPSG), accuracy_m=report.accuracy_m,
        reported_at=as_utc(report.reported_at) if report.reported_at else None, received_at=received,
        grid_code=grid.code if grid else None, village_code=areas[1] if grid and len(areas) > 1 else None,
        township_code=areas[-2] if len(areas) >= 2 else None, county_code=areas[-1] if areas else None,
        locate_match=located.match, flags=flags, department_code=route.department.code if route else None,
        reserved_to_county=bool(route and route.reserved_to_county), status="reported",
        handling_due_at=due, record_seq=0, record_hash=None,
    )
    start_stage(case, intake.calendar, intake.settings, received)
    with session.begin_nested():  # only the writes: a concurrent retry stops at the flush (see submit)
        session.add(case)
        session.flush()
        index_case(session, case)
        case_record.append(
            session, case, received, "report", actor_id=reporter.id, to_status="reported",
            data={"grid": case.grid_code, "match": located.match, "department": case.department_code,
                  "rule": {"area": route.rule.area_code, route.rule.subject_kind: route.rule.subject}
                  if route else None,
                  "flags": flags, "possible_duplicates": duplicates, "handling_due_at": due.isoformat(),
                  "location_source": report.location_source},
        )
    return case


def _reporter_areas(session: Session, index: GridIndex, reporter: User) -> list[str]:
    """For a report located nowhere: the reporter's own township and county, so that a commander
    there sees the case to confirm its place. Not used for routing (there is no grid)."""
    if reporter.role == "grid_worker" and reporter.grid_codes and index.position_of(reporter.grid_codes[0]) is not None:
        return area_chain(index, reporter.grid_codes[0])[2:]
    unit = index.admin.get(reporter.admin_code or "")
    if unit is None:
        return []
    return [unit.code, unit.parent_code] if unit.level == "township" and unit.parent_code else [unit.code]


def _location_flags(located) -> list[str]:
    flags = []
    if located.match != "inside":
        flags.append(LOCATION_UNCONFIRMED)
    base_touched = {c.code for c in located.accuracy_cells if c.kind == "base"}
    if len(base_touched) > 1:
        flags.append(ACCURACY_CROSSES_BOUNDARY)
    return flags


def _possible_duplicates(session: Session, settings: Settings, category_code: str, reach: float, lon: float,
                         lat: float, received: datetime) -> list[str]:
    """Tracking numbers of open cases of the same category, within `reach` metres and the time window:
    the nearest `MAX_POSSIBLE_DUPLICATES`, nearest first (after a storm a spot can have hundreds)."""
    dlon, dlat = metric.degree_window(lat, reach)
    since = received - timedelta(hours=settings.duplicate_window_hours)
    nearby = session.execute(
        sa.select(Case.tracking_no, Case.lon, Case.lat)
        .where(Case.category_code == category_code, Case.status.in_(OPEN_STATUSES), Case.received_at >= since)
        .where(Case.lon.between(lon - dlon, lon + dlon), Case.lat.between(lat - dlat, lat + dlat))
    ).all()
    here = shapely.Point(lon, lat)
    distances = [(metric.distance_m(here, shapely.Point(other_lon, other_lat)), number)
                 for number, other_lon, other_lat in nearby]
    return [number for distance, number in sorted(distances) if distance <= reach][:MAX_POSSIBLE_DUPLICATES]


def _tracking_number(received: datetime) -> str:
    """Public, short, not guessable: the China date and 8 random base-32 characters."""
    suffix = base64.b32encode(secrets.token_bytes(5)).decode()
    return f"{received.astimezone(CHINA):%Y%m%d}-{suffix}"
