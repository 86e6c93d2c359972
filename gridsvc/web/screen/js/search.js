// 查找: any case the user may see, found by words (a tracking number, words of the description, the
// reporter's name or phone, a grid or village name) and filters, a page at a time, each with its
// township (a county supervisor sees several). A result opens the case's sheet and flies the map to it.
//
// The service does the finding (GET /api/v1/cases: q, filters, sort, limit/offset; Chinese words by
// character bigrams, docs/screen.md). The search lives in the address's query string, so that a link
// shares it and a reload restores it; only the keys below are this module's, others are left alone.

import { api } from "./api.js";
import { escape, reportedMoment } from "./format.js";

const PAGE = 50;
const DAY_MS = 24 * 3600 * 1000;
const SORTS = { newest: "最新上报", oldest: "最早上报", deadline: "办理期限最近", overdue: "超期优先" };
// The address's keys: the form's controls by name, and the page shown (1 = the first).
const FORM_KEYS = ["q", "status", "domain", "category", "department", "area", "flag", "overdue", "from", "to", "sort"];
// The API's parameters as the user knows them, for a refusal that names one.
const FIELD_NAMES = {
  q: "查找词", status: "状态", domain: "领域", category: "事项类别", department: "责任部门", area: "区域",
  flag: "标记", overdue: "超期", received_from: "起始日期", received_before: "截止日期", sort: "排序",
  limit: "每页件数", offset: "页码",
};

const options = (entries, all) => [["", all], ...entries]
  .map(([value, label]) => `<option value="${escape(value)}">${escape(label)}</option>`).join("");

/** A China date (yyyy-mm-dd) as the UTC moment its day starts, `days` later. */
function chinaDay(date, days = 0) {
  return new Date(Date.parse(`${date}T00:00:00+08:00`) + days * DAY_MS).toISOString();
}

export class CaseSearch {
  /** @param context {config, categories: Map, departments: [], map: NetworkMap, desk: CaseDesk} */
  constructor(element, context) {
    this.el = element;
    this.context = context;
    this.asked = 0;  // request generations: only the latest answer is drawn
    this.page = 1;
    this.result = null;  // the answer drawn: {asked: its generation, query, total, numbers}
    const { config, categories, departments } = context;
    const open = config.open_statuses.join(",");
    this.el.innerHTML = `
      <form class="search-form" autocomplete="off">
        <div class="search-line">
          <input type="search" name="q" maxlength="100" aria-label="查找词"
            placeholder="案件编号、问题描述、上报人姓名或电话、网格或村名">
          <button type="submit" class="primary">查找</button>
          <button type="button" data-clear>清空</button>
        </div>
        <div class="search-filters">
          <label>状态 <select name="status">${options([[open, "在办（未结案）"],
            ...Object.entries(config.statuses)], "全部")}</select></label>
          <label>领域 <select name="domain">${options(Object.entries(config.domains), "全部")}</select></label>
          <label>事项类别 <select name="category">${options([...categories.values()]
            .map((c) => [c.code, `${c.name_zh}（${c.code}）`]), "全部")}</select></label>
          <label>责任部门 <select name="department">${options(departments
            .map((d) => [d.code, d.name_zh]), "全部")}</select></label>
          <label>区域 <select name="area"></select></label>
          <label>标记 <select name="flag">${options(Object.entries(config.flags), "全部")}</select></label>
          <label>超期 <select name="overdue">${options([["true", "仅超期"], ["false", "未超期"]], "不限")}</select></label>
          <label>上报日期 <span class="dates"><input type="date" name="from" aria-label="起始日期">
            至 <input type="date" name="to" aria-label="截止日期"></span></label>
          <label>排序 <select name="sort">${Object.entries(SORTS)
            .map(([value, label]) => `<option value="${value}">${label}</option>`).join("")}</select></label>
        </div>
      </form>
      <p class="search-summary muted" role="status"></p>
      <p class="error" role="alert"></p>
      <table class="search-results" hidden>
        <thead><tr><th>案件</th><th>乡镇</th><th>状态</th><th>上报时间</th></tr></thead><tbody></tbody>
      </table>
      <nav class="pager" hidden><button type="button" data-page="-1">上一页</button><span></span>
        <button type="button" data-page="1">下一页</button></nav>`;
    this.form = this.el.querySelector("form");
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.search(1); });
    this.form.addEventListener("change", (event) => { if (event.target.name !== "q") this.search(1); });
    this.el.querySelector("[data-clear]").addEventListener("click", () => this.clear());
    this.el.querySelector(".pager").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-page]");
      if (button) this.search(this.page + Number(button.dataset.page));
    });
    this.el.querySelector("tbody").addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-tracking-no]");
      if (row) this.open(row.dataset.trackingNo);
    });
  }

  /** The tab is shown: the area choices follow the network the map holds (townships, then their villages). */
  shown() {
    const select = this.form.area;
    const chosen = select.value;
    const units = (layer) => layer.getLayers().map((l) => l.feature.properties);
    const villages = units(this.context.map.villages);
    select.innerHTML = options([], "全部") + units(this.context.map.townships).map((t) =>
      `<optgroup label="${escape(t.name)}"><option value="${escape(t.code)}">${escape(t.name)}（全镇）</option>
        ${villages.filter((v) => v.code.slice(0, 9) === t.code.slice(0, 9))
          .map((v) => `<option value="${escape(v.code)}">${escape(v.name)}</option>`).join("")}</optgroup>`).join("");
    select.value = chosen;
  }

  /** A search in the address (a shared link, a reload): shown in the 查找 tab and asked again. */
  restore() {
    const address = new URLSearchParams(window.location.search);
    if (!FORM_KEYS.some((key) => address.has(key))) return;
    document.querySelector("nav.tabs button[data-tab=search]").click();  // main.js shows the tab and calls shown()
    for (const key of FORM_KEYS) this.form.elements[key].value = address.get(key) ?? "";
    if (!this.form.sort.value) this.form.sort.value = "newest";
    this.search(Math.max(1, Number.parseInt(address.get("page"), 10) || 1));
  }

  /** The form's choices, by the address's keys (only those given). */
  choices() {
    return Object.fromEntries(FORM_KEYS.map((key) => [key, this.form.elements[key].value.trim()])
      .filter(([, value]) => value !== ""));
  }

  /** The API's query for the choices and a page. */
  query(choices, page) {
    const { from, to, ...rest } = choices;
    const query = new URLSearchParams({ ...rest, limit: PAGE, offset: (page - 1) * PAGE });
    if (from) query.set("received_from", chinaDay(from));
    if (to) query.set("received_before", chinaDay(to, 1));  // the whole last day
    return query;
  }

  async search(page) {
    const choices = this.choices();
    const generation = ++this.asked;
    this.say("");
    if (choices.from && choices.to && choices.from > choices.to) {
      this.say("起始日期不能晚于截止日期");
      return;
    }
    this.remember(choices, page);
    const query = this.query(choices, page).toString();
    let answer;
    try {
      answer = await api(`/api/v1/cases?${query}`);
    } catch (exc) {
      if (generation === this.asked) this.say(this.refusal(exc));
      return;
    }
    if (generation !== this.asked) return;  // a later search is under way
    this.page = page;
    this.draw(answer, query, generation);
  }

  /** After live changes: the answer drawn is asked again as it was asked (its choices, its page), so a new case
   * that matches appears and a case that moved on shows its new status; what is typed and not yet sent stays. */
  async refresh() {
    if (!this.result) return;
    const { query } = this.result;
    const generation = ++this.asked;
    const answer = await api(`/api/v1/cases?${query}`);
    if (generation === this.asked) this.draw(answer, query, generation);
  }

  /** The search in the address, replacing it: a link to this page shows the same results (no choices: none). */
  remember(choices, page) {
    const url = new URL(window.location.href);
    for (const key of [...FORM_KEYS, "page"]) url.searchParams.delete(key);
    for (const [key, value] of Object.entries(choices)) url.searchParams.set(key, value);
    if (page > 1) url.searchParams.set("page", page);
    window.history.replaceState(window.history.state, "", url);
  }

  draw(answer, query, generation) {
    const { total, offset, cases, places } = answer;
    const first = offset + 1;
    const last = offset + cases.length;
    this.el.querySelector(".search-summary").textContent = total
      ? `共 ${total} 件 · 第 ${first}–${last} 件` : "没有符合条件的案件";
    const statuses = this.context.config.statuses;
    const name = (code) => (code ? places[code] ?? code : "");
    this.el.querySelector("tbody").innerHTML = cases.map((c) => `
      <tr data-tracking-no="${escape(c.tracking_no)}">
        <td><b>${escape(this.context.categories.get(c.category)?.name_zh ?? c.category)}</b>
          ${c.overdue_level > 0 ? '<span class="badge red">超期</span>' : ""}
          <span class="muted">${escape(c.tracking_no)}</span>
          <div class="desc">${escape(c.description)}</div>
          <div class="muted">${escape([name(c.village), name(c.grid)].filter(Boolean).join(" · ") || "未定位")}</div></td>
        <td>${escape(name(c.township) || "—")}</td>
        <td><span class="status status-${escape(c.status)}">${escape(statuses[c.status] ?? c.status)}</span></td>
        <td>${reportedMoment(c)}</td></tr>`).join("");
    this.el.querySelector(".search-results").hidden = !cases.length;
    const pages = Math.max(1, Math.ceil(total / PAGE));
    const pager = this.el.querySelector(".pager");
    pager.hidden = pages === 1;
    pager.querySelector("span").textContent = `第 ${this.page} / ${pages} 页`;
    pager.querySelector("[data-page='-1']").disabled = this.page <= 1;
    pager.querySelector("[data-page='1']").disabled = this.page >= pages;
    this.result = { asked: generation, query, total, numbers: cases.map((c) => c.tracking_no) };
  }

  /** A result: its sheet, and the map flown to it (open or closed, in the map's datum). */
  async open(trackingNo) {
    for (const row of this.el.querySelectorAll("tbody tr")) row.classList.toggle("chosen", row.dataset.trackingNo === trackingNo);
    try {
      const rows = await this.context.desk.show(trackingNo);  // the sheet, and the case's row for the map
      const row = rows?.rows[0];
      if (row) this.context.map.showFound(trackingNo, row[rows.fields.indexOf("lon")], row[rows.fields.indexOf("lat")]);
    } catch (exc) {
      this.say(this.refusal(exc));
    }
  }

  clear() {
    this.form.reset();
    this.asked += 1;
    this.page = 1;
    this.result = null;
    this.say("");
    this.el.querySelector(".search-summary").textContent = "";
    this.el.querySelector(".search-results").hidden = true;
    this.el.querySelector(".pager").hidden = true;
    this.remember({}, 1);
  }

  /** Why a search or a result failed, in Chinese (the service's reasons name its parameters in English). */
  refusal(exc) {
    if (exc.status === 400 || exc.status === 422) {
      const named = Object.keys(exc.fields ?? {}).map((field) => FIELD_NAMES[field] ?? "其他条件");
      return `查找条件有误${named.length ? `：${[...new Set(named)].join("、")}` : ""}，请修改后再查`;
    }
    if (exc.status === 404) return "该案件已不在您的视野内";
    if (exc.status === 429) return "查找过于频繁，请稍后再试";
    return "查找失败，请稍后重试";
  }

  say(message) {
    this.el.querySelector(".error").textContent = message;
  }
}
