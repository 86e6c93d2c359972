// 巡查: start and stop a patrol, record the phone's fixes while the app is open and send them in
// batches (queued offline like reports), today's metres and coverage per grid.
//
// - A patrol gets its client UUID on the phone when it starts and is kept in IndexedDB (js/store.js)
//   until the service has its start, every fix and its stop: a start, a batch or a stop sent again
//   after a lost answer changes nothing on the service (a fix is known there by its seq).
// - While a patrol runs and the app is open (on any tab), each GPS fix (watchPosition, high
//   accuracy, WGS84 as the browser gives it) is stored first, under the patrol's next seq, then sent:
//   every BATCH fixes, every EVERY_MS, on `online`, on opening the app and when the patrol stops.
//   A fix the service answered for is deleted from the phone; one it rejected is counted and shown.
// - A web app gets no fixes with the screen off or in the background: the screen is kept on with
//   the Screen Wake Lock API while patrolling, and the screen says so plainly.
// - After a page reload a patrol that was not stopped carries on when this tab is opened again.

import { api, ApiError, Offline } from "./api.js";
import { offsetMs, shown } from "./clock.js";
import { StorageFull, changePatrol, keepPatrol, newUuid, read, recordFix, waitingFixes, write } from "./store.js";
import { $, element } from "./dom.js";
import { askForBackgroundSync } from "./outbox.js";
import { patrolsOf, sendPatrols } from "./patrol_outbox.js";
import { refusal } from "./words.js";

const BATCH = 10; // fixes waiting that are worth a request at once
const EVERY_MS = 15000; // and what waits is sent at least this often while recording
const MAX_ACCURACY_M = 100; // the service's patrol_max_accuracy_m: worse fixes are not kept
const REPEAT_MS = 30000; // the same position again this soon is the browser repeating its last fix
const CLOCK_WRONG_MS = 60000; // a phone clock this far from the service's: times are corrected

const CHINA_DAY = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });
const CHINA_TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
/** The China day (Asia/Shanghai) of a moment, as YYYY-MM-DD. */
function chinaDay(ms) {
  const parts = Object.fromEntries(CHINA_DAY.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** Whether a fix is new, not the browser giving the last one again (on resuming, or a cached fix). */
function fresh(last, fix) {
  if (!last) return true;
  if (fix.taken_ms <= last.taken_ms) return false;
  const same = fix.lon === last.lon && fix.lat === last.lat && fix.accuracy === last.accuracy;
  return !(same && fix.taken_ms - last.taken_ms < REPEAT_MS);
}

export class PatrolView {
  constructor(context) {
    this.context = context;
    this.phone = context.startup.user.phone;
    this.current = null; // the client UUID of the patrol this page records
    this.clockOffset = 0; // ms added to the phone's clock for this patrol's times
    this.watch = null;
    this.timer = null;
    this.wakeLock = null;
    this.wake = ""; // held | unsupported | failed | released
    this.sending = null;
    this.again = false;
    this.renders = 0;
    this.quietUntil = 0; // after a failed send, new fixes do not ask again before this (the timer does)
    this.confirming = false; // 结束巡查 tapped once: asking to confirm
    this.wire();
    this.show();
  }

  wire() {
    $("patrol-start").addEventListener("click", () => this.begin());
    $("patrol-stop").addEventListener("click", () => { this.confirming = true; this.show(); });
    $("patrol-stop-cancel").addEventListener("click", () => { this.confirming = false; this.show(); });
    $("patrol-stop-confirm").addEventListener("click", () => this.end());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.keepAwake();
      else this.send(); // going to the background: send what waits while the page still runs
    });
  }

  /** My patrols on this phone, oldest first. */
  mine() { return patrolsOf(this.phone); }

  async running() { return (await this.mine()).filter((p) => !p.ended_at).at(-1) || null; }

  opened() {
    this.confirming = false;
    (async () => {
      const patrol = await this.running();
      if (patrol && this.current !== patrol.client_uuid) this.record(patrol); // after a reload: carry on
      await this.show();
      await this.refreshCoverage();
    })().catch((error) => this.failed(error));
  }

  /** Leaving the tab does not stop a patrol: fixes are recorded while the app is open, on any tab. */
  closed() {
    this.confirming = false;
  }

  // -- recording ----------------------------------------------------------------------------------

  async begin() {
    if (this.starting) return; // a double tap makes one patrol
    this.starting = true;
    try {
      await this.startPatrol();
    } finally {
      this.starting = false;
    }
  }

  async startPatrol() {
    $("patrol-error").textContent = "";
    if (!navigator.geolocation) {
      $("patrol-error").textContent = "此手机不支持定位，无法记录巡查轨迹。";
      return;
    }
    if (await this.running()) return;
    const offset = await offsetMs();
    const clockOffset = Math.abs(offset) > CLOCK_WRONG_MS ? offset : 0;
    const patrol = {
      client_uuid: newUuid(), phone: this.phone,
      started_at: new Date(Date.now() + clockOffset).toISOString(), ended_at: null, clock_offset_ms: clockOffset,
      next_seq: 0, recorded: 0, sent: 0, rejected: 0, rejection: null, last_fix: null,
      start_sent: false, stop_sent: false, refused: null,
    };
    try {
      await keepPatrol(patrol);
    } catch (error) {
      return this.failed(error);
    }
    this.record(patrol);
    await this.show();
    this.send();
  }

  record(patrol) {
    this.current = patrol.client_uuid;
    this.clockOffset = patrol.clock_offset_ms || 0;
    $("patrol-gps").textContent = "正在定位…";
    if (this.watch === null) {
      this.watch = navigator.geolocation.watchPosition((position) => this.gotFix(position), (error) => this.noFix(error),
        { enableHighAccuracy: true, maximumAge: 0 });
    }
    this.timer ??= setInterval(() => this.send(), EVERY_MS);
    this.keepAwake();
  }

  stopRecording() {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    clearInterval(this.timer);
    this.watch = this.timer = null;
    this.current = null;
    const lock = this.wakeLock;
    this.wakeLock = null;
    this.wake = "";
    lock?.release().catch(() => {});
  }

  async gotFix({ coords, timestamp }) {
    const clientUuid = this.current;
    if (!clientUuid) return;
    const accuracy = Math.round(coords.accuracy);
    if (coords.accuracy > MAX_ACCURACY_M) {
      $("patrol-gps").textContent = `定位精度 ±${accuracy} 米，低于要求（${MAX_ACCURACY_M} 米以内），此点不记录；请到开阔处。`;
      return;
    }
    // The fix's own time; a browser that gives none (or nonsense) gets the phone's clock.
    const taken = Number.isFinite(timestamp) && Math.abs(timestamp - Date.now()) < 86400000 ? timestamp : Date.now();
    const fix = {
      lon: coords.longitude, lat: coords.latitude, accuracy: coords.accuracy, taken_ms: taken,
      recorded_at: new Date(taken + this.clockOffset).toISOString(),
    };
    try {
      const kept = await recordFix(clientUuid, fix, (patrol) => fresh(patrol.last_fix, fix));
      if (!kept) return;
      $("patrol-gps").textContent = `最近定位 ${CHINA_TIME.format(new Date(taken))}，精度 ±${accuracy} 米`;
      $("patrol-error").textContent = "";
      await this.show();
      if ((await waitingFixes(clientUuid)) >= BATCH && Date.now() >= this.quietUntil) this.send();
    } catch (error) {
      this.failed(error);
    }
  }

  noFix(error) {
    $("patrol-gps").textContent = error.code === error.PERMISSION_DENIED
      ? "定位权限被拒绝：请在手机设置中允许本应用使用定位，否则无法记录巡查轨迹。"
      : "暂时无法定位：请到开阔处，恢复后自动继续记录。";
  }

  async end() {
    this.confirming = false;
    const patrol = await this.running();
    if (!patrol) return this.show();
    this.stopRecording();
    try {
      await changePatrol(patrol.client_uuid, (p) => {
        p.ended_at = new Date(Math.max(Date.now() + (p.clock_offset_ms || 0), Date.parse(p.started_at))).toISOString();
      });
    } catch (error) {
      return this.failed(error);
    }
    await this.show();
    await this.send();
  }

  // -- the screen kept on -------------------------------------------------------------------------

  async keepAwake() {
    if (!this.current || document.visibilityState !== "visible" || this.wakeLock || this.acquiring) return this.showWake();
    if (!navigator.wakeLock) {
      this.wake = "unsupported";
      return this.showWake();
    }
    this.acquiring = true;
    try {
      const lock = await navigator.wakeLock.request("screen");
      if (!this.current) {
        lock.release().catch(() => {});
      } else {
        this.wakeLock = lock;
        this.wake = "held";
        lock.addEventListener("release", () => {
          if (this.wakeLock !== lock) return;
          this.wakeLock = null;
          this.wake = "released"; // the phone took it back (hidden, battery saver): asked again when visible
          this.showWake();
        });
      }
    } catch {
      this.wake = "failed";
    } finally {
      this.acquiring = false;
    }
    this.showWake();
  }

  showWake() {
    const text = {
      held: "巡查中屏幕保持常亮。",
      unsupported: "此浏览器不支持保持屏幕常亮：请在手机设置中把自动锁屏时间调长，巡查时不要锁屏。",
      failed: "未能保持屏幕常亮：请在手机设置中把自动锁屏时间调长，巡查时不要锁屏。",
      released: "屏幕常亮已被系统取消：回到本应用后自动恢复；巡查时请不要锁屏。",
    }[this.wake] || "";
    $("patrol-wake").textContent = this.current ? text : "";
    $("patrol-wake").dataset.wake = this.current ? this.wake : "";
  }

  // -- sending ------------------------------------------------------------------------------------

  /** Send what waits (called with the outbox: on `online`, on opening, by Background Sync). */
  send() {
    if (this.sending) {
      this.again = true;
      return this.sending;
    }
    this.sending = (async () => {
      try {
        do {
          this.again = false;
          await (navigator.locks ? navigator.locks.request("gridsvc-patrols", () => this.sendAll()) : this.sendAll());
        } while (this.again && navigator.onLine !== false);
      } catch (error) {
        this.failed(error);
      } finally {
        this.sending = null;
      }
    })();
    return this.sending;
  }

  async sendAll() {
    if (navigator.onLine === false || !(await read("tokens"))) return;
    let changed = false;
    try {
      changed = await sendPatrols(this.phone);
    } catch (error) {
      if (!(error instanceof Offline) && !(error instanceof ApiError)) throw error;
      // No network, or the service cannot take it now (signed out, busy): everything stays for the next try,
      // which Background Sync may make with the app closed.
      this.quietUntil = Date.now() + EVERY_MS;
      askForBackgroundSync("patrols");
    } finally {
      if (changed) await this.refreshCoverage();
      await this.show();
    }
  }

  // -- what the screen shows ----------------------------------------------------------------------

  async show() {
    const render = ++this.renders;
    const mine = await this.mine();
    let waiting = 0;
    for (const p of mine) waiting += await waitingFixes(p.client_uuid);
    if (render !== this.renders) return; // a later call shows newer figures
    const running = mine.filter((p) => !p.ended_at).at(-1) || null;
    const latest = running || mine.at(-1) || null;
    const unsent = mine.some((p) => !p.refused && (!p.start_sent || (p.ended_at && !p.stop_sent))) || waiting > 0;
    let state = "idle";
    let status = "未在巡查";
    let since = "";
    if (running && this.current === running.client_uuid) {
      state = "recording";
      status = "巡查中";
      since = `开始于 ${shown(running.started_at)}`;
    } else if (running) {
      state = "paused";
      status = "巡查未结束：打开本页即继续记录";
      since = `开始于 ${shown(running.started_at)}`;
    } else if (latest) {
      state = unsent ? "sending" : "done";
      status = unsent ? "巡查已结束，记录待发送" : "巡查已结束，记录已全部发送";
      since = `上次巡查 ${shown(latest.started_at)} 至 ${shown(latest.ended_at)}`;
    }
    $("patrol-status").textContent = status;
    $("patrol-status").dataset.state = state;
    $("patrol-since").textContent = since;
    $("patrol-start").hidden = Boolean(running);
    $("patrol-stop").hidden = !running || this.confirming;
    $("patrol-stop-ask").hidden = !running || !this.confirming;
    if (!running) $("patrol-gps").textContent = "";
    $("patrol-recorded").textContent = String(latest ? latest.recorded : 0);
    $("patrol-waiting").textContent = String(waiting);
    $("patrol-sent").textContent = String(latest ? latest.sent : 0);
    $("patrol-rejected").textContent = String(latest ? latest.rejected : 0);
    $("patrol-unsent").dataset.unsent = String(unsent);
    $("patrol-unsent").textContent = !unsent ? ""
      : navigator.onLine === false ? "无网络：记录保存在手机上，有网络时自动发送。" : "记录待发送，有网络时自动发送。";
    $("patrol-rejection").textContent = latest && latest.rejected
      ? `有 ${latest.rejected} 个定位点未被服务端接受（${latest.rejection}），已从手机删除。` : "";
    $("patrol-refused").textContent = mine.filter((p) => p.refused).map((p) => p.refused).join("\n");
    this.showWake();
  }

  async refreshCoverage() {
    const key = `patrol_coverage:${this.phone}`;
    const date = chinaDay(Date.now() + (await offsetMs()));
    try {
      const coverage = await api(`/mobile/v1/patrols/coverage?date=${date}`);
      const kept = { date, at: new Date().toISOString(), coverage };
      this.showCoverage(kept, date, true);
      await write(key, kept).catch(() => {}); // a full phone: shown, not kept
    } catch (error) {
      if (!(error instanceof Offline) && !(error instanceof ApiError)) throw error;
      this.showCoverage(await read(key), date, false);
    }
  }

  showCoverage(kept, today, fresh) {
    const length = $("patrol-length");
    if (!kept) {
      length.textContent = "";
      delete length.dataset.lengthM;
      $("patrol-coverage-note").textContent = "无网络，暂无巡查统计；有网络时显示。";
      $("patrol-grids").replaceChildren();
      return;
    }
    const { coverage } = kept;
    const day = kept.date === today ? "今日" : kept.date;
    length.textContent = `${day}已巡查 ${Math.round(coverage.length_m)} 米` +
      (coverage.outside_grids_m >= 1 ? `（其中网格外 ${Math.round(coverage.outside_grids_m)} 米）` : "");
    length.dataset.lengthM = String(coverage.length_m);
    length.dataset.fixes = String(coverage.fixes);
    length.dataset.date = kept.date;
    $("patrol-coverage-note").textContent = fresh
      ? `统计于 ${shown(kept.at)}，按巡查轨迹两侧各 ${coverage.buffer_m} 米计算覆盖`
      : `无网络：显示 ${shown(kept.at)} 的统计`;
    $("patrol-coverage-note").dataset.fresh = String(fresh);
    const rows = coverage.grids.map((grid) => {
      const row = element("li", "item grid-cover");
      row.dataset.code = grid.code;
      row.dataset.share = String(grid.covered_share);
      row.dataset.lengthM = String(grid.length_m);
      const percent = `${(grid.covered_share * 100).toFixed(1)}%`;
      const bar = element("span", "cover-bar");
      bar.append(element("span", ""));
      bar.firstChild.style.width = `${Math.min(100, grid.covered_share * 100)}%`;
      row.append(element("strong", "grid-name", grid.name), element("span", "status share", `覆盖 ${percent}`),
        element("span", "muted", `${Math.round(grid.length_m)} 米`), bar);
      return row;
    });
    $("patrol-grids").replaceChildren(...rows);
    if (!rows.length) $("patrol-grids").append(element("li", "muted", "还没有计入网格的巡查轨迹。"));
  }

  failed(error) {
    $("patrol-error").textContent = error instanceof StorageFull ? error.message
      : error instanceof ApiError ? refusal(error) : `出错了：${error.message}`;
  }
}
