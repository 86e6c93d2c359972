// Text for the screen: escaping, China-time moments, numbers.

export function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CHINA = { timeZone: "Asia/Shanghai", hour12: false };
const CHINA_TIME = new Intl.DateTimeFormat("zh-CN", { ...CHINA, month: "2-digit", day: "2-digit", hour: "2-digit",
                                                      minute: "2-digit" });
const CHINA_TIME_WITH_YEAR = new Intl.DateTimeFormat("zh-CN", { ...CHINA, year: "numeric", month: "2-digit",
                                                                day: "2-digit", hour: "2-digit", minute: "2-digit" });
const CHINA_YEAR = new Intl.DateTimeFormat("zh-CN", { ...CHINA, year: "numeric" });

/** An ISO moment as China time: "11/26 09:30" in this year (China's), "2025/11/26 09:30" in any other, so
 * that a case from last December never reads as this December's (the service stores and sends UTC). */
export function moment(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  const thisYear = CHINA_YEAR.format(date) === CHINA_YEAR.format(new Date());
  return (thisYear ? CHINA_TIME : CHINA_TIME_WITH_YEAR).format(date);
}

/** When a case was reported: the phone's time (`reported_at`: a report queued offline is uploaded hours later),
 * and the upload's (`received_at`) after it when they differ by a minute or more. */
export function reportedMoment(c) {
  const phone = c.reported_at ?? c.received_at;
  if (!phone || !c.received_at || Math.abs(new Date(c.received_at) - new Date(phone)) < 60e3) return moment(phone);
  return `${moment(phone)}（${moment(c.received_at)} 上传）`;
}

/** A calendar day "2026-11-26" (a China day, as the service names them) as "11-26", with its year when it is
 * not this year's. */
export function day(date) {
  return date.slice(0, 4) === CHINA_YEAR.format(new Date()).slice(0, 4) ? date.slice(5) : date;
}

/** A share as a percentage, "—" when there is nothing to divide. */
export function percent(share) {
  return share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)}%`;
}

export function hours(value) {
  return value === null || value === undefined ? "—" : value.toFixed(1);
}
