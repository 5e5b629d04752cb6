"""What DJI's demo web console (dji-sdk/Cloud-API-Demo-Web) reads from the station's WebSocket
and device list on its situational-awareness (TSA) page, against DJI's backend behaviour: a
web-console login gets an aircraft's whole OSD as `device_osd` and the docks' `dock_osd` as
reported, a Pilot login only the map keys; an aircraft's payloads are listed. Real HTTP and
WebSocket clients, a literal-JSON dock with its aircraft."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms, runtime, wait_for

from gcs.runtime import ThreadedRuntime
from gcs.web.topology import OSD_HOST_KEYS

__all__ = ["runtime"]

PAYLOAD = "80-0-0"  # the M3D camera at gimbal position 0


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime) -> Iterator[RawDock]:
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    d.bind(s.station.binding_code, s.station.workspace_id)
    registry = runtime.runtime.station.registry
    wait_for(lambda: (v := registry.view(DOCK)) is not None and v.bound and v.online, what="bound")
    yield d
    d.close()


@pytest.fixture
async def http(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    url = next(ep.url for ep in runtime.runtime.endpoints() if ep.name == "http")
    base = "http://127.0.0.1:" + url.rsplit(":", 1)[1].split("/", 1)[0]
    async with aiohttp.ClientSession() as session:
        yield session, base


async def login(http: tuple[aiohttp.ClientSession, str], rt: ThreadedRuntime, flag: int) -> str:
    session, base = http
    s = rt.runtime.settings
    body = {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": flag}
    async with session.post(f"{base}/manage/api/v1/login", json=body) as r:
        return str((await r.json())["data"]["access_token"])


def aircraft_message(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    body = {"tid": str(uuid.uuid4()), "bid": str(uuid.uuid4()), "timestamp": now_ms(),
            "gateway": DOCK, "data": data}  # fmt: skip
    return f"thing/product/{AIRCRAFT}/{kind}", json.dumps(body)


async def frames(ws: aiohttp.ClientWebSocketResponse, until: Any) -> list[dict[str, Any]]:
    """Frames received until one satisfies `until` (that one included)."""
    seen = []
    while True:
        doc = json.loads((await ws.receive(timeout=10)).data)
        seen.append(doc)
        if until(doc):
            return seen


async def test_tsa_osd_for_web_consoles_and_pilots(
    runtime: ThreadedRuntime, dock: RawDock, http: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = http
    web_token, pilot_token = await login(http, runtime, 1), await login(http, runtime, 2)
    ws_url = f"{base}/api/v1/ws?x-auth-token="
    async with (
        session.ws_connect(ws_url + web_token) as console,
        session.ws_connect(ws_url + pilot_token) as pilot,
    ):
        # a dock's basic OSD (one of its three partial reports), then its aircraft's OSD
        basic = {"mode_code": 0, "cover_state": 0, "drone_in_dock": 1, "latitude": 22.5,
                 "longitude": 113.9, "height": 30.5}  # fmt: skip
        dock.osd(**basic)
        osd = {"latitude": 22.6, "longitude": 113.95, "height": 80.5, "elevation": 50.0,
               "attitude_head": 90.0, "horizontal_speed": 5.0, "vertical_speed": 0.0,
               "mode_code": 5, "gear": 1,
               "battery": {"capacity_percent": 76, "return_home_power": 20, "landing_power": 10},
               PAYLOAD: {"payload_index": PAYLOAD, "gimbal_pitch": -30.0}}  # fmt: skip
        dock.c.publish(*aircraft_message("osd", osd), qos=1)

        def aircraft_osd(doc: dict[str, Any]) -> bool:
            return doc["biz_code"] == "device_osd" and doc["data"]["sn"] == AIRCRAFT

        seen = await frames(console, aircraft_osd)
        host = seen[-1]["data"]["host"]
        # what the console's TSA panel reads (it threw on a map-only host)
        assert host["battery"]["capacity_percent"] == 76 and host["mode_code"] == 5
        assert host["gear"] == 1 and host[PAYLOAD]["gimbal_pitch"] == -30.0
        [dock_osd] = [d["data"] for d in seen if d["biz_code"] == "dock_osd"]
        assert dock_osd == {"sn": DOCK, "host": basic}  # as the dock reported it
        assert not [d for d in seen if d["biz_code"] == "device_osd" and d["data"]["sn"] == DOCK]

        seen = await frames(pilot, aircraft_osd)
        assert set(seen[-1]["data"]["host"]) <= set(OSD_HOST_KEYS)  # Pilot: the map keys
        assert seen[-1]["data"]["host"]["latitude"] == 22.6
        assert not [d for d in seen if d["biz_code"] == "dock_osd"]


async def test_devices_list_the_aircrafts_payloads(
    runtime: ThreadedRuntime, dock: RawDock, http: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = http
    state = {"payloads": [{"control_source": "A", "payload_index": PAYLOAD, "sn": "PL0001"}]}
    dock.c.publish(*aircraft_message("state", state), qos=1)
    osd = {"latitude": 22.6, "longitude": 113.95, "height": 80.5,
           PAYLOAD: {"payload_index": PAYLOAD, "gimbal_pitch": -30.0}}  # fmt: skip
    dock.c.publish(*aircraft_message("osd", osd), qos=1)
    telemetry = runtime.runtime.station.telemetry
    wait_for(lambda: telemetry.current(AIRCRAFT).get("payloads"), what="aircraft state")
    ws_id = runtime.runtime.settings.station.workspace_id
    session.headers["x-auth-token"] = await login(http, runtime, 1)
    async with session.get(f"{base}/manage/api/v1/devices/{ws_id}/devices") as r:
        gateways = (await r.json())["data"]
    [docked] = [g for g in gateways if g["device_sn"] == DOCK]
    assert docked["payloads_list"] == []
    assert docked["children"]["payloads_list"] == [
        {
            "payload_sn": "PL0001",
            "payload_name": "M3D camera",
            "index": 0,
            "payload_index": PAYLOAD,
            "model": "1-80-0",
            "control_source": "A",
        }
    ]


async def test_online_and_offline_reach_a_web_console_once_with_the_sn(
    runtime: ThreadedRuntime, dock: RawDock, http: tuple[aiohttp.ClientSession, str]
) -> None:
    """The console's TSA page re-reads the devices on `device_online`/`device_offline` and reads
    `data.sn` (DJI's backend: the topology entry, once)."""
    session, base = http
    token = await login(http, runtime, 1)
    registry = runtime.runtime.station.registry
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as console:
        dock.online(aircraft="")  # the aircraft leaves the dock's topology
        wait_for(lambda: not (v := registry.view(AIRCRAFT)) or not v.online, what="offline")
        dock.online()
        wait_for(lambda: (v := registry.view(AIRCRAFT)) is not None and v.online, what="online")
        dock.osd(mode_code=0)  # a marker after both

        seen = await frames(console, lambda d: d["biz_code"] == "dock_osd")
        offline = [d["data"] for d in seen if d["biz_code"] == "device_offline"]
        online = [d["data"] for d in seen if d["biz_code"] == "device_online"]
    assert offline == [{"sn": AIRCRAFT, "online_status": False}]
    assert [d["sn"] for d in online] == [AIRCRAFT]
    assert online[0]["online_status"] is True and online[0]["gateway_sn"] == DOCK
