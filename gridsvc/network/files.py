"""Import and export of network files: administrative units, and grids as new versions.

The GIS office's grid file goes through the same path whatever its format or
datum: `vector_io` reads it into CGCS2000 records, `validation` checks it
against the stored villages, townships and the cells it keeps, and only a
file without errors is stored, in the caller's single transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from gridsvc.kernel.config import Settings
from gridsvc.geo.crs import InputCRS
from gridsvc.geo.grid_records import ADMIN_CODE_PATTERN, AttributeMapping, GridRecord
from gridsvc.geo.validation import ValidationReport, validate_grids
from gridsvc.geo.vector_io import VectorFileError, VectorLayer, read_grid_records, read_layer, write_layer
from gridsvc.kernel.models import AdminUnit
from gridsvc.kernel.clock import as_utc
from gridsvc.network.store import (
    ImportResult, admin_areas, apply_grid_records, bump_revision, cells_at_query, current_cells_query,
    stored_record, upsert_admin_unit,
)

Progress = Callable[[int], None]
_LEVEL_ORDER = {"county": 0, "township": 1, "village": 2}


def import_admin_file(
    session: Session, path: str | Path, crs: InputCRS | None = None, encoding: str | None = None
) -> int:
    """Upsert counties, townships and villages from a file with code/name/level/parent_code.

    Every row is checked before anything is written: a 12-digit code, a name,
    a known level, a polygonal boundary, and a parent one level up that is in
    the file or already stored. Parents are written before children. When
    anything changed the network revision moves, so running services pick up
    new names. The caller commits.
    """
    layer = read_layer(path, crs=crs, encoding=encoding)
    rows = list(zip(layer.attributes, layer.geometries))
    levels = {str(a.get("code")): a.get("level") for a, _ in rows}
    stored = {code: level for code, level in session.execute(sa.select(AdminUnit.code, AdminUnit.level))}
    for number, (attributes, geometry) in enumerate(rows, start=1):
        problem = _admin_row_problem(attributes, geometry, {**stored, **levels})
        if problem:
            raise VectorFileError(f"{path}: feature {number} ({attributes.get('code')}): {problem}")
    changed = False
    for attributes, geometry in sorted(rows, key=lambda row: _LEVEL_ORDER[row[0]["level"]]):
        changed |= upsert_admin_unit(
            session, str(attributes["code"]), attributes["name"], attributes["level"],
            attributes.get("parent_code"), geometry,
        )
    session.flush()
    if changed:
        bump_revision(session)
    return len(rows)


def _admin_row_problem(attributes: dict, geometry, levels: dict[str, str]) -> str | None:
    code, level, parent = str(attributes.get("code")), attributes.get("level"), attributes.get("parent_code")
    if not ADMIN_CODE_PATTERN.match(code):
        return "code must be a 12-digit 统计用区划代码"
    if level not in _LEVEL_ORDER:
        return "level must be county, township or village"
    if not attributes.get("name"):
        return "name is missing"
    if geometry is None or geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
        return "the boundary must be a polygon"
    if level == "county":
        return None
    if not parent:
        return f"a {level} needs a parent_code"
    if _LEVEL_ORDER.get(levels.get(str(parent)), -1) != _LEVEL_ORDER[level] - 1:
        return f"parent {parent} is not a known {'county' if level == 'township' else 'township'}"
    return None


@dataclass
class GridFileCheck:
    """A file read and validated, not yet stored.

    `retire_missing` travels with the check: the import does what was validated.
    """

    layer: VectorLayer
    report: ValidationReport
    retire_missing: bool = False


def check_grid_file(
    session: Session,
    path: str | Path,
    settings: Settings,
    mapping: AttributeMapping | None = None,
    crs: InputCRS | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    retire_missing: bool = False,
    progress: Progress | None = None,
) -> GridFileCheck:
    """Read a grid file and validate the network as it would stand after importing it.

    A file often holds one village or a few changed cells: it is checked
    together with the stored cells of its townships that it leaves in place
    (with `retire_missing`, minus those of its villages), so an overlap with a
    stored cell is found and the rest of the township does not count as a gap.
    Issues among stored cells alone are not the file's and are left out.
    """
    records, data = read_grid_records(path, mapping, crs=crs, encoding=encoding, layer=layer)
    villages, townships = admin_areas(session)
    kept = _stored_cells_kept(session, records, villages, retire_missing)
    report = validate_grids(records + kept, villages, townships, settings.area_tolerance_m2, progress=progress)
    kept_codes = {r.code for r in kept}
    report.records = report.records[: len(records)]
    report.issues = [i for i in report.issues if not i.grid_codes or not set(i.grid_codes) <= kept_codes]
    return GridFileCheck(data, report, retire_missing)


def _stored_cells_kept(
    session: Session, records: list[GridRecord], villages: dict, retire_missing: bool
) -> list[GridRecord]:
    """Current cells of the file's townships that the import would leave untouched."""
    township_prefixes = {
        villages[r.village_code].parent_code[:9] for r in records
        if r.village_code in villages and villages[r.village_code].parent_code
    }
    file_codes = {r.code for r in records}
    file_villages = {r.village_code for r in records} if retire_missing else set()
    return [
        stored_record(cell)
        for cell in session.scalars(current_cells_query())
        if cell.village_code[:9] in township_prefixes
        and cell.code not in file_codes
        and cell.village_code not in file_villages
    ]


def import_grid_file(
    session: Session,
    check: GridFileCheck,
    at: datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Store a checked file; refuses a file whose report has errors. The caller commits.

    If the check was made with `retire_missing`, current cells of the file's
    villages that the file no longer contains are closed: the file is then the
    whole network of those villages.
    """
    if not check.report.ok:
        raise ValueError(f"the file has {len(check.report.errors)} validation errors; nothing was imported")
    records = check.report.records
    villages = {r.village_code for r in records} if check.retire_missing else ()
    return apply_grid_records(session, records, at=at, retire_missing_in=villages, progress=progress)


def export_grids(
    session: Session,
    path: str | Path,
    crs: InputCRS | None = None,
    township_code: str | None = None,
    at: datetime | None = None,
) -> int:
    """Write the network (current, or as it stood at `at`) to GeoJSON or GeoPackage."""
    query = current_cells_query() if at is None else cells_at_query(at)
    cells = [
        c for c in session.scalars(query)
        if township_code is None or c.code.startswith(township_code[:9])
    ]
    rows = [
        {
            "code": c.code,
            "name": c.name,
            "village_code": c.village_code,
            "kind": c.kind,
            "special_type": c.special_type,
            "domains": ",".join(c.domains),
            "households": c.households,
            "population": c.population,
            "version": c.version,
            "valid_from": as_utc(c.valid_from).isoformat(),
        }
        for c in cells
    ]
    write_layer(path, rows, [to_shape(c.boundary) for c in cells], crs=crs)
    return len(rows)
