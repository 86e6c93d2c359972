"""Command-centre API v1 for the grid network: locate a point, browse the grids.

Thin by design: parse and validate the query (marshmallow), call the domain
functions, shape the JSON. All rules live in gridsvc.geo and gridsvc.network.store.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, request
from geoalchemy2.shape import to_shape
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema
import shapely
from shapely import box
from shapely.geometry import mapping

from gridsvc.kernel.runtime import runtime
from gridsvc.web.errors import ApiError
from gridsvc.geo.crs import (
    STORAGE_EPSG,
    InputCRS,
    UnknownCRSError,
    geometry_from_cgcs2000,
    geometry_to_cgcs2000,
    parse_crs,
)
from gridsvc.geo.grid_records import is_grid_code
from gridsvc.network.points import check_accuracy, result_to_dict, storage_point
from gridsvc.kernel.clock import as_utc
from gridsvc.network.store import cell_at, cell_versions
from gridsvc.web.rate_limits import storage_health

api = Blueprint("api", __name__, url_prefix="/api/v1")

DATUM_HELP = "wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>"


class Text(fields.String):
    """A string the databases can store: no NUL character, no unpaired surrogate."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("不得含空字符 / must not contain a NUL character")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("须为有效的 Unicode 文本 / must be valid Unicode text") from None
        return text


class CrsField(Text):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_crs(super()._deserialize(value, attr, data, **kwargs))
        except UnknownCRSError as exc:
            raise ValidationError(str(exc)) from exc


class CommaSeparated(fields.String):
    """Values separated by commas (`a,b,c`), each checked by `check`; at most `max_items` of them."""

    max_items = 200

    def check(self, value: str) -> None:
        """Raise ValidationError for a value that is not allowed."""

    def _deserialize(self, value, attr, data, **kwargs):
        values = tuple(v.strip() for v in super()._deserialize(value, attr, data, **kwargs).split(",") if v.strip())
        if len(values) > self.max_items:
            raise ValidationError(f"至多 {self.max_items} 个值 / at most {self.max_items} values")
        for one in values:
            self.check(one)
        return values


class LocateQuery(Schema):
    class Meta:
        unknown = EXCLUDE  # cache-busting or tracking parameters are not errors

    lon = fields.Float(required=True, allow_nan=True)  # NaN/inf get the same reason as in the CLI
    lat = fields.Float(required=True, allow_nan=True)
    crs = CrsField(required=True, metadata={"description": DATUM_HELP})
    accuracy = fields.Float(load_default=None, allow_nan=True)


class MomentField(fields.Field):
    """An ISO 8601 date or date-time between 2000 and 2100; without an offset it means UTC (as in the CLI)."""

    EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
    LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            moment = as_utc(datetime.fromisoformat(str(value)))
        except (ValueError, OverflowError) as exc:
            raise ValidationError("须为 ISO 8601 日期或时间，如 2026-05-01T08:00:00+08:00 / must be an ISO 8601 date or "
                                  "date-time, e.g. 2026-05-01T08:00:00+08:00") from exc
        if not self.EARLIEST <= moment < self.LATEST:
            raise ValidationError("须在 2000 年至 2100 年之间 / must lie between 2000 and 2100")
        return moment


class BboxFilter(Schema):
    """`bbox` (minx,miny,maxx,maxy) in `crs`; loading adds `bounds`, the box in CGCS2000."""

    class Meta:
        unknown = EXCLUDE

    bbox = fields.String(load_default=None, metadata={"description": "minx,miny,maxx,maxy in crs"})
    crs = CrsField(load_default=None, metadata={"description": "datum of bbox (default cgcs2000)"})

    @validates_schema
    def _bbox_shape(self, data, **_):
        if data.get("bbox") is None:
            return
        parts = data["bbox"].split(",")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            raise ValidationError("bbox must be minx,miny,maxx,maxy (four numbers)", field_name="bbox")
        if numbers[0] > numbers[2] or numbers[1] > numbers[3]:
            raise ValidationError("bbox minimum must not exceed its maximum", field_name="bbox")
        try:
            bounds = storage_bounds(numbers, data.get("crs"))
        except shapely.errors.GEOSException:  # so large that GEOS cannot densify its edges
            bounds = (math.inf,)
        if not all(math.isfinite(n) for n in bounds):
            raise ValidationError("bbox lies outside the area its crs can describe", field_name="bbox")
        data["bounds"] = bounds


class BboxQuery(BboxFilter):
    out_crs = CrsField(load_default=None, metadata={"description": "datum of the output, e.g. gcj02 for AMap"})


class AtQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    at = MomentField(load_default=None)


def storage_bounds(bbox: list[float], crs: InputCRS | None) -> tuple[float, float, float, float]:
    """A bbox given in `crs` as CGCS2000 bounds, its edges densified so curved images are covered."""
    if crs is None or crs.epsg == STORAGE_EPSG:
        return tuple(bbox)
    outline = geometry_to_cgcs2000(shapely.segmentize(box(*bbox), (bbox[2] - bbox[0] + bbox[3] - bbox[1]) / 40), crs)
    return tuple(float(v) for v in shapely.bounds(outline))


@api.get("/health")
def health():
    """Still 200 when a shared store is away ("degraded"): the service answers, phones included; what
    is missing is shared counting of their rate limits and the instant wake-up of other processes."""
    index = runtime().index.get()
    stores = {"rate_limits": storage_health(current_app), "live_events": runtime().live.wakeup.health()}
    status = "ok" if all(store["reachable"] for store in stores.values()) else "degraded"
    return jsonify({"status": status, "grid_cells": len(index), "network_revision": index.revision, **stores})


@api.get("/locate")
def locate_point():
    query = LocateQuery().load(request.args)
    check_accuracy(query["accuracy"], runtime().settings.max_accuracy_m)
    lon, lat = storage_point(query["lon"], query["lat"], query["crs"])
    index = runtime().index.get()
    result = index.locate(lon, lat, accuracy_m=query["accuracy"])
    return jsonify(result_to_dict(index, result, query["lon"], query["lat"], query["crs"]))


def _feature(code: str, name: str, geometry, properties: dict) -> dict:
    return {
        "type": "Feature",
        "id": code,
        "geometry": mapping(geometry),
        "properties": {"code": code, "name": name, **properties},
    }


@api.get("/grids")
def grids():
    """The current network as GeoJSON (CGCS2000 lon/lat), optionally cut to a bounding box."""
    query = BboxQuery().load(request.args)
    index = runtime().index.get()
    if query["bbox"]:
        positions = index.cells_in_bbox(*query["bounds"])
    else:
        positions = sorted(range(len(index)), key=lambda i: index.cells[i].code)
    out_crs = query["out_crs"]
    features = []
    for position in positions:
        cell = index.cells[position]
        village, township, _ = index.hierarchy(cell.village_code)
        geometry = index.geometry(position)
        features.append(
            _feature(
                cell.code,
                cell.name,
                geometry if out_crs is None else geometry_from_cgcs2000(geometry, out_crs),
                {
                    "kind": cell.kind,
                    "special_type": cell.special_type,
                    "village_code": cell.village_code,
                    "village_name": village.name if village else None,
                    "township_code": township.code if township else None,
                },
            )
        )
    collection = {"type": "FeatureCollection", "network_revision": index.revision, "features": features}
    collection["crs"] = str(out_crs) if out_crs else "EPSG:4490"
    return jsonify(collection)


def _check_code(code: str) -> None:
    if not is_grid_code(code):
        raise ApiError(404, "grid_not_found", f"网格编码须为 15 位数字 / a grid code has 15 digits: {code!r}")


@api.get("/grids/<code>")
def grid(code: str):
    """One cell as GeoJSON: the current version, or the one valid at `at`."""
    at = AtQuery().load(request.args)["at"]
    _check_code(code)
    with runtime().sessions() as session:
        cell = cell_at(session, code, at)
        if cell is None:
            when = f" at {at.isoformat()}" if at else ""
            raise ApiError(404, "grid_not_found", f"网格 {code} 不存在 / no grid {code}{when}")
        return jsonify(_feature(cell.code, cell.name, to_shape(cell.boundary), _version_properties(cell)))


@api.get("/grids/<code>/versions")
def grid_versions(code: str):
    _check_code(code)
    with runtime().sessions() as session:
        versions = cell_versions(session, code)
        if not versions:
            raise ApiError(404, "grid_not_found", f"网格 {code} 不存在 / no grid {code}")
        return jsonify({"code": code, "versions": [_version_properties(v) for v in versions]})


def _version_properties(cell) -> dict:
    return {
        "version": cell.version,
        "kind": cell.kind,
        "special_type": cell.special_type,
        "village_code": cell.village_code,
        "domains": list(cell.domains),
        "households": cell.households,
        "population": cell.population,
        "valid_from": as_utc(cell.valid_from).isoformat(),
        "valid_to": as_utc(cell.valid_to).isoformat() if cell.valid_to else None,
    }
