// The start-up data (my profile, my grids' outlines with village and township, the catalogue) and
// the base map's settings, kept in IndexedDB and revalidated with the ETag whenever there is a
// network: the app works from what it last had for days without one.

import { api, ApiError, Offline } from "./api.js";
import { read, write } from "./store.js";

/** What the app works from: {config, startup}; fresh when the service answers, else as last kept. */
export async function loadStartup() {
  let config = await read("config");
  try {
    config = await api("/api/v1/screen/config");
    await write("config", config);
  } catch (error) {
    if (!usable(error, config)) throw error;
  }
  const datum = config.datum;
  const kept = await read("startup");
  const known = kept && kept.crs === datum ? { "If-None-Match": kept.etag } : {};
  try {
    const answer = await api(`/mobile/v1/startup?crs=${datum}`, { raw: true, accept: [304], headers: known });
    if (answer.status === 200) {
      const startup = await answer.json();
      await write("startup", { etag: answer.headers.get("ETag"), crs: datum, data: startup });
      await write("me", startup.user.phone);
      return { config, startup };
    }
  } catch (error) {
    if (!usable(error, kept)) throw error;
  }
  return { config, startup: kept.data };
}

/** Whether to go on with what was kept: yes, whatever kept the service from answering (no network, a
 * proxy's 502, a busy 503), unless it said the sign-in is over (401) or nothing was kept. */
function usable(error, kept) {
  if (!kept) return false;
  return error instanceof Offline || (error instanceof ApiError && error.status !== 401);
}

/** Categories the user may report: those of the catalogue, recently used first. */
export async function recentCategories(catalogue) {
  const recent = (await read("recent_categories")) || [];
  return recent.map((code) => catalogue.categories.find((c) => c.code === code)).filter(Boolean);
}

export async function usedCategory(code) {
  const recent = ((await read("recent_categories")) || []).filter((c) => c !== code);
  await write("recent_categories", [code, ...recent].slice(0, 6));
}

/** Categories whose Chinese or English name, code or description holds the words. */
export function searchCategories(catalogue, words) {
  const needle = words.trim().toLowerCase();
  if (!needle) return [];
  return catalogue.categories.filter((c) => [c.name_zh, c.name_en, c.code, c.description_zh || ""]
    .some((text) => text.toLowerCase().includes(needle))).slice(0, 30);
}
