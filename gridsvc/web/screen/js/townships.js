// 乡镇对比: the townships of a county side by side on the indicators that weigh most (docs/indicators.md),
// beside the ranking, for the numbers tab's period: GET /api/v1/indicators?level=township. A screen whose
// area is one township has nothing to compare, and shows nothing.
//
// Read when the ranking is (the tab opened, the period changed), not on live changes, for its reason.

import { api } from "./api.js";

// The figures compared, each 0–100: the score, and the rates a county supervisor asks a township about.
const FIGURES = [
  ["score", "综合得分", (row) => row.score],
  ["on_time_handling_rate", "按期处置率", (row) => percentOf(row.on_time_handling_rate)],
  ["on_time_closure_rate", "按期结案率", (row) => percentOf(row.on_time_closure_rate)],
  ["patrol_coverage", "巡查覆盖率", (row) => percentOf(row.patrol_coverage)],
];

function percentOf(share) {
  return share === null || share === undefined ? null : Math.round(share * 1000) / 10;
}

export class TownshipComparison {
  /** `bounds()` gives the numbers tab's current period as {from, to}. */
  constructor(section, bounds) {
    this.section = section;
    this.bounds = bounds;
    this.rows = [];  // the townships drawn (also what the browser tests read)
    this.asked = 0;  // request generations: only the latest answer is drawn
    this.chart = echarts.init(section.querySelector(".chart"), "dark", { renderer: "canvas" });
  }

  resize() { this.chart.resize(); }

  async refresh() {
    const generation = ++this.asked;
    const { from, to } = this.bounds();
    const table = await api(`/api/v1/indicators?${new URLSearchParams({ level: "township", from, to })}`);
    if (generation !== this.asked) return;
    this.rows = table.rows;
    this.section.hidden = table.rows.length < 2;
    if (this.section.hidden) return;
    const rows = [...table.rows].reverse();  // the best at the top of the bars
    // a county's dozen townships get room for their four bars each; then the chart takes its size (it may
    // have been hidden until now)
    this.section.querySelector(".chart").style.height = `${Math.max(220, 50 + rows.length * 56)}px`;
    this.chart.resize();
    this.chart.setOption({
      backgroundColor: "transparent", tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: FIGURES.map(([, label]) => label), top: 0 },  // above the bars, in a band of its own
      grid: { left: 80, right: 16, top: 36, bottom: 20 },
      xAxis: { type: "value", min: 0, max: 100 },
      yAxis: { type: "category", data: rows.map((row) => row.name) },
      series: FIGURES.map(([, label, value]) => ({ name: label, type: "bar", data: rows.map(value) })),
    }, true);
  }
}
