// The field app's page: sign-in, the tabs each role works with, the network state, and when the
// outbox is sent: on opening, on `online`, when the service worker asks (Background Sync), and
// after a report is queued. Registers the service worker that lets the app open offline.
//
// Tabs by role: a grid worker reports, patrols and follows their reports (with the cases of their
// grids waiting for 核查); an enforcement officer or a department handler works their tasks.

import { ApiError, CHANNEL, Offline, signIn, signOut, signedIn } from "./api.js";
import { CaseSheet } from "./casesheet.js";
import { clockWarning, offsetMs } from "./clock.js";
import { Mine } from "./mine.js";
import { outboxWaiting, sendOutbox } from "./outbox.js";
import { patrolsWaiting } from "./patrol_outbox.js";
import { PatrolView } from "./patrol.js";
import { ReportForm } from "./report.js";
import { loadStartup } from "./startup.js";
import { StorageFull } from "./store.js";
import { Tasks } from "./tasks.js";
import { $ } from "./dom.js";
import { refusal } from "./words.js";

const TITLES = { report: "上报", patrol: "巡查", mine: "我的", tasks: "任务", case: "办理进度", account: "账号" };
const TABS = {
  grid_worker: ["report", "patrol", "mine", "account"],
  enforcement_officer: ["tasks", "report", "mine", "account"],
  department_handler: ["tasks", "account"],
};
const OTHER_TABS = ["report", "mine", "account"];
const RETRY_MS = 60000;
const SIGNED_OUT = "您已退出登录，或此手机已被管理员停用。请重新登录；未发送的上报已保留，登录后继续发送。";

const app = { context: null, views: {}, view: null };
window.gridsvcField = app; // for the browser tests and for debugging on a phone

function banner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

function showNetwork() {
  $("network").textContent = navigator.onLine ? "在线" : "离线";
  $("network").dataset.online = String(navigator.onLine);
}

/** Show one view; the one left is told, so that it stops its GPS or its timers. */
function show(view) {
  if (app.view && app.view !== view) app.views[app.view]?.closed?.();
  app.view = view;
  for (const section of Object.keys(TITLES)) $(section).hidden = section !== view;
  $("title").textContent = TITLES[view];
  document.querySelectorAll(".tabs button").forEach((tab) => {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  });
  app.views[view]?.opened?.();
}

/** Send the outbox; then what the service has from me, when it is on the screen. With no network, or
 * signed out meanwhile (the sign-in form says so), it stops: everything waits for the next time. */
async function send() {
  try {
    await sendOutbox();
    await app.views.patrol?.send?.();
    if (!app.views.mine) return;
    await app.views.mine.showOutbox();
    if (app.view === "mine") await app.views.mine.showReports();
  } catch (error) {
    if (error instanceof StorageFull) banner(error.message);
    else if (!(error instanceof Offline) && !(error instanceof ApiError)) throw error;
  }
}

/** Send again while something waits: the service was busy, or a request stalled, and no `online`
 * event will come. */
async function retryWhatWaits() {
  const phone = app.context.startup.user.phone;
  if (navigator.onLine && ((await outboxWaiting(phone)) || (await patrolsWaiting(phone)))) await send();
}

/** A list that could not be read: a passing trouble is said, and the list shows what it had. */
function troubled(error) {
  if (error instanceof Offline || error instanceof ApiError) banner(error instanceof ApiError ? refusal(error) : "");
  else throw error;
}

function openCase(trackingNo, row = null) {
  app.returnTo = app.view;
  show("case");
  app.views.case.show(trackingNo, row);
}

async function start() {
  app.context = await loadStartup();
  const { startup } = app.context;
  const tabs = TABS[startup.user.role] || OTHER_TABS;
  app.form = new ReportForm(app.context, { onQueued: () => { show("mine"); send(); } });
  app.views.report = app.form;
  app.views.mine = new Mine(app.context, {
    onEdit: (item) => { app.form.reset(item); show("report"); },
    onOpenCase: openCase,
  });
  app.views.mine.opened = () => {
    app.views.mine.showOutbox();
    app.views.mine.showVerifications().catch(troubled);
    app.views.mine.showReports().catch(troubled);
  };
  app.views.case = new CaseSheet(app.context, { onBack: () => show(app.returnTo || tabs[0]) });
  if (tabs.includes("patrol")) app.views.patrol = new PatrolView(app.context);
  if (tabs.includes("tasks")) app.views.tasks = new Tasks(app.context, { onOpenCase: openCase });
  document.querySelectorAll(".tabs button").forEach((tab) => { tab.hidden = !tabs.includes(tab.dataset.view); });
  $("who").textContent = `${startup.user.name}（${startup.user.phone}）`;
  $("grids-of-mine").textContent = startup.grids.length ? `负责网格：${startup.grids.map((g) => g.name).join("、")}` : "";
  const warning = clockWarning(await offsetMs());
  $("clock").textContent = warning || "时间与期限以服务器时间为准。";
  banner(warning);
  $("sign-in").hidden = true;
  $("app").hidden = false;
  show(tabs[0]);
  await app.views.mine.showOutbox();
  setInterval(() => retryWhatWaits().catch(troubled), RETRY_MS);
  app.ready = true;
  app.readyAfterMs = Math.round(performance.now()); // from the page's navigation: the tests print it
  send();
}

function askToSignIn(message = "") {
  $("app").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
}

$("sign-in").querySelector("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    await signIn(form.phone.value.trim(), form.password.value);
    form.password.value = "";
    if (app.context) location.reload(); // signed out while the app was open: start afresh
    else await start();
  } catch (error) {
    $("sign-in-error").textContent = error instanceof Offline ? "没有网络：首次登录需要网络"
      : error instanceof ApiError ? refusal(error) : `登录失败：${error.message}`;
  } finally {
    button.disabled = false;
  }
});

$("sign-out").addEventListener("click", async () => {
  await signOut();
  location.reload();
});

document.querySelectorAll(".tabs button").forEach((tab) => tab.addEventListener("click", () => show(tab.dataset.view)));
new BroadcastChannel(CHANNEL).addEventListener("message", ({ data }) => {
  if (data.type === "outbox" && app.views.mine) app.views.mine.showOutbox();
  if (data.type === "signed-out") askToSignIn(SIGNED_OUT);
});
navigator.serviceWorker?.addEventListener("message", ({ data }) => { if (data.type === "send-outbox") send(); });
window.addEventListener("online", () => { showNetwork(); send(); });
window.addEventListener("offline", showNetwork);
showNetwork();

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/m/sw.js", { type: "module", scope: "/m/" })
    .catch(() => banner("此浏览器不能离线使用本应用：请用最新版的手机浏览器，并通过 https 打开。"));
}

(async () => {
  if (!(await signedIn())) return askToSignIn();
  try {
    await start();
  } catch (error) {
    askToSignIn(error instanceof ApiError && error.status === 401 ? SIGNED_OUT : `无法打开：${error.message}`);
  }
})();
