"""Benchmark: recurring flight tasks of many docks firing in the same minute, and the latency of
their progress to the station's bus (what the desktop's bridge listens to) and to a WebSocket.

Starts a station (own thread, embedded broker and object store, real sockets on 127.0.0.1) whose
flight-task clock runs a fixed offset ahead of the wall clock, brings N literal-JSON docks online
(paho clients, hand-written wire JSON, each with an M3TD), imports one route and plans, for every
dock, a recurring flight at the same minute (the prepare lead is shortened to 5 s so the run
lasts seconds). It measures, for each dock, how late its `flighttask_execute` arrived after the
planned time. Then every dock sends `--events` `flighttask_progress` events; it measures the time
from the MQTT publish to the `FlightTaskChanged` bus event and to the WebSocket
`flighttask_progress` push. Prints one JSON object.

Targets (issue 10): execute within 1 s of the planned time for all docks (p99); progress
latency p99 (no target given; compare runs).

    .venv/bin/python tests/bench/missions.py [--docks 50] [--events 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

# The tests folder (for the literal-JSON dock), not this one (its broker.py would shadow ours).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from command_peers import RawDock  # noqa: E402
from station_harness import free_port  # noqa: E402

import gcs.station.missions as missions_module  # noqa: E402
from gcs.runtime import CAPABILITIES, Runtime, ThreadedRuntime  # noqa: E402
from gcs.station.bus import FlightTaskChanged  # noqa: E402
from gcs.station.missions import RECURRING, Missions, Recurrence, TaskRequest  # noqa: E402
from gcs.station.waylines import Waylines  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402
from gcs.wpml import PlanWaypoint, WaypointPlan, write_kmz  # noqa: E402

LEAD_MS = 5_000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(max(values), 2) if values else float("nan"),
        "mean_ms": round(statistics.fmean(values), 2) if values else float("nan"),
    }


class Clock:
    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


def start(data_dir: Path, clock: Clock) -> ThreadedRuntime:
    s = load_settings(data_dir)
    s.station.host = s.station.public_host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    rt = Runtime(s, data_dir)
    rt.station._capability_factories = [
        (lambda st: Missions(st, now=clock)) if f is Missions else f for f in CAPABILITIES
    ]
    threaded = ThreadedRuntime(rt)
    threaded.start()
    return threaded


def wait(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


async def measure_progress(
    rt: ThreadedRuntime, docks: list[RawDock], flights: dict[str, str], events: int
) -> tuple[list[float], list[float]]:
    s = rt.runtime.settings
    http = next(ep.url for ep in rt.runtime.endpoints() if ep.name == "http")
    base = "http://127.0.0.1:" + http.rsplit(":", 1)[1].split("/", 1)[0]
    sent: dict[tuple[str, int], float] = {}
    bus_ms: list[float] = []
    ws_ms: list[float] = []
    lock = threading.Lock()

    def on_task(e: FlightTaskChanged) -> None:
        at = time.time()
        if e.percent is None:
            return
        with lock:
            t0 = sent.get((e.task_id, int(e.percent)))
        if t0 is not None:
            bus_ms.append((at - t0) * 1000)

    rt.submit(_subscribe(rt, on_task)).result(5)
    async with aiohttp.ClientSession() as session:
        login = {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": 1}
        async with session.post(f"{base}/manage/api/v1/login", json=login) as r:
            token = (await r.json())["data"]["access_token"]
        async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
            expected = len(docks) * events

            async def reader() -> None:
                while len(ws_ms) < expected:
                    msg = await ws.receive(timeout=30)
                    at = time.time()
                    for doc in _frames(msg.data):
                        if doc.get("biz_code") != "flighttask_progress":
                            continue
                        d = doc["data"]
                        percent = d["output"]["progress"]["percent"]
                        with lock:
                            t0 = sent.get((d["bid"], int(percent or -1)))
                        if t0 is not None and d["output"]["status"] == "in_progress":
                            ws_ms.append((at - t0) * 1000)

            task = asyncio.get_running_loop().create_task(reader())
            for k in range(events):
                percent = 10 + k
                for dock in docks:
                    flight_id = flights[dock.sn]
                    data = {
                        "result": 0,
                        "output": {
                            "status": "in_progress",
                            "progress": {"current_step": 19, "percent": percent},
                            "ext": {
                                "flight_id": flight_id,
                                "current_waypoint_index": k % 3,
                                "wayline_mission_state": 6,
                                "media_count": 0,
                            },
                        },
                    }
                    with lock:
                        sent[(flight_id, percent)] = time.time()
                    dock.event("flighttask_progress", flight_id, data, need_reply=0)
                await asyncio.sleep(0.2)
            try:
                await asyncio.wait_for(task, 30)
            except TimeoutError:
                task.cancel()
    return bus_ms, ws_ms


async def _subscribe(rt: ThreadedRuntime, handler: Any) -> None:
    rt.runtime.station.bus.subscribe(FlightTaskChanged, handler)


def _frames(text: Any) -> list[dict[str, Any]]:
    if not isinstance(text, str):
        return []
    out = []
    for line in text.splitlines() or [text]:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        out.extend(doc if isinstance(doc, list) else [doc])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docks", type=int, default=50)
    parser.add_argument("--events", type=int, default=10)
    args = parser.parse_args()
    missions_module.PREPARE_LEAD_MS = LEAD_MS
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        rt = start(Path(tmp), clock)
        s = rt.runtime.settings
        ws = s.station.workspace_id
        docks: list[RawDock] = []
        executes: dict[str, float] = {}
        lock = threading.Lock()

        def script(d: RawDock, cmd: dict[str, Any]) -> None:
            if cmd.get("method") == "flighttask_execute":
                with lock:
                    executes[d.sn] = time.time()
            d.reply(cmd, {"result": 0})

        try:
            for i in range(args.docks):
                d = RawDock(
                    rt.runtime.station.mqtt_port,
                    s.mqtt.device_username,
                    s.mqtt.device_password,
                    sn=f"BENCHDOCK{i:04d}",
                )
                d.script = script
                aircraft = f"BENCHAC{i:04d}"
                d.online(aircraft=aircraft, aircraft_sub_type=1)
                d.bind(s.station.binding_code, ws, aircraft=aircraft, aircraft_model_key="0-91-1")
                d.osd(mode_code=0, drone_in_dock=1)
                docks.append(d)
            registry = rt.runtime.station.registry
            wait(
                lambda: all((v := registry.view(d.sn)) and v.bound for d in docks),
                60,
                "docks bound",
            )
            kmz = write_kmz(
                WaypointPlan(
                    waypoints=(PlanWaypoint(47.0, 8.0), PlanWaypoint(47.001, 8.0)),
                    drone_enum_value=91,
                    drone_sub_enum_value=1,
                    payload_enum_value=None,
                )
            )
            library = rt.runtime.station.capability(Waylines).library
            row = rt.submit(library.import_kmz(kmz, filename="bench.kmz", workspace_id=ws))
            wayline = row.result(10).row.id
            # The next whole minute at least 20 s away, in station-clock time, brought to
            # 8 s from now by the clock offset.
            target = dt.datetime.now().replace(second=0, microsecond=0)
            target += dt.timedelta(minutes=2)
            target_ms = int(target.timestamp() * 1000)
            clock.offset_ms = target_ms - 8_000 - int(time.time() * 1000)
            missions = rt.runtime.station.capability(Missions)
            begin = clock() - 3_600_000
            for d in docks:
                req = TaskRequest(
                    name=f"bench {d.sn}",
                    dock_sn=d.sn,
                    wayline_id=wayline,
                    task_type=RECURRING,
                    recurrence=Recurrence(
                        tuple(range(7)), (target.strftime("%H:%M"),), begin, target_ms + 1
                    ),
                )
                rt.submit(missions.plan(ws, req)).result(10)
            planned_wall = (target_ms - clock.offset_ms) / 1000
            wait(lambda: len(executes) == len(docks), 30, "every execute")
            late = [(executes[d.sn] - planned_wall) * 1000 for d in docks]
            flights: dict[str, str] = {}
            for d in docks:
                [cmd] = d.sent("flighttask_execute")
                flights[d.sn] = cmd["bid"]
            bus_ms, ws_ms = asyncio.run(measure_progress(rt, docks, flights, args.events))
        finally:
            for d in docks:
                d.close()
            rt.stop()
    print(
        json.dumps(
            {
                "bench": "missions",
                "docks": args.docks,
                "execute_after_planned_time": summary(late),
                "execute_within_1s": sum(1 for x in late if abs(x) <= 1000),
                "progress_to_bus": summary(bus_ms),
                "progress_to_websocket": summary(ws_ms),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
