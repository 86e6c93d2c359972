// The numbers (统计): the KPI strip above the map and the statistics tab, from GET /api/v1/numbers.
// Every figure is computed by the service from the case records (docs/numbers.md); this only shows
// them. Charts are ECharts, the convention of these screens.

import { api } from "./api.js";
import { day, escape, hours, moment, percent } from "./format.js";
import { DOMAIN_STYLE } from "./map.js";
import { Ranking } from "./ranking.js";
import { TownshipComparison } from "./townships.js";

const PERIODS = [
  { key: "month", label: "本月" },
  { key: "7", label: "近 7 天" },
  { key: "30", label: "近 30 天" },
];

/** The period's bounds as ISO moments with the China offset (the API reads a bare time as UTC). */
function bounds(key) {
  const china = (date) => new Date(date.getTime() + 8 * 3600e3).toISOString().slice(0, 10);
  const today = china(new Date());
  let from;
  if (key === "month") {
    from = `${today.slice(0, 8)}01`;
  } else {
    from = china(new Date(Date.now() - (Number(key) - 1) * 86400e3));
  }
  return { from: `${from}T00:00:00+08:00`, to: new Date().toISOString() };
}

function table(headers, rows) {
  return `<table class="figures"><thead><tr>${headers.map((h) => `<th>${h}</th>`).join("")}</tr></thead>
    <tbody>${rows.join("") || `<tr><td colspan="${headers.length}" class="muted">暂无数据</td></tr>`}</tbody></table>`;
}

export class Numbers {
  constructor(element, kpis, context) {
    this.el = element;
    this.kpis = kpis;
    this.context = context;
    this.period = "month";
    this.asked = 0;  // request generations: only the latest answer is drawn
    this.el.innerHTML = `
      <label>统计周期 <select name="period">${PERIODS.map((p) => `<option value="${p.key}">${p.label}</option>`).join("")}
        </select></label> <span class="muted period-note"></span>
      <h3>本期案件状态</h3><div class="by-status"></div>
      <h3>每日上报与结案</h3><div class="chart trend"></div>
      <h3>领域分布</h3><div class="chart domains"></div>
      <h3>高发事项（前 10）</h3><div class="chart categories"></div>
      <h3>超期最久</h3><div class="worst"></div>
      <h3>各村（社区）</h3><div class="by-village"></div>
      <h3>各部门</h3><div class="by-department"></div>
      <section class="townships" hidden><h3>乡镇对比</h3><div class="chart"></div></section>
      <h3>考核排名</h3><button type="button" data-open="ranking">打开考核排名表</button>`;
    this.ranking = new Ranking(context.rankingView, () => bounds(this.period));
    this.el.querySelector("[data-open=ranking]").addEventListener("click", () => this.ranking.open());
    this.townships = new TownshipComparison(this.el.querySelector(".townships"), () => bounds(this.period));
    this.el.querySelector("select[name=period]").addEventListener("change", (event) => {
      this.period = event.target.value;
      this.refresh();
      this.assessments();
    });
    this.charts = Object.fromEntries(["trend", "domains", "categories"].map((name) =>
      [name, echarts.init(this.el.querySelector(`.chart.${name}`), "dark", { renderer: "canvas" })]));
  }

  resize() { Object.values(this.charts).forEach((chart) => chart.resize()); }

  /** The tab is shown: the charts take their size, and the ranking and comparison are read afresh. */
  shown() {
    this.resize();
    this.assessments();
  }

  /** The period's indicators: the ranking (when its view is open), and the townships compared (js/townships.js). */
  assessments() {
    if (this.ranking.isOpen) this.ranking.refresh().catch(() => {});
    this.townships.refresh().catch(() => {});
  }

  async refresh() {
    const { from, to } = bounds(this.period);
    const generation = ++this.asked;
    const figures = await api(`/api/v1/numbers?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    if (generation !== this.asked) return;
    this.strip(figures);
    this.el.querySelector(".period-note").textContent = `${moment(figures.from)} 起`;
    this.el.querySelector(".by-status").innerHTML = table(["状态", "件数"], figures.by_status.map((s) =>
      `<tr data-status="${s.status}"><td>${escape(s.name_zh)}</td><td class="count">${s.count}</td></tr>`));
    this.el.querySelector(".worst").innerHTML = table(["案件", "事项", "超期（工作小时）"], figures.worst_overdue.map((c) =>
      `<tr data-tracking-no="${escape(c.tracking_no)}"><td>${escape(c.tracking_no)}</td>
        <td>${escape(c.category_name_zh ?? c.category)}</td><td>${hours(c.overdue_working_hours)}</td></tr>`));
    const rates = (row) => `<td>${row.received}</td><td>${row.open}</td><td>${row.overdue}</td><td>${row.closed}</td>
      <td>${percent(row.on_time_rate)}</td>`;
    const heads = ["上报", "在办", "超期", "结案", "按期结案率"];
    this.el.querySelector(".by-village").innerHTML = table(["村（社区）", ...heads], figures.by_village.map((v) =>
      `<tr data-village="${escape(v.code ?? "")}"><td>${escape(v.name ?? "未定位")}</td>${rates(v)}</tr>`));
    this.el.querySelector(".by-department").innerHTML = table(["部门", ...heads], figures.by_department.map((d) =>
      `<tr data-department="${escape(d.code ?? "")}"><td>${escape(d.name_zh ?? "未指定")}</td>${rates(d)}</tr>`));
    this.chart(figures);
  }

  strip(figures) {
    const tiles = [
      ["today-received", "今日上报", figures.today.received],
      ["today-closed", "今日结案", figures.today.closed],
      ["open", "在办案件", figures.today.open],
      ["overdue", "超期案件", figures.today.overdue, figures.today.overdue > 0],
      ["on-time", "本期按期结案率", percent(figures.period.on_time_closure_rate)],
      ["handling-hours", "平均处置时长（工作小时）", hours(figures.period.average_handling_hours)],
    ];
    this.kpis.innerHTML = tiles.map(([key, label, value, alarm]) =>
      `<div class="kpi${alarm ? " alarm" : ""}" data-kpi="${key}"><div class="label">${label}</div>
        <div class="value">${value}</div></div>`).join("");
  }

  chart(figures) {
    const transparent = { backgroundColor: "transparent" };
    this.charts.trend.setOption({
      // The legend in a band of its own above the plot (grid.top leaves it room): over the plot it hid the lines.
      ...transparent, tooltip: { trigger: "axis" }, legend: { data: ["上报", "结案"], top: 0, right: 12 },
      grid: { left: 36, right: 12, top: 36, bottom: 24 },
      xAxis: { type: "category", data: figures.trend.map((d) => day(d.day)) },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: "上报", type: "line", smooth: true, data: figures.trend.map((d) => d.received) },
               { name: "结案", type: "line", smooth: true, data: figures.trend.map((d) => d.closed) }],
    }, true);
    this.charts.domains.setOption({
      ...transparent, tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["40%", "70%"], label: { formatter: "{b} {c}" },
                 data: figures.by_domain.map((d) => ({ name: d.name_zh, value: d.count,
                                                       itemStyle: { color: DOMAIN_STYLE[d.code]?.fillColor } })) }],
    }, true);
    const top = [...figures.by_category].sort((a, b) => b.count - a.count).slice(0, 10).reverse();
    this.charts.categories.setOption({
      ...transparent, tooltip: {}, grid: { left: 120, right: 16, top: 8, bottom: 20 },
      xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: top.map((c) => c.name_zh) },
      series: [{ type: "bar", data: top.map((c) => c.count), itemStyle: { color: "#38bdf8" } }],
    }, true);
  }
}
