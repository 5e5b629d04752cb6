"""Map benchmark: prints JSON.

A station (in-process runtime, real HTTP on 127.0.0.1) gets 2,000 map elements in 20 groups
(points, 20-vertex lines and 40-vertex polygons, imported one GeoJSON file per group); then
Pilot's `GET element-groups` (all groups, §8.2 #2) is timed over N requests (the first builds
the answer, the others are served from the cache until the next change), with the answer's
size, and one element create → the other client's WebSocket push latency over M edits.

Run: .venv/bin/python tests/bench/map_groups.py [--requests 30] [--edits 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

# This folder holds a script named like the `broker` package: keep it off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from station_harness import free_port  # noqa: E402

from gcs.runtime import Runtime, ThreadedRuntime  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402


def feature(i: int) -> dict[str, Any]:
    lon, lat = 113.90 + (i % 50) * 0.002, 22.55 + (i // 50) * 0.002
    kind = i % 3
    if kind == 0:
        geometry: dict[str, Any] = {"type": "Point", "coordinates": [lon, lat]}
    elif kind == 1:
        geometry = {
            "type": "LineString",
            "coordinates": [[lon + k * 1e-5, lat + (k % 2) * 1e-5] for k in range(20)],
        }
    else:
        ring = [
            [
                lon + 5e-4 * math.cos(2 * math.pi * k / 40),
                lat + 5e-4 * math.sin(2 * math.pi * k / 40),
            ]
            for k in range(40)
        ]
        geometry = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    return {
        "type": "Feature",
        "properties": {"name": f"e{i}", "color": "#2D8CF0"},
        "geometry": geometry,
    }


async def run(requests: int, edits: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        s = load_settings(data_dir)
        s.station.host = "127.0.0.1"
        s.mqtt.port = free_port()
        s.ntp.port = s.ntp.fallback_port = 0
        s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
        rt = ThreadedRuntime(Runtime(s, data_dir))
        rt.start()
        try:
            base = f"http://127.0.0.1:{s.http.port}"
            maps = f"{base}/map/api/v1/workspaces/{s.station.workspace_id}"
            async with aiohttp.ClientSession() as a, aiohttp.ClientSession() as b:
                for session in (a, b):
                    async with session.post(
                        f"{base}/manage/api/v1/login",
                        json={
                            "username": s.pilot.default_user,
                            "password": s.pilot.default_password,
                            "flag": 2,
                        },
                    ) as r:
                        session.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
                t0 = time.perf_counter()
                for g in range(20):
                    async with a.post(f"{maps}/element-groups", json={"name": f"group {g}"}) as r:
                        group_id = (await r.json())["data"]["id"]
                    doc = {
                        "type": "FeatureCollection",
                        "features": [feature(g * 100 + i) for i in range(100)],
                    }
                    async with a.post(
                        f"{maps}/element-groups/{group_id}/import",
                        params={"name": f"g{g}.geojson"},
                        data=json.dumps(doc).encode(),
                    ) as r:
                        assert r.status == 200, await r.text()
                import_s = time.perf_counter() - t0
                times, size = [], 0
                for _ in range(requests):
                    t = time.perf_counter()
                    async with a.get(f"{maps}/element-groups") as r:
                        body = await r.read()
                    times.append((time.perf_counter() - t) * 1000)
                    size = len(body)
                count = sum(len(g["elements"]) for g in json.loads(body)["data"])
                token = b.headers["x-auth-token"]
                latencies = []
                async with b.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
                    shared = next(g for g in json.loads(body)["data"] if g["type"] == 2)["id"]
                    for i in range(edits):
                        element_id = str(uuid.uuid4())
                        f = feature(i)
                        kind = {"Point": 0, "LineString": 1, "Polygon": 2}[f["geometry"]["type"]]
                        t = time.perf_counter()
                        async with a.post(
                            f"{maps}/element-groups/{shared}/elements",
                            json={
                                "id": element_id,
                                "name": "x",
                                "resource": {"type": kind, "content": f},
                            },
                        ) as r:
                            assert r.status == 200
                        while True:
                            msg = json.loads((await ws.receive(timeout=10)).data)
                            if (
                                msg["biz_code"] == "map_element_create"
                                and msg["data"]["id"] == element_id
                            ):
                                break
                        latencies.append((time.perf_counter() - t) * 1000)
        finally:
            rt.stop()
    first = times[0]  # the only one computed; the others come from the answer cache
    times.sort()
    latencies.sort()
    return {
        "machine": platform.machine(),
        "elements": count,
        "groups": 23,
        "import_2000_elements_s": round(import_s, 2),
        "element_groups_response_bytes": size,
        "element_groups_first_ms": round(first, 1),
        "element_groups_cached_ms": {
            "p50": round(statistics.median(times), 1),
            "p90": round(times[int(len(times) * 0.9) - 1], 1),
            "max": round(times[-1], 1),
        },
        "create_to_push_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p90": round(latencies[int(len(latencies) * 0.9) - 1], 1),
            "max": round(latencies[-1], 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--edits", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.requests, args.edits)), indent=1))


if __name__ == "__main__":
    main()
