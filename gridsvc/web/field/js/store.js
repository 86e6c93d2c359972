// What the app keeps on the phone, in IndexedDB (through the idb library), so that it works for
// days without a network and the page and the service worker see the same data:
//   kv      the tokens, the device's id, the start-up data with its ETag, the base map's settings,
//           recently used categories, the last lists seen
//   outbox  reports waiting to be sent, with their photos as Blobs, by client UUID
//   patrols my patrols (巡查), by client UUID, with what is left to send
//   fixes   their GPS fixes, by [patrol client UUID, seq], until the service has them
// A write that the phone's storage cannot hold rejects with StorageFull, which the page shows.

import { openDB } from "../vendor/idb/index.js";

const database = openDB("gridsvc-field", 1, {
  upgrade(db) {
    db.createObjectStore("kv");
    db.createObjectStore("outbox", { keyPath: "client_uuid" });
    db.createObjectStore("patrols", { keyPath: "client_uuid" });
    db.createObjectStore("fixes", { keyPath: ["patrol", "seq"] });
  },
});

export class StorageFull extends Error {
  constructor() { super("手机存储空间不足，无法保存。请删除一些照片或文件后重试。"); }
}

async function writing(action) {
  try {
    return await action(await database);
  } catch (error) {
    if (error && error.name === "QuotaExceededError") throw new StorageFull();
    throw error;
  }
}

export async function read(key) { return (await database).get("kv", key); }
export function write(key, value) { return writing((db) => db.put("kv", value, key)); }
export async function forget(key) { return (await database).delete("kv", key); }

export async function outboxItems() {
  const items = await (await database).getAll("outbox");
  return items.sort((a, b) => a.created_at.localeCompare(b.created_at));
}
export async function outboxItem(clientUuid) { return (await database).get("outbox", clientUuid); }
export function keepOutboxItem(item) { return writing((db) => db.put("outbox", item)); }
export async function dropOutboxItem(clientUuid) { return (await database).delete("outbox", clientUuid); }

/** A random UUID (version 4). crypto.randomUUID exists only on https pages; this works on any. */
export function newUuid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** This install's device id, made once: the service revokes a lost phone's sign-in by it. */
export async function deviceId() {
  let id = await read("device_id");
  if (!id) {
    id = `phone-${newUuid()}`;
    await write("device_id", id);
  }
  return id;
}

// -- patrols (巡查) and their fixes ------------------------------------------------------------------
// A patrol: {client_uuid, phone, started_at, ended_at, next_seq, recorded, sent, rejected, ...}; its
// fixes wait in `fixes` under [client_uuid, seq] until the service has answered for them. Every
// change of a patrol is made in one transaction (read, change, write back), so that recording a fix
// and a batch's answer arriving at the same moment cannot undo each other.

const fixesOfPatrol = (clientUuid) => IDBKeyRange.bound([clientUuid, -Infinity], [clientUuid, Infinity]);

export async function patrolList() { return (await database).getAll("patrols"); }
export async function patrolRecord(clientUuid) { return (await database).get("patrols", clientUuid); }
export function keepPatrol(patrol) { return writing((db) => db.put("patrols", patrol)); }

/** Change a patrol with `change(patrol)` (synchronous) in one transaction: the patrol as changed, or null. */
export function changePatrol(clientUuid, change) {
  return writing(async (db) => {
    const tx = db.transaction("patrols", "readwrite");
    tx.done.catch(() => {}); // awaited below; a failed write rejects there (or at the put)
    const patrol = await tx.store.get(clientUuid);
    if (patrol) {
      change(patrol);
      await tx.store.put(patrol);
    }
    await tx.done;
    return patrol || null;
  });
}

/** Keep a fix of a recording patrol under the patrol's next seq: {patrol, seq}, or null when the
 * patrol was stopped (or is gone). `accept(patrol)` may refuse it (a repeat of the last fix). */
export function recordFix(clientUuid, fix, accept = () => true) {
  return writing(async (db) => {
    const tx = db.transaction(["patrols", "fixes"], "readwrite");
    tx.done.catch(() => {}); // awaited below; a failed write rejects there (or at the put)
    const patrols = tx.objectStore("patrols");
    const patrol = await patrols.get(clientUuid);
    let seq = null;
    if (patrol && !patrol.ended_at && accept(patrol)) {
      seq = patrol.next_seq;
      await tx.objectStore("fixes").put({ ...fix, patrol: clientUuid, seq });
      patrol.next_seq = seq + 1;
      patrol.recorded = (patrol.recorded || 0) + 1;
      patrol.last_fix = { lon: fix.lon, lat: fix.lat, accuracy: fix.accuracy, taken_ms: fix.taken_ms };
      await patrols.put(patrol);
    }
    await tx.done;
    return seq === null ? null : { patrol, seq };
  });
}

/** The fixes of a patrol still to send, in seq order (at most `limit`). */
export async function patrolFixes(clientUuid, limit) {
  return (await database).getAll("fixes", fixesOfPatrol(clientUuid), limit);
}

export async function waitingFixes(clientUuid) { return (await database).count("fixes", fixesOfPatrol(clientUuid)); }

/** The service answered for these fixes: drop them and note the answer on the patrol (`change`). */
export function answeredFixes(clientUuid, seqs, change) {
  return writing(async (db) => {
    const tx = db.transaction(["patrols", "fixes"], "readwrite");
    tx.done.catch(() => {}); // awaited below; a failed write rejects there (or at the put)
    for (const seq of seqs) await tx.objectStore("fixes").delete([clientUuid, seq]);
    const patrol = await tx.objectStore("patrols").get(clientUuid);
    if (patrol) {
      change(patrol);
      await tx.objectStore("patrols").put(patrol);
    }
    await tx.done;
    return patrol || null;
  });
}

/** Forget a patrol and whatever of its fixes is left. */
export async function dropPatrol(clientUuid) {
  const tx = (await database).transaction(["patrols", "fixes"], "readwrite");
  await tx.objectStore("fixes").delete(fixesOfPatrol(clientUuid));
  await tx.objectStore("patrols").delete(clientUuid);
  await tx.done;
}
