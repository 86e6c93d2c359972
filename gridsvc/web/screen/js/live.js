// The live channel (docs/events.md): Socket.IO with the API's token and the last event number seen.
//
// On every (re)connection the client sends `since`; the server first sends what was missed, each
// event once and in order, then `live`. `resync` means too much was missed: reload everything.
// The number is kept in sessionStorage, so a reloaded page catches up instead of starting blind.
// Socket.IO reconnects by itself after a network failure, but not when the server closed the
// connection or refused it: those are retried here, with a growing pause.

import { refresh, tokens } from "./api.js";

const SEQ = "gridsvc.since";
const RETRY_MS = [1000, 2000, 5000, 10000, 30000];

export class LiveChannel {
  /** @param handlers {onEvent(event), onResync(), onState(state)} state: connecting|live|offline|signed_out */
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
    this.retries = 0;
    this.retryTimer = null;
    this.closed = false;
  }

  get since() {
    const kept = sessionStorage.getItem(SEQ);
    return kept === null ? null : Number(kept);
  }

  set since(seq) { sessionStorage.setItem(SEQ, String(seq)); }

  /** Start from the outbox head the page's data was read at (after a full load). */
  startAt(seq) { this.since = seq; }

  connect() {
    this.handlers.onState("connecting");
    this.socket = io({
      transports: ["websocket", "polling"],
      tryAllTransports: true,  // a proxy that blocks WebSocket still lets long-polling through
      // A function, so that every reconnection sends the current token and number.
      auth: (send) => send({ token: tokens()?.access_token, ...(this.since !== null ? { since: this.since } : {}) }),
    });
    this.socket.on("event", (event) => {
      this.since = event.seq;
      this.handlers.onEvent(event);
    });
    this.socket.on("live", ({ seq }) => {
      this.since = seq;
      this.retries = 0;
      this.handlers.onState("live");
    });
    this.socket.on("resync", ({ seq }) => {
      this.since = seq;
      this.handlers.onResync();
    });
    this.socket.on("signed_out", () => {
      this.handlers.onState("signed_out");
      this.renewAndRetry();
    });
    this.socket.on("connect", () => clearTimeout(this.retryTimer));
    this.socket.on("connect_error", (error) => {
      this.handlers.onState("offline");
      if (this.socket.active) return;  // a network failure: Socket.IO tries again by itself
      // Refused by the server (gridsvc/web/live.py): Socket.IO gives up, so try again here.
      if (error?.data?.code === "sign_in_refused") this.renewAndRetry();
      else this.retry();
    });
    this.socket.on("disconnect", (reason) => {
      this.handlers.onState("offline");
      if (reason === "io server disconnect") this.retry();  // e.g. its catch-up failed: come back with `since`
    });
  }

  /** A new token pair, then connect again; on a passing failure, try again later. */
  async renewAndRetry() {
    try {
      if (await refresh()) this.retry();
      // null: signed out for good; the page shows the sign-in form (main.js)
    } catch {
      this.retry();
    }
  }

  /** Connect again after a pause that grows with each failure (a quarter either way, so that the
   * screens of a township do not all come back in the same instant). */
  retry() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    const pause = RETRY_MS[Math.min(this.retries, RETRY_MS.length - 1)] * (0.75 + Math.random() / 2);
    this.retries += 1;
    this.retryTimer = setTimeout(() => {
      if (!this.closed && this.socket && !this.socket.connected && !this.socket.active) this.socket.connect();
    }, pause);
  }

  /** A refreshed token replaces the one the connection was opened with: reconnect with it. */
  reconnect() {
    if (!this.socket || this.closed) return;
    clearTimeout(this.retryTimer);
    this.socket.disconnect();
    this.socket.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.disconnect();
    this.socket = null;
    sessionStorage.removeItem(SEQ);
  }
}
