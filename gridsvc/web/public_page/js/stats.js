// 乡镇统计: a township's anonymised figures for a period, as GET /api/v1/public/townships/<code>/stats
// gives them (counts and rates only; the service widens every period to whole China days).

import { once, townshipStats, townships } from "./api.js";
import { DOMAINS, addDays, chinaDayOf, chinaMidnight, chinaToday, day, escape, percent, stars } from "./format.js";

/** The period's bounds, China time: `from` included; `to` excluded, or none for "up to now". */
export function bounds(key, today = chinaToday()) {
  const monthStart = `${today.slice(0, 8)}01`;
  if (key === "month") return { from: chinaMidnight(monthStart) };
  if (key === "last-month") {
    return { from: chinaMidnight(`${addDays(monthStart, -1).slice(0, 8)}01`), to: chinaMidnight(monthStart) };
  }
  return { from: chinaMidnight(addDays(today, 1 - Number(key))) };
}

export class Stats {
  constructor(root) {
    this.township = root.querySelector("#township");
    this.period = root.querySelector("#period");
    this.message = root.querySelector("#stats-message");
    this.figures = root.querySelector("#stats-figures");
    this.root = root;
    this.asked = 0;
    this.start = once(() => this.load());  // the first time the tab is shown, again after a failure
    this.township.addEventListener("change", () => this.refresh());
    this.period.addEventListener("change", () => this.refresh());
  }

  say(text, kind = "") {
    this.message.textContent = text;
    this.message.className = `message ${kind}`.trim();
    this.message.hidden = !text;
  }

  async load() {
    this.root.dataset.state = "loading";
    let list;
    try {
      list = (await townships()).townships;
    } catch {
      this.say("乡镇列表暂时无法加载，请稍后再试。", "error");
      this.root.dataset.state = "error";
      throw new Error("townships");
    }
    const counties = new Map();
    for (const t of list) {
      const county = t.county?.name ?? "其他";
      if (!counties.has(county)) counties.set(county, []);
      counties.get(county).push(t);
    }
    this.township.innerHTML = [...counties].map(([county, towns]) => `<optgroup label="${escape(county)}">
      ${towns.map((t) => `<option value="${escape(t.code)}">${escape(t.name)}</option>`).join("")}</optgroup>`).join("");
    if (!list.length) {
      this.say("暂无可公开统计的乡镇。");
      this.root.dataset.state = "ready";
      return;
    }
    await this.refresh();
  }

  async refresh() {
    const code = this.township.value;
    if (!code) return;
    const asked = ++this.asked;
    this.root.dataset.state = "loading";
    this.say("正在加载…", "loading");
    try {
      const figures = await townshipStats(code, bounds(this.period.value));
      if (asked !== this.asked) return;
      this.say("");
      this.show(figures);
      this.root.dataset.state = "ready";
    } catch (error) {
      if (asked !== this.asked) return;
      this.figures.hidden = true;
      this.say(error.status === 404 ? "没有该乡镇的统计。" : "统计暂时无法加载，请稍后再试。", "error");
      this.root.dataset.state = "error";
    }
  }

  show(f) {
    const el = this.figures;
    const lastDay = addDays(chinaDayOf(f.to), -1);  // `to` is excluded
    el.querySelector(".period-note").textContent =
      `${f.township.name} · 统计区间：${day(chinaDayOf(f.from))} 至 ${day(lastDay)}`;
    const set = (figure, text) => { el.querySelector(`[data-figure="${figure}"] .value`).textContent = text; };
    set("received", String(f.received));
    set("closed", String(f.closed));
    set("closed_on_time", String(f.closed_on_time));
    set("on_time_closure_rate", percent(f.on_time_closure_rate));
    const mean = f.satisfaction.mean_stars;
    set("satisfaction", mean === null ? "—" : mean.toFixed(1));
    el.querySelector('[data-figure="satisfaction"] .detail').innerHTML = mean === null
      ? "本期暂无评价" : `${stars(mean)} 平均星级，${f.satisfaction.ratings} 条评价（满分 5 星）`;

    el.querySelector("#by-status tbody").innerHTML = f.by_status.map((s) =>
      `<tr data-status="${escape(s.status)}"><td>${escape(s.name_zh)}</td><td class="count">${s.count}</td></tr>`).join("");
    const total = f.by_domain.reduce((sum, d) => sum + d.count, 0);
    const body = el.querySelector("#by-domain tbody");
    body.innerHTML = f.by_domain.map((d) => `<tr data-domain="${escape(d.code)}">
      <td>${escape(d.name_zh)} <span class="en">${escape(DOMAINS[d.code]?.en ?? d.code)}</span></td>
      <td class="count">${d.count}</td><td class="bar-cell"><div class="bar"></div></td></tr>`).join("");
    // The bars' widths through the CSSOM: the page's policy allows no style attribute in markup.
    f.by_domain.forEach((d, i) => {
      const bar = body.rows[i].querySelector(".bar");
      bar.style.width = total ? `${(100 * d.count) / total}%` : "0";
      bar.title = total ? percent(d.count / total) : "";
    });
    el.hidden = false;
  }
}
