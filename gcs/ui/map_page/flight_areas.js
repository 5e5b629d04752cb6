/*
 * Flight-area drawing on the station map (issue 14). Loaded after station_map.js.
 *
 * The Flight areas panel asks for one area at a time: GcsFlightAreas.start(type, shape, text)
 * starts leaflet-geoman's polygon or circle tool and shows `text` in a banner. The next shape
 * drawn is not a map element: GcsMap.created (wrapped here) hands it to Qt as
 * gcs.flightAreaDrawn(type, geometry), where geometry is a GeoJSON Polygon or
 * {type: "Circle", coordinates: [lon, lat], radius: metres} (a circle stays a circle: docks load
 * circles natively), removes the drawn layer and leaves flight-area mode. The station's areas
 * then come back through GcsMap.setElements like every element (drawn red/green/grey there).
 * Esc (geoman's drawend without a shape) cancels and tells Qt with an empty geometry;
 * GcsFlightAreas.stop() leaves the mode silently.
 */
(function () {
  "use strict";

  var G = window.GcsMap;
  var A = { mode: null, shape: null, banner: null, drawn: 0, cancelled: 0, hooked: false };
  window.GcsFlightAreas = A;

  var plainCreated = G.created;
  G.created = function (shape, layer) {
    if (!A.mode) { return plainCreated(shape, layer); }
    var kind = A.mode, geometry = null;
    if (layer instanceof L.Circle) {
      var c = layer.getLatLng();
      geometry = { type: "Circle", coordinates: [c.lng, c.lat], radius: Math.round(layer.getRadius() * 10) / 10 };
    } else if (layer instanceof L.Polygon) {
      geometry = layer.toGeoJSON(12).geometry;
    }
    if (G.map.hasLayer(layer)) { G.map.removeLayer(layer); }
    A.mode = null;  // before stop(): the drawend that follows is not a cancel
    A.stop();
    if (!geometry) { return null; }  // a point or a line is no area
    A.drawn += 1;
    if (G.bridge && G.bridge.flightAreaDrawn) { G.bridge.flightAreaDrawn(kind, JSON.stringify(geometry)); }
    return geometry;
  };

  function showBanner(text, kind) {
    hideBanner();
    var Banner = L.Control.extend({
      onAdd: function () {
        var div = L.DomUtil.create("div", "gcs-area-banner gcs-area-" + kind);
        div.textContent = text;
        div.style.cssText = "background: rgba(255,255,255,0.92); padding: 4px 8px; border-radius: 4px; " +
          "font: 13px sans-serif; box-shadow: 0 1px 4px rgba(0,0,0,0.3); border-left: 4px solid " +
          (kind === "nfz" ? "#E23C39" : "#19BE6B") + ";";
        return div;
      }
    });
    A.banner = new Banner({ position: "topright" });
    A.banner.addTo(G.map);
  }

  function hideBanner() {
    if (A.banner) { A.banner.remove(); A.banner = null; }
  }

  A.start = function (kind, shape, text) {
    if (!G.map || !G.map.pm) { return false; }
    if (!A.hooked) {
      A.hooked = true;
      G.map.on("pm:drawend", function () {
        if (!A.mode) { return; }
        var kind = A.mode;
        A.cancelled += 1;
        A.stop();
        // an empty geometry tells Qt the drawing was cancelled
        if (G.bridge && G.bridge.flightAreaDrawn) { G.bridge.flightAreaDrawn(kind, ""); }
      });
    }
    A.mode = kind;
    A.shape = shape === "Circle" ? "Circle" : "Polygon";
    showBanner(text || "", kind);
    var color = kind === "nfz" ? "#E23C39" : "#19BE6B";
    G.map.pm.enableDraw(A.shape, { pathOptions: { color: color, fillOpacity: 0.15 }, templineStyle: { color: color }, hintlineStyle: { color: color, dashArray: "5 5" } });
    return true;
  };

  A.stop = function () {
    A.mode = null;
    hideBanner();
    if (G.map && G.map.pm && G.map.pm.globalDrawModeEnabled()) { G.map.pm.disableDraw(); }
    return true;
  };

  A.state = function () {
    return { mode: A.mode, shape: A.shape, banner: !!A.banner, drawn: A.drawn, cancelled: A.cancelled };
  };
})();
