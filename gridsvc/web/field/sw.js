// The field app's service worker (gridsvc/web/field_web.py writes VERSION and SHELL in).
//
// - The app shell is precached at install, into a cache named by VERSION, so that the app opens
//   with no network after the first visit; an update installs whole, then the old cache goes.
// - Pages and files of the shell are answered from that cache (the page is one URL, /m/).
//   API requests are never cached here: the app keeps its data in IndexedDB (js/store.js).
// - Background Sync: when the browser wakes the worker because the network is back, an open page
//   of the app is asked to send its outbox and its patrols; with no page open, the worker sends them.

import { Offline, ApiError } from "./js/api.js";
import { sendOutbox } from "./js/outbox.js";
import { sendPatrols } from "./js/patrol_outbox.js";
import { read } from "./js/store.js";

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `gridsvc-field-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
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
  if (pages.length) {
    pages.forEach((page) => page.postMessage({ type: "send-outbox" }));
    return;
  }
  await sendOutbox();
  const phone = await read("me");
  if (!phone || !(await read("tokens"))) return;
  try {
    await self.navigator.locks.request("gridsvc-patrols", () => sendPatrols(phone));
  } catch (error) {
    if (!(error instanceof Offline) && !(error instanceof ApiError)) throw error;
    // still no network, or signed out: the browser tries the sync again later, the app when it opens
  }
}
