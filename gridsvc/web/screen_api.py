"""The command screen's own API (/api/v1/screen): what the web screen needs that the case API does
not give in one call. Thin: gridsvc.oversight.screen_map and gridsvc.web.basemap hold the rules.

    GET /api/v1/screen/config            -> base map, status/domain/role names
    GET /api/v1/screen/map?crs=          -> grids (with load), villages, townships of my area
    GET /api/v1/screen/cases?crs=&tracking_no=  -> my visible open cases as compact rows, and the
                                           event number to follow them live from
    GET /api/v1/screen/grids/<code>      -> a grid's card: workers and open cases
    GET /api/v1/screen/cases/<no>/sheet  -> a case with names, clock, record, my steps
    GET /api/v1/screen/patrols?crs=&tracks=  -> my area's grid workers on patrol now, today's tracks and coverage

Every layer comes in the base map's datum unless `crs` says otherwise.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from gridsvc.kernel.runtime import runtime
from gridsvc.web.grids_api import CommaSeparated, CrsField
from gridsvc.web.auth_api import signed_in_user
from gridsvc.web.basemap import basemap_of, drawing_datum
from gridsvc.cases.sheet import case_sheet
from gridsvc.cases import view
from gridsvc.web.cases_api import TRACKING_NO, visible_case
from gridsvc.web.errors import ApiError
from gridsvc.events import outbox
from gridsvc.cases.flags import ACT_ON, FLAG_NAMES_ZH, LOCATION_FLAGS
from gridsvc.kernel.models import DOMAIN_NAMES_ZH, OPEN_STATUSES, ROLE_NAMES_ZH, STATUS_NAMES_ZH
from gridsvc.kernel.clock import utcnow
from gridsvc.oversight.patrols_now import patrols_now
from gridsvc.oversight.screen_map import case_rows, grid_card, network_layers

screen_api = Blueprint("screen_api", __name__, url_prefix="/api/v1/screen")


class TrackingNumbers(CommaSeparated):
    """Tracking numbers separated by commas (at most 200)."""

    def check(self, value: str) -> None:
        if not TRACKING_NO.match(value):
            raise ValidationError(f"not a tracking number: {value[:40]!r}")


class LayersQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    crs = CrsField(load_default=None, metadata={"description": "datum of the output (default: the base map's)"})


class CaseRowsQuery(LayersQuery):
    tracking_no = TrackingNumbers(load_default=(), metadata={
        "description": "only these cases, whatever their status (a screen refreshing what changed)"})


class PatrolsQuery(LayersQuery):
    tracks = fields.Boolean(load_default=True, metadata={
        "description": "false: only who is on patrol now (the 在岗 figure's poll), without today's tracks and coverage"})


def screen_datum(query: dict):
    """The datum a layer is asked in (`crs`), else the base map's: what the screen draws on."""
    return query["crs"] or drawing_datum(basemap_of(runtime().settings))


@screen_api.get("/config")
def config():
    with runtime().sessions() as session:
        signed_in_user(session)
    basemap = basemap_of(runtime().settings)
    return jsonify({
        "basemap": basemap.as_json() if basemap else None,
        "datum": drawing_datum(basemap).name,
        "statuses": STATUS_NAMES_ZH,
        "domains": DOMAIN_NAMES_ZH,
        "roles": ROLE_NAMES_ZH,
        "flags": FLAG_NAMES_ZH,
        "flags_to_act_on": sorted(ACT_ON),
        "location_flags": list(LOCATION_FLAGS),
        "open_statuses": list(OPEN_STATUSES),
    })


@screen_api.get("/map")
def network_map():
    query = LayersQuery().load(request.args)
    rt = runtime()
    with rt.sessions() as session:
        return jsonify(network_layers(session, rt.index.get(), signed_in_user(session), screen_datum(query)))


@screen_api.get("/cases")
def cases():
    query = CaseRowsQuery().load(request.args)
    datum = screen_datum(query)
    with runtime().sessions() as session:
        user = signed_in_user(session)
        seen = outbox.head(session)  # read first: every event up to it is in the rows, later ones may be too
        rows = case_rows(session, user, datum, query["tracking_no"])
    return jsonify({"crs": datum.name, "fields": list(view.SCREEN_ROW_FIELDS), "rows": rows, "events_head": seen})


@screen_api.get("/grids/<code>")
def grid(code: str):
    rt = runtime()
    with rt.sessions() as session:
        card = grid_card(session, rt.index.get(), signed_in_user(session), code)
    if card is None:
        raise ApiError(404, "grid_not_found", f"网格 {code[:20]} 不在您的辖区 / no grid {code[:20]} in your area")
    return jsonify(card)


@screen_api.get("/cases/<tracking_no>/sheet")
def sheet(tracking_no: str):
    rt = runtime()
    with rt.sessions() as session:
        user = signed_in_user(session)
        case = visible_case(session, tracking_no, user)
        sheet = case_sheet(session, rt.calendar.get(), user, case, utcnow(), rt.settings)
        return jsonify({"case": view.full(case), **sheet})


@screen_api.get("/patrols")
def patrols():
    query = PatrolsQuery().load(request.args)
    rt = runtime()
    with rt.sessions() as session:
        answer = patrols_now(session, rt.index.get(), rt.settings, signed_in_user(session), screen_datum(query),
                             utcnow(), query["tracks"])
        session.commit()  # the patrol days it counted are kept (gridsvc.patrols.days)
    return jsonify(answer)
