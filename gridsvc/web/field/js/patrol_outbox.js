// Sending patrols (巡查) to the service: each patrol's start, its fixes in batches and its stop, from
// what js/patrol.js keeps in IndexedDB. No DOM here: the page sends (js/patrol.js) and, when no page of
// the app is open, the service worker does, on Background Sync (sw.js), as it does the reports' outbox.
// One send at a time across both (the Web Locks API, in the callers).

import { api, ApiError } from "./api.js";
import { answeredFixes, changePatrol, dropPatrol, patrolFixes, patrolList, patrolRecord, waitingFixes } from "./store.js";

const UPLOAD = 500; // fixes per request (mobile_api.patrols.MAX_BATCH is 1000)
const REASONS = {
  recorded_at: "定位时间不合理（请检查手机时间）", lon: "位置不可信", lat: "位置不可信", accuracy: "定位精度不足",
  crs: "坐标系不符", seq: "编号重复",
};

/** Why the service rejected a fix, in Chinese. */
function reasonOf(error) {
  if (!error) return "原因不明";
  if (error.code === "seq_conflict") return REASONS.seq;
  const field = Object.keys(error.fields || {})[0];
  return REASONS[field] || "数据不符合要求";
}

/** The patrols of the user with this phone number kept on this phone, oldest first. */
export async function patrolsOf(phone) {
  const all = (await patrolList()).filter((p) => p.phone === phone);
  return all.sort((a, b) => a.started_at.localeCompare(b.started_at));
}

/** Whether any patrol of `phone` still has something to send (its start, fixes or its stop). */
export async function patrolsWaiting(phone) {
  for (const p of await patrolsOf(phone)) {
    if (p.refused) continue;
    if (!p.start_sent || (p.ended_at && !p.stop_sent) || (await waitingFixes(p.client_uuid))) return true;
  }
  return false;
}

/** Send what waits of every patrol of `phone` the service has not refused: whether the service took
 * anything. Rejects with Offline or ApiError when it cannot go on; what is left waits for the next try. */
export async function sendPatrols(phone) {
  let changed = false;
  for (const patrol of await patrolsOf(phone)) {
    if (!patrol.refused && (await sendPatrol(patrol))) changed = true;
  }
  await forgetFinished(phone);
  return changed;
}

/** Send one patrol's start, its fixes and its stop, in that order: whether the service took anything. */
async function sendPatrol(patrol) {
  const clientUuid = patrol.client_uuid;
  let changed = false;
  if (!patrol.start_sent) {
    try {
      await api("/mobile/v1/patrols", { method: "POST", json: { client_uuid: clientUuid, started_at: patrol.started_at } });
    } catch (error) {
      if (!(error instanceof ApiError) || ![409, 422].includes(error.status)) throw error;
      await changePatrol(clientUuid, (p) => { p.refused = "服务端未受理此次巡查（编号冲突或开始时间不合理，请检查手机时间）"; });
      return false;
    }
    await changePatrol(clientUuid, (p) => { p.start_sent = true; });
    changed = true;
  }
  for (;;) {
    const fixes = await patrolFixes(clientUuid, UPLOAD);
    if (!fixes.length) break;
    const points = fixes.map((f) => ({
      seq: f.seq, lon: f.lon, lat: f.lat, crs: "wgs84", accuracy: f.accuracy, recorded_at: f.recorded_at,
    }));
    let answer;
    try {
      answer = await api(`/mobile/v1/patrols/${clientUuid}/points`, { method: "POST", json: { points } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        await changePatrol(clientUuid, (p) => { p.start_sent = false; }); // the service has no start: send it again
      }
      throw error;
    }
    const rejected = answer.results.filter((r) => r.result === "rejected");
    await answeredFixes(clientUuid, answer.results.map((r) => fixes[r.index].seq), (p) => {
      p.sent += answer.added + answer.already_had;
      p.rejected += rejected.length;
      if (rejected.length) p.rejection = reasonOf(rejected[0].error);
    });
    changed = true;
  }
  const now = await patrolRecord(clientUuid);
  if (now && now.ended_at && !now.stop_sent) {
    try {
      await api(`/mobile/v1/patrols/${clientUuid}/stop`, { method: "POST", json: { ended_at: now.ended_at } });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 422) throw error;
      // An end the service cannot take (the phone's clock): it ends the patrol without it.
      await api(`/mobile/v1/patrols/${clientUuid}/stop`, { method: "POST" });
    }
    await changePatrol(clientUuid, (p) => { p.stop_sent = true; });
    changed = true;
  }
  return changed;
}

/** Forget the patrols the service has whole, but the last one (its figures stay on the screen). */
async function forgetFinished(phone) {
  const done = [];
  for (const p of await patrolsOf(phone)) {
    if (p.ended_at && p.stop_sent && !(await waitingFixes(p.client_uuid))) done.push(p);
  }
  for (const p of done.slice(0, -1)) await dropPatrol(p.client_uuid);
}
