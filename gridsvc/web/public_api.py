"""Public API v1 (政务公开): no sign-in (gridsvc.oversight.public_figures, docs/public.md).

    GET /api/v1/public/cases/<tracking_no>                  -> what may be published of a case; 404 else
    GET /api/v1/public/townships                            -> the townships to choose from (code, name, county)
    GET /api/v1/public/townships/<township>/stats?from=&to= -> a township's anonymised figures
    GET /api/v1/public/responsibility                       -> the published 责任清单 (as /api/v1/responsibility)
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gridsvc.kernel.runtime import runtime
from gridsvc.web.catalogue_api import published_list
from gridsvc.kernel.clock import utcnow
from gridsvc.oversight.numbers import default_period
from gridsvc.web.numbers_api import PeriodQuery, blaming_the_sent_end
from gridsvc.oversight.public_figures import public_case, public_townships, township_stats

public_api = Blueprint("public_api", __name__, url_prefix="/api/v1/public")
public_api.add_url_rule("/responsibility", view_func=published_list, methods=["GET"])


class PublicStatsQuery(PeriodQuery):
    """The period of a township's public figures."""


@public_api.get("/cases/<tracking_no>")
def public_case_view(tracking_no: str):
    with runtime().sessions() as session:
        return jsonify(public_case(session, tracking_no))


@public_api.get("/townships")
def public_township_list():
    with runtime().sessions() as session:
        return jsonify({"townships": public_townships(session)})


@public_api.get("/townships/<township>/stats")
def public_township_stats(township: str):
    query = PublicStatsQuery().load(request.args)
    now = utcnow()
    period_from, period_to = default_period(now, query["from_"], query["to"])
    rt = runtime()
    with rt.sessions() as session:
        with blaming_the_sent_end(query):
            return jsonify(township_stats(session, township, rt.calendar.get(), now, period_from, period_to))
