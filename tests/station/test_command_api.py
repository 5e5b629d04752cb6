"""The command path through the HTTP API (§8.4 `control`, the `property` endpoint) and its
WebSocket progress, with a real HTTP client, a WebSocket client and a literal-JSON dock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from command_peers import DOCK, RawDock, runtime, wait_for

from gcs.runtime import ThreadedRuntime

__all__ = ["runtime"]


@pytest.fixture(scope="module")
def bound_dock(runtime: ThreadedRuntime) -> Iterator[RawDock]:
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    d.bind(s.station.binding_code, s.station.workspace_id)
    registry = runtime.runtime.station.registry
    wait_for(lambda: (v := registry.view(DOCK)) is not None and v.bound and v.online, what="bound")
    yield d
    d.close()


def http_base(rt: ThreadedRuntime) -> str:
    url = next(ep.url for ep in rt.runtime.endpoints() if ep.name == "http")
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    base = http_base(runtime)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/manage/api/v1/login",
            json={
                "username": s.pilot.default_user,
                "password": s.pilot.default_password,
                "flag": 1,
            },
        ) as r:
            token = (await r.json())["data"]["access_token"]
        session.headers["x-auth-token"] = token
        yield session, base


def _progress(percent: int, status: str) -> dict[str, Any]:
    return {"result": 0, "output": {"status": status, "progress": {"percent": percent}}}


async def test_remote_debug_job_over_http_with_ws_progress(
    runtime: ThreadedRuntime, bound_dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    bound_dock.osd(mode_code=2, drone_in_dock=1)
    telemetry = runtime.runtime.station.telemetry
    wait_for(lambda: telemetry.current(DOCK).get("mode_code") == 2, what="debug mode")

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        if cmd.get("method") == "cover_open":
            d.reply(cmd, {"result": 0})
        elif cmd.get("method") == "alarm_state_switch":
            d.reply(cmd, {"result": 0})
        else:
            d.reply(cmd, {cmd_key: {"result": 0} for cmd_key in cmd["data"]})

    bound_dock.script = script
    token = session.headers["x-auth-token"]
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        async with session.post(f"{base}/control/api/v1/devices/{DOCK}/jobs/cover_open") as r:
            body = await r.json()
        assert r.status == 200 and body["code"] == 0, body
        job = body["data"]
        assert job["status"] == "running" and job["bid"]
        [sent] = [c for c in bound_dock.sent("cover_open") if c["bid"] == job["bid"]]
        assert sent["data"] == {}
        bound_dock.event("cover_open", job["bid"], _progress(60, "in_progress"))
        bound_dock.event("cover_open", job["bid"], _progress(100, "ok"))
        seen: list[dict[str, Any]] = []
        while not any(m["data"]["output"]["status"] == "ok" for m in seen):
            msg = await ws.receive(timeout=10)
            frame = json.loads(msg.data)
            if frame["biz_code"] == "cover_open":
                seen.append(frame)
        percents = [m["data"]["output"]["progress"]["percent"] for m in seen]
        assert 60 in percents and percents[-1] == 100
        assert all(m["data"]["sn"] == DOCK and m["data"]["bid"] == job["bid"] for m in seen)

    # {"action": n} becomes the service's data (Demo remote-debug switches)
    async with session.post(
        f"{base}/control/api/v1/devices/{DOCK}/jobs/alarm_state_switch", json={"action": 1}
    ) as r:
        body = await r.json()
    assert body["code"] == 0 and body["data"]["status"] == "ok"
    assert bound_dock.sent("alarm_state_switch")[-1]["data"] == {"action": 1}

    async with session.get(f"{base}/control/api/v1/devices/{DOCK}/jobs") as r:
        rows = (await r.json())["data"]["list"]
    assert rows[0]["method"] == "alarm_state_switch" and rows[0]["actor"].startswith("api:")
    assert any(x["job_id"] == job["job_id"] and x["status"] == "ok" for x in rows)


async def test_refusals_and_device_errors_over_http(
    runtime: ThreadedRuntime, bound_dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    bound_dock.osd(mode_code=0, drone_in_dock=1)
    telemetry = runtime.runtime.station.telemetry
    wait_for(lambda: telemetry.current(DOCK).get("mode_code") == 0, what="idle")
    async with session.post(f"{base}/control/api/v1/devices/{DOCK}/jobs/cover_open") as r:
        body = await r.json()
    assert r.status == 200 and body["code"] == 212016 and "debug" in body["message"]
    async with session.post(f"{base}/control/api/v1/devices/{DOCK}/jobs/nonsense") as r:
        assert (await r.json())["code"] == 210005
    async with session.post(f"{base}/control/api/v1/devices/OTHERDOCK9/jobs/cover_open") as r:
        assert r.status == 200 and (await r.json())["code"] == 404
    async with session.post(
        f"{base}/control/api/v1/devices/{DOCK}/jobs/cover_open", data=b"{not json"
    ) as r:
        assert r.status == 200 and (await r.json())["code"] == 400

    bound_dock.script = lambda d, cmd: d.reply(cmd, {"height_limit": {"result": 1}})
    ws_id = runtime.runtime.settings.station.workspace_id
    async with session.put(
        f"{base}/manage/api/v1/devices/{ws_id}/devices/{DOCK}/property", json={"height_limit": 300}
    ) as r:
        body = await r.json()
    assert body["code"] == 1 and "property/set failed" in body["message"]
    bound_dock.script = lambda d, cmd: d.reply(cmd, {k: {"result": 0} for k in cmd["data"]})
    async with session.put(
        f"{base}/manage/api/v1/devices/{ws_id}/devices/{DOCK}/property",
        json={"height_limit": 300, "night_lights_state": 1},
    ) as r:
        body = await r.json()
    assert body["code"] == 0 and set(body["data"]) == {"height_limit", "night_lights_state"}
    sets = bound_dock.sent("property/set")
    assert sets[-2]["data"] == {"height_limit": 300}
    assert sets[-1]["data"] == {"night_lights_state": 1}


async def test_hms_over_http_and_websocket(
    runtime: ThreadedRuntime, bound_dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    import uuid

    from command_peers import now_ms

    session, base = api
    ws_id = runtime.runtime.settings.station.workspace_id
    token = session.headers["x-auth-token"]
    report = {
        "tid": str(uuid.uuid4()),
        "bid": str(uuid.uuid4()),
        "timestamp": now_ms(),
        "gateway": DOCK,
        "method": "hms",
        "need_reply": 0,
        "data": {
            "list": [
                {
                    "level": 2,
                    "module": 3,
                    "in_the_sky": 0,
                    "code": "0x19111800",
                    "device_type": "3-2-0",
                    "imminent": 0,
                    "args": {"component_index": 0, "sensor_index": 0},
                }
            ]
        },
    }
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        bound_dock.publish("events", report)
        while True:
            frame = json.loads((await ws.receive(timeout=10)).data)
            if frame["biz_code"] == "device_hms":
                break
    pushed = frame["data"]
    assert pushed["sn"] == DOCK and pushed["code"] == "0x19111800" and pushed["level"] == 2
    assert "emergency stop" in pushed["message_en"].lower() and pushed["message_zh"]
    assert pushed["update_time"] is None and len(pushed["create_time"]) == 19  # still active

    hms = f"{base}/manage/api/v1/devices/{ws_id}/devices/hms"
    async with session.get(hms, params={"device_sn": DOCK, "update_time": "0"}) as r:
        body = (await r.json())["data"]
    assert body["pagination"]["total"] >= 1
    assert body["list"][0]["key"] == "dock_tip_0x19111800"
    async with session.get(f"{hms}/{DOCK}") as r:
        active = (await r.json())["data"]
    assert [a["code"] for a in active] == ["0x19111800"]
    async with session.put(f"{hms}/{DOCK}") as r:
        assert (await r.json())["data"]["read"] >= 1
    async with session.get(hms, params={"device_sn": DOCK, "update_time": "0"}) as r:
        assert (await r.json())["data"]["pagination"]["total"] == 0
    async with session.get(f"{hms}/NOTMINE001") as r:
        assert r.status == 200 and (await r.json())["code"] == 404
    async with session.get(hms, params={"page_size": "x"}) as r:
        assert r.status == 200 and (await r.json())["code"] == 400


async def test_devices_and_users_for_web_front_ends(
    runtime: ThreadedRuntime, bound_dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    from command_peers import AIRCRAFT

    session, base = api
    s = runtime.runtime.settings
    ws_id = s.station.workspace_id
    async with session.get(f"{base}/manage/api/v1/devices/{ws_id}/devices") as r:
        gateways = (await r.json())["data"]
    dock = next(g for g in gateways if g["device_sn"] == DOCK)
    assert dock["domain"] == 3 and dock["type"] == 2 and dock["status"] is True
    # DJI's web console reads `children` as one object and times as local-time strings
    assert dock["children"]["device_sn"] == AIRCRAFT
    assert dock["firmware_status"] == 1 and dock["payloads_list"] == []
    assert len(dock["bound_time"]) == 19 and dock["workspace_name"]
    async with session.get(
        f"{base}/manage/api/v1/devices/{ws_id}/devices/bound", params={"domain": "0"}
    ) as r:
        page = (await r.json())["data"]
    assert [d["device_sn"] for d in page["list"]] == [AIRCRAFT]
    assert page["pagination"]["total"] == 1
    async with session.get(
        f"{base}/manage/api/v1/devices/{ws_id}/devices/bound", params={"domain": "7"}
    ) as r:
        assert r.status == 200 and (await r.json())["code"] == 400
    async with session.put(
        f"{base}/manage/api/v1/devices/{ws_id}/devices/{DOCK}", json={"nickname": "North dock"}
    ) as r:
        assert (await r.json())["code"] == 0
    registry = runtime.runtime.station.registry
    wait_for(lambda: (v := registry.view(DOCK)) is not None and v.callsign == "North dock")

    async with session.get(f"{base}/manage/api/v1/users/{ws_id}/users") as r:
        users = (await r.json())["data"]["list"]
    me = next(u for u in users if u["username"] == s.pilot.default_user)
    assert "mqtt_password" not in me and me["role"] == "admin"
    async with session.put(
        f"{base}/manage/api/v1/users/{ws_id}/users/{me['user_id']}", json={"password": "x"}
    ) as r:
        assert r.status == 200 and (await r.json())["code"] == 400  # too weak

    async with session.delete(f"{base}/manage/api/v1/devices/{DOCK}/unbinding") as r:
        assert set((await r.json())["data"]["unbound"]) == {DOCK, AIRCRAFT}
    wait_for(lambda: (v := registry.view(DOCK)) is not None and not v.bound, what="unbound")
    async with session.get(f"{base}/manage/api/v1/devices/{ws_id}/devices") as r:
        assert all(g["device_sn"] != DOCK for g in (await r.json())["data"])
    # bind again for the other tests of this module
    bound_dock.bind(s.station.binding_code, ws_id)
    wait_for(lambda: (v := registry.view(DOCK)) is not None and v.bound, what="bound again")
