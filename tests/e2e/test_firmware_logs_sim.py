"""End to end with the simulator, through the HTTP API and the WebSocket: a firmware package is
imported, a simulated dock and its aircraft download it from the station's store (size and MD5
checked), report `ota_progress` and then their new versions; an injected failure comes back
explained; the dock lists its logs by boot index, packs real tar.gz archives and uploads them
through the S3 API with the credentials it was given, and the operator downloads them."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from command_peers import runtime
from waits import async_wait_until as until

from gcs.runtime import ThreadedRuntime
from gcs.sim import Fleet, FleetOptions, SimDock
from gcs.sim import logs as sim_logs
from gcs.sim import ota as sim_ota

__all__ = ["runtime"]

pytestmark = pytest.mark.slow


@pytest.fixture
async def fleet(runtime: ThreadedRuntime) -> AsyncIterator[Fleet]:
    s = runtime.runtime.settings
    st = runtime.runtime.station
    url = f"mqtt://{s.mqtt.device_username}:{s.mqtt.device_password}@127.0.0.1:{st.mqtt_port}"
    options = FleetOptions(
        url,
        docks=1,
        seed=13,
        speedup=10.0,
        binding_code=s.station.binding_code,
        organization_id=s.station.workspace_id,
    )
    fleet = Fleet(options)
    await fleet.start(timeout_s=30)
    try:
        dock = fleet.docks[0]
        await until(
            lambda: (v := st.registry.view(dock.sn)) is not None and v.bound and v.sub_devices,
            30,
            "the dock bound with its aircraft",
        )
        yield fleet
    finally:
        await fleet.stop()


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    url = next(ep.url for ep in runtime.runtime.endpoints() if ep.name == "http")
    base = "http://127.0.0.1:" + url.rsplit(":", 1)[1].split("/", 1)[0]
    async with aiohttp.ClientSession() as session:
        login = {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": 1}
        async with session.post(f"{base}/manage/api/v1/login", json=login) as r:
            session.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
        yield session, base


async def frames_until(
    ws: aiohttp.ClientWebSocketResponse, code: str, done: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    seen = []
    while True:
        frame = json.loads((await ws.receive(timeout=60)).data)
        if frame["biz_code"] == code:
            seen.append(frame["data"])
            if done(frame["data"]):
                return seen


async def upload_package(
    session: aiohttp.ClientSession, lib: str, name: str, model: str, body: bytes
) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", body, filename=name)
    form.add_field("device_name", model)
    form.add_field("release_note", f"{name} for the test")
    async with session.post(f"{lib}/file/upload", data=form) as r:
        answer = await r.json()
    assert answer["code"] == 0, answer
    return dict(answer["data"])


async def test_ota_and_logs_with_the_simulator(
    runtime: ThreadedRuntime, fleet: Fleet, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    dock: SimDock = fleet.docks[0]
    ws_id = runtime.runtime.settings.station.workspace_id
    lib = f"{base}/manage/api/v1/workspaces/{ws_id}/firmwares"
    await upload_package(session, lib, "dock_99.01.0001.bin", dock.model_key, b"D" * 150_000)
    await upload_package(
        session, lib, "aircraft_99.02.0002.bin", dock.aircraft_model_key, b"A" * 90_000
    )

    async def needs() -> dict[str, dict[str, Any]]:
        async with session.get(f"{lib}/devices") as r:
            return {d["sn"]: d for d in (await r.json())["data"]["list"]}

    before = await needs()
    assert before[dock.sn]["need"] == "normal" and before[dock.aircraft_sn]["need"] == "normal"
    assert before[dock.sn]["firmware_version"] == dock.product.gateway_firmware

    token = session.headers["x-auth-token"]
    ota_url = f"{base}/manage/api/v1/devices/{ws_id}/devices/ota"
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        targets = [{"sn": dock.sn}, {"sn": dock.aircraft_sn}]
        async with session.post(ota_url, json=targets) as r:
            answer = await r.json()
        assert answer["code"] == 0, answer
        [job] = answer["data"]
        assert set(job["devices"]) == {dock.sn, dock.aircraft_sn}
        seen = await frames_until(
            ws, "ota_progress", lambda d: d["output"]["status"] not in ("in_progress", "running")
        )
    assert seen[-1]["output"]["status"] == "ok", seen[-1]
    steps = {d["output"]["progress"]["current_step"] for d in seen}
    assert {"download_firmware", "upgrade_firmware"} <= steps
    percents = [p for d in seen if (p := d["output"]["progress"]["percent"]) is not None]
    assert percents == sorted(percents) and percents[-1] == 100
    assert sim_ota.state_of(dock).installed == [
        (dock.sn, "99.01.0001"),
        (dock.aircraft_sn, "99.02.0002"),
    ]
    deadline = time.monotonic() + 20
    while (after := await needs())[dock.sn]["need"] or after[dock.aircraft_sn]["need"]:
        assert time.monotonic() < deadline, after
        await asyncio.sleep(0.1)
    assert after[dock.sn]["firmware_version"] == "99.01.0001"
    assert after[dock.aircraft_sn]["firmware_version"] == "99.02.0002"

    # an injected failure during flashing comes back with its code and meaning
    await upload_package(session, lib, "dock_99.01.0002.bin", dock.model_key, b"E" * 10_000)
    sim_ota.state_of(dock).fail_with = 312016
    telemetry = runtime.runtime.station.telemetry
    await until(lambda: telemetry.current(dock.sn).get("mode_code") == 0, 20, "the dock idle")
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        async with session.post(ota_url, json=[{"sn": dock.sn}]) as r:
            assert (await r.json())["code"] == 0
        seen = await frames_until(ws, "ota_progress", lambda d: d["result"] != 0)
    assert seen[-1]["output"]["status"] == "failed" and seen[-1]["result"] == 312016
    assert "link" in seen[-1]["message"]

    # remote logs: list, upload chosen boots, follow, download the real archive
    logs_url = f"{base}/manage/api/v1/workspaces/{ws_id}/devices/{dock.sn}/logs"
    async with session.get(logs_url, params={"domain_list": "0,3"}) as r:
        files = {f["module"]: f for f in (await r.json())["data"]["files"]}
    dock_boots = [b["boot_index"] for b in files["3"]["list"]]
    ac_boots = [b["boot_index"] for b in files["0"]["list"]]
    assert len(dock_boots) >= 3 and ac_boots and files["0"]["device_sn"] == dock.aircraft_sn
    request = {
        "logs_information": "test",
        "files": [
            {"module": "3", "list": [{"boot_index": i} for i in dock_boots[:2]]},
            {"module": "0", "list": [{"boot_index": ac_boots[0]}]},
        ],
    }
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        async with session.post(logs_url, json=request) as r:
            answer = await r.json()
        assert answer["code"] == 0, answer
        upload = answer["data"]
        seen = await frames_until(
            ws, "fileupload_progress", lambda d: d["output"]["status"] in ("ok", "failed")
        )
    assert seen[-1]["output"]["status"] == "ok", seen[-1]
    assert {"file_pull", "file_zip", "file_uploading"} <= {d["output"]["status"] for d in seen}
    link = f"{base}/manage/api/v1/workspaces/{ws_id}/logs/{upload['logs_id']}/url/3"
    async with session.get(link) as r:
        url = (await r.json())["data"]
    async with aiohttp.ClientSession() as plain, plain.get(url) as r:
        archive = await r.read()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        names = sorted(tar.getnames())
        first = tar.extractfile(names[0])
        assert first is not None and b"boot=" in first.read()
    assert names == sorted(f"{dock.sn}/boot_{i}.log" for i in dock_boots[:2])
    final = seen[-1]["output"]["files"]  # the web console's per-file view
    assert {f["device_model_domain"]: f["progress"] for f in final} == {"3": 100, "0": 100}
    async with session.get(
        f"{base}/manage/api/v1/workspaces/{ws_id}/devices/{dock.sn}/logs-uploaded"
    ) as r:
        [row] = [u for u in (await r.json())["data"]["list"] if u["logs_id"] == upload["logs_id"]]
    assert {f["module"]: f["size"] for f in row["files"]}["3"] == len(archive)
    assert {f["module"] for f in row["device_logs"]["files"] if f.get("object_key")} == {"3", "0"}

    # cancel: the dock is held before its first step, the cancel reaches it, the upload ends
    book = sim_logs.state_of(dock)
    book.gate = asyncio.Event()
    one = {"files": [{"module": "3", "list": [{"boot_index": dock_boots[2]}]}]}
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        async with session.post(logs_url, json=one) as r:
            held = (await r.json())["data"]
        async with session.delete(logs_url, json={"status": "cancel", "module_list": ["3"]}) as r:
            assert (await r.json())["code"] == 0
        book.gate.set()
        seen = await frames_until(
            ws, "fileupload_progress", lambda d: d["output"]["status"] in ("canceled", "ok")
        )
    assert (
        seen[-1]["output"]["logs_id"] == held["logs_id"]
        and seen[-1]["output"]["status"] == "canceled"
    )

    # an injected failure comes back with its code
    book.gate = asyncio.Event()
    book.fail_with = 324019
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        async with session.post(logs_url, json=one) as r:
            assert (await r.json())["code"] == 0
        book.gate.set()
        seen = await frames_until(
            ws, "fileupload_progress", lambda d: d["output"]["status"] in ("failed", "ok")
        )
    assert seen[-1]["output"]["status"] == "failed" and seen[-1]["result"] == 324019
    async with session.get(
        f"{base}/manage/api/v1/workspaces/{ws_id}/devices/{dock.sn}/logs-uploaded"
    ) as r:
        uploads = (await r.json())["data"]["list"]
    assert [u["upload_status"] for u in uploads[:3]] == ["failed", "canceled", "ok"]
    assert [u["status"] for u in uploads[:3]] == [4, 3, 2]  # the Demo web console's numbers
