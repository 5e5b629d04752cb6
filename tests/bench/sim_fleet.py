"""Benchmark: CPU cost of N simulated gateways in one process (one asyncio loop).

Starts Debian's mosquitto on a free port and a minimal answering cloud in a child process
(so its CPU is not counted), runs a `gcs.sim.Fleet`, waits until every gateway is online,
then measures this process's CPU time and the messages published over a window.

    .venv/bin/python tests/bench/sim_fleet.py --docks 150 --pilots 50 --seconds 30

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLOUD = r"""
import json, sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-cloud")
def reply(t, p, data):
    c.publish(t + "_reply", json.dumps({"tid": p["tid"], "bid": p["bid"],
              "timestamp": int(time.time() * 1000), "method": p.get("method"), "data": data}), 1)
def on_connect(cl, u, f, rc, props):
    cl.subscribe([("sys/product/+/status", 1), ("thing/product/+/requests", 1),
                  ("thing/product/+/state", 1), ("thing/product/+/events", 1)])
def on_message(cl, u, m):
    t = m.topic
    p = json.loads(m.payload)
    if t.endswith("/status"):
        reply(t, p, {"result": 0})
    elif t.endswith("/requests"):
        meth = p["method"]
        if meth == "config":
            reply(t, p, {"ntp_server_host": "127.0.0.1", "ntp_server_port": 123,
                         "app_id": "1", "app_key": "k", "app_license": "l"})
        elif meth == "airport_bind_status":
            reply(t, p, {"result": 0, "output": {"bind_status": [
                {"sn": d["sn"], "is_device_bind_organization": True, "organization_id": "o",
                 "organization_name": "O", "device_callsign": "c"} for d in p["data"]["devices"]]}})
        else:
            reply(t, p, {"result": 0, "output": {}})
    elif p.get("need_reply") == 1:
        reply(t, p, {"result": 0})
c.on_connect = on_connect
c.on_message = on_message
c.connect("127.0.0.1", int(sys.argv[1]))
print("ready", flush=True)
c.loop_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


async def measure(port: int, docks: int, pilots: int, seconds: float) -> dict[str, object]:
    from gcs.sim import Fleet, FleetOptions

    fleet = Fleet(
        FleetOptions(f"mqtt://dev:pw@127.0.0.1:{port}", docks=docks, pilots=pilots, seed=1)
    )
    t0 = time.monotonic()
    await fleet.start(timeout_s=120)
    ready_s = time.monotonic() - t0
    await asyncio.sleep(3)  # let start-up bursts settle
    sent0 = sum(d.messages_sent for d in fleet.devices)
    bytes0 = sum(d.link.bytes_out for d in fleet.devices)
    cpu0, wall0 = time.process_time(), time.monotonic()
    lag_max = 0.0
    end = wall0 + seconds
    while time.monotonic() < end:  # loop lag: how late a 100 ms sleep wakes up
        before = time.monotonic()
        await asyncio.sleep(0.1)
        lag_max = max(lag_max, time.monotonic() - before - 0.1)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    sent = sum(d.messages_sent for d in fleet.devices) - sent0
    out_bytes = sum(d.link.bytes_out for d in fleet.devices) - bytes0
    online = sum(1 for d in fleet.devices if d.online)
    await fleet.stop()
    return {
        "gateways": docks + pilots,
        "docks": docks,
        "pilots": pilots,
        "online": online,
        "ready_s": round(ready_s, 2),
        "window_s": round(wall, 1),
        "cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "messages_per_s": round(sent / wall, 1),
        "kbytes_per_s": round(out_bytes / wall / 1024, 1),
        "cpu_ms_per_message": round(1000 * cpu / max(1, sent), 3),
        "loop_lag_max_ms": round(lag_max * 1000, 1),
        "python": sys.version.split()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docks", type=int, default=50)
    parser.add_argument("--pilots", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "m.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\n"
        )
        broker = subprocess.Popen([mosquitto, "-c", str(conf)], stderr=subprocess.DEVNULL)
        cloud = None
        try:
            wait_listening(port)
            cloud = subprocess.Popen(
                [sys.executable, "-c", CLOUD, str(port)], stdout=subprocess.PIPE, text=True
            )
            assert cloud.stdout is not None
            cloud.stdout.readline()
            result = asyncio.run(measure(port, args.docks, args.pilots, args.seconds))
            result["cpu_count"] = os.cpu_count()
            print(json.dumps(result))
        finally:
            for proc in (cloud, broker):
                if proc is not None:
                    proc.terminate()
                    proc.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
