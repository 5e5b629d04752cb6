"""DRC on a simulated dock: a second MQTT link (here over WebSocket), telemetry at the asked
rate, heartbeat echo, sticks that move a hovering aircraft, and the exits."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_cloud import MOSQUITTO, Cloud, Mosquitto, free_port

from gcs.aio import spawn
from gcs.sim import Fleet, Timing
from gcs.sim.products import offset_position

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def ws_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, int]]:
    """mosquitto with a TCP listener and a WebSocket listener (for the DRC link)."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("Debian's mosquitto is not installed")
    tcp, ws = free_port(), free_port()
    conf = tmp_path / "ws.conf"
    conf.write_text(
        f"listener {tcp} 127.0.0.1\nallow_anonymous true\n"
        f"listener {ws} 127.0.0.1\nprotocol websockets\n"
    )
    broker = Mosquitto(tcp, conf)
    broker.start()
    yield broker, ws
    broker.kill()


@pytest.mark.slow
async def test_drc_session(ws_broker: tuple[Mosquitto, int]) -> None:
    broker, ws_port = ws_broker
    cloud = Cloud(broker.port)
    cloud.start()
    timing = Timing(drc_heartbeat_timeout_s=1.0)
    fleet = Fleet(broker.url, docks=3, binding_code="qwe", seed=91, speedup=100.0, timing=timing)
    heartbeats: asyncio.Task[None] | None = None
    try:
        await fleet.start(timeout_s=10)
        dock = fleet.docks[2]
        gw, ac = dock.sn, dock.aircraft_sn
        up, down = f"thing/product/{gw}/drc/up", f"thing/product/{gw}/drc/down"

        def drc_state() -> int:
            states = [s.data["drc_state"] for s in cloud.on(f"thing/product/{gw}/osd")
                      if "drc_state" in s.data]  # fmt: skip
            return states[-1] if states else -1

        # Hover somewhere first (command flight).
        dock.aircraft.battery = 95.0
        lat, lon = offset_position(dock.cfg.lat, dock.cfg.lon, 80.0, 0.0)
        takeoff = {"flight_id": "d-1", "target_latitude": lat, "target_longitude": lon,
                   "target_height": dock.aircraft.home_height + 40,
                   "security_takeoff_height": 25, "max_speed": 12}  # fmt: skip
        await cloud.reply_to(gw, cloud.service(gw, "takeoff_to_point", json.dumps(takeoff)))
        await cloud.wait(
            lambda: [s for s in cloud.on(f"thing/product/{gw}/events", "takeoff_to_point_progress")
                     if s.data["status"] == "wayline_ok"],
            within=15,
        )  # fmt: skip

        mqtt_broker = {
            "address": f"ws://127.0.0.1:{ws_port}/mqtt",
            "client_id": "drc-91",
            "username": gw,
            "password": "jwt",
            "expire_time": int(time.time()) + 600,
            "enable_tls": False,
        }
        enter = {"mqtt_broker": mqtt_broker, "osd_frequency": 10, "hsi_frequency": 2}
        reply = await cloud.reply_to(gw, cloud.service(gw, "drc_mode_enter", json.dumps(enter)))
        assert reply.data == {"result": 0}
        await cloud.wait(lambda: drc_state() == 2, what="drc_state 2")

        async def beat() -> None:
            while True:
                cloud.send(down, json.dumps({"method": "heart_beat", "data": {"timestamp": 42}}))
                await asyncio.sleep(0.2)

        heartbeats = spawn(beat(), name="test-heartbeats")
        echoes = await cloud.wait(lambda: cloud.on(up, "heart_beat"), what="heartbeat echo")
        assert echoes[0].data == {"timestamp": 42}

        # osd_info_push at ~10 Hz (real time), hsi at ~2 Hz.
        start = time.monotonic()
        count = len(cloud.on(up, "osd_info_push"))
        await cloud.wait(lambda: len(cloud.on(up, "osd_info_push")) >= count + 10)
        assert 0.6 < time.monotonic() - start < 1.6
        osd = cloud.on(up, "osd_info_push")[-1].data
        assert osd["latitude"] == pytest.approx(lat, abs=3e-5)
        assert {"attitude_head", "height", "speed_x", "speed_y", "speed_z", "gimbal_pitch"} <= set(
            osd
        )
        assert cloud.on(up, "hsi_info_push")[0].data["up_distance"] == 60000

        cmd = {"method": "drc_camera_mode_switch", "seq": 7, "data": {"payload_index": "98-0-0",
               "camera_mode": 1}}  # fmt: skip
        cloud.send(down, json.dumps(cmd))
        answered = await cloud.wait(lambda: cloud.on(up, "drc_camera_mode_switch"))
        assert answered[0].data == {"result": 0} and answered[0].payload["seq"] == 7

        # Full forward stick for about a second moves the aircraft along its heading.
        def position() -> tuple[float, float]:
            d: dict[str, Any] = cloud.on(up, "osd_info_push")[-1].data
            return d["latitude"], d["longitude"]

        before = position()
        for seq in range(10):
            stick = {"roll": 1024, "pitch": 1684, "throttle": 1024, "yaw": 1024}
            cloud.send(down, json.dumps({"method": "stick_control", "seq": seq, "data": stick}))
            await asyncio.sleep(0.1)
        # 10 m/s for ~1 s at 100x simulated time: far more than 20 m. Wait on the position the
        # OSD reports, not a fixed pause (issue 17 #16).
        await cloud.wait(
            lambda: math.dist(before, position()) * 111_000 > 20, what="the aircraft moved"
        )

        # No heartbeat for drc_heartbeat_timeout_s: the dock leaves DRC by itself.
        heartbeats.cancel()
        await cloud.wait(lambda: drc_state() == 0, what="DRC left after heartbeats stopped")
        assert dock.drc is None

        # And drc_mode_exit ends a session at once.
        reply = await cloud.reply_to(gw, cloud.service(gw, "drc_mode_enter", json.dumps(enter)))
        await cloud.wait(lambda: drc_state() == 2, what="drc_state 2 again")
        assert (await cloud.reply_to(gw, cloud.service(gw, "drc_mode_exit"))).data == {"result": 0}
        await cloud.wait(lambda: drc_state() == 0, what="drc_state 0 after exit")
        bad = await cloud.reply_to(gw, cloud.service(gw, "drc_mode_enter", '{"osd_frequency": 99}'))
        assert bad.data["result"] != 0
        assert ac
    finally:
        if heartbeats is not None:
            heartbeats.cancel()
        await fleet.stop()
        cloud.stop()
