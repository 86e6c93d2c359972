// The public API (/api/v1/public/…): no sign-in, no token, JSON answers and one error shape.
// The page calls nothing else, so it can show nothing the public API does not publish.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network" : "http_error");
  }
}

/** GET a public path; resolves to the parsed JSON, rejects with ApiError (status 0: no network). */
export async function getJson(path) {
  let answer;
  try {
    answer = await fetch(path, { headers: { Accept: "application/json" }, credentials: "omit" });
  } catch {
    throw new ApiError(0, null);
  }
  let body = null;
  try { body = await answer.json(); } catch { /* not JSON: the status says enough */ }
  if (!answer.ok) throw new ApiError(answer.status, body);
  return body;
}

/** `load` run once, its promise shared; after a failure the next call tries again. */
export function once(load) {
  let pending = null;
  return () => (pending ??= load().catch((error) => {
    pending = null;
    throw error;
  }));
}

export const publicCase = (trackingNo) => getJson(`/api/v1/public/cases/${encodeURIComponent(trackingNo)}`);
export const townships = () => getJson("/api/v1/public/townships");
export const responsibility = () => getJson("/api/v1/public/responsibility");

export function townshipStats(code, period) {
  const query = new URLSearchParams();
  if (period.from) query.set("from", period.from);
  if (period.to) query.set("to", period.to);
  return getJson(`/api/v1/public/townships/${encodeURIComponent(code)}/stats?${query}`);
}
