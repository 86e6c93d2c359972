"""Events over HTTP, for clients that poll instead of listening (and for acknowledging by HTTP).

    GET  /api/v1/events?since=N[&limit=M]   the events after N that are for me, oldest first
    POST /api/v1/events/<seq>/ack           acknowledge a dispatch or a deadline warning

The answer's `next` is where to continue (`since=next`): the outbox was read that far, even where
the events were not for you; `head` is the last event there is. Same events, same order, same
rooms as the live channel (gridsvc.web.live).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import Range

from gridsvc.kernel.runtime import runtime
from gridsvc.web.auth_api import signed_in_user
from gridsvc.kernel.db import MAX_INTEGER
from gridsvc.web.errors import ApiError, invalid_parameter
from gridsvc.events import outbox
from gridsvc.cases.acks import acknowledge
from gridsvc.cases.audience import rooms_for
from gridsvc.kernel.clock import as_utc, utcnow

events_api = Blueprint("events_api", __name__, url_prefix="/api/v1")


class EventsQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    since = fields.Integer(required=True, strict=False, validate=Range(0, MAX_INTEGER),
                           metadata={"description": "the seq of the last event seen (0: from the start)"})
    limit = fields.Integer(load_default=100, validate=Range(1, 1000), metadata={"description": "at most this many"})


@events_api.get("/events")
def event_list():
    query = EventsQuery().load(request.args)
    with runtime().sessions() as session:
        user = signed_in_user(session)
        head = outbox.head(session)
        if query["since"] > head:
            raise invalid_parameter("since", f"lies past the last event ({head}): start again from {head}")
        missed = outbox.missed(session, rooms_for(session, user), query["since"], head, query["limit"])
        if missed.pruned:
            raise ApiError(409, "resync_required", f"事件已清理，请重新加载 / the events after since were pruned: "
                                                   f"reload what you show, then continue from {head}")
        return jsonify({"events": [outbox.payload(e) for e in missed.events], "next": missed.read_to, "head": head})


@events_api.post("/events/<int:seq>/ack")
def acknowledge_event(seq: int):
    with runtime().sessions() as session:
        user = signed_in_user(session)
        ack = acknowledge(session, user, seq, utcnow())
        session.commit()
        return jsonify({"seq": ack.seq, "acked_at": as_utc(ack.acked_at).isoformat()})
