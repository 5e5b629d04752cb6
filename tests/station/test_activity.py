"""What the devices do becomes operator events: take-offs, landings, flight tasks,
logins; and the demo's simulated docks keep doing something (patrol flights)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from gcs.protocol.onboarding import parse_update_topo
from gcs.runtime import FleetThread, Runtime
from gcs.sim import FleetOptions
from gcs.station.activity import ActivityLog
from gcs.station.bus import DeviceEvent, EventBus, LogEntry, TelemetryUpdated
from gcs.station.devices import DeviceRegistry
from gcs.store.db import Store
from gcs.store.settings import load_settings


async def test_takeoffs_landings_alarms_and_tasks_are_logged_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "gcs.db")
    bus = EventBus()
    logged: list[LogEntry] = []
    bus.subscribe(LogEntry, logged.append)
    registry = DeviceRegistry(store, bus)
    await registry.load()
    activity = ActivityLog(bus, registry)
    topo = parse_update_topo(
        {
            "domain": 3,
            "type": 3,
            "sub_type": 0,
            "sub_devices": [{"sn": "AIR1", "domain": 0, "type": 91, "sub_type": 0, "index": "A"}],
        }
    )
    await registry.update_topo("DOCK1", topo)
    logged.clear()

    def mode(sn: str, code: int, ts: int) -> None:
        bus.publish(TelemetryUpdated(ts, sn, "DOCK1", "osd", {"mode_code": code}, {}))

    def hms(codes: list[tuple[str, int]], ts: int) -> None:
        data = {"list": [{"code": c, "level": lv} for c, lv in codes]}
        bus.publish(DeviceEvent(ts, "DOCK1", "DOCK1", "hms", "b", data))

    def progress(status: str, ts: int) -> None:
        data = {"result": 0, "output": {"status": status, "ext": {"flight_id": "F1"}}}
        bus.publish(DeviceEvent(ts, "DOCK1", "DOCK1", "flighttask_progress", "bid1", data))

    mode("AIR1", 0, 1)  # first sight: nothing to say
    mode("AIR1", 0, 2)
    mode("DOCK1", 4, 3)  # a dock's mode_code (4 = working) is not a take-off
    mode("AIR1", 4, 4)  # automatic take-off
    mode("AIR1", 5, 5)  # wayline: still flying
    hms([("0x16100083", 1)], 6)  # HMS is the health capability's to log (with its text)
    progress("in_progress", 8)
    progress("in_progress", 9)
    mode("AIR1", 10, 11)  # automatic landing: still in the air
    mode("AIR1", 0, 12)
    progress("ok", 13)
    texts = [(e.kind, e.level, e.message) for e in logged]
    assert texts == [
        ("flight", "info", "Matrice 3D (AIR1) took off (Auto take-off)"),
        ("task", "info", "DJI Dock 3 (DOCK1): flight task F1 in_progress"),
        ("flight", "info", "Matrice 3D (AIR1) landed"),
        ("task", "info", "DJI Dock 3 (DOCK1): flight task F1 ok"),
    ], texts
    assert [e.sn for e in logged][:2] == ["AIR1", "DOCK1"]
    assert not any(e.kind == "hms" for e in logged)
    activity.close()
    store.close()


async def test_the_demo_keeps_logging_flights_and_logins(tmp_path: Path) -> None:
    """A demo's docks take off and land on their own; a Pilot login is an event too."""
    data_dir = tmp_path / "station"
    settings = load_settings(data_dir)
    settings.station.host = settings.station.public_host = "127.0.0.1"
    settings.mqtt.port = settings.http.port = settings.http.https_port = 0
    settings.storage.port = settings.ntp.port = settings.ntp.fallback_port = 0
    runtime = Runtime(settings, data_dir)
    await runtime.start()
    logged: list[LogEntry] = []
    runtime.station.bus.subscribe(LogEntry, logged.append)
    fleet: FleetThread | None = None
    try:
        s = settings
        fleet = FleetThread(
            FleetOptions(
                broker_url=f"mqtt://{s.mqtt.device_username}:{s.mqtt.device_password}"
                f"@127.0.0.1:{runtime.station.mqtt_port}",
                docks=1,
                pilots=0,
                binding_code=s.station.binding_code,
                organization_id=s.station.workspace_id,
                speedup=40.0,
                patrol_every_s=30.0,
            )
        )
        fleet.start()
        http = next(ep.url for ep in runtime.endpoints() if ep.name == "http")
        async with aiohttp.ClientSession() as session:
            for password in ("wrong", s.pilot.default_password):
                body = {"username": s.pilot.default_user, "password": password, "flag": 2}
                async with session.post(http.rstrip("/") + "/manage/api/v1/login", json=body):
                    pass

        def kinds(word: str) -> list[str]:
            return [e.message for e in logged if word in e.message]

        deadline = time.monotonic() + 60
        while not (kinds("took off") and kinds("landed")):
            assert time.monotonic() < deadline, [e.message for e in logged]
            await asyncio.sleep(0.1)
        logins = [(e.level, e.message) for e in logged if e.kind == "login"]
        assert logins[0][0] == "warning" and "refused" in logins[0][1]
        assert logins[1][0] == "info" and "logged in (Pilot) from 127.0.0.1" in logins[1][1]
        assert any(e.kind == "task" for e in logged)
    finally:
        if fleet is not None:
            await asyncio.get_running_loop().run_in_executor(None, fleet.stop)
        await runtime.stop()
