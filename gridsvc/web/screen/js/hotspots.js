// Hotspots (热点) on the map: where the cases come from, from GET /api/v1/hotspots/* (docs/hotspots.md).
//
// Per grid, the map colours the grid polygons it already draws by their count of cases in the period
// (GET /api/v1/hotspots/grids, joined by grid code: the same outlines, nothing more on the canvas);
// per H3 hexagon it draws the hexagons of GET /api/v1/hotspots/hexagons, asked in the map's datum
// (`crs`: the base map's, as /screen/map), so that they lie over the grids and markers of a GCJ-02
// base map. Rising grids (GET /api/v1/hotspots/rising: this week against last, the service's rule)
// are outlined in either case. Every figure is the service's; this only asks, classes and draws.
//
// Counts change with the cases: the screen (main.js) asks again, throttled, after every case event
// that can change them; and every few minutes, as the period moves with the clock.

import { api } from "./api.js";
import { escape, moment } from "./format.js";
import { HOT_NONE, RISING, hotClasses } from "./map.js";

export const HOT_PERIODS = { today: "今日", 7: "近 7 天", 30: "近 30 天", month: "本月" };
const ROLL_MS = 5 * 60e3;  // the period moves with the clock: ask again now and then even without events
const RETRY_MS = 10e3;  // after a failed question
const RISING_LISTED = 5;

/** The start of the period: a China midnight, with its offset (the API reads a bare time as UTC). It
 * ends at the service's now (no `to` is sent: a browser clock a little behind would miss the newest
 * cases). "近 7 天" is today and the 6 days before: the rising rule's "this week". */
export function periodStart(key, now = new Date()) {
  const china = (date) => new Date(date.getTime() + 8 * 3600e3).toISOString().slice(0, 10);
  const today = china(now);
  let from = today;
  if (key === "month") from = `${today.slice(0, 8)}01`;
  else if (key !== "today") from = china(new Date(now.getTime() - (Number(key) - 1) * 86400e3));
  return `${from}T00:00:00+08:00`;
}

export class Hotspots {
  /** @param handlers {onDrawn(): the layer changed (the legend follows)} */
  constructor(map, config, handlers) {
    this.map = map;
    this.config = config;
    this.handlers = handlers;
    this.on = false;
    this.options = { period: "7", domain: "", unit: "grids" };
    this.state = null;  // what the map shows: the answers, classed (also what the browser tests read)
    this.failed = false;
    this.asked = 0;  // request generations: only the latest answer is drawn
    this.drawn = 0;  // answers drawn so far
    setInterval(() => this.refresh(), ROLL_MS);
  }

  /** Switch the layer on or off; off, the map's grids take their domain or load colours again. */
  async show(on) {
    this.on = on;
    if (on) return this.refresh();
    this.asked += 1;  // an answer still on its way is not drawn
    this.state = null;
    this.map.setHotspots(null);
    this.handlers.onDrawn();
    return null;
  }

  /** Change the period, domain or unit (and ask again when shown). */
  async set(options) {
    Object.assign(this.options, options);
    return this.refresh();
  }

  query() {
    const { period, domain } = this.options;
    const filter = domain ? `&domain=${encodeURIComponent(domain)}` : "";
    return { counts: `from=${encodeURIComponent(periodStart(period))}${filter}`, filter };
  }

  /** Ask for the layer again and draw it; an answer overtaken by a later question is dropped. */
  async refresh() {
    if (!this.on) return null;
    const generation = ++this.asked;
    const { unit } = this.options;
    const { counts, filter } = this.query();
    const datum = `crs=${encodeURIComponent(this.config.datum)}`;
    const path = unit === "grids" ? `/api/v1/hotspots/grids?outlines=false&${datum}&${counts}`  // drawn already
      : `/api/v1/hotspots/hexagons?${datum}&resolution=${unit}&${counts}`;
    let answer;
    let rising;
    try {
      [answer, rising] = await Promise.all([api(path), api(`/api/v1/hotspots/rising?${filter.slice(1)}`)]);
    } catch (error) {
      if (generation !== this.asked) return null;
      console.error(error);
      this.failed = true;  // the layer shown stays, and the legend says it is not current
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.refresh(), RETRY_MS);
      this.handlers.onDrawn();
      return null;
    }
    if (generation !== this.asked || !this.on) return null;
    clearTimeout(this.retry);  // a retry still waiting has nothing left to do
    this.failed = false;
    const features = answer.features;
    const max = Math.max(0, ...features.map((f) => f.properties.count));
    this.state = {
      unit, period: HOT_PERIODS[this.options.period], domain: this.options.domain, classes: hotClasses(max),
      total: answer.total, crs: answer.crs, at: new Date().toISOString(),
      counts: unit === "grids" ? new Map(features.map((f) => [f.id, f.properties.count])) : null,
      // The grids' outlines came with the answer in the map's datum; the map colours the ones it draws.
      hexagons: unit === "grids" ? null : { type: "FeatureCollection", features },
      weeks: new Map(rising.grids.map((row) => [row.code, row])),
      rising: rising.grids.filter((row) => row.rising),
      rule: { minCount: rising.min_count },
      generation,  // the question this answers: the latest one when it equals `asked`
    };
    this.map.setHotspots(this.state);
    this.drawn += 1;
    this.handlers.onDrawn();
    return this.state;
  }

  /** The legend: the classes with how many grids (hexagons) each holds, 0, and the rising grids. */
  legend() {
    const s = this.state;
    if (!s) return this.failed ? `<span class="error">热点数据加载失败，稍后重试</span>` : `<span class="muted">热点加载中…</span>`;
    const places = s.unit === "grids" ? "个网格" : "个六边形";
    const values = s.unit === "grids" ? [...s.counts.values()] : s.hexagons.features.map((f) => f.properties.count);
    const held = (from, to) => values.filter((n) => n >= from && n <= to).length;
    const swatch = (colour) => `<i style="background:${colour}"></i>`;
    const range = (c) => (c.from === c.to ? `${c.from}` : `${c.from}–${c.to}`);
    const classes = [...s.classes].reverse().map((c) => `<span class="hot-class" data-from="${c.from}" data-to="${c.to}"
      data-places="${held(c.from, c.to)}">${swatch(c.colour)}${range(c)} 件 · ${held(c.from, c.to)} ${places}</span>`);
    if (s.unit === "grids") {
      classes.push(`<span class="hot-class" data-from="0" data-to="0" data-places="${held(0, 0)}">${swatch(HOT_NONE)}0 件 · ${held(0, 0)} ${places}</span>`);
    }
    const domain = s.domain ? this.config.domains[s.domain] ?? s.domain : "全部领域";
    const listed = s.rising.slice(0, RISING_LISTED).map((row) => `<li data-code="${escape(row.code)}">${escape(row.name)}
      <span class="muted">本周 ${row.this_week} · 上周 ${row.last_week}</span></li>`);
    const more = s.rising.length > RISING_LISTED ? `<li class="muted">……共 ${s.rising.length} 个</li>` : "";
    return `<div class="hot-legend" data-unit="${escape(s.unit)}" data-total="${s.total}" data-rising="${s.rising.length}">
      <b>热点 · ${escape(s.period)} · ${escape(domain)}</b>
      <span class="muted">${s.unit === "grids" ? "每个网格" : "每个六边形"}的案件数，合计 ${s.total} 件${this.failed ? "（刷新失败）" : ""}</span>
      ${classes.join("")}
      <span class="rising-key" title="本周（近 7 天）至少 ${s.rule.minCount} 件，且至少是上周（前 7 天）的 2 倍">
        <i style="border:2px solid ${RISING}"></i>↑ 周环比上升 · ${s.rising.length} 个网格</span>
      ${listed.length ? `<ul class="rising-list">${listed.join("")}${more}</ul>` : ""}
      <span class="muted updated">更新于 ${moment(s.at)}</span></div>`;
  }
}
