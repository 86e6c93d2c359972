// What the service says, as the phone shows it: in Chinese only. The service's messages are
// "中文 / English"; its reasons for a field are English (they are for developers), so a refused field
// is named in Chinese and the English detail is left out.

const FIELD_NAMES = {
  category: "问题类别", description: "问题描述", lon: "位置", lat: "位置", crs: "坐标系", accuracy: "定位精度",
  reported_at: "上报时间", urgent: "紧急", client_uuid: "上报编号", location_source: "位置来源",
  photo: "照片", attachments: "照片", note: "说明", until: "延期日期", expected_seq: "案件状态",
};

/** The Chinese half of a "中文 / English" message (the whole message if it has no such halves). */
export function zhOnly(message) {
  return String(message || "").split(" / ")[0];
}

/** Why the service refused something (an ApiError, or a batch item's {code, fields}), in Chinese. */
export function refusal(error) {
  if (!error) return "";
  if (error.status >= 500 || error.status === 429) return "服务暂时繁忙，请稍后再试";
  const fields = Object.keys(error.fields || {}).map((field) => `${FIELD_NAMES[field] || "内容"}不符合要求`);
  const message = error.message && /[\u4e00-\u9fff]/.test(error.message) ? zhOnly(error.message) : "";
  return [...new Set([message, ...fields].filter(Boolean))].join("；") || "服务端未受理";
}
