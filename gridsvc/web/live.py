"""The live channel: Socket.IO connections of screens and phones, fed by this process's relay.

A client connects with `auth = {"token": <access token>, "since": <last seq seen>}` (omit
`since` to start from now). The token is the API's; a connection is refused without a valid one,
and it joins only the rooms of its user's jurisdiction. What the client then hears:

- `event` {seq, kind, at, data}: first the events it missed, then live ones, each exactly once and
  in order; remember `seq` and send it as `since` when reconnecting;
- `live` {seq}: the catch-up is over, everything from here is live (remember this seq too);
- `resync` {seq, reason}: it was too far behind (or sent an unknown seq): reload what it shows;
- `signed_out` {reason}: its token expired or was revoked; the connection is closed.

It may send `ack` {seq} for an event whose data says `ack_required` (a dispatch); the answer is
{"ok": true} or {"error": {code, message}}. gridsvc.events.relay explains the delivery.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from flask import Flask, request
from flask_socketio import SocketIO
from socketio.exceptions import ConnectionRefusedError  # not the built-in one: this one carries `data`

from gridsvc.accounts.users import SignInRefused, live_token_digests, valid_access_token
from gridsvc.kernel.db import MAX_INTEGER
from gridsvc.cases.acks import AckRefused, acknowledge
from gridsvc.cases.audience import rooms_for
from gridsvc.events.outbox import COMMITTED_CALLBACK
from gridsvc.events.relay import Listener, Relay
from gridsvc.events.wakeup import Wakeup
from gridsvc.kernel.clock import as_utc, utcnow
from gridsvc.kernel.models import User

log = logging.getLogger(__name__)
NAMESPACE = "/"


def async_mode() -> str:
    """gevent when running under gunicorn's gevent worker (the standard library is patched), else threads."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return "threading"
    return "gevent" if monkey.is_module_patched("socket") else "threading"


class SocketTransport:
    """The relay's Transport over Flask-SocketIO."""

    def __init__(self, socketio: SocketIO):
        self._socketio = socketio

    def send(self, to, name: str, data: dict) -> None:
        self._socketio.emit(name, data, to=to, namespace=NAMESPACE)

    def join(self, sid: str, rooms: frozenset[str]) -> None:
        for room in sorted(rooms):
            self._socketio.server.enter_room(sid, room, namespace=NAMESPACE)

    def drop(self, sid: str) -> None:
        self._socketio.server.disconnect(sid, namespace=NAMESPACE)

    def state(self, sid: str) -> str:
        manager = self._socketio.server.manager
        if manager.is_pre_connected(sid, NAMESPACE):
            return "connecting"
        return "connected" if manager.is_connected(sid, NAMESPACE) else "gone"


class LiveChannel:
    """The Socket.IO server of one app: connection handlers, the relay and its background loop."""

    def __init__(self, app: Flask, runtime):
        settings = runtime.settings
        self._sessions = runtime.sessions
        self.socketio = SocketIO(app, async_mode=async_mode())
        self.wakeup = Wakeup(settings.events_redis_url)
        runtime.sessions.configure(info={COMMITTED_CALLBACK: self.wakeup.committed})
        self.relay = Relay(runtime.sessions, SocketTransport(self.socketio), int(settings.events_catch_up_limit),
                           timedelta(seconds=settings.events_token_recheck_seconds), live_token_digests)
        self._poll_seconds = settings.events_poll_seconds
        self._listeners: dict[str, Listener] = {}  # by sid, for acknowledgements
        self._started = False
        self._start_lock = threading.Lock()
        self.socketio.on_event("connect", self._connect, namespace=NAMESPACE)
        self.socketio.on_event("disconnect", self._disconnect, namespace=NAMESPACE)
        self.socketio.on_event("ack", self._ack, namespace=NAMESPACE)

    def _connect(self, auth=None):
        auth = auth if isinstance(auth, dict) else {}
        since = auth.get("since")
        if since is not None and (type(since) is not int or not 0 <= since <= MAX_INTEGER):
            raise ConnectionRefusedError("invalid_parameters", {"code": "invalid_parameters", "fields": {"since": [
                "must be the seq of the last event seen (a whole number, 0 or more)"]}})
        with self._sessions() as session:
            try:
                token = valid_access_token(session, _token(auth))
            except SignInRefused:
                raise ConnectionRefusedError("sign_in_refused", {
                    "code": "sign_in_refused", "message": "登录已失效 / sign in again: the token is not valid"}) from None
            rooms = rooms_for(session, token.user)
            listener = Listener(request.sid, token.user_id, token.token_hash, as_utc(token.expires_at), rooms, since)
        self._listeners[request.sid] = listener
        self.relay.arrive(listener)
        self._start()
        self.wakeup.poke()

    def _disconnect(self, *_reason):
        self._listeners.pop(request.sid, None)
        self.relay.depart(request.sid)

    def _ack(self, data=None):
        seq = data.get("seq") if isinstance(data, dict) else None
        if type(seq) is not int:
            return {"error": {"code": "invalid_parameters", "fields": {"seq": ["the seq of the event to acknowledge"]}}}
        listener = self._listeners.get(request.sid)
        now = utcnow()
        with self._sessions() as session:
            if listener is None or not live_token_digests(session, [listener.token_digest], now):
                return {"error": {"code": "sign_in_refused", "message": "登录已失效 / the token is no longer valid"}}
            user = session.get(User, listener.user_id)
            try:
                acknowledge(session, user, seq, now)
            except AckRefused as exc:
                return {"error": {"code": exc.code, "message": exc.message}}
            session.commit()
        return {"ok": True, "seq": seq}

    def _start(self) -> None:
        """Start the relay's loop (and the Redis listener) with the first connection; not when
        `events_poll_seconds` is 0 (tests pump the relay themselves)."""
        with self._start_lock:
            if self._started or self._poll_seconds <= 0:
                return
            self._started = True
        self.socketio.start_background_task(self._relay_loop)
        if self.wakeup.shared:
            self.socketio.start_background_task(self.wakeup.listen_forever)

    def _relay_loop(self) -> None:
        while True:
            try:
                self.relay.pump()
            except Exception:  # a database restart must not end live events: try again next round
                log.exception("relay round failed")
            self.wakeup.wait(self._poll_seconds)


def _token(auth: dict) -> str:
    """The access token from the connection's auth payload, or else its Authorization header."""
    token = auth.get("token")
    if isinstance(token, str) and token:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
