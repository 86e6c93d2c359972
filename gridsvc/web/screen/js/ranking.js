// 考核排名: the indicators of GET /api/v1/indicators (docs/indicators.md) for the numbers tab's period,
// one level at a time, with the files (Excel, CSV) a county office files away.
//
// A dozen columns do not fit the side panel (village names broke one character a line, the rates were cut
// off on a laptop), so the table is a view of its own over the map, opened from the numbers tab and closed
// with ✕ or Esc. It is read when opened, and when the period or the level changes while it is open, not on
// every live change: an assessment is not a live count, and a county's year takes the service a second.

import { api, downloadFile } from "./api.js";
import { escape, moment, percent } from "./format.js";

const LEVELS = [
  { key: "township", label: "乡镇" },
  { key: "village", label: "村（社区）" },
  { key: "grid", label: "网格" },
  { key: "department", label: "部门" },
  { key: "grid_worker", label: "网格员" },
];
const SHOWN = 20;  // rows on the screen; the files hold them all
// What the score is (docs/indicators.md, "Score and rank"): a grid worker's is their patrol coverage alone (the
// case figures of their row measure what others did with their reports); every other level's weighs the rates.
const SCORES = {
  grid_worker: { label: "巡查得分", title: "网格员得分 = 巡查覆盖率 × 100；其上报案件的各项比率反映他人的办理，不计入得分" },
  other: { label: "综合得分", title: "各项比率的加权平均（满意度权重最大），0–100" },
};
const RATES = [
  ["on_time_filing_rate", "按时立案率"], ["dispatch_accuracy_rate", "准确派遣率"],
  ["on_time_handling_rate", "按期处置率"], ["on_time_closure_rate", "按期结案率"], ["rework_rate", "返工率"],
  ["patrol_coverage", "巡查覆盖率"],
];

export class Ranking {
  /** `element` is the view over the map; `bounds()` gives the numbers tab's current period as {from, to}. */
  constructor(element, bounds) {
    this.el = element;
    this.bounds = bounds;
    this.level = "village";
    this.asked = 0;  // request generations: only the latest answer is drawn
    this.el.innerHTML = `
      <header><h2>考核排名</h2><button type="button" data-close title="关闭（Esc）">✕</button></header>
      <div class="ranking-tools">
        <label>层级 <select name="level">${LEVELS.map((l) => `<option value="${l.key}">${l.label}</option>`).join("")}
          </select></label>
        <button type="button" data-file="xlsx">导出 Excel</button>
        <button type="button" data-file="csv">导出 CSV</button>
        <span class="muted ranking-note"></span>
      </div>
      <div class="ranking-table"></div>`;
    this.el.querySelector("select[name=level]").value = this.level;
    this.el.querySelector("select[name=level]").addEventListener("change", (event) => {
      this.level = event.target.value;
      this.refresh().catch(() => {});
    });
    this.el.querySelector("[data-close]").addEventListener("click", () => this.close());
    this.drawn = null;  // the query of the table shown: the files hold exactly that table
    for (const button of this.el.querySelectorAll("button[data-file]")) {
      button.addEventListener("click", async () => {
        if (button.disabled) return;
        button.disabled = true;  // one file at a time: a double click asks once
        try { await this.download(button.dataset.file); } catch (error) { this.say(error); }
        button.disabled = false;
      });
    }
  }

  get isOpen() { return !this.el.hidden; }

  open() {
    this.el.hidden = false;
    this.refresh().catch(() => {});
  }

  close() { this.el.hidden = true; }

  query(format, asked = null) {
    const { from, to } = asked ?? this.bounds();
    const query = new URLSearchParams({ level: asked?.level ?? this.level, from, to, format });
    return `/api/v1/indicators?${query}`;
  }

  say(error) {
    this.el.querySelector(".ranking-note").textContent = `读取失败：${error.message}`;
  }

  async refresh() {
    const generation = ++this.asked;
    this.el.querySelector(".ranking-note").textContent = "读取中…";
    const asked = { ...this.bounds(), level: this.level };
    let table;
    try {
      table = await api(this.query("json", asked));
    } catch (error) {
      if (generation === this.asked) this.say(error);
      throw error;
    }
    if (generation !== this.asked) return;
    this.drawn = asked;
    this.el.dataset.level = table.level;
    this.el.querySelector(".ranking-note").textContent =
      `${moment(table.from)} 至 ${moment(table.to)}，工作日 ${table.working_days} 天，共 ${table.rows.length} 项`;
    const scoreIs = SCORES[table.level] ?? SCORES.other;
    const heads = ["排名", "名称", `<span title="${scoreIs.title}">${scoreIs.label}</span>`, "上报",
                   ...RATES.map(([, label]) => label), "满意度"];
    // A grid's or a worker's name, with its code on hover (a 15-digit code is no name to read from a wall).
    const rows = table.rows.slice(0, SHOWN).map((row) => `<tr data-code="${escape(row.code)}">
      <td>${row.rank ?? "—"}</td><td class="name" title="${escape(row.code)}">${escape(row.name)}</td>
      <td class="score">${row.score ?? "—"}</td>
      <td>${row.reported}</td>${RATES.map(([key]) => `<td>${percent(row[key])}</td>`).join("")}
      <td>${row.mean_stars ?? "—"}</td></tr>`);
    this.el.querySelector(".ranking-table").innerHTML = `<table class="figures"><thead><tr>${
      heads.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>${
      rows.join("") || `<tr><td colspan="${heads.length}" class="muted">暂无数据</td></tr>`}</tbody></table>
      <p class="muted">${scoreIs.title}</p>`;
  }

  /** The table shown as a file (read afresh when none is shown yet), fetched with the token and handed to
   * the browser as a download. */
  async download(format) {
    await downloadFile(this.query(format, this.drawn), `indicators.${format}`);
  }
}
