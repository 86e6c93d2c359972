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
const TIMEOUT_MS = 30000;
const NO_REFRESH = ["/mobile/v1/auth/login", "/mobile/v1/auth/refresh"];
const UPLOAD_TIMEOUT_MS = 300000; // a phone camera's photo over a slow mobile network

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

/** Tell every page of the app (and the worker) something happened: "outbox", "signed-out". */
export function announce(message) {
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage(message);
  channel.close();
}

async function send(path, options, pair) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (pair) headers.Authorization = `Bearer ${pair.access_token}`;
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  // A stalled connection counts as none: a village's network often accepts and then says nothing.
  const timeout = options.body instanceof FormData ? UPLOAD_TIMEOUT_MS : TIMEOUT_MS;
  let answer;
  try {
    answer = await fetch(path, {
      method: options.method || "GET", headers, cache: "no-store", signal: AbortSignal.timeout(timeout),
      body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
    });
  } catch {
    throw new Offline();
  }
  const date = Date.parse(answer.headers.get("Date"));
  if (!Number.isNaN(date)) await write("clock_offset_ms", date - Date.now());
  return answer;
}

/** The renewed pair, or null when the service ended the sign-in (then "signed-out" is announced).
 * A refresh token works once, and the service takes a second use as theft and ends the sign-in: so
 * the page and the service worker refresh one at a time (a Web Lock), and whoever comes second takes
 * the pair the first one stored. */
function refresh(pair) {
  const renew = async () => {
    const current = await read("tokens");
    if (!current) return null;
    if (current.refresh_token !== pair.refresh_token) return current; // renewed meanwhile
    const answer = await send("/mobile/v1/auth/refresh", { method: "POST", json: { refresh_token: pair.refresh_token } });
    if (answer.status === 400 || answer.status === 401 || answer.status === 422) {
      await forget("tokens");
      announce({ type: "signed-out", reason: "revoked" });
      return null;
    }
    if (!answer.ok) throw new ApiError(answer.status, null);
    const renewed = await answer.json();
    await write("tokens", renewed);
    return renewed;
  };
  return self.navigator.locks ? self.navigator.locks.request("gridsvc-refresh", renew) : renew();
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
  if (answer.status === 401 && sent && !NO_REFRESH.includes(path)) {
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
  } catch {
    // The connection broke while the answer came, or what came is not the service's JSON (a Wi-Fi's
    // sign-in page answering in its place): as if there were no network.
    throw new Offline();
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
