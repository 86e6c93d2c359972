// The outbox on the phone: reports and their photos wait in IndexedDB until the service has them.
//
// A report gets its client UUID when it is made, so however often it is sent (a lost answer, a
// connection cut in the middle, the page and the service worker both trying) it becomes one case:
// the service answers a repeat with the case it already made. Photos are sent one by one after
// their report was accepted, and each is marked sent in the store as soon as the service has it;
// a photo sent again is filed once (the service knows it by its SHA-256).
//
// Sending happens on `online`, when the app opens, after a report is queued, and through
// Background Sync (sw.js) where the browser has it. One send at a time across the page and the
// worker (the Web Locks API). Items move: waiting → sending → accepted (with the tracking number)
// or refused (with the reason, kept to be corrected and sent again).

import { announce, api, ApiError, Offline } from "./api.js";
import { dropOutboxItem, keepOutboxItem, outboxItem, outboxItems, read } from "./store.js";
import { refusal } from "./words.js";

const BATCH = 100; // mobile_api.reporting.MAX_BATCH
const STATE_NAMES = { waiting: "待发送", sending: "发送中", accepted: "已受理", refused: "被退回" };
const KEEP_SENT_MS = 24 * 3600 * 1000; // a sent report stays in the outbox's list for a day

function changed() { announce({ type: "outbox" }); }

/** Put a new report (or a refused one, corrected) into the outbox. */
export async function queueReport(body, photos, phone) {
  const kept = await outboxItem(body.client_uuid);
  const item = {
    client_uuid: body.client_uuid, phone, body, state: "waiting", error: null, tracking_no: null, case: null,
    created_at: kept ? kept.created_at : new Date().toISOString(),
    photos: photos.map((photo) => ({ name: photo.name, type: photo.type, size: photo.size, blob: photo, state: "waiting", error: null })),
  };
  await keepOutboxItem(item);
  changed();
  askForBackgroundSync();
  return item;
}

/** Drop a refused report the user gave up on. */
export async function discard(clientUuid) {
  await dropOutboxItem(clientUuid);
  changed();
}

/** Ask the browser to wake the service worker when the network is back (tag "outbox" or "patrols"). */
export async function askForBackgroundSync(tag = "outbox") {
  try {
    // getRegistration, not `ready`: a worker that never activates (a browser without module workers,
    // a first visit cut short) must not hold anything up.
    const registration = await self.navigator.serviceWorker?.getRegistration("/m/");
    await registration?.sync?.register(tag);
  } catch { /* no Background Sync here: `online`, opening the app and the retry timer send what waits */ }
}

/** Send what waits: the reports in batches, then their photos. Resolves when done or cut off. */
export function sendOutbox() {
  if (self.navigator.onLine === false) return Promise.resolve(); // 待发送 until `online`
  return self.navigator.locks ? self.navigator.locks.request("gridsvc-outbox", sendAll) : sendAll();
}

async function sendAll() {
  const phone = await read("me");
  if (!phone || !(await read("tokens"))) return;
  const mine = async (states) => (await outboxItems()).filter((i) => i.phone === phone && states.includes(i.state));
  try {
    const unsent = await mine(["waiting", "sending"]);
    for (let start = 0; start < unsent.length; start += BATCH) await sendReports(unsent.slice(start, start + BATCH));
    for (const item of await mine(["accepted"])) await sendPhotos(item);
  } catch (error) {
    if (!(error instanceof Offline) && !(error instanceof ApiError)) throw error;
    // No network, or the service cannot take it now (signed out, 503): everything stays for the next try.
  } finally {
    const dayAgo = new Date(Date.now() - KEEP_SENT_MS).toISOString();
    for (const item of await outboxItems()) {
      if (item.state === "sending") await keepOutboxItem({ ...item, state: "waiting" });
      const done = item.state === "accepted" && !item.photos.some((p) => p.state === "waiting");
      if (done && item.created_at < dayAgo) await dropOutboxItem(item.client_uuid); // 我的 lists it from the service
    }
    changed();
  }
}

/** Whether anything of `phone`'s outbox still waits to be sent. */
export async function outboxWaiting(phone) {
  return (await outboxItems()).some((item) => item.phone === phone
    && (["waiting", "sending"].includes(item.state) || item.photos.some((p) => p.state === "waiting")));
}

async function sendReports(items) {
  for (const item of items) await keepOutboxItem({ ...item, state: "sending" });
  changed();
  const answer = await api("/mobile/v1/reports/batch", { method: "POST", json: { reports: items.map((i) => i.body) } });
  for (const result of answer.results) {
    const item = await outboxItem(items[result.index].client_uuid);
    if (result.result === "rejected") {
      await keepOutboxItem({ ...item, state: "refused", error: result.error });
    } else {
      await keepOutboxItem({ ...item, state: "accepted", error: null, tracking_no: result.case.tracking_no, case: result.case });
    }
  }
  changed();
}

async function sendPhotos(item) {
  for (let position = 0; position < item.photos.length; position++) {
    const photo = (await outboxItem(item.client_uuid)).photos[position];
    if (photo.state !== "waiting") continue;
    const form = new FormData();
    form.append("photo", photo.blob, photo.name || `photo-${position + 1}.jpg`);
    let outcome;
    try {
      await api(`/mobile/v1/reports/${item.client_uuid}/photos`, { method: "POST", body: form });
      outcome = { state: "sent", blob: null, error: null }; // the service has it: free the phone's space
    } catch (error) {
      if (!(error instanceof ApiError) || ![413, 415, 422].includes(error.status)) throw error;
      outcome = { state: "refused", blob: null, error: refusal(error) }; // kept no longer: the service will not take it
    }
    const current = await outboxItem(item.client_uuid);
    current.photos[position] = { ...current.photos[position], ...outcome };
    await keepOutboxItem(current);
    changed();
  }
}

/** How an item reads in the list: its state in Chinese, with what is still to come. */
export function itemStatus(item) {
  const waitingPhotos = item.photos.filter((p) => p.state === "waiting").length;
  if (item.state === "accepted" && waitingPhotos) return `${STATE_NAMES.accepted} · 照片待发送 ${waitingPhotos} 张`;
  return STATE_NAMES[item.state];
}
