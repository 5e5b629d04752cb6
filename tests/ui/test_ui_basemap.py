"""The map is never blank: world overview, device labels, follow selected, offline areas and
the remembered base map, in the real map panel (QtWebEngine offscreen) on a real station.

Remote requests are blocked (an offline laptop); the tile server is a real aiohttp server on
127.0.0.1 (`tests/tile_server.py`). Set GCS_SCREENSHOT_DIR to keep the screenshots.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mbtiles_files import make_mbtiles, png
from station_harness import free_port
from test_ui_map import Recorder
from tile_server import FakeTileServer

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.station.basemap import BaseMaps
from gcs.store.settings import load_settings
from gcs.ui.assets import AssetError, leaflet_dir, world_dirs
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.map_panel import MapPanel

SITE = (113.90, 22.48, 113.99, 22.56)


@pytest.fixture(scope="module", autouse=True)
def assets_installed() -> None:
    try:
        leaflet_dir()
        world_dirs()
    except AssetError as exc:
        pytest.skip(str(exc))


def start(data_dir: Path) -> ThreadedRuntime:
    s = load_settings(data_dir)
    s.station.host = s.station.public_host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.http.port, s.storage.port = free_port(), free_port()
    s.http.https_port = s.ntp.port = s.ntp.fallback_port = 0
    s.live.rtmp_port = s.live.http_port = 0
    rt = ThreadedRuntime(Runtime(s, data_dir))
    rt.start()
    return rt


class Rig:
    def __init__(self, qtbot: Any, rt: ThreadedRuntime) -> None:
        self.recorder = Recorder(block_remote=True)
        self.bridge = StationBridge(rt)
        self.panel = MapPanel(self.bridge, Selection(), request_interceptor=self.recorder)
        qtbot.addWidget(self.panel)
        self.panel.resize(900, 650)
        self.panel.show()
        qtbot.waitUntil(lambda: self.panel.ready, timeout=20_000)

    def close(self) -> None:
        dialog = self.panel.basemap.dialog
        if dialog is not None:
            dialog.close()
        self.panel.close()
        self.bridge.close()


def js(qtbot: Any, panel: MapPanel, expr: str) -> Any:
    box: list[str] = []
    panel.view.page().runJavaScript(f"JSON.stringify({expr})", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


def basemap(qtbot: Any, panel: MapPanel) -> dict[str, Any]:
    state: dict[str, Any] = js(qtbot, panel, "GcsBasemap.state()")
    return state


def off_centre(qtbot: Any, panel: MapPanel, sn: str) -> float:
    """Pixels between the map's centre and the device's marker."""
    distance: float = js(
        qtbot,
        panel,
        f"GcsMap.map.latLngToContainerPoint(GcsMap.markers[{json.dumps(sn)}].getLatLng())"
        ".distanceTo(GcsMap.map.getSize().divideBy(2))",
    )
    return distance


def screenshot(qtbot: Any, panel: MapPanel, path: Path) -> Path:
    qtbot.wait(300)  # let the compositor paint the last frame (the picture only, no assertion)
    assert panel.grab().save(str(path))
    keep = os.environ.get("GCS_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def device(sn: str, name: str, lat: float, lon: float, kind: str = "aircraft") -> dict[str, Any]:
    return {
        "sn": sn, "kind": kind, "label": name or "M30", "name": name or sn, "model": "M30",
        "online": True, "lat": lat, "lon": lon, "heading": 30.0, "home": None, "alt": None,
        "flight": None,
    }  # fmt: skip


@pytest.fixture
def rig(qtbot: Any, tmp_path: Path) -> Iterator[tuple[Rig, ThreadedRuntime]]:
    rt = start(tmp_path / "station")
    r = Rig(qtbot, rt)
    yield r, rt
    r.close()
    rt.stop()


def test_world_overview_is_drawn_with_no_network(
    qtbot: Any, rig: tuple[Rig, ThreadedRuntime], tmp_path: Path
) -> None:
    r, _rt = rig
    panel = r.panel
    qtbot.waitUntil(lambda: basemap(qtbot, panel)["worldLoaded"], timeout=15_000)
    state = basemap(qtbot, panel)
    assert state["worldError"] == "" and state["worldFeatures"] > 100  # land + border lines
    assert state["paneZ"] == 250  # over the grid: the world overview is the base map
    assert panel.base_layer == "grid"
    assert not [u for u in r.recorder.urls if u.startswith("http") and "127.0.0.1" not in u]
    # The layer really is on the map (a canvas in the world pane with land drawn).
    drawn = js(
        qtbot,
        panel,
        "(function () { var c = GcsMap.map.getPane('gcsWorld').querySelector('canvas');"
        " var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, n = 0;"
        " for (var i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) { n++; } } return n; })()",
    )
    assert drawn > 10_000
    # Under a tile layer it goes below the tiles (shows where tiles are missing).
    panel.set_base_layer("osm")
    qtbot.waitUntil(lambda: basemap(qtbot, panel)["paneZ"] == 150, timeout=5000)
    panel.set_base_layer("grid")
    qtbot.waitUntil(lambda: basemap(qtbot, panel)["paneZ"] == 250, timeout=5000)
    panel.run_js("GcsMap.map.setView([25, 110], 3, {animate: false})")
    screenshot(qtbot, panel, tmp_path / "map-world-overview.png")


def test_labels_and_follow_selected(qtbot: Any, rig: tuple[Rig, ThreadedRuntime]) -> None:
    r, _rt = rig
    panel = r.panel
    devices = [device("AC1", "Eagle", 22.52, 113.94), device("DK1", "", 22.50, 113.92, "dock")]
    panel.run_js(f"GcsMap.apply({json.dumps({'devices': devices})})")
    qtbot.waitUntil(lambda: basemap(qtbot, panel)["labels"] == ["DK1", "Eagle"], timeout=5000)

    panel.selection.select("AC1")
    controls = panel.basemap
    controls.follow_button.click()
    assert controls.follow_button.isChecked()
    qtbot.waitUntil(lambda: basemap(qtbot, panel)["follow"], timeout=5000)
    panel.run_js("GcsMap.map.setView([22.3, 113.5], 14, {animate: false})")
    for lat, lon in ((22.53, 113.95), (22.545, 113.97)):
        moved = device("AC1", "Eagle", lat, lon)
        panel.run_js(f"GcsMap.apply({json.dumps({'devices': [moved]})})")
        qtbot.waitUntil(lambda: off_centre(qtbot, panel, "AC1") < 1.0, timeout=5000)
    # The label follows a renamed device.
    renamed = device("AC1", "Hawk", 22.545, 113.97)
    panel.run_js(f"GcsMap.apply({json.dumps({'devices': [renamed]})})")
    qtbot.waitUntil(lambda: basemap(qtbot, panel)["labels"] == ["DK1", "Hawk"], timeout=5000)

    # Dragging the map (Leaflet's drag start) turns following off, in the page and in Qt.
    panel.run_js("GcsMap.map.fire('dragstart')")
    qtbot.waitUntil(lambda: not controls.follow_button.isChecked(), timeout=5000)
    assert basemap(qtbot, panel)["follow"] is False
    away = device("AC1", "Hawk", 22.50, 113.90)
    panel.run_js(f"GcsMap.apply({json.dumps({'devices': [away]})})")
    qtbot.waitUntil(lambda: js(qtbot, panel, "GcsMap.markers.AC1.getLatLng().lat") == 22.5)
    assert off_centre(qtbot, panel, "AC1") > 100  # the map stayed where it was


def test_offline_area_download_serves_the_map_and_is_remembered(qtbot: Any, tmp_path: Path) -> None:
    server = FakeTileServer(big=True).start()
    data_dir = tmp_path / "station"
    rt = start(data_dir)
    r = Rig(qtbot, rt)
    try:
        panel, controls = r.panel, r.panel.basemap
        panel.run_js("GcsMap.map.setView([22.52, 113.945], 9, {animate: false})")
        dialog = controls.open_dialog()
        assert dialog is not None
        # A huge request is refused before anything starts.
        dialog.url_edit.setText(server.url)
        dialog.server_zoom.setValue(20)
        qtbot.waitUntil(lambda: dialog.view_bounds is not None, timeout=5000)
        dialog.min_zoom.setValue(0)
        dialog.max_zoom.setValue(19)
        assert "is too many (at most 100,000" in dialog.summary.text()
        assert not dialog.start_button.isEnabled()
        dialog.min_zoom.setValue(20)
        dialog.max_zoom.setValue(20)
        assert "offline areas go up to zoom 19" in dialog.summary.text()
        assert not dialog.start_button.isEnabled()
        dialog.server_zoom.setValue(18)
        # A rectangle drawn on the map, zoom 10–13: 17 tiles.
        dialog.draw()
        qtbot.waitUntil(lambda: basemap(qtbot, panel)["picking"], timeout=5000)
        panel.run_js(
            "GcsMap.map.fire('mousedown', {latlng: L.latLng(22.56, 113.90)});"
            "GcsMap.map.fire('mousemove', {latlng: L.latLng(22.50, 113.95)});"
            "GcsMap.map.fire('mouseup', {latlng: L.latLng(22.48, 113.99)});"
        )
        qtbot.waitUntil(lambda: dialog.drawn_bounds is not None, timeout=5000)
        assert dialog.drawn_bounds == pytest.approx(list(SITE))
        dialog.name_edit.setText("bay")
        dialog.min_zoom.setValue(10)
        dialog.max_zoom.setValue(13)
        assert dialog.summary.text().startswith("17 tiles, about")
        assert dialog.start_button.isEnabled()
        with qtbot.waitSignal(
            controls.progress_changed, timeout=30_000, check_params_cb=lambda p: p["finished"]
        ) as done:
            dialog.start_button.click()
        assert done.args[0]["status"] == "done" and done.args[0]["stored"] == 17
        assert "offline" in panel.base_layers() and "mbtiles:bay" in panel.base_layers()
        assert panel.base_layers()[-1] == "online"  # the operator's tile server, to view online
        assert all(h.user_agent.startswith("gcs/") for h in server.hits)

        # The operator picks the downloaded areas: the page shows the station's layered tiles.
        combo = panel._base_combo
        index = combo.findData("offline")
        combo.setCurrentIndex(index)
        combo.activated.emit(index)
        maps = rt.runtime.station.capability(BaseMaps)
        qtbot.waitUntil(lambda: maps.base_layer == "offline", timeout=5000)
        qtbot.waitUntil(lambda: any("/tiles/_all/" in u for u in r.recorder.urls), timeout=5000)
        assert basemap(qtbot, panel)["paneZ"] == 150
        devices = [
            device("AC1", "Eagle", 22.52, 113.94),
            device("DK1", "Dock Bay", 22.50, 113.92, "dock"),
        ]
        panel.run_js(f"GcsMap.apply({json.dumps({'devices': devices})})")
        panel.run_js("GcsMap.map.setView([22.52, 113.945], 12, {animate: false})")
        qtbot.waitUntil(lambda: len(basemap(qtbot, panel)["labels"]) == 2, timeout=5000)
        qtbot.waitUntil(
            lambda: (
                js(qtbot, panel, "document.querySelectorAll('.leaflet-tile-loaded').length") >= 2
            ),
            timeout=10_000,
        )
        qtbot.waitUntil(
            lambda: not js(qtbot, panel, "GcsMap.layers.offline.layer.isLoading()"), timeout=10_000
        )
        screenshot(qtbot, panel, tmp_path / "map-offline-tiles-labels.png")
    finally:
        r.close()
        rt.stop()
        server.stop()


def test_base_map_choice_survives_a_restart(qtbot: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "station"
    (data_dir / "tiles").mkdir(parents=True)
    make_mbtiles(data_dir / "tiles" / "bay.mbtiles", {(10, 835, 446): png((10, 20, 30))})
    rt = start(data_dir)
    try:
        first = Rig(qtbot, rt)
        assert first.panel.base_layer != "osm"
        combo = first.panel._base_combo
        index = combo.findData("osm")
        combo.setCurrentIndex(index)
        combo.activated.emit(index)  # what a click on the list does
        maps = rt.runtime.station.capability(BaseMaps)
        qtbot.waitUntil(lambda: maps.base_layer == "osm", timeout=5000)
        index = combo.findData("offline")
        combo.setCurrentIndex(index)
        combo.activated.emit(index)
        qtbot.waitUntil(lambda: maps.base_layer == "offline", timeout=5000)
        first.close()
    finally:
        rt.stop()
    rt = start(data_dir)
    try:
        again = Rig(qtbot, rt)
        assert again.panel.base_layer == "offline"
        assert js(qtbot, again.panel, "GcsMap.state().base") == "offline"
        again.close()
    finally:
        rt.stop()


def test_progress_bar_cancel_and_resume_from_the_desktop(
    qtbot: Any, rig: tuple[Rig, ThreadedRuntime]
) -> None:
    r, rt = rig
    server = FakeTileServer(delay_s=0.03).start()
    try:
        controls = r.panel.basemap
        maps = rt.runtime.station.capability(BaseMaps)
        rt.submit(maps.configure(url_template=server.url, max_zoom=18)).result(5)
        dialog = controls.open_dialog()
        assert dialog is not None
        dialog.drawn_bounds = list(SITE)
        dialog.drawn_radio.setChecked(True)
        dialog.name_edit.setText("slow")
        dialog.min_zoom.setValue(10)
        dialog.max_zoom.setValue(15)  # 123 tiles
        assert dialog.summary.text().startswith("123 tiles")
        dialog.start_button.click()
        qtbot.waitUntil(lambda: controls.progress.isVisible(), timeout=10_000)
        qtbot.waitUntil(lambda: controls.progress.value() >= 5, timeout=10_000)
        assert controls.progress.maximum() == 123 and controls.cancel_button.isVisible()
        with qtbot.waitSignal(
            controls.progress_changed, timeout=10_000, check_params_cb=lambda p: p["finished"]
        ) as ended:
            controls.cancel_button.click()
        assert ended.args[0]["status"] == "canceled"
        stored = ended.args[0]["stored"]
        assert 0 < stored < 123
        assert not controls.progress.isVisible() and controls.resume_button.isVisible()
        assert "canceled" in r.panel._status.text()

        server.delay_s = 0
        with qtbot.waitSignal(
            controls.progress_changed, timeout=30_000, check_params_cb=lambda p: p["finished"]
        ) as done:
            controls.resume_button.click()
        assert done.args[0]["status"] == "done"
        assert (done.args[0]["skipped"], done.args[0]["stored"]) == (stored, 123)
        assert not controls.resume_button.isVisible()
    finally:
        server.stop()
