"""Benchmark: the desktop window with N simulated gateways (default 200).

Starts the station (own thread) with a simulated fleet, opens the main window offscreen with
every panel (map and plots too when present), rotates the selection every 2 s, and measures
for `--seconds`:

* frame time: the interval between ticks of a 16 ms timer on the Qt thread, which includes
  every slot and repaint the updates cause (p50/p99/max, ms) — what an operator feels as jank;
* station→widget latency: from the station merging a device's state (station thread) to the
  moment the Qt thread has updated the panels for it (our slot runs after the panels'), ms;
* widget update time: each delivery of station changes to the widgets (the bridge's drain
  with every panel's slots), ms, and the share of wall time it takes;
* RSS of this process and of its QtWebEngine helper processes (the map), MB.

Prints one JSON object. Targets: frame p99 < 50 ms, latency p99 < 200 ms, RSS < 500 MB.

    .venv/bin/python tests/bench/ui.py --gateways 200 --seconds 60
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import socket
import statistics
import subprocess
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

DRAIN_MS: list[float] = []


class TimedBridge(StationBridge):
    """The bridge, timing each delivery of station changes to the widgets (Qt thread)."""

    def _drain(self) -> None:
        t0 = time.perf_counter()
        super()._drain()
        DRAIN_MS.append((time.perf_counter() - t0) * 1000)


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile of `values` rounded to 0.01 ms, or None (JSON null) when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def top(values: list[float]) -> float | None:
    return round(max(values), 1) if values else None


def start_mosquitto(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Mosquitto on a free loopback port, anonymous access (benchmark only)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = data_dir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 20000\n"
        "persistence false\n"
    )
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"mqtt://bench:bench@127.0.0.1:{port}"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("mosquitto did not start")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateways", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--screenshot", default="", help="save a PNG of the window at the end")
    ap.add_argument(
        "--broker",
        choices=["mosquitto", "embedded"],
        default="mosquitto" if shutil.which("mosquitto") else "embedded",
        help="mosquitto (external, as a site of this size would run) or the embedded broker",
    )
    ap.add_argument(
        "--fleet",
        choices=["process", "thread"],
        default="process",
        help="simulated fleet as a child process (`gcs sim`, like real devices) or a thread of "
        "this process (as `gcs demo` runs it; it then competes with the GUI for the GIL)",
    )
    ap.add_argument("--profile", action="store_true", help="cProfile the Qt thread (stderr)")
    ap.add_argument(
        "--select-every",
        type=float,
        default=2.0,
        help="seconds between selection changes (0 = never)",
    )
    ap.add_argument("--no-map", action="store_true", help="leave out the map and plots panels")
    ap.add_argument(
        "--without",
        action="append",
        default=[],
        choices=["map_panel", "plots_panel"],
        help="leave out one optional panel (repeatable)",
    )
    ap.add_argument(
        "--switch-ms", type=float, default=0.0, help="sys.setswitchinterval (0 = as run_desktop)"
    )
    args = ap.parse_args()
    if args.switch_ms:
        sys.setswitchinterval(args.switch_ms / 1000)

    app = QApplication.instance() or QApplication(sys.argv)
    data_dir = Path(tempfile.mkdtemp(prefix="gcs-bench-ui-"))
    settings = load_settings(data_dir)
    settings.station.host = settings.station.public_host = "127.0.0.1"
    for attr, section in (("port", settings.mqtt), ("port", settings.storage)):
        setattr(section, attr, 0)
    settings.http.port = settings.http.https_port = 0
    settings.ntp.port = settings.ntp.fallback_port = 0
    settings.mqtt.max_queued_messages = 20000

    broker_proc: subprocess.Popen[bytes] | None = None
    external: str | None = None
    if args.broker == "mosquitto":
        broker_proc, external = start_mosquitto(data_dir)

    t0 = time.monotonic()
    rt = ThreadedRuntime(
        Runtime(
            settings,
            data_dir,
            external_broker=external,
            fleet={"docks": args.gateways, "pilots": 0} if args.fleet == "thread" else None,
        )
    )
    rt.start()
    sim_proc: subprocess.Popen[bytes] | None = None
    if args.fleet == "process":
        station = rt.runtime.station
        s = settings
        url = external or (
            f"mqtt://{s.mqtt.device_username}:{s.mqtt.device_password}"
            f"@127.0.0.1:{station.mqtt_port}"
        )
        sim_proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gcs",
                "sim",
                "--broker",
                url,
                "--docks",
                str(args.gateways),
                "--binding-code",
                s.station.binding_code,
                "--workspace-id",
                s.station.workspace_id,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    bridge = TimedBridge(rt)
    ui = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)
    if args.without:
        import gcs.ui.main_window as mw

        original = mw.optional_panel
        mw.optional_panel = lambda module, name: (
            None if module in args.without else original(module, name)
        )
    window = MainWindow(bridge, data_dir, ui_settings=ui, optional_panels=not args.no_map)
    window.resize(1600, 950)
    window.show()

    fleet = rt.runtime.fleet
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
        if fleet is not None and fleet.ready.is_set():
            break
        if fleet is None and bridge.counts() == (args.gateways, args.gateways):
            break
    error = (fleet.error if fleet is not None else None) or (
        None if bridge.counts()[0] == args.gateways else f"online: {bridge.counts()}"
    )
    if error:
        print(json.dumps({"error": error[:2000]}))
        rt.stop()
        for proc in (sim_proc, broker_proc):
            if proc is not None:
                proc.terminate()
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
    picker.setInterval(int(max(args.select_every, 0.1) * 1000))
    select_ms: list[float] = []

    def pick() -> None:
        t = time.perf_counter()
        window.selection.select(sns[int(time.time() / 2) % len(sns)])
        select_ms.append((time.perf_counter() - t) * 1000)

    picker.timeout.connect(pick)
    if args.select_every > 0:
        picker.start()
    else:
        window.selection.select(sns[0])

    warm_end = time.monotonic() + 5.0
    while time.monotonic() < warm_end:
        app.processEvents()
        time.sleep(0.002)
    profiler = cProfile.Profile() if args.profile else None
    DRAIN_MS.clear()
    measuring[0] = True
    if profiler is not None:
        profiler.enable()
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
    measuring[0] = False
    drains = list(DRAIN_MS)
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    timer.stop()
    picker.stop()

    me = psutil.Process()
    rss = me.memory_info().rss
    children = sum(
        c.memory_info().rss
        for c in me.children(recursive=True)
        if c.is_running() and "QtWebEngine" in c.name()
    )
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
            "p50": pct(frames, 0.5),
            "p99": pct(frames, 0.99),
            "max": top(frames),
        },
        "latency_ms": {
            "samples": len(latencies),
            "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99),
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "widget_update_ms": {  # bridge delivery incl. every connected panel's slots
            "count": len(drains),
            "p50": pct(drains, 0.5),
            "p99": pct(drains, 0.99),
            "max": top(drains),
            "busy_share": round(sum(drains) / 1000 / args.seconds, 3),
        },
        "select_ms": {  # one selection change: every panel follows it
            "count": len(select_ms),
            "p50": pct(select_ms, 0.5),
            "max": top(select_ms),
        },
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "rss_mb": round(rss / 2**20),
        "children_rss_mb": round(children / 2**20),
        "broker": args.broker,
        "fleet": args.fleet,
        "map_panel": window.map is not None,
        "plots_panel": window.plots is not None,
        "targets": {"frame_p99_ms": 50, "latency_p99_ms": 200, "rss_mb": 500},
    }
    print(json.dumps(result))
    window.close()
    bridge.close()
    if sim_proc is not None:
        sim_proc.terminate()
        sim_proc.wait(20)
    rt.stop()
    if broker_proc is not None:
        broker_proc.terminate()
        broker_proc.wait(10)
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
