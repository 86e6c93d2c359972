"""The cases a case may be merged into (合并), for the case desk to offer as a pick list.

A commander merging a duplicate had to type the other case's tracking number from memory. The likely ones
are known: the possible duplicates intake noted when the report came in (the `possible_duplicate` flag: the
same category, open, within `duplicate_distance_m` and `duplicate_window_hours`), and the open cases of the
same category nearest to it. Only cases the merge step accepts are offered (another open case of the same
category in the user's jurisdiction, gridsvc.cases.workflow's `_merge`); typing another number stays possible.
"""

from __future__ import annotations

import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.accounts.users import jurisdiction_of
from gridsvc.cases.access import case_area
from gridsvc.geo import metric
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import OPEN_STATUSES, STATUS_NAMES_ZH, Case, CaseEvent, User

NEAR_M = 1000.0  # how far an open case of the same category may lie and still be offered
LIMIT = 10  # a pick list, not a search: the rest can be typed


def noted_duplicates(session: Session, case: Case) -> list[str]:
    """The tracking numbers intake noted as possible duplicates in the case's report entry, nearest first."""
    data = session.scalar(sa.select(CaseEvent.data).where(CaseEvent.case_id == case.id, CaseEvent.action == "report")
                          .order_by(CaseEvent.seq).limit(1))
    return list((data or {}).get("possible_duplicates", []))


def merge_candidates(session: Session, user: User, case: Case) -> list[dict]:
    """Up to LIMIT cases `case` could be merged into: intake's possible duplicates first, then the nearest
    open cases of its category within NEAR_M; each with its distance in metres (None without a point)."""
    noted = noted_duplicates(session, case)
    near = sa.false()
    if case.lon is not None and case.lat is not None:
        dlon, dlat = metric.degree_window(case.lat, NEAR_M)
        near = sa.and_(Case.lon.between(case.lon - dlon, case.lon + dlon),
                       Case.lat.between(case.lat - dlat, case.lat + dlat))
    others = session.scalars(sa.select(Case).where(
        Case.category_code == case.category_code, Case.status.in_(OPEN_STATUSES), Case.id != case.id,
        sa.or_(near, Case.tracking_no.in_(noted) if noted else sa.false()))).all()
    jurisdiction = jurisdiction_of(session, user)
    here = shapely.Point(case.lon, case.lat) if case.lon is not None and case.lat is not None else None
    offered = []
    for other in others:
        if not jurisdiction.covers_area(case_area(other)):
            continue
        distance = (metric.distance_m(here, shapely.Point(other.lon, other.lat))
                    if here is not None and other.lon is not None and other.lat is not None else None)
        if other.tracking_no not in noted and (distance is None or distance > NEAR_M):
            continue
        offered.append({
            "tracking_no": other.tracking_no, "status": other.status, "status_name_zh": STATUS_NAMES_ZH[other.status],
            "description": other.description, "received_at": as_utc(other.received_at).isoformat(),
            "distance_m": None if distance is None else round(distance),
            "noted": other.tracking_no in noted,
        })
    offered.sort(key=lambda c: (not c["noted"], c["distance_m"] is None, c["distance_m"] or 0, c["tracking_no"]))
    return offered[:LIMIT]
