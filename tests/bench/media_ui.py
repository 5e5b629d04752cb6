"""Benchmark: the desktop's media browser over a large library (default 10,000 items).

Starts the station (own thread), catalogues N items whose thumbnails are real JPEGs in the
store (one thumbnail object shared by all items, so setting up stays quick; each item still
fetches it through its own request, as in use), opens the media panel offscreen and scrolls
the grid from top to bottom one screen per step while it fills (pages of rows, then the
thumbnails of what is on screen). Measures:

* frame time: the interval between ticks of a 16 ms timer on the Qt thread (p50/p99/max, ms);
* rows paged in and thumbnails shown, and thumbnails per second;
* RSS of this process, MB.

Prints one JSON object.

    .venv/bin/python tests/bench/media_ui.py --items 10000 --seconds 20
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gcs.runtime import Runtime, ThreadedRuntime  # noqa: E402
from gcs.station.media import Media, MediaRow  # noqa: E402
from gcs.store import media as q  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402
from gcs.ui.bridge import StationBridge  # noqa: E402
from gcs.ui.media_panel import MediaPanel  # noqa: E402

THUMB_KEY = "thumbnails/bench/shared.jpg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))], 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="gcs-media-ui-bench-"))
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.ntp.port = s.ntp.fallback_port = 0
    s.mqtt.port, s.http.port, s.http.https_port, s.storage.port = (free_port() for _ in range(4))
    rt = ThreadedRuntime(Runtime(s, data_dir))
    rt.start()
    station = rt.runtime.station
    media = station.capability(Media)
    thumb = io.BytesIO()
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(thumb, "JPEG")
    status = rt.submit(media._s3("PUT", THUMB_KEY, thumb.getvalue())).result(10)
    assert status == 200, status
    store = station.store
    assert store is not None

    def fill(db: object) -> None:
        for i in range(args.items):
            name = f"DJI_{i:05d}_W.JPG"
            q.insert(
                db,  # type: ignore[arg-type]
                MediaRow(0, "ws", f"media/BENCH/{name}", name, "dock", i, i,
                         device_sn="BENCH", kind="photo", create_time=i,
                         thumbnail_key=THUMB_KEY),
            )  # fmt: skip

    t = time.monotonic()
    store.call_sync(fill)
    setup_s = time.monotonic() - t

    app = QApplication.instance() or QApplication([])
    bridge = StationBridge(rt)
    panel = MediaPanel(bridge)
    panel.resize(1400, 900)
    panel.show()
    frames: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        frames.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(16)

    def scroll() -> None:
        bar = panel.view.verticalScrollBar()
        bar.setValue(bar.value() + panel.view.viewport().height())

    scroller = QTimer()
    scroller.timeout.connect(scroll)
    scroller.start(100)
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        app.processEvents()
        time.sleep(0.002)
    elapsed = time.monotonic() - start
    timer.stop()
    scroller.stop()
    print(
        json.dumps(
            {
                "items": args.items,
                "catalogue_setup_s": round(setup_s, 1),
                "seconds": round(elapsed, 1),
                "rows_paged_in": len(panel.model.rows),
                "thumbnails_shown": panel.model.thumbnails_loaded,
                "thumbnails_per_s": round(panel.model.thumbnails_loaded / elapsed, 1),
                "frame_ms": {
                    "p50": pct(frames[5:], 0.5),
                    "p99": pct(frames[5:], 0.99),
                    "max": round(max(frames[5:]), 1) if len(frames) > 5 else None,
                },
                "rss_mb": round(psutil.Process().memory_info().rss / 1e6),
            },
            indent=1,
        )
    )
    panel.close()
    bridge.close()
    rt.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
