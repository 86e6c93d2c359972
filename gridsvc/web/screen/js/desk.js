// The case desk (案件台): the commander's queues, and a case's sheet with its photos, record,
// place and every step the signed-in user may take. The service decides who may do what
// (GET …/steps via the sheet); this page only offers what it is told and shows why a step failed.

import { api, imageUrl } from "./api.js";
import { escape, moment, reportedMoment } from "./format.js";
import { correctionForm, mayCorrect, previewAsTyped, publicNoteField, publishedNotes } from "./public_note.js";
import { CaseFilePreview, downloadCaseFile } from "./casefile.js";
import { PhotoViewer } from "./photos.js";

const OVERDUE = { key: "overdue", label: "超期", query: (open) => `overdue=true&status=${open.join(",")}` };
// The queues of each desk. A township's (its commander's, and every role's but the county's) follows its
// cases from intake to verification. The county supervisor's (县级督办) holds what reached the county: the
// open cases escalated to a county department (上报县级), those the deadline sweep alerted the county of
// (县级预警: still overdue a while after the deadline), those under 督办, and all that is overdue.
const QUEUES = {
  township: [
    { key: "new", label: "新上报", query: () => "status=reported" },
    // Every flag that asks where the case is (`location_flags`: a boundary, an accuracy circle across one, a spot
    // placed by hand), so that no 待确认 badge of the kind sits outside this queue; 立案 with the grid ends them.
    { key: "location", label: "位置待确认",
      query: (open, config) => `flag=${config.location_flags.join(",")}&status=reported,filed` },
    { key: "dispatch", label: "待派遣", query: () => "status=filed" },
    OVERDUE,
    { key: "verify", label: "待核查", query: () => "status=handled" },
  ],
  county: [
    { key: "escalated", label: "上报县级", query: (open) => `escalated=true&status=${open.join(",")}` },
    { key: "county_alert", label: "县级预警", query: (open) => `county_alerted=true&status=${open.join(",")}` },
    { key: "supervised", label: "督办中", query: (open) => `supervised=true&status=${open.join(",")}` },
    OVERDUE,
  ],
};
const DESK_OF_ROLE = { county_supervisor: "county" };
const PAGE = 50;
// Steps that need what only a phone has on the spot: its position (到达现场), a photo (自行处置).
const PHONE_STEPS = new Set(["arrive", "self_handle"]);

export class CaseDesk {
  /** @param context {config, role: the user's, categories: Map, departments: [], map: NetworkMap,
   *   townships: Map code → name of the area's townships (filled when the map is read), onChanged()} */
  constructor(elements, context) {
    this.el = elements;
    this.context = context;
    this.queues = QUEUES[DESK_OF_ROLE[context.role] ?? "township"];
    this.queue = this.queues[0].key;
    this.open = null;  // tracking_no of the sheet on show
    this.shown = 0;  // request generations: only the latest answer is drawn
    this.listed = 0;
    this.photoUrls = [];
    this.drawnSeq = -1;  // the record_seq of the case the sheet shows
    this.actOn = new Set(context.config.flags_to_act_on);  // flags that ask for a decision: 待确认
    this.viewer = new PhotoViewer();
    this.photos = [];  // the open case's photos as the viewer shows them
    this.evidence = null;  // the open case's photos of the result, for 核查 (the sheet's `evidence`)
    this.caseFile = new CaseFilePreview();
    this.el.queues.innerHTML = this.queues.map((q) =>
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
      const photo = event.target.closest("[data-photo]");
      if (photo) this.viewer.open(this.photos, Number(photo.dataset.photo));
      const file = event.target.closest("[data-case-file]");
      if (file) this.fileAction(file.dataset.caseFile).catch((exc) => this.say(exc));
    });
  }

  /** 打印案卷 or 下载PDF for the open case. */
  async fileAction(action) {
    if (action === "print") await this.caseFile.print(this.open);
    else await downloadCaseFile(this.open);
  }

  say(exc) {
    const error = this.el.sheet.querySelector(".error");
    if (error) error.textContent = exc.describe ? exc.describe() : String(exc);
  }

  categoryName(code) { return this.context.categories.get(code)?.name_zh ?? code; }

  /** Counts of every queue, and the rows of the chosen one. */
  async refresh() {
    for (const button of this.el.queues.querySelectorAll("button")) {
      button.classList.toggle("active", button.dataset.queue === this.queue);
    }
    const generation = ++this.listed;
    const open = this.context.config.open_statuses;
    const answers = await Promise.all(this.queues.map((q) =>
      api(`/api/v1/cases?${q.query(open, this.context.config)}&limit=${q.key === this.queue ? PAGE : 1}`)));
    if (generation !== this.listed) return;  // a later refresh is under way
    this.queues.forEach((q, i) => {
      this.el.queues.querySelector(`[data-count="${q.key}"]`).textContent = answers[i].total;
    });
    const chosen = answers[this.queues.findIndex((q) => q.key === this.queue)];
    this.el.list.innerHTML = chosen.cases.length ? chosen.cases.map((c) => this.row(c, chosen.places)).join("")
      : `<li class="empty">暂无案件</li>`;
  }

  /** `places`: the list's names of grids, villages and townships by code. */
  row(c, places) {
    const badges = [c.overdue_level > 1 ? `<span class="badge red">县级预警</span>`
                      : c.overdue_level > 0 ? `<span class="badge red">超期</span>` : "",
                    c.escalated ? `<span class="badge blue">上报县级</span>` : "",
                    c.supervision_count ? `<span class="badge purple">督办 ${c.supervision_count}</span>` : "",
                    c.urgent ? `<span class="badge orange">紧急</span>` : "",
                    c.flags.some((f) => this.actOn.has(f)) ? `<span class="badge yellow">待确认</span>` : ""].join("");
    // An area of several townships (a county's) names each case's township first.
    const townships = this.context.townships;
    const township = townships.size > 1
      ? `<span class="township" data-township="${escape(c.township ?? "")}">${escape(townships.get(c.township) ?? "未定位")}</span>` : "";
    return `<li data-tracking-no="${escape(c.tracking_no)}">
      <div class="line">${township}<b>${escape(this.categoryName(c.category))}</b>${badges}
        <span class="status status-${c.status}">${escape(c.status_name_zh)}</span></div>
      <div class="line muted">${escape(c.tracking_no)} · ${gridName(c.grid, places[c.grid])} · ${reportedMoment(c)}</div>
      <div class="line desc">${escape(c.description)}</div></li>`;
  }

  hide() {
    this.open = null;
    this.shown += 1;
    this.el.sheet.hidden = true;
    this.viewer.close();
    this.caseFile.close();  // a file of a case that left the user's view, or a sheet closed under it
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
  /** Draw the case's sheet. Resolves with its map row (GET /api/v1/screen/cases, in the map's datum) for a
   * caller that also shows the case on the map; with nothing when another case was opened meanwhile. */
  async show(trackingNo) {
    const redraw = this.open === trackingNo && !this.el.sheet.hidden;
    if (!redraw) this.viewer.close();  // another case's photos; a redraw (a live change) leaves them on show
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
      return rows;
    }
    this.clear();
    this.drawnSeq = sheet.case.record_seq;
    const c = sheet.case;
    const names = sheet.names;
    this.evidence = sheet.evidence;
    this.mergeCandidates = sheet.merge_candidates;
    this.photos = viewerPhotos(photos.attachments, sheet);
    // Flags to act on as yellow badges (待确认); the ones that only inform, plainly (提示).
    const flagName = (f) => escape(this.context.config.flags[f] ?? f);
    const toConfirm = c.flags.filter((f) => this.actOn.has(f)).map((f) => `<span class="badge yellow">${flagName(f)}</span>`);
    const toKnow = c.flags.filter((f) => !this.actOn.has(f)).map((f) => `<span class="flag-info">${flagName(f)}</span>`);
    this.el.sheet.hidden = false;
    this.el.sheet.innerHTML = `
      <header><h2>${escape(c.tracking_no)} <span class="status status-${c.status}">${escape(c.status_name_zh)}</span>
        ${c.urgent ? '<span class="badge orange">紧急</span>' : ""}</h2><button data-close title="关闭">✕</button></header>
      <p class="changed" hidden>案件已被他人更新 <button data-reload>刷新</button></p>
      <p class="file-tools"><button data-case-file="print">打印案卷</button>
        <button data-case-file="pdf">下载PDF</button></p>
      ${this.clock(sheet.clock)}
      <dl class="facts">
        <dt>事项类别</dt><dd>${escape(names.category?.name_zh ?? c.category)}
          <span class="muted">${escape(names.category?.name_en ?? "")} · ${escape(c.category)}</span>
          ${names.category?.feedback_photo_required ? '<span class="badge blue">反馈须附照片</span>' : ""}</dd>
        <dt>问题描述</dt><dd>${escape(c.description)}</dd>
        <dt>所在网格</dt><dd>${gridName(c.grid, names.grid)}</dd>
        <dt>村（社区）</dt><dd>${escape(names.village ?? "—")} · ${escape(names.township ?? "")}</dd>
        <dt>责任部门</dt><dd>${escape(names.department?.name_zh ?? "未指定")}${names.team ? " · " + escape(names.team.name_zh) : ""}</dd>
        <dt>上报人</dt><dd>${escape(names.reporter?.name ?? "—")}</dd>
        <dt>上报时间</dt><dd>${reportedMoment(c)}</dd>
        <dt>办理期限</dt><dd>${moment(c.handling_due_at)}</dd>
        ${toConfirm.length ? `<dt>待确认</dt><dd>${toConfirm.join(" ")}</dd>` : ""}
        ${toKnow.length ? `<dt>提示</dt><dd>${toKnow.join("；")}</dd>` : ""}
      </dl>
      <div class="photos">${photos.attachments.map((p) => `<button class="thumb ${p.location_mismatch ? "mismatch" : ""}"
        data-photo="${p.id}" title="${escape(p.location_check_zh)}"><img data-thumbnail="${escape(p.urls.thumbnail)}"
        alt="照片 #${p.id}">${sheet.evidence.result_photos.includes(p.id) ? '<span class="tag">处置</span>' : ""}</button>`)
        .join("") || '<span class="muted">无照片</span>'}</div>
      <div class="mini-map"></div>
      <section class="actions"><h3>办理</h3>${this.actions(sheet.steps)}
        ${mayCorrect(sheet.public_notes) ? '<button class="step" data-correct-note>更正公示说明</button>' : ""}
        <div class="step-form"></div><p class="error" role="alert"></p></section>
      ${publishedNotes(sheet.public_notes)}
      <section class="timeline"><h3>办理记录</h3><ol>${sheet.record.map(recordEntry).join("")}</ol></section>`;
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
      if (event.target.closest("button[data-correct-note]")) this.noteCorrection(c, sheet.public_notes);
    });
    this.el.sheet.querySelector("[data-reload]").addEventListener("click", () => {
      this.el.sheet.querySelector(".step-form").innerHTML = "";  // the user chose the new state over the form
      this.showOrClose(trackingNo, "案件已转出您的视野");
    });
    return rows;
  }

  /** The current stage's deadline: in working hours, or for 签收 (a dispatched case) in minutes. */
  clock(clock) {
    if (!clock) return "";
    const left = clock.minutes_left === undefined ? `${Math.abs(clock.working_hours_left).toFixed(1)} 个工作小时`
      : `${Math.abs(clock.minutes_left)} 分钟`;
    const text = clock.overdue ? `已超期 ${left}` : `还剩 ${left}`;
    const acknowledged = clock.acknowledged_at ? `，${moment(clock.acknowledged_at)} 已确认收到派遣` : "";
    return `<p class="clock ${clock.overdue ? "overdue" : ""}">${escape(clock.stage_zh)}：${text}
      <span class="muted">（截止 ${moment(clock.due_at)}${acknowledged}）</span></p>`;
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
      parts.push(`<label>确认网格 <input name="grid" value="${escape(c.grid ?? "")}" pattern="\\d{15}"
        title="网格编码（15 位）"></label><p class="muted">现为：${gridName(c.grid, names.grid)}</p>`);
    }
    if (step.step === "request_extension") parts.push('<label>延期至 <input type="datetime-local" name="until" required></label>');
    if (step.step === "merge") parts.push(mergeField(this.mergeCandidates));
    if (step.step === "verify") parts.push(evidenceNote(this.evidence));
    if (step.public_note) parts.push(publicNoteField(step));  // 不予立案, 结案: published (docs/public.md)
    else if (step.needs_note) parts.push('<label>说明 <textarea name="note" required rows="3"></textarea></label>');
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
    if (step.public_note) previewAsTyped(element, step.label_zh);
    element.querySelector(".merge-candidates")?.addEventListener("click", (event) => {
      const pick = event.target.closest("[data-into]");
      if (pick) element.into.value = pick.dataset.into;
    });
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
    await this.send(c, `/api/v1/cases/${c.tracking_no}/steps/${step.step}`, body, `已${step.label_zh}`);
  }

  /** 更正公示说明: the case's commander replaces a published 不予立案 or 结案 note (js/public_note.js). */
  noteCorrection(c, publicNotes) {
    const holder = this.el.sheet.querySelector(".step-form");
    holder.innerHTML = '<form data-step="public-note"></form>';
    const form = holder.querySelector("form");
    correctionForm(form, publicNotes);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { seq: Number(form.seq.value), note: form.note.value };
      this.send(c, `/api/v1/cases/${c.tracking_no}/public-note`, body, "已更正公示说明");
    });
  }

  /** Send what the open form says; on success the sheet is drawn again, else the service's reason shows. */
  async send(c, url, body, done) {
    const error = this.el.sheet.querySelector(".error");
    try {
      await api(url, { method: "POST", json: body });
    } catch (exc) {
      // In Chinese only, each field named as the form names it (并入案件：…), not by the API's field name.
      const form = this.el.sheet.querySelector(".step-form form");
      error.textContent = exc.describe ? exc.describe(form ? fieldLabels(form) : {}) : String(exc);
      return;
    }
    this.context.onChanged([c.tracking_no]);
    this.el.sheet.querySelector(".step-form").innerHTML = "";  // done with it: the sheet is drawn again
    // After 退回 the case may have left the user's view: then the sheet closes.
    await this.showOrClose(c.tracking_no, done);
  }
}

/** A grid by its name, its code on hover (a 15-digit code is no name to read from a wall screen). */
function gridName(code, name) {
  return code ? `<span class="grid-name" title="${escape(code)}">${escape(name ?? code)}</span>` : "未定位";
}

/** 合并's field: the tracking number of the case to merge into, typed, or picked from the likely duplicates the
 * sheet names (`merge_candidates`: intake's possible duplicates first, then the nearest of the same category). */
function mergeField(candidates) {
  const picks = candidates.map((m) => `<li><button type="button" data-into="${escape(m.tracking_no)}">
    <b>${escape(m.tracking_no)}</b> ${m.noted ? '<span class="badge yellow">疑似重复</span>' : ""}
    <span class="status status-${escape(m.status)}">${escape(m.status_name_zh)}</span>
    ${m.distance_m === null ? "" : `相距 ${m.distance_m} 米 · `}${moment(m.received_at)}
    <div class="desc">${escape(m.description)}</div></button></li>`);
  return `<label>并入案件 <input name="into" placeholder="从下列案件中选择，或输入案件编号" required autocomplete="off"></label>
    ${picks.length ? `<ul class="merge-candidates" aria-label="可能重复的案件">${picks.join("")}</ul>`
      : '<p class="muted">附近没有同类在办案件</p>'}`;
}

/** A form's fields by name, with the words of their labels ("并入案件"), for naming them in a refusal. */
function fieldLabels(form) {
  return Object.fromEntries([...form.querySelectorAll("label")].flatMap((label) => {
    const field = label.querySelector("[name]");
    return field ? [[field.name, label.firstChild.textContent.trim()]] : [];
  }));
}

/** One step of the record: what, where it sent the case, who with their department and team, how far
 * from the case an arrival or a photo was, the note and the photos it named (each opens the viewer). */
function recordEntry(e) {
  const photos = e.attachments.map((id) => `<button type="button" class="photo-link" data-photo="${id}">照片 #${id}</button>`);
  return `<li data-seq="${e.seq}"><time>${moment(e.at)}</time> <b>${escape(e.action_zh)}</b>${
    e.to_zh ? ` → <span class="to">${escape(e.to_zh)}</span>` : ""} · <span class="actor">${escape(e.actor_zh ?? "系统")}</span>
    ${e.place_zh ? `<div class="place ${e.far_from_case ? "far" : ""}">${escape(e.place_zh)}</div>` : ""}
    ${e.note ? `<div class="note">${escape(e.note)}</div>` : ""}
    ${photos.length ? `<div class="photo-links">${photos.join(" ")}</div>` : ""}</li>`;
}

/** The case's photos for the viewer, each with who uploaded it (from the record) and whether it shows the result. */
function viewerPhotos(attachments, sheet) {
  const uploaders = new Map(sheet.record.filter((e) => e.action === "attach").map((e) => [e.attachments[0], e.actor_zh]));
  return attachments.map((p) => ({
    ...p,
    about: [`照片 #${p.id}`, sheet.evidence.result_photos.includes(p.id) ? "处置照片" : null,
            uploaders.get(p.id) ?? null].filter(Boolean).join(" · "),
  }));
}

/** 核查: the photos of the result the verifier should look at, or that one is missing where the category asks for it. */
function evidenceNote(evidence) {
  if (evidence.photo_missing) {
    return `<p class="evidence missing" data-evidence="missing">本类事项须附处置照片，但处置反馈未附派遣后上传的现场照片：
      不能核查通过，请返工</p>`;
  }
  if (!evidence.result_photos.length) return '<p class="evidence muted" data-evidence="none">处置反馈未附照片（本类事项不要求）</p>';
  return `<p class="evidence" data-evidence="present">处置照片：${evidence.result_photos.map((id) =>
    `<button type="button" class="photo-link" data-photo="${id}">照片 #${id}</button>`).join(" ")}</p>`;
}
