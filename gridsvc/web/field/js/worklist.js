// A list of cases to work on (任务, 待核查): each row shows what, where, and by when, from one call
// (/mobile/v1/my/tasks or /my/verifications); the list last seen is kept for when there is no network.

import { api, Offline } from "./api.js";
import { offsetMs, shown, untilDeadline } from "./clock.js";
import { read, write } from "./store.js";
import { element } from "./dom.js";

/** A list of cases from the service (`url`), kept under `key` for when there is no network: {cases,
 * total, at} as read now, or as last read (the `note` then says when), or null if never read. */
export async function keptList(url, key, note) {
  try {
    const answer = await api(url);
    const fresh = { cases: answer.cases, total: answer.total, at: new Date().toISOString() };
    await write(key, fresh);
    note.textContent = "";
    return fresh;
  } catch (error) {
    if (!(error instanceof Offline)) throw error;
    const kept = await read(key);
    note.textContent = kept ? `无网络：显示 ${shown(kept.at)} 的记录` : "无网络，暂无记录";
    return kept || null;
  }
}

/** Load `path` into the list `element` (rows open with `onOpen(trackingNo, row)`); answers the rows. */
export async function showWorkList(path, key, list, note, { config, onOpen }) {
  const kept = await keptList(`${path}?crs=${config.datum}&limit=100`, key, note);
  if (kept && note.textContent === "" && kept.total > kept.cases.length) {
    note.textContent = `共 ${kept.total} 件，显示期限最近的 ${kept.cases.length} 件`;
  }
  const offset = await offsetMs();
  const rows = kept ? kept.cases : [];
  list.replaceChildren(...rows.map((c) => {
    const row = element("li", `item${c.urgent ? " urgent" : ""}`);
    row.dataset.trackingNo = c.tracking_no;
    row.append(element("strong", "", c.category_name_zh || c.category),
      element("span", "status", c.status_name_zh || config.statuses[c.status] || c.status),
      ...(c.urgent ? [element("span", "urgent-tag", "紧急")] : []),
      element("p", "", c.description || ""),
      element("p", "muted", `${c.grid && c.grid.name ? c.grid.name : ""} · 期限 ${shown(c.stage_due_at)} ${untilDeadline(c.stage_due_at, offset)}`));
    row.addEventListener("click", () => onOpen(c.tracking_no, c));
    return row;
  }));
  return rows;
}
