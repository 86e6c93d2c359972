// Text for the screen: escaping, China-time moments, numbers.

export function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CHINA_TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});

/** An ISO moment as China time, e.g. "11/26 09:30" (the service stores and sends UTC). */
export function moment(iso) {
  return iso ? CHINA_TIME.format(new Date(iso)) : "—";
}

/** A share as a percentage, "—" when there is nothing to divide. */
export function percent(share) {
  return share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)}%`;
}

export function hours(value) {
  return value === null || value === undefined ? "—" : value.toFixed(1);
}
