"""Indicators API v1: the assessment figures per unit (gridsvc.oversight.indicators, docs/indicators.md).

    GET /api/v1/indicators?level=&from=&to=&area=&format=json|csv|xlsx -> one row per unit, ranked

Signed-in only; every figure counts only the cases the caller may see. `from` and `to` default to
the start of the current China-time month and now; the period may span at most 366 days. The
county ranking is `level=township` with the county as `area` (or a county supervisor's default).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import fields
from marshmallow.validate import OneOf, Regexp

from gridsvc.kernel.runtime import runtime
from gridsvc.web.grids_api import MomentField
from gridsvc.web.auth_api import signed_in_user
from gridsvc.oversight.indicator_export import CSV_MEDIA, XLSX_MEDIA, as_csv, as_xlsx, file_name
from gridsvc.oversight.indicators import LEVELS, Period, indicator_table
from gridsvc.kernel.clock import utcnow
from gridsvc.oversight.numbers import default_period
from gridsvc.web.numbers_api import PeriodQuery, blaming_the_sent_end

indicators_api = Blueprint("indicators_api", __name__, url_prefix="/api/v1")

FORMATS = {"csv": (as_csv, CSV_MEDIA), "xlsx": (as_xlsx, XLSX_MEDIA)}


class IndicatorsQuery(PeriodQuery):
    to = MomentField(load_default=None, metadata={"description": "end of the period (excluded); default: now. "
                                                                 "At most 366 days after `from`."})
    level = fields.String(load_default="township", validate=OneOf(LEVELS),
                          metadata={"description": "one row per: " + ", ".join(LEVELS)})
    area = fields.String(load_default=None,
                         validate=Regexp(r"^\d{12}$", error="须为 12 位区划代码 / a 12-digit administrative code"),
                         metadata={"description": "a 12-digit county, township or village code: only its cases "
                                                  "(and all its units as rows)"})
    format = fields.String(load_default="json", validate=OneOf(("json", *FORMATS)),
                           metadata={"description": "json, or a file: csv (UTF-8 with BOM) or xlsx (Excel)"})


@indicators_api.get("/indicators")
def indicators():
    query = IndicatorsQuery().load(request.args)
    period_from, period_to = default_period(utcnow(), query["from_"], query["to"])
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        with blaming_the_sent_end(query):
            table = indicator_table(session, user, rt.calendar.get(), rt.index.get(), rt.settings,
                                    Period(period_from, period_to), query["level"], query["area"])
        session.commit()  # the patrol days it counted are kept (gridsvc.patrols.days)
    if query["format"] == "json":
        return jsonify(table)
    write, media = FORMATS[query["format"]]
    return Response(write(table), content_type=media, headers={
        "Content-Disposition": f'attachment; filename="{file_name(table, query["format"])}"'})
