"""`gcs demo`: once a simulated dock is online, a route next to it is in the library and a
recurring flight is planned; at its first occurrence the dock downloads the KMZ (MD5 checked)
and takes off."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from command_peers import wait_for
from station_harness import free_port

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.station.demo_missions import demo_times
from gcs.station.missions import Missions
from gcs.station.waylines import WaylineQuery, Waylines
from gcs.store.settings import load_settings


def test_demo_times_start_within_two_minutes() -> None:
    now = int(time.time() * 1000)
    times = demo_times(now)
    assert len(times) == 144 and len(set(times)) == 144
    first = time.localtime(now / 1000 + 90 + 60)
    assert f"{first.tm_hour:02d}:{first.tm_min:02d}" in times


@pytest.mark.slow
def test_demo_plans_and_flies_a_recurring_flight(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    s.station.host = s.station.public_host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    rt = ThreadedRuntime(Runtime(s, tmp_path, fleet={"docks": 1, "pilots": 0}))
    rt.start()
    try:
        missions = rt.runtime.station.capability(Missions)
        [plan] = wait_for(lambda: rt.submit(missions.plans()).result(5), 60, "the demo plan")
        assert plan.name.startswith("demo loop") and plan.next_fire is not None
        assert plan.next_fire - int(time.time() * 1000) < 3 * 60_000
        library = rt.runtime.station.capability(Waylines).library
        rows, _ = rt.submit(library.search(plan.workspace_id, WaylineQuery())).result(5)
        assert [r.name for r in rows] == ["demo loop"]
        # Jump the station's flight clock to the first occurrence.
        offset = plan.next_fire - int(time.time() * 1000)
        rt.call_soon(setattr, missions, "now", lambda: int(time.time() * 1000) + offset)

        def flying() -> object:
            tasks, _ = rt.submit(missions.tasks(plan.workspace_id)).result(5)
            return [t for t in tasks if t.plan_id == plan.id and t.status == "in_progress"]

        wait_for(flying, 60, "the demo flight in the air")
    finally:
        rt.stop()
