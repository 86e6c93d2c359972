// The case desk (案件台): the commander's queues, and a case's sheet with its photos, record,
// place and every step the signed-in user may take. The service decides who may do what
// (GET …/steps via the sheet); this page only offers what it is told and shows why a step failed.

import { api, imageUrl } from "./api.js";
import { escape, moment } from "./format.js";

const QUEUES = [
  { key: "new", label: "新上报", query: () => "status=reported" },
  { key: "location", label: "位置待确认", query: () => "flag=location_unconfirmed&status=reported,filed" },
  { key: "dispatch", label: "待派遣", query: () => "status=filed" },
  { key: "overdue", label: "超期", query: (open) => `overdue=true&status=${open.join(",")}` },
  { key: "verify", label: "待核查", query: () => "status=handled" },
];
const PAGE = 50;
// Steps that need what only a phone has on the spot: its position (到达现场), a photo (自行处置).
const PHONE_STEPS = new Set(["arrive", "self_handle"]);

export class CaseDesk {
  /** @param context {config, categories: Map, departments: [], map: NetworkMap, onChanged()} */
  constructor(elements, context) {
    this.el = elements;
    this.context = context;
    this.queue = QUEUES[0].key;
    this.open = null;  // tracking_no of the sheet on show
    this.shown = 0;  // request generations: only the latest answer is drawn
    this.listed = 0;
    this.photoUrls = [];
    this.drawnSeq = -1;  // the record_seq of the case the sheet shows
    this.el.queues.innerHTML = QUEUES.map((q) =>
      `<button data-queue="${q.key}">${q.label} <b class="count" data-count="${q.key}">…</b></button>`).join("");
    this.el.queues.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-queue]");
      if (button) { this.queue = button.dataset.queue; this.refresh(); }
    });
    this.el.list.addEventListener("click", (event) => {
      const item = event.target.closest("[data-tracking-no]");
      if (item) this.show(item.dataset.trackingNo);
    });
    this.el.sheet.addEventListener("click", (event) => {
      if (event.target.closest("[data-close]")) this.hide();
    });
  }

  categoryName(code) { return this.context.categories.get(code)?.name_zh ?? code; }

  /** Counts of every queue, and the rows of the chosen one. */
  async refresh() {
    for (const button of this.el.queues.querySelectorAll("button")) {
      button.classList.toggle("active", button.dataset.queue === this.queue);
    }
    const generation = ++this.listed;
    const open = this.context.config.open_statuses;
    const answers = await Promise.all(QUEUES.map((q) =>
      api(`/api/v1/cases?${q.query(open)}&limit=${q.key === this.queue ? PAGE : 1}`)));
    if (generation !== this.listed) return;  // a later refresh is under way
    QUEUES.forEach((q, i) => {
      this.el.queues.querySelector(`[data-count="${q.key}"]`).textContent = answers[i].total;
    });
    const chosen = answers[QUEUES.findIndex((q) => q.key === this.queue)];
    this.el.list.innerHTML = chosen.cases.length ? chosen.cases.map((c) => this.row(c)).join("")
      : `<li class="empty">暂无案件</li>`;
  }

  row(c) {
    const badges = [c.overdue_level > 0 ? `<span class="badge red">超期</span>` : "",
                    c.urgent ? `<span class="badge orange">紧急</span>` : "",
                    c.flags.length ? `<span class="badge yellow">待确认</span>` : ""].join("");
    return `<li data-tracking-no="${escape(c.tracking_no)}">
      <div class="line"><b>${escape(this.categoryName(c.category))}</b>${badges}
        <span class="status status-${c.status}">${escape(c.status_name_zh)}</span></div>
      <div class="line muted">${escape(c.tracking_no)} · ${escape(c.grid ?? "未定位")} · ${moment(c.received_at)}</div>
      <div class="line desc">${escape(c.description)}</div></li>`;
  }

  hide() {
    this.open = null;
    this.shown += 1;
    this.el.sheet.hidden = true;
    this.clear();
  }

  /** Let go of what the last sheet held: its small map and its photos' object URLs. */
  clear() {
    this.miniMap?.remove();
    this.miniMap = null;
    this.photoUrls.forEach((url) => URL.revokeObjectURL(url));
    this.photoUrls = [];
  }

  /** The open case changed (an event): redraw, unless the user is filling in a step, whose form a
   * redraw would wipe; then say so, and redraw when asked. */
  changedElsewhere() {
    const held = this.context.map.cases.get(this.open);
    if (held && held.record_seq <= this.drawnSeq) return;  // what the sheet shows already (the user's own step)
    if (this.el.sheet.querySelector(".step-form form")) {
      this.el.sheet.querySelector(".changed").hidden = false;
      return;
    }
    this.showOrClose(this.open, "案件已转出您的视野").catch((error) => console.error(error));
  }

  /** Show the case; if the user may no longer see it (it went to another department, say), close
   * the sheet and say why in the queue. */
  async showOrClose(trackingNo, why) {
    try {
      await this.show(trackingNo);
    } catch (exc) {
      if (exc.status !== 404) throw exc;
      this.hide();
      this.el.list.insertAdjacentHTML("afterbegin", `<li class="done">${escape(why)}：${escape(trackingNo)}</li>`);
    }
  }

  /** Open (or redraw) the sheet of a case. */
  async show(trackingNo) {
    const redraw = this.open === trackingNo && !this.el.sheet.hidden;
    this.open = trackingNo;
    const generation = ++this.shown;
    const [sheet, rows, photos] = await Promise.all([
      api(`/api/v1/screen/cases/${trackingNo}/sheet`),
      api(`/api/v1/screen/cases?tracking_no=${trackingNo}`),
      api(`/api/v1/cases/${trackingNo}/attachments`),
    ]);
    if (generation !== this.shown) return;  // another case was opened, or this one redrawn, meanwhile
    if (redraw && this.el.sheet.querySelector(".step-form form")) {  // a form was opened meanwhile: keep it
      this.el.sheet.querySelector(".changed").hidden = false;
      return;
    }
    this.clear();
    this.drawnSeq = sheet.case.record_seq;
    const c = sheet.case;
    const names = sheet.names;
    const flags = c.flags.map((f) => `<span class="badge yellow">${escape(this.context.config.flags[f] ?? f)}</span>`);
    this.el.sheet.hidden = false;
    this.el.sheet.innerHTML = `
      <header><h2>${escape(c.tracking_no)} <span class="status status-${c.status}">${escape(c.status_name_zh)}</span>
        ${c.urgent ? '<span class="badge orange">紧急</span>' : ""}</h2><button data-close title="关闭">✕</button></header>
      <p class="changed" hidden>案件已被他人更新 <button data-reload>刷新</button></p>
      ${this.clock(sheet.clock)}
      <dl class="facts">
        <dt>事项类别</dt><dd>${escape(names.category?.name_zh ?? c.category)}
          <span class="muted">${escape(names.category?.name_en ?? "")} · ${escape(c.category)}</span></dd>
        <dt>问题描述</dt><dd>${escape(c.description)}</dd>
        <dt>所在网格</dt><dd>${escape(names.grid ?? "未定位")} <span class="muted">${escape(c.grid ?? "")}</span></dd>
        <dt>村（社区）</dt><dd>${escape(names.village ?? "—")} · ${escape(names.township ?? "")}</dd>
        <dt>责任部门</dt><dd>${escape(names.department?.name_zh ?? "未指定")}${names.team ? " · " + escape(names.team.name_zh) : ""}</dd>
        <dt>上报人</dt><dd>${escape(names.reporter?.name ?? "—")}</dd>
        <dt>上报时间</dt><dd>${moment(c.received_at)}</dd>
        <dt>办理期限</dt><dd>${moment(c.handling_due_at)}</dd>
        ${flags.length ? `<dt>待确认</dt><dd>${flags.join(" ")}</dd>` : ""}
      </dl>
      <div class="photos">${photos.attachments.map((p) =>
        `<img data-thumbnail="${escape(p.urls.thumbnail)}" alt="现场照片">`).join("") || '<span class="muted">无照片</span>'}</div>
      <div class="mini-map"></div>
      <section class="actions"><h3>办理</h3>${this.actions(sheet.steps)}<div class="step-form"></div>
        <p class="error" role="alert"></p></section>
      <section class="timeline"><h3>办理记录</h3><ol>${sheet.record.map((e) => `
        <li><time>${moment(e.at)}</time> <b>${escape(e.action_zh)}</b> ${escape(e.actor ?? "系统")}
          ${e.note ? `<div class="note">${escape(e.note)}</div>` : ""}</li>`).join("")}</ol></section>`;
    for (const img of this.el.sheet.querySelectorAll("img[data-thumbnail]")) {
      imageUrl(img.dataset.thumbnail).then((url) => {
        if (generation !== this.shown) { URL.revokeObjectURL(url); return; }
        this.photoUrls.push(url);
        img.src = url;
      }).catch(() => img.remove());
    }
    this.drawPlace(c, rows);
    this.el.sheet.querySelector(".actions").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-step]");
      if (button) this.stepForm(c, names, sheet.steps.find((s) => s.step === button.dataset.step));
    });
    this.el.sheet.querySelector("[data-reload]").addEventListener("click", () => {
      this.el.sheet.querySelector(".step-form").innerHTML = "";  // the user chose the new state over the form
      this.showOrClose(trackingNo, "案件已转出您的视野");
    });
  }

  clock(clock) {
    if (!clock) return "";
    const hours = Math.abs(clock.working_hours_left).toFixed(1);
    const text = clock.overdue ? `已超期 ${hours} 个工作小时` : `还剩 ${hours} 个工作小时`;
    return `<p class="clock ${clock.overdue ? "overdue" : ""}">${escape(clock.stage_zh)}：${text}
      <span class="muted">（截止 ${moment(clock.due_at)}）</span></p>`;
  }

  actions(steps) {
    const here = steps.filter((s) => !PHONE_STEPS.has(s.step));
    const phone = steps.filter((s) => PHONE_STEPS.has(s.step)).map((s) => escape(s.label_zh));
    const note = phone.length ? `<p class="muted">${phone.join("、")}需在手机端现场办理</p>` : "";
    if (!here.length) return `<p class="muted">您当前无可办理的环节</p>${note}`;
    return here.map((s) => `<button class="step" data-step="${escape(s.step)}">${escape(s.label_zh)}</button>`)
      .join("") + note;
  }

  drawPlace(c, rows) {
    const holder = this.el.sheet.querySelector(".mini-map");
    const row = rows.rows[0];
    if (!row) { holder.remove(); return; }
    const [lon, lat] = [row[rows.fields.indexOf("lon")], row[rows.fields.indexOf("lat")]];
    this.miniMap = L.map(holder, { zoomControl: false, attributionControl: false }).setView([lat, lon], 16);
    const basemap = this.context.config.basemap;
    if (basemap) L.tileLayer(basemap.url, { subdomains: basemap.subdomains || "abc" }).addTo(this.miniMap);
    const grid = c.grid && this.context.map.gridLayers.get(c.grid);
    if (grid) L.geoJSON(grid.feature, { style: { color: "#ff00ff", weight: 2, fillOpacity: 0.1 } }).addTo(this.miniMap);
    L.circleMarker([lat, lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#ef4444", fillOpacity: 1 })
      .addTo(this.miniMap);
  }

  /** The fields a step reads (docs/workflow.md), then the request. */
  stepForm(c, names, step) {
    const form = this.el.sheet.querySelector(".step-form");
    const parts = [];
    const options = (list, chosen) => list.map((d) => `<option value="${escape(d.code)}"
      ${d.code === chosen ? "selected" : ""}>${escape(d.name_zh)}</option>`).join("");
    // 派遣: a department of the case's township or county (the routed one first); 上报县级: one of its
    // county's, or none, and the service takes the one the responsibility list names.
    // A category the township may not act on (行政处罚, 行政许可 …) goes to a county department only.
    const countyOnly = step.step === "escalate" || names.category?.township_may_act === false;
    const departments = this.context.departments.filter((d) =>
      (d.admin_code === c.county && (!countyOnly || d.level === "county")) || (!countyOnly && d.admin_code === c.township));
    if (step.step === "dispatch") {
      const routed = departments.some((d) => d.code === c.department);
      parts.push(`<label>部门 <select name="department" required>${routed ? "" : '<option value="">请选择部门</option>'}
        ${options(departments, c.department)}</select></label>`);
    }
    if (step.step === "escalate") {
      parts.push(`<label>县级部门 <select name="department"><option value="">按责任清单确定</option>
        ${options(departments, null)}</select></label>`);
    }
    if (step.step === "dispatch") parts.push('<label>队伍 <select name="team"></select></label>');
    if (step.step === "file") {
      parts.push(`<label>确认网格 <input name="grid" value="${escape(c.grid ?? "")}" pattern="\\d{15}"></label>`);
    }
    if (step.step === "request_extension") parts.push('<label>延期至 <input type="datetime-local" name="until" required></label>');
    if (step.step === "merge") parts.push('<label>并入案件 <input name="into" placeholder="案件编号" required></label>');
    if (step.needs_note) parts.push('<label>说明 <textarea name="note" required rows="3"></textarea></label>');
    form.innerHTML = `<form data-step="${step.step}">${parts.join("")}
      <button type="submit" class="primary">确认${escape(step.label_zh)}</button></form>`;
    const element = form.querySelector("form");
    const teams = element.querySelector("select[name=team]");
    const fillTeams = () => {
      const chosen = this.context.departments.find((d) => d.code === element.department.value);
      teams.innerHTML = '<option value="">（不指定）</option>' + (chosen?.teams ?? []).map((t) =>
        `<option value="${escape(t.code)}">${escape(t.name_zh)}</option>`).join("");
    };
    if (teams) { fillTeams(); element.department.addEventListener("change", fillTeams); }
    element.addEventListener("submit", (event) => {
      event.preventDefault();
      this.take(c, step, new FormData(element));
    });
  }

  async take(c, step, data) {
    const body = { expected_seq: c.record_seq };
    for (const [name, value] of data.entries()) {
      if (value === "") continue;
      body[name] = name === "until" ? `${value}:00+08:00` : value;  // the office's time, whatever the PC's zone
    }
    const error = this.el.sheet.querySelector(".error");
    try {
      await api(`/api/v1/cases/${c.tracking_no}/steps/${step.step}`, { method: "POST", json: body });
    } catch (exc) {
      error.textContent = exc.describe ? exc.describe() : String(exc);
      return;
    }
    this.context.onChanged([c.tracking_no]);
    this.el.sheet.querySelector(".step-form").innerHTML = "";  // done with it: the sheet is drawn again
    // After 退回 the case may have left the user's view: then the sheet closes.
    await this.showOrClose(c.tracking_no, `已${step.label_zh}`);
  }
}
