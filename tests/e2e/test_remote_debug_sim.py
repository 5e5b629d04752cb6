"""End to end with the simulator through the HTTP API and the WebSocket (issue: dock
operations): debug mode, a cover job followed to its end by its progress pushes, a refusal of
the device explained, a setting written and seen in the dock's next state, and HMS alarms the
simulated dock raises reaching the HTTP API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from command_peers import runtime
from waits import async_wait_until as until

from gcs.runtime import ThreadedRuntime
from gcs.sim import Fleet, FleetOptions

__all__ = ["runtime"]

pytestmark = pytest.mark.slow


@pytest.fixture
async def fleet(runtime: ThreadedRuntime) -> AsyncIterator[Fleet]:
    s = runtime.runtime.settings
    st = runtime.runtime.station
    url = f"mqtt://{s.mqtt.device_username}:{s.mqtt.device_password}@127.0.0.1:{st.mqtt_port}"
    options = FleetOptions(
        url,
        docks=2,  # a Dock 1 and a Dock 2
        seed=21,
        speedup=10.0,
        binding_code=s.station.binding_code,
        organization_id=s.station.workspace_id,
    )
    fleet = Fleet(options)
    await fleet.start(timeout_s=30)
    try:
        for dock in fleet.docks:
            await until(
                lambda d=dock: (v := st.registry.view(d.sn)) is not None and v.bound,
                30,
                "the docks bound",
            )
        yield fleet
    finally:
        await fleet.stop()


async def test_remote_debugging_with_the_simulator(runtime: ThreadedRuntime, fleet: Fleet) -> None:
    s = runtime.runtime.settings
    st = runtime.runtime.station
    url = next(ep.url for ep in runtime.runtime.endpoints() if ep.name == "http")
    base = "http://127.0.0.1:" + url.rsplit(":", 1)[1].split("/", 1)[0]
    dock = fleet.docks[1]
    jobs = f"{base}/control/api/v1/devices/{dock.sn}/jobs"
    async with aiohttp.ClientSession() as session:
        login = {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": 1}
        async with session.post(f"{base}/manage/api/v1/login", json=login) as r:
            token = (await r.json())["data"]["access_token"]
        session.headers["x-auth-token"] = token
        await until(
            lambda: st.telemetry.current(dock.sn).get("mode_code") == 0, 30, "the dock idle"
        )
        async with session.post(f"{jobs}/cover_open") as r:
            refused = await r.json()
        assert r.status == 200 and refused["code"] == 212016, refused

        async with session.post(f"{jobs}/debug_mode_open") as r:
            assert (await r.json())["data"]["status"] == "ok"
        await until(lambda: st.telemetry.current(dock.sn).get("mode_code") == 2, 30, "debug mode")
        async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
            async with session.post(f"{jobs}/cover_open") as r:
                started = (await r.json())["data"]
            assert started["status"] in ("running", "in_progress"), started
            statuses: list[str] = []
            percents: list[Any] = []
            while "ok" not in statuses:
                frame = json.loads((await ws.receive(timeout=30)).data)
                if frame["biz_code"] == "cover_open" and frame["data"]["bid"] == started["bid"]:
                    statuses.append(frame["data"]["output"]["status"])
                    percents.append(frame["data"]["output"]["progress"]["percent"])
            assert "in_progress" in statuses and percents[-1] == 100

        # A device refusal comes back as its DJI code, explained.
        async with session.post(f"{jobs}/putter_open") as r:
            body = await r.json()
        assert body["code"] != 0 and body["message"], body

        # A setting goes out as property/set and shows in the dock's next state.
        ws_id = s.station.workspace_id
        async with session.put(
            f"{base}/manage/api/v1/devices/{ws_id}/devices/{dock.sn}/property",
            json={"silent_mode": 1},
        ) as r:
            assert (await r.json())["code"] == 0
        await until(
            lambda: st.telemetry.current(dock.sn).get("silent_mode") == 1,
            30,
            "silent mode in the dock's state",
        )
        async with session.get(f"{jobs}") as r:
            history = (await r.json())["data"]["list"]
        methods = [h["method"] for h in history]
        assert {"cover_open", "debug_mode_open", "property/set"} <= set(methods)
        assert all(h["actor"].startswith("api:") for h in history)
