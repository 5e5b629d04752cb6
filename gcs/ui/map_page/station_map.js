/*
 * The station map's page logic (ours). Leaflet and qwebchannel.js are loaded before this file
 * from local copies; folium writes the page and calls GcsMap.init(map, options) once.
 *
 * Theory of operation: the page never polls and never fetches anything itself. The Qt side
 * collects device changes and calls GcsMap.apply(batch) about five times a second with only
 * what changed; apply() moves, rotates and recolours existing markers in place (no re-render),
 * appends aircraft positions to bounded track polylines and draws home points. A click on a
 * marker calls the Qt object `gcs` (QWebChannel) with the device's SN; the Qt selection calls
 * GcsMap.select(sn, pan) back. Base layers: MBTiles tilesets served by the station's HTTP
 * server, online OSM/satellite layers (which simply fail offline: apply() then falls back and
 * tells Qt), and a grid drawn in canvas that needs no network at all.
 */
(function () {
  "use strict";

  var G = {
    map: null,
    bridge: null,
    markers: {},    // sn -> L.Marker
    info: {},       // sn -> last device dict
    tracks: {},     // sn -> L.Polyline
    homes: {},      // sn -> L.Marker (home point)
    layers: {},     // id -> {spec, layer}
    baseId: "",
    fallbackId: "grid",
    selected: "",
    trackLimit: 2000,
    trackMinStep: 2.0,  // metres between track points
    trackMinMs: 1000,   // milliseconds between track points
    applied: 0,
    applyMs: [],    // duration of the last apply() calls (ms), for benchmarks
    fitted: false,
    userMoved: false,
    failedLayers: [],
    clicks: 0,
    elements: {},   // element id -> Leaflet layer of a shared map element
    elementLayer: null,
    drawing: false, // leaflet-geoman is loaded: the operator can draw
    setElementsMs: 0
  };
  window.GcsMap = G;

  var SVG = {
    aircraft:
      '<svg viewBox="0 0 32 32" width="28" height="28"><path d="M16 2 L26 28 L16 22 L6 28 Z"/></svg>',
    dock:
      '<svg viewBox="0 0 32 32" width="36" height="36"><rect x="5" y="7" width="22" height="18" rx="3"/>' +
      '<path class="gcs-nose" d="M16 1 L21 8 L11 8 Z"/></svg>',
    rc:
      '<svg viewBox="0 0 32 32" width="28" height="28"><rect x="4" y="11" width="24" height="13" rx="5"/>' +
      '<circle class="gcs-hole" cx="10" cy="17.5" r="3"/><circle class="gcs-hole" cx="22" cy="17.5" r="3"/>' +
      '<path d="M8 11 L8 4" class="gcs-antenna"/><path d="M24 11 L24 4" class="gcs-antenna"/></svg>'
  };
  var SIZES = { aircraft: 28, dock: 36, rc: 28 };

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // ---- grid base layer: a coordinate grid drawn in canvas, no network ----------------------

  function niceStep(span) {
    var steps = [90, 45, 30, 15, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002,
      0.001, 0.0005, 0.0002, 0.0001, 0.00005, 0.00002, 0.00001];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] <= span) { return steps[i]; }
    }
    return steps[steps.length - 1];
  }

  function decimals(step) {
    var d = 0;
    while (d < 6 && Math.abs(step * Math.pow(10, d) - Math.round(step * Math.pow(10, d))) > 1e-9) { d++; }
    return d;
  }

  // Labels are drawn on every second tile row/column only, and only when they fit the tile.
  function label(ctx, text, x, y, size) {
    if (x + ctx.measureText(text).width < size.x - 2 && y > 10 && y < size.y) { ctx.fillText(text, x, y); }
  }

  var GridLayer = L.GridLayer.extend({
    createTile: function (coords) {
      var tile = document.createElement("canvas");
      var size = this.getTileSize();
      tile.width = size.x;
      tile.height = size.y;
      var ctx = tile.getContext("2d");
      ctx.fillStyle = "#eef1f4";
      ctx.fillRect(0, 0, size.x, size.y);
      var map = this._map;
      var nwPoint = coords.scaleBy(size);
      var nw = map.unproject(nwPoint, coords.z);
      var se = map.unproject(nwPoint.add(size), coords.z);
      var step = niceStep((se.lng - nw.lng) / 2);
      var digits = decimals(step);
      ctx.strokeStyle = "#c3cad3";
      ctx.fillStyle = "#7a8593";
      ctx.lineWidth = 1;
      ctx.font = "10px sans-serif";
      var lng, lat, p;
      for (lng = Math.ceil(nw.lng / step) * step; lng < se.lng; lng += step) {
        p = map.project([nw.lat, lng], coords.z).subtract(nwPoint);
        var x = Math.round(p.x) + 0.5;
        ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, size.y); ctx.stroke();
        if (coords.y % 2 === 0) { label(ctx, lng.toFixed(digits) + "°", x + 3, size.y - 4, size); }
      }
      for (lat = Math.ceil(se.lat / step) * step; lat < nw.lat; lat += step) {
        p = map.project([lat, nw.lng], coords.z).subtract(nwPoint);
        var y = Math.round(p.y) + 0.5;
        ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(size.x, y); ctx.stroke();
        if (coords.x % 2 === 0) { label(ctx, lat.toFixed(digits) + "°", 3, y - 3, size); }
      }
      return tile;
    }
  });

  // ---- base layers ------------------------------------------------------------------------

  function makeLayer(spec) {
    if (spec.kind === "grid") {
      return new GridLayer({ maxZoom: 22, attribution: spec.attribution || "" });
    }
    var opts = {
      minZoom: 0,
      maxZoom: 22,
      maxNativeZoom: spec.maxZoom != null ? spec.maxZoom : 19,
      minNativeZoom: spec.minZoom != null ? spec.minZoom : 0,
      attribution: spec.attribution || "",
      crossOrigin: false
    };
    if (spec.bounds) {
      opts.bounds = L.latLngBounds([spec.bounds[1], spec.bounds[0]], [spec.bounds[3], spec.bounds[2]]);
    }
    return L.tileLayer(spec.url, opts);
  }

  G.setLayers = function (specs, fallbackId) {
    var keep = {};
    specs.forEach(function (spec) {
      keep[spec.id] = true;
      var old = G.layers[spec.id];
      if (old && JSON.stringify(old.spec) === JSON.stringify(spec)) { return; }
      if (old && G.baseId === spec.id) { G.map.removeLayer(old.layer); }
      G.layers[spec.id] = { spec: spec, layer: makeLayer(spec) };
      if (G.baseId === spec.id) { G.layers[spec.id].layer.addTo(G.map); }
    });
    Object.keys(G.layers).forEach(function (id) {
      if (!keep[id]) {
        if (G.baseId === id) { G.map.removeLayer(G.layers[id].layer); G.baseId = ""; }
        delete G.layers[id];
      }
    });
    if (fallbackId && G.layers[fallbackId]) { G.fallbackId = fallbackId; }
    if (!G.baseId) { G.setBase(G.fallbackId); }
  };

  G.setBase = function (id) {
    var entry = G.layers[id];
    if (!entry) { return false; }
    if (G.baseId && G.layers[G.baseId]) { G.map.removeLayer(G.layers[G.baseId].layer); }
    G.baseId = id;
    entry.layer.addTo(G.map);
    entry.layer.bringToBack();
    if (entry.spec.kind === "online") { watchOnline(id, entry.layer); }
    if (entry.spec.kind === "mbtiles" && entry.spec.bounds && !G.fitted) {
      var b = entry.spec.bounds;
      G.map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    }
    return true;
  };

  // An online layer with no tile loaded after a few errors or a few seconds is unreachable:
  // fall back (to the station's fallback layer) and tell Qt.
  function watchOnline(id, layer) {
    var loaded = false, errors = 0, done = false;
    function fail() {
      if (done || loaded) { return; }
      done = true;
      layer.off("tileload", onLoad);
      layer.off("tileerror", onError);
      if (G.baseId !== id) { return; }
      G.failedLayers.push(id);
      G.setBase(G.fallbackId);
      if (G.bridge) { G.bridge.baseLayerFailed(id, G.fallbackId); }
    }
    function onLoad() { loaded = true; done = true; layer.off("tileload", onLoad); layer.off("tileerror", onError); }
    function onError() { errors += 1; if (errors >= 3) { fail(); } }
    layer.on("tileload", onLoad);
    layer.on("tileerror", onError);
    setTimeout(fail, 8000);
  }

  // ---- devices ----------------------------------------------------------------------------

  function iconFor(dev) {
    var size = SIZES[dev.kind] || 28;
    return L.divIcon({
      className: "gcs-marker gcs-" + dev.kind,
      html: '<div class="gcs-rot">' + (SVG[dev.kind] || SVG.rc) + "</div>",
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2]
    });
  }

  function tooltipFor(dev) {
    var html = "<b>" + esc(dev.label) + "</b><br>" + esc(dev.model || "") + " · " + esc(dev.sn);
    if (dev.alt != null) { html += "<br>" + esc(dev.alt); }
    return html;
  }

  function styleMarker(m, dev) {
    var el = m.getElement();
    if (!el) { return; }
    el.classList.toggle("gcs-offline", !dev.online);
    el.classList.toggle("gcs-selected", dev.sn === G.selected);
    var rot = el.querySelector(".gcs-rot");
    if (rot) {
      var h = dev.heading != null ? dev.heading : 0;
      rot.style.transform = "rotate(" + h + "deg)";
      rot.classList.toggle("gcs-noheading", dev.heading == null);
    }
  }

  function upsertDevice(dev) {
    var m = G.markers[dev.sn];
    var old = G.info[dev.sn];
    G.info[dev.sn] = dev;
    if (dev.lat == null || dev.lon == null) {
      if (m) { G.map.removeLayer(m); delete G.markers[dev.sn]; }
      return;
    }
    var ll = L.latLng(dev.lat, dev.lon);
    if (!m) {
      m = L.marker(ll, { icon: iconFor(dev), keyboard: false, riseOnHover: true, title: "" });
      m.gcsSn = dev.sn;
      m.on("click", function () { G.clicks += 1; G.clicked(dev.sn); });
      m.bindTooltip(tooltipFor(dev), { direction: "top", offset: [0, -14] });
      m.setZIndexOffset(dev.kind === "aircraft" ? 1000 : 0);
      m.addTo(G.map);
      G.markers[dev.sn] = m;
    } else {
      if (!old || old.lat !== dev.lat || old.lon !== dev.lon) { m.setLatLng(ll); }
      if (!old || old.label !== dev.label || old.alt !== dev.alt) { m.setTooltipContent(tooltipFor(dev)); }
    }
    styleMarker(m, dev);
    if (dev.kind === "aircraft") {
      if (old && dev.flight && old.flight !== dev.flight && G.tracks[dev.sn]) {
        G.tracks[dev.sn].setLatLngs([]);  // a new flight starts a new track
      }
      extendTrack(dev.sn, ll);
      setHome(dev);
    }
  }

  function extendTrack(sn, ll) {
    var line = G.tracks[sn];
    if (!line) {
      line = G.tracks[sn] = L.polyline([], { className: "gcs-track", color: "#e8590c", weight: 2, opacity: 0.85, interactive: false });
      line.addTo(G.map);
    }
    var pts = line.getLatLngs();
    var last = pts.length ? pts[pts.length - 1] : null;
    var now = Date.now();
    // At most one point a second, and none while hovering (GNSS jitter): re-projecting a long
    // track is the dearest part of an update.
    if (last && (now - (line.gcsLastT || 0) < G.trackMinMs || last.distanceTo(ll) < G.trackMinStep)) { return; }
    line.gcsLastT = now;
    if (pts.length >= G.trackLimit) {
      pts = pts.slice(pts.length - G.trackLimit + 1);
      pts.push(ll);
      line.setLatLngs(pts);
    } else {
      line.addLatLng(ll);
    }
  }

  function setHome(dev) {
    var h = G.homes[dev.sn];
    if (!dev.home) {
      if (h) { G.map.removeLayer(h); delete G.homes[dev.sn]; }
      return;
    }
    var ll = L.latLng(dev.home[0], dev.home[1]);
    if (!h) {
      h = G.homes[dev.sn] = L.marker(ll, {
        icon: L.divIcon({ className: "gcs-home", html: "H", iconSize: [18, 18], iconAnchor: [9, 9] }),
        interactive: false, keyboard: false, zIndexOffset: -100
      });
      h.addTo(G.map);
    } else if (!h.getLatLng().equals(ll)) {
      h.setLatLng(ll);
    }
  }

  function removeDevice(sn) {
    [G.markers, G.tracks, G.homes].forEach(function (group) {
      if (group[sn]) { G.map.removeLayer(group[sn]); delete group[sn]; }
    });
    delete G.info[sn];
  }

  // batch = {devices: [dev...], removed: [sn...]}; dev = {sn, kind, label, model, online,
  // lat, lon, heading, home: [lat, lon] | null, alt}
  // Until the operator moves the map, the view follows the fleet: new markers refit it.
  G.apply = function (batch) {
    var t0 = performance.now();
    var before = Object.keys(G.markers).length;
    (batch.removed || []).forEach(removeDevice);
    (batch.devices || []).forEach(upsertDevice);
    G.applied += 1;
    var after = Object.keys(G.markers).length;
    if (!G.userMoved && after > before) {
      G.fitted = true;
      G.fitAll();
    }
    G.applyMs.push(performance.now() - t0);
    if (G.applyMs.length > 1000) { G.applyMs.shift(); }
    return after;
  };

  G.fitAll = function () {
    var lls = Object.keys(G.markers).map(function (sn) { return G.markers[sn].getLatLng(); });
    if (!lls.length) { return false; }
    G.map.fitBounds(L.latLngBounds(lls).pad(0.2), { maxZoom: 17, animate: false });
    return true;
  };

  G.clearTracks = function () {
    Object.keys(G.tracks).forEach(function (sn) { G.tracks[sn].setLatLngs([]); });
  };

  G.select = function (sn, pan) {
    var prev = G.selected;
    G.selected = sn || "";
    [prev, G.selected].forEach(function (s) {
      if (s && G.markers[s] && G.info[s]) { styleMarker(G.markers[s], G.info[s]); }
    });
    var m = G.markers[G.selected];
    if (m && pan) { G.map.panTo(m.getLatLng(), { animate: false }); }
    return !!m;
  };

  G.clicked = function (sn) {
    if (G.bridge) { G.bridge.select(sn); }
  };

  // -- return-home paths (return_home_info), one per dock -------------------------------------
  G.rthPaths = {};
  G.showReturnPath = function (sn, points) {
    if (G.rthPaths[sn]) { G.rthPaths[sn].remove(); delete G.rthPaths[sn]; }
    if (!points || points.length < 2) { return; }
    G.rthPaths[sn] = L.polyline(points, { color: "#FF9900", weight: 3, dashArray: "8 6" })
      .bindTooltip("return home · " + sn)
      .addTo(G.map);
  };
  G.returnPathCount = function () { return Object.keys(G.rthPaths).length; };

  // -- route preview (missions panel): polyline, numbered waypoints, start, mapping area ----
  G.route = null;
  G.clearRoute = function () {
    if (G.route) { G.route.layer.remove(); G.route = null; }
  };
  G.showRoute = function (route) {
    G.clearRoute();
    var group = L.layerGroup();
    if (route.polygon && route.polygon.length >= 3) {
      L.polygon(route.polygon, { color: "#19BE6B", weight: 1, fillOpacity: 0.15 }).addTo(group);
    }
    if (route.points.length) {
      L.polyline(route.points, { color: "#2D8CF0", weight: 3 }).addTo(group);
      route.points.forEach(function (ll, i) {
        L.marker(ll, {
          icon: L.divIcon({
            className: "gcs-waypoint",
            html: "<span>" + (i + 1) + "</span>",
            iconSize: [20, 20],
          }),
          title: esc(route.name) + " #" + (i + 1),
        }).addTo(group);
      });
    }
    if (route.start) {
      L.circleMarker(route.start, { radius: 7, color: "#E23C39", weight: 2 }).addTo(group);
    }
    group.addTo(G.map);
    G.route = { id: route.id, layer: group, points: route.points.length };
    var lls = route.points.concat(route.polygon || []);
    if (lls.length) { G.map.fitBounds(L.latLngBounds(lls).pad(0.2)); }
  };


  // ---- shared map elements (Pilot's map module) and drawing (leaflet-geoman) --------------
  // The page only shows what the station holds: a drawn shape is handed to Qt and removed;
  // the station's change comes back through setElements(). Edits and removals of shown
  // elements go to Qt the same way.

  function latlngs(coords) {
    return coords.map(function (p) { return [p[1], p[0]]; });
  }

  function areaLayer(el) {
    // a custom flight area (edited from the flight-area list, not by dragging): no-fly areas
    // red and dashed, geofences green; a disabled one grey
    var g = el.resource.content.geometry, a = el.area;
    var style = {
      color: !a.enabled ? "#888888" : (a.type === "nfz" ? "#E23C39" : "#19BE6B"),
      weight: 2, dashArray: a.type === "nfz" ? "6 4" : null, fillOpacity: a.enabled ? 0.15 : 0.05,
      pmIgnore: true
    };
    var layer = a.radius > 0
      ? L.circle([g.coordinates[1], g.coordinates[0]], Object.assign({ radius: a.radius }, style))
      : L.polygon(latlngs(g.coordinates[0]), style);
    layer.gcsId = el.id;
    layer.gcsArea = a.type;
    layer.bindTooltip(esc(el.name) + (a.type === "nfz" ? " (no-fly)" : " (geofence)") + (a.enabled ? "" : " – off"));
    return layer;
  }

  function elementLayer(el, locked) {
    if (el.area) { return areaLayer(el); }
    var content = el.resource.content, g = content.geometry;
    var color = (content.properties && content.properties.color) || "#2D8CF0";
    var layer;
    // a locked group's elements are shown but not editable (geoman skips pmIgnore layers)
    if (g.type === "Point") {
      layer = L.circleMarker([g.coordinates[1], g.coordinates[0]], { radius: 7, color: color, weight: 2, fillOpacity: 0.6, pmIgnore: locked });
    } else if (g.type === "LineString") {
      layer = L.polyline(latlngs(g.coordinates), { color: color, weight: 3, pmIgnore: locked });
    } else {
      layer = L.polygon(latlngs(g.coordinates[0]), { color: color, weight: 2, fillOpacity: 0.2, pmIgnore: locked });
    }
    layer.gcsId = el.id;
    layer.bindTooltip(esc(el.name));
    layer.on("pm:edit", function () { edited(layer); });
    return layer;
  }

  function geometryOf(layer, shape) {
    if (shape === "Circle" || layer instanceof L.Circle) {
      var c = layer.getLatLng(), r = layer.getRadius(), ring = [];
      for (var i = 0; i < 64; i++) {
        var a = 2 * Math.PI * i / 64;
        var dLat = (r * Math.cos(a)) / 111320;
        var dLon = (r * Math.sin(a)) / (111320 * Math.cos(c.lat * Math.PI / 180));
        ring.push([c.lng + dLon, c.lat + dLat]);
      }
      ring.push(ring[0]);
      return { type: "Polygon", coordinates: [ring] };
    }
    var geo = layer.toGeoJSON(12).geometry;
    return geo;
  }

  function edited(layer) {
    if (G.bridge && layer.gcsId) { G.bridge.elementEdited(layer.gcsId, JSON.stringify(geometryOf(layer))); }
  }

  G.applyElement = function (action, el, locked) {
    if (!G.elementLayer) { return false; }
    var old = G.elements[el.id];
    if (old) { G.elementLayer.removeLayer(old); delete G.elements[el.id]; }
    if (action === "delete") { return true; }
    try {
      var layer = elementLayer(el, !!locked);
      G.elementLayer.addLayer(layer);
      G.elements[el.id] = layer;
    } catch (err) {
      console.error("map element " + el.id + " not shown: " + err);
    }
    return true;
  };

  G.setElements = function (groups) {
    if (!G.elementLayer) { return 0; }
    var t0 = performance.now();
    G.elementLayer.clearLayers();
    G.elements = {};
    groups.forEach(function (group) {
      group.elements.forEach(function (el) {
        try {
          var layer = elementLayer(el, !!group.is_lock);
          G.elementLayer.addLayer(layer);
          G.elements[el.id] = layer;
        } catch (err) {
          console.error("map element " + el.id + " not shown: " + err);
        }
      });
    });
    G.setElementsMs = performance.now() - t0;
    return Object.keys(G.elements).length;
  };

  G.created = function (shape, layer) {
    var geometry = geometryOf(layer, shape);
    if (G.map.hasLayer(layer)) { G.map.removeLayer(layer); }
    if (G.bridge) { G.bridge.elementCreated(JSON.stringify(geometry)); }
    return geometry;
  };

  function setupDrawing(map) {
    G.elementLayer = L.featureGroup().addTo(map);
    if (!map.pm) { return; }
    G.drawing = true;
    map.pm.setGlobalOptions({ snappable: false });
    map.pm.addControls({
      position: "topleft",
      drawMarker: true, drawCircleMarker: false, drawPolyline: true, drawRectangle: false,
      drawPolygon: true, drawCircle: true, drawText: false, editMode: true, dragMode: false,
      cutPolygon: false, removalMode: true, rotateMode: false
    });
    map.on("pm:create", function (e) { G.created(e.shape, e.layer); });
    map.on("pm:remove", function (e) {
      if (G.bridge && e.layer && e.layer.gcsId) { G.bridge.elementRemoved(e.layer.gcsId); }
    });
  }

  G.state = function () {
    var c = G.map.getCenter();
    return {
      markers: Object.keys(G.markers).sort(),
      selected: G.selected,
      base: G.baseId,
      center: [c.lat, c.lng],
      zoom: G.map.getZoom(),
      route: G.route ? { id: G.route.id, points: G.route.points } : null,
      tracks: Object.keys(G.tracks).reduce(function (acc, sn) { acc[sn] = G.tracks[sn].getLatLngs().length; return acc; }, {}),
      homes: Object.keys(G.homes).sort(),
      applied: G.applied,
      applyMs: G.applyMs.slice(-200),
      failedLayers: G.failedLayers.slice(),
      elements: Object.keys(G.elements).sort(),
      locked: Object.keys(G.elements).filter(function (id) { return !!G.elements[id].options.pmIgnore; }).sort(),
      areas: Object.keys(G.elements).filter(function (id) { return !!G.elements[id].gcsArea; }).sort(),
      drawing: G.drawing,
      setElementsMs: G.setElementsMs
    };
  };

  G.init = function (map, options) {
    G.map = map;
    options = options || {};
    if (options.trackLimit) { G.trackLimit = options.trackLimit; }
    map.attributionControl.setPrefix(false);
    var container = map.getContainer();
    ["mousedown", "wheel", "touchstart", "keydown"].forEach(function (type) {
      container.addEventListener(type, function () { G.userMoved = true; }, { passive: true });
    });
    G.setLayers(options.layers || [{ id: "grid", kind: "grid", title: "Grid" }], options.fallback || "grid");
    G.setBase(options.base && G.layers[options.base] ? options.base : G.fallbackId);
    setupDrawing(map);
    if (typeof QWebChannel !== "undefined" && window.qt && qt.webChannelTransport) {
      new QWebChannel(qt.webChannelTransport, function (channel) {
        G.bridge = channel.objects.gcs;
        G.bridge.pageReady();
      });
    }
  };
})();
