"""The map panel's base-map controls: world overview, labels, follow, offline areas, memory.

`BasemapControls` is built by `MapPanel` and owns everything the base-map feature adds to it:
the scripts of the page (topojson-client, `map_page/basemap.js`) and the world atlas' URL, the
extra base layers ("offline": every downloaded area layered; "online": the operator's tile
server), the remembered base layer (asked from the station at start, told to it when the
operator picks one), the "Follow selected" toggle (the page turns it off when the map is
dragged), and the "Offline area…" dialog with the download's progress bar and Cancel in the
panel's toolbar. Downloads themselves run in the station (`gcs.station.basemap`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QUrl, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gcs.station.tile_download import MAX_ZOOM, AreaRequest, DownloadRefused, TileServer
from gcs.station.tiles import Tileset
from gcs.ui.assets import AssetError, world_dirs
from gcs.ui.i18n import language, register, tr

if TYPE_CHECKING:
    from gcs.ui.basemap_bridge import BasemapBridge
    from gcs.ui.map_panel import MapPanel

log = logging.getLogger(__name__)

__all__ = ["BasemapControls", "OfflineAreaDialog"]

PAGE_DIR = Path(__file__).resolve().parent / "map_page"
OFFLINE_ID = "offline"
POLICY = "Only download from a tile server you are entitled to use; its usage policy applies."
ONLINE_ID = "online"

register(
    {
        "World overview (offline)": "世界概览（离线）",
        "Offline maps (all downloaded)": "离线地图（全部已下载）",
        "Tile server (online)": "瓦片服务器（在线）",
        "Follow selected": "跟随所选",
        "Keep the selected device in the middle of the map (dragging the map stops it)": (
            "让所选设备保持在地图中央（拖动地图即停止）"
        ),
        "Offline area…": "离线区域…",
        "Store an area of the tile server for use without internet": (
            "下载瓦片服务器上的一片区域，供无网络时使用"
        ),
        "Cancel download": "取消下载",
        "Resume download": "继续下载",
        "Offline area": "离线区域",
        "Name:": "名称：",
        "Area:": "区域：",
        "The current view": "当前视图",
        "A rectangle drawn on the map": "在地图上绘制的矩形",
        "Draw on the map": "在地图上绘制",
        "Lowest zoom:": "最小缩放级别：",
        "Highest zoom:": "最大缩放级别：",
        "Tile server URL:": "瓦片服务器 URL：",
        "Subdomains:": "子域名：",
        "Attribution:": "版权说明：",
        "Server max zoom:": "服务器最大级别：",
        "User-Agent:": "User-Agent：",
        "Start download": "开始下载",
        "{count:,} tiles, about {size}": "{count:,} 个瓦片，约 {size}",
        "Drag a rectangle on the map…": "请在地图上拖出一个矩形…",
        "Downloading {name}: {done}/{total}": "正在下载 {name}：{done}/{total}",
        "Offline area {name}: {stored}/{total} tiles stored, {failed} failed ({status}).": (
            "离线区域 {name}：已保存 {stored}/{total} 个瓦片，失败 {failed} 个（{status}）。"
        ),
        POLICY: ("请仅从您有权使用的瓦片服务器下载，并遵守其使用规则。"),
    }
)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return f"{n} B"


class BasemapControls(QObject):
    """The base-map part of one `MapPanel`. Usable until the panel goes."""

    area_picked = Signal(list)  # [west, south, east, north] drawn on the map
    progress_changed = Signal(dict)

    def __init__(self, panel: MapPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.maps: BasemapBridge | None = _basemap_bridge(panel)
        self.dialog: OfflineAreaDialog | None = None
        self.last_progress: dict[str, Any] | None = None

        self.follow_button = QToolButton()
        self.follow_button.setObjectName("map_follow_selected")
        self.follow_button.setCheckable(True)
        self.follow_button.toggled.connect(self.set_follow)
        self.area_button = QToolButton()
        self.area_button.setObjectName("map_offline_area")
        self.area_button.clicked.connect(self.open_dialog)
        self.area_button.setEnabled(self.maps is not None)
        self.progress = QProgressBar()
        self.progress.setObjectName("map_download_progress")
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setObjectName("map_download_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.resume_button = QToolButton()
        self.resume_button.setObjectName("map_download_resume")
        self.resume_button.clicked.connect(self.resume)
        self.resume_button.hide()
        self.resumable = ""  # the area a canceled or stopped download can go on with
        # A row of their own above the map: on the base-map row they made the map's column
        # (and so the main window) wider than a laptop screen.
        row = QHBoxLayout()
        row.setContentsMargins(4, 0, 4, 2)
        for w in (
            self.follow_button,
            self.area_button,
            self.progress,
            self.cancel_button,
            self.resume_button,
        ):
            row.addWidget(w)
        row.addStretch(1)
        layout = panel.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertLayout(layout.indexOf(panel.view), row)
        if self.maps is not None:
            self.maps.progress.connect(self._on_progress)
        panel.base_layer_chosen.connect(self._on_base_chosen)
        self.retranslate()

    def retranslate(self) -> None:
        self.follow_button.setText(tr("Follow selected"))
        self.follow_button.setToolTip(
            tr("Keep the selected device in the middle of the map (dragging the map stops it)")
        )
        self.area_button.setText(tr("Offline area…"))
        self.area_button.setToolTip(tr("Store an area of the tile server for use without internet"))
        self.cancel_button.setText(tr("Cancel download"))
        self.resume_button.setText(tr("Resume download"))

    # -- the page ---------------------------------------------------------------------------

    def page_scripts(self) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]], dict[str, Any]]:
        """(scripts, styles, options) the page loads for the base-map feature."""
        scripts: list[tuple[str, Path]] = []
        options: dict[str, Any] = {}
        try:
            topojson, atlas = world_dirs(self.panel.vendor_dir)
        except AssetError as exc:
            log.warning("%s", exc)
        else:
            scripts.append(("topojson", topojson / "topojson-client.min.js"))
            options["world"] = QUrl.fromLocalFile(str(atlas / "countries-50m.json")).toString()
        scripts.append(("gcs_basemap", PAGE_DIR / "basemap.js"))
        return scripts, [("gcs_basemap_css", PAGE_DIR / "basemap.css")], options

    def layers(
        self, tilesets: list[Tileset], tiles_url: str | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The extra base layers: (every downloaded area layered, the operator's tile server),
        each an empty list when there is none."""
        offline: list[dict[str, Any]] = []
        online: list[dict[str, Any]] = []
        if tiles_url and tilesets:
            offline.append(
                {
                    "id": OFFLINE_ID,
                    "kind": "mbtiles",
                    "title": tr("Offline maps (all downloaded)"),
                    "url": tiles_url.rstrip("/") + "/_all/{z}/{x}/{y}.png",
                    # Native zooms from 0: below an area's lowest zoom the layered route
                    # answers 404 and the world overview shows, instead of Leaflet scaling
                    # thousands of high-zoom tiles down into a low-zoom view.
                    "minZoom": 0,
                    "maxZoom": max(t.max_zoom for t in tilesets),
                    "bounds": _union([t.bounds for t in tilesets]),
                    "attribution": "; ".join(sorted({t.attribution for t in tilesets} - {""})),
                }
            )
        s = self.maps.settings() if self.maps is not None else None
        if s and s["url_template"]:
            spec: dict[str, Any] = {
                "id": ONLINE_ID,
                "kind": "online",
                "title": "Tile server (online)",
                "url": s["url_template"],
                "maxZoom": s["max_zoom"],
                "attribution": s["attribution"],
            }
            if s["subdomains"]:
                spec["subdomains"] = s["subdomains"]
            online.append(spec)
        return offline, online

    def initial_base(self, offered: list[str]) -> str | None:
        """The remembered base layer if it is offered."""
        saved = self.maps.saved_base() if self.maps is not None else ""
        return saved if saved in offered else None

    @Slot(str)
    def _on_base_chosen(self, layer_id: str) -> None:
        if self.maps is not None:
            self.maps.remember(layer_id)

    @Slot(str, str)
    def on_page_event(self, kind: str, value: str) -> None:
        data = json.loads(value)
        if kind == "follow" and not data:
            self.follow_button.blockSignals(True)
            self.follow_button.setChecked(False)
            self.follow_button.blockSignals(False)
        elif kind == "area" and isinstance(data, list):
            self.area_picked.emit(data)

    @Slot(bool)
    def set_follow(self, on: bool) -> None:
        """Keep the selected device centred (or stop)."""
        if self.follow_button.isChecked() != on:
            self.follow_button.setChecked(on)
            return
        self.panel.run_js(f"GcsBasemap.setFollow({json.dumps(on)})")

    def page_ready(self) -> None:
        if self.follow_button.isChecked():
            self.panel.run_js("GcsBasemap.setFollow(true)")

    # -- downloads --------------------------------------------------------------------------

    @Slot()
    def open_dialog(self) -> OfflineAreaDialog | None:
        if self.maps is None:
            return None
        if self.dialog is None:
            self.dialog = OfflineAreaDialog(self, self.panel)
        self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    @Slot()
    def cancel(self) -> None:
        if self.maps is not None:
            self.maps.cancel()

    @Slot()
    def resume(self) -> None:
        """Go on with the last canceled or stopped download (stored tiles are skipped)."""
        if self.maps is None or not self.resumable:
            return
        self.resume_button.setEnabled(False)

        def done(_name: Any, error: BaseException | None) -> None:
            self.resume_button.setEnabled(True)
            if error is not None:
                message = error.text(language()) if isinstance(error, DownloadRefused) else error
                self.panel.show_status(str(message))

        self.maps.resume(self.resumable, done)

    @Slot(object)
    def _on_progress(self, p: dict[str, Any]) -> None:
        self.last_progress = p
        total = max(1, int(p["total"]))
        self.progress.setRange(0, total)
        self.progress.setValue(int(p["stored"]) + int(p["failed"]))
        self.progress.setFormat(
            tr("Downloading {name}: {done}/{total}").format(
                name=p["name"], done=p["stored"] + p["failed"], total=p["total"]
            )
        )
        running = not p["finished"]
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.resumable = p["name"] if p["status"] in ("canceled", "stopped") else ""
        self.resume_button.setVisible(bool(self.resumable))
        if p["finished"]:
            text = tr(
                "Offline area {name}: {stored}/{total} tiles stored, {failed} failed ({status})."
            ).format(**p)
            message = p["message_zh"] if language().startswith("zh") else p["message_en"]
            self.panel.show_status(text + (f" {message}" if message else ""))
            self.panel.refresh_layers()
        self.progress_changed.emit(p)


class OfflineAreaDialog(QDialog):
    """Pick an area and a zoom range, see the tile count and size, start the download.

    Not modal: the operator can draw the rectangle on the map behind it.
    """

    def __init__(self, controls: BasemapControls, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = controls
        self.setObjectName("offline_area_dialog")
        self.setWindowTitle(tr("Offline area"))
        self.view_bounds: list[float] | None = None
        self.drawn_bounds: list[float] | None = None
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("area_name")
        self.view_radio = QRadioButton(tr("The current view"))
        self.drawn_radio = QRadioButton(tr("A rectangle drawn on the map"))
        self.view_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.view_radio)
        group.addButton(self.drawn_radio)
        self.draw_button = QPushButton(tr("Draw on the map"))
        self.draw_button.setObjectName("area_draw")
        self.draw_button.clicked.connect(self.draw)
        self.min_zoom = QSpinBox()
        self.min_zoom.setObjectName("area_min_zoom")
        self.max_zoom = QSpinBox()
        self.max_zoom.setObjectName("area_max_zoom")
        for spin in (self.min_zoom, self.max_zoom):
            spin.setRange(0, 22)  # above MAX_ZOOM is refused with the reason
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("area_url")
        self.url_edit.setPlaceholderText("https://{s}.tiles.example.com/{z}/{x}/{y}.png")
        self.subdomains_edit = QLineEdit()
        self.attribution_edit = QLineEdit()
        self.server_zoom = QSpinBox()
        self.server_zoom.setRange(0, 22)
        self.agent_edit = QLineEdit()
        self.summary = QLabel()
        self.summary.setObjectName("area_summary")
        self.summary.setWordWrap(True)
        policy = QLabel(tr(POLICY))
        policy.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.start_button = self.buttons.addButton(
            tr("Start download"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.start_button.setObjectName("area_start")
        self.buttons.rejected.connect(self.hide)
        self.start_button.clicked.connect(self.start)

        area = QHBoxLayout()
        area.addWidget(self.view_radio)
        area.addWidget(self.drawn_radio)
        area.addWidget(self.draw_button)
        form = QFormLayout()
        form.addRow(tr("Name:"), self.name_edit)
        form.addRow(tr("Area:"), area)
        form.addRow(tr("Lowest zoom:"), self.min_zoom)
        form.addRow(tr("Highest zoom:"), self.max_zoom)
        form.addRow(tr("Tile server URL:"), self.url_edit)
        form.addRow(tr("Subdomains:"), self.subdomains_edit)
        form.addRow(tr("Attribution:"), self.attribution_edit)
        form.addRow(tr("Server max zoom:"), self.server_zoom)
        form.addRow(tr("User-Agent:"), self.agent_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(policy)
        layout.addWidget(self.buttons)
        for w in (self.min_zoom, self.max_zoom, self.server_zoom):
            w.valueChanged.connect(self.update_summary)
        for r in (self.view_radio, self.drawn_radio):
            r.toggled.connect(self.update_summary)
        self.url_edit.textChanged.connect(self.update_summary)
        self.subdomains_edit.textChanged.connect(self.update_summary)
        controls.area_picked.connect(self._on_picked)

    def refresh(self) -> None:
        """Fill the fields from the station's settings and the map's current view."""
        maps = self.controls.maps
        assert maps is not None
        s = maps.settings()
        self.url_edit.setText(s["url_template"])
        self.subdomains_edit.setText(s["subdomains"])
        self.attribution_edit.setText(s["attribution"])
        self.server_zoom.setValue(int(s["max_zoom"]))
        self.agent_edit.setText(s["user_agent"])
        self.agent_edit.setPlaceholderText(s["user_agent_default"])
        if not self.name_edit.text():
            self.name_edit.setText(time.strftime("area-%Y%m%d-%H%M"))

        def got(text: Any) -> None:
            try:
                view = json.loads(text)
            except (TypeError, ValueError):
                return
            self.view_bounds = view["bounds"]
            zoom = int(view["zoom"])
            if self.max_zoom.value() == 0:
                self.min_zoom.setValue(max(0, zoom))
                self.max_zoom.setValue(min(MAX_ZOOM, zoom + 3))
            self.update_summary()

        self.controls.panel.run_js("JSON.stringify(GcsBasemap.view())", got)
        self.update_summary()

    @Slot()
    def draw(self) -> None:
        self.drawn_radio.setChecked(True)
        self.summary.setText(tr("Drag a rectangle on the map…"))
        self.controls.panel.run_js("GcsBasemap.pickArea()")

    @Slot(list)
    def _on_picked(self, bounds: list[float]) -> None:
        self.drawn_bounds = bounds
        self.drawn_radio.setChecked(True)
        self.update_summary()

    def bounds(self) -> list[float] | None:
        return self.drawn_bounds if self.drawn_radio.isChecked() else self.view_bounds

    def request(self) -> AreaRequest:
        """The area as asked.

        Raises:
            DownloadRefused: no area yet, or the request is refused (the reason says why).
        """
        bounds = self.bounds()
        if not bounds:
            raise DownloadRefused(
                "Pick an area first: the current view, or draw a rectangle on the map.",
                "请先选择区域：当前视图，或在地图上绘制矩形。",
            )
        w, s, e, n = (float(v) for v in bounds)
        name = self.name_edit.text().strip() or "area"
        return AreaRequest(name, (w, s, e, n), self.min_zoom.value(), self.max_zoom.value(), name)

    def server_values(self) -> dict[str, Any]:
        return {
            "url_template": self.url_edit.text().strip(),
            "subdomains": self.subdomains_edit.text().strip(),
            "attribution": self.attribution_edit.text().strip(),
            "max_zoom": self.server_zoom.value(),
            "user_agent": self.agent_edit.text().strip(),
        }

    @Slot()
    def update_summary(self) -> bool:
        """Show the tile count and estimated size, or why the request is refused; returns
        whether it can start."""
        maps = self.controls.maps
        try:
            req = self.request()
            v = self.server_values()
            from gcs.station.tile_download import parse_subdomains

            TileServer(v["url_template"], parse_subdomains(v["subdomains"]), max_zoom=v["max_zoom"])
            if req.max_zoom > v["max_zoom"]:
                raise DownloadRefused(
                    f"The tile server has tiles up to zoom {v['max_zoom']}; "
                    "lower the highest zoom.",
                    f"瓦片服务器最高只有 {v['max_zoom']} 级；请降低最大缩放级别。",
                )
            count, size = maps.estimate(req) if maps is not None else (req.count, 0)
        except DownloadRefused as exc:
            self.summary.setText(exc.text(language()))
            self.start_button.setEnabled(False)
            return False
        self.summary.setText(
            tr("{count:,} tiles, about {size}").format(count=count, size=_size(size))
        )
        self.start_button.setEnabled(not (maps is not None and maps.running()))
        return True

    @Slot()
    def start(self) -> None:
        """Save the tile server, then start the download in the station."""
        maps = self.controls.maps
        if maps is None or not self.update_summary():
            return
        req = self.request()
        self.start_button.setEnabled(False)

        def started(_name: Any, error: BaseException | None) -> None:
            if error is not None:
                self.summary.setText(
                    error.text(language()) if isinstance(error, DownloadRefused) else str(error)
                )
                self.start_button.setEnabled(True)
                return
            self.controls.panel.run_js("GcsBasemap.showArea(null)")
            self.hide()

        def configured(_r: Any, error: BaseException | None) -> None:
            if error is not None:
                started(None, error)
                return
            maps.start(req, started)

        maps.configure(configured, **self.server_values())


def _union(
    boxes: list[tuple[float, float, float, float] | None],
) -> list[float] | None:
    """The box around every box (None when one of them is unknown: the whole world)."""
    if not boxes or any(b is None for b in boxes):
        return None
    known = [b for b in boxes if b is not None]
    return [
        min(b[0] for b in known),
        min(b[1] for b in known),
        max(b[2] for b in known),
        max(b[3] for b in known),
    ]


def _basemap_bridge(panel: MapPanel) -> BasemapBridge | None:
    if not hasattr(panel.bridge, "threaded_runtime"):
        return None
    from gcs.ui.basemap_bridge import BasemapBridge

    return BasemapBridge(panel.bridge, panel)
