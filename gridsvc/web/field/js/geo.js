// Where a fix is, on the phone and with no network: the datum the map draws in, and which of my
// grids holds the point (from the outlines kept with the start-up data).
//
// The phone's GPS (the browser's Geolocation API) gives WGS84. The map and the outlines are in the
// datum of the base map (GCJ-02 under AMap's tiles, else CGCS2000, which WGS84 matches to well
// under a metre). A fix is sent to the service as WGS84, as it came; a pin the user moved is sent
// in the map's datum. The service locates every report again on the whole network: what the
// phone shows is a preview, right for my own grids.

import gcoord from "../vendor/gcoord/gcoord.esm-browser.prod.js";

/** A WGS84 fix [lon, lat] in the map's datum. */
export function fixOnMap([lon, lat], datum) {
  return datum === "gcj02" ? gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02) : [lon, lat];
}

function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function polygons(geometry) {
  return geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
}

/** Whether a GeoJSON (Multi)Polygon holds the point: inside an outer ring and outside its holes. */
export function holds(geometry, point) {
  return polygons(geometry).some(([outer, ...holes]) => inRing(point, outer) && !holes.some((h) => inRing(point, h)));
}

/** The grid of `grids` (start-up data, same datum as `point`) that holds the point, or null. */
export function gridAt(grids, point) {
  return grids.find((grid) => holds(grid.boundary, point)) || null;
}

/** A point inside a grid, for a report placed by choosing the grid by name: the middle of its
 * bounding box when that is inside, else the first of a 9×9 sweep of the box that is. */
export function pointInside(geometry) {
  const all = polygons(geometry).flatMap(([outer]) => outer);
  const xs = all.map(([x]) => x), ys = all.map(([, y]) => y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const middle = [(minX + maxX) / 2, (minY + maxY) / 2];
  if (holds(geometry, middle)) return middle;
  for (let i = 1; i < 10; i++) {
    for (let j = 1; j < 10; j++) {
      const point = [minX + ((maxX - minX) * i) / 10, minY + ((maxY - minY) * j) / 10];
      if (holds(geometry, point)) return point;
    }
  }
  return all[0];
}
