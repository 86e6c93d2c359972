"""Patrols (巡查) from the phone: start, upload the track in batches, stop, and see what a day covered.

    POST /mobile/v1/patrols                       {client_uuid, started_at?}  -> 201 new, 200 the same again
    POST /mobile/v1/patrols/<client_uuid>/points  {points: [{seq, lon, lat, crs, accuracy?, recorded_at}]}
                                                  -> a result per fix: added | already_had | rejected
    POST /mobile/v1/patrols/<client_uuid>/stop    {ended_at?}                 -> the patrol (stopped once)
    GET  /mobile/v1/patrols/coverage?date=YYYY-MM-DD[&patrol=<client_uuid>]
                                                  -> my length and covered share per grid that China day

All need a signed-in caller and touch only the caller's own patrols: another
user's patrol answers 404, as if it did not exist. Thin: the rules are in
gridsvc.patrols.recording and gridsvc.geo.tracks.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates
from marshmallow.validate import Length, Range

from gridsvc.kernel.runtime import runtime
from gridsvc.web.grids_api import DATUM_HELP, CrsField, MomentField, Text
from gridsvc.web.auth_api import json_body, signed_in_user
from gridsvc.web.errors import ApiError, flat_fields
from gridsvc.web.json_fields import JsonFloat, JsonInteger
from gridsvc.kernel.clock import iso_or_none
from gridsvc.kernel.models import Patrol
from gridsvc.patrols.recording import (
    MAX_SEQ,
    DayCoverage,
    PointInput,
    add_points,
    day_coverage,
    my_patrol,
    point_count,
    start,
    stop,
)

patrols_api = Blueprint("patrols_api", __name__, url_prefix="/mobile/v1")

MAX_BATCH = 1000  # fixes per upload: a quarter of an hour at 1 s, over an hour at 5 s
NOT_FOUND = "巡查不存在 / no such patrol of yours"


class StartBody(Schema):
    class Meta:
        unknown = EXCLUDE

    client_uuid = Text(required=True, validate=Length(1, 38))
    started_at = MomentField(load_default=None, allow_none=True, metadata={"description": "the phone's clock"})


class StopBody(Schema):
    class Meta:
        unknown = EXCLUDE

    ended_at = MomentField(load_default=None, allow_none=True, metadata={"description": "the phone's clock"})


class PointItem(Schema):
    class Meta:
        unknown = EXCLUDE

    seq = JsonInteger(required=True, validate=Range(0, MAX_SEQ),
                      metadata={"description": "the phone's number of this fix within the patrol"})
    lon = JsonFloat(required=True, allow_nan=True)
    lat = JsonFloat(required=True, allow_nan=True)
    crs = CrsField(required=True, metadata={"description": DATUM_HELP})
    accuracy = JsonFloat(load_default=None, allow_none=True, allow_nan=True)
    recorded_at = MomentField(required=True, metadata={"description": "the phone's clock"})


class PointsBody(Schema):
    """The upload as the view loads it: each item is judged alone (PointItem), so any JSON value, null
    included, is a `rejected` result of its own rather than a 422 for the whole upload."""

    class Meta:
        unknown = EXCLUDE

    points = fields.List(fields.Raw(allow_none=True), required=True, validate=Length(1, MAX_BATCH))


class CoverageQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    date = fields.Date(required=True, metadata={"description": "a China-time (Asia/Shanghai) day, YYYY-MM-DD"})
    patrol = Text(load_default=None, validate=Length(1, 38), metadata={"description": "one patrol's client_uuid"})

    @validates("date")
    def _plausible_day(self, value, **_) -> None:
        if not 2000 <= value.year < 2100:
            raise ValidationError("须在 2000 年至 2100 年之间 / must lie between 2000 and 2100")


def patrol_json(session, patrol: Patrol) -> dict:
    return {
        "client_uuid": patrol.client_uuid,
        "started_at": iso_or_none(patrol.started_at),
        "ended_at": iso_or_none(patrol.ended_at),
        "received_at": iso_or_none(patrol.received_at),
        "points": point_count(session, patrol),
    }


def _optional_json_body() -> dict:
    """A stop may come without a body; a body that is there must be a JSON object."""
    if not request.get_data():
        return {}
    return json_body()


def _mine(session, user, client_uuid: str) -> Patrol:
    patrol = my_patrol(session, user, client_uuid)
    if patrol is None:
        raise ApiError(404, "patrol_not_found", NOT_FOUND)
    return patrol


@patrols_api.post("/patrols")
def start_patrol():
    body = StartBody().load(json_body())
    with runtime().sessions() as session:
        user = signed_in_user(session)
        patrol, created = start(session, user, body["client_uuid"], body["started_at"])
        session.commit()
        return jsonify(patrol_json(session, patrol)), 201 if created else 200


def _rejected_fix(position: int, raw, exc: ValidationError) -> dict:
    """The result of a fix that did not load, echoing its `seq` when that is a JSON integer (true is an
    int to Python, not to JSON)."""
    seq = raw.get("seq") if isinstance(raw, dict) else None
    return {"index": position, "seq": seq if type(seq) is int else None, "result": "rejected",
            "error": {"code": "invalid_parameters", "fields": flat_fields(exc.messages)}}


@patrols_api.post("/patrols/<client_uuid>/points")
def upload_points(client_uuid: str):
    body = PointsBody().load(json_body())
    rt = runtime()
    with rt.sessions() as session:
        patrol = _mine(session, signed_in_user(session), client_uuid)
        results: list[dict | None] = [None] * len(body["points"])
        good: list[tuple[int, PointInput]] = []
        for position, raw in enumerate(body["points"]):
            try:
                item = PointItem().load(raw if isinstance(raw, dict) else {})
            except ValidationError as exc:
                results[position] = _rejected_fix(position, raw, exc)
                continue
            good.append((position, PointInput(item["seq"], item["lon"], item["lat"], item["crs"],
                                              item["accuracy"], item["recorded_at"])))
        judged = add_points(session, patrol, [p for _, p in good], rt.settings)
        session.commit()
        for (position, _), outcome in zip(good, judged):
            results[position] = {"index": position, "seq": outcome.seq, "result": outcome.result}
            if outcome.code:
                results[position]["error"] = {"code": outcome.code, "fields": outcome.fields}
        counts = {kind: sum(1 for r in results if r["result"] == kind) for kind in ("added", "already_had", "rejected")}
        return jsonify({"patrol": patrol_json(session, patrol), **counts, "results": results})


@patrols_api.post("/patrols/<client_uuid>/stop")
def stop_patrol(client_uuid: str):
    body = StopBody().load(_optional_json_body())
    with runtime().sessions() as session:
        patrol = _mine(session, signed_in_user(session), client_uuid)
        stopped_now = stop(session, patrol, body["ended_at"])
        session.commit()
        return jsonify({**patrol_json(session, patrol), "stopped_now": stopped_now})


def coverage_json(coverage: DayCoverage) -> dict:
    return {
        "date": coverage.day.isoformat(),
        "timezone": "Asia/Shanghai",
        "buffer_m": coverage.buffer_m,
        "fixes": coverage.fixes,
        "length_m": round(coverage.length_m, 1),
        "outside_grids_m": round(coverage.outside_m, 1),
        "ignored_steps": coverage.ignored_steps,
        "dropped_fixes": coverage.dropped_fixes,
        "grids": [{
            "code": g.code, "name": g.name, "kind": g.kind, "length_m": round(g.length_m, 1),
            "covered_share": round(g.covered_share, 4), "covered_m2": round(g.covered_m2),
            "area_m2": round(g.area_m2),
        } for g in sorted(coverage.grids, key=lambda g: g.code)],
    }


@patrols_api.get("/patrols/coverage")
def my_coverage():
    query = CoverageQuery().load(request.args)
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        patrol = _mine(session, user, query["patrol"]) if query["patrol"] else None
        coverage = day_coverage(session, rt.index.get(), rt.settings, user, query["date"], patrol)
        return jsonify(coverage_json(coverage))
