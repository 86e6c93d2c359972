// A case marker's pop-up: what the case is, how it stands, where and since when, and a button to its
// sheet. A Leaflet popup rather than the browser's tooltip: it can be read on a touch wall, holds
// the button, and stays open while live changes redraw the markers under it. The time is the phone's
// (`reported_at`: a report queued offline is uploaded later), with the upload's after it when they differ.

import { escape, reportedMoment } from "./format.js";

/** The pop-up's HTML for a case row of the map.
 * @param names {category, status, place}: the row's codes as names */
export function casePopup(row, names) {
  const badges = [row.overdue_level > 0 ? '<span class="badge red">超期</span>' : "",
                  row.urgent ? '<span class="badge orange">紧急</span>' : "",
                  row.flagged ? '<span class="badge yellow">待确认</span>' : ""].join("");
  return `<div class="case-popup-body" data-tracking-no="${escape(row.tracking_no)}">
    <h3>${escape(names.category)}</h3>
    <p><span class="status status-${escape(row.status)}">${escape(names.status)}</span>${badges}</p>
    <p>${escape(names.place)}</p>
    <p>上报于 ${reportedMoment(row)}</p>
    <p class="muted">${escape(row.tracking_no)}</p>
    <button class="primary" data-open-sheet>查看案件</button></div>`;
}
