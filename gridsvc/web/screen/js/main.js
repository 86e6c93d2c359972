// The command screen: sign-in, then the live map, the case desk and the numbers, kept current by
// the live channel. Changes are applied by asking the service for the changed cases again, so
// what the screen shows is always what the API says, in the map's datum.

import { Alarm, alarmKind } from "./alarm.js";
import { api, onTokens, signIn, signOut, tokens } from "./api.js";
import { casePopup } from "./case_popup.js";
import { CaseDesk } from "./desk.js";
import { escape } from "./format.js";
import { Hotspots } from "./hotspots.js";
import { LiveChannel } from "./live.js";
import { NetworkMap } from "./map.js";
import { Numbers } from "./numbers.js";
import { Patrols } from "./patrols.js";
import { CaseSearch } from "./search.js";
import { EventStrip } from "./strip.js";

const $ = (selector) => document.querySelector(selector);
const STATES = { connecting: "连接中…", live: "实时", offline: "已断开，正在重连…", signed_out: "登录失效，正在续期…" };
const ROWS_PER_REQUEST = 200;  // GET /api/v1/screen/cases takes at most 200 tracking numbers
const RELOAD_OVER = 1000;  // more changed cases than this at once (a long catch-up): read everything again
const RETRY_MS = 3000;
// Case events that can change the hotspot counts (a new case, 不予立案 or 合并, a grid confirmed at
// 立案, a case coming into or leaving a department's view); the deadline sweep's cannot.
const COUNTED_KINDS = new Set(["case.created", "case.status_changed", "case.merged", "case.dispatched",
                               "case.escalated", "case.left"]);

/** Run `task` `delay` ms after the last of a burst of calls, but at least every `maxWait` ms while
 * calls keep coming (a county screen in a busy hour would otherwise never refresh). */
function throttled(task, delay, maxWait) {
  let timer = null;
  let first = null;
  return () => {
    const now = Date.now();
    first ??= now;
    clearTimeout(timer);
    timer = setTimeout(() => { first = null; task(); }, Math.max(0, Math.min(delay, first + maxWait - now)));
  };
}

class Screen {
  constructor() {
    this.changed = new Set();  // tracking numbers heard of and not yet fetched again
    this.work = Promise.resolve();  // loading and applying changes, one at a time, in order
    // Timers start these, and nobody waits for them: a failure (the network, or a fetch cut off by a reload) is
    // logged, not left as an unhandled rejection; refreshChanged keeps what failed and tries again itself.
    const logged = (error) => console.error(error);
    this.fetchChanged = throttled(() => this.serially(() => this.refreshChanged()).catch(logged), 100, 500);
    // Every screen refreshes its panels after a change; a little jitter spreads their queries.
    this.refreshPanels = throttled(() => this.panels().catch(logged), 800 + Math.random() * 400, 2500);
    // The hotspot layer, when shown, is asked again 2–3 s after a burst of changes, at least every 15 s
    // while they keep coming (5,000 grids: 2 MB of counts and outlines and up to 0.7 MB of weeks a time).
    this.refreshHotspots = throttled(() => this.hotspots.refresh(), 2000 + Math.random() * 1000, 15000);
  }

  /** Run `task` after every task queued before it. The caller gets its result or its failure; the
   * queue goes on either way. (A task must not wait for a task it queues itself: that would wait for
   * its own end.) */
  serially(task) {
    const run = this.work.then(task);
    this.work = run.catch((error) => console.error(error));
    return run;
  }

  /** Read everything again, in turn with the changes; on failure say so and try again later. */
  reload() {
    return this.serially(() => this.load()).catch(() => {
      $("#live-status").textContent = "数据加载失败，正在重试…";
      $("#live-status").dataset.state = "offline";
      setTimeout(() => this.reload(), RETRY_MS);
    });
  }

  async start() {
    const [config, me, catalogue, departments] = await Promise.all([
      api("/api/v1/screen/config"), api("/api/v1/me"), api("/api/v1/categories"), api("/api/v1/departments"),
    ]);
    this.config = config;
    this.open = new Set(config.open_statuses);
    $("#user-name").textContent = `${me.name} · ${config.roles[me.role] ?? me.role}`;
    const categories = new Map(catalogue.categories.map((c) => [c.code, c]));
    this.categoryName = (code) => categories.get(code)?.name_zh ?? code;
    this.townships = new Map();  // code → name of the area's townships, from the map's layers
    this.map = new NetworkMap($("#map"), config, {
      onGrid: (code, latlng) => this.gridCard(code, latlng),
      onCase: (trackingNo) => this.desk.show(trackingNo),
      popup: (row) => casePopup(row, { category: this.categoryName(row.category), status: config.statuses[row.status],
                                       place: this.map.placeOf(row.grid) }),
    });
    this.desk = new CaseDesk({ queues: $("#queues"), list: $("#queue-list"), sheet: $("#case-sheet") }, {
      config, role: me.role, categories, departments: departments.departments, map: this.map, townships: this.townships,
      onChanged: (numbers) => numbers.forEach((n) => this.heard(n)),
    });
    this.numbers = new Numbers($("#numbers"), $("#case-kpis"), { config, categories, rankingView: $("#ranking-view") });
    this.search = new CaseSearch($("#search"), {
      config, categories, departments: departments.departments, map: this.map, desk: this.desk });
    this.hotspots = new Hotspots(this.map, config, { onDrawn: () => this.legend() });
    this.patrols = new Patrols(this.map, $("#patrol-kpi"), { onDrawn: () => this.legend() });
    $("#hot-domain").insertAdjacentHTML("beforeend", Object.entries(config.domains)
      .map(([key, name]) => `<option value="${escape(key)}">${escape(name)}</option>`).join(""));
    // A case picked on the strip or in the alarm: the ranking's view would lie over the map and the sheet.
    const pick = (trackingNo) => {
      if (this.numbers.ranking.isOpen) this.numbers.ranking.close();
      this.map.focusCase(trackingNo);
      this.desk.show(trackingNo).catch((error) => console.error(error));
    };
    this.strip = new EventStrip($("#feed"), pick);
    this.alarm = new Alarm({ popup: $("#alarm"), mute: $("#alarm-mute") }, pick);
    this.live = new LiveChannel({
      onEvent: (event) => this.onEvent(event),
      onResync: () => this.reload(),
      onState: (state) => {
        $("#live-status").textContent = STATES[state];
        $("#live-status").dataset.state = state;
      },
    });
    this.legend();
    await this.reload();
    this.search.restore();  // a search in the address (a shared link, a reload), on the network just read
    this.patrols.start();
    this.live.connect();
  }

  /** Everything from the REST API; the live channel then continues from the event number read with the
   * cases. Runs in `serially`, so no change heard meanwhile is applied to the rows it replaces. */
  async load() {
    const [layers, cases] = await Promise.all([api("/api/v1/screen/map"), api("/api/v1/screen/cases")]);
    this.map.setNetwork(layers);
    this.map.setCases(cases.fields, cases.rows);
    this.townships.clear();
    layers.townships.features.forEach((f) => this.townships.set(f.properties.code, f.properties.name));
    $("#area-name").textContent = [...this.townships.values()].join("、");
    this.live.startAt(cases.events_head);
    this.refreshHotspots();  // (when shown) the counts may have changed too
    await this.panels();
  }

  async panels() {
    await Promise.all([this.desk.refresh(), this.numbers.refresh(), this.search.refresh()]);
  }

  heard(trackingNo) {
    this.changed.add(trackingNo);
    this.fetchChanged();
  }

  onEvent(event) {
    const trackingNo = event.data?.case?.tracking_no;
    if (trackingNo) {
      this.heard(trackingNo);
      this.feed(event);
      if (COUNTED_KINDS.has(event.kind)) this.refreshHotspots();
    } else if (event.kind === "event.acknowledged") {
      // A phone confirmed a dispatch (or a warning): the strip says who, and when.
      this.strip.add({ label: `${event.data.name} 已确认收到`, trackingNo: event.data.tracking_no,
                       className: "event-acknowledged", at: event.at });
    } else if (event.kind === "patrol.started" || event.kind === "patrol.stopped") {
      this.patrols.refresh().catch(() => {});  // the next poll tries again
    } else if (event.kind === "network.changed") {
      // A new grid network: redraw it (in turn with the changes); a failure waits for the next change.
      this.serially(async () => {
        this.map.setNetwork(await api("/api/v1/screen/map"));
        this.refreshHotspots();
      }).catch(() => {});
    }
  }

  /** Fetch the changed cases again, 200 at a time: new or changed ones are drawn, closed or no longer
   * visible ones go. What could not be fetched is kept and tried again. */
  async refreshChanged() {
    const numbers = [...this.changed];
    this.changed.clear();
    if (!numbers.length) return;
    if (numbers.length > RELOAD_OVER) {
      this.reload();  // queued after this task: not awaited
      return;
    }
    for (let start = 0; start < numbers.length; start += ROWS_PER_REQUEST) {
      const chunk = numbers.slice(start, start + ROWS_PER_REQUEST);
      try {
        await this.applyRows(chunk);
      } catch (error) {
        numbers.slice(start).forEach((n) => this.changed.add(n));
        setTimeout(() => this.fetchChanged(), RETRY_MS);
        throw error;
      } finally {
        this.refreshPanels();
      }
      if (this.desk.open && chunk.includes(this.desk.open)) this.desk.changedElsewhere();
    }
  }

  async applyRows(numbers) {
    const answer = await api(`/api/v1/screen/cases?tracking_no=${numbers.join(",")}`);
    const found = new Set(answer.rows.map((row) => row[0]));
    const gone = numbers.filter((n) => !found.has(n)).map((n) => this.map.cases.get(n)).filter(Boolean)
      .map((row) => answer.fields.map((name) => (name === "status" ? "gone" : row[name])));
    this.map.upsertCases(answer.fields, [...answer.rows, ...gone], this.open);
  }

  /** A case event on the strip (what, which category, where, when); an urgent report, an overdue case or a
   * county alert also raises the alarm (js/alarm.js). */
  feed(event) {
    const c = event.data.case;
    const alarm = alarmKind(event);
    const label = alarm ?? { "case.created": "新上报", "case.dispatched": "已派遣",
                             "case.status_changed": c.status_zh ?? "状态变化" }[event.kind];
    if (!label) return;
    const item = { label, trackingNo: c.tracking_no, at: event.at, category: this.categoryName(c.category_code),
                   place: this.map.placeOf(c.grid_code),
                   className: `${event.kind.replace(".", "-")}${alarm ? " raised-alarm" : ""}` };
    this.strip.add(item);
    if (alarm) {
      this.alarm.raise({ title: alarm, trackingNo: c.tracking_no, at: event.at, lines: [item.category, item.place] });
    }
  }

  async gridCard(code, latlng) {
    this.map.selectGrid(code);
    const card = await api(`/api/v1/screen/grids/${code}`);
    const workers = card.grid_workers.map((w) => `${escape(w.name)} ${escape(w.phone)}`).join("<br>") || "未配置";
    const cases = card.open_cases.map((c) => `<li data-tracking-no="${escape(c.tracking_no)}">
      ${escape(c.tracking_no)} · ${escape(this.config.statuses[c.status])}${c.overdue_level ? " · <b>超期</b>" : ""}</li>`);
    const more = card.open_case_count > card.open_cases.length ? `<li class="muted">……（共 ${card.open_case_count} 件）</li>` : "";
    const html = `<div class="grid-card"><h3 class="grid-name" title="${escape(card.code)}">${escape(card.name)}</h3>
      <p>${escape(card.village?.name ?? "")} · ${escape(card.township?.name ?? "")}</p>
      <p>领域：${card.domains.map((d) => escape(this.config.domains[d] ?? d)).join("、") || "—"}
        · 户数 ${card.households ?? "—"} · 人口 ${card.population ?? "—"}</p>
      <p><b>网格员</b><br>${workers}</p>
      <p><b>在办案件 ${card.open_case_count}</b></p><ul class="cases">${cases.join("")}${more}</ul></div>`;
    const popup = L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(html).openOn(this.map.map);
    popup.getElement().addEventListener("click", (event) => {
      const item = event.target.closest("[data-tracking-no]");
      if (item) this.desk.show(item.dataset.trackingNo);
    });
  }

  legend() {
    const grids = this.hotspots?.on ? [this.hotspots.legend()]
      : this.map.legend().map((e) => `<span><i style="background:${e.colour}"></i>${escape(e.label)}</span>`);
    // The case markers' own classes, so the legend cannot disagree with the map (screen.css).
    const marker = (classes, label) => `<span class="marker-key"><b class="case-marker ${classes}"><i></i></b>${label}</span>`;
    const cases = [...this.open].map((s) => marker(`status-${s}`, escape(this.config.statuses[s])));
    const patrols = this.patrols?.on ? this.patrols.legend() : [];
    $("#legend").innerHTML = [...grids, ...cases, marker("overdue", "超期"), marker("flagged", "待确认位置等"), ...patrols]
      .join("");
  }

  /** Esc closes what lies on top: the ranking's view over the map, else the case sheet. A viewer opened over
   * them (a photo) that closes on Esc itself calls preventDefault, and this leaves the rest open. */
  escape(event) {
    if (event.defaultPrevented) return;
    if (this.numbers?.ranking.isOpen) this.numbers.ranking.close();
    else if (this.desk?.open) this.desk.hide();
  }

  setMode(mode) {
    this.map.setMode(mode);
    this.legend();
  }

  /** The hotspot layer on or off; while it is on, it colours the grids (网格着色 waits). */
  async showHotspots(on) {
    $("#color-mode").disabled = on;
    $("#hotspot-options").hidden = !on;
    const shown = this.hotspots.show(on);
    this.legend();
    await shown;
  }

  /** A rising grid picked in the legend: brought into view with its card. */
  showGrid(code) {
    const layer = this.map.gridLayers.get(code);
    if (!layer) return;
    this.map.selectGrid(code, { fit: true });
    this.gridCard(code, layer.getBounds().getCenter());
  }

  stop() {
    this.live?.close();
    this.patrols?.stop();
  }
}

/** Signed out (here, in another tab, or the sign-in ended): start from a clean page, with nothing of
 * the last user's map, cases or timers left in it. */
function leave() {
  window.gridsvcScreen?.stop();
  window.location.reload();
}

function showSignIn(message = "") {
  $("#app").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message;
}

async function showScreen() {
  if (window.gridsvcScreen) {  // a screen is there already (a second sign-in): start clean
    window.location.reload();
    return;
  }
  $("#sign-in").hidden = true;
  $("#app").hidden = false;
  window.gridsvcScreen = new Screen();  // also what the browser tests look at
  await window.gridsvcScreen.start();
}

function wire() {
  $("#sign-in form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const button = form.querySelector("button[type=submit]");
    if (button.disabled) return;  // a double click signs in once
    button.disabled = true;
    try {
      await signIn(form.phone.value.trim(), form.password.value);
      form.password.value = "";
    } catch (exc) {
      button.disabled = false;
      showSignIn(exc.status === 429 ? "尝试次数过多，请稍后再试" : exc.status === 401 ? "手机号或密码错误" : exc.message);
      return;
    }
    showScreen().catch((exc) => showSignIn(exc.message)).finally(() => { button.disabled = false; });
  });
  $("#sign-out").addEventListener("click", () => signOut());
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !window.gridsvcScreen) return;
    // In a field of a step form the first Esc only leaves the field, so that a note being typed is not lost.
    if (event.target.closest?.("input, select, textarea")) event.target.blur();
    else window.gridsvcScreen.escape(event);
  });
  $("#color-mode").addEventListener("change", (event) => window.gridsvcScreen.setMode(event.target.value));
  $("#show-cases").addEventListener("change", (event) => { window.gridsvcScreen.map.showCases = event.target.checked; });
  $("#hotspots").addEventListener("change", (event) => window.gridsvcScreen.showHotspots(event.target.checked));
  $("#patrols").addEventListener("change", (event) => {
    window.gridsvcScreen.patrols.show(event.target.checked).catch((error) => console.error(error));
  });
  for (const [select, option] of [["#hot-period", "period"], ["#hot-domain", "domain"], ["#hot-unit", "unit"]]) {
    $(select).addEventListener("change", (event) => window.gridsvcScreen.hotspots.set({ [option]: event.target.value }));
  }
  $("#legend").addEventListener("click", (event) => {
    const item = event.target.closest(".rising-list [data-code]");
    if (item) window.gridsvcScreen.showGrid(item.dataset.code);
  });
  for (const tab of document.querySelectorAll("nav.tabs button")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("nav.tabs button")) {
        other.classList.toggle("active", other === tab);
        $(`#${other.dataset.tab}`).hidden = other !== tab;
      }
      if (tab.dataset.tab === "numbers") window.gridsvcScreen.numbers.shown();
      if (tab.dataset.tab === "search") window.gridsvcScreen.search.shown();
    });
  }
  onTokens((pair) => {
    if (!pair && window.gridsvcScreen) leave();
    else if (pair) window.gridsvcScreen?.live?.reconnect();  // the live channel must use the new token
  });
  setInterval(() => { $("#clock").textContent = new Date().toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }); }, 1000);
  if (tokens()) showScreen().catch(() => showSignIn());
  else showSignIn();
}

wire();
