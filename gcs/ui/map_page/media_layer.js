/*
 * The media library's photos on the station map (ours), loaded after station_map.js.
 *
 * Theory of operation: the Qt side (MapPanel.show_photos) calls GcsMedia.show(photos, fit) with
 * the photos the operator chose in the media browser: {id, name, lat, lng, heading (degrees
 * from north, or null), time, lens}. Each becomes one marker at its shoot position: a camera
 * dot with a view cone rotated to where the camera looked (no cone without a heading). The
 * layer replaces what it showed before; a click calls the Qt object `gcs` (photoClicked(id)),
 * which opens the photo in the viewer. Nothing here fetches anything.
 */
(function () {
  "use strict";

  var M = {
    layer: null,
    markers: {},   // id -> L.Marker
    photos: {},    // id -> photo dict
    clicks: 0,
    lastClicked: null
  };
  window.GcsMedia = M;

  var STYLE =
    ".gcs-photo { background: none; border: none; }" +
    ".gcs-photo .gcs-photo-rot { width: 100%; height: 100%; transform-origin: 50% 50%; }" +
    ".gcs-photo svg { display: block; overflow: visible; }" +
    ".gcs-photo .gcs-cone { fill: rgba(255, 212, 59, 0.55); stroke: #e67700; stroke-width: 1; }" +
    ".gcs-photo .gcs-dot { fill: #f8f9fa; stroke: #e67700; stroke-width: 2; }" +
    ".gcs-photo.gcs-thermal .gcs-dot { stroke: #c2255c; }" +
    ".gcs-photo.gcs-thermal .gcs-cone { fill: rgba(240, 101, 149, 0.5); stroke: #c2255c; }";

  function addStyle() {
    if (document.getElementById("gcs-media-style")) { return; }
    var el = document.createElement("style");
    el.id = "gcs-media-style";
    el.textContent = STYLE;
    document.head.appendChild(el);
  }

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // A 40 px box: the view cone points up (north) before rotation; the dot is the centre.
  function iconFor(p) {
    var hasHeading = typeof p.heading === "number" && isFinite(p.heading);
    var cone = hasHeading ? '<path class="gcs-cone" d="M20 20 L11 2 Q20 -2 29 2 Z"/>' : "";
    var rot = hasHeading ? ' style="transform: rotate(' + p.heading + 'deg)"' : "";
    var cls = "gcs-photo" + (p.lens === "thermal" || p.lens === "ir" ? " gcs-thermal" : "");
    return L.divIcon({
      className: cls,
      html: '<div class="gcs-photo-rot"' + rot + '><svg viewBox="0 0 40 40" width="40" height="40">' +
        cone + '<circle class="gcs-dot" cx="20" cy="20" r="5"/></svg></div>',
      iconSize: [40, 40],
      iconAnchor: [20, 20]
    });
  }

  M.clear = function () {
    if (M.layer) { M.layer.clearLayers(); }
    M.markers = {};
    M.photos = {};
  };

  M.show = function (photos, fit) {
    var map = window.GcsMap && GcsMap.map;
    if (!map) { return 0; }
    addStyle();
    if (!M.layer) { M.layer = L.layerGroup().addTo(map); }
    M.clear();
    var lls = [];
    photos.forEach(function (p) {
      if (typeof p.lat !== "number" || typeof p.lng !== "number") { return; }
      var m = L.marker([p.lat, p.lng], { icon: iconFor(p), keyboard: false, riseOnHover: true });
      m.bindTooltip(
        "<b>" + esc(p.name) + "</b><br>" + esc(p.time || "") +
        (typeof p.heading === "number" ? "<br>" + p.heading.toFixed(1) + "°" : ""),
        { direction: "top", offset: [0, -12] }
      );
      m.on("click", function () { M.clicked(p.id); });
      m.addTo(M.layer);
      M.markers[p.id] = m;
      M.photos[p.id] = p;
      lls.push([p.lat, p.lng]);
    });
    if (fit && lls.length) {
      // the map's dock may just have been shown or resized: measure before fitting
      map.invalidateSize(false);
      map.fitBounds(L.latLngBounds(lls).pad(0.2), { maxZoom: 19, animate: false });
    }
    return lls.length;
  };

  M.clicked = function (id) {
    M.clicks += 1;
    M.lastClicked = id;
    if (GcsMap.bridge && GcsMap.bridge.photoClicked) { GcsMap.bridge.photoClicked(id); }
  };

  // For tests and tools: what the layer shows, with each marker's rotation as drawn.
  M.state = function () {
    var ids = Object.keys(M.markers).map(Number).sort(function (a, b) { return a - b; });
    return {
      count: ids.length,
      ids: ids,
      rotations: ids.map(function (id) {
        var el = M.markers[id].getElement();
        var rot = el && el.querySelector(".gcs-photo-rot");
        return rot ? rot.style.transform : null;
      }),
      positions: ids.map(function (id) {
        var ll = M.markers[id].getLatLng();
        return [ll.lat, ll.lng];
      }),
      clicks: M.clicks,
      inView: ids.filter(function (id) {
        return GcsMap.map.getBounds().contains(M.markers[id].getLatLng());
      }).length
    };
  };
})();
