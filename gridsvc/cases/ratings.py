"""满意度评价: the reporter rates a closed case once (1–5 stars, a comment); a bad rating reopens it.

Plain functions on a session (the web layer is gridsvc.web.cases_api). The rules, also in docs/public.md:

- Only the case's reporter rates (a grid worker, or a citizen app's channel account for an Open311
  request), and only a `closed` case: `forbidden` for anyone else, a `conflict` before closing.
- Once per case: `case_ratings.case_id` is unique. A retry with the same stars and comment answers
  the stored rating (not created again), other content a conflict (`already_rated`), also after the case was reopened,
  also when two retries race (the loser finds the winner's rating).
- The rating is an entry of the case's sealed record (action `rate`, the comment as its note), so
  it goes out as a `case.rated` event.
- A bad rating (1–2 stars) within REOPEN_WITHIN_WORKING_DAYS working days of closing, of a case a
  department handled and the township closed (结案, not 自行处置), reopens it: `closed` → `handling`
  with the same department, rework_count + 1, a new handling deadline of the category's whole limit
  from now (gridsvc.cases.workflow.reopen: the 返工 mechanics, record entry `reopen`). Any other bad
  rating (later, self-handled, no department) flags the case `reopen_requested` for the commander,
  who decides (e.g. a new report). The rating remembers what it did (`outcome`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gridsvc.cases import record as case_record
from gridsvc.cases.flags import REOPEN_REQUESTED
from gridsvc.kernel.errors import CONFLICT, FORBIDDEN, DomainError
from gridsvc.kernel.clock import as_utc
from gridsvc.kernel.models import Case, CaseEvent, CaseRating, User
from gridsvc.cases.workflow import Context, reopen

REOPEN_WITHIN_WORKING_DAYS = 10
BAD_STARS = 2  # 1–2 stars: 不满意


class RatingError(DomainError):
    """A rating refused: not the reporter's (`forbidden`), or not now (`conflict`)."""

    def __init__(self, kind: str, code: str, message: str):
        super().__init__(message, kind=kind, code=code)


@dataclass(frozen=True)
class Rated:
    rating: CaseRating
    created: bool


def rating_of(session: Session, case: Case) -> CaseRating | None:
    return session.scalar(sa.select(CaseRating).where(CaseRating.case_id == case.id))


def rating_json(rating: CaseRating) -> dict:
    return {"stars": rating.stars, "comment": rating.comment, "rated_at": as_utc(rating.rated_at).isoformat(),
            "outcome": rating.outcome}


def _stored(rating: CaseRating, stars: int, comment: str | None) -> Rated:
    if (rating.stars, rating.comment) != (stars, comment):
        raise RatingError(CONFLICT, "already_rated", "该案件已评价，不能修改 / the case was rated already, differently")
    return Rated(rating, False)


def rate(session: Session, ctx: Context, user: User, case: Case, stars: int, comment: str | None) -> Rated:
    """The reporter's rating of `case`, stored and sealed in the record; or RatingError.

    Flushes; the caller commits. The rating is written inside a SAVEPOINT: a racing retry stops at
    the unique case_id (or the case's row version), only its savepoint is rolled back, and it
    answers the winner's rating."""
    comment = (comment or "").strip() or None
    if case.reporter_id != user.id:
        raise RatingError(FORBIDDEN, "not_permitted", "只有上报人可以评价 / only the case's reporter rates it")
    existing = rating_of(session, case)
    if existing is not None:
        return _stored(existing, stars, comment)
    if case.status != "closed":
        raise RatingError(CONFLICT, "not_closed", "案件结案后方可评价 / a case is rated after it is closed")
    outcome = "none"
    if stars <= BAD_STARS:
        outcome = "reopened" if _may_reopen(session, ctx, case) else REOPEN_REQUESTED
    rating = CaseRating(case_id=case.id, rater_id=user.id, stars=stars, comment=comment, rated_at=ctx.now,
                        outcome=outcome)
    try:
        with session.begin_nested():
            session.add(rating)
            session.flush()  # the unique case_id: a racing retry stops here
            if outcome == REOPEN_REQUESTED and REOPEN_REQUESTED not in case.flags:
                case.flags = [*case.flags, REOPEN_REQUESTED]
            case_record.append(session, case, ctx.now, "rate", actor_id=user.id, from_status=case.status,
                               to_status=case.status, note=comment, data={"stars": stars, "outcome": outcome})
            if outcome == "reopened":
                reopen(session, ctx, user, case, f"满意度 {stars} 星，重新办理 / rated {stars} stars: reopened")
            session.flush()
    except (sa.exc.IntegrityError, StaleDataError):
        existing = rating_of(session, case)
        if existing is None:
            raise RatingError(CONFLICT, "case_changed", "案件已被他人更新，请重试 / the case changed meanwhile: retry")
        return _stored(existing, stars, comment)
    return Rated(rating, True)


def _may_reopen(session: Session, ctx: Context, case: Case) -> bool:
    """A department had it, the township closed it (not 自行处置), and the window is still open."""
    if case.department_code is None or case.closed_at is None:
        return False
    closing = session.scalar(sa.select(CaseEvent.action).where(CaseEvent.case_id == case.id,
                                                               CaseEvent.to_status == "closed")
                             .order_by(CaseEvent.seq.desc()).limit(1))
    if closing != "close":
        return False
    return ctx.now <= ctx.calendar.add_working_days(as_utc(case.closed_at), REOPEN_WITHIN_WORKING_DAYS)
