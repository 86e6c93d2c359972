"""Reading and writing the vector files GIS offices exchange: GeoJSON, Shapefile, GeoPackage.

pyogrio (GDAL, bundled in its wheel) does the file formats, so every format
GDAL knows works the same way. What this module adds is the datum rule: a
file's coordinates are taken in the datum the file declares, unless the
caller names one, and a file that declares none is refused rather than
guessed. GCJ-02 and BD-09 have no EPSG code, so a file in them can only be
read with an explicit `crs`.

Shapefile attribute tables in China are often GBK: GDAL honours a `.cpg`
file, and `encoding` overrides it for files that lack one.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pyogrio import raw, read_info
from pyogrio.errors import DataSourceError, DataLayerError
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from gridsvc.geo.crs import STORAGE_EPSG, InputCRS, geometry_from_cgcs2000, geometry_to_cgcs2000, parse_crs
from gridsvc.geo.grid_records import AttributeMapping, GridRecord

DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile", ".gpkg": "GPKG"}


class VectorFileError(ValueError):
    """The file cannot be read as asked (missing, unreadable, no datum)."""


@dataclass(frozen=True)
class VectorLayer:
    """Features of one layer, geometry converted to CGCS2000."""

    attributes: list[dict]
    geometries: list[BaseGeometry | None]
    source_crs: InputCRS
    declared_crs: str | None  # what the file itself says, for the report


def driver_for(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in DRIVERS:
        raise VectorFileError(f"{path}: unsupported file type {suffix!r} (use .geojson, .shp or .gpkg)")
    return DRIVERS[suffix]


def read_layer(
    path: str | Path,
    crs: InputCRS | None = None,
    encoding: str | None = None,
    layer: str | None = None,
) -> VectorLayer:
    """Read one layer and convert its geometry to CGCS2000."""
    with _gdal_errors(path):
        meta, _fids, wkb, field_data = raw.read(str(path), layer=layer, encoding=encoding)
    declared = meta.get("crs")
    source_crs = crs or _declared_crs(path, declared)
    geometries = shapely.from_wkb(wkb) if wkb is not None else np.full(len(field_data[0]) if field_data else 0, None)
    converted = geometry_to_cgcs2000(geometries, source_crs)
    names = list(meta["fields"])
    attributes = [
        {name: _plain(column[i]) for name, column in zip(names, field_data)}
        for i in range(len(converted))
    ]
    return VectorLayer(attributes, list(converted), source_crs, declared)


@contextmanager
def _gdal_errors(path):
    """GDAL's complaints about a file (unreadable, no such layer, unknown encoding) as VectorFileError."""
    try:
        yield
    except (DataSourceError, DataLayerError, OSError, LookupError) as exc:
        raise VectorFileError(f"{path}: {exc}") from exc


def feature_count(path: str | Path, layer: str | None = None) -> int:
    """How many features a layer has (for a progress bar), without reading them."""
    with _gdal_errors(path):
        return read_info(str(path), layer=layer)["features"]


def _declared_crs(path, declared: str | None) -> InputCRS:
    if not declared:
        raise VectorFileError(
            f"{path}: the file does not say which datum it is in; name it with --crs "
            "(wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>)"
        )
    try:
        epsg = CRS.from_user_input(declared).to_epsg(min_confidence=70)
    except CRSError as exc:
        raise VectorFileError(f"{path}: cannot understand the file's datum ({exc}); name it with --crs") from exc
    if epsg is None:
        raise VectorFileError(f"{path}: the file's datum has no EPSG equivalent; name it with --crs")
    return parse_crs(epsg)


def _plain(value):
    """numpy scalars to Python values, so records compare and serialise simply."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def read_grid_records(
    path: str | Path,
    mapping: AttributeMapping | None = None,
    crs: InputCRS | None = None,
    encoding: str | None = None,
    layer: str | None = None,
) -> tuple[list[GridRecord], VectorLayer]:
    """Read a grid file into GridRecords (geometry in CGCS2000, not yet validated)."""
    mapping = mapping or AttributeMapping()
    data = read_layer(path, crs=crs, encoding=encoding, layer=layer)
    records = [
        mapping.record(row, attributes, geometry)
        for row, (attributes, geometry) in enumerate(zip(data.attributes, data.geometries), start=1)
    ]
    return records, data


def write_layer(
    path: str | Path,
    rows: list[dict],
    geometries: list[BaseGeometry],
    crs: InputCRS | None = None,
    layer: str | None = None,
) -> None:
    """Write features (geometry given in CGCS2000) to GeoJSON, Shapefile or GeoPackage.

    `crs` chooses the output datum (default CGCS2000); GCJ-02 output is what an
    AMap-based tool needs to draw the grids on its streets.
    """
    crs = crs or parse_crs(STORAGE_EPSG)
    out_geoms = geometry_from_cgcs2000(np.asarray(geometries, dtype=object), crs)
    columns = list(rows[0].keys()) if rows else []
    typed = [_column([row[c] for row in rows]) for c in columns]
    Path(path).unlink(missing_ok=True)
    with warnings.catch_warnings(), _gdal_errors(path):
        # GCJ-02/BD-09 output has no CRS to declare: that is the point of asking for it.
        warnings.filterwarnings("ignore", message="'crs' was not provided")
        # DBF field names stop at 10 characters; the reader finds them truncated too.
        warnings.filterwarnings("ignore", message="Normalized/laundered field name")
        raw.write(
            str(path),
            shapely.to_wkb(out_geoms),
            [values for values, _ in typed],
            columns,
            field_mask=[mask for _, mask in typed],
            layer=layer or Path(path).stem,
            driver=driver_for(path),
            geometry_type="MultiPolygon",
            promote_to_multi=True,
            crs=f"EPSG:{crs.epsg}" if crs.epsg else None,
            encoding="UTF-8" if driver_for(path) == "ESRI Shapefile" else None,
        )


def _column(values: list) -> tuple[np.ndarray, np.ndarray]:
    """A typed column and its null mask: integers stay integers in the file."""
    mask = np.array([v is None for v in values], dtype=bool)
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return np.array([0 if v is None else v for v in values], dtype=np.int64), mask
    return np.array(["" if v is None else _text(v) for v in values], dtype=object), mask


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
