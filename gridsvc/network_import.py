"""Import and export of grid files: read, validate, store as new versions, all or nothing.

The GIS office's file goes through the same path whatever its format or
datum: `vector_io` reads it into CGCS2000 records, `validation` checks it
against the stored villages and townships, and only a file without errors is
stored, in the caller's single transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from gridsvc.config import Settings
from gridsvc.geo.crs import InputCRS
from gridsvc.geo.grid_records import ADMIN_CODE_PATTERN, AttributeMapping
from gridsvc.geo.validation import ValidationReport, validate_grids
from gridsvc.geo.vector_io import VectorFileError, VectorLayer, read_grid_records, read_layer, write_layer
from gridsvc.network import (
    ImportResult,
    admin_areas,
    apply_grid_records,
    cells_at_query,
    current_cells_query,
    upsert_admin_unit,
)

Progress = Callable[[int], None]
_LEVEL_ORDER = {"county": 0, "township": 1, "village": 2}


def import_admin_file(
    session: Session, path: str | Path, crs: InputCRS | None = None, encoding: str | None = None
) -> int:
    """Upsert counties, townships and villages from a file with code/name/level/parent_code.

    Parents are written before children, for the foreign key. The caller commits.
    """
    layer = read_layer(path, crs=crs, encoding=encoding)
    rows = list(zip(layer.attributes, layer.geometries))
    for attributes, _ in rows:
        if attributes.get("level") not in _LEVEL_ORDER or not ADMIN_CODE_PATTERN.match(str(attributes.get("code"))):
            raise VectorFileError(
                f"{path}: every feature needs a 12-digit code and a level (county, township or village)"
            )
    for attributes, geometry in sorted(rows, key=lambda row: _LEVEL_ORDER[row[0]["level"]]):
        upsert_admin_unit(
            session, str(attributes["code"]), attributes["name"], attributes["level"],
            attributes.get("parent_code"), geometry,
        )
    session.flush()
    return len(rows)


@dataclass
class GridFileCheck:
    """A file read and validated, not yet stored."""

    layer: VectorLayer
    report: ValidationReport


def check_grid_file(
    session: Session,
    path: str | Path,
    settings: Settings,
    mapping: AttributeMapping | None = None,
    crs: InputCRS | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    progress: Progress | None = None,
) -> GridFileCheck:
    """Read a grid file and validate it against the stored villages and townships."""
    records, data = read_grid_records(path, mapping, crs=crs, encoding=encoding, layer=layer)
    villages, townships = admin_areas(session)
    report = validate_grids(records, villages, townships, settings.area_tolerance_m2, progress=progress)
    return GridFileCheck(data, report)


def import_grid_file(
    session: Session,
    check: GridFileCheck,
    at: datetime | None = None,
    retire_missing: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Store a checked file; refuses a file whose report has errors. The caller commits.

    With `retire_missing`, current cells of the file's villages that the file
    no longer contains are closed: the file is then the whole network of
    those villages.
    """
    if not check.report.ok:
        raise ValueError(f"the file has {len(check.report.errors)} validation errors; nothing was imported")
    records = check.report.records
    villages = {r.village_code for r in records} if retire_missing else ()
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
            "valid_from": c.valid_from.isoformat(),
        }
        for c in cells
    ]
    write_layer(path, rows, [to_shape(c.boundary) for c in cells], crs=crs)
    return len(rows)
