// Injected by bench/screen_bench.py into /screen/ before the page's own scripts run (Playwright's
// add_init_script); changes nothing the page does, only watches it:
// - a requestAnimationFrame loop: every frame's timestamp while __bench.recording is set, and the
//   moment the map is complete after a (re)load (`ready`: every grid and case held, the clusters
//   built, no canvas redraw or cluster rebuild pending; `painted`: the next frame, which starts
//   once that frame was produced);
// - long tasks (PerformanceObserver 'longtask', tasks of 50 ms or more on the main thread);
// - how long the map's handlers of each moveend / zoomend / zoomanim take (Leaflet's fire() on
//   the map instance, wrapped), and the NetworkMap's own steps (setNetwork, setCases, restyle,
//   drawCases, Supercluster's load), wrapped on the instance as the page creates it.
// With config.naive, the NetworkMap instance's drawCases is replaced: once the cases are there it
// adds every case as its own marker (the page's own caseMarker), and later calls leave them
// (Leaflet keeps every marker in place as the map moves): the naive alternative to clustering, on
// the page as it is otherwise.
(() => {
  const config = __BENCH_CONFIG__;
  const B = window.__bench = {
    config, recording: false, frames: [], longtasks: [], fired: [], steps: [], counts: {},
    ready: null, painted: null, start: performance.now(),
  };
  const now = () => performance.now();

  function complete(m) {
    if (!m || !m.clusters || m.drawPending || m.renderer._redrawRequest) return false;
    if (m.gridCount() !== config.grids || m.cases.size !== config.cases) return false;
    const markers = m.markers.getLayers().length;
    return config.naive ? markers === config.cases : (config.cases === 0 || markers > 0);
  }

  function frame(t) {
    if (B.recording) B.frames.push(t);
    if (B.ready !== null && B.painted === null) B.painted = now();
    if (B.ready === null && complete(window.gridsvcScreen?.map)) B.ready = now();
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);

  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { B.noLongtasks = String(e); }

  function timed(object, name, label = name) {
    const original = object[name];
    object[name] = function (...args) {
      const started = now();
      try { return original.apply(this, args); } finally { B.steps.push([label, started, now() - started]); }
    };
  }

  function watchMap(m) {
    for (const name of ["setNetwork", "setCases", "restyle", "drawCases"]) timed(m, name);
    if (!Supercluster.prototype.__benchWrapped) {
      timed(Supercluster.prototype, "load", "Supercluster.load");
      Supercluster.prototype.__benchWrapped = true;
    }
    const fire = m.map.fire;
    m.map.fire = function (type, ...rest) {
      if (!["moveend", "zoomend", "zoomanim", "viewreset"].includes(type)) return fire.call(this, type, ...rest);
      const started = now();
      try { return fire.call(this, type, ...rest); } finally {
        B.fired.push([type, started, now() - started]);
        B.counts[type] = (B.counts[type] || 0) + 1;
      }
    };
    if (config.naive) {
      const caseMarker = m.caseMarker.bind(m);
      const all = function () {
        if (!this.clusters || this.markers.getLayers().length === this.cases.size) return;
        this.markers.clearLayers();
        for (const row of this.cases.values()) this.markers.addLayer(caseMarker({ properties: row }, row.lat, row.lon));
      };
      m.drawCases = all;
      timed(m, "drawCases");
    }
  }

  // window.gridsvcScreen is assigned once the user is signed in, before its start() makes the map.
  let screen;
  Object.defineProperty(window, "gridsvcScreen", {
    configurable: true,
    get: () => screen,
    set: (value) => {
      screen = value;
      let map;
      Object.defineProperty(value, "map", {
        configurable: true, enumerable: true,
        get: () => map,
        set: (m) => { map = m; watchMap(m); },
      });
    },
  });

  B.reset = () => {
    B.frames = []; B.longtasks = []; B.fired = []; B.steps = []; B.since = now();
  };
  B.take = () => ({
    frames: B.frames, longtasks: B.longtasks.filter(([start]) => start >= B.since), fired: B.fired, steps: B.steps,
    markers: window.gridsvcScreen.map.markers.getLayers().length, zoom: window.gridsvcScreen.map.map.getZoom(),
  });
})();
