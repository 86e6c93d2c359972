"""Locating points against the stored network: the cached in-memory index, and the database.

The in-memory `GridIndex` answers the hot path. It is rebuilt when the
network revision in the database moves, which another process (a CLI import)
may cause: each process re-reads the revision at most every
`refresh_seconds`, so a change shows up within that delay without a query
per request.

`cells_covering_in_db` asks the database itself (`ST_Covers` on PostGIS and
SpatiaLite alike), for the network now or on a past date. It is the
reference the index is tested against; the case workflow will use it to show
an old case on the grid of its day.
"""

from __future__ import annotations

import gc
from datetime import datetime

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.kernel.config import Settings
from gridsvc.geo.crs import STORAGE_EPSG
from gridsvc.geo.locate import CellInfo, GridIndex
from gridsvc.kernel.models import GridCell
from gridsvc.kernel.reloading import Reloading
from gridsvc.network.store import admin_infos, cells_at_query, current_cells_query, current_revision


def build_index(session: Session, settings: Settings) -> GridIndex:
    """Read the current network and build its index.

    Plain rows and one vectorised WKB decode, not ORM objects: at a million
    cells this is the difference between seconds and half a minute.
    """
    revision = current_revision(session)
    rows = session.execute(
        sa.select(
            GridCell.code, GridCell.name, GridCell.kind, GridCell.village_code, GridCell.special_type,
            sa.func.ST_AsBinary(GridCell.boundary),
        )
        .where(GridCell.valid_to.is_(None))
        .order_by(GridCell.code)
    ).all()
    geometries = shapely.from_wkb(np.array([bytes(row[5]) for row in rows], dtype=object))
    return GridIndex(
        [CellInfo(*row[:5]) for row in rows],
        geometries,
        admin_infos(session),
        boundary_tolerance_m=settings.boundary_tolerance_m,
        nearest_max_distance_m=settings.nearest_max_distance_m,
        revision=revision,
    )


def index_cache(sessions: sessionmaker[Session], settings: Settings) -> Reloading[GridIndex]:
    """One process's locate index, rebuilt when the network revision moves."""
    return Reloading(sessions, settings.index_refresh_seconds, version=current_revision,
                     build=lambda session, _revision: _frozen(build_index(session, settings)))


# Below this many cells (a county's network has a few thousand) the collector's rescans cost
# nothing worth a full collection at every rebuild, and freezing would keep each replaced index
# alive for good; a province's network (issue 19: 100,000 grids) is well above it.
FREEZE_FROM_CELLS = 20_000


def _frozen(index: GridIndex) -> GridIndex:
    """A large index is millions of long-lived objects: collect what is garbage now, then keep the
    collector from rescanning the rest (pauses of ~0.2 s at 1 M cells otherwise)."""
    if len(index) >= FREEZE_FROM_CELLS:
        gc.collect()
        gc.freeze()
    return index


def cells_covering_in_db(session: Session, lon: float, lat: float, at: datetime | None = None) -> list[GridCell]:
    """Cells whose boundary covers the CGCS2000 point, asked of the database (current or at `at`)."""
    point = sa.func.ST_GeomFromText(f"POINT({float(lon)!r} {float(lat)!r})", STORAGE_EPSG)
    query = current_cells_query() if at is None else cells_at_query(at)
    return list(session.scalars(query.where(sa.func.ST_Covers(GridCell.boundary, point))))
