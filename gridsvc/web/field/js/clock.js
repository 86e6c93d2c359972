// The service's clock, as the phone shows times. Deadlines are the service's (working time, kept
// by the service), and the phone's own clock may be wrong: every API answer's Date header gives
// the difference (js/api.js keeps it), times are shown in China time whatever the phone's zone,
// and a phone more than five minutes off is told so.

import { read } from "./store.js";

const CHINA = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});
const TOLERATED_OFFSET_MS = 5 * 60 * 1000;

export async function offsetMs() { return (await read("clock_offset_ms")) || 0; }

/** An ISO time as the phone shows it: 12/08 09:30 (China time). */
export function shown(iso) { return iso ? CHINA.format(new Date(iso)) : "—"; }

/** How far a deadline is from the service's now, in words. */
export function untilDeadline(iso, offset) {
  if (!iso) return "";
  const minutes = Math.round((Date.parse(iso) - (Date.now() + offset)) / 60000);
  if (minutes < 0) return `已超期 ${formatSpan(-minutes)}`;
  return `剩余 ${formatSpan(minutes)}`;
}

function formatSpan(minutes) {
  if (minutes < 60) return `${minutes} 分钟`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} 小时`;
  return `${Math.floor(minutes / 1440)} 天`;
}

/** The warning for a phone whose clock is off, or "". */
export function clockWarning(offset) {
  if (Math.abs(offset) <= TOLERATED_OFFSET_MS) return "";
  const minutes = Math.round(Math.abs(offset) / 60000);
  return `手机时间与服务器相差约 ${minutes} 分钟，时间与期限均以服务器时间为准。`;
}
