// The field app's service worker (gridsvc/web/field_web.py writes VERSION and SHELL in).
//
// - The app shell is precached at install, into a cache named by VERSION, so that the app opens
//   with no network after the first visit; an update installs whole, then the old cache goes.
// - Pages and files of the shell are answered from that cache (the page is one URL, /m/).
//   API requests are never cached here: the app keeps its data in IndexedDB (js/store.js).
// - Background Sync: when the browser wakes the worker because the network is back, a page of the
//   app that is in front is asked to send its outbox and its patrols; otherwise the worker sends them,
//   and fails the sync while anything still waits, so that the browser tries again later.

import { Offline, ApiError } from "./js/api.js";
import { outboxWaiting, sendOutbox } from "./js/outbox.js";
import { patrolsWaiting, sendPatrols } from "./js/patrol_outbox.js";
import { read } from "./js/store.js";

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `gridsvc-field-${VERSION}`;

self.addEventListener("install", (event) => {
  // Past the browser's HTTP cache (the libraries are cached for a day there): this version's files.
  const fresh = SHELL.map((url) => new Request(url, { cache: "reload" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(fresh)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("gridsvc-field-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const key = event.request.mode === "navigate" && url.pathname.startsWith("/m/") ? "/m/" : url.pathname;
  if (!SHELL.includes(key)) return;
  event.respondWith(caches.open(CACHE).then(async (cache) => (await cache.match(key)) || fetch(event.request)));
});

self.addEventListener("sync", (event) => {
  if (event.tag === "outbox" || event.tag === "patrols") event.waitUntil(sendFromHere());
});

async function sendFromHere() {
  const pages = await self.clients.matchAll({ type: "window" });
  const shown = pages.filter((page) => page.visibilityState === "visible");
  if (shown.length) {
    // A page in front sends (and shows what it sends); one in the background may be frozen: not asked.
    shown.forEach((page) => page.postMessage({ type: "send-outbox" }));
    return;
  }
  const phone = await read("me");
  if (!phone || !(await read("tokens"))) return;
  await sendOutbox();
  try {
    await self.navigator.locks.request("gridsvc-patrols", () => sendPatrols(phone));
  } catch (error) {
    if (!(error instanceof Offline) && !(error instanceof ApiError)) throw error;
  }
  // Something still waits (no network after all, a busy service): fail the sync, so that the browser
  // tries it again later, as it does with a growing pause.
  if ((await outboxWaiting(phone)) || (await patrolsWaiting(phone))) throw new Error("还有未发送的内容");
}
