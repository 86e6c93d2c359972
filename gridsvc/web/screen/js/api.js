// Talking to the service: the signed-in user's tokens, JSON requests, one error shape.
//
// Tokens live in sessionStorage: a wall screen stays signed in across reloads, and a closed
// browser tab signs nothing in for the next person at a shared desk. A 401 is answered once by
// refreshing the token pair (it works once: gridsvc.accounts.users), then by the sign-in form.

const STORE = "gridsvc.tokens";
const listeners = new Set();

export function tokens() {
  try { return JSON.parse(sessionStorage.getItem(STORE)); } catch { return null; }
}

function keep(pair) {
  if (pair) sessionStorage.setItem(STORE, JSON.stringify(pair)); else sessionStorage.removeItem(STORE);
  listeners.forEach((listener) => listener(pair));
}

/** Call `listener(pair)` whenever the token pair changes (null: signed out). */
export function onTokens(listener) { listeners.add(listener); }

/** The Chinese half of a text the service writes "zh / English" (gridsvc.kernel.errors), or null if it has none. */
function chinese(text) {
  const [zh, ...en] = String(text ?? "").split(" / ");
  return /[^\x00-\x7f]/.test(zh) ? (en.length ? zh : String(text)) : null;
}

export class ApiError extends Error {
  /** `message` is the Chinese half of the service's message (the screen is in Chinese), else a plain
   * Chinese sentence for the status: a proxy's or the network's refusal has none. */
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(chinese(error.message) ?? (status ? `请求未成功（状态 ${status}）` : "网络连接失败"));
    this.status = status;
    this.code = error.code || "http_error";
    this.fields = error.fields || {};
  }
  /** The message with each offending field's reasons, in Chinese only: each field named by `labels[field]`
   * (the form's own words for it) and each reason by its Chinese half (取值无效 for one the service gave
   * in English only). */
  describe(labels = {}) {
    const reasons = Object.entries(this.fields).map(([field, why]) => {
      const said = [].concat(why).map((reason) => chinese(reason) ?? "取值无效").join("；");
      return labels[field] ? `${labels[field]}：${said}` : said;
    });
    return [this.message, ...reasons].join("\n");
  }
}

async function send(path, options, pair) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (pair) headers.Authorization = `Bearer ${pair.access_token}`;
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, {
    method: options.method || "GET", headers,
    body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
  });
}

let refreshing = null;

/** A new token pair for the refresh token, shared by every request that hit a 401 meanwhile.
 * Resolves to null when the sign-in is over (the service refused the refresh token: signed out);
 * rejects on a passing trouble (no network, 429, 503), keeping the tokens for the next try. */
export function refresh() {
  const pair = tokens();
  if (!pair) return Promise.resolve(null);
  refreshing ??= fetch("/api/v1/auth/refresh", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: pair.refresh_token }),
  }).then(async (answer) => {
    if (answer.status === 400 || answer.status === 401 || answer.status === 422) {
      keep(null);
      return null;
    }
    if (!answer.ok) throw new ApiError(answer.status, null);
    const renewed = await answer.json();
    keep(renewed);
    return renewed;
  }).finally(() => { refreshing = null; });
  return refreshing;
}

/** A request to the API; resolves to the parsed JSON (or the Response for `raw`), rejects with ApiError. */
export async function api(path, options = {}) {
  const sent = tokens();
  let answer = await send(path, options, sent);
  if (answer.status === 401 && tokens() && !path.startsWith("/api/v1/auth/")) {
    // Another request may have refreshed meanwhile: try its tokens before refreshing again.
    const renewed = tokens()?.access_token !== sent?.access_token ? tokens() : await refresh();
    if (renewed) answer = await send(path, options, renewed);
  }
  if (!answer.ok) {
    let body = null;
    try { body = await answer.json(); } catch { /* not JSON: the status says enough */ }
    throw new ApiError(answer.status, body);
  }
  if (options.raw) return answer;
  return answer.status === 204 ? null : answer.json();
}

export async function signIn(phone, password) {
  keep(await api("/api/v1/auth/login", { method: "POST", json: { phone, password, device_id: "command-screen" } }));
}

export async function signOut() {
  try { await api("/api/v1/auth/logout", { method: "POST" }); } finally { keep(null); }
}

/** An image the API serves behind the token, as an object URL for an <img>. */
export async function imageUrl(path) {
  const answer = await api(path, { raw: true });
  return URL.createObjectURL(await answer.blob());
}

/** A file the API serves behind the token, handed to the browser as a download, named as the service
 * names it (Content-Disposition), else `fallback`. */
export async function downloadFile(path, fallback) {
  const answer = await api(path, { raw: true, headers: { Accept: "*/*" } });
  const name = /filename="([^"]+)"/.exec(answer.headers.get("Content-Disposition") ?? "")?.[1] ?? fallback;
  const url = URL.createObjectURL(await answer.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
