// One case on the phone: what it is, where (with 导航 in AMap or Baidu Maps), by when, what was
// done (the record as a timeline), and the steps this user may take now: 签收, 到达现场 (with the
// phone's position), 证据照片, 处置反馈 (with a photo where the category asks for one), 延期申请,
// 退回, and for a grid worker 核查通过 / 返工 (with a note and a photo) and 自行处置.
// Steps need a network: the service decides them against the case as it stands now.

import gcoord from "../vendor/gcoord/gcoord.esm-browser.prod.js";
import { api, ApiError, Offline } from "./api.js";
import { offsetMs, shown, untilDeadline } from "./clock.js";
import { $, element } from "./dom.js";
import { refusal } from "./words.js";

// What each step asks for besides a note (the service says which steps need one).
const WITH_PHOTO = new Set(["feedback", "rework", "self_handle"]);
const WITH_POSITION = new Set(["arrive"]);
const WITH_UNTIL = new Set(["request_extension"]);

/** 导航 links: AMap takes GCJ-02 (coordinate=gaode), Baidu Maps BD-09 (coord_type=bd09ll). The case's
 * point is CGCS2000, which matches WGS84 to well under a metre. */
function navigationLinks({ lon, lat }, name) {
  const [gx, gy] = gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02);
  const [bx, by] = gcoord.transform([lon, lat], gcoord.WGS84, gcoord.BD09);
  const label = encodeURIComponent(name);
  return {
    amap: `https://uri.amap.com/marker?position=${gx.toFixed(6)},${gy.toFixed(6)}&name=${label}&coordinate=gaode&callnative=1`,
    baidu: `https://api.map.baidu.com/marker?location=${by.toFixed(6)},${bx.toFixed(6)}&title=${label}&content=${label}&coord_type=bd09ll&output=html&src=gridsvc.field`,
  };
}

function currentPosition() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) reject(new Error("此手机不支持定位"));
    else navigator.geolocation.getCurrentPosition(resolve, () => reject(new Error("无法获取当前位置")),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
  });
}

export class CaseSheet {
  constructor(context, handlers) {
    this.context = context;
    this.handlers = handlers; // {onBack()}
    this.trackingNo = null;
    $("case-back").addEventListener("click", () => this.handlers.onBack());
  }

  /** A grid's name where the phone knows it (my grids, or the list row the case was opened from), else its code. */
  gridName(code) {
    const fromRow = this.row?.grid?.code === code ? this.row.grid.name : null;
    return this.context.startup.grids.find((g) => g.code === code)?.name || fromRow || code;
  }

  category(code) { return this.context.startup.catalogue.categories.find((c) => c.code === code) || null; }

  /** Show a case; `row`, the list's row it was opened from, if any, lends names the case itself lacks. */
  async show(trackingNo, row = null) {
    this.trackingNo = trackingNo;
    this.row = row;
    $("case-title").textContent = trackingNo;
    $("case-summary").textContent = "正在读取…";
    for (const id of ["case-facts", "case-actions", "case-step", "case-record"]) $(id).replaceChildren();
    try {
      const [c, steps, record] = await Promise.all([api(`/mobile/v1/cases/${trackingNo}`),
        api(`/mobile/v1/cases/${trackingNo}/steps`), api(`/mobile/v1/cases/${trackingNo}/record`)]);
      if (trackingNo !== this.trackingNo) return;
      this.case = c;
      await this.showFacts(c);
      this.showActions(steps.steps);
      this.showRecord(record.record);
    } catch (error) {
      $("case-summary").textContent = error instanceof Offline ? "无网络：有网络时可查看与办理" : error.message;
    }
  }

  async showFacts(c) {
    const { config } = this.context;
    const category = this.category(c.category);
    $("case-title").textContent = `${category ? category.name_zh : c.category} · ${c.tracking_no}`;
    $("case-summary").textContent = `${c.status_name_zh || config.statuses[c.status]}${c.urgent ? " · 紧急" : ""}：${c.description}`;
    const offset = await offsetMs();
    const facts = [
      c.grid ? `网格：${this.gridName(c.grid)}` : null,
      c.stage_due_at ? `本环节期限：${shown(c.stage_due_at)}（${untilDeadline(c.stage_due_at, offset)}）` : null,
      c.handling_due_at ? `处置期限：${shown(c.handling_due_at)}` : null,
      (c.flags || []).length ? `提示：${c.flags.map((f) => config.flags[f] || f).join("；")}` : null,
    ].filter(Boolean);
    $("case-facts").replaceChildren(...facts.map((text) => element("li", "", text)));
    if (c.point) {
      const links = navigationLinks(c.point, category ? category.name_zh : c.tracking_no);
      const amap = Object.assign(element("a", "button secondary", "高德导航"), { href: links.amap, target: "_blank", rel: "noopener" });
      const baidu = Object.assign(element("a", "button secondary", "百度导航"), { href: links.baidu, target: "_blank", rel: "noopener" });
      amap.dataset.nav = "amap";
      baidu.dataset.nav = "baidu";
      const row = element("li", "row");
      row.append(amap, baidu);
      $("case-facts").append(row);
    }
  }

  showActions(steps) {
    const buttons = steps.map((step) => {
      const button = element("button", "secondary", step.label_zh);
      button.type = "button";
      button.dataset.step = step.step;
      button.addEventListener("click", () => this.openStep(step));
      return button;
    });
    if (this.mayAttach()) {
      const evidence = element("button", "secondary", "证据照片");
      evidence.type = "button";
      evidence.dataset.step = "evidence";
      evidence.addEventListener("click", () => this.openStep({ step: "evidence", label_zh: "证据照片", needs_note: false }));
      buttons.push(evidence);
    }
    $("case-actions").replaceChildren(...buttons);
  }

  mayAttach() {
    const role = this.context.startup.user.role;
    return ["enforcement_officer", "department_handler"].includes(role) && ["dispatched", "handling"].includes(this.case.status);
  }

  /** The small form of one step: what it asks for, and 确定. */
  openStep(step) {
    const form = element("form", "step-form");
    form.dataset.step = step.step;
    form.append(element("h3", "", step.label_zh));
    const photoRequired = step.step === "feedback" && this.category(this.case.category)?.feedback_photo_required;
    if (step.needs_note || ["rework", "send_back", "request_extension", "verify", "feedback", "self_handle"].includes(step.step)) {
      const note = Object.assign(element("textarea"), { name: "note", rows: 2, maxLength: 2000, placeholder: step.needs_note ? "请填写说明（必填）" : "说明（选填）" });
      form.append(note);
    }
    if (WITH_UNTIL.has(step.step)) {
      const until = element("label", "", "延期至");
      until.append(Object.assign(element("input"), { name: "until", type: "date", required: true }));
      form.append(until);
    }
    if (WITH_PHOTO.has(step.step) || step.step === "evidence") {
      const label = element("label", "button secondary", photoRequired ? "拍照（本类别须附照片）" : "拍照或选择照片");
      const input = Object.assign(element("input"), { name: "photo", type: "file", accept: "image/*", multiple: true, hidden: true });
      label.append(input);
      const count = element("span", "muted photo-count", "");
      input.addEventListener("change", () => { count.textContent = input.files.length ? `已选 ${input.files.length} 张` : ""; });
      form.append(label, count);
    }
    if (WITH_POSITION.has(step.step)) form.append(element("p", "muted", "将使用手机当前位置，并与案件位置比对距离。"));
    const error = element("p", "error", "");
    const submit = element("button", "primary", "确定");
    submit.type = "submit";
    form.append(error, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = "";
      try {
        await this.take(step, form, photoRequired);
        await this.show(this.trackingNo, this.row);
      } catch (failure) {
        error.textContent = failure instanceof Offline ? "无网络：请在有网络时办理" : failure instanceof ApiError ? refusal(failure) : failure.message;
      } finally {
        submit.disabled = false;
      }
    });
    $("case-step").replaceChildren(form);
    form.scrollIntoView({ block: "nearest" });
  }

  async take(step, form, photoRequired) {
    const files = form.photo ? [...form.photo.files] : [];
    if ((photoRequired || step.step === "evidence") && !files.length) throw new Error("请先拍照或选择照片");
    if (step.needs_note && !form.note.value.trim()) throw new Error("请填写说明");
    const attachments = [];
    for (const file of files) {
      const body = new FormData();
      body.append("photo", file, file.name || "photo.jpg");
      attachments.push((await api(`/mobile/v1/cases/${this.trackingNo}/attachments`, { method: "POST", body })).id);
    }
    if (step.step === "evidence") return;
    const body = { note: form.note ? form.note.value.trim() || null : null, attachments, expected_seq: await this.expectedSeq(attachments.length) };
    if (form.until) body.until = new Date(`${form.until.value}T18:00:00+08:00`).toISOString();
    if (WITH_POSITION.has(step.step)) {
      const { coords } = await currentPosition();
      Object.assign(body, { lon: coords.longitude, lat: coords.latitude, crs: "wgs84" });
    }
    await api(`/mobile/v1/cases/${this.trackingNo}/steps/${step.step}`, { method: "POST", json: body });
  }

  /** The record_seq the step is taken against: as shown, plus the entries this phone's own photos just
   * added (at most one each). Anything more was someone else's doing: refuse, as the service would. */
  async expectedSeq(uploads) {
    if (!uploads) return this.case.record_seq;
    const now = (await api(`/mobile/v1/cases/${this.trackingNo}`)).record_seq;
    if (now - this.case.record_seq > uploads) throw new Error("案件已被他人更新，请返回后重新打开");
    return now;
  }

  showRecord(entries) {
    const statuses = this.context.config.statuses;
    $("case-record").replaceChildren(...entries.map((entry) => {
      const item = element("li", "");
      item.dataset.action = entry.action;
      item.append(element("time", "", shown(entry.at)), element("strong", "", entry.action_name_zh || "办理记录"));
      if (entry.to_status && entry.to_status !== entry.from_status) item.append(element("span", "", ` → ${statuses[entry.to_status] || ""}`));
      if (entry.data && typeof entry.data.distance_m === "number") item.append(element("span", "muted", `（距案件位置 ${Math.round(entry.data.distance_m)} 米）`));
      if (entry.note) item.append(element("p", "muted", entry.note));
      return item;
    }));
  }
}
