// Talking to the service from the phone (the /mobile/v1 API), in the page and in the service worker.
//
// - Tokens are kept in IndexedDB (js/store.js): the app stays signed in across restarts and days
//   without a network, and the service worker can send the outbox with them.
// - A 401 is answered once by refreshing the token pair. When the service refuses the refresh too
//   (signed out elsewhere, or the phone revoked by an administrator: a lost phone), the tokens are
//   dropped and "signed-out" is announced; the outbox is kept for the next sign-in.
// - No network at all rejects with Offline; the callers keep what they were sending.
// - Every answer's Date header gives the service's clock: deadlines are the service's, and the
//   phone's own clock may be wrong (js/clock.js).

import { deviceId, forget, read, write } from "./store.js";

export const CHANNEL = "gridsvc-field";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.fields = error.fields || {};
  }
}

export class Offline extends Error {
  constructor() { super("没有网络"); }
}

function announce(message) {
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage(message);
  channel.close();
}

async function send(path, options, pair) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (pair) headers.Authorization = `Bearer ${pair.access_token}`;
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  let answer;
  try {
    answer = await fetch(path, {
      method: options.method || "GET", headers, cache: "no-store",
      body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
    });
  } catch {
    throw new Offline();
  }
  const date = Date.parse(answer.headers.get("Date"));
  if (!Number.isNaN(date)) await write("clock_offset_ms", date - Date.now());
  return answer;
}

let refreshing = null;

/** The renewed pair, or null when the service ended the sign-in (then "signed-out" is announced). */
function refresh(pair) {
  refreshing ??= send("/mobile/v1/auth/refresh", { method: "POST", json: { refresh_token: pair.refresh_token } })
    .then(async (answer) => {
      if (answer.status === 400 || answer.status === 401 || answer.status === 422) {
        await forget("tokens");
        announce({ type: "signed-out", reason: "revoked" });
        return null;
      }
      if (!answer.ok) throw new ApiError(answer.status, null);
      const renewed = await answer.json();
      await write("tokens", renewed);
      return renewed;
    })
    .finally(() => { refreshing = null; });
  return refreshing;
}

/** New tokens for the kept refresh token (the live channel's connection was refused): the pair or null. */
export async function renewTokens() {
  const pair = await read("tokens");
  return pair ? refresh(pair) : null;
}

/** A request to the API: the parsed JSON (or the Response for `raw`); rejects with ApiError or Offline. */
export async function api(path, options = {}) {
  const sent = await read("tokens");
  let answer = await send(path, options, sent);
  if (answer.status === 401 && sent && !path.startsWith("/mobile/v1/auth/")) {
    const current = await read("tokens");
    const renewed = current && current.access_token !== sent.access_token ? current : await refresh(sent);
    if (renewed) answer = await send(path, options, renewed);
  }
  if (!answer.ok && !(options.accept || []).includes(answer.status)) {
    let body = null;
    try { body = await answer.json(); } catch { /* not JSON: the status says enough */ }
    throw new ApiError(answer.status, body);
  }
  if (options.raw) return answer;
  if (answer.status === 204 || answer.status === 304) return null;
  try {
    return await answer.json();
  } catch (error) {
    if (error instanceof SyntaxError) throw error;
    throw new Offline(); // the connection broke while the answer came: as if there were none
  }
}

export async function signedIn() { return Boolean(await read("tokens")); }

export async function signIn(phone, password) {
  const pair = await api("/mobile/v1/auth/login", {
    method: "POST", json: { phone, password, device_id: await deviceId() },
  });
  await write("tokens", pair);
}

export async function signOut() {
  try { await api("/mobile/v1/auth/logout", { method: "POST" }); } catch { /* signed out here anyway */ }
  await forget("tokens");
  await forget("startup");
}
