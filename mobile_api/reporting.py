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

from gridsvc.web.cases_api import ReportBody, report_from
from gridsvc.web.errors import flat_fields
from gridsvc.cases.intake import Intake, ReportConflict, ReportError, submit
from gridsvc.kernel.errors import INVALID, DomainError
from gridsvc.kernel.models import Case, User
from gridsvc.kernel.idempotency import canonical_uuid_or_none

MAX_BATCH = 100


@dataclass(frozen=True)
class ItemResult:
    client_uuid: str | None
    result: str  # created | existing | rejected
    case: Case | None = None
    error: dict | None = None  # {"code", "fields"} for a rejected item
    kind: str | None = None  # and the kind of its refusal (gridsvc.kernel.errors)


class ReportRejected(DomainError):
    """A single report refused (`POST /mobile/v1/reports`): the batch item's error as the one error
    shape, with the status of the refusal's kind (a used UUID is a conflict, anything else invalid)."""

    summary = "上报未被接受 / the report was not accepted"

    def __init__(self, outcome: ItemResult):
        super().__init__(self.summary, kind=outcome.kind, code=outcome.error["code"])
        self._fields = outcome.error["fields"]

    def reasons(self) -> dict[str, list[str]]:
        return self._fields


def submit_one(session: Session, intake: Intake, reporter: User, raw) -> ItemResult:
    """One queued report: its case, or why it was refused. The phones' adapter: this item is its own
    unit of work, committed (or rolled back) here alone."""
    client_uuid = raw.get("client_uuid") if isinstance(raw, dict) else None
    client_uuid = client_uuid if isinstance(client_uuid, str) else None  # echo a UUID's text, not any JSON value
    try:
        body = ReportBody().load(raw if isinstance(raw, dict) else {})
        case, created = submit(session, intake, reporter, report_from(body))
    except ValidationError as exc:
        return ItemResult(client_uuid, "rejected", error={"code": "invalid_parameters",
                                                          "fields": flat_fields(exc.messages)}, kind=INVALID)
    except ReportError as exc:
        session.rollback()
        return ItemResult(client_uuid, "rejected", error={"code": exc.code, "fields": exc.reasons()}, kind=exc.kind)
    except ReportConflict as exc:
        session.rollback()
        return ItemResult(client_uuid, "rejected", error={"code": exc.code,
                                                          "fields": {"client_uuid": [exc.message_en]}}, kind=exc.kind)
    session.commit()
    return ItemResult(case.client_uuid, "created" if created else "existing", case)


def my_report(session: Session, reporter: User, client_uuid: str) -> Case | None:
    """The case the reporter made with this UUID (None for another user's or an unknown UUID)."""
    client_uuid = canonical_uuid_or_none(client_uuid)
    if client_uuid is None:
        return None
    return session.scalar(sa.select(Case).where(Case.client_uuid == client_uuid, Case.reporter_id == reporter.id))
