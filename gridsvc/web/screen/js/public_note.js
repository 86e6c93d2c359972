// Notes the public page publishes (docs/public.md): the reason of 不予立案 and the 结案 note. Whoever
// writes one on the case sheet is told it will be public and sees it as the public page will show it;
// the sheet shows what is published now, and the case's commander may correct it afterwards
// (POST …/public-note: a new entry of the sealed record, the old text kept).
//
// The preview uses the public page's own day format (/public/js/format.js), so it cannot drift from it.

import { escape } from "./format.js";
import { day } from "/public/js/format.js";

const CHINA_DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" });  // YYYY-MM-DD
const PUBLIC_MARK = "将在政务公开页面公示";

/** A published note as the public page's case view draws it (its step, day, correction day and text). */
function asPublished(stepName, on, note, correctedOn = null) {
  const corrected = correctedOn ? `（${day(correctedOn)}更正）` : "";
  const text = note ? escape(note) : '<span class="muted">（无说明：公示页面不显示）</span>';
  return `<span class="when">${escape(stepName)} · ${day(on)}${corrected}</span><div class="note">${text}</div>`;
}

function markAndPreview() {
  return `<p class="public-mark">${PUBLIC_MARK}</p>
    <div class="public-preview"><span class="muted">公示预览</span><div class="shown"></div></div>`;
}

/** The note field of a step whose note is published: required where the step needs one (不予立案), else
 * optional (结案说明), marked public, with its preview. */
export function publicNoteField(step) {
  const label = step.needs_note ? "说明" : "结案说明（选填）";
  return `<label>${label} <textarea name="note" ${step.needs_note ? "required" : ""} rows="3"></textarea></label>
    ${markAndPreview()}`;
}

function today() {
  return CHINA_DAY.format(new Date());
}

/** Draw the form's preview: its note as the public page will show it for the step taken `on` (corrected today). */
function showPreview(form, stepName, on, corrected) {
  form.querySelector(".public-preview .shown").innerHTML =
    asPublished(stepName, on, form.note.value.trim(), corrected ? today() : null);
}

/** Keep a step form's preview equal to what the public page will show for the step taken today. */
export function previewAsTyped(form, stepName) {
  const draw = () => showPreview(form, stepName, today(), false);
  form.note.addEventListener("input", draw);
  draw();
}

/** The sheet's 政务公开 section: the case's notes as the public page shows them now ("" when nothing is
 * published: an enforcement case, or no 不予立案 / 结案 yet). */
export function publishedNotes(publicNotes) {
  if (!publicNotes.published || !publicNotes.notes.length) return "";
  return `<section class="public-notes"><h3>政务公开 <span class="muted">公示页面显示的说明</span></h3><ol>${
    publicNotes.notes.map((n) => `<li data-seq="${n.seq}">${asPublished(n.step_name_zh, n.on, n.note, n.corrected_on)}</li>`)
      .join("")}</ol></section>`;
}

/** Whether the viewer is offered 更正公示说明. */
export function mayCorrect(publicNotes) {
  return publicNotes.may_correct && publicNotes.notes.length > 0;
}

/** The correction form: which note (the newest first), its text to edit, the mark and the preview. */
export function correctionForm(form, publicNotes) {
  const notes = [...publicNotes.notes].reverse();
  form.innerHTML = `<label>更正哪条说明 <select name="seq">${notes.map((n) =>
      `<option value="${n.seq}">${escape(n.step_name_zh)} · ${day(n.on)}</option>`).join("")}</select></label>
    <label>公示说明 <textarea name="note" required rows="3"></textarea></label>
    ${markAndPreview()}
    <p class="muted">原说明保留在办理记录中，公示页面显示更正后的说明。</p>
    <button type="submit" class="primary">确认更正</button>`;
  const chosen = () => notes.find((n) => String(n.seq) === form.seq.value);
  const draw = () => showPreview(form, chosen().step_name_zh, chosen().on, true);
  const fill = () => {
    form.note.value = chosen().note ?? "";
    draw();
  };
  form.seq.addEventListener("change", fill);
  form.note.addEventListener("input", draw);
  fill();
}
