"""Start-up data for the phone: who I am, my grids drawn small, my village and township, the catalogue.

One call gives the app what it needs to work offline in a village: the
profile, the grids of the user's jurisdiction with boundaries simplified to a
few metres (in the datum the phone's map uses: `crs`, default gcj02 as AMap
and Tencent maps expect), the village and township of each, and the current
category catalogue with its revision. The answer carries an ETag; an app that
sends it back in If-None-Match gets a bodyless 304 while nothing changed.
"""

from __future__ import annotations

import hashlib
import json

from flask import Response, request
from marshmallow import EXCLUDE, Schema
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from gridsvc.accounts.users import jurisdiction_of
from gridsvc.web.grids_api import CrsField
from gridsvc.catalogue.store import current_categories
from gridsvc.web.catalogue_api import category_json
from gridsvc.geo import metric
from gridsvc.geo.crs import geometry_from_cgcs2000, parse_crs
from gridsvc.geo.locate import GridIndex
from gridsvc.kernel.models import CATALOGUE_COUNTER, User
from gridsvc.network.store import current_revision


class StartupQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    crs = CrsField(load_default=None, metadata={"description": "datum of the grid boundaries (default gcj02)"})


def startup_data(session: Session, index: GridIndex, user: User, out_crs) -> dict:
    jurisdiction = jurisdiction_of(session, user)
    cells = [(i, c) for i, c in enumerate(index.cells)
             if c.code in jurisdiction.grid_codes or (jurisdiction.area_prefix and jurisdiction.covers_area(c.code))]
    grids = []
    for position, cell in sorted(cells, key=lambda item: item[1].code):
        village, township, county = index.hierarchy(cell.village_code)
        outline = geometry_from_cgcs2000(metric.for_drawing(index.geometry(position)), out_crs)
        grids.append({
            "code": cell.code, "name": cell.name, "kind": cell.kind, "special_type": cell.special_type,
            "village": {"code": village.code, "name": village.name} if village else None,
            "township": {"code": township.code, "name": township.name} if township else None,
            "county": {"code": county.code, "name": county.name} if county else None,
            "boundary": mapping(outline),
        })
    return {
        "user": {"phone": user.phone, "name": user.name, "role": user.role, "admin_code": user.admin_code,
                 "department": user.department_code},
        "crs": str(out_crs),
        "network_revision": index.revision,
        "grids": grids,
        "catalogue": {
            "revision": current_revision(session, CATALOGUE_COUNTER),
            "categories": [category_json(c) for c in current_categories(session)],
        },
    }


def conditional_json(body: dict) -> Response:
    """The body as JSON with a strong ETag; 304 without a body when the client has it already."""
    payload = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    response = Response(payload, mimetype="application/json")
    response.set_etag(hashlib.sha256(payload).hexdigest()[:32])
    return response.make_conditional(request)


def default_crs(query: dict):
    return query["crs"] or parse_crs("gcj02")
