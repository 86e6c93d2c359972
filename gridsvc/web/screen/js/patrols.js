// 巡查 on the map: the area's grid workers on patrol now (a marker at their newest fix with their name
// and its age), today's tracks, and the grids today's patrols covered (巡查覆盖); and the 在岗 tile of the
// KPI strip (on patrol now / the area's grid workers), kept whether or not the layer is shown. Everything
// is GET /api/v1/screen/patrols (docs/screen.md), in the map's datum: this only draws it.
//
// Phones send their fixes in batches and no event announces a fix, so the figures are asked every
// POLL_MS; a patrol that starts or stops (the live channel's patrol.started, patrol.stopped) is asked at
// once. With the layer off only the counts and positions are asked (`tracks=false`): the tracks and the
// coverage cost the service the cleaning of every walker's day.

import { api } from "./api.js";
import { escape } from "./format.js";

const POLL_MS = 15e3;
const RETRY_MS = 10e3;  // after a failed question
// Pink and green: colours no grid fill, outline or case marker uses.
const TRACK = { color: "#f472b6", weight: 3, opacity: 0.9 };
const TRACK_ENDED = { color: "#f472b6", weight: 2, opacity: 0.45, dashArray: "4 4" };  // walked today, not now
const COVERED = { color: "#22c55e", weight: 2.5, opacity: 1, fillColor: "#22c55e", fillOpacity: 0.2 };

/** How old a fix is, in words: "40 秒前", "3 分钟前". */
function ageText(seconds) {
  return seconds < 60 ? `${seconds} 秒前` : `${Math.floor(seconds / 60)} 分钟前`;
}

export class Patrols {
  /** @param map NetworkMap (its canvas, and its grid polygons for the coverage); kpi: the 在岗 tile's holder;
   * handlers {onDrawn(): the layer changed (the legend follows)} */
  constructor(map, kpi, handlers) {
    this.map = map;
    this.kpi = kpi;
    this.handlers = handlers;
    this.on = false;
    this.state = null;  // the last answer (also what the browser tests read)
    this.asked = 0;  // request generations: only the latest answer is drawn
    this.markers = new Map();  // user id -> the marker of a worker on patrol
    this.covered = L.geoJSON(null, { renderer: map.renderer, interactive: false, style: () => COVERED });
    this.tracks = L.geoJSON(null, {
      renderer: map.renderer, interactive: false,
      style: (feature) => (feature.properties.on_patrol ? TRACK : TRACK_ENDED),
    });
    this.walkers = L.layerGroup();
    this.layer = L.layerGroup([this.covered, this.tracks, this.walkers]);
    this.timer = null;
  }

  /** Start asking (the 在岗 tile), every POLL_MS. */
  start() {
    clearTimeout(this.timer);
    this.refresh().then(() => { this.timer = setTimeout(() => this.start(), POLL_MS); },
                        () => { this.timer = setTimeout(() => this.start(), RETRY_MS); });
  }

  stop() { clearTimeout(this.timer); }

  /** Switch the layer on (asked for at once, with tracks) or off. */
  async show(on) {
    this.on = on;
    if (on) {
      this.layer.addTo(this.map.map);
      return this.refresh();
    }
    this.asked += 1;  // an answer with tracks still on its way is not drawn
    this.layer.remove();
    for (const group of [this.covered, this.tracks, this.walkers]) group.clearLayers();
    this.markers.clear();
    this.handlers.onDrawn();
    return null;
  }

  async refresh() {
    const generation = ++this.asked;
    const answer = await api(`/api/v1/screen/patrols?tracks=${this.on}`);
    if (generation !== this.asked) return;
    this.state = answer;
    this.tile(answer);
    if (!this.on) return;
    this.draw(answer);
    this.handlers.onDrawn();
  }

  tile(answer) {
    this.kpi.innerHTML = `<div class="kpi" data-kpi="on-patrol" title="巡查中的网格员 / 辖区网格员">
      <div class="label">在岗网格员（巡查中）</div>
      <div class="value">${answer.on_patrol} / ${answer.grid_workers}</div></div>`;
  }

  draw(answer) {
    this.tracks.clearLayers();
    this.tracks.addData(answer.tracks);
    this.covered.clearLayers();
    for (const grid of answer.coverage.grids) {
      const polygon = this.map.gridLayers.get(grid.code);
      if (polygon) this.covered.addData(polygon.feature);
    }
    // A worker's marker is kept and moved, so that a marker followed on the wall walks with its worker.
    const walking = new Set();
    for (const worker of answer.patrolling) {
      walking.add(worker.user_id);
      const marker = this.markers.get(worker.user_id);
      if (marker) {
        marker.setLatLng([worker.lat, worker.lon]);
        marker.setIcon(this.icon(worker));
      } else {
        const made = L.marker([worker.lat, worker.lon], { icon: this.icon(worker), keyboard: false, zIndexOffset: 1000 });
        this.markers.set(worker.user_id, made);
        this.walkers.addLayer(made);
      }
    }
    for (const [id, marker] of this.markers) {
      if (!walking.has(id)) {
        this.walkers.removeLayer(marker);
        this.markers.delete(id);
      }
    }
  }

  icon(worker) {
    const stale = worker.age_s > 120 ? " stale" : "";  // no fix for two minutes: a dead spot, or a pause
    return L.divIcon({
      className: `patrol-marker${stale}`, iconSize: [16, 16], iconAnchor: [8, 8],
      html: `<i data-user-id="${worker.user_id}"></i><span class="patrol-label">${escape(worker.name)}
        <small>${ageText(worker.age_s)}</small></span>`,
    });
  }

  /** The legend's lines while the layer is shown: what the colours mean, and today's coverage. */
  legend() {
    const coverage = this.state?.coverage;
    const share = coverage?.share === null || coverage?.share === undefined ? "—" : `${(coverage.share * 100).toFixed(1)}%`;
    return [
      `<span class="patrol-key"><b class="patrol-marker"><i></i></b>巡查中的网格员</span>`,
      `<span><i style="background:${TRACK.color}"></i>今日轨迹</span>`,
      `<span><i style="background:${COVERED.fillColor}"></i>今日已巡查网格 ${coverage
        ? `${coverage.covered_base_grids}/${coverage.base_grids}（${share}）` : ""}</span>`,
    ];
  }
}
