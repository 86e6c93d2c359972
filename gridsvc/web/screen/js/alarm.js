// The alarm (告警): what a commander must not miss while looking elsewhere in the room — an urgent
// report, a case gone overdue, a county alert — raises a pop-up over the map and a tone.
//
// The tone is made here with the Web Audio API (two alternating pitches, three times), so the
// page ships no sound file and plays under its Content-Security-Policy. The mute choice is the
// screen's, not the sign-in's: it is kept in localStorage and survives reloads and sign-outs; muted,
// the pop-up still comes. Browsers start audio only after the user touched the page; the sign-in
// click usually is that touch, and every click or key press tries again (a wall screen that
// reopened by itself stays silent until someone touches it, or runs Chromium with
// --autoplay-policy=no-user-gesture-required: docs/screen.md).

import { escape, moment } from "./format.js";

const MUTED = "gridsvc.alarm.muted";
const SHOWN = 5;  // alarms listed in the pop-up; older ones are counted
const BEEPS = [880, 660, 880, 660, 880, 660];  // Hz, 0.22 s each
const BEEP_S = 0.22;
const BURST_MS = 250;  // alarms this close together sound one tone

/** The alarm's kinds: which events raise it, and what the pop-up calls them. */
export function alarmKind(event) {
  if (event.kind === "case.created" && event.data?.case?.urgent) return "紧急上报";
  if (event.kind === "case.overdue") return "案件超期";
  if (event.kind === "case.county_alert") return "超期县级预警";
  return null;
}

export class Alarm {
  /** @param elements {popup, mute} @param onOpen(trackingNo): open the case's sheet */
  constructor(elements, onOpen) {
    this.el = elements;
    this.onOpen = onOpen;
    this.items = [];  // newest first: {title, trackingNo, lines, at}
    this.audio = null;  // the AudioContext, made at the first touch or alarm
    this.toneAt = -Infinity;  // (performance.now()) when the last tone was started
    this.showMute();
    this.el.mute.addEventListener("click", () => {
      this.muted = !this.muted;
      this.showMute();
    });
    this.el.popup.addEventListener("click", (event) => {
      const open = event.target.closest("[data-open]");
      if (open) this.onOpen(open.dataset.open);
      if (open || event.target.closest("[data-dismiss]")) this.dismiss();
    });
    for (const kind of ["pointerdown", "keydown"]) document.addEventListener(kind, () => this.unlock());
  }

  get muted() { return localStorage.getItem(MUTED) === "1"; }

  set muted(muted) {
    if (muted) localStorage.setItem(MUTED, "1");
    else localStorage.removeItem(MUTED);
  }

  showMute() {
    const muted = this.muted;
    this.el.mute.textContent = muted ? "告警声音：关" : "告警声音：开";
    this.el.mute.setAttribute("aria-pressed", String(muted));
    this.el.mute.classList.toggle("muted", muted);
  }

  /** Raise the alarm: the pop-up lists it first; the tone sounds unless muted.
   * @param alarm {title, trackingNo, lines: [text], at: ISO} */
  raise(alarm) {
    this.items.unshift(alarm);
    this.draw();
    if (!this.muted) this.sound();
  }

  dismiss() {
    this.items = [];
    this.el.popup.hidden = true;
  }

  draw() {
    const more = this.items.length - SHOWN;
    this.el.popup.innerHTML = `<header><h2>告警</h2><button data-dismiss>知道了</button></header>
      <ol>${this.items.slice(0, SHOWN).map((a) => `<li data-tracking-no="${escape(a.trackingNo)}">
        <b class="kind">${escape(a.title)}</b> <time>${moment(a.at)}</time>
        <div class="what">${a.lines.map(escape).join(" · ")}</div>
        <button data-open="${escape(a.trackingNo)}">查看案件 ${escape(a.trackingNo)}</button></li>`).join("")}</ol>
      ${more > 0 ? `<p class="muted">另有 ${more} 条告警</p>` : ""}`;
    this.el.popup.hidden = false;
  }

  /** The page was touched: audio may start now (browsers' autoplay rule). */
  unlock() {
    if (!this.audio) this.audio = new AudioContext();
    if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
  }

  /** Three rounds of a high and a low tone, each with a short fade so it does not click. Alarms that come in
   * one burst (a sweep makes dozens of cases overdue at once; a reconnection brings what was missed) are all
   * listed in the pop-up under one tone, not dozens of tones piled on top of each other. (Wall-clock time: the
   * AudioContext's stands still until the page is touched.) */
  sound() {
    this.unlock();
    if (performance.now() - this.toneAt < BURST_MS) return;
    this.toneAt = performance.now();
    const start = this.audio.currentTime + 0.05;
    BEEPS.forEach((hz, i) => {
      const at = start + i * BEEP_S;
      const tone = new OscillatorNode(this.audio, { type: "square", frequency: hz });
      const gain = new GainNode(this.audio, { gain: 0 });
      gain.gain.setValueAtTime(0, at);
      gain.gain.linearRampToValueAtTime(0.2, at + 0.02);
      gain.gain.setValueAtTime(0.2, at + BEEP_S - 0.04);
      gain.gain.linearRampToValueAtTime(0, at + BEEP_S - 0.01);
      tone.connect(gain).connect(this.audio.destination);
      tone.start(at);
      tone.stop(at + BEEP_S);
    });
  }
}
