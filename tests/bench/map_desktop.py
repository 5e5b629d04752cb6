"""Benchmark: the desktop map with 2,000 shared map elements in 20 groups.

Starts a station (own thread), puts 2,000 elements into 20 groups (points, 20-vertex lines,
40-vertex polygons), opens the map panel offscreen (QtWebEngine) and measures:

* load: from creating the panel to the page showing all elements (ms);
* render: the page's time to build the layers of all elements (`GcsMap.setElements`, ms);
* change-to-page: a Pilot's new element (station side) until the page shows it (ms, N times).

Needs Leaflet and leaflet-geoman installed (`python -m gcs.ui.assets`, or GCS_VENDOR_DIR).
Prints one JSON object.

    .venv/bin/python tests/bench/map_desktop.py [--changes 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from PySide6.QtWidgets import QApplication

# This folder holds a script named like the `broker` package: keep it off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parents[1]))
sys.path.insert(0, str(_HERE.parent))
sys.path.append(str(_HERE))  # last: the real `broker` package is found first

from map_groups import feature  # noqa: E402

from gcs.runtime import Runtime, ThreadedRuntime  # noqa: E402
from gcs.station.map_exchange import parse_geojson  # noqa: E402
from gcs.station.maps import ElementRow, Maps  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402
from gcs.ui.bridge import Selection, StationBridge  # noqa: E402
from gcs.ui.map_panel import MapPanel  # noqa: E402


def wait(app: QApplication, pred: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        app.processEvents()
        time.sleep(0.002)


def shown(app: QApplication, panel: MapPanel) -> int:
    box: list[Any] = []
    panel.view.page().runJavaScript("Object.keys(GcsMap.elements).length", box.append)
    wait(app, lambda: bool(box))
    return int(box[0])


async def fill(rt: ThreadedRuntime) -> None:
    st = rt.runtime.station
    maps = st.capability(Maps)
    ws = st.settings.station.workspace_id
    for g in range(20):
        group = await maps.create_group(ws, f"group {g}")
        doc = {"type": "FeatureCollection", "features": [feature(g * 100 + i) for i in range(100)]}
        features = parse_geojson(json.dumps(doc).encode())
        now = st.now_ms()
        rows = [
            ElementRow(str(uuid.uuid4()), group.id, ws, f.name, f.type, "b", f.content, now, now)
            for f in features
        ]
        await maps.add_elements(ws, group.id, rows)


async def pilot_draws(rt: ThreadedRuntime, i: int) -> None:
    st = rt.runtime.station
    maps = st.capability(Maps)
    ws = st.settings.station.workspace_id
    shared = await maps.group_of_role(ws, "shared")
    f = feature(5000 + i)
    kind = {"Point": 0, "LineString": 1, "Polygon": 2}[f["geometry"]["type"]]
    await maps.create_element(
        ws, shared.id, str(uuid.uuid4()), "p", {"type": kind, "content": f}, user_name="pilot"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        s = load_settings(Path(tmp))
        s.station.host = s.station.public_host = "127.0.0.1"
        s.mqtt.port = s.http.port = s.http.https_port = s.storage.port = 0
        s.ntp.port = s.ntp.fallback_port = 0
        rt = ThreadedRuntime(Runtime(s, Path(tmp)))
        rt.start()
        try:
            rt.submit(fill(rt)).result(120)
            bridge = StationBridge(rt)
            t0 = time.perf_counter()
            panel = MapPanel(bridge, Selection())
            panel.resize(1200, 800)
            panel.show()
            wait(app, lambda: panel.ready)
            ready_ms = (time.perf_counter() - t0) * 1000
            wait(app, lambda: shown(app, panel) >= 2000)
            load_ms = (time.perf_counter() - t0) * 1000
            box: list[Any] = []
            panel.view.page().runJavaScript("GcsMap.setElementsMs", box.append)
            wait(app, lambda: bool(box))
            reload_ms = float(box[0])
            changes = []
            for i in range(args.changes):
                n = shown(app, panel)
                t = time.perf_counter()
                rt.submit(pilot_draws(rt, i)).result(10)
                wait(app, lambda n=n: shown(app, panel) > n)
                changes.append((time.perf_counter() - t) * 1000)
            panel.close()
            if panel.maps is not None:
                panel.maps.close()
            bridge.close()
        finally:
            rt.stop()
    changes.sort()
    print(
        json.dumps(
            {
                "elements": 2000,
                "groups": 23,
                "page_ready_ms": round(ready_ms),
                "load_until_all_shown_ms": round(load_ms),
                "page_render_all_ms": round(reload_ms),
                "pilot_change_to_page_ms": {
                    "p50": round(statistics.median(changes)),
                    "max": round(changes[-1]),
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
