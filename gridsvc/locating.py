"""Locating points against the stored network: the cached in-memory index, and the database.

The in-memory `GridIndex` answers the hot path. It is rebuilt when the
network revision in the database moves, which another process (a CLI import)
may cause: each process re-reads the revision at most every
`refresh_seconds`, so a change shows up within that delay without a query
per request.

`cells_covering_in_db` asks the database itself (`ST_Covers` on PostGIS and
SpatiaLite alike); it serves the network as it was on a past date and is the
reference the index is tested against.
"""

from __future__ import annotations

import gc
import threading
import time
from datetime import datetime

import sqlalchemy as sa
from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session, sessionmaker

from gridsvc.config import Settings
from gridsvc.geo.crs import STORAGE_EPSG
from gridsvc.geo.locate import GridIndex
from gridsvc.models import GridCell
from gridsvc.network import admin_infos, cell_info, cells_at_query, current_cells_query, current_revision


def build_index(session: Session, settings: Settings) -> GridIndex:
    """Read the current network and build its index."""
    revision = current_revision(session)
    cells = list(session.scalars(current_cells_query()))
    return GridIndex(
        [cell_info(c) for c in cells],
        [to_shape(c.boundary) for c in cells],
        admin_infos(session),
        boundary_tolerance_m=settings.boundary_tolerance_m,
        nearest_max_distance_m=settings.nearest_max_distance_m,
        revision=revision,
    )


class IndexCache:
    """One process's current index, rebuilt when the network revision moves."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._session_factory = session_factory
        self._settings = settings
        self._index: GridIndex | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> GridIndex:
        index = self._index
        if index is not None and time.monotonic() - self._checked_at < self._settings.index_refresh_seconds:
            return index
        with self._lock:
            with self._session_factory() as session:
                revision = current_revision(session)
                if self._index is None or self._index.revision != revision:
                    self._index = build_index(session, self._settings)
                    # A large index is millions of long-lived objects: keep the cyclic
                    # garbage collector from rescanning them (pauses of ~0.2 s at 1 M cells).
                    gc.freeze()
            self._checked_at = time.monotonic()
            return self._index

    def invalidate(self) -> None:
        """Forget the index (this process just changed the network)."""
        with self._lock:
            self._index = None


def cells_covering_in_db(session: Session, lon: float, lat: float, at: datetime | None = None) -> list[GridCell]:
    """Cells whose boundary covers the CGCS2000 point, asked of the database (current or at `at`)."""
    point = sa.func.ST_GeomFromText(f"POINT({float(lon)!r} {float(lat)!r})", STORAGE_EPSG)
    query = current_cells_query() if at is None else cells_at_query(at)
    return list(session.scalars(query.where(sa.func.ST_Covers(GridCell.boundary, point))))
