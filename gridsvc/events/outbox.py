"""The transactional outbox: a domain event is written in the transaction of the change that causes it.

`publish` queues an event on the session. Just before the session commits, the queued events take
their numbers from one counter row (`network_revision` row 3) and are inserted with them. The row
stays locked by the transaction until it commits, so the numbers are gapless and in commit order:
whoever reads event n committed finds every event before n committed too. That is what lets a relay
or a reconnecting screen ask for "everything after n" and never skip a slow transaction. (An
autoincrement column or a PostgreSQL sequence hands numbers out in the order they are taken, not
committed: a reader could see 6 before 5 commits and move past 5 for good.) The counter is taken
last, after the rest of the transaction is flushed, and held only until the commit.

A rolled-back transaction takes its queued events with it. After a commit, the callback in the
session's `info["events_committed"]` (gridsvc.events.wakeup) hears the last number written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from gridsvc.events.rooms import ADMIN_ROOM
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.kernel.models import EVENTS_COUNTER, Event, EventAck, NetworkRevision, UtcDateTime

_QUEUED = "gridsvc.events.queued"
_WRITTEN = "gridsvc.events.written"
_SAVEPOINTS = "gridsvc.events.savepoints"  # id(savepoint transaction) -> how many were queued when it began
COMMITTED_CALLBACK = "events_committed"  # key in Session.info: called with the last seq after a commit


@dataclass(frozen=True)
class Queued:
    kind: str
    rooms: tuple[str, ...]
    data: dict
    at: datetime = field(default_factory=utcnow)


def publish(session: Session, kind: str, rooms, data: dict, at: datetime | None = None) -> None:
    """Queue an event for the session's commit (nothing is written if the transaction rolls back).

    Every event goes to the administrators' room as well as to the rooms given.
    """
    rooms = tuple(dict.fromkeys([*rooms, ADMIN_ROOM]))
    session.connection()  # begin the transaction now, so that rolling it back forgets the event
    session.info.setdefault(_QUEUED, []).append(Queued(kind, rooms, data, as_utc(at) if at else utcnow()))


def head(session: Session) -> int:
    """The number of the last committed event (0 before the first)."""
    return session.scalar(sa.select(NetworkRevision.revision).where(NetworkRevision.id == EVENTS_COUNTER)) or 0


def read_after(session: Session, after: int, upto: int | None = None, batch: int = 500) -> Iterator[Event]:
    """Committed events after `after` (up to `upto`), in order, read `batch` rows at a time."""
    for page in _pages(session, Event, after, upto, batch):
        for _seq, event in page:
            yield event


def _pages(session: Session, column, after: int, upto: int | None, batch: int) -> Iterator[list]:
    """(seq, `column`) of the events after `after` (up to `upto`), in order, a page at a time."""
    while True:
        query = sa.select(Event.seq, column).where(Event.seq > after).order_by(Event.seq).limit(batch)
        if upto is not None:
            query = query.where(Event.seq <= upto)
        rows = session.execute(query).all()
        yield rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


@dataclass(frozen=True)
class Missed:
    """What a listener missed: the events it may see, and how far the outbox was read for them."""

    events: list[Event]
    read_to: int  # the last seq examined: continue after it
    complete: bool  # False: more than `limit` events, or more than `scan_limit` examined; the rest were not read
    pruned: bool = False  # events it missed were already deleted (`prune`): it must reload instead


def missed(session: Session, rooms: frozenset[str], after: int, upto: int, limit: int,
           scan_limit: int | None = None) -> Missed:
    """The events after `after` (up to `upto`) that go to any of `rooms`: at most `limit` of them,
    looking at most at `scan_limit` events (default: ten times `limit`, and at least 10,000).

    The live channel's catch-up and the HTTP catch-up both read through here, so a screen that
    polls and one that listens get the same events. Only numbers and rooms are read to choose;
    the chosen events are then read whole. The numbers being gapless, a first event other than
    `after + 1` means the ones between were pruned.
    """
    scan_limit = scan_limit or max(10 * limit, 10_000)
    chosen: list[int] = []
    expected = after + 1
    for page in _pages(session, Event.rooms, after, upto, 1000):
        for seq, event_rooms in page:
            if seq != expected:
                return Missed([], after, False, pruned=True)
            expected += 1
            if not rooms.isdisjoint(event_rooms):
                if len(chosen) == limit:
                    return Missed(_whole(session, chosen), chosen[-1], False)
                chosen.append(seq)
            if expected - after > scan_limit and seq < upto:
                return Missed(_whole(session, chosen), seq, False)
    if expected <= upto:  # the last ones are gone too (a prune, then nothing new)
        return Missed([], after, False, pruned=True)
    return Missed(_whole(session, chosen), upto, True)


def _whole(session: Session, seqs: list[int]) -> list[Event]:
    events: list[Event] = []
    for start in range(0, len(seqs), 1000):
        events += session.scalars(sa.select(Event).where(Event.seq.in_(seqs[start:start + 1000]))
                                  .order_by(Event.seq))
    return events


def prune(session: Session, before: datetime) -> int:
    """Delete the events older than `before` (and their acknowledgements), keeping the newest in any
    case so that the numbering stays anchored. The caller commits. Clients further behind than
    what is left are told to reload."""
    newest = head(session)
    doomed = sa.select(Event.seq).where(Event.at < before, Event.seq < newest)
    session.execute(sa.delete(EventAck).where(EventAck.seq.in_(doomed)))
    return session.execute(sa.delete(Event).where(Event.at < before, Event.seq < newest)).rowcount


def payload(event: Event) -> dict:
    """An event as clients receive it, live or in a catch-up."""
    return {"seq": event.seq, "kind": event.kind, "at": as_utc(event.at).isoformat(), "data": event.data}


# Built once: on the hot path (every report) building the statements cost more than running them.
_TAKE_NUMBERS = (
    sa.update(NetworkRevision.__table__).where(NetworkRevision.id == EVENTS_COUNTER)
    .values(revision=NetworkRevision.revision + sa.bindparam("count", type_=sa.Integer),
            changed_at=sa.bindparam("at", type_=UtcDateTime))
    .returning(NetworkRevision.revision)
)
_INSERT = sa.insert(Event.__table__)


def _write_queued(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its events wait for the real commit
    queued = session.info.pop(_QUEUED, None)
    if not queued:
        return
    session.flush()  # everything else first: the counter row is the last lock this transaction takes
    connection = session.connection()  # Core: the ORM's bulk paths cost a millisecond per report here
    last = connection.execute(_TAKE_NUMBERS, {"count": len(queued), "at": utcnow()}).scalar_one()
    first = last - len(queued) + 1
    rows = [{"seq": first + i, "kind": q.kind, "at": q.at, "rooms": list(q.rooms), "data": q.data}
            for i, q in enumerate(queued)]
    connection.execute(_INSERT, rows)
    session.info[_WRITTEN] = last


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    last = session.info.pop(_WRITTEN, None)
    callback = session.info.get(COMMITTED_CALLBACK)
    if last is not None and callback is not None:
        callback(last)


def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[id(transaction)] = len(session.info.get(_QUEUED, ()))


def _forget(session: Session, previous_transaction) -> None:
    """A rollback forgets the events queued in what it rolled back: a savepoint's own, or all.

    A failed flush rolls back an inner subtransaction first: what it takes down is the savepoint
    (or the root transaction) it belongs to, so that is the one whose events go.
    """
    owner = previous_transaction
    while not owner.nested and owner.parent is not None:
        owner = owner.parent
    mark = session.info.get(_SAVEPOINTS, {}).get(id(owner))
    if owner.nested and mark is not None:
        del session.info.get(_QUEUED, [])[mark:]
        return
    for key in (_QUEUED, _WRITTEN, _SAVEPOINTS):
        session.info.pop(key, None)


# Every session of the process: a change that publishes must never commit without its events.
sa_event.listen(Session, "before_commit", _write_queued)
sa_event.listen(Session, "after_commit", _after_commit)
sa_event.listen(Session, "after_transaction_create", _mark_savepoint)
sa_event.listen(Session, "after_soft_rollback", _forget)
