"""Reports from phones: one at a time, or a queue made offline sent in one call.

Every report is idempotent by its client UUID (gridsvc.cases.intake), so a phone
that lost the answer sends the same report again and gets the same case.
A batch is a list of such reports, each submitted in its own transaction: one
bad item is rejected with its reason and never sinks the others. Photos go
separately, each keyed by its report's UUID (`POST /mobile/v1/reports/<uuid>/photos`)
and idempotent by content, so a dropped upload is simply sent again.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from gridsvc.web.cases_api import ReportBody, case_identity, report_from
from gridsvc.web.errors import flat_fields
from gridsvc.cases.intake import Intake, ReportConflict, ReportError, canonical_uuid_or_none, submit
from gridsvc.kernel.models import Case, Department, User
from gridsvc.network.store import as_utc

MAX_BATCH = 100


@dataclass(frozen=True)
class ItemResult:
    client_uuid: str | None
    result: str  # created | existing | rejected
    case: Case | None = None
    error: dict | None = None  # {"code", "fields"} for a rejected item


def submit_one(session: Session, intake: Intake, reporter: User, raw) -> ItemResult:
    """One queued report: its case, or why it was refused. Commits or rolls back this item alone."""
    client_uuid = raw.get("client_uuid") if isinstance(raw, dict) else None
    client_uuid = client_uuid if isinstance(client_uuid, str) else None  # echo a UUID's text, not any JSON value
    try:
        body = ReportBody().load(raw if isinstance(raw, dict) else {})
        case, created = submit(session, intake, reporter, report_from(body))
    except ValidationError as exc:
        return ItemResult(client_uuid, "rejected", error={"code": "invalid_parameters",
                                                          "fields": flat_fields(exc.messages)})
    except ReportError as exc:
        session.rollback()
        return ItemResult(client_uuid, "rejected", error={"code": "invalid_parameters",
                                                          "fields": {exc.field: [str(exc)]}})
    except ReportConflict as exc:
        session.rollback()
        return ItemResult(client_uuid, "rejected", error={"code": "client_uuid_conflict",
                                                          "fields": {"client_uuid": [str(exc)]}})
    return ItemResult(case.client_uuid, "created" if created else "existing", case)


def my_report(session: Session, reporter: User, client_uuid: str) -> Case | None:
    """The case the reporter made with this UUID (None for another user's or an unknown UUID)."""
    client_uuid = canonical_uuid_or_none(client_uuid)
    if client_uuid is None:
        return None
    return session.scalar(sa.select(Case).where(Case.client_uuid == client_uuid, Case.reporter_id == reporter.id))


def case_summary(session: Session, case: Case, index) -> dict:
    """What the phone shows at once: where the case went, to whom, by when, and what to watch."""
    position = index.position_of(case.grid_code) if case.grid_code else None
    department = session.get(Department, case.department_code) if case.department_code else None
    return {
        **case_identity(case),
        "grid": {"code": case.grid_code, "name": index.cells[position].name if position is not None else None},
        "locate_match": case.locate_match,
        "department": {"code": department.code, "name_zh": department.name_zh} if department else None,
        "flags": list(case.flags),
        "received_at": as_utc(case.received_at).isoformat(),
        "reported_at": as_utc(case.reported_at).isoformat() if case.reported_at else None,
        "stage_due_at": as_utc(case.stage_due_at).isoformat() if case.stage_due_at else None,
        "handling_due_at": as_utc(case.handling_due_at).isoformat(),
    }
