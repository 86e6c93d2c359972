// The live channel (docs/events.md): Socket.IO with the API's token and the last event number seen.
//
// On every (re)connection the client sends `since`; the server first sends what was missed, each
// event once and in order, then `live`. `resync` means too much was missed: reload everything.
// The number is kept in sessionStorage, so a reloaded page catches up instead of starting blind.

import { refresh, tokens } from "./api.js";

const SEQ = "gridsvc.since";

export class LiveChannel {
  /** @param handlers {onEvent(event), onResync(), onState(state)} state: connecting|live|offline|signed_out */
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
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
      // A function, so that every reconnection sends the current token and number.
      auth: (send) => send({ token: tokens()?.access_token, ...(this.since !== null ? { since: this.since } : {}) }),
    });
    this.socket.on("event", (event) => {
      this.since = event.seq;
      this.handlers.onEvent(event);
    });
    this.socket.on("live", ({ seq }) => {
      this.since = seq;
      this.handlers.onState("live");
    });
    this.socket.on("resync", ({ seq }) => {
      this.since = seq;
      this.handlers.onResync();
    });
    this.socket.on("signed_out", async () => {
      this.handlers.onState("signed_out");
      if (await refresh()) this.socket.connect();  // the refreshed token, the same `since`
    });
    this.socket.on("connect_error", async (error) => {
      this.handlers.onState("offline");
      if (error?.data?.code === "sign_in_refused" && await refresh()) this.socket.connect();
    });
    this.socket.on("disconnect", () => this.handlers.onState("offline"));
  }

  /** A refreshed token replaces the one the connection was opened with: reconnect with it. */
  reconnect() {
    if (!this.socket) return;
    this.socket.disconnect();
    this.socket.connect();
  }

  close() {
    this.socket?.disconnect();
    this.socket = null;
    sessionStorage.removeItem(SEQ);
  }
}
