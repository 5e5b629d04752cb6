/*
 * The station map's base-map extras (ours), loaded after station_map.js and topojson-client:
 * the world overview, device labels, "follow selected" and picking an area on the map.
 *
 * Theory of operation: GcsBasemap wraps GcsMap's apply/select/setBase (it never edits them).
 * The world overview (Natural Earth land and borders from world-atlas, turned into GeoJSON by
 * topojson-client) is a canvas vector layer in its own pane: above the grid when the world
 * overview is the base map, under the tile pane otherwise, so wherever a tile is missing
 * (offline, a downloaded area ending) the world shows through. Labels are a child element of
 * each device icon, re-attached after every apply(). While "follow" is on, every apply() pans
 * to the selected device; the operator dragging the map turns it off and tells Qt through the
 * page bridge (`basemapEvent`). An area is picked by dragging a rectangle (map dragging is off
 * meanwhile); its bounds go to Qt the same way.
 */
(function () {
  "use strict";

  var G = window.GcsMap;
  var B = {
    worldLoaded: false,
    worldError: "",
    worldFeatures: 0,
    worldLayer: null,
    pane: null,
    follow: false,
    follows: 0,     // pans made by following (tests)
    picking: false,
    pickRect: null,
    picked: null
  };
  window.GcsBasemap = B;

  function tell(kind, value) {
    if (G.bridge && G.bridge.basemapEvent) { G.bridge.basemapEvent(kind, JSON.stringify(value)); }
  }

  // ---- world overview ------------------------------------------------------------------------

  function loadJson(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url, true);
    xhr.onload = function () {
      try { done(null, JSON.parse(xhr.responseText)); } catch (err) { done(err, null); }
    };
    xhr.onerror = function () { done(new Error("cannot read " + url), null); };
    xhr.send();
  }

  // Natural Earth cuts nothing at the antimeridian (Fiji, Chukotka): a ring going from 179.9°
  // to -179.9° would be drawn as a line across the whole world. Keep each line continuous
  // instead (179.9° → 180.1°); Leaflet draws longitudes beyond ±180 where they belong.
  function unwrap(coords) {
    if (typeof coords[0] === "number") { return coords; }
    if (typeof coords[0][0] !== "number") { return coords.map(unwrap); }
    var out = [], shift = 0;
    for (var i = 0; i < coords.length; i++) {
      if (i > 0) {
        var d = coords[i][0] - coords[i - 1][0];
        if (d > 180) { shift -= 360; } else if (d < -180) { shift += 360; }
      }
      out.push([coords[i][0] + shift, coords[i][1]]);
    }
    return out;
  }

  function unwrapAll(geo) {
    if (geo.type === "FeatureCollection") { geo.features.forEach(unwrapAll); return geo; }
    if (geo.type === "Feature") { unwrapAll(geo.geometry); return geo; }
    if (geo.type === "GeometryCollection") { geo.geometries.forEach(unwrapAll); return geo; }
    geo.coordinates = unwrap(geo.coordinates);
    return geo;
  }

  function shifted(coords, dx) {
    if (typeof coords[0] === "number") { return [coords[0] + dx, coords[1]]; }
    return coords.map(function (c) { return shifted(c, dx); });
  }

  // The world and its copies east and west, so a view across ±180° is never half blank.
  function copies(geo) {
    var out = [];
    (geo.type === "FeatureCollection" ? geo.features.map(function (f) { return f.geometry; }) : [geo])
      .forEach(function (g) {
        [0, -360, 360].forEach(function (dx) {
          out.push({ type: "Feature", properties: {}, geometry: { type: g.type, coordinates: shifted(g.coordinates, dx) } });
        });
      });
    return { type: "FeatureCollection", features: out };
  }

  function placePane() {
    if (!B.pane) { return; }
    var entry = G.layers[G.baseId];
    var overview = !entry || entry.spec.kind === "grid";
    // 250: over the grid's canvas tiles; 150: under the tile pane (200).
    B.pane.style.zIndex = overview ? 250 : 150;
    B.pane.classList.toggle("gcs-world-over", overview);
  }

  B.loadWorld = function (url) {
    var map = G.map;
    B.pane = map.createPane("gcsWorld");
    B.pane.style.pointerEvents = "none";
    placePane();
    loadJson(url, function (err, topo) {
      if (err || !topo || !window.topojson) {
        B.worldError = String(err || "topojson-client is missing");
        console.error("world overview not shown: " + B.worldError);
        return;
      }
      var t0 = performance.now();
      var renderer = L.canvas({ pane: "gcsWorld", padding: 0.5 });
      var land = unwrapAll(topojson.feature(topo, topo.objects.land));
      var borders = unwrapAll(topojson.mesh(topo, topo.objects.countries, function (a, b) { return a !== b; }));
      // Added one by one, sea first: the canvas draws in the order layers are added.
      var group = L.featureGroup().addTo(map);
      group.addLayer(L.rectangle([[-85.05, -540], [85.05, 540]], {
        renderer: renderer, stroke: false, fillColor: "#b9d3e6", fillOpacity: 0.55, interactive: false
      }));
      group.addLayer(L.geoJSON(copies(land), {
        renderer: renderer, interactive: false,
        style: { color: "#5b7d99", weight: 1, fillColor: "#f2efe6", fillOpacity: 0.9, fillRule: "nonzero" }
      }));
      group.addLayer(L.geoJSON(copies(borders), {
        renderer: renderer, interactive: false,
        style: { color: "#9a8aa8", weight: 0.8, dashArray: "4 3", fill: false }
      }));
      B.worldLayer = group;
      B.worldFeatures = (land.features ? land.features.length : 1) +
        (borders.coordinates ? borders.coordinates.length : 0);
      B.worldMs = Math.round(performance.now() - t0);
      B.worldLoaded = true;
    });
  };

  // ---- labels ---------------------------------------------------------------------------------

  function labelOf(dev) { return dev.name || dev.label || dev.sn; }

  B.labelAll = function () {
    Object.keys(G.markers).forEach(function (sn) {
      var el = G.markers[sn].getElement(), dev = G.info[sn];
      if (!el || !dev) { return; }
      var tag = el.querySelector(".gcs-label");
      if (!tag) {
        tag = document.createElement("div");
        tag.className = "gcs-label";
        el.appendChild(tag);
      }
      if (tag.textContent !== labelOf(dev)) { tag.textContent = labelOf(dev); }
    });
  };

  // ---- follow selected ------------------------------------------------------------------------

  function followNow() {
    var m = B.follow && G.markers[G.selected];
    if (!m) { return false; }
    if (!G.map.getCenter().equals(m.getLatLng(), 1e-9)) {
      G.map.panTo(m.getLatLng(), { animate: false });
      B.follows += 1;
    }
    return true;
  }

  B.setFollow = function (on) {
    B.follow = !!on;
    if (B.follow) { G.userMoved = true; followNow(); }  // no automatic fit-all while following
    return B.follow;
  };

  // ---- picking an area ------------------------------------------------------------------------

  B.pickArea = function () {
    var map = G.map;
    B.picking = true;
    map.dragging.disable();
    map.getContainer().classList.add("gcs-picking");
    var start = null;
    function down(e) {
      start = e.latlng;
      if (B.pickRect) { B.pickRect.remove(); }
      B.pickRect = L.rectangle([start, start], { color: "#e8590c", weight: 2, dashArray: "6 4", fillOpacity: 0.08, interactive: false }).addTo(map);
    }
    function move(e) { if (start && B.pickRect) { B.pickRect.setBounds(L.latLngBounds(start, e.latlng)); } }
    function up(e) {
      if (!start) { return; }
      var b = L.latLngBounds(start, e.latlng);
      start = null;
      B.stopPicking();
      B.showArea([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
      tell("area", B.picked);
    }
    B._pickHandlers = { mousedown: down, mousemove: move, mouseup: up };
    map.on(B._pickHandlers);
    return true;
  };

  B.stopPicking = function () {
    var map = G.map;
    if (B._pickHandlers) { map.off(B._pickHandlers); B._pickHandlers = null; }
    B.picking = false;
    map.dragging.enable();
    map.getContainer().classList.remove("gcs-picking");
  };

  // [west, south, east, north] of the area to show (null removes it)
  B.showArea = function (bounds) {
    if (B.pickRect) { B.pickRect.remove(); B.pickRect = null; }
    B.picked = bounds ? bounds.map(function (v) { return Math.round(v * 1e6) / 1e6; }) : null;
    if (!bounds) { return null; }
    B.pickRect = L.rectangle([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], {
      color: "#e8590c", weight: 2, dashArray: "6 4", fillOpacity: 0.08, interactive: false
    }).addTo(G.map);
    return B.picked;
  };

  B.view = function () {
    var b = G.map.getBounds();
    return {
      bounds: [Math.max(-180, b.getWest()), Math.max(-85.05, b.getSouth()), Math.min(180, b.getEast()), Math.min(85.05, b.getNorth())],
      zoom: G.map.getZoom()
    };
  };

  B.state = function () {
    return {
      worldLoaded: B.worldLoaded, worldError: B.worldError, worldFeatures: B.worldFeatures,
      worldMs: B.worldMs,
      paneZ: B.pane ? Number(B.pane.style.zIndex) : null,
      labels: Array.prototype.map.call(document.querySelectorAll(".gcs-label"), function (e) { return e.textContent; }).sort(),
      follow: B.follow, follows: B.follows, picking: B.picking, picked: B.picked
    };
  };

  // ---- hooks into GcsMap ------------------------------------------------------------------------

  var init = G.init, apply = G.apply, select = G.select, setBase = G.setBase, setLayers = G.setLayers;
  // The operator's tile server may name its own subdomains ("1234", "a,b"); Leaflet's
  // default is "abc".
  G.setLayers = function (specs, fallbackId) {
    var out = setLayers(specs, fallbackId);
    specs.forEach(function (spec) {
      var entry = G.layers[spec.id];
      if (spec.subdomains && entry && entry.layer.options) {
        entry.layer.options.subdomains = spec.subdomains.indexOf(",") >= 0 ? spec.subdomains.split(",") : spec.subdomains;
      }
    });
    return out;
  };
  G.init = function (map, options) {
    var out = init(map, options);
    B.init((options && options.basemap) || {});
    return out;
  };
  G.apply = function (batch) {
    var out = apply(batch);
    B.labelAll();
    followNow();
    return out;
  };
  G.select = function (sn, pan) {
    var out = select(sn, pan);
    followNow();
    return out;
  };
  G.setBase = function (id) {
    var out = setBase(id);
    placePane();
    return out;
  };

  B.init = function (options) {
    if (options.world) { B.loadWorld(options.world); }
    G.map.on("dragstart", function () {
      if (B.follow) { B.follow = false; tell("follow", false); }
    });
    B.labelAll();
  };
})();
