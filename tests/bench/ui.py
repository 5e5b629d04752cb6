"""Benchmark: the desktop window with N simulated gateways (default 200).

Starts the station (own thread) with a simulated fleet, opens the main window offscreen with
every panel (map and plots too when present), rotates the selection every 2 s, and measures
for `--seconds`:

* frame time: the interval between ticks of a 16 ms timer on the Qt thread, which includes
  every slot and repaint the updates cause (p50/p99/max, ms) — what an operator feels as jank;
* station→widget latency: from the station merging a device's state (station thread) to the
  moment the Qt thread has updated the panels for it (our slot runs after the panels'), ms;
* RSS of this process and of its children (QtWebEngine), MB.

Prints one JSON object. Targets: frame p99 < 50 ms, latency p99 < 200 ms, RSS < 500 MB.

    .venv/bin/python tests/bench/ui.py --gateways 200 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

import psutil
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.store.settings import load_settings
from gcs.ui.bridge import StationBridge
from gcs.ui.main_window import MainWindow


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateways", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--screenshot", default="", help="save a PNG of the window at the end")
    args = ap.parse_args()

    app = QApplication.instance() or QApplication(sys.argv)
    data_dir = Path(tempfile.mkdtemp(prefix="gcs-bench-ui-"))
    settings = load_settings(data_dir)
    settings.station.host = settings.station.public_host = "127.0.0.1"
    for attr, section in (("port", settings.mqtt), ("port", settings.storage)):
        setattr(section, attr, 0)
    settings.http.port = settings.http.https_port = 0
    settings.ntp.port = settings.ntp.fallback_port = 0
    settings.mqtt.max_queued_messages = 20000

    t0 = time.monotonic()
    rt = ThreadedRuntime(Runtime(settings, data_dir, fleet={"docks": args.gateways, "pilots": 0}))
    rt.start()
    bridge = StationBridge(rt)
    ui = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(bridge, settings, data_dir, ui_settings=ui)
    window.resize(1600, 950)
    window.show()

    fleet = rt.runtime.fleet
    assert fleet is not None
    while not fleet.ready.is_set():
        app.processEvents()
        time.sleep(0.01)
    if fleet.error:
        print(json.dumps({"error": fleet.error}))
        return 1
    online_after = time.monotonic() - t0

    frames: list[float] = []
    latencies: list[float] = []
    last_tick = [time.monotonic()]
    measuring = [False]

    def tick() -> None:
        now = time.monotonic()
        if measuring[0]:
            frames.append((now - last_tick[0]) * 1000)
        last_tick[0] = now

    def on_telemetry(sn: str) -> None:
        at = bridge.state_received_at(sn)
        if measuring[0] and at is not None:
            latencies.append((time.monotonic() - at) * 1000)

    bridge.telemetry_changed.connect(on_telemetry)  # after the panels: runs after them
    timer = QTimer()
    timer.setInterval(16)
    timer.timeout.connect(tick)
    timer.start()

    sns = [v.sn for v in bridge.devices()]
    picker = QTimer()
    picker.setInterval(2000)
    picker.timeout.connect(lambda: window.selection.select(sns[int(time.time() / 2) % len(sns)]))
    picker.start()

    warm_end = time.monotonic() + 5.0
    while time.monotonic() < warm_end:
        app.processEvents()
        time.sleep(0.002)
    measuring[0] = True
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
    measuring[0] = False
    timer.stop()
    picker.stop()

    me = psutil.Process()
    rss = me.memory_info().rss
    children = sum(c.memory_info().rss for c in me.children(recursive=True) if c.is_running())
    counts = bridge.counts()
    if args.screenshot:
        window.grab().save(args.screenshot)
    result = {
        "gateways": args.gateways,
        "online": {"gateways": counts[0], "aircraft": counts[1]},
        "fleet_online_s": round(online_after, 1),
        "seconds": args.seconds,
        "frames": len(frames),
        "frame_ms": {
            "p50": round(pct(frames, 0.5), 1),
            "p99": round(pct(frames, 0.99), 1),
            "max": round(max(frames, default=float("nan")), 1),
        },
        "latency_ms": {
            "samples": len(latencies),
            "p50": round(pct(latencies, 0.5), 1),
            "p99": round(pct(latencies, 0.99), 1),
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "rss_mb": round(rss / 2**20),
        "children_rss_mb": round(children / 2**20),
        "map_panel": window.map is not None,
        "plots_panel": window.plots is not None,
        "targets": {"frame_p99_ms": 50, "latency_p99_ms": 200, "rss_mb": 500},
    }
    print(json.dumps(result))
    window.close()
    bridge.close()
    rt.stop()
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
