"""Every entry of a case's record is also a domain event: what the record keeps, screens hear.

The record (gridsvc.cases.record) already sees every change to a case: the report, each workflow
step, the deadline sweep's warnings, photos. Publishing from there means no code path can change a
case without its event, and the event carries the case as it stands after the change (as
gridsvc.cases.view shows it to events), so a screen can draw it without asking again.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gridsvc.cases import view
from gridsvc.cases.audience import case_rooms
from gridsvc.events.outbox import publish
from gridsvc.kernel.models import Case, CaseEvent

# Record actions with an event kind of their own; any other action is `case.status_changed` when it
# moved the case to another status and `case.updated` when it did not.
KINDS = {
    "report": "case.created",  # with where it was located and its flags
    "dispatch": "case.dispatched",
    "escalate": "case.escalated",
    "merge": "case.merged",
    "absorb": "case.merged",
    "deadline_warning": "case.deadline_warning",
    "overdue": "case.overdue",
    "county_alert": "case.county_alert",
    "dispatch_reminder": "case.dispatch_reminder",
    "dispatch_unacknowledged": "case.dispatch_unacknowledged",
    "rate": "case.rated",  # the reporter's 满意度 rating (gridsvc.cases.ratings); a 1–2 star one may add `reopen`
}
# Kinds that ask the people who must act to acknowledge them (gridsvc.cases.acks).
ACKABLE = frozenset({"case.dispatched", "case.escalated", "case.dispatch_reminder", "case.deadline_warning",
                     "case.overdue", "case.county_alert"})


def kind_of(entry: CaseEvent) -> str:
    if entry.action in KINDS:
        return KINDS[entry.action]
    return "case.status_changed" if entry.from_status != entry.to_status else "case.updated"


def publish_entry(session: Session, case: Case, entry: CaseEvent) -> None:
    kind = kind_of(entry)
    publish(session, kind, case_rooms(session, case), {
        "case": view.event_payload(case),
        "action": entry.action,
        "record_seq": entry.seq,
        "actor_id": entry.actor_id,
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "note": entry.note,
        "ack_required": kind in ACKABLE,
    }, at=entry.at)


def publish_departure(session: Session, case: Case, rooms_before: set[str], action: str) -> None:
    """Tell those who could see the case before a step, and no longer can (the department it was
    taken from, say), that it left them: its number only, nothing of where it went."""
    gone = rooms_before - set(case_rooms(session, case))
    if gone:
        publish(session, "case.left", sorted(gone),
                {"case": view.departure(case), "action": action})
