// 责任清单: the published responsibility list (GET /api/v1/public/responsibility), searchable and
// filterable by category (or domain) and by department; names in Chinese with English.

import { once, responsibility } from "./api.js";
import { DEPARTMENT_LEVELS, DOMAINS, bilingual, escape } from "./format.js";

const subjectKey = (r) => `${r.subject_kind}:${r.subject}`;

function subjectNames(r) {
  if (r.subject_kind === "domain") {
    const d = DOMAINS[r.subject];
    return { zh: d ? `${d.zh}类事项（兜底）` : r.subject, en: d ? `${d.en} (all matters of the domain)` : "" };
  }
  return { zh: r.subject_name_zh ?? r.subject, en: r.subject_name_en ?? "" };
}

/** Lower-case text a search is matched against: every name, code and note of the rule. */
function haystack(r) {
  const s = subjectNames(r);
  return [r.area_name, r.area_code, s.zh, s.en, r.subject, r.department.name_zh, r.department.name_en,
          r.department.code, r.note_zh].filter(Boolean).join(" ").toLowerCase();
}

function row(r) {
  const s = subjectNames(r);
  const level = DEPARTMENT_LEVELS[r.department.level] ?? "";
  // One <div> per cell: on a phone each cell is a two-column grid, its heading and its content.
  return `<tr data-subject="${escape(subjectKey(r))}" data-department="${escape(r.department.code)}">
    <td data-label="地区"><div>${escape(r.area_name ?? r.area_code)} <span class="code">${escape(r.area_code)}</span>
      </div></td>
    <td data-label="事项"><div>${bilingual(s.zh, s.en)}${r.subject_kind === "category"
      ? ` <span class="code">${escape(r.subject)}</span>` : ""}</div></td>
    <td data-label="责任部门"><div>${bilingual(r.department.name_zh, r.department.name_en)}${level
      ? ` <span class="code">${level}</span>` : ""}</div></td>
    <td data-label="说明">${r.note_zh ? `<div>${escape(r.note_zh)}</div>` : ""}</td></tr>`;
}

export class ResponsibilityList {
  constructor(root) {
    this.root = root;
    this.search = root.querySelector("#list-search");
    this.subject = root.querySelector("#list-subject");
    this.department = root.querySelector("#list-department");
    this.table = root.querySelector("#list-table");
    this.count = root.querySelector("#list-count");
    this.message = root.querySelector("#list-message");
    this.rules = [];
    this.start = once(() => this.load());  // the first time the tab is shown, again after a failure
    this.search.addEventListener("input", () => this.filter());
    this.subject.addEventListener("change", () => this.filter());
    this.department.addEventListener("change", () => this.filter());
    root.querySelector("#list-reset").addEventListener("click", () => {
      this.search.value = "";
      this.subject.value = "";
      this.department.value = "";
      this.filter();
    });
  }

  async load() {
    this.root.dataset.state = "loading";
    try {
      this.rules = (await responsibility()).rules;
    } catch {
      this.message.textContent = "责任清单暂时无法加载，请稍后再试。";
      this.message.className = "message error";
      this.message.hidden = false;
      this.root.dataset.state = "error";
      throw new Error("responsibility");
    }
    this.message.hidden = true;
    this.options();
    this.table.tBodies[0].innerHTML = this.rules.map(row).join("");
    this.texts = this.rules.map(haystack);
    this.table.hidden = false;
    this.filter();
    this.root.dataset.state = "ready";
  }

  options() {
    const subjects = new Map();
    const departments = new Map();
    for (const r of this.rules) {
      subjects.set(subjectKey(r), r);
      departments.set(r.department.code, r.department);
    }
    const domains = [...subjects.values()].filter((r) => r.subject_kind === "domain")
      .sort((a, b) => a.subject.localeCompare(b.subject));
    const categories = [...subjects.values()].filter((r) => r.subject_kind === "category")
      .sort((a, b) => a.subject.localeCompare(b.subject));
    const option = (r) => `<option value="${escape(subjectKey(r))}">${escape(subjectNames(r).zh)}${
      r.subject_kind === "category" ? ` (${escape(r.subject)})` : ""}</option>`;
    this.subject.innerHTML = `<option value="">全部</option>
      <optgroup label="领域（兜底）">${domains.map(option).join("")}</optgroup>
      <optgroup label="具体事项">${categories.map(option).join("")}</optgroup>`;
    const sorted = [...departments.values()].sort((a, b) =>
      (a.level === b.level ? 0 : a.level === "county" ? -1 : 1) || a.code.localeCompare(b.code));
    this.department.innerHTML = `<option value="">全部</option>${sorted.map((d) =>
      `<option value="${escape(d.code)}">${escape(d.name_zh)}</option>`).join("")}`;
  }

  /** Show the rules of a department found by its Chinese name (from a case's page). */
  showDepartment(nameZh) {
    const found = this.rules.find((r) => r.department.name_zh === nameZh);
    this.search.value = found ? "" : nameZh;
    this.subject.value = "";
    this.department.value = found ? found.department.code : "";
    this.filter();
  }

  filter() {
    const words = this.search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const subject = this.subject.value;
    const department = this.department.value;
    let shown = 0;
    [...this.table.tBodies[0].rows].forEach((tr, i) => {
      const r = this.rules[i];
      const visible = (!subject || subjectKey(r) === subject) && (!department || r.department.code === department)
        && words.every((w) => this.texts[i].includes(w));
      tr.hidden = !visible;
      if (visible) shown += 1;
    });
    this.count.textContent = shown === this.rules.length
      ? `共 ${this.rules.length} 条` : `共 ${this.rules.length} 条，符合条件 ${shown} 条`;
    this.count.dataset.shown = String(shown);
    this.root.querySelector(".empty")?.remove();
    if (!shown && this.rules.length) {
      this.table.insertAdjacentHTML("afterend", '<p class="empty message">没有符合条件的条目，请换个关键词或点“重置”。</p>');
    }
  }
}
