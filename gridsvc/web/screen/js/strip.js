// The event strip (实时动态): a band along the foot of the map, in type large enough to read from
// the back of a command room, with the newest event first — what happened, to which category, where
// (village and grid, by name), and when. A click brings the case on the map and opens its sheet.

import { escape, moment } from "./format.js";

const KEPT = 30;  // items kept; the band shows as many as fit

export class EventStrip {
  /** @param element the <ol> @param onPick(trackingNo) */
  constructor(element, onPick) {
    this.el = element;
    this.el.addEventListener("click", (event) => {
      const item = event.target.closest("li[data-tracking-no]");
      if (item) onPick(item.dataset.trackingNo);
    });
  }

  /** One item, newest first.
   * @param item {label, trackingNo, className, at: ISO, category?, place?} */
  add(item) {
    const li = document.createElement("li");
    li.dataset.trackingNo = item.trackingNo;
    li.className = `${item.className} fresh`;
    const parts = [item.category, item.place].filter(Boolean).map((p) => `<span>${escape(p)}</span>`);
    li.innerHTML = `<b>${escape(item.label)}</b>${parts.join("")}<time>${moment(item.at)}</time>`;
    li.title = item.trackingNo;
    this.el.prepend(li);
    setTimeout(() => li.classList.remove("fresh"), 4000);
    while (this.el.children.length > KEPT) this.el.lastChild.remove();
  }
}
