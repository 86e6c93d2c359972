"""Hotspots API v1: where the cases come from (gridsvc.oversight.hotspots, docs/hotspots.md).

    GET /api/v1/hotspots/grids?from=&to=&category=&domain=&crs=        -> my grids with their counts (GeoJSON)
    GET /api/v1/hotspots/hexagons?from=&to=&category=&domain=&resolution=&crs=  -> H3 cells with counts
    GET /api/v1/hotspots/rising?week_ending=&category=&domain=&min_count=  -> this week against last, per grid

Signed-in only; only the cases the caller may see are counted. `from` and `to` default to the start
of the current China-time month and now (as /api/v1/numbers), at most 92 days apart; the map layers
come in the base map's datum unless `crs` says otherwise.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import OneOf, Range, Regexp

from gridsvc.kernel.runtime import runtime
from gridsvc.web.auth_api import signed_in_user
from gridsvc.web.errors import invalid_parameter
from gridsvc.oversight.hotspots import (
    DEFAULT_MIN_COUNT,
    DEFAULT_RESOLUTION,
    H3_RESOLUTIONS,
    CaseFilter,
    grid_hotspots,
    hexagon_hotspots,
    known_category,
    rising_grids,
)
from gridsvc.kernel.clock import utcnow
from gridsvc.kernel.models import DOMAINS
from gridsvc.oversight.numbers import default_period
from gridsvc.web.numbers_api import PeriodQuery, blaming_the_sent_end
from gridsvc.web.screen_api import LayersQuery, screen_datum
from gridsvc.worktime.calendar import CHINA

hotspots_api = Blueprint("hotspots_api", __name__, url_prefix="/api/v1/hotspots")


class FilterQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    category = fields.String(load_default=None,
                             validate=Regexp(r"^\d{5}$", error="须为 5 位分类代码 / a 5-digit category code"),
                             metadata={"description": "only cases of this category code (any catalogue version)"})
    domain = fields.String(load_default=None, validate=OneOf(DOMAINS),
                           metadata={"description": f"only cases of this domain: {', '.join(DOMAINS)}"})


class LayerQuery(FilterQuery, PeriodQuery, LayersQuery):
    """Which cases, the period, and the datum of the answer."""


class GridsQuery(LayerQuery):
    outlines = fields.Boolean(load_default=True, metadata={
        "description": "false: the counts only, every geometry null (a map that has drawn the grids already)"})


class HexagonsQuery(LayerQuery):
    resolution = fields.Integer(
        load_default=DEFAULT_RESOLUTION, validate=Range(H3_RESOLUTIONS.start, H3_RESOLUTIONS.stop - 1),
        metadata={"description": "H3 resolution: 7 ≈ 5.2 km², 8 ≈ 0.74 km², 9 ≈ 0.11 km² (default), "
                                 "10 ≈ 0.015 km² per cell"})


class RisingQuery(FilterQuery):
    week_ending = fields.Date(
        load_default=None, validate=Range(date(2000, 1, 14), date(2099, 12, 31)),
        metadata={"description": "the last China day of \"this week\" (included), e.g. 2026-05-10; "
                                 "default: today (counted so far)"})
    min_count = fields.Integer(load_default=DEFAULT_MIN_COUNT, validate=Range(1, 100000),
                               metadata={"description": "the fewest cases this week for a grid to be rising "
                                                        f"(default {DEFAULT_MIN_COUNT})"})


def _filter(session, query: dict) -> CaseFilter:
    if query["category"] is not None and not known_category(session, query["category"]):
        raise invalid_parameter("category", f"{query['category']} is not in the catalogue")
    return CaseFilter(query["category"], query["domain"])


def _period(query: dict):
    return default_period(utcnow(), query["from_"], query["to"])


@hotspots_api.get("/grids")
def grids():
    query = GridsQuery().load(request.args)
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        which = _filter(session, query)
        with blaming_the_sent_end(query):
            return jsonify(grid_hotspots(session, rt.index.get(), user, screen_datum(query), *_period(query), which,
                                         query["outlines"]))


@hotspots_api.get("/hexagons")
def hexagons():
    query = HexagonsQuery().load(request.args)
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        which = _filter(session, query)
        with blaming_the_sent_end(query):
            return jsonify(hexagon_hotspots(session, user, screen_datum(query), *_period(query), query["resolution"],
                                            which))


@hotspots_api.get("/rising")
def rising():
    query = RisingQuery().load(request.args)
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        which = _filter(session, query)
        week_ending = query["week_ending"] or utcnow().astimezone(CHINA).date()
        return jsonify(rising_grids(session, rt.index.get(), user, week_ending, query["min_count"], which))
