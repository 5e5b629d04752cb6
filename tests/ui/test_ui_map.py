"""The station map (QtWebEngine offscreen) against a running station and simulated fleet.

Every URL the page requests is recorded by a QWebEngineUrlRequestInterceptor on the map's
profile; the page's state is read back with runJavaScript.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from mbtiles_files import make_mbtiles, site_tiles
from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor
from PySide6.QtWidgets import QComboBox, QToolButton

from gcs.protocol.models import Domain
from gcs.runtime import ThreadedRuntime
from gcs.station.devices import DeviceView
from gcs.station.tiles import TileStore
from gcs.ui.assets import (
    LEAFLET_VERSION,
    AssetError,
    _extract_dist,
    default_vendor_dir,
    ensure_leaflet,
    leaflet_dir,
)
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import set_language
from gcs.ui.map_panel import MapPanel, build_page, marker_info
from gcs.web.tiles import make_tiles_app

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module", autouse=True)
def leaflet_installed() -> None:
    try:
        leaflet_dir()
    except AssetError as exc:
        pytest.skip(str(exc))


class Recorder(QWebEngineUrlRequestInterceptor):
    """Records every request; optionally blocks remote ones (as an offline LAN would fail)."""

    def __init__(self, block_remote: bool = False) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.block_remote = block_remote

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl().toString()
        self.urls.append(url)
        if self.block_remote and is_remote(url):
            info.block(True)


def is_remote(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("file", "qrc", "data", "about", "blob"):
        return False
    return parts.scheme not in ("http", "https", "ws", "wss") or parts.hostname not in LOOPBACK


def js(qtbot: Any, panel: MapPanel, expr: str) -> Any:
    """The value of a JS expression in the page (through JSON)."""
    box: list[str] = []
    panel.view.page().runJavaScript(f"JSON.stringify({expr})", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


def page_state(qtbot: Any, panel: MapPanel) -> dict[str, Any]:
    box: list[dict[str, Any]] = []
    panel.page_state(box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return box[0]


def positioned(bridge: StationBridge) -> set[str]:
    return {v.sn for v in bridge.devices() if marker_info(v, bridge.state(v.sn))["lat"] is not None}


class MapRig:
    def __init__(self, qtbot: Any, rt: ThreadedRuntime, **kw: Any) -> None:
        self.recorder = Recorder(kw.pop("block_remote", False))
        self.bridge = StationBridge(rt)
        self.selection = Selection()
        self.panel = MapPanel(self.bridge, self.selection, request_interceptor=self.recorder, **kw)
        qtbot.addWidget(self.panel)
        self.loads: list[bool] = []
        self.panel.view.loadFinished.connect(self.loads.append)
        self.panel.resize(900, 700)
        self.panel.show()
        qtbot.waitUntil(lambda: self.panel.ready, timeout=20_000)

    def close(self) -> None:
        self.panel.close()
        self.bridge.close()


@pytest.fixture
def fleet_map(qtbot: Any, fleet_runtime: ThreadedRuntime) -> Iterator[MapRig]:
    rig = MapRig(qtbot, fleet_runtime)
    yield rig
    rig.close()


def test_map_shows_the_fleet_from_local_files_only(qtbot: Any, fleet_map: MapRig) -> None:
    bridge, panel = fleet_map.bridge, fleet_map.panel
    # 3 docks with their aircraft, 1 RC with its aircraft: all report a position.
    qtbot.waitUntil(lambda: len(positioned(bridge)) == 8, timeout=30_000)
    expected = positioned(bridge)
    qtbot.waitUntil(lambda: set(page_state(qtbot, panel)["markers"]) == expected, timeout=10_000)
    state = page_state(qtbot, panel)
    aircraft = {v.sn for v in bridge.devices() if v.domain == Domain.AIRCRAFT}
    assert set(state["tracks"]) == aircraft
    assert all(n >= 1 for n in state["tracks"].values())
    assert set(state["homes"]) <= aircraft and state["homes"]  # home points from aircraft state
    assert state["base"] == "grid"
    assert "osm" in panel.base_layers() and "satellite" in panel.base_layers()

    # Icons are typed and heading-aware: a dock's rotation is its reported heading.
    kinds = js(
        qtbot,
        panel,
        "Object.keys(GcsMap.markers).map(function (sn) { var e = GcsMap.markers[sn]"
        ".getElement(); return [sn, e.className, e.querySelector('.gcs-rot').style.transform]; })",
    )
    by_sn = {v.sn: v for v in bridge.devices()}
    for sn, classes, transform in kinds:
        kind = marker_info(by_sn[sn], {})["kind"]
        assert f"gcs-{kind}" in classes
        assert transform.startswith("rotate(")

    # Everything came from files or Qt resources: Leaflet from the vendor folder, nothing remote.
    urls = fleet_map.recorder.urls
    leaflet = (default_vendor_dir() / "leaflet" / "leaflet.js").resolve().as_uri()
    assert leaflet in urls
    assert "qrc:///qtwebchannel/qwebchannel.js" in urls
    assert [u for u in urls if is_remote(u)] == []


def test_updates_are_batched_into_one_page(qtbot: Any, fleet_map: MapRig) -> None:
    bridge, panel = fleet_map.bridge, fleet_map.panel
    seen: list[str] = []
    bridge.telemetry_changed.connect(seen.append)
    flushes = panel.flushes
    qtbot.waitUntil(lambda: len(seen) >= 40, timeout=20_000)
    qtbot.waitUntil(lambda: panel.pending_updates() == 0, timeout=2000)
    sent = panel.flushes - flushes
    assert 0 < sent < len(seen) / 2  # several devices' changes per call
    assert fleet_map.loads == [True]  # the page was loaded once and never re-rendered
    assert page_state(qtbot, panel)["applied"] == panel.flushes


def test_selection_syncs_between_map_and_selection(qtbot: Any, fleet_map: MapRig) -> None:
    bridge, panel, selection = fleet_map.bridge, fleet_map.panel, fleet_map.selection
    qtbot.waitUntil(lambda: len(positioned(bridge)) == 8, timeout=30_000)
    qtbot.waitUntil(lambda: len(page_state(qtbot, panel)["markers"]) == 8, timeout=10_000)
    docks = sorted(v.sn for v in bridge.devices() if v.domain == Domain.DOCK)

    # A click on a marker goes through the page's QWebChannel into the shared selection.
    panel.run_js(f"GcsMap.markers[{json.dumps(docks[0])}].fire('click')")
    qtbot.waitUntil(lambda: selection.current == docks[0], timeout=5000)
    qtbot.waitUntil(lambda: page_state(qtbot, panel)["selected"] == docks[0], timeout=5000)
    assert js(
        qtbot,
        panel,
        f"GcsMap.markers[{json.dumps(docks[0])}].getElement().classList.contains('gcs-selected')",
    )

    # A selection made elsewhere highlights the marker and pans the map onto it.
    selection.select(docks[1])
    qtbot.waitUntil(lambda: page_state(qtbot, panel)["selected"] == docks[1], timeout=5000)
    # Centred to the pixel (Leaflet pans in whole pixels: with an odd map height the centre
    # is half a pixel off, some metres in degrees at the fitted zoom).
    off_centre = js(
        qtbot,
        panel,
        f"GcsMap.map.latLngToContainerPoint(GcsMap.markers[{json.dumps(docks[1])}].getLatLng())"
        ".distanceTo(GcsMap.map.getSize().divideBy(2))",
    )
    assert off_centre <= 1.0
    classes = js(
        qtbot,
        panel,
        "Object.keys(GcsMap.markers).filter(function (sn) { return GcsMap.markers[sn]"
        ".getElement().classList.contains('gcs-selected'); })",
    )
    assert classes == [docks[1]]

    selection.select("")
    qtbot.waitUntil(lambda: page_state(qtbot, panel)["selected"] == "", timeout=5000)


@pytest.fixture
def tiles_rig(
    qtbot: Any, ui_runtime: ThreadedRuntime, tmp_path: Path
) -> Iterator[tuple[MapRig, str]]:
    """A map whose tile store is served by the tile routes on the station's own loop."""
    store = TileStore(tmp_path / "tiles")
    runner = web.AppRunner(make_tiles_app(store))

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(runner.addresses[0][1])

    port = ui_runtime.submit(start()).result(10)
    url = f"http://127.0.0.1:{port}/tiles"
    rig = MapRig(qtbot, ui_runtime, tile_store=store, tiles_url=url, block_remote=True)
    yield rig, url
    rig.close()
    ui_runtime.submit(runner.cleanup()).result(10)
    store.close()


def test_imported_mbtiles_become_the_base_map(
    qtbot: Any, tiles_rig: tuple[MapRig, str], tmp_path: Path
) -> None:
    rig, url = tiles_rig
    panel = rig.panel
    assert panel.base_layers() == ["grid", "osm", "satellite"]
    with qtbot.waitSignal(panel.tiles_imported, timeout=10_000) as imported:
        panel.import_mbtiles(site_tiles(tmp_path / "Shenzhen park.mbtiles"))
    assert imported.args == ["Shenzhen_park"]
    layer = "mbtiles:Shenzhen_park"
    assert panel.base_layers() == ["grid", "offline", layer, "osm", "satellite"]
    assert panel.base_layer == layer
    qtbot.waitUntil(lambda: page_state(qtbot, panel)["base"] == layer, timeout=5000)

    # The page loads the tile the file holds for this spot from the station's HTTP server.
    panel.run_js("GcsMap.map.setView([22.5505, 113.9505], 14, {animate: false})")
    tile = f"{url}/Shenzhen_park/14/13377/7138.png"
    qtbot.waitUntil(
        lambda: js(
            qtbot,
            panel,
            "Array.prototype.some.call(document.querySelectorAll('img.leaflet-tile-loaded'),"
            f" function (i) {{ return i.src === {json.dumps(tile)} && i.naturalWidth === 256; }})",
        ),
        timeout=10_000,
    )
    assert tile in rig.recorder.urls
    assert [u for u in rig.recorder.urls if is_remote(u)] == []

    # A bad file is refused with a message; the layers stay as they were.
    bad = make_mbtiles(
        tmp_path / "vector.mbtiles", {(0, 0, 0): b"\x1f\x8b\x08"}, metadata={"format": "pbf"}
    )
    with qtbot.waitSignal(panel.tiles_import_failed, timeout=10_000) as failed:
        panel.import_mbtiles(bad)
    assert "vector tiles" in failed.args[0]
    box = panel.error_box
    assert box is not None and box.isVisible() and "vector tiles" in box.text()
    box.close()
    assert panel.base_layers() == ["grid", "offline", layer, "osm", "satellite"]


def test_unreachable_online_layer_falls_back(qtbot: Any, tiles_rig: tuple[MapRig, str]) -> None:
    rig, _ = tiles_rig
    panel = rig.panel
    with qtbot.waitSignal(panel.base_layer_failed, timeout=15_000) as failed:
        panel.set_base_layer("osm")
    assert failed.args == ["osm", "grid"]
    assert panel.base_layer == "grid"
    assert "cannot be loaded" in panel._status.text()
    state = page_state(qtbot, panel)
    assert state["base"] == "grid" and state["failedLayers"] == ["osm"]
    # The online layer was tried (and blocked here, as an offline LAN would fail it).
    assert any(urlsplit(u).hostname == "tile.openstreetmap.org" for u in rig.recorder.urls)


def test_tracks_are_bounded_and_restart_per_flight(qtbot: Any, ui_runtime: ThreadedRuntime) -> None:
    rig = MapRig(qtbot, ui_runtime)
    panel = rig.panel
    try:
        ac = _view("T1", Domain.AIRCRAFT)

        def fly(i: int, flight: str) -> None:
            state = {
                "latitude": 22.5 + i * 1e-4,
                "longitude": 113.9,
                "attitude_head": 10 * i,
                "home_latitude": 22.5,
                "home_longitude": 113.9,
                "track_id": flight,
            }
            panel.run_js(f"GcsMap.apply({json.dumps({'devices': [marker_info(ac, state)]})})")

        panel.run_js("GcsMap.trackLimit = 5; GcsMap.trackMinMs = 0")
        for i in range(3):
            fly(i, "f1")
        qtbot.waitUntil(lambda: page_state(qtbot, panel)["tracks"] == {"T1": 3}, timeout=5000)
        assert page_state(qtbot, panel)["homes"] == ["T1"]
        rotation = "GcsMap.markers.T1.getElement().querySelector('.gcs-rot').style.transform"
        assert js(qtbot, panel, rotation) == "rotate(20deg)"
        for i in range(3, 12):
            fly(i, "f1")
        qtbot.waitUntil(lambda: page_state(qtbot, panel)["tracks"] == {"T1": 5}, timeout=5000)
        last = js(qtbot, panel, "GcsMap.tracks.T1.getLatLngs().map(function (p) { return p.lat; })")
        assert last == pytest.approx([22.5 + i * 1e-4 for i in range(7, 12)])
        fly(12, "f2")  # a new flight: the old track goes
        qtbot.waitUntil(lambda: page_state(qtbot, panel)["tracks"] == {"T1": 1}, timeout=5000)
        panel.run_js(f"GcsMap.apply({json.dumps({'removed': ['T1']})})")
        qtbot.waitUntil(lambda: page_state(qtbot, panel)["markers"] == [], timeout=5000)
        assert page_state(qtbot, panel)["tracks"] == {} and page_state(qtbot, panel)["homes"] == []
    finally:
        rig.close()


def _view(sn: str, domain: int, **kw: Any) -> DeviceView:
    base: dict[str, Any] = dict(
        sn=sn,
        model_key="0-67-0",
        domain=domain,
        model_name="M30",
        callsign="",
        workspace_id=None,
        bound=True,
        online=True,
        gateway_sn=None,
        sub_devices=(),
        thing_version="",
        firmware_version="",
        icon_normal="",
        icon_selected="",
        last_seen=0,
        first_seen=0,
    )
    base.update(kw)
    return DeviceView(**base)


def test_marker_info_reads_positions_headings_and_homes() -> None:
    ac = marker_info(
        _view("A1", Domain.AIRCRAFT, callsign="Eagle"),
        {
            "latitude": 22.5,
            "longitude": "113.9",
            "attitude_head": -90,
            "home_latitude": 22.49,
            "home_longitude": 113.89,
            "elevation": 42.25,
            "horizontal_speed": 7,
        },
    )
    assert ac == {
        "sn": "A1",
        "kind": "aircraft",
        "label": "Eagle",
        "name": "Eagle",
        "model": "M30",
        "online": True,
        "lat": 22.5,
        "lon": 113.9,
        "heading": -90.0,
        "home": [22.49, 113.89],
        "alt": "42.2 m · 7.0 m/s",
        "flight": None,
    }
    # 0/0 means "no fix yet"; junk and out-of-range values give no position.
    for state in (
        {"latitude": 0, "longitude": 0},
        {"latitude": "x"},
        {"latitude": 91, "longitude": 1},
    ):
        assert marker_info(_view("D1", Domain.DOCK), state)["lat"] is None
    dock = marker_info(
        _view("D1", Domain.DOCK, online=False), {"latitude": 1, "longitude": 2, "heading": 45}
    )
    assert (dock["kind"], dock["heading"], dock["online"], dock["home"]) == (
        "dock",
        45.0,
        False,
        None,
    )
    rc = marker_info(_view("R1", Domain.RC), {"latitude": 1, "longitude": 2, "heading": 45})
    assert (rc["kind"], rc["heading"], rc["label"]) == ("rc", None, "M30")


def test_page_html_names_no_remote_resource(tmp_path: Path) -> None:
    leaflet = shutil.copytree(leaflet_dir(), tmp_path / "leaflet")
    html = build_page(leaflet, layers=[{"id": "grid", "kind": "grid", "title": "Grid"}])
    assert f'src="{(leaflet / "leaflet.js").as_uri()}"' in html
    assert "cdn" not in html.lower() and "https://" not in html


def test_page_reports_missing_leaflet(
    qtbot: Any, ui_runtime: ThreadedRuntime, tmp_path: Path
) -> None:
    bridge = StationBridge(ui_runtime)
    panel = MapPanel(bridge, Selection(), vendor_dir=tmp_path / "empty")
    qtbot.addWidget(panel)
    assert "python -m gcs.ui.assets" in panel._status.text()
    assert not panel.ready
    button = panel.findChild(QToolButton, "map_import_mbtiles")
    combo = panel.findChild(QComboBox, "map_base_layer")
    try:
        set_language("zh")
        assert button.text() == "导入 MBTiles…"
        assert combo.itemText(0) == "世界概览（离线）"
    finally:
        set_language("en")
    assert button.text() == "Import MBTiles…"
    panel.close()
    bridge.close()


def test_installed_leaflet_is_reused_without_npm(tmp_path: Path) -> None:
    shutil.copytree(leaflet_dir(), tmp_path / "vendor" / "leaflet")
    folder = ensure_leaflet(tmp_path / "vendor", npm="no-such-npm-here")
    assert folder == tmp_path / "vendor" / "leaflet"
    assert leaflet_dir(tmp_path / "vendor") == folder


def test_missing_npm_is_explained(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="npm is not installed"):
        ensure_leaflet(tmp_path / "vendor", npm="no-such-npm-here")
    with pytest.raises(AssetError, match=f"Leaflet {LEAFLET_VERSION} is not installed"):
        leaflet_dir(tmp_path / "vendor")
    assert not (tmp_path / "vendor" / "leaflet").exists()


def test_npm_tarball_extraction_keeps_dist_and_the_licence(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in [
            ("package/dist/leaflet.js", b"js"),
            ("package/dist/images/layers.png", b"png"),
            ("package/src/Map.js", b"src"),
            ("package/LICENSE", b"BSD-2-Clause"),
            ("package/README.md", b"readme"),
            ("package/dist/../../evil.js", b"no"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    _extract_dist(buf.getvalue(), tmp_path)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["LICENSE", "images/layers.png", "leaflet.js"]
