"""Benchmark: the map's world overview and an offline-area download.

* world: the map panel offscreen (QtWebEngine) from creating it to the page ready, and the
  page's time to read and draw the Natural Earth 1:50m overview (`GcsBasemap.state().worldMs`);
* download: a station storing an area from a local aiohttp tile server (2 requests at a time,
  the server answering at once): tiles per second and the MBTiles file's size.

Needs Leaflet, topojson-client and world-atlas installed (`python -m gcs.ui.assets`).
Prints one JSON object.

    .venv/bin/python tests/bench/basemap.py [--max-zoom 16]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication

# This folder holds a script named like the `broker` package: keep it off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parents[1]))
sys.path.insert(0, str(_HERE.parent))
sys.path.append(str(_HERE))

from station_harness import free_port  # noqa: E402
from tile_server import FakeTileServer  # noqa: E402

from gcs.runtime import Runtime, ThreadedRuntime  # noqa: E402
from gcs.station.basemap import BaseMaps, OfflineAreaProgress  # noqa: E402
from gcs.station.tile_download import AreaRequest  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402
from gcs.ui.bridge import Selection, StationBridge  # noqa: E402
from gcs.ui.map_panel import MapPanel  # noqa: E402

SITE = (113.90, 22.48, 113.99, 22.56)


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


def spin(app: QApplication, until: Any, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-zoom", type=int, default=16)
    args = parser.parse_args()
    app = QApplication([])
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        rt = start(Path(tmp) / "station")
        try:
            bridge = StationBridge(rt)
            t0 = time.perf_counter()
            panel = MapPanel(bridge, Selection())
            panel.resize(900, 650)
            panel.show()
            spin(app, lambda: panel.ready)
            out["page_ready_ms"] = round((time.perf_counter() - t0) * 1000)
            box: list[str] = []

            def ask() -> bool:
                panel.run_js("JSON.stringify(GcsBasemap.state())", box.append)
                spin(app, lambda: bool(box))
                return bool(json.loads(box.pop())["worldLoaded"])

            spin(app, ask)
            panel.run_js("JSON.stringify(GcsBasemap.state())", box.append)
            spin(app, lambda: bool(box))
            state = json.loads(box.pop())
            out["world_ready_ms"] = round((time.perf_counter() - t0) * 1000)
            out["world_draw_ms"] = state["worldMs"]
            panel.close()
            bridge.close()

            server = FakeTileServer(big=True).start()
            maps = rt.runtime.station.capability(BaseMaps)
            ended: list[OfflineAreaProgress] = []

            async def attach() -> None:
                rt.runtime.station.bus.subscribe(
                    OfflineAreaProgress, lambda e: ended.append(e) if e.finished else None
                )
                await maps.configure(url_template=server.url, max_zoom=19)

            rt.submit(attach()).result(10)
            req = AreaRequest("bench", SITE, 10, args.max_zoom)
            t0 = time.perf_counter()
            rt.submit(maps.start_download(req)).result(10)
            spin(app, lambda: bool(ended), within=600)
            seconds = time.perf_counter() - t0
            end = ended[-1]
            size = (maps.folder / "bench.mbtiles").stat().st_size
            out["download"] = {
                "tiles": end.stored,
                "failed": end.failed,
                "seconds": round(seconds, 2),
                "tiles_per_s": round(end.stored / seconds, 1),
                "file_bytes": size,
                "max_parallel_requests": server.max_parallel,
            }
            server.stop()
        finally:
            rt.stop()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
