// 案件查询: a case by its tracking number, as GET /api/v1/public/cases/<no> publishes it.
// Never more: the API leaves out the reporter, the description, the point and the photos, and for
// an enforcement (执法) case everything but status, department and dates.

import { publicCase } from "./api.js";
import { DOMAINS, bilingual, day, escape, stars } from "./format.js";

const TRACKING_NO = /^\d{8}-[A-Z2-7]{8}$/;  // gridsvc.web.cases_api.TRACKING_NO
const STAGES = ["上报", "立案", "派遣", "处置", "核查", "结案"];
// The stage a status waits for (STAGES index); every earlier stage is done.
const WAITING_FOR = { reported: 1, filed: 2, dispatched: 3, handling: 3, handled: 4, verified: 5, closed: 6 };

/** What a citizen typed, as a tracking number: full-width characters, spaces, dashes of any kind
 * and lower case forgiven; the dash may be left out. Null when it cannot be one. */
export function normalise(typed) {
  let text = String(typed ?? "").normalize("NFKC").toUpperCase().replace(/\s+/g, "");
  text = text.replace(/[‐-―−－_]/g, "-");
  if (/^\d{8}[A-Z2-7]{8}$/.test(text)) text = `${text.slice(0, 8)}-${text.slice(8)}`;
  return TRACKING_NO.test(text) ? text : null;
}

function progress(status) {
  const at = WAITING_FOR[status];
  if (at === undefined) return "";
  const items = STAGES.map((name, i) => {
    const state = i < at ? "done" : i === at ? "current" : "";
    return `<li class="${state}"${i === at ? ' aria-current="step"' : ""}>${name}</li>`;
  });
  return `<ol class="progress" aria-label="办理进度">${items.join("")}</ol>`;
}

function fact(field, label, html) {
  return `<dt>${label}</dt><dd data-field="${field}">${html}</dd>`;
}

function notice(c) {
  if (c.enforcement) {
    return '<p class="notice" data-notice="enforcement">本案属执法类事项。依照执法公示规定，本页仅公开办理状态、'
      + "责任部门和日期；执法决定由执法部门依法另行公示。</p>";
  }
  if (c.status === "rejected") {
    return '<p class="notice" data-notice="rejected">本案经审核不予立案，理由见下方公开说明。</p>';
  }
  if (c.status === "merged") {
    return '<p class="notice" data-notice="merged">本案与同一事件的其他上报合并办理，办理结果以合并后的案件为准。</p>';
  }
  return "";
}

export function render(c) {
  const domain = DOMAINS[c.domain];
  const place = [c.township?.name, c.village?.name].filter(Boolean).map(escape).join(" · ") || "—";
  const rows = [
    fact("status", "办理状态", `<span class="status status-${escape(c.status)}">${escape(c.status_name_zh)}</span>`),
  ];
  if (c.category) {
    rows.push(fact("category", "事项类别",
      `${bilingual(c.category.name_zh, c.category.name_en)} <span class="en">(${escape(c.category.code)})</span>`));
  }
  rows.push(fact("domain", "所属领域", domain ? bilingual(c.domain_name_zh ?? domain.zh, domain.en) : "—"));
  rows.push(fact("place", "所在地区", place));
  rows.push(fact("department", "责任部门",
    c.department ? bilingual(c.department.name_zh, c.department.name_en) : "尚未确定"));
  rows.push(fact("received", "受理日期", day(c.received_on)));
  rows.push(fact("closed", "办结日期", c.closed_on ? day(c.closed_on) : "尚未办结"));
  if (!c.enforcement) {
    rows.push(fact("rating", "群众评价", c.rating
      ? `${stars(c.rating.stars)} ${c.rating.stars} 星（${day(c.rating.rated_on)}评价）` : "暂无评价"));
    const notes = (c.notes || []).map((n) => `<li><span class="when">${escape(n.step_name_zh)} · ${day(n.on)}`
      + `${n.corrected_on ? `（${day(n.corrected_on)}更正）` : ""}</span><div class="note">${escape(n.note)}</div></li>`);
    rows.push(fact("notes", "公开说明", notes.length ? `<ul class="notes">${notes.join("")}</ul>` : "暂无"));
  }
  const listLink = c.department
    ? `<p><a href="#list" data-department-name="${escape(c.department.name_zh)}">查看该部门在责任清单中负责的事项</a></p>` : "";
  return `<header><span class="number">${escape(c.tracking_no)}</span>
      <span class="status status-${escape(c.status)}">${escape(c.status_name_zh)}</span></header>
    ${progress(c.status)}${notice(c)}
    <dl class="facts">${rows.join("")}</dl>${listLink}`;
}

export class Lookup {
  constructor(root, { onDepartment }) {
    this.form = root.querySelector("#lookup-form");
    this.input = root.querySelector("#tracking-no");
    this.message = root.querySelector("#lookup-message");
    this.result = root.querySelector("#lookup-result");
    this.asked = 0;  // only the latest answer is shown
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.find(this.input.value);
    });
    this.result.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-department-name]");
      if (link) onDepartment(link.dataset.departmentName);
    });
  }

  say(text, kind = "") {
    this.message.textContent = text;
    this.message.className = `message ${kind}`.trim();
    this.message.dataset.kind = kind || "info";
    this.message.hidden = !text;
  }

  async find(typed) {
    const asked = ++this.asked;
    this.result.hidden = true;
    this.result.innerHTML = "";
    const trackingNo = normalise(typed);
    if (!String(typed ?? "").trim()) {
      this.say("请输入案件编号。", "error");
      return;
    }
    if (!trackingNo) {
      this.say("案件编号格式不正确：应为 8 位日期、短横线和 8 位字母或数字，例如 20260501-ABCDEFGH。请核对后重新输入。",
        "error");
      this.message.dataset.kind = "malformed";
      return;
    }
    this.input.value = trackingNo;
    this.say("正在查询…", "loading");
    try {
      const found = await publicCase(trackingNo);
      if (asked !== this.asked) return;
      this.say("");
      this.result.innerHTML = render(found);
      this.result.dataset.trackingNo = found.tracking_no;
      this.result.hidden = false;
      history.replaceState(null, "", `?case=${encodeURIComponent(trackingNo)}#case`);
    } catch (error) {
      if (asked !== this.asked) return;
      if (error.status === 404) {
        this.say(`未找到编号为 ${trackingNo} 的案件。请核对编号后重试。`, "error");
        this.message.dataset.kind = "not-found";
      } else {
        this.say("查询服务暂时不可用，请稍后再试。", "error");
        this.message.dataset.kind = "unavailable";
      }
    }
  }
}
