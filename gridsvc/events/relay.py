"""The relay: committed events from the outbox to this process's live connections.

Every server process runs one relay for the connections it holds. The relay reads the outbox in
sequence order (gridsvc.events.outbox makes the numbers gapless and in commit order) and sends
each new event once, to the Socket.IO rooms it names; a live connection has joined the rooms of
its user's jurisdiction (gridsvc.cases.audience).

A connection that arrives with the last number it saw is first caught up from the outbox with what
it missed and may see, up to the relay's position, and only then joins its rooms; since the
relay alone sends, and does one thing at a time, nothing sent live can overtake the catch-up or
repeat it. So each connection receives every event for it exactly once, in order, whether it
connected an hour ago or a moment ago; a `live` message tells it where the catch-up ended.

Why each process reads the outbox itself rather than one relay broadcasting through Flask-SocketIO's
Redis message queue: a broadcast cannot be ordered against a connection's catch-up in another
process, so a reconnecting screen could get an event twice or see a later one first; and a single
broadcaster must be elected and must remember how far it got. Here Redis carries only the signal
that events were committed (gridsvc.events.wakeup); the outbox is the one source of truth.

The relay also drops connections whose token expired or was revoked (a `session.revoked` event,
or a periodic re-check for anything else, such as a deactivated user).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol

from sqlalchemy.orm import Session, sessionmaker

from gridsvc.events import outbox
from gridsvc.kernel.clock import as_utc, utcnow

log = logging.getLogger(__name__)

# Which of these token digests are still valid now (gridsvc.accounts.users.live_token_digests). Passed in
# rather than imported: sign-in lives in gridsvc.accounts, above this infrastructure in the dependency rule.
TokenCheck = Callable[[Session, list[str], datetime], set[str]]


class Transport(Protocol):
    """What the relay needs of Socket.IO (gridsvc.web.live), so that it can be tested without it."""

    def send(self, to: str | list[str], name: str, data: dict) -> None: ...  # a connection's sid, or rooms

    def join(self, sid: str, rooms: frozenset[str]) -> None: ...

    def drop(self, sid: str) -> None: ...

    def state(self, sid: str) -> str: ...  # "connecting" (its connect handler still runs), "connected" or "gone"


@dataclass(frozen=True)
class Listener:
    """One live connection: whose, with which token, in which rooms, and the last event it saw."""

    sid: str
    user_id: int
    token_digest: str
    token_expires_at: datetime
    rooms: frozenset[str]
    since: int | None  # None: from now on


class Relay:
    def __init__(self, sessions: sessionmaker[Session], transport: Transport, catch_up_limit: int,
                 token_recheck: timedelta, valid_tokens: TokenCheck):
        self._sessions, self._transport, self._valid_tokens = sessions, transport, valid_tokens
        self._catch_up_limit, self._token_recheck = catch_up_limit, token_recheck
        self._position: int | None = None  # the last event sent live
        self._arrivals: deque[Listener] = deque()  # appended by connection handlers, taken by `pump`
        self._departures: deque[str] = deque()
        self._live: dict[str, Listener] = {}
        self._rechecked_at = utcnow()

    def arrive(self, listener: Listener) -> None:
        """A connection was accepted (thread-safe: the next `pump` catches it up)."""
        self._arrivals.append(listener)

    def depart(self, sid: str) -> None:
        self._departures.append(sid)

    @property
    def listeners(self) -> int:
        return len(self._live)

    def pump(self, now: datetime | None = None) -> int:
        """One round: send the new events, catch up and admit arrivals, drop connections no longer
        signed in. Returns how many events were sent live. Only one thread may pump."""
        now = as_utc(now) if now else utcnow()
        with self._sessions() as session:
            if self._position is None:
                self._position = outbox.head(session)
            revoked_users: set[int] = set()
            sent = 0
            for event in outbox.read_after(session, self._position):
                self._transport.send(list(event.rooms), "event", outbox.payload(event))
                self._position = event.seq
                sent += 1
                if event.kind == "session.revoked":
                    revoked_users.add(event.data["user_id"])
            departed = set()
            while self._departures:
                departed.add(self._departures.popleft())
            for sid in departed:
                self._live.pop(sid, None)
            waiting = []
            while self._arrivals:
                listener = self._arrivals.popleft()
                state = self._transport.state(listener.sid)
                if state == "connecting":  # its connect handler has not returned yet: next round
                    waiting.append(listener)
                    continue
                if listener.sid in departed or state == "gone":
                    continue  # gone already (python-socketio calls no disconnect handler during a connect)
                try:
                    self._admit(session, listener, now)
                except Exception:  # a database error: close it, the client reconnects with its `since`
                    session.rollback()
                    log.exception("could not catch up connection %s; closing it", listener.sid)
                    self._transport.drop(listener.sid)
            self._arrivals.extend(waiting)
            self._check_tokens(session, now, revoked_users)
        return sent

    def _admit(self, session: Session, listener: Listener, now: datetime) -> None:
        if not self._valid_tokens(session, [listener.token_digest], now):  # revoked since it connected
            self._transport.send(listener.sid, "signed_out", {"reason": "token_revoked"})
            self._transport.drop(listener.sid)
            return
        since = listener.since
        if since is not None and since > self._position:
            since = None  # a number this outbox never gave (another database, a reset): start afresh
            self._transport.send(listener.sid, "resync", {"seq": self._position, "reason": "unknown_seq"})
        if since is not None:
            missed = outbox.missed(session, listener.rooms, since, self._position, self._catch_up_limit)
            if missed.complete:
                for event in missed.events:
                    self._transport.send(listener.sid, "event", outbox.payload(event))
            else:  # too far behind to replay, or what it missed was pruned: it reloads what it shows instead
                reason = "pruned" if missed.pruned else "too_far_behind"
                self._transport.send(listener.sid, "resync", {"seq": self._position, "reason": reason})
        self._transport.join(listener.sid, listener.rooms)
        self._live[listener.sid] = listener
        self._transport.send(listener.sid, "live", {"seq": self._position})

    def _check_tokens(self, session: Session, now: datetime, revoked_users: set[int]) -> None:
        recheck_all = now - self._rechecked_at >= self._token_recheck
        if recheck_all:
            self._rechecked_at = now
        suspects = {sid: listener for sid, listener in self._live.items()
                    if recheck_all or listener.user_id in revoked_users}
        valid = self._valid_tokens(session, [listener.token_digest for listener in suspects.values()], now)
        for sid, listener in list(self._live.items()):
            if recheck_all and self._transport.state(sid) == "gone":
                del self._live[sid]  # its disconnect went unnoticed
            elif listener.token_expires_at <= now:
                self._sign_out(listener, "token_expired")
            elif sid in suspects and listener.token_digest not in valid:
                self._sign_out(listener, "token_revoked")

    def _sign_out(self, listener: Listener, reason: str) -> None:
        self._live.pop(listener.sid, None)
        self._transport.send(listener.sid, "signed_out", {"reason": reason})
        self._transport.drop(listener.sid)
