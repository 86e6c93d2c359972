"""A case's record (全流程记录): append-only entries, each sealed with the hash of the one before.

Every entry's SHA-256 covers its content and the previous entry's hash, so
changing, removing or reordering any entry breaks every hash after it. The
case keeps the sequence number and seal of its last entry, so a record cut
short no longer matches its case; and the first entry seals a digest of what
was reported (who, what, where, when), so editing the case row shows too.
`verify` finds all of these. Nothing here updates or deletes an entry.

What it does not stop: someone who can write to the database and recompute
every seal. Keeping a key outside the database (an HMAC) or publishing daily
digests would; neither is built yet.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gridsvc.cases.events import publish_entry
from gridsvc.kernel.models import Case, CaseEvent, User
from gridsvc.kernel.clock import as_utc

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
    return _sha256(content)


def _sha256(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def case_digest(case: Case) -> str:
    """A digest of what was reported, which no later step may change."""
    return _sha256({
        "tracking_no": case.tracking_no, "client_uuid": case.client_uuid, "content_hash": case.content_hash,
        "reporter_id": case.reporter_id, "category": [case.category_code, case.category_version],
        "description": case.description, "urgent": case.urgent,
        "input": [case.input_x, case.input_y, case.input_crs], "point": [case.lon, case.lat],
        "accuracy_m": case.accuracy_m,
        "reported_at": as_utc(case.reported_at).isoformat() if case.reported_at else None,
        "received_at": as_utc(case.received_at).isoformat(),
    })


def append(
    session: Session,
    case: Case,
    at: datetime,
    action: str,
    actor_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    data: dict | None = None,
) -> CaseEvent:
    """Add the next entry to a case's record, in the caller's transaction (the first seals the report).

    The entry is published as a domain event in the same transaction (gridsvc.cases.events). An actor who
    belongs to a department (and team) has them sealed with the entry (`actor_unit`): the record says who
    acted for which body then, whatever team they are in when the file is read.
    """
    data = dict(data or {})
    if case.record_seq == 0:
        data["case_digest"] = case_digest(case)
    actor = session.get(User, actor_id) if actor_id is not None else None
    if actor is not None and (actor.department_code or actor.team_code):
        data["actor_unit"] = {"department": actor.department_code, "team": actor.team_code}
    event = CaseEvent(
        case_id=case.id, seq=case.record_seq + 1, at=as_utc(at), actor_id=actor_id, action=action,
        from_status=from_status, to_status=to_status, note=note, data=data,
        prev_hash=case.record_hash or GENESIS,
    )
    event.hash = entry_hash(event)
    case.record_seq, case.record_hash = event.seq, event.hash
    session.add(event)
    session.flush()
    publish_entry(session, case, event)
    return event


@dataclass(frozen=True)
class RecordProblem:
    case_id: int
    seq: int
    reason: str


def verify(session: Session) -> list[RecordProblem]:
    """Check every case: its chain without holes, each seal right and linked to the one before, the
    chain ending where the case says it does, and the report as first sealed."""
    problems = []
    events: dict[int, list[CaseEvent]] = {}
    for event in session.scalars(sa.select(CaseEvent).order_by(CaseEvent.case_id, CaseEvent.seq)):
        events.setdefault(event.case_id, []).append(event)
    for case in session.scalars(sa.select(Case).order_by(Case.id)):
        problems += _case_problems(case, events.pop(case.id, []))
    for case_id, chain in events.items():
        problems.append(RecordProblem(case_id, chain[0].seq, "entries of a case that does not exist"))
    return problems


def verify_case(session: Session, case: Case) -> list[RecordProblem]:
    """`verify` for one case, as its file (案卷, gridsvc.cases.case_file) states it: every check but the
    one for entries whose case is gone."""
    chain = session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))
    return _case_problems(case, list(chain))


def _case_problems(case: Case, chain: list[CaseEvent]) -> list[RecordProblem]:
    problems = _chain_problems(case.id, chain)
    last = chain[-1] if chain else None
    if (last.seq if last else 0, last.hash if last else None) != (case.record_seq, case.record_hash):
        problems.append(RecordProblem(case.id, case.record_seq, "the record does not end where the case says"))
    if chain and chain[0].data.get("case_digest") != case_digest(case):
        problems.append(RecordProblem(case.id, 1, "the case no longer matches what was reported"))
    return problems


def _chain_problems(case_id: int, chain: list[CaseEvent]) -> list[RecordProblem]:
    problems = []
    before = None
    for event in chain:
        expected_seq = before.seq + 1 if before else 1
        expected_prev = before.hash if before else GENESIS
        if event.seq != expected_seq:
            problems.append(RecordProblem(case_id, event.seq, f"entry {expected_seq} is missing"))
        elif event.prev_hash != expected_prev:
            problems.append(RecordProblem(case_id, event.seq, "does not link to the entry before"))
        elif entry_hash(event) != event.hash:
            problems.append(RecordProblem(case_id, event.seq, "content does not match its seal"))
        before = event
    return problems
