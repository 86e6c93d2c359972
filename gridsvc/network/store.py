"""The stored grid network: administrative units, grid versions, the revision counter.

Plain functions over a SQLAlchemy session, so the CLI, the web layer and the
tests share them. Nothing here commits: the caller owns the transaction, which
is what makes an import all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable

import shapely
import sqlalchemy as sa
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from gridsvc.events.outbox import publish
from gridsvc.events.rooms import PUBLIC_ROOM
from gridsvc.geo.crs import STORAGE_EPSG
from gridsvc.geo.grid_records import GridRecord
from gridsvc.geo.locate import AdminInfo
from gridsvc.geo.validation import AdminArea
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.kernel.models import CATALOGUE_COUNTER, NETWORK_COUNTER, AdminUnit, GridCell, NetworkRevision


def to_multipolygon(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


def db_geometry(geom: BaseGeometry):
    return from_shape(to_multipolygon(geom), srid=STORAGE_EPSG)


# -- administrative units ------------------------------------------------------


def upsert_admin_unit(
    session: Session, code: str, name: str, level: str, parent_code: str | None, boundary: BaseGeometry
) -> bool:
    """Insert or update a unit; True when anything about it changed."""
    unit = session.get(AdminUnit, code)
    if unit is not None and (unit.name, unit.level, unit.parent_code) == (name, level, parent_code) and (
        _same_shape(to_shape(unit.boundary), boundary) if unit.boundary is not None else False
    ):
        return False
    unit = unit or AdminUnit(code=code)
    unit.name, unit.level, unit.parent_code = name, level, parent_code
    unit.boundary = db_geometry(boundary)
    session.add(unit)
    return True


def admin_areas(session: Session) -> tuple[dict[str, AdminArea], dict[str, AdminArea]]:
    """Villages and townships with boundaries, as the validator wants them."""
    villages, townships = {}, {}
    rows = session.scalars(sa.select(AdminUnit).where(AdminUnit.level.in_(("village", "township"))))
    for unit in rows:
        if unit.boundary is None:
            continue
        area = AdminArea(unit.code, unit.name, unit.level, unit.parent_code, to_shape(unit.boundary))
        (villages if unit.level == "village" else townships)[unit.code] = area
    return villages, townships


def admin_infos(session: Session) -> dict[str, AdminInfo]:
    rows = session.execute(sa.select(AdminUnit.code, AdminUnit.name, AdminUnit.level, AdminUnit.parent_code))
    return {code: AdminInfo(code, name, level, parent) for code, name, level, parent in rows}


# -- grid versions -------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    retired: int = 0
    revision: int = 0

    @property
    def touched(self) -> int:
        return self.created + self.changed + self.retired


def current_cells_query() -> sa.Select:
    return sa.select(GridCell).where(GridCell.valid_to.is_(None)).order_by(GridCell.code)


def cells_at_query(at: datetime) -> sa.Select:
    """Cells as the network stood at `at` (for showing an old case on its old grid).

    `at` is normalised to UTC: SQLite stores datetimes without their offset, so
    every stored and compared moment must be UTC.
    """
    at = as_utc(at)
    return (
        sa.select(GridCell)
        .where(GridCell.valid_from <= at)
        .where(sa.or_(GridCell.valid_to.is_(None), GridCell.valid_to > at))
        .order_by(GridCell.code)
    )


def cell_versions(session: Session, code: str) -> list[GridCell]:
    return list(session.scalars(sa.select(GridCell).where(GridCell.code == code).order_by(GridCell.version)))


def cell_at(session: Session, code: str, at: datetime | None = None) -> GridCell | None:
    query = current_cells_query() if at is None else cells_at_query(at)
    return session.scalars(query.where(GridCell.code == code)).first()


# Vertices closer than this (about 1 cm) are the same vertex: re-importing a
# network that went through a projection round trip must not open new versions.
SAME_VERTEX_DEG = 1e-7


def _same_cell(stored: GridCell, record: GridRecord, geometry: BaseGeometry) -> bool:
    return (
        stored.name == (record.name or record.code)  # a nameless cell is stored under its code
        and stored.village_code == record.village_code
        and stored.kind == record.kind
        and stored.special_type == record.special_type
        and tuple(stored.domains) == tuple(record.domains)
        and stored.households == record.households
        and stored.population == record.population
        and _same_shape(to_shape(stored.boundary), geometry)
    )


def _same_shape(a: BaseGeometry, b: BaseGeometry) -> bool:
    return shapely.equals_exact(
        shapely.normalize(to_multipolygon(a)), shapely.normalize(to_multipolygon(b)), tolerance=SAME_VERTEX_DEG
    )


def _new_version(record: GridRecord, geometry: BaseGeometry, version: int, at: datetime) -> GridCell:
    return GridCell(
        code=record.code,
        version=version,
        name=record.name or record.code,
        village_code=record.village_code,
        kind=record.kind,
        special_type=record.special_type,
        domains=list(record.domains),
        households=record.households,
        population=record.population,
        boundary=db_geometry(geometry),
        valid_from=at,
        valid_to=None,
    )


def apply_grid_records(
    session: Session,
    records: Iterable[GridRecord],
    at: datetime | None = None,
    retire_missing_in: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Store validated records as new grid versions.

    A new code opens version 1; a changed cell closes its current version at
    `at` and opens the next; an unchanged one is left alone, so re-importing
    the same file is a no-op. Cells of the villages in `retire_missing_in`
    that the records no longer contain are closed. The caller commits.
    """
    at = as_utc(at) if at else utcnow()
    result = ImportResult()
    current = {cell.code: cell for cell in session.scalars(current_cells_query())}
    latest_version = dict(
        session.execute(sa.select(GridCell.code, sa.func.max(GridCell.version)).group_by(GridCell.code)).all()
    )
    seen = set()
    opened = []
    for record in records:
        seen.add(record.code)
        geometry = to_multipolygon(record.geometry)
        stored = current.get(record.code)
        if stored is None:
            opened.append(_new_version(record, geometry, latest_version.get(record.code, 0) + 1, at))
            result.created += 1
        elif _same_cell(stored, record, geometry):
            result.unchanged += 1
        else:
            stored.valid_to = at
            opened.append(_new_version(record, geometry, stored.version + 1, at))
            result.changed += 1
        if progress:
            progress(1)
    # Close the old versions before opening the new: one current row per code (unique index).
    session.flush()
    session.add_all(opened)
    retire_villages = set(retire_missing_in)
    for code, stored in current.items():
        if code not in seen and stored.village_code in retire_villages:
            stored.valid_to = at
            result.retired += 1
    if result.touched:
        result.revision = bump_revision(session, at)
    else:
        result.revision = current_revision(session)
    return result


# -- revision ------------------------------------------------------------------

_CHANGE_EVENTS = {NETWORK_COUNTER: "network.changed", CATALOGUE_COUNTER: "catalogue.changed"}


def current_revision(session: Session, counter: int = NETWORK_COUNTER) -> int:
    return session.scalar(sa.select(NetworkRevision.revision).where(NetworkRevision.id == counter)) or 0


def bump_revision(session: Session, at: datetime | None = None, counter: int = NETWORK_COUNTER) -> int:
    """Advance a revision (default: the network's) inside the caller's transaction, and tell every
    screen and phone (an event) that what they drew or cached is out of date."""
    session.execute(
        sa.update(NetworkRevision)
        .where(NetworkRevision.id == counter)
        .values(revision=NetworkRevision.revision + 1, changed_at=at or utcnow())
    )
    revision = current_revision(session, counter)
    publish(session, _CHANGE_EVENTS[counter], [PUBLIC_ROOM], {"revision": revision}, at=at)
    return revision


def stored_record(cell: GridCell) -> GridRecord:
    """A stored cell as a GridRecord, to validate a file together with the cells it keeps."""
    return GridRecord(
        source_row=0,
        code=cell.code,
        name=cell.name,
        village_code=cell.village_code,
        kind=cell.kind,
        special_type=cell.special_type,
        domains=tuple(cell.domains),
        households=cell.households,
        population=cell.population,
        geometry=to_shape(cell.boundary),
    )
