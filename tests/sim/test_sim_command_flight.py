"""Command flight on a simulated dock: take off to a point, fly on to another, come home."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from sim_cloud import Cloud, Mosquitto

from gcs.sim import Fleet, FleetOptions
from gcs.sim.products import offset_position

pytestmark = pytest.mark.mosquitto


async def test_takeoff_fly_to_and_return(mosquitto: Mosquitto, cloud: Cloud) -> None:
    fleet = Fleet(FleetOptions(mosquitto.url, docks=3, binding_code="qwe", seed=81, speedup=100.0))
    await fleet.start(timeout_s=10)
    try:
        dock = fleet.docks[2]
        gw, ac = dock.sn, dock.aircraft_sn
        dock.aircraft.battery = 90.0
        home_height = dock.aircraft.home_height
        lat, lon = offset_position(dock.cfg.lat, dock.cfg.lon, 200.0, 100.0)
        takeoff = {
            "flight_id": "cmd-1",
            "target_latitude": lat,
            "target_longitude": lon,
            "target_height": home_height + 50,
            "security_takeoff_height": 30,
            "rth_altitude": 60,
            "rth_mode": 1,
            "rc_lost_action": 2,
            "max_speed": 12,
            "commander_mode_lost_action": 1,
            "commander_flight_mode": 1,
            "commander_flight_height": 50,
        }
        bad = await cloud.reply_to(gw, cloud.service(gw, "takeoff_to_point", '{"flight_id": "x"}'))
        assert bad.data["result"] != 0
        tid = cloud.service(gw, "takeoff_to_point", json.dumps(takeoff))
        assert (await cloud.reply_to(gw, tid)).data == {"result": 0}
        events = f"thing/product/{gw}/events"

        def statuses(method: str) -> list[str]:
            return [s.data["status"] for s in cloud.on(events, method)]

        await cloud.wait(lambda: "wayline_ok" in statuses("takeoff_to_point_progress"), within=15)
        progress = cloud.on(events, "takeoff_to_point_progress")
        assert {s.payload["bid"] for s in progress} == {tid + "-b"}
        assert progress[0].data["status"] == "task_ready"
        assert progress[-1].data["flight_id"] == "cmd-1"
        assert progress[-1].payload["need_reply"] == 1

        def last_osd() -> dict[str, Any]:
            return cloud.on(f"thing/product/{ac}/osd")[-1].data

        def near(lat_: float, lon_: float) -> bool:
            here = last_osd()
            return math.dist((here["latitude"], here["longitude"]), (lat_, lon_)) < 2e-5

        await cloud.wait(lambda: near(lat, lon), what="hovering at the target")
        assert last_osd()["mode_code"] == 17  # command flight
        assert last_osd()["elevation"] == pytest.approx(50, abs=1)

        lat2, lon2 = offset_position(dock.cfg.lat, dock.cfg.lon, -100.0, 150.0)
        fly_to = {
            "fly_to_id": "ft-1",
            "max_speed": 10,
            "points": [{"latitude": lat2, "longitude": lon2, "height": home_height + 70}],
        }
        tid2 = cloud.service(gw, "fly_to_point", json.dumps(fly_to))
        assert (await cloud.reply_to(gw, tid2)).data == {"result": 0}
        await cloud.wait(lambda: "wayline_ok" in statuses("fly_to_point_progress"), within=15)
        ok = [
            s for s in cloud.on(events, "fly_to_point_progress") if s.data["status"] == "wayline_ok"
        ]
        assert ok[0].data["fly_to_id"] == "ft-1" and ok[0].payload["bid"] == tid2 + "-b"
        await cloud.wait(lambda: near(lat2, lon2), what="at the fly-to point")
        # Busy: no flight task meanwhile.
        busy = await cloud.reply_to(
            gw, cloud.service(gw, "flighttask_execute", '{"flight_id": "n"}')
        )
        assert busy.data["result"] != 0

        await cloud.reply_to(gw, cloud.service(gw, "return_home", '""'))
        await cloud.wait(lambda: "task_finish" in statuses("takeoff_to_point_progress"), within=15)
        assert 9 in [s.data["mode_code"] for s in cloud.on(f"thing/product/{ac}/osd")]
        assert last_osd()["elevation"] == 0

        def dock_osd(key: str) -> list[Any]:
            return [s.data[key] for s in cloud.on(f"thing/product/{gw}/osd") if key in s.data]

        await cloud.wait(lambda: dock_osd("mode_code")[-1] == 0, what="dock idle")
        assert 4 in dock_osd("mode_code")  # working during the flight
        assert dock_osd("drone_in_dock")[-1] == 1
        assert dock.command is None
    finally:
        await fleet.stop()
