// Names on the map by zoom level: none over a county's view (hundreds would cover it), the villages'
// names once a few villages fill the screen, the grids' names once a village does. Only the labels
// inside the view are made (a few dozen, whatever the size of the network), again after each move.

import { escape } from "./format.js";

const VILLAGE_LABELS_FROM = 13;  // zoom: a village is a few centimetres on a wall screen
const GRID_LABELS_FROM = 15;  // zoom: a grid of a few hundred households is large enough to name

export class ZoomLabels {
  constructor(map) {
    this.map = map;
    map.createPane("labels");  // over the outlines, under the case markers (screen.css)
    this.layer = L.layerGroup().addTo(map);
    this.villages = [];  // {name, bounds, at}
    this.grids = [];
    this.level = null;  // what is shown: "village" | "grid" | null
    map.on("moveend", () => this.draw());
  }

  /** The labelled features: Leaflet layers of the villages and of the grids (with `properties.name`). */
  set(villageLayers, gridLayers) {
    // At the unit's `label` point (inside it, from the service) where it has one, else its bounds' centre.
    const named = (layers) => layers.filter((l) => l.feature.properties.name).map((l) => {
      const { name, label } = l.feature.properties;
      return { name, bounds: l.getBounds(), at: label ? L.latLng(label[1], label[0]) : l.getBounds().getCenter() };
    });
    this.villages = named(villageLayers);
    this.grids = named(gridLayers);
    this.draw();
  }

  draw() {
    const zoom = this.map.getZoom();
    this.level = zoom >= GRID_LABELS_FROM ? "grid" : zoom >= VILLAGE_LABELS_FROM ? "village" : null;
    this.layer.clearLayers();
    if (!this.level) return;
    const view = this.map.getBounds();
    for (const label of this.level === "grid" ? this.grids : this.villages) {
      if (!view.intersects(label.bounds)) continue;
      L.marker(label.at, {
        pane: "labels", interactive: false, keyboard: false,
        icon: L.divIcon({ className: `map-label ${this.level}-label`, iconSize: null,
                          html: `<span>${escape(label.name)}</span>` }),
      }).addTo(this.layer);
    }
  }
}
