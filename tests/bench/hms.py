"""HMS benchmark (issue: dock operations). Prints one JSON document.

N docks (default 200) each report a 20-alarm HMS snapshot every 2 s, alternating between two
different sets so that every report raises 20 alarms and clears 20 (the worst case: a report
identical to the last one costs only the diff). The docks are paho clients in a child process,
so the figures are the station's own: its process CPU (station thread + this bench's bus
handler; the broker child is reported apart) and the time from a report's timestamp to the
`HmsChanged` event that shows it raised (p50/p99), against a baseline measured in the same run: a
bare paho subscriber receiving the same reports on the same broker.

Usage: python tests/bench/hms.py [--docks 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gcs.runtime import Runtime, ThreadedRuntime  # noqa: E402
from gcs.station.bus import HmsChanged  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402

CODES_A = [f"0x1911{i:04X}" for i in range(20)]
CODES_B = [f"0x1610{i:04X}" for i in range(20)]


def _report(codes: list[str]) -> dict[str, Any]:
    return {
        "list": [
            {
                "level": 1 + i % 2,
                "module": 3,
                "in_the_sky": 0,
                "code": code,
                "device_type": "3-2-0",
                "imminent": 0,
                "args": {"component_index": 0, "sensor_index": i % 2},
            }
            for i, code in enumerate(codes)
        ]
    }


def publishers(port: int, user: str, password: str, docks: int, seconds: float) -> None:
    """Child process: `docks` clients, each an update_topo then a report every 2 s."""
    clients = []
    for i in range(docks):
        sn = f"HMSBENCH{i:05d}"
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=sn)
        c.username_pw_set(user, password)
        c.connect("127.0.0.1", port)
        c.loop_start()
        topo = {
            "tid": str(uuid.uuid4()), "bid": str(uuid.uuid4()),
            "timestamp": int(time.time() * 1000), "method": "update_topo",
            "data": {"domain": "3", "type": 2, "sub_type": 0, "device_secret": "s", "nonce": "n",
                     "thing_version": "1.2.0", "sub_devices": []},
        }  # fmt: skip
        c.publish(f"sys/product/{sn}/status", json.dumps(topo), qos=1)
        clients.append((sn, c))
    time.sleep(2.0)  # let topologies settle before the measured phase (load shaping, not a wait)
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < seconds:
        for i, (sn, c) in enumerate(clients):
            # each dock on its own phase within the 2 s period, as unsynchronised devices are
            due = start + tick * 2.0 + 2.0 * i / len(clients)
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            body = {
                "tid": str(uuid.uuid4()), "bid": str(uuid.uuid4()),
                "timestamp": int(time.time() * 1000), "gateway": sn, "method": "hms",
                "need_reply": 0, "data": _report(CODES_A if tick % 2 == 0 else CODES_B),
            }  # fmt: skip
            c.publish(f"thing/product/{sn}/events", json.dumps(body), qos=0)
        tick += 1
    for _sn, c in clients:
        c.loop_stop()
        c.disconnect()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docks", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        s = load_settings(data_dir)
        s.station.host = "127.0.0.1"
        s.mqtt.port = s.http.port = s.http.https_port = s.storage.port = 0
        s.ntp.port = s.ntp.fallback_port = 0
        rt = ThreadedRuntime(Runtime(s, data_dir))
        rt.start()
        station = rt.runtime.station
        latencies: list[float] = []
        bare: list[float] = []
        lock = threading.Lock()

        def on_hms(e: HmsChanged) -> None:
            now = time.time() * 1000
            with lock:
                latencies.extend(now - a.raised_at for a in e.raised)

        async def attach() -> None:
            station.bus.subscribe(HmsChanged, on_hms)

        rt.submit(attach()).result(5)
        baseline = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="hms-bench-baseline")
        baseline.username_pw_set("gcs-station", station._station_password)

        def on_message(_c: Any, _u: Any, m: mqtt.MQTTMessage) -> None:
            ts = json.loads(m.payload).get("timestamp", 0)
            with lock:
                bare.append(time.time() * 1000 - ts)

        baseline.on_message = on_message
        baseline.connect("127.0.0.1", station.mqtt_port)
        baseline.subscribe("thing/product/+/events", qos=0)
        baseline.loop_start()
        me = psutil.Process()
        pid = station.broker.pid if station.broker else None
        broker = psutil.Process(pid) if pid else None
        child = multiprocessing.get_context("spawn").Process(
            target=publishers,
            args=(station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password,
                  args.docks, args.seconds + 2.0),
        )  # fmt: skip
        child.start()
        time.sleep(4.0)  # warm-up: topologies and the first reports (load shaping)
        with lock:
            latencies.clear()
            bare.clear()
        cpu0 = me.cpu_times()
        b0 = broker.cpu_times() if broker else None
        t0 = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - t0
        cpu1 = me.cpu_times()
        b1 = broker.cpu_times() if broker else None
        with lock:
            lat = sorted(latencies)
            base = sorted(bare)
        child.join(60)
        baseline.loop_stop()
        baseline.disconnect()
        rt.stop()

    def pct(xs: list[float], q: float) -> float | None:
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None

    station_cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall * 100
    broker_cpu = (b1.user + b1.system - b0.user - b0.system) / wall * 100 if b0 and b1 else None
    print(
        json.dumps(
            {
                "docks": args.docks,
                "alarms_per_report": 20,
                "report_period_s": 2.0,
                "seconds": round(wall, 1),
                "reports_per_s_seen_by_bare_subscriber": round(len(base) / wall, 1),
                "alarms_raised_per_s": round(len(lat) / wall, 1),
                "event_to_alarm_ms": {"p50": pct(lat, 0.5), "p99": pct(lat, 0.99)},
                "bare_subscriber_ms": {"p50": pct(base, 0.5), "p99": pct(base, 0.99)},
                "station_process_cpu_pct": round(station_cpu, 1),
                "broker_cpu_pct": round(broker_cpu, 1) if broker_cpu is not None else None,
                "mean_alarm_latency_ms": round(statistics.fmean(lat), 1) if lat else None,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
