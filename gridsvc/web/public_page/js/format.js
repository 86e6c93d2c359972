// Text for the page: escaping, China days, percentages, stars, and the names the API gives as codes.

export function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "Chinese name" with its English name after it, muted (either may be missing). */
export function bilingual(zh, en) {
  const parts = [];
  if (zh) parts.push(escape(zh));
  if (en) parts.push(`<span class="en">${escape(en)}</span>`);
  return parts.join(" ") || "—";
}

export function percent(share) {
  return share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)}%`;
}

export function stars(count) {
  const n = Math.max(0, Math.min(5, Math.round(count)));
  return `<span class="stars" aria-hidden="true">${"★".repeat(n)}${"☆".repeat(5 - n)}</span>`;
}

/** 2026-05-01 → 2026年5月1日 */
export function day(iso) {
  if (!iso) return "—";
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return `${y}年${m}月${d}日`;
}

export const DOMAINS = {
  governance: { zh: "综治", en: "Governance & public order" },
  enforcement: { zh: "执法", en: "Law enforcement" },
  services: { zh: "服务", en: "Public services" },
};

export const DEPARTMENT_LEVELS = { county: "县级", township: "乡镇级" };

// -- China days, whatever the phone's own time zone --------------------------------------------

const CHINA_DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
                                                    day: "2-digit" });

/** Today in China as YYYY-MM-DD. */
export function chinaToday(now = new Date()) {
  return CHINA_DAY.format(now);
}

/** A YYYY-MM-DD day moved by `days` (calendar arithmetic on the date alone). */
export function addDays(isoDay, days) {
  const [y, m, d] = isoDay.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The start of a China day as an ISO moment with its offset (the API reads a bare time as UTC). */
export function chinaMidnight(isoDay) {
  return `${isoDay}T00:00:00+08:00`;
}

/** The China day of an ISO moment. */
export function chinaDayOf(iso) {
  return CHINA_DAY.format(new Date(iso));
}
