// The command screen: sign-in, then the live map, the case desk and the numbers, kept current by
// the live channel. Changes are applied by asking the service for the changed cases again, so
// what the screen shows is always what the API says, in the map's datum.

import { api, onTokens, signIn, signOut, tokens } from "./api.js";
import { CaseDesk } from "./desk.js";
import { escape, moment } from "./format.js";
import { Hotspots } from "./hotspots.js";
import { LiveChannel } from "./live.js";
import { NetworkMap } from "./map.js";
import { Numbers } from "./numbers.js";

const $ = (selector) => document.querySelector(selector);
const STATES = { connecting: "连接中…", live: "实时", offline: "已断开，正在重连…", signed_out: "登录失效，正在续期…" };
const FEED_LENGTH = 30;
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
    this.fetchChanged = throttled(() => this.serially(() => this.refreshChanged()), 100, 500);
    // Every screen refreshes its panels after a change; a little jitter spreads their queries.
    this.refreshPanels = throttled(() => this.panels(), 800 + Math.random() * 400, 2500);
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
    this.map = new NetworkMap($("#map"), config, {
      onGrid: (code, latlng) => this.gridCard(code, latlng),
      onCase: (trackingNo) => this.desk.show(trackingNo),
      describe: (row) => [categories.get(row.category)?.name_zh ?? row.category, config.statuses[row.status],
                          row.overdue_level > 0 ? "超期" : "", row.tracking_no].filter(Boolean).join(" · "),
    });
    this.desk = new CaseDesk({ queues: $("#queues"), list: $("#queue-list"), sheet: $("#case-sheet") }, {
      config, categories, departments: departments.departments, map: this.map,
      onChanged: (numbers) => numbers.forEach((n) => this.heard(n)),
    });
    this.numbers = new Numbers($("#numbers"), $("#kpis"), { config, categories });
    this.hotspots = new Hotspots(this.map, config, { onDrawn: () => this.legend() });
    $("#hot-domain").insertAdjacentHTML("beforeend", Object.entries(config.domains)
      .map(([key, name]) => `<option value="${escape(key)}">${escape(name)}</option>`).join(""));
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
    this.live.connect();
  }

  /** Everything from the REST API; the live channel then continues from the event number read with the
   * cases. Runs in `serially`, so no change heard meanwhile is applied to the rows it replaces. */
  async load() {
    const [layers, cases] = await Promise.all([api("/api/v1/screen/map"), api("/api/v1/screen/cases")]);
    this.map.setNetwork(layers);
    this.map.setCases(cases.fields, cases.rows);
    const townships = layers.townships.features.map((f) => f.properties.name);
    $("#area-name").textContent = townships.join("、");
    this.live.startAt(cases.events_head);
    this.refreshHotspots();  // (when shown) the counts may have changed too
    await this.panels();
  }

  async panels() {
    await Promise.all([this.desk.refresh(), this.numbers.refresh()]);
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
      // A phone confirmed a dispatch (or a warning): the feed says who, and when.
      this.feedItem(event, `${event.data.name} 已确认收到`, event.data.tracking_no, "event-acknowledged");
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

  feed(event) {
    const c = event.data.case;
    const label = { "case.created": "新上报", "case.overdue": "超期", "case.dispatched": "已派遣",
                    "case.status_changed": c.status_zh ?? "状态变化", "case.county_alert": "县级预警" }[event.kind];
    if (label) this.feedItem(event, label, c.tracking_no, event.kind.replace(".", "-"));
  }

  feedItem(event, label, trackingNo, className) {
    const list = $("#feed");
    const item = document.createElement("li");
    item.dataset.trackingNo = trackingNo;
    item.className = className;
    item.innerHTML = `<time>${moment(event.at)}</time> <b>${escape(label)}</b> ${escape(trackingNo)}`;
    item.addEventListener("click", () => { this.map.focusCase(trackingNo); this.desk.show(trackingNo); });
    list.prepend(item);
    while (list.children.length > FEED_LENGTH) list.lastChild.remove();
  }

  async gridCard(code, latlng) {
    this.map.selectGrid(code);
    const card = await api(`/api/v1/screen/grids/${code}`);
    const workers = card.grid_workers.map((w) => `${escape(w.name)} ${escape(w.phone)}`).join("<br>") || "未配置";
    const cases = card.open_cases.map((c) => `<li data-tracking-no="${escape(c.tracking_no)}">
      ${escape(c.tracking_no)} · ${escape(this.config.statuses[c.status])}${c.overdue_level ? " · <b>超期</b>" : ""}</li>`);
    const more = card.open_case_count > card.open_cases.length ? `<li class="muted">……（共 ${card.open_case_count} 件）</li>` : "";
    const html = `<div class="grid-card"><h3>${escape(card.name)}</h3>
      <p class="muted">${escape(card.code)}</p>
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
    $("#legend").innerHTML = [...grids, ...cases, marker("overdue", "超期"), marker("flagged", "待确认位置等")].join("");
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
  $("#color-mode").addEventListener("change", (event) => window.gridsvcScreen.setMode(event.target.value));
  $("#show-cases").addEventListener("change", (event) => { window.gridsvcScreen.map.showCases = event.target.checked; });
  $("#hotspots").addEventListener("change", (event) => window.gridsvcScreen.showHotspots(event.target.checked));
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
