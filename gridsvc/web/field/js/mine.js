// 我的: the outbox (each report's state: 待发送 / 发送中 / 已受理 with its tracking number /
// 被退回 with the reason, to correct and send again), the cases of my grids waiting for my 核查,
// and the reports the service has from me with their progress (kept for when there is no network).
// A case opens in the case sheet (js/casesheet.js).

import { shown } from "./clock.js";
import { discard, itemStatus } from "./outbox.js";
import { outboxItems } from "./store.js";
import { keptList, showWorkList } from "./worklist.js";
import { refusal } from "./words.js";
import { $, element } from "./dom.js";

export class Mine {
  constructor(context, handlers) {
    this.context = context;
    this.handlers = handlers; // {onEdit(item), onOpenCase(trackingNo)}
  }

  async showOutbox() {
    const items = (await outboxItems()).filter((item) => item.phone === this.context.startup.user.phone);
    $("outbox-empty").hidden = items.length > 0;
    const waiting = items.filter((item) => item.state !== "accepted" || item.photos.some((p) => p.state === "waiting"));
    $("outbox-badge").hidden = waiting.length === 0;
    $("outbox-badge").textContent = String(waiting.length);
    $("outbox").replaceChildren(...items.slice().reverse().map((item) => this.outboxRow(item)));
  }

  outboxRow(item) {
    const row = element("li", `item state-${item.state}`);
    row.dataset.clientUuid = item.client_uuid;
    row.dataset.state = item.state;
    const category = this.context.startup.catalogue.categories.find((c) => c.code === item.body.category);
    row.append(element("strong", "", category ? category.name_zh : item.body.category),
      element("span", "status", itemStatus(item)));
    if (item.tracking_no) row.append(element("span", "tracking", item.tracking_no));
    row.append(element("p", "muted", item.body.description));
    const refusedPhotos = item.photos.filter((p) => p.state === "refused");
    if (refusedPhotos.length) row.append(element("p", "error", `照片未被接受：${refusedPhotos.map((p) => p.error).join("；")}`));
    if (item.state === "refused") {
      row.append(element("p", "error reason", refusal(item.error)));
      const edit = element("button", "secondary", "修改后重新发送");
      edit.type = "button";
      edit.addEventListener("click", () => this.handlers.onEdit(item));
      const drop = element("button", "secondary", "放弃");
      drop.type = "button";
      drop.addEventListener("click", () => discard(item.client_uuid));
      row.append(edit, drop);
    }
    if (item.tracking_no) row.addEventListener("click", (event) => {
      if (event.target.tagName !== "BUTTON") this.handlers.onOpenCase(item.tracking_no);
    });
    return row;
  }

  /** The cases of my grids handled and waiting for my 核查 (grid workers only). */
  async showVerifications() {
    if (this.context.startup.user.role !== "grid_worker") return;
    const rows = await showWorkList("/mobile/v1/my/verifications", "my_verifications", $("verification-list"),
      $("verifications-note"), { config: this.context.config, onOpen: (number, row) => this.handlers.onOpenCase(number, row) });
    $("verifications").hidden = rows.length === 0;
  }

  async showReports() {
    const listing = await keptList("/mobile/v1/my/reports?limit=50", "my_reports", $("reports-note"));
    const statuses = this.context.config.statuses;
    $("my-reports").replaceChildren(...(listing ? listing.cases : []).map((c) => {
      const row = element("li", "item");
      row.dataset.trackingNo = c.tracking_no;
      row.append(element("strong", "", c.tracking_no), element("span", "status", statuses[c.status] || c.status),
        element("p", "muted", `${c.grid && c.grid.name ? c.grid.name : "未定位到网格"} · ${c.department ? c.department.name_zh : "待派遣"} · 受理 ${shown(c.received_at)}`));
      row.addEventListener("click", () => this.handlers.onOpenCase(c.tracking_no));
      return row;
    }));
  }
}
