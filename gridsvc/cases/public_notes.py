"""The notes the public page publishes (政务公开, docs/public.md), and a commander's correction of one.

Two steps' notes are published: the reason of 不予立案 (the reporter is owed one) and the 结案 note. Officials
write them knowing so (the screen's step forms say it, with a preview). A published note can still be wrong: a
typo, or a name or phone number that must not be public. The record is sealed, so the entry is never changed;
the correction is an entry of its own (`correct_public_note`) that names the entry it corrects and keeps its old
text (the new text is its note). The record then shows who changed what the public reads, and when, and the
chain still verifies. The public page shows each published entry with its newest text.

Enforcement (执法) cases publish no notes (执法公示 is the enforcement system's job), so there is nothing of
theirs to correct here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridsvc.cases import record as case_record
from gridsvc.cases.workflow import COMMANDER, WorkflowError, case_changed, relations
from gridsvc.kernel.errors import CONFLICT, FORBIDDEN, INVALID
from gridsvc.kernel.models import Case, CaseEvent, Category, User
from gridsvc.worktime.calendar import china_day

PUBLIC_NOTE_STEPS = ("reject", "close")  # the record entries whose notes are published
STEP_NAMES_ZH = {"reject": "不予立案", "close": "结案"}
CORRECT = "correct_public_note"  # the record entry of a correction
CORRECT_NAME_ZH = "更正公示说明"
ENFORCEMENT = "enforcement"  # the domain whose cases publish no notes


@dataclass(frozen=True)
class PublicNote:
    """A published step of a case with the text the public reads now."""

    seq: int  # the step's record entry
    step: str
    at: datetime  # when the step was taken
    note: str | None
    corrected_at: datetime | None = None  # the latest correction, if any

    def as_published(self) -> dict:
        """The note as the public page shows it (and the screen previews it): days, not times."""
        return {"step": self.step, "step_name_zh": STEP_NAMES_ZH[self.step], "on": china_day(self.at),
                "note": self.note, "corrected_on": china_day(self.corrected_at)}


def notes_published(session: Session, case: Case) -> bool:
    """Whether the case's 不予立案 and 结案 notes are published: all but enforcement cases (by the category
    version the case was reported under)."""
    domain = session.scalar(sa.select(Category.domain).where(Category.code == case.category_code,
                                                             Category.version == case.category_version))
    return domain != ENFORCEMENT


def public_notes(session: Session, case: Case) -> list[PublicNote]:
    """Every 不予立案 and 结案 entry of the case with its newest text, oldest first (a case reopened by a bad rating
    and closed again has two 结案). Whether they are published at all is `notes_published`'s question."""
    entries = session.execute(
        sa.select(CaseEvent.seq, CaseEvent.action, CaseEvent.at, CaseEvent.note, CaseEvent.data)
        .where(CaseEvent.case_id == case.id, CaseEvent.action.in_((*PUBLIC_NOTE_STEPS, CORRECT)))
        .order_by(CaseEvent.seq))
    notes: dict[int, PublicNote] = {}
    for seq, action, at, note, data in entries:
        if action == CORRECT:
            corrected = data["corrects"]
            notes[corrected] = replace(notes[corrected], note=note, corrected_at=at)
        else:
            notes[seq] = PublicNote(seq, action, at, note)
    return list(notes.values())


def may_correct(session: Session, user: User, case: Case) -> bool:
    """The township commander of the case, or an administrator (the workflow's `commander` relation)."""
    return COMMANDER in relations(session, user, case)


def correct_public_note(session: Session, now: datetime, user: User, case: Case, seq: int,
                        note: str | None) -> PublicNote:
    """Replace the published text of the case's 不予立案 or 结案 entry `seq` with `note`, as a new record entry
    (with its live event, `case.updated`). Flushes; the caller commits. Refusals are WorkflowErrors: `forbidden`
    not the case's commander, `conflict` an enforcement case (nothing published) or the case changed meanwhile,
    `invalid` no such entry, an empty note or the same text again."""
    if not may_correct(session, user, case):
        raise WorkflowError(FORBIDDEN, "not_permitted", "只有本镇指挥长或管理员可以更正公示说明 / only the case's "
                            "township commander or an administrator corrects a public note")
    if not notes_published(session, case):
        raise WorkflowError(CONFLICT, "note_not_public", "执法类案件的说明不予公示，无需更正 / an enforcement case's "
                            "notes are not published")
    text = (note or "").strip()
    if not text:
        raise WorkflowError(INVALID, "invalid_parameters", "请填写更正后的说明 / the corrected note is required", "note")
    current = next((n for n in public_notes(session, case) if n.seq == seq), None)
    if current is None:
        raise WorkflowError(INVALID, "invalid_parameters",
                            f"第 {seq} 条记录不是本案的不予立案或结案 / entry {seq} is no 不予立案 or 结案 of this case", "seq")
    if text == current.note:
        raise WorkflowError(INVALID, "note_unchanged", "与现公示内容相同 / the public note says this already", "note")
    try:
        with session.begin_nested():
            case_record.append(session, case, now, CORRECT, actor_id=user.id, from_status=case.status,
                               to_status=case.status, note=text,
                               data={"corrects": seq, "step": current.step, "old": current.note})
    except (StaleDataError, sa.exc.IntegrityError) as exc:  # someone else changed the case first
        raise case_changed() from exc
    return replace(current, note=text, corrected_at=now)
