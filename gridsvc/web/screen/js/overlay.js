// A layer over the whole screen (the photo viewer, the 案卷), made here and added to the page, that takes the
// keyboard while it is shown: its `keys` handler hears every key first, in the capture phase, so that Esc
// closes the layer and not also the case sheet or the ranking behind it (main.js).

export class Overlay {
  /** @param className the layer's class; label its name for assistive technology; html its content;
   * keys(event) the handler of every key while shown (it stops what it handles). */
  constructor(className, label, html, keys) {
    this.el = document.createElement("div");
    this.el.className = className;
    this.el.hidden = true;
    this.el.setAttribute("role", "dialog");
    this.el.setAttribute("aria-modal", "true");
    this.el.setAttribute("aria-label", label);
    this.el.innerHTML = html;
    this.keys = keys;
    document.body.append(this.el);
  }

  get isOpen() { return !this.el.hidden; }

  show() {
    if (!this.isOpen) document.addEventListener("keydown", this.keys, true);
    this.el.hidden = false;
  }

  /** Hide the layer; false if it was not shown. */
  hide() {
    if (!this.isOpen) return false;
    this.el.hidden = true;
    document.removeEventListener("keydown", this.keys, true);
    return true;
  }
}
