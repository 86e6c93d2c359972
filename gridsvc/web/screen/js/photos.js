// The photo viewer (照片查看): a case's photos large, one at a time, over the whole screen, with what
// each photo's EXIF says about where and when it was taken, checked against the case's point by the
// service (`location_check_zh`; a photo taken elsewhere is a known trick of fabricated reports).
// ← → (or the buttons) go through the case's photos, Esc (or ✕, or a click beside the photo) closes.
// The photos are fetched with the token as the thumbnails are, and let go of when the viewer closes.

import { imageUrl } from "./api.js";
import { moment } from "./format.js";
import { Overlay } from "./overlay.js";

export class PhotoViewer {
  constructor() {
    this.layer = new Overlay("photo-viewer", "照片查看", `
      <button class="close" data-close title="关闭 (Esc)">✕</button>
      <button class="nav prev" data-go="-1" title="上一张 (←)">‹</button>
      <figure><img alt=""><figcaption>
        <span class="counter"></span> <span class="about"></span>
        <span class="check"></span></figcaption></figure>
      <button class="nav next" data-go="1" title="下一张 (→)">›</button>`, (event) => {
      if (event.key === "ArrowLeft") this.go(-1);
      else if (event.key === "ArrowRight") this.go(1);
      else if (event.key === "Escape") this.close();
      else return;
      event.preventDefault();
      event.stopPropagation();
    });
    this.el = this.layer.el;
    this.photos = [];
    this.loads = new Map();  // attachment id → its large photo's object URL (a promise), while the viewer is open
    this.index = 0;
    this.el.addEventListener("click", (event) => {
      const go = event.target.closest("[data-go]");
      if (go) this.go(Number(go.dataset.go));
      else if (event.target.closest("[data-close]") || event.target === this.el) this.close();
    });
  }

  /** Show `photos` (the case's attachments as GET …/attachments gives them, each with `about`: who
   * uploaded it and what it is, in words) from the one with id `id`. */
  open(photos, id) {
    this.photos = photos;
    this.index = Math.max(0, photos.findIndex((p) => p.id === id));
    this.layer.show();
    this.draw();
  }

  close() {
    if (!this.layer.hide()) return;
    this.el.querySelector("img").removeAttribute("src");
    this.loads.forEach((loading) => loading.then((url) => URL.revokeObjectURL(url), () => {}));
    this.loads.clear();
  }

  go(step) {
    if (this.photos.length < 2) return;
    this.index = (this.index + step + this.photos.length) % this.photos.length;
    this.draw();
  }

  draw() {
    const photo = this.photos[this.index];
    const img = this.el.querySelector("img");
    img.removeAttribute("src");
    img.alt = `照片 #${photo.id}`;
    this.el.dataset.shown = photo.id;
    this.el.querySelector(".counter").textContent = `${this.index + 1} / ${this.photos.length}`;
    const taken = photo.exif?.taken_at ? ` · 拍摄于 ${moment(photo.exif.taken_at)}` : "";
    this.el.querySelector(".about").textContent = `${photo.about} · 上传于 ${moment(photo.uploaded_at)}${taken}`;
    const check = this.el.querySelector(".check");
    check.textContent = photo.location_check_zh;
    check.className = `check ${photo.location_mismatch === null ? "unknown" : photo.location_mismatch ? "mismatch" : "match"}`;
    for (const nav of this.el.querySelectorAll(".nav")) nav.hidden = this.photos.length < 2;
    if (!this.loads.has(photo.id)) this.loads.set(photo.id, imageUrl(photo.urls.photo));
    const loading = this.loads.get(photo.id);
    loading.then((url) => {  // unless another photo is on show meanwhile, or the viewer was closed
      if (this.loads.get(photo.id) === loading && this.photos[this.index] === photo) img.src = url;
    }).catch(() => { img.alt = "照片无法加载"; });
  }
}
