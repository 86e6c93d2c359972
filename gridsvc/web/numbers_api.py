"""Numbers API v1: the figures of the township command screen (gridsvc.oversight.numbers, docs/numbers.md).

    GET /api/v1/numbers?from=&to=&area= -> today, the period [from, to), what is overdue now

Signed-in only; every figure counts only the cases the caller may see. `from` and `to` default to
the start of the current China-time month and now; the period may span at most 92 days.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import Regexp

from gridsvc.kernel.runtime import runtime
from gridsvc.web.grids_api import MomentField
from gridsvc.web.auth_api import signed_in_user
from gridsvc.kernel.clock import utcnow
from gridsvc.oversight.numbers import PeriodError, default_period, screen_numbers

numbers_api = Blueprint("numbers_api", __name__, url_prefix="/api/v1")


class PeriodQuery(Schema):
    """`from` and `to` of a period of figures (numbers, hotspots, the public statistics)."""

    class Meta:
        unknown = EXCLUDE

    from_ = MomentField(data_key="from", load_default=None,
                        metadata={"description": "start of the period (included); default: the start of the "
                                                 "current China-time month. Send the offset, e.g. +08:00."})
    to = MomentField(load_default=None, metadata={"description": "end of the period (excluded); default: now. "
                                                                 "At most 92 days after `from`."})


@contextmanager
def blaming_the_sent_end(query: dict):
    """A period refused inside names the end the caller sent: the domain blames `to`, but `from` alone
    defaults `to` to now, so then `from` is to blame. Only the query knows which was sent."""
    try:
        yield
    except PeriodError as exc:
        field = exc.field if query["to"] is not None or query["from_"] is None else "from"
        raise PeriodError(field, exc.message) from exc


class NumbersQuery(PeriodQuery):
    area = fields.String(load_default=None,
                         validate=Regexp(r"^\d{12}$", error="须为 12 位区划代码 / a 12-digit administrative code"),
                         metadata={"description": "a 12-digit county, township or village code: only its cases"})


@numbers_api.get("/numbers")
def numbers():
    query = NumbersQuery().load(request.args)
    now = utcnow()
    period_from, period_to = default_period(now, query["from_"], query["to"])
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        with blaming_the_sent_end(query):
            figures = screen_numbers(session, user, rt.calendar.get(), now, period_from, period_to, query["area"])
        return jsonify(figures)
