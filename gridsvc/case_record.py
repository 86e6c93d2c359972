"""A case's record (全流程记录): append-only entries, each sealed with the hash of the one before.

Every entry's SHA-256 covers its content and the previous entry's hash, so
changing, removing or reordering any entry breaks every hash after it;
`verify` finds where. Nothing here updates or deletes an entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.models import CaseEvent
from gridsvc.network import as_utc

GENESIS = "0" * 64


def entry_hash(event: CaseEvent) -> str:
    """The seal of one entry: its content in a canonical form, plus the previous seal."""
    content = {
        "case_id": event.case_id,
        "seq": event.seq,
        "at": as_utc(event.at).isoformat(),
        "actor_id": event.actor_id,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    session: Session,
    case_id: int,
    at: datetime,
    action: str,
    actor_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    data: dict | None = None,
) -> CaseEvent:
    """Add the next entry to a case's record, in the caller's transaction."""
    last = session.scalar(
        sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq.desc()).limit(1)
    )
    event = CaseEvent(
        case_id=case_id, seq=(last.seq + 1) if last else 1, at=as_utc(at), actor_id=actor_id, action=action,
        from_status=from_status, to_status=to_status, note=note, data=data or {},
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = entry_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class RecordProblem:
    case_id: int
    seq: int
    reason: str


def verify(session: Session) -> list[RecordProblem]:
    """Check every case's chain: sequence without holes, each seal right, each link to the one before."""
    problems = []
    previous: dict[int, CaseEvent] = {}
    for event in session.scalars(sa.select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq)):
        before = previous.get(event.case_id)
        expected_seq = before.seq + 1 if before else 1
        expected_prev = before.hash if before else GENESIS
        if event.seq != expected_seq:
            problems.append(RecordProblem(event.case_id, event.seq, f"entry {expected_seq} is missing"))
        elif event.prev_hash != expected_prev:
            problems.append(RecordProblem(event.case_id, event.seq, "does not link to the entry before"))
        elif entry_hash(event) != event.hash:
            problems.append(RecordProblem(event.case_id, event.seq, "content does not match its seal"))
        previous[event.case_id] = event
    return problems
