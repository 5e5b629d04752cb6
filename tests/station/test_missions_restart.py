"""A station restart loses no scheduled flight: a timed task due while it was down within the
grace window is executed, one later than that and a recurring occurrence that passed are
reported missed (never flown late), and a flight in the air goes on being followed; all on a
controllable clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from command_peers import DOCK, RawDock, now_ms, wait_for
from station_harness import SHARED_DATA, free_port

from gcs.runtime import CAPABILITIES, Runtime, ThreadedRuntime
from gcs.station.missions import (
    IMMEDIATE,
    RECURRING,
    TIMED,
    Missions,
    Recurrence,
    TaskRequest,
)
from gcs.station.waylines import Waylines
from gcs.store.settings import load_settings

ROUTE = SHARED_DATA / "waylines" / "pilot2-waypoint-makeathon.kmz"
pytestmark = pytest.mark.skipif(not ROUTE.is_file(), reason=f"{ROUTE} is not present")


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def progress(flight_id: str, status: str, percent: int) -> dict[str, Any]:
    return {
        "result": 0,
        "output": {
            "status": status,
            "progress": {"current_step": 19, "percent": percent},
            "ext": {"flight_id": flight_id, "current_waypoint_index": 1},
        },
    }


def start(data_dir: Path, clock: Clock, ports: dict[str, int]) -> ThreadedRuntime:
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.mqtt.port = ports["mqtt"]
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = ports["http"], ports["https"], ports["s3"]
    rt = Runtime(s, data_dir)

    def missions(station: Any) -> Missions:
        return Missions(station, now=clock)

    factories: list[Callable[[Any], Any]] = [missions if f is Missions else f for f in CAPABILITIES]
    rt.station._capability_factories = factories
    threaded = ThreadedRuntime(rt)
    threaded.start()
    return threaded


@pytest.mark.slow
def test_restart_with_pending_timed_tasks_and_a_plan(tmp_path: Path) -> None:
    ports = {"mqtt": free_port(), "http": free_port(), "https": free_port(), "s3": free_port()}
    t0 = now_ms()
    clock = Clock(t0)
    rt = start(tmp_path, clock, ports)
    s = rt.runtime.settings
    ws = s.station.workspace_id
    dock = RawDock(rt.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})
    try:
        dock.online(aircraft_sub_type=1)
        dock.bind(s.station.binding_code, ws, aircraft_model_key="0-91-1")
        registry = rt.runtime.station.registry
        wait_for(lambda: (v := registry.view(DOCK)) is not None and v.bound, what="bound")
        dock.osd(mode_code=0, drone_in_dock=1)
        library = rt.runtime.station.capability(Waylines).library
        row = (
            rt.submit(library.import_kmz(ROUTE.read_bytes(), filename=ROUTE.name, workspace_id=ws))
            .result(10)
            .row
        )
        missions = rt.runtime.station.capability(Missions)

        def plan(name: str, task_type: int, **kw: Any) -> Any:
            req = TaskRequest(name=name, dock_sn=DOCK, wayline_id=row.id, task_type=task_type, **kw)
            return rt.submit(missions.plan(ws, req)).result(30)

        # A flight in the air when the station stops.
        flying = plan("flying", IMMEDIATE)
        dock.event("flighttask_progress", flying.id, progress(flying.id, "in_progress", 30))
        wait_for(
            lambda: rt.submit(missions.task(flying.id)).result(5).status == "in_progress",
            what="flying",
        )
        soon = plan("soon", TIMED, execute_time=t0 + 10 * 60_000)
        early = plan("early", TIMED, execute_time=t0 + 5 * 60_000)
        assert soon.status == early.status == "prepared"
        first = dt.datetime.fromtimestamp(t0 / 1000).replace(second=0, microsecond=0)
        first += dt.timedelta(minutes=7)
        first_ms = int(first.timestamp() * 1000)
        daily = plan(
            "daily",
            RECURRING,
            recurrence=Recurrence(
                tuple(range(7)), (first.strftime("%H:%M"),), t0, first_ms + 3 * 86_400_000
            ),
        )
        assert daily.next_fire == first_ms
    finally:
        dock.close()
        rt.stop()

    # The station is down from t0 until 5 s after "soon" was due.
    clock.ms = t0 + 10 * 60_000 + 5_000
    rt = start(tmp_path, clock, ports)
    dock = RawDock(rt.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})
    try:
        # While the dock is not back yet, the due task waits (within its grace window).
        missions = rt.runtime.station.capability(Missions)
        assert rt.submit(missions.task(soon.id)).result(5).status == "prepared"
        dock.online(aircraft_sub_type=1)
        dock.osd(mode_code=0, drone_in_dock=1)
        wait_for(lambda: dock.sent("flighttask_execute"), what="soon executed")
        executed = dock.sent("flighttask_execute")
        assert [c["data"]["flight_id"] for c in executed] == [soon.id]
        # The flight that was in the air goes on being followed, and ends.
        dock.event("flighttask_progress", flying.id, progress(flying.id, "ok", 100))
        wait_for(
            lambda: rt.submit(missions.task(flying.id)).result(5).status == "ok",
            what="the earlier flight followed to its end",
        )
        assert rt.submit(missions.task(flying.id)).result(5).percent == 100
        tasks, _ = rt.submit(missions.tasks(ws, page_size=100)).result(10)
        status = {t.name: t.status for t in tasks}
        assert status["early"] == "missed"
        [occurrence] = [t for t in tasks if t.plan_id == daily.id]
        assert occurrence.status == "missed" and occurrence.execute_time == first_ms
        [plan_now] = [p for p in rt.submit(missions.plans()).result(5) if p.id == daily.id]
        assert plan_now.next_fire == first_ms + 86_400_000
    finally:
        rt.stop()
        dock.close()
