"""The grid network's tables: administrative units and versioned grid cells.

Geometry is stored in CGCS2000 (EPSG:4490) as MULTIPOLYGON. Grid cells are
versioned like MapIt's boundary generations: a boundary change closes the old
row (`valid_to`) and opens a new one, so a case reported last year is still
shown against the grid as it was on that day. At most one version of a code is
current (`valid_to IS NULL`), enforced by a partial unique index.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gridsvc.geo.crs import STORAGE_EPSG

ADMIN_LEVELS = ("county", "township", "village")
GRID_KINDS = ("base", "special")
DOMAINS = ("governance", "enforcement", "services")  # 综治, 执法, 服务 (zh names in docs/grid-network.md)


def multipolygon_column(nullable: bool = True):
    return mapped_column(
        Geometry("MULTIPOLYGON", srid=STORAGE_EPSG, spatial_index=True),
        nullable=nullable,
    )


class Base(DeclarativeBase):
    pass


class AdminUnit(Base):
    """County, township (乡镇/街道) or village (村/社区), keyed by its 12-digit 统计用区划代码.

    A county's 6-digit GB/T 2260 code is padded with zeros to 12 digits, as the
    statistical code list does (双阳区 220112 → 220112000000).
    """

    __tablename__ = "admin_units"

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(100))
    parent_code: Mapped[str | None] = mapped_column(
        sa.String(12), sa.ForeignKey("admin_units.code"), index=True
    )
    boundary = multipolygon_column()

    parent: Mapped["AdminUnit | None"] = relationship(remote_side=[code])

    __table_args__ = (
        sa.CheckConstraint(f"level IN {ADMIN_LEVELS!r}", name="ck_admin_units_level"),
    )


class GridCell(Base):
    """One version of one grid cell (网格).

    `code` is the village's 12-digit code plus a 3-digit sequence. Base grids
    tile their village; special grids (专属网格: a school, an enterprise, a
    market) lie over them.
    """

    __tablename__ = "grid_cells"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(sa.String(15), index=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    name: Mapped[str] = mapped_column(sa.String(100))
    village_code: Mapped[str] = mapped_column(
        sa.String(12), sa.ForeignKey("admin_units.code"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16), default="base")
    special_type: Mapped[str | None] = mapped_column(sa.String(32))
    domains: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: list(DOMAINS))
    households: Mapped[int | None] = mapped_column(sa.Integer)
    population: Mapped[int | None] = mapped_column(sa.Integer)
    boundary = multipolygon_column(nullable=False)
    valid_from: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    village: Mapped[AdminUnit] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("code", "version", name="uq_grid_cells_code_version"),
        sa.Index(
            "uq_grid_cells_current_code",
            "code",
            unique=True,
            postgresql_where=sa.text("valid_to IS NULL"),
            sqlite_where=sa.text("valid_to IS NULL"),
        ),
        sa.CheckConstraint(f"kind IN {GRID_KINDS!r}", name="ck_grid_cells_kind"),
    )


class NetworkRevision(Base):
    """A single-row counter bumped in the same transaction as every network change.

    Processes compare it with the revision their in-memory index was built
    from, so an import made by the CLI reaches the web process within seconds.
    """

    __tablename__ = "network_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(sa.Integer, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
