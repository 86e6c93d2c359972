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
from gridsvc.cases import dispatch_notices
from gridsvc.cases.audience import rooms_of_user
from gridsvc.events.outbox import publish
from gridsvc.kernel.models import Case, Event, EventAck, User, as_utc

_DISPATCH_KINDS = frozenset({"case.dispatched", "case.escalated", "case.dispatch_reminder"})


class AckRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def acknowledge(session: Session, user: User, seq: int, now: datetime) -> EventAck:
    """Acknowledge event `seq` for `user`, and commit. Raises AckRefused."""
    jurisdiction = jurisdiction_of(session, user)
    event = session.get(Event, seq) if 0 < seq <= MAX_INTEGER else None
    if event is None or rooms_of_user(user, jurisdiction).isdisjoint(event.rooms):
        raise AckRefused(404, "not_found", f"没有这条通知 / no event {seq} for you")
    if not event.data.get("ack_required"):
        raise AckRefused(422, "not_acknowledgeable", f"{event.kind} does not ask for an acknowledgement")
    existing = session.get(EventAck, (seq, user.id))
    if existing is not None:
        return existing
    case = session.get(Case, event.data["case"]["id"])
    ack = EventAck(seq=seq, user_id=user.id, acked_at=now)
    # Everything that writes stays inside the try: the statements below flush the new row first
    # (autoflush), so that is where a twin sent at the same moment fails, not only at the commit.
    try:
        session.add(ack)
        if (event.kind in _DISPATCH_KINDS and case.department_code
                and jurisdiction.department_code == case.department_code):
            session.execute(dispatch_notices.acknowledgement(case.id, event.at, now))
        publish(session, "event.acknowledged", event.rooms, {
            "seq": seq, "kind": event.kind, "case_id": case.id, "tracking_no": case.tracking_no,
            "user_id": user.id, "name": user.name, "acked_at": as_utc(now).isoformat(),
        }, at=now)
        session.commit()
    except sa.exc.IntegrityError:  # the same acknowledgement, sent twice at once: the other one won
        session.rollback()
        existing = session.get(EventAck, (seq, user.id))
        if existing is None:  # not a twin: the event went meanwhile (pruned)
            raise AckRefused(404, "not_found", f"没有这条通知 / no event {seq} for you") from None
        return existing
    return ack
