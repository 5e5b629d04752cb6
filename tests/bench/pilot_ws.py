"""Benchmark: OSD -> Pilot WebSocket latency, and topology requests per second.

Starts `gcs serve` on free ports, onboards N raw RC gateways (hand-written wire JSON over
paho, device login, each with an aircraft) and binds them to the workspace over HTTP, opens M
Pilot WebSockets, then publishes aircraft OSD at `--rate` Hz per gateway and measures, for
every WebSocket, the time from the MQTT publish to the `device_osd` push (matched by a unique
`height`). Then it measures GET .../devices/topologies requests per second against the station
and against a bare aiohttp handler (own process, same answer bytes) under the same load, in the
same run. Prints one JSON object.

Targets (issue 3): p99 < 50 ms with 200 gateways and 50 clients; topology/bare ratio >= 0.5.

    .venv/bin/python tests/bench/pilot_ws.py [--gateways 200] [--clients 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from pathlib import Path
from urllib.parse import quote

import aiohttp
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gcs.aio import spawn

BARE_SERVER = r"""
import sys
from aiohttp import web
body = open(sys.argv[2], "rb").read()
async def handler(request):
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_get("/{tail:.*}", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
            print=lambda *a: print("ready", flush=True))
"""


def start_bare(port: int, body_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", BARE_SERVER, str(port), str(body_file)],
        stdout=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_station(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    args = [
        sys.executable,
        "-m",
        "gcs",
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
    ]
    for opt in ("--mqtt-port", "--http-port", "--https-port", "--s3-port"):
        args += [opt, str(free_port())]
    args += ["--ntp-port", "0"]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    endpoints: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.strip()
        if line == "ready":
            break
        if ": " in line:
            name, value = line.split(": ", 1)
            endpoints[name] = value
    else:
        raise SystemExit("gcs serve did not start:\n" + json.dumps(endpoints))
    threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()
    return proc, endpoints


class Gateway:
    def __init__(self, port: int, user: str, password: str, index: int) -> None:
        self.sn = f"BENCHRC{index:05d}"
        self.aircraft = f"BENCHAC{index:05d}"
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.sn)
        self.client.username_pw_set(user, password)
        self.client.on_connect = lambda c, u, f, rc, p: self.ready.set()
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    def update_topo(self) -> None:
        doc = {
            "tid": str(uuid.uuid4()),
            "bid": str(uuid.uuid4()),
            "timestamp": int(time.time() * 1000),
            "method": "update_topo",
            "data": {
                "domain": 2,
                "type": 119,
                "sub_type": 0,
                "device_secret": "",
                "nonce": "",
                "thing_version": "1.1.2",
                "sub_devices": [
                    {
                        "sn": self.aircraft,
                        "domain": 0,
                        "type": 67,
                        "sub_type": 0,
                        "index": "A",
                        "device_secret": "",
                        "nonce": "",
                        "thing_version": "1.1.2",
                    }
                ],
            },
        }
        self.client.publish(f"sys/product/{self.sn}/status", orjson.dumps(doc), qos=1)

    def osd(self, height: float) -> None:
        doc = {
            "tid": "",
            "bid": "",
            "timestamp": int(time.time() * 1000),
            "gateway": self.sn,
            "data": {
                "latitude": 22.5,
                "longitude": 113.9,
                "height": height,
                "elevation": 50.0,
                "attitude_head": 90.0,
                "horizontal_speed": 5.0,
                "vertical_speed": 0.0,
                "mode_code": 3,
            },
        }
        self.client.publish(f"thing/product/{self.aircraft}/osd", orjson.dumps(doc), qos=0)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


async def load(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    done = 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as s:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                async with s.get(url) as r:
                    await r.read()
                    assert r.status == 200, r.status
                done += 1

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.monotonic() - start)


async def worker(url: str, clients: int, seconds: float) -> None:
    """Hold `clients` WebSockets for `seconds`; print the device_osd latencies (ms) as JSON."""
    latencies: list[float] = []
    async with aiohttp.ClientSession() as s:
        sockets = [await s.ws_connect(url) for _ in range(clients)]
        print("connected", flush=True)

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                now = time.monotonic_ns() / 1e6
                if msg.type == aiohttp.WSMsgType.TEXT:
                    doc = orjson.loads(msg.data)
                    if doc["biz_code"] == "device_osd":
                        latencies.append(now - doc["data"]["host"]["height"])

        readers = [spawn(read(ws), name="bench-ws") for ws in sockets]
        await asyncio.sleep(seconds)
        for r in readers:
            r.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    print(json.dumps(latencies), flush=True)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateways", type=int, default=200)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=1.0, help="OSD per gateway per second")
    ap.add_argument("--topo-seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="processes holding the WebSockets")
    ap.add_argument("--worker", metavar="WS_URL", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.worker:
        await worker(opts.worker, opts.clients, opts.seconds)
        return

    tmp = Path(tempfile.mkdtemp(prefix="gcs-bench-"))
    proc, ep = start_station(tmp / "station")
    gateways: list[Gateway] = []
    bare: subprocess.Popen[str] | None = None
    try:
        settings = tomllib.loads((tmp / "station" / "gcs.toml").read_text())
        http = ep["http"]
        mqtt_port = int(ep["mqtt"].rsplit(":", 1)[1])
        async with aiohttp.ClientSession() as s:
            async with s.post(
                http + "manage/api/v1/login",
                json={
                    "username": settings["pilot"]["default_user"],
                    "password": settings["pilot"]["default_password"],
                    "flag": 2,
                },
            ) as r:
                login = (await r.json())["data"]
            token = login["access_token"]
            ws_id = login["workspace_id"]
            hdr = {"x-auth-token": token}

            user, pw = settings["mqtt"]["device_username"], settings["mqtt"]["device_password"]
            gateways = [Gateway(mqtt_port, user, pw, i) for i in range(opts.gateways)]
            for g in gateways:
                if not g.ready.wait(20):
                    raise SystemExit(f"{g.sn} could not connect")
                g.update_topo()

            async def bind(g: Gateway) -> None:
                for _ in range(400):
                    async with s.post(
                        http + f"manage/api/v1/devices/{g.sn}/binding", headers=hdr, json={}
                    ) as r:
                        if r.status == 200:
                            return
                    await asyncio.sleep(0.05)
                raise SystemExit(f"{g.sn} could not be bound")

            t0 = time.monotonic()
            await asyncio.gather(*(bind(g) for g in gateways))
            onboard_s = time.monotonic() - t0

            ws_url = http.replace("http://", "ws://") + "api/v1/ws?x-auth-token=" + quote(token)
            per = [
                opts.clients // opts.workers + (i < opts.clients % opts.workers)
                for i in range(opts.workers)
            ]
            workers = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--worker",
                    ws_url,
                    "--clients",
                    str(n),
                    "--seconds",
                    str(opts.seconds + 3.0),
                    stdout=asyncio.subprocess.PIPE,
                )
                for n in per
                if n
            ]
            for w in workers:  # each prints "connected" once its WebSockets are open
                assert w.stdout is not None
                await w.stdout.readline()

            stop = threading.Event()
            published = 0

            def publisher() -> None:
                nonlocal published
                interval = 1.0 / (opts.rate * len(gateways))
                seq = 0
                next_at = time.monotonic()
                while not stop.is_set():
                    g = gateways[seq % len(gateways)]
                    # The height carries the send time: CLOCK_MONOTONIC is the same in every
                    # process, so the receiving workers compute the latency themselves.
                    g.osd(time.monotonic_ns() / 1e6)
                    seq += 1
                    published = seq
                    next_at += interval
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)

            th = threading.Thread(target=publisher, daemon=True)
            th.start()
            await asyncio.sleep(opts.seconds)
            stop.set()
            th.join()
            latencies: list[float] = []
            for w in workers:
                out, _ = await w.communicate()
                latencies.extend(json.loads(out))
            received = len(latencies)

            topo_url = http + f"manage/api/v1/workspaces/{ws_id}/devices/topologies"
            async with s.get(topo_url, headers=hdr) as r:
                body = await r.read()
            topo = orjson.loads(body)["data"]["list"]
            station_rps = await load(topo_url, hdr, opts.topo_seconds, opts.concurrency)

        body_file = tmp / "topology.json"
        body_file.write_bytes(body)
        bare_port = free_port()
        bare = start_bare(bare_port, body_file)
        assert bare.stdout is not None
        bare.stdout.readline()
        bare_rps = await load(
            f"http://127.0.0.1:{bare_port}/x", {}, opts.topo_seconds, opts.concurrency
        )
        expected = published * opts.clients
        result = {
            "gateways": len(gateways),
            "ws_clients": opts.clients,
            "osd_per_s": round(published / opts.seconds, 1),
            "onboard_and_bind_s": round(onboard_s, 2),
            "osd_published": published,
            "ws_osd_expected": expected,
            "ws_osd_received": received,
            "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
            "latency_ms_p99": round(percentile(latencies, 0.99), 2),
            "latency_ms_max": round(max(latencies), 2) if latencies else None,
            "topology_gateways": len(topo),
            "topology_bytes": len(body),
            "topology_rps": round(station_rps, 1),
            "bare_aiohttp_rps": round(bare_rps, 1),
            "topology_ratio": round(station_rps / bare_rps, 3),
            "target_p99_ms": 50,
            "target_ratio": 0.5,
        }
        result["p99_ok"] = result["latency_ms_p99"] < 50
        result["ratio_ok"] = result["topology_ratio"] >= 0.5
        print(json.dumps(result, indent=2))
    finally:
        for g in gateways:  # disconnect all first: each loop thread then ends at once
            g.client.disconnect()
        for g in gateways:
            g.client.loop_stop()
        if bare is not None:
            bare.terminate()
            bare.wait(10)
        proc.terminate()
        proc.wait(20)


if __name__ == "__main__":
    asyncio.run(main())
