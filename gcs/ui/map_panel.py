"""The station map: docks, RCs and aircraft on a Leaflet map in a QWebEngineView.

Theory of operation
-------------------
The page is written once, by folium, with every script pointed at a local copy: Leaflet from
the vendor folder `gcs.ui.assets` installs (never a CDN), Qt's own `qwebchannel.js` from its
resources, and our `map_page/station_map.js` + `.css`. From then on the page is driven, never
re-rendered: device changes from the bridge only mark SNs dirty; a single-shot timer flushes
the accumulated changes every `FLUSH_INTERVAL_MS` (up to `MAX_FLUSH_INTERVAL_MS` when many
markers move at once) as one `GcsMap.apply({...})` call, with only the markers that changed
(`pending_updates()`/`flush()` are public so a benchmark can drive them). Clicks on markers come
back through QWebChannel (`_PageBridge.select`) into the shared `Selection`; a selection made
elsewhere highlights the marker and pans to it.

Base maps: MBTiles tilesets from the station's `TileStore`, served by the station's HTTP server
under `/tiles/...` (the same URLs Pilot can use), online OSM/satellite layers (offered, never
chosen by default; a layer that cannot load falls back and says so), and a grid drawn in canvas
that needs no network. "Import MBTiles…" copies a file into the store (on a worker thread) and
adds its layer.

Shared map elements: the page shows the workspace's map elements (what Pilots and the operator
drew) and, when leaflet-geoman is installed beside Leaflet, offers drawing tools (point, line,
polygon, circle; edit vertices; remove). A drawn shape goes through `MapBridge` to the station
(into the app-shared group, with the name and colour chosen in the bar) and comes back to the
page as a station change, like a Pilot's edit; "Undo" reverses the operator's last change.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import shiboken6
from branca.element import MacroElement
from folium.template import Template
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal, SignalInstance, Slot
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gcs.protocol.models import Domain
from gcs.protocol.properties import as_float
from gcs.station.map_geometry import PALETTE
from gcs.station.tiles import TileError, Tileset, TileStore
from gcs.ui.assets import AssetError, default_vendor_dir, geoman_dir, leaflet_dir
from gcs.ui.basemap_panel import BasemapControls  # basemap (issue 14)
from gcs.ui.i18n import i18n, language, register, tr

if TYPE_CHECKING:
    from gcs.station.devices import DeviceView
    from gcs.ui.bridge import Selection, StationBridge
    from gcs.ui.map_bridge import MapBridge

__all__ = ["FLUSH_INTERVAL_MS", "MapPanel", "build_page", "marker_info"]

if hasattr(os, "geteuid") and os.geteuid() == 0:  # Chromium refuses its sandbox as root
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

log = logging.getLogger(__name__)

FLUSH_INTERVAL_MS = 200
MAX_FLUSH_INTERVAL_MS = 1000
MS_PER_MARKER = 4.0
TRACK_LIMIT = 2000
PAGE_DIR = Path(__file__).resolve().parent / "map_page"
QWEBCHANNEL_URL = "qrc:///qtwebchannel/qwebchannel.js"
GRID_ID = "grid"

ONLINE_LAYERS: tuple[dict[str, Any], ...] = (
    {
        "id": "osm",
        "kind": "online",
        "title": "OpenStreetMap (online)",
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "maxZoom": 19,
        "attribution": "© OpenStreetMap contributors",
    },
    {
        "id": "satellite",
        "kind": "online",
        "title": "Satellite (online)",
        "url": "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
        "maxZoom": 19,
        "attribution": "Esri World Imagery",
    },
)

ZH = {
    "Map": "地图",
    "Base map": "底图",
    "Base map:": "底图：",
    "Grid (no map)": "网格（无地图）",
    "World overview (offline)": "世界概览（离线）",
    "OpenStreetMap (online)": "OpenStreetMap（在线）",
    "Satellite (online)": "卫星图（在线）",
    "Import MBTiles…": "导入 MBTiles…",
    "Import an offline map (.mbtiles) into the station": "将离线地图 (.mbtiles) 导入地面站",
    "Fit all": "全部显示",
    "Show every device": "显示所有设备",
    "Clear tracks": "清除航迹",
    "Importing {name}…": "正在导入 {name}…",
    "Imported {name}.": "已导入 {name}。",
    "Import failed": "导入失败",
    "MBTiles files (*.mbtiles);;All files (*)": "MBTiles 文件 (*.mbtiles);;所有文件 (*)",
    "{layer} cannot be loaded (no internet?); showing {fallback}.": (
        "无法加载{layer}（没有互联网？）；改为显示{fallback}。"
    ),
    "The station's web server is not running, so offline maps cannot be shown.": (
        "地面站的 Web 服务未运行，无法显示离线地图。"
    ),
    "The map cannot be shown": "无法显示地图",
    "Name:": "名称：",
    "Name of the next element you draw": "下一个绘制元素的名称",
    "Colour of the next element you draw": "下一个绘制元素的颜色",
    "Undo": "撤销",
    "Group of the next element you draw": "下一个绘制元素所在的图层",
    "Lock": "锁定",
    "Lock the group: nobody can change its elements": "锁定图层：任何人都不能修改其中的元素",
    "Undo your last map change": "撤销上一次地图修改",
    "Map change refused: {reason}": "地图修改被拒绝：{reason}",
    "Operator {n}": "操作员 {n}",
}
register(ZH)


# -- device → marker (pure; no Qt) ---------------------------------------------------------


def _position(state: Mapping[str, Any], lat_key: str, lon_key: str) -> tuple[float, float] | None:
    lat, lon = as_float(state.get(lat_key)), as_float(state.get(lon_key))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:  # devices send 0/0 before they have a fix
        return None
    return (lat, lon)


def _kind(view: DeviceView) -> str:
    if view.domain == Domain.DOCK:
        return "dock"
    if view.domain == Domain.RC:
        return "rc"
    return "aircraft"


def marker_info(view: DeviceView, state: Mapping[str, Any]) -> dict[str, Any]:
    """What the page needs to draw one device (JSON-ready).

    Returns:
        A dict with `sn`, `kind` ("dock", "rc", "aircraft"), `label`, `model`, `online`,
        `lat`/`lon` (None when the device has no valid position yet), `heading` (degrees
        clockwise from north, None when unknown), `home` ([lat, lon] or None), `alt` (a short
        text for the tooltip, or None) and `flight` (the aircraft's `track_id`: a new one
        starts a new track on the map).
    """
    kind = _kind(view)
    pos = _position(state, "latitude", "longitude")
    heading: float | None = None
    home: list[float] | None = None
    alt: str | None = None
    if kind == "aircraft":
        heading = as_float(state.get("attitude_head"))
        home_pos = _position(state, "home_latitude", "home_longitude")
        home = list(home_pos) if home_pos else None
        elevation = as_float(state.get("elevation"))
        speed = as_float(state.get("horizontal_speed"))
        parts = []
        if elevation is not None:
            parts.append(f"{elevation:.1f} m")
        if speed is not None:
            parts.append(f"{speed:.1f} m/s")
        alt = " · ".join(parts) or None
    elif kind == "dock":
        heading = as_float(state.get("heading"))
    if heading is not None and not math.isfinite(heading):
        heading = None
    return {
        "sn": view.sn,
        "kind": kind,
        "label": view.callsign or view.model_name or view.sn,
        "name": view.callsign or view.sn,  # basemap: the label drawn under the icon
        "model": view.model_name,
        "online": view.online,
        "lat": round(pos[0], 7) if pos else None,  # ~1 cm: no update for float noise
        "lon": round(pos[1], 7) if pos else None,
        "heading": round(heading, 1) if heading is not None else None,
        "home": home,
        "alt": alt,
        "flight": str(state.get("track_id") or "") or None if kind == "aircraft" else None,
    }


def _js(value: Any) -> str:
    """JSON for inclusion in a script (no `</script>` can end it early)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


# -- the page --------------------------------------------------------------------------------


class _Init(MacroElement):
    """Calls GcsMap.init(map, options) right after folium created the Leaflet map."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "GcsMap.init({{ this._parent.get_name() }}, {{ this.options_js }});"
        "{% endmacro %}"
    )

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "GcsInit"
        self.options_js = _js(options)


def build_page(
    leaflet: Path,
    *,
    layers: list[dict[str, Any]],
    base: str = GRID_ID,
    fallback: str = GRID_ID,
    center: tuple[float, float] = (22.54, 113.94),
    zoom: int = 3,
    track_limit: int = TRACK_LIMIT,
    geoman: Path | None = None,
    extra_js: list[tuple[str, Path]] | None = None,
    extra_css: list[tuple[str, Path]] | None = None,
    extra_options: dict[str, Any] | None = None,
) -> str:
    """The map page as HTML: folium's Leaflet map, every script and style from local files.

    Args:
        leaflet: The folder holding leaflet.js/leaflet.css (see `gcs.ui.assets`).
        layers: Base layer specs (`id`, `kind` grid|mbtiles|online, `title`, `url`, zooms).
        base: The layer shown first.
        fallback: The layer to fall back to when an online layer cannot load.
        center: Initial (lat, lon) before any device is known.
        zoom: Initial zoom.
        track_limit: Positions kept per aircraft track.
        geoman: The folder holding leaflet-geoman (drawing tools), or None for none.
        extra_js: More (name, file) scripts, loaded after station_map.js in this order.
        extra_css: More (name, file) styles.
        extra_options: More keys for `GcsMap.init`'s options (e.g. `basemap`).

    Returns:
        The HTML document.
    """

    def url(path: Path) -> str:
        return QUrl.fromLocalFile(str(path)).toString()

    drawing_js = [("geoman", url(geoman / "leaflet-geoman.js"))] if geoman else []
    drawing_css = [("geoman_css", url(geoman / "leaflet-geoman.css"))] if geoman else []

    class StationMap(folium.Map):
        default_js = [  # noqa: RUF012 (folium reads these class attributes)
            ("leaflet", url(leaflet / "leaflet.js")),
            *drawing_js,
            ("qwebchannel", QWEBCHANNEL_URL),
            ("gcs_map", url(PAGE_DIR / "station_map.js")),
            ("gcs_flight_areas", url(PAGE_DIR / "flight_areas.js")),  # issue 14: area drawing
            *[(name, url(path)) for name, path in extra_js or []],
            ("gcs_media", url(PAGE_DIR / "media_layer.js")),  # the media library's photos
        ]
        default_css = [  # noqa: RUF012
            ("leaflet_css", url(leaflet / "leaflet.css")),
            *drawing_css,
            ("gcs_map_css", url(PAGE_DIR / "station_map.css")),
            *[(name, url(path)) for name, path in extra_css or []],
        ]

    fmap = StationMap(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        world_copy_jump=True,
        disable_3d=True,
    )
    fmap._id = "station"
    options = {"layers": layers, "base": base, "fallback": fallback, "trackLimit": track_limit}
    _Init({**options, **(extra_options or {})}).add_to(fmap)
    html: str = fmap.get_root().render()
    return html


# -- Qt side -------------------------------------------------------------------------------


class _PageBridge(QObject):
    """The object the page sees as `gcs` through QWebChannel (slots are called from JS)."""

    selected = Signal(str)
    base_failed = Signal(str, str)
    ready = Signal()
    element_created = Signal(str)  # geometry (GeoJSON text)
    element_edited = Signal(str, str)  # element id, geometry
    element_removed = Signal(str)  # element id
    basemap_event = Signal(str, str)  # basemap: kind, JSON value

    @Slot(str, str)
    def basemapEvent(self, kind: str, value: str) -> None:
        self.basemap_event.emit(kind, value)

    @Slot(str)
    def elementCreated(self, geometry: str) -> None:
        self.element_created.emit(geometry)

    # -- issue 14: a shape drawn in flight-area mode (flight_areas.js) --
    flight_area_drawn = Signal(str, str)  # area type, geometry (GeoJSON text)

    @Slot(str, str)
    def flightAreaDrawn(self, area_type: str, geometry: str) -> None:
        self.flight_area_drawn.emit(area_type, geometry)

    @Slot(str, str)
    def elementEdited(self, element_id: str, geometry: str) -> None:
        self.element_edited.emit(element_id, geometry)

    @Slot(str)
    def elementRemoved(self, element_id: str) -> None:
        self.element_removed.emit(element_id)

    @Slot(str)
    def select(self, sn: str) -> None:
        self.selected.emit(sn)

    @Slot(str, str)
    def baseLayerFailed(self, layer_id: str, fallback_id: str) -> None:
        self.base_failed.emit(layer_id, fallback_id)

    @Slot()
    def pageReady(self) -> None:
        self.ready.emit()

    photo_clicked = Signal(int)  # media id (media_layer.js)

    @Slot(int)
    def photoClicked(self, media_id: int) -> None:
        self.photo_clicked.emit(media_id)


class _Page(QWebEnginePage):
    """Logs the page's console messages (JS errors show up in the station's log)."""

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        line: int,
        source: str,
    ) -> None:
        log.log(
            logging.WARNING
            if level == QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel
            else logging.DEBUG,
            "map page: %s (%s:%d)",
            message,
            source,
            line,
        )


# Pages still alive when Python exits are deleted first: otherwise QtWebEngine tears its
# profiles down under them when the QApplication goes and the process crashes on exit.
_LIVE_PAGES: weakref.WeakSet[QWebEnginePage] = weakref.WeakSet()


@atexit.register
def _delete_live_pages() -> None:
    for page in list(_LIVE_PAGES):
        if shiboken6.isValid(page):
            shiboken6.delete(page)


class MapPanel(QWidget):
    """The map dock's widget. Usable until closed; `flush()` may be called at any time."""

    page_ready = Signal()  # the page loaded and its QWebChannel is connected
    tiles_imported = Signal(str)  # tileset name
    tiles_import_failed = Signal(str)  # message (current language)
    base_layer_failed = Signal(str, str)  # failed layer id, the layer shown instead
    flight_area_drawn = Signal(str, str)  # issue 14: area type, geometry (flight_areas.js)
    base_layer_chosen = Signal(str)  # the operator picked a base layer (basemap remembers it)
    _call_on_qt = Signal(object)

    def __init__(
        self,
        bridge: StationBridge,
        selection: Selection,
        parent: QWidget | None = None,
        *,
        request_interceptor: QWebEngineUrlRequestInterceptor | None = None,
        tile_store: TileStore | None = None,
        tiles_url: str | None = None,
        vendor_dir: Path | None = None,
        flush_interval_ms: int = FLUSH_INTERVAL_MS,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MapPanel")
        self.bridge = bridge
        self.selection = selection
        self.tile_store = tile_store if tile_store is not None else _station_tiles(bridge)
        self.tiles_url = tiles_url or _default_tiles_url(bridge)
        self._vendor_dir = vendor_dir or default_vendor_dir()
        self.vendor_dir = self._vendor_dir
        self._ready = False
        self._dirty: set[str] = set()
        self._all_dirty = True
        self._sent: dict[str, dict[str, Any]] = {}  # sn -> marker info the page has
        self._from_page = ""
        self._layers: list[dict[str, Any]] = []
        self._base = GRID_ID
        self.flushes = 0
        self.error_box: QMessageBox | None = None
        self.maps = _map_bridge(bridge)
        self.elements: dict[str, dict[str, Any]] = {}  # what the page shows, by id
        self.undo_stack: list[tuple[str, dict[str, Any]]] = []
        self._drawn = 0
        self._elements_timer = QTimer(self)
        self._elements_timer.setSingleShot(True)
        self._elements_timer.setInterval(100)
        self._elements_timer.timeout.connect(self.reload_elements)
        self._locked_groups: set[str] = set()
        if self.maps is not None:
            self.maps.changed.connect(self._elements_timer.start)
            self.maps.element_changed.connect(self._on_element_changed)

        self._call_on_qt.connect(self._on_call, Qt.ConnectionType.QueuedConnection)
        self._build_ui(request_interceptor)
        self.basemap = BasemapControls(self)  # world overview, labels, follow, offline areas
        self._page_bridge.basemap_event.connect(self.basemap.on_page_event)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._base_interval_ms = flush_interval_ms
        self._timer.setInterval(flush_interval_ms)
        self._timer.timeout.connect(self.flush)

        bridge.devices_changed.connect(self._on_devices_changed)
        bridge.telemetry_changed.connect(self._on_telemetry_changed)
        selection.changed.connect(self._on_selection_changed)
        i18n.language_changed.connect(self.retranslate)
        self.retranslate()
        self._load_page()

    # -- construction --------------------------------------------------------------------

    def _build_ui(self, interceptor: QWebEngineUrlRequestInterceptor | None) -> None:
        self._base_label = QLabel()
        self._base_combo = QComboBox()
        self._base_combo.setObjectName("map_base_layer")
        self._base_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._base_combo.activated.connect(self._on_base_chosen)
        self._import_button = QToolButton()
        self._import_button.setObjectName("map_import_mbtiles")
        self._import_button.clicked.connect(self._on_import_clicked)
        self._fit_button = QToolButton()
        self._fit_button.clicked.connect(lambda: self.run_js("GcsMap.fitAll()"))
        self._clear_button = QToolButton()
        self._clear_button.clicked.connect(lambda: self.run_js("GcsMap.clearTracks()"))
        self._status = QLabel()
        self._status.setObjectName("map_status")
        self._status.setWordWrap(True)
        self._name_label = QLabel()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("map_element_name")
        self.name_edit.setMaximumWidth(140)
        self.color_combo = QComboBox()
        self.color_combo.setObjectName("map_element_color")
        for color in PALETTE:
            self.color_combo.addItem(color, color)
        self.group_combo = QComboBox()
        self.group_combo.setObjectName("map_element_group")
        self.group_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.group_combo.currentIndexChanged.connect(self._show_lock)
        self.lock_button = QToolButton()
        self.lock_button.setObjectName("map_group_lock")
        self.lock_button.setCheckable(True)
        self.lock_button.clicked.connect(self._on_lock_clicked)
        self.undo_button = QToolButton()
        self.undo_button.setObjectName("map_undo")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for w in (self._base_label, self._base_combo, self._import_button):
            bar.addWidget(w)
        bar.addWidget(self._fit_button)
        bar.addWidget(self._clear_button)
        bar.addStretch(1)
        # The drawing tools on a second row: one long row made the map's column (and so the
        # whole window) wider than a laptop screen.
        tools = QHBoxLayout()
        tools.setContentsMargins(4, 0, 4, 2)
        for tool in (
            self._name_label,
            self.name_edit,
            self.color_combo,
            self.group_combo,
            self.lock_button,
            self.undo_button,
        ):
            tools.addWidget(tool)
        tools.addWidget(self._status, 1)
        self._status.setMinimumWidth(60)

        self.view = QWebEngineView(self)
        profile = QWebEngineProfile()  # off the record: nothing written to disk
        if interceptor is not None:
            profile.setUrlRequestInterceptor(interceptor)
        page = _Page(profile, self.view)
        # A profile must outlive its pages. As the page's child it is deleted right after the
        # page's own destructor ran, whatever order the panel's children go in.
        profile.setParent(page)
        _LIVE_PAGES.add(page)
        settings = page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, True)
        # Tiles come over http from the station (and, when chosen, online servers).
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, True)
        self._page_bridge = _PageBridge(self)
        self._page_bridge.selected.connect(self._on_page_selected)
        self._page_bridge.base_failed.connect(self._on_base_failed)
        self._page_bridge.ready.connect(self._on_page_ready)
        self._page_bridge.element_created.connect(self._on_element_created)
        self._page_bridge.element_edited.connect(self._on_element_edited)
        self._page_bridge.element_removed.connect(self._on_element_removed)
        self._page_bridge.flight_area_drawn.connect(self.flight_area_drawn)  # issue 14
        self._channel = QWebChannel(page)
        self._channel.registerObject("gcs", self._page_bridge)
        page.setWebChannel(self._channel)
        self.view.setPage(page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addLayout(tools)
        layout.addWidget(self.view, 1)

    def retranslate(self) -> None:
        """Re-label every control in the current language."""
        self._base_label.setText(tr("Base map:"))
        self._import_button.setText(tr("Import MBTiles…"))
        self._import_button.setToolTip(tr("Import an offline map (.mbtiles) into the station"))
        self._fit_button.setText(tr("Fit all"))
        self._fit_button.setToolTip(tr("Show every device"))
        self._clear_button.setText(tr("Clear tracks"))
        self._name_label.setText(tr("Name:"))
        self.name_edit.setToolTip(tr("Name of the next element you draw"))
        self.color_combo.setToolTip(tr("Colour of the next element you draw"))
        self.group_combo.setToolTip(tr("Group of the next element you draw"))
        self.lock_button.setText(tr("Lock"))
        self.lock_button.setToolTip(tr("Lock the group: nobody can change its elements"))
        self.undo_button.setText(tr("Undo"))
        self.undo_button.setToolTip(tr("Undo your last map change"))
        self._fill_combo()

    def _load_page(self) -> None:
        self._layers = self._layer_specs(self._tilesets())
        self._base = self.basemap.initial_base(self.base_layers()) or self._fallback_id()
        try:
            leaflet = leaflet_dir(self._vendor_dir)
        except AssetError as exc:
            self._status.setText(str(exc))
            self.view.setHtml(
                f"<html><body><h3>{tr('The map cannot be shown')}</h3><p>{exc}</p></body></html>"
            )
            return
        try:
            geoman: Path | None = geoman_dir(self._vendor_dir)
        except AssetError as exc:
            geoman = None
            log.info("%s", exc)
        scripts, styles, basemap = self.basemap.page_scripts()
        html = build_page(
            leaflet,
            layers=self._layers,
            base=self._base,
            fallback=self._fallback_id(),
            geoman=geoman,
            extra_js=scripts,
            extra_css=styles,
            extra_options={"basemap": basemap},
        )
        self.view.setHtml(html, QUrl.fromLocalFile(str(PAGE_DIR) + "/"))
        self._fill_combo()

    # -- base layers ---------------------------------------------------------------------

    def _tilesets(self) -> list[Tileset]:
        if self.tile_store is None:
            return []
        try:
            return self.tile_store.list()
        except OSError as exc:
            log.warning("cannot list offline maps: %s", exc)
            return []

    def _layer_specs(self, tilesets: list[Tileset]) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = [
            {"id": GRID_ID, "kind": "grid", "title": "World overview (offline)"}
        ]
        if self.tiles_url:
            base = self.tiles_url.rstrip("/")
            for t in tilesets:
                specs.append(
                    {
                        "id": f"mbtiles:{t.name}",
                        "kind": "mbtiles",
                        "title": t.title,
                        "url": f"{base}/{t.name}/{{z}}/{{x}}/{{y}}.{t.format}",
                        "minZoom": t.min_zoom,
                        "maxZoom": t.max_zoom,
                        "bounds": list(t.bounds) if t.bounds else None,
                        "attribution": t.attribution,
                    }
                )
        offline, online = self.basemap.layers(tilesets, self.tiles_url)
        specs[1:1] = offline  # basemap: every downloaded area layered
        specs.extend(dict(spec) for spec in ONLINE_LAYERS)
        specs.extend(online)  # basemap: the operator's tile server
        return specs

    def _fallback_id(self) -> str:
        for spec in self._layers:
            if spec["kind"] == "mbtiles":
                return str(spec["id"])
        return GRID_ID

    def _fill_combo(self) -> None:
        combo = self._base_combo
        combo.blockSignals(True)
        combo.clear()
        for spec in self._layers:
            title = spec["title"] if spec["kind"] == "mbtiles" else tr(spec["title"])
            combo.addItem(title, spec["id"])
        index = combo.findData(self._base)
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)

    def base_layers(self) -> list[str]:
        """The ids of the base layers offered (grid, mbtiles:NAME..., osm, satellite)."""
        return [str(spec["id"]) for spec in self._layers]

    @property
    def base_layer(self) -> str:
        """The id of the base layer shown."""
        return self._base

    def set_base_layer(self, layer_id: str) -> None:
        """Show base layer `layer_id` (one of `base_layers()`); unknown ids are ignored."""
        if layer_id not in self.base_layers():
            return
        self._base = layer_id
        self._fill_combo()
        self.run_js(f"GcsMap.setBase({_js(layer_id)})")
        if layer_id.startswith("mbtiles:") or layer_id == GRID_ID:
            self._status.clear()

    def refresh_layers(self, show: str | None = None) -> None:
        """Re-read the tile store's tilesets and update the page's layers (and show `show`)."""
        self._layers = self._layer_specs(self._tilesets())
        if self._base not in self.base_layers():
            self._base = self._fallback_id()
        self.run_js(f"GcsMap.setLayers({_js(self._layers)}, {_js(self._fallback_id())})")
        self._fill_combo()
        if show:
            self.set_base_layer(show)

    @Slot(int)
    def _on_base_chosen(self, index: int) -> None:
        self.set_base_layer(str(self._base_combo.itemData(index)))
        self.base_layer_chosen.emit(self._base)

    @Slot(str, str)
    def _on_base_failed(self, layer_id: str, fallback_id: str) -> None:
        titles = {str(s["id"]): s["title"] for s in self._layers}
        self._base = fallback_id
        self._fill_combo()
        self._status.setText(
            tr("{layer} cannot be loaded (no internet?); showing {fallback}.").format(
                layer=tr(titles.get(layer_id, layer_id)),
                fallback=tr(titles.get(fallback_id, fallback_id)),
            )
        )
        self.base_layer_failed.emit(layer_id, fallback_id)

    # -- MBTiles import ------------------------------------------------------------------

    @Slot()
    def _on_import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, tr("Import MBTiles…"), "", tr("MBTiles files (*.mbtiles);;All files (*)")
        )
        if path:
            self.import_mbtiles(Path(path))

    def import_mbtiles(self, path: Path) -> None:
        """Copy `path` into the tile store on a worker thread, then offer and show its layer.

        Ends with `tiles_imported(name)` or `tiles_import_failed(message)` (Qt thread); a
        failure also shows a message box unless the widget is hidden.
        """
        store = self.tile_store
        if store is None or not self.tiles_url:
            self._import_failed(
                tr("The station's web server is not running, so offline maps cannot be shown.")
            )
            return
        self._import_button.setEnabled(False)
        self._status.setText(tr("Importing {name}…").format(name=path.name))

        def work() -> None:
            try:
                info = store.import_file(path)
            except TileError as exc:
                message = exc.text(language())
                self._call_on_qt.emit(lambda: self._import_failed(message))
            except Exception as exc:  # never let a worker thread die silently
                log.exception("MBTiles import failed")
                message = str(exc)
                self._call_on_qt.emit(lambda: self._import_failed(message))
            else:
                self._call_on_qt.emit(lambda: self._imported(info))

        threading.Thread(target=work, name="gcs-mbtiles-import", daemon=True).start()

    def _imported(self, info: Tileset) -> None:
        self._import_button.setEnabled(True)
        self._status.setText(tr("Imported {name}.").format(name=info.title))
        self.refresh_layers(show=f"mbtiles:{info.name}")
        self.tiles_imported.emit(info.name)

    def _import_failed(self, message: str) -> None:
        self._import_button.setEnabled(True)
        self._status.setText(message)
        if self.isVisible():  # non-blocking: the map keeps updating behind it
            box = QMessageBox(QMessageBox.Icon.Warning, tr("Import failed"), message, parent=self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            self.error_box = box
        self.tiles_import_failed.emit(message)

    @Slot(object)
    def _on_call(self, fn: Callable[[], None]) -> None:
        fn()

    # -- live updates --------------------------------------------------------------------

    @Slot()
    def _on_devices_changed(self) -> None:
        self._all_dirty = True
        self._schedule()

    @Slot(str)
    def _on_telemetry_changed(self, sn: str) -> None:
        self._dirty.add(sn)
        self._schedule()

    def _schedule(self) -> None:
        # A hidden map (a dock tabbed behind another, a closed dock) only accumulates changes;
        # showing it flushes them.
        if self._ready and not self._timer.isActive() and self.isVisible():
            self._timer.start()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._ready and (self._dirty or self._all_dirty):
            QTimer.singleShot(0, self.flush)

    def pending_updates(self) -> int:
        """How many device updates wait for the next flush (all devices after a registry change)."""
        if self._all_dirty:
            return max(len(self.bridge.devices()), 1)
        return len(self._dirty)

    @Slot()
    def flush(self) -> int:
        """Send the accumulated changes to the page in one call.

        Returns:
            The number of devices sent: those whose marker differs from what the page shows
            (0 when nothing changed, or when the page is not ready: changes then stay pending).
        """
        if not self._ready:
            return 0
        self._timer.stop()
        removed: list[str] = []
        if self._all_dirty:
            views = self.bridge.devices()
            current = {v.sn for v in views}
            removed = sorted(set(self._sent) - current)
            for sn in removed:
                del self._sent[sn]
        else:
            views = [v for v in map(self.bridge.device, sorted(self._dirty)) if v is not None]
        self._all_dirty = False
        self._dirty.clear()
        devices = []
        for view in views:  # only what the page does not show yet
            info = marker_info(view, self.bridge.state(view.sn))
            if self._sent.get(view.sn) != info:
                self._sent[view.sn] = info
                devices.append(info)
        if not devices and not removed:
            return 0
        self.view.page().runJavaScript(
            f"GcsMap.apply({_js({'devices': devices, 'removed': removed})})"
        )
        # The page needs ~0.2 ms a marker (in its own process, but on the same cores): a big
        # fleet in motion is refreshed less often so the map never takes more than ~10 % CPU.
        self._timer.setInterval(
            max(
                self._base_interval_ms,
                min(MAX_FLUSH_INTERVAL_MS, int(len(devices) * MS_PER_MARKER)),
            )
        )
        self.flushes += 1
        return len(devices)

    # -- selection -----------------------------------------------------------------------

    @Slot(str)
    def _on_page_selected(self, sn: str) -> None:
        self._from_page = sn
        self.selection.select(sn)

    @Slot(str)
    def _on_selection_changed(self, sn: str) -> None:
        pan = sn != self._from_page
        self._from_page = ""
        self.run_js(f"GcsMap.select({_js(sn)}, {_js(pan)})")

    @Slot()
    def _on_page_ready(self) -> None:
        self._ready = True
        self._all_dirty = True
        self._sent.clear()  # a (re)loaded page shows nothing yet
        self.flush()
        if self.selection.current:
            self.run_js(f"GcsMap.select({_js(self.selection.current)}, true)")
        if getattr(self, "_route", None) is not None:
            self.show_route(self._route)
        self.reload_elements()
        self.basemap.page_ready()
        self.page_ready.emit()

    @property
    def ready(self) -> bool:
        """Whether the page has loaded and connected its channel."""
        return self._ready

    def show_status(self, text: str) -> None:
        """Show `text` in the map's status line."""
        self._status.setText(text)

    def run_js(self, script: str, callback: Callable[[Any], None] | None = None) -> None:
        """Run `script` in the page (ignored before the page is ready); `callback(result)`."""
        if not self._ready:
            return
        if callback is None:
            self.view.page().runJavaScript(script)
        else:
            self.view.page().runJavaScript(script, callback)

    def show_return_path(self, dock_sn: str, points: list[tuple[float, float]]) -> None:
        """Draw the path a dock's aircraft reported it will fly home (`return_home_info`), or
        remove it with an empty list."""
        self.run_js(f"GcsMap.showReturnPath({_js(dock_sn)}, {_js(points)})")

    def show_route(self, route: dict[str, Any] | None) -> None:
        """Draw a route (`WaylineLibrary.geometry`), or clear it with None; kept across page
        reloads."""
        self._route = route
        if route is None:
            self.run_js("GcsMap.clearRoute()")
        else:
            self.run_js(f"GcsMap.showRoute({_js(route)})")

    # -- the media library's photos (media_layer.js) ----------------------------------------

    def show_photos(self, photos: list[dict[str, Any]], fit: bool = True) -> None:
        """Put photos on the map (replacing those shown): dicts of `id`, `name`, `lat`, `lng`,
        `heading` (degrees from north, or None), `time`, `lens` (`media_panel.map_photo`).
        A click on one emits `photo_clicked(id)`. Shown again after a page reload."""
        self._photos = photos
        if self._ready:
            self.run_js(f"GcsMedia.show({_js(photos)}, {_js(fit)})")
        else:
            self.page_ready.connect(self._reshow_photos, Qt.ConnectionType.SingleShotConnection)

    @property
    def photo_clicked(self) -> SignalInstance:
        """A photo on the map was clicked (its media id)."""
        return self._page_bridge.photo_clicked

    def _reshow_photos(self) -> None:
        self.run_js(f"GcsMedia.show({_js(getattr(self, '_photos', []))}, true)")

    def page_state(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Ask the page for its state; `callback` gets a dict (Qt thread) with `markers` (SNs),
        `selected`, `base`, `center`, `zoom`, `tracks` (points per aircraft), `homes`,
        `applied` (apply() calls) and `applyMs` (their durations, newest last)."""
        self.run_js("JSON.stringify(GcsMap.state())", lambda text: callback(json.loads(text)))

    def closeEvent(self, event: Any) -> None:
        self._timer.stop()  # changes keep accumulating; the next flush sends them
        super().closeEvent(event)

    # -- shared map elements -------------------------------------------------------------

    @Slot()
    def reload_elements(self) -> None:
        """Fetch the workspace's map elements and show them (after any change)."""
        if self.maps is None or not self._ready:
            return

        def done(groups: list[dict[str, Any]] | None, error: BaseException | None) -> None:
            if error is not None or groups is None:
                log.warning("map elements could not be loaded: %s", error)
                return
            self.elements = {e["id"]: e for g in groups for e in g["elements"]}
            self._locked_groups = {g["id"] for g in groups if g["is_lock"]}
            self._fill_groups(groups)
            self.run_js(f"GcsMap.setElements({_js(groups)})")

        self.maps.groups(done)

    @Slot(str, object)
    def _on_element_changed(self, action: str, element: dict[str, Any]) -> None:
        """One element changed (a Pilot's or the operator's edit): update it in place."""
        known = self.elements.get(element["id"])
        if (known is not None and "area" in known) or element["group_id"] not in {
            self.group_combo.itemData(i) for i in range(self.group_combo.count())
        }:
            self._elements_timer.start()  # a flight area (or a new group): reload with its kind
            return
        if action == "delete":
            self.elements.pop(element["id"], None)
        else:
            self.elements[element["id"]] = element
        locked = element["group_id"] in self._locked_groups
        self.run_js(f"GcsMap.applyElement({_js(action)}, {_js(element)}, {_js(locked)})")

    def _fill_groups(self, groups: list[dict[str, Any]]) -> None:
        combo = self.group_combo
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for g in groups:
            if g.get("role") != "flight_areas":  # flight areas are drawn as flight areas
                combo.addItem(g["name"], g["id"])
                combo.setItemData(combo.count() - 1, g["is_lock"], Qt.ItemDataRole.UserRole + 1)
        index = combo.findData(current)
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)
        self._show_lock()

    @Slot()
    def _show_lock(self) -> None:
        locked = self.group_combo.currentData(Qt.ItemDataRole.UserRole + 1)
        self.lock_button.setChecked(bool(locked))

    @Slot(bool)
    def _on_lock_clicked(self, checked: bool) -> None:
        group_id = self.group_combo.currentData()
        if self.maps is None or not group_id:
            return
        self.maps.lock(group_id, checked, self._after(None))

    def _refused(self, error: BaseException) -> None:
        reason = getattr(error, "message", None) or str(error)
        self._status.setText(tr("Map change refused: {reason}").format(reason=reason))
        self.reload_elements()  # the page shows what the station holds again

    def _after(self, undo: tuple[str, dict[str, Any]] | None) -> Callable[[Any, Any], None]:
        def done(_result: Any, error: BaseException | None) -> None:
            if error is not None:
                self._refused(error)
            elif undo is not None:
                self.undo_stack.append(undo)
                self.undo_button.setEnabled(True)

        return done

    @Slot(str)
    def _on_element_created(self, geometry_text: str) -> None:
        if self.maps is None:
            return
        geometry = json.loads(geometry_text)
        kind = {"Point": 0, "LineString": 1, "Polygon": 2}.get(geometry.get("type"), 2)
        self._drawn += 1
        name = self.name_edit.text().strip() or tr("Operator {n}").format(n=self._drawn)
        content = {
            "type": "Feature",
            "properties": {"color": self.color_combo.currentData(), "clampToGround": True},
            "geometry": geometry,
        }
        element_id = str(uuid.uuid4())

        def done(element: dict[str, Any] | None, error: BaseException | None) -> None:
            self._after(("create", element or {}))(element, error)

        self.maps.create(
            name, kind, content, element_id, done, group_id=self.group_combo.currentData()
        )

    @Slot(str, str)
    def _on_element_edited(self, element_id: str, geometry_text: str) -> None:
        old = self.elements.get(element_id)
        if self.maps is None or old is None:
            return
        content = dict(old["resource"]["content"], geometry=json.loads(geometry_text))
        self.maps.update(element_id, content=content, on_done=self._after(("update", old)))

    @Slot(str)
    def _on_element_removed(self, element_id: str) -> None:
        old = self.elements.get(element_id)
        if self.maps is None or old is None:
            return
        self.maps.delete(element_id, self._after(("delete", old)))

    @Slot()
    def undo(self) -> None:
        """Reverse the operator's last map change (create, edit or delete)."""
        if self.maps is None or not self.undo_stack:
            return
        action, element = self.undo_stack.pop()
        self.undo_button.setEnabled(bool(self.undo_stack))
        done = self._after(None)
        if action == "create":
            self.maps.delete(element["id"], done)
        elif action == "update":
            res = element["resource"]
            self.maps.update(
                element["id"], name=element["name"], content=res["content"], on_done=done
            )
        else:
            self.maps.restore(element, done)

    # -- issue 14: drawing custom flight areas (the Flight areas panel asks) ---------------

    def draw_flight_area(self, area_type: str, shape: str, text: str = "") -> None:
        """Let the operator draw the next polygon or circle ("Polygon"/"Circle") as a flight
        area of `area_type` ("nfz"/"dfence"); it comes back as `flight_area_drawn`."""
        self.show()
        self.raise_()
        self.run_js(f"GcsFlightAreas.start({_js(area_type)}, {_js(shape)}, {_js(text)})")


def _map_bridge(bridge: StationBridge) -> MapBridge | None:
    """The shared-map access of a station bridge (None for a bridge without a station)."""
    if not hasattr(bridge, "threaded_runtime"):
        return None
    from gcs.ui.map_bridge import MapBridge

    return MapBridge(bridge)


def _station_tiles(bridge: StationBridge) -> TileStore | None:
    """The station's own tile store (None when the bridge offers none)."""
    tile_store = getattr(bridge, "tile_store", None)
    return tile_store() if callable(tile_store) else None


def _default_tiles_url(bridge: StationBridge) -> str | None:
    base = bridge.http_base_url()
    return f"{base}/tiles" if base else None
