"""Acknowledging an event that asks for it: a dispatch, a re-sent dispatch, a deadline warning.

An acknowledgement is kept per event and person (idempotent: a phone that sends it twice, or
over both the live channel and HTTP, makes one). Someone of the department that has the case
acknowledging its dispatch stops the re-sending (gridsvc.cases.dispatch_notices). The
acknowledgement is an event too, so the commander's screen sees the dispatch picked up.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.accounts.users import jurisdiction_of
from gridsvc.kernel.db import MAX_INTEGER
from gridsvc.kernel.errors import INVALID, NOT_FOUND, DomainError
from gridsvc.cases import dispatch_notices
from gridsvc.cases.audience import rooms_of_user
from gridsvc.events.outbox import publish
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import Case, Event, EventAck, User

_DISPATCH_KINDS = frozenset({"case.dispatched", "case.escalated", "case.dispatch_reminder"})


class AckRefused(DomainError):
    """No such event for the user (`not_found`), or one that asks for no acknowledgement (`invalid`)."""

    def __init__(self, kind: str, code: str, message: str):
        super().__init__(message, kind=kind, code=code)


def acknowledge(session: Session, user: User, seq: int, now: datetime) -> EventAck:
    """Acknowledge event `seq` for `user`. Flushes; the caller commits. Raises AckRefused.

    The acknowledgement is written inside a SAVEPOINT: of twins sent at the same moment, the one
    that comes second stops at the (seq, user) key, only its savepoint is rolled back, and it
    answers the first one's acknowledgement."""
    jurisdiction = jurisdiction_of(session, user)
    event = session.get(Event, seq) if 0 < seq <= MAX_INTEGER else None
    if event is None or rooms_of_user(user, jurisdiction).isdisjoint(event.rooms):
        raise AckRefused(NOT_FOUND, "not_found", f"没有这条通知 / no event {seq} for you")
    if not event.data.get("ack_required"):
        raise AckRefused(INVALID, "not_acknowledgeable", f"{event.kind} does not ask for an acknowledgement")
    existing = session.get(EventAck, (seq, user.id))
    if existing is not None:
        return existing
    case = session.get(Case, event.data["case"]["id"])
    ack = EventAck(seq=seq, user_id=user.id, acked_at=now)
    # Everything that writes stays inside the savepoint: the statements below flush the new row
    # first (autoflush), so that is where a twin sent at the same moment fails.
    try:
        with session.begin_nested():
            session.add(ack)
            if (event.kind in _DISPATCH_KINDS and case.department_code
                    and jurisdiction.department_code == case.department_code):
                session.execute(dispatch_notices.acknowledgement(case.id, event.at, now))
            publish(session, "event.acknowledged", event.rooms, {
                "seq": seq, "kind": event.kind, "case_id": case.id, "tracking_no": case.tracking_no,
                "user_id": user.id, "name": user.name, "acked_at": as_utc(now).isoformat(),
            }, at=now)
            session.flush()
    except sa.exc.IntegrityError:  # the same acknowledgement, sent twice at once: the other one won
        existing = session.get(EventAck, (seq, user.id))
        if existing is None:  # not a twin: the event went meanwhile (pruned)
            raise AckRefused(NOT_FOUND, "not_found", f"没有这条通知 / no event {seq} for you") from None
        return existing
    return ack
