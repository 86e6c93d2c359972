// 上报: the report form. A category (searched by Chinese words, recently used first), what is
// wrong, urgent or not, where (the phone's GPS fix with its accuracy, a pin to correct it, or, with
// no GPS, a spot tapped on the map or a grid chosen by name), and photos from the camera or the
// gallery, kept as they are (their EXIF GPS is evidence the service checks). Submitting puts the
// report into the outbox with its client UUID, and sends it when there is a network.

import { fixOnMap, gridAt, pointInside } from "./geo.js";
import { GridMap } from "./map.js";
import { queueReport } from "./outbox.js";
import { recentCategories, searchCategories, usedCategory } from "./startup.js";
import { StorageFull, newUuid } from "./store.js";
import { $ } from "./dom.js";

const GOOD_FIX_M = 30; // a fix at least this good is taken without asking
const MAX_PHOTOS = 6;

export class ReportForm {
  constructor({ config, startup }, handlers) {
    this.config = config;
    this.startup = startup;
    this.datum = config.datum;
    this.handlers = handlers; // {onQueued(item)}: the report waits in the outbox; send it
    this.map = null;
    this.watch = null;
    this.reset();
    this.wire();
  }

  /** An empty form, or one holding a refused report to correct (`kept`, an outbox item). */
  reset(kept = null) {
    this.editing = Boolean(kept);
    // A report refused because its UUID was used with other content cannot be corrected under it.
    const reusable = kept && !(kept.error && kept.error.fields && kept.error.fields.client_uuid);
    this.clientUuid = reusable ? kept.client_uuid : newUuid();
    this.category = kept ? this.startup.catalogue.categories.find((c) => c.code === kept.body.category) || null : null;
    this.photos = kept ? kept.photos.map((p) => p.blob).filter(Boolean) : [];
    this.place = kept ? this.keptPlace(kept.body) : null; // {source: gps|map|grid, wgs84?, point (map datum), accuracy?}
    if (!this.place && this.fix && this.fix.accuracy <= GOOD_FIX_M) this.useFix(this.fix, false);
    $("description").value = kept ? kept.body.description : "";
    $("urgent").checked = kept ? kept.body.urgent : false;
    $("category-search").value = "";
    $("report-error").textContent = "";
    this.showCategory();
    this.showPhotos();
  }

  /** A place from a GPS fix: as the phone gave it (WGS84, sent so) and on the map, in its datum. */
  gpsPlace(wgs84, accuracy) {
    return { source: "gps", wgs84, accuracy, point: fixOnMap(wgs84, this.datum) };
  }

  /** Where a refused report said it was, to correct it. */
  keptPlace(body) {
    if (body.crs === "wgs84") return this.gpsPlace([body.lon, body.lat], body.accuracy);
    return { source: body.location_source || "map", point: [body.lon, body.lat] };
  }

  wire() {
    $("category-search").addEventListener("input", () => this.showChoices());
    $("report-form").addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    $("accept-fix").addEventListener("click", () => this.useFix(this.fix, true));
    $("retry-fix").addEventListener("click", () => this.locate());
    $("grid-pick").addEventListener("change", () => this.pickGrid($("grid-pick").value));
    for (const input of [$("camera"), $("gallery")]) {
      input.addEventListener("change", () => { this.addPhotos([...input.files]); input.value = ""; });
    }
    const Speech = window.SpeechRecognition || window.webkitSpeechRecognition;
    if (Speech) {
      $("voice").hidden = false;
      $("voice").addEventListener("click", () => {
        const listening = new Speech();
        listening.lang = "zh-CN";
        listening.onresult = (event) => { $("description").value += event.results[0][0].transcript; };
        listening.start();
      });
    }
    const select = $("grid-pick");
    for (const grid of this.startup.grids) {
      select.append(new Option(`${grid.name}（${grid.village ? grid.village.name : ""}）`, grid.code));
    }
  }

  /** Called when the form is shown: the map is drawn once its box has a size, and GPS starts. */
  opened() {
    if (!this.map) {
      this.map = new GridMap($("report-map"), this.config, this.startup.grids, { onPlace: (point) => this.placeByHand(point) });
    }
    this.map.resize();
    if (this.place) this.showPlace(true);
    if (!this.place || this.place.source === "gps") this.locate();
  }

  closed() {
    this.stopWatching();
    if (this.editing) this.reset(); // a correction left unsent: the refused report stays in the outbox as it was
  }

  stopWatching() {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    this.watch = null;
  }

  locate() {
    this.stopWatching();
    if (!navigator.geolocation) return this.noFix("此手机不支持定位");
    $("fix").textContent = "正在定位…";
    this.watch = navigator.geolocation.watchPosition(
      (position) => this.gotFix(position.coords),
      (error) => this.noFix(error.code === error.PERMISSION_DENIED ? "定位权限被拒绝" : "暂时无法定位"),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 },
    );
  }

  gotFix(coords) {
    this.fix = { wgs84: [coords.longitude, coords.latitude], accuracy: Math.round(coords.accuracy) };
    $("grid-pick-label").hidden = true;
    if (this.place && this.place.source !== "gps") return; // the user placed it by hand: keep that
    const good = coords.accuracy <= GOOD_FIX_M;
    $("fix").textContent = `定位精度 ±${this.fix.accuracy} 米${good ? "" : `（精度不足 ${GOOD_FIX_M} 米，可等待或仍使用）`}`;
    $("accept-fix").hidden = good;
    if (good || (this.place && this.place.source === "gps")) this.useFix(this.fix, false);
  }

  useFix(fix, accepted) {
    if (!fix) return;
    this.place = this.gpsPlace(fix.wgs84, fix.accuracy);
    if (accepted) $("accept-fix").hidden = true;
    if (this.map) this.showPlace(true);
  }

  noFix(reason) {
    $("fix").textContent = `${reason}：请在地图上点选问题位置，或按网格选择（将标注为手动选取的位置）。`;
    $("grid-pick-label").hidden = false;
  }

  placeByHand(point) {
    this.place = { source: "map", point };
    $("fix").textContent = "位置：地图上手动选取";
    this.showPlace(false);
  }

  pickGrid(code) {
    const grid = this.startup.grids.find((g) => g.code === code);
    if (!grid) return;
    this.place = { source: "grid", point: pointInside(grid.boundary) };
    $("fix").textContent = `位置：按网格选择（${grid.name}）`;
    this.showPlace(true);
  }

  showPlace(centre) {
    this.map.show(this.place.point, this.place.accuracy || null, centre);
    const grid = gridAt(this.startup.grids, this.place.point);
    const here = $("grid-here");
    here.textContent = grid
      ? `所在网格：${grid.name}（${grid.village ? grid.village.name : ""}${grid.township ? "，" + grid.township.name : ""}）`
      : "不在您负责的网格内：将由服务端按全镇网格定位分派";
    here.classList.toggle("outside", !grid);
    here.dataset.grid = grid ? grid.code : "";
  }

  showCategory() {
    const chosen = $("category-chosen");
    chosen.hidden = !this.category;
    chosen.textContent = this.category ? `已选：${this.category.name_zh}（${this.category.code}）` : "";
    this.showChoices();
  }

  async showChoices() {
    const catalogue = this.startup.catalogue;
    const words = $("category-search").value;
    const recent = await recentCategories(catalogue);
    $("category-recent").replaceChildren(...(words ? [] : recent).map((c) => this.choice(c, "chip")));
    $("category-results").replaceChildren(...searchCategories(catalogue, words).map((c) => this.choice(c, "choice")));
  }

  choice(category, className) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.dataset.code = category.code;
    button.textContent = category.name_zh;
    button.addEventListener("click", () => {
      this.category = category;
      $("category-search").value = "";
      this.showCategory();
    });
    return button;
  }

  addPhotos(files) {
    const room = MAX_PHOTOS - this.photos.length;
    this.photos.push(...files.filter((f) => f.type.startsWith("image/")).slice(0, room));
    if (files.length > room) $("report-error").textContent = `最多 ${MAX_PHOTOS} 张照片`;
    this.showPhotos();
  }

  showPhotos() {
    $("photo-count").textContent = `${this.photos.length}/${MAX_PHOTOS}`;
    $("photos").replaceChildren(...this.photos.map((photo, position) => {
      const item = document.createElement("li");
      const image = document.createElement("img");
      image.src = URL.createObjectURL(photo);
      image.alt = `照片 ${position + 1}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = "删除";
      remove.addEventListener("click", () => { this.photos.splice(position, 1); this.showPhotos(); });
      item.append(image, remove);
      return item;
    }));
  }

  /** What is missing, in Chinese, or "". */
  missing() {
    if (!this.category) return "请选择问题类别";
    if (!$("description").value.trim()) return "请填写问题描述";
    if (!this.place) return "还没有位置：请等待定位，或在地图上点选位置";
    return "";
  }

  body() {
    const { source, wgs84, accuracy, point } = this.place;
    const [lon, lat] = source === "gps" ? wgs84 : point;
    return {
      client_uuid: this.clientUuid, category: this.category.code, description: $("description").value.trim(),
      urgent: $("urgent").checked, lon, lat, crs: source === "gps" ? "wgs84" : this.datum,
      accuracy: source === "gps" ? accuracy : null, location_source: source,
      reported_at: new Date().toISOString(),
    };
  }

  async submit() {
    const missing = this.missing();
    $("report-error").textContent = missing;
    if (missing) return;
    try {
      const item = await queueReport(this.body(), this.photos, this.startup.user.phone);
      await usedCategory(this.category.code);
      this.reset();
      this.handlers.onQueued(item);
    } catch (error) {
      $("report-error").textContent = error instanceof StorageFull ? error.message : `未能保存：${error.message}`;
    }
  }
}
