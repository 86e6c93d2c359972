// The map of my grids, with the report's pin: the configured base map in its datum, or, with no
// base map or no network, the grid outlines alone on a plain background. Everything drawn is in
// the map's datum (the start-up data's outlines were asked in it).

const OUTLINE = { color: "#155e75", weight: 2, fillOpacity: 0.06 };
const PIN = L.divIcon({ className: "pin", html: "<span></span>", iconSize: [28, 28], iconAnchor: [14, 28] });

export class GridMap {
  /** @param element the map's container; config the service's map settings; grids start-up outlines */
  constructor(element, config, grids, handlers) {
    this.handlers = handlers; // {onPlace([x, y])}: the user tapped the map or dragged the pin there
    const basemap = config.basemap;
    this.map = L.map(element, { zoomControl: false, attributionControl: Boolean(basemap), maxZoom: basemap ? basemap.max_zoom : 19 });
    L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(this.map);
    this.map.attributionControl?.setPrefix(false); // the tiles' own attribution, in Chinese where they give it
    if (basemap) {
      const tiles = () => L.tileLayer(basemap.url, { subdomains: basemap.subdomains || "abc", attribution: basemap.attribution || "" }).addTo(this.map);
      if (navigator.onLine) tiles();
      else window.addEventListener("online", tiles, { once: true }); // the outlines alone until then
    }
    this.outlines = L.geoJSON({ type: "FeatureCollection", features: grids.map((g) => ({ type: "Feature", geometry: g.boundary, properties: { name: g.name } })) },
      { style: OUTLINE }).addTo(this.map);
    if (grids.length) this.map.fitBounds(this.outlines.getBounds(), { padding: [12, 12] });
    else this.map.setView([43.6, 125.6], 12);
    this.pin = null;
    this.accuracy = null;
    this.map.on("click", (event) => this.handlers.onPlace([event.latlng.lng, event.latlng.lat]));
  }

  /** Show the point [x, y] (map datum), with the fix's accuracy circle in metres when it came from GPS. */
  show(point, accuracyM = null, centre = true) {
    const latlng = [point[1], point[0]];
    if (!this.pin) {
      this.pin = L.marker(latlng, { icon: PIN, draggable: true, keyboard: false }).addTo(this.map);
      this.pin.on("dragend", () => {
        const at = this.pin.getLatLng();
        this.handlers.onPlace([at.lng, at.lat]);
      });
    } else {
      this.pin.setLatLng(latlng);
    }
    if (this.accuracy) this.accuracy.remove();
    this.accuracy = accuracyM ? L.circle(latlng, { radius: accuracyM, weight: 1, color: "#0284c7", fillOpacity: 0.1 }).addTo(this.map) : null;
    if (centre) this.map.setView(latlng, Math.max(this.map.getZoom(), 16));
  }

  resize() { this.map.invalidateSize(); }
}
