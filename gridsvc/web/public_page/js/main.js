// 政务公开: three parts behind tabs (#case, #stats, #list), each loaded the first time it is shown.
// `?case=<no>` opens the page on that case (a link in the reporter's receipt, say).

import { Lookup } from "./lookup.js";
import { ResponsibilityList } from "./responsibility.js";
import { Stats } from "./stats.js";

const $ = (selector) => document.querySelector(selector);
const TABS = ["case", "stats", "list"];

const list = new ResponsibilityList($("#list"));
const stats = new Stats($("#stats"));
const lookup = new Lookup($("#case"), {
  onDepartment: (name) => { list.start().then(() => list.showDepartment(name)).catch(() => {}); },
});

function show(tab) {
  if (!TABS.includes(tab)) tab = "case";
  for (const name of TABS) {
    $(`#${name}`).hidden = name !== tab;
    const link = $(`nav.tabs a[data-tab="${name}"]`);
    link.classList.toggle("active", name === tab);
    if (name === tab) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (tab === "stats") stats.start().catch(() => {});
  if (tab === "list") list.start().catch(() => {});
}

window.addEventListener("hashchange", () => show(location.hash.slice(1)));
show(location.hash.slice(1));

const asked = new URLSearchParams(location.search).get("case");
if (asked) {
  $("#tracking-no").value = asked;
  show("case");
  lookup.find(asked);
}
