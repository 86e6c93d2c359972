// The live map: the grid network of the signed-in user's area, its village and township
// boundaries, and every open case, clustered.
//
// How it stays responsive with 5,000 grids and 10,000 cases (docs/screen.md, measured in
// bench/screen_bench.py):
// - every outline is drawn on one <canvas> (Leaflet's canvas renderer), not as 5,000 SVG nodes;
//   panning moves the canvas, and it is redrawn once when the pan ends;
// - cases are clustered by Supercluster (a k-d tree per zoom level, built once per change), and
//   only the clusters and cases inside the view become markers: a few hundred at most, whatever
//   the total; a marker still in view after a pan is kept, not made again;
// - live changes rebuild the clusters at most once per animation frame.
//
// Coordinates arrive in the base map's datum (GCJ-02 for AMap tiles, CGCS2000 for 天地图 or no
// base map): the service shifted them (gridsvc/web/basemap.py); nothing here converts a coordinate.
//
// Hotspots (热点, js/hotspots.js) colour the same grid polygons by their count of cases, or draw H3
// hexagons on the same canvas; off, the grids take their domain or load colours again.

import { escape } from "./format.js";
import { ZoomLabels } from "./labels.js";

export const DOMAIN_STYLE = {
  all: { fillColor: "#38bdf8", label: "综治·执法·服务（全要素）" },
  governance: { fillColor: "#3b82f6", label: "综治" },
  enforcement: { fillColor: "#ef4444", label: "执法" },
  services: { fillColor: "#10b981", label: "服务" },
  special: { fillColor: "#a855f7", label: "专属网格" },
};
const LOAD_STEPS = [  // open cases in the grid → fill
  { from: 0, fillColor: "#334155", label: "无在办案件" },
  { from: 1, fillColor: "#facc15", label: "1–2 件" },
  { from: 3, fillColor: "#fb923c", label: "3–5 件" },
  { from: 6, fillColor: "#dc2626", label: "6 件以上" },
];
export const HIGHLIGHT = "#ff00ff";  // a selected grid's outline: a colour nothing else on the map uses
// Hotspots: a sequential ramp (ColorBrewer YlOrRd), few cases → many, and what has none.
export const HOT_RAMP = ["#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];
export const HOT_NONE = "#1e293b";
export const RISING = "#22d3ee";  // a rising grid's outline: a colour no other outline uses
const HOT_WIDTHS = [1, 2, 5];  // × 10ⁿ: the width of a count class
const CLUSTER_RADIUS_PX = 60;

/** The classes of the hotspot ramp for counts up to `max`: at most 5, of a round width (1, 2, 5, 10,
 * 20, 50 …), the last ending at `max`; the darkest colour always goes to the highest class. */
export function hotClasses(max) {
  if (!(max > 0)) return [];
  let width = null;
  for (let unit = 1; !width; unit *= 10) {
    width = HOT_WIDTHS.map((w) => w * unit).find((w) => Math.ceil(max / w) <= HOT_RAMP.length);
  }
  const count = Math.ceil(max / width);
  return Array.from({ length: count }, (_, i) => ({
    from: i * width + 1, to: Math.min((i + 1) * width, max), colour: HOT_RAMP[HOT_RAMP.length - count + i],
  }));
}

/** The fill of a count on the ramp (HOT_NONE for 0). */
export function hotColour(classes, count) {
  return classes.find((c) => count >= c.from && count <= c.to)?.colour ?? HOT_NONE;
}

function domainKey(properties) {
  if (properties.kind === "special") return "special";
  const domains = properties.domains || [];
  return domains.length === 1 ? domains[0] : "all";
}

/** Leaflet's nested latlngs of a polygon or multipolygon as a list of polygons, each [outer, ...holes]. */
function rings(latlngs) {
  return latlngs.length && Array.isArray(latlngs[0][0]) ? latlngs : [latlngs];
}

/** Whether a point lies in a polygon [outer ring, ...holes] (even-odd rule on lng/lat). */
function inPolygon(point, polygon) {
  let inside = false;
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const a = ring[i], b = ring[j];
      if ((a.lat > point.lat) !== (b.lat > point.lat)
          && point.lng < ((b.lng - a.lng) * (point.lat - a.lat)) / (b.lat - a.lat) + a.lng) inside = !inside;
    }
  }
  return inside;
}

export class NetworkMap {
  /** @param handlers {onGrid(code, latlng), onCase(trackingNo), popup(row): the HTML of a case's pop-up (with a
   *   [data-open-sheet] button)} */
  constructor(element, config, handlers) {
    this.handlers = handlers;
    this.mode = "domain";
    this.cases = new Map();  // tracking_no -> {tracking_no, lon, lat, status, …} (CASE_ROW_FIELDS)
    this.gridLayers = new Map();  // grid code -> its Leaflet polygon
    this.styledLoads = new Map();  // grid code -> the load its colour shows
    this.hot = null;  // the hotspot layer shown (setHotspots), or null: the grids show domain or load
    this.styledHot = new Map();  // grid code -> the hotspot style it shows (hotKey)
    this.selected = null;
    this.renderer = L.canvas({ padding: 0.5, tolerance: 2 });
    const basemap = config.basemap;
    this.map = L.map(element, {
      renderer: this.renderer, preferCanvas: true, zoomSnap: 0.25, maxZoom: basemap ? basemap.max_zoom : 19,
      attributionControl: Boolean(basemap),
    });
    if (basemap) {
      L.tileLayer(basemap.url, {
        subdomains: basemap.subdomains || "abc", attribution: escape(basemap.attribution), maxZoom: basemap.max_zoom,
      }).addTo(this.map);
    }
    const outline = (style) => L.geoJSON(null, { renderer: this.renderer, interactive: false, style });
    this.grids = L.geoJSON(null, {
      renderer: this.renderer,
      style: (feature) => this.gridStyle(feature.properties),
      onEachFeature: (feature, layer) => {
        this.gridLayers.set(feature.properties.code, layer);
        layer.on("click", (event) => handlers.onGrid(feature.properties.code, event.latlng));
      },
    }).addTo(this.map);
    this.villages = outline({ color: "#e2e8f0", weight: 1.5, dashArray: "6 4", fill: false }).addTo(this.map);
    this.townships = outline({ color: "#fde68a", weight: 3, fill: false }).addTo(this.map);
    this.townshipLabels = L.layerGroup().addTo(this.map);  // a county's screen: which township is which
    this.hexagons = L.geoJSON(null, {  // hotspots per H3 hexagon, over the grids, on the same canvas
      renderer: this.renderer,
      style: (feature) => ({ color: "#0b1220", weight: 0.6, opacity: 0.8, fillOpacity: 0.75,
                             fillColor: hotColour(this.hot?.classes ?? [], feature.properties.count) }),
    }).bindTooltip((layer) => this.hexagonTip(layer.feature.properties), { sticky: true, className: "hot-tip" })
      .on("click", (event) => {  // the canvas hands a click to the topmost layer: pass it to the grid below
        const code = this.gridAt(event.latlng);
        if (code) handlers.onGrid(code, event.latlng);
      })
      .addTo(this.map);
    this.markers = L.layerGroup().addTo(this.map);
    this.shown = new Map();  // cluster_id or case row -> its marker on the map (for this.clusters)
    this.clusters = null;
    this.drawPending = false;
    this.map.on("moveend", () => this.drawCases());
    this.labels = new ZoomLabels(this.map);
    this.homeButton().addTo(this.map);
  }

  /** 全镇: back to the whole area after zooming in (a wall screen has no "home" key). */
  homeButton() {
    const control = L.control({ position: "topleft" });
    control.onAdd = () => {
      const button = L.DomUtil.create("button", "home-control");
      button.textContent = "全镇";
      button.title = "显示全部辖区";
      L.DomEvent.disableClickPropagation(button);
      L.DomEvent.on(button, "click", () => this.fitArea());
      return button;
    };
    return control;
  }

  /** Fit the whole area (its grids) into the view, above the event strip along the map's foot (screen.css
   * `--strip-height`); the view the screen opens with. */
  fitArea() {
    const bounds = this.grids.getBounds();
    const strip = parseFloat(getComputedStyle(this.map.getContainer()).getPropertyValue("--strip-height")) || 0;
    if (bounds.isValid()) this.map.fitBounds(bounds, { paddingTopLeft: [20, 20], paddingBottomRight: [20, 20 + strip] });
    else this.map.setView([43.6, 125.6], 11);
  }

  /** A grid's place by name, "village · grid" (as the strip and the pop-ups say where a case is). */
  placeOf(gridCode) {
    const properties = this.gridLayers.get(gridCode)?.feature.properties;
    if (!properties) return gridCode || "未定位";
    return [properties.village_name, properties.name].filter(Boolean).join(" · ");
  }

  /** The network layers from GET /api/v1/screen/map; the view fits them the first time. */
  setNetwork(layers) {
    const first = this.grids.getLayers().length === 0;
    this.gridLayers.clear();
    for (const group of [this.grids, this.villages, this.townships]) group.clearLayers();
    this.grids.addData(layers.grids);
    this.villages.addData(layers.villages);
    this.townships.addData(layers.townships);
    this.labelTownships(layers.townships.features);
    this.restyle();
    if (first) this.fitArea();
    this.labels.set(this.villages.getLayers(), this.grids.getLayers());
  }

  gridCount() { return this.gridLayers.size; }

  /** Each township's name at its `label` point (inside it), when the area holds more than one. */
  labelTownships(features) {
    this.townshipLabels.clearLayers();
    if (features.length < 2) return;
    for (const feature of features) {
      const [lon, lat] = feature.properties.label;
      this.townshipLabels.addLayer(L.marker([lat, lon], {
        icon: L.divIcon({ className: "township-label", iconSize: [0, 0],
                          html: `<span data-township="${escape(feature.properties.code)}">${escape(feature.properties.name)}</span>` }),
        interactive: false, keyboard: false, zIndexOffset: -1000,
      }));
    }
  }

  /** Open cases per grid, from the cases this map holds (so markers and colours never disagree). */
  loads() {
    const loads = new Map();
    for (const row of this.cases.values()) {
      if (!row.grid) continue;
      const load = loads.get(row.grid) || { open: 0, overdue: 0 };
      load.open += 1;
      load.overdue += row.overdue_level > 0 ? 1 : 0;
      loads.set(row.grid, load);
    }
    return loads;
  }

  gridStyle(properties, load = { open: 0, overdue: 0 }) {
    if (properties.code === this.selected) {
      return { color: HIGHLIGHT, weight: 4, opacity: 1, fillOpacity: 0 };
    }
    if (this.hot) return this.hotStyle(properties.code);
    const base = { color: "#94a3b8", weight: 0.8, opacity: 0.9, fillOpacity: 0.28 };
    if (this.mode === "load") {
      const step = [...LOAD_STEPS].reverse().find((s) => load.open >= s.from);
      return { ...base, fillColor: step.fillColor, fillOpacity: load.open ? 0.45 : 0.15,
               ...(load.overdue ? { color: "#ef4444", weight: 2.5 } : {}) };
    }
    return { ...base, fillColor: DOMAIN_STYLE[domainKey(properties)].fillColor };
  }

  restyle() {
    const loads = this.loads();
    for (const [code, layer] of this.gridLayers) {
      layer.setStyle(this.gridStyle(layer.feature.properties, loads.get(code)));
    }
    this.styledLoads = loads;
    this.styledHot = this.hot ? new Map([...this.gridLayers.keys()].map((code) => [code, this.hotKey(code)])) : new Map();
    if (this.selected && this.gridLayers.has(this.selected)) this.gridLayers.get(this.selected).bringToFront();
  }

  setMode(mode) {
    this.mode = mode;
    this.restyle();
  }

  legend() {
    const entries = this.mode === "load" ? LOAD_STEPS : Object.values(DOMAIN_STYLE);
    return entries.map((e) => ({ colour: e.fillColor, label: e.label }));
  }

  /** Select a grid: outlined in HIGHLIGHT, brought into view. */
  selectGrid(code, { fit = false } = {}) {
    this.selected = code;
    this.restyle();
    const layer = this.gridLayers.get(code);
    if (layer && fit) this.map.fitBounds(layer.getBounds(), { padding: [60, 60], maxZoom: 17 });
    return Boolean(layer);
  }

  // -- hotspots (热点) --------------------------------------------------------------------------

  /** Show hotspots (js/hotspots.js) or, with null, the domain or load colours again.
   *
   * @param hot {unit: "grids" | H3 resolution, classes (hotClasses), counts: Map code → count (per grid),
   *   hexagons: FeatureCollection (per hexagon), weeks: Map code → the grid's row of /hotspots/rising,
   *   period: its label} */
  setHotspots(hot) {
    const was = this.hot;
    this.hot = hot;
    this.hexagons.closeTooltip();
    this.hexagons.clearLayers();
    if (hot?.hexagons) this.hexagons.addData(hot.hexagons);
    if (!hot || !was || hot.unit !== was.unit) {
      // switched on or off, or between grids and hexagons: every grid changes
      this.grids.closeTooltip();
      if (hot && !was) {
        this.grids.bindTooltip((layer) => this.gridTip(layer.feature.properties), { sticky: true, className: "hot-tip" });
      }
      if (!hot) this.grids.unbindTooltip();
      this.restyle();
    } else {
      // New counts: restyle only the grids whose colour or rising mark changed (a live refresh of a
      // county's thousands of grids changes a handful).
      for (const [code, layer] of this.gridLayers) {
        const key = this.hotKey(code);
        if (key !== this.styledHot.get(code) && code !== this.selected) layer.setStyle(this.hotStyle(code));
        this.styledHot.set(code, key);
      }
      if (this.grids.isTooltipOpen()) this.grids.getTooltip().update();
    }
    // Rising outlines over their neighbours' (the canvas draws in order), the selected grid over all.
    for (const row of hot?.rising ?? []) this.gridLayers.get(row.code)?.bringToFront();
    if (this.selected && this.gridLayers.has(this.selected)) this.gridLayers.get(this.selected).bringToFront();
  }

  hotKey(code) {
    const hot = this.hot;
    const fill = hot.unit === "grids" ? hotColour(hot.classes, hot.counts.get(code) ?? 0) : "";
    return `${fill}|${Boolean(hot.weeks.get(code)?.rising)}`;
  }

  /** A grid under hotspots: filled by its count on the ramp (per grid), or only outlined (per hexagon);
   * a rising grid outlined in RISING. Every key is set, so switching back leaves nothing of it behind. */
  hotStyle(code) {
    const hot = this.hot;
    const rising = hot.weeks.get(code)?.rising;
    const outline = rising ? { color: RISING, weight: 3.5, opacity: 1 } : { color: "#94a3b8", weight: 0.8, opacity: 0.6 };
    if (hot.unit !== "grids") return { ...outline, fillColor: HOT_NONE, fillOpacity: 0 };
    const count = hot.counts.get(code) ?? 0;
    return { ...outline, fillColor: hotColour(hot.classes, count), fillOpacity: count ? 0.75 : 0.15 };
  }

  gridTip(properties) {
    const hot = this.hot;
    if (!hot) return "";
    const lines = [`<b>${escape(properties.name)}</b>`];
    if (hot.unit === "grids") lines.push(`${escape(hot.period)}：${hot.counts.get(properties.code) ?? 0} 件`);
    const week = hot.weeks.get(properties.code);
    if (week) {
      lines.push(`${week.rising ? "<b class=\"rising\">↑ 上升</b> " : ""}本周 ${week.this_week} 件 · 上周 ${week.last_week} 件`);
    }
    return lines.join("<br>");
  }

  /** The code of the grid drawn under a point (its outline as drawn), or null. */
  gridAt(latlng) {
    for (const [code, layer] of this.gridLayers) {
      if (layer.getBounds().contains(latlng) && rings(layer.getLatLngs()).some((polygon) => inPolygon(latlng, polygon))) {
        return code;
      }
    }
    return null;
  }

  hexagonTip(properties) {
    return `${escape(this.hot?.period ?? "")}：${properties.count} 件`;
  }

  // -- cases ---------------------------------------------------------------------------------

  /** Replace every case (rows of GET /api/v1/screen/cases). */
  setCases(fields, rows) {
    this.cases.clear();
    this.upsertCases(fields, rows);
  }

  /** Add or update cases; rows of closed, rejected or merged cases remove their markers. */
  upsertCases(fields, rows, openStatuses = null) {
    for (const values of rows) {
      const row = Object.fromEntries(fields.map((name, i) => [name, values[i]]));
      const held = this.cases.get(row.tracking_no);
      if (held && held.record_seq > row.record_seq) continue;  // an answer older than what is shown
      if (openStatuses && !openStatuses.has(row.status)) this.cases.delete(row.tracking_no);
      else this.cases.set(row.tracking_no, row);
    }
    this.rebuild();
  }

  rebuild() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      this.forget();
      this.clusters = new Supercluster({
        radius: CLUSTER_RADIUS_PX, maxZoom: 17,
        map: (p) => ({ overdue: p.overdue_level > 0 ? 1 : 0 }),
        reduce: (total, p) => { total.overdue += p.overdue; },
      }).load([...this.cases.values()].map((row) => ({
        type: "Feature", geometry: { type: "Point", coordinates: [row.lon, row.lat] }, properties: row,
      })));
      this.restyleLoads();
      this.drawCases();
    });
  }

  /** After the cases changed: restyle only the grids whose load changed, and only when the colours
   * show load (by domain, cases change no grid's colour). Each restyled grid redraws only its part
   * of the canvas, where a full restyle would redraw 5,000 grids for one new case. */
  restyleLoads() {
    const loads = this.loads();
    if (this.mode === "load" && !this.hot) {  // hotspots shown: their colours stay until switched off
      const same = (a, b) => (a?.open ?? 0) === (b?.open ?? 0) && (a?.overdue ?? 0) === (b?.overdue ?? 0);
      for (const code of new Set([...loads.keys(), ...this.styledLoads.keys()])) {
        const layer = this.gridLayers.get(code);
        if (layer && !same(loads.get(code), this.styledLoads.get(code))) {
          layer.setStyle(this.gridStyle(layer.feature.properties, loads.get(code)));
        }
      }
    }
    this.styledLoads = loads;
  }

  /** Markers for the clusters and single cases in view.
   *
   * Within one Supercluster index a cluster_id names one cluster at one zoom, and a case's row one
   * version of the case (upsertCases makes a new row for a change), so a marker already shown for
   * the same key is the marker this would make: it stays. A pan at one zoom then makes markers
   * only for what came into view, instead of all of them again at every moveend (measured in
   * bench/screen_bench.py: tens of milliseconds per moveend at the whole-township view). */
  drawCases() {
    if (!this.clusters || !this.showCases) {
      this.forget();
      return;
    }
    const b = this.map.getBounds().pad(0.1);
    const zoom = Math.round(this.map.getZoom());
    const shown = new Map();
    for (const item of this.clusters.getClusters([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom)) {
      const key = item.properties.cluster ? item.properties.cluster_id : item.properties;
      let marker = this.shown.get(key);
      if (!marker) {
        const [lon, lat] = item.geometry.coordinates;
        marker = item.properties.cluster ? this.clusterMarker(item, lat, lon) : this.caseMarker(item, lat, lon);
      }
      shown.set(key, marker);
    }
    for (const [key, marker] of this.shown) if (!shown.has(key)) this.markers.removeLayer(marker);
    for (const [key, marker] of shown) if (!this.shown.has(key)) this.markers.addLayer(marker);
    this.shown = shown;
  }

  /** Take every marker off the map (the clusters they stood for are gone, or cases are hidden). */
  forget() {
    this.markers.clearLayers();
    this.shown.clear();
  }

  clusterMarker(item, lat, lon) {
    const count = item.properties.point_count;
    const size = count < 10 ? 30 : count < 100 ? 38 : count < 1000 ? 46 : 54;
    const overdue = item.properties.overdue ? " has-overdue" : "";
    const marker = L.marker([lat, lon], {
      icon: L.divIcon({ className: `case-cluster${overdue}`, iconSize: [size, size],
                        html: `<span>${item.properties.point_count_abbreviated}</span>` }),
      keyboard: false,
    });
    marker.on("click", () => this.map.flyTo([lat, lon], this.clusters.getClusterExpansionZoom(item.properties.cluster_id)));
    return marker;
  }

  caseMarker(item, lat, lon) {
    const row = item.properties;
    const classes = ["case-marker", `status-${row.status}`];
    if (row.overdue_level > 0) classes.push("overdue");
    if (row.flagged) classes.push("flagged");
    if (row.urgent) classes.push("urgent");
    // Fill by status, the domain's first character inside (综 / 执 / 服); a click opens its pop-up.
    const letter = DOMAIN_STYLE[row.domain]?.label.slice(0, 1) ?? "";
    const marker = L.marker([lat, lon], {
      icon: L.divIcon({ className: classes.join(" "), iconSize: [20, 20],
                        html: `<i data-tracking-no="${escape(row.tracking_no)}" data-domain="${escape(row.domain)}">${
                          escape(letter)}</i>` }),
      keyboard: false, riseOnHover: true,
    });
    marker.on("click", () => this.casePopup(row, [lat, lon]));
    return marker;
  }

  /** A case's pop-up, on the map rather than on its marker: live changes remake markers, and the pop-up
   * stays open over them. Its button opens the case's sheet. */
  casePopup(row, latlng) {
    const popup = L.popup({ className: "case-popup", maxWidth: 340, offset: [0, -6] })
      .setLatLng(latlng).setContent(this.handlers.popup(row)).openOn(this.map);
    popup.getElement().querySelector("[data-open-sheet]").addEventListener("click", () => {
      this.map.closePopup(popup);
      this.handlers.onCase(row.tracking_no);
    });
  }

  set showCases(show) { this._hidden = !show; this.drawCases(); }
  get showCases() { return !this._hidden; }

  focusCase(trackingNo) {
    const row = this.cases.get(trackingNo);
    if (row) this.flyClose(row.lat, row.lon);
  }

  /** A case found by the search (js/search.js), open or closed, at its point in the map's datum: the map
   * flies there and rings it in HIGHLIGHT until the next one (a closed case has no marker of its own). */
  showFound(trackingNo, lon, lat) {
    this.found?.remove();
    this.found = L.circleMarker([lat, lon], { radius: 16, color: HIGHLIGHT, weight: 3, fill: false, interactive: false })
      .addTo(this.map);
    this.found.trackingNo = trackingNo;
    this.flyClose(lat, lon);
  }

  flyClose(lat, lon) {
    this.map.flyTo([lat, lon], Math.max(this.map.getZoom(), 16));
  }
}
