"""Firmware and remote logs through the HTTP API (§8.4 `manage` firmwares, devices/ota, logs) and
their WebSocket pushes (`ota_progress`, `fileupload_progress`, §9), with a real HTTP client, a
WebSocket client, boto3 as the dock's uploader and a literal-JSON dock."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.config import Config
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms, runtime, wait_for

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import LogEntry
from gcs.web.envelope import local_time

__all__ = ["runtime"]


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
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    url = next(ep.url for ep in runtime.runtime.endpoints() if ep.name == "http")
    base = "http://127.0.0.1:" + url.rsplit(":", 1)[1].split("/", 1)[0]
    async with aiohttp.ClientSession() as session:
        login = {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": 1}
        async with session.post(f"{base}/manage/api/v1/login", json=login) as r:
            session.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
        yield session, base


async def next_frame(ws: aiohttp.ClientWebSocketResponse, code: str, until: Any) -> dict[str, Any]:
    while True:
        frame = json.loads((await ws.receive(timeout=10)).data)
        if frame["biz_code"] == code and until(frame["data"]):
            return dict(frame["data"])


async def test_firmware_over_http_with_ota_progress_on_the_websocket(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    ws_id = runtime.runtime.settings.station.workspace_id
    lib = f"{base}/manage/api/v1/workspaces/{ws_id}/firmwares"
    body = b"DJI firmware package " * 100_000  # 2.1 MB: more than a JSON request may carry
    form = aiohttp.FormData()
    form.add_field("file", body, filename="dock2_10.01.3000.zip")
    form.add_field("device_name", "DJI Dock 2")
    form.add_field("release_note", "fixes the cover motor")
    form.add_field("status", "true")
    async with session.post(f"{lib}/file/upload", data=form) as r:
        answer = await r.json()
    assert answer["code"] == 0, answer
    firmware = answer["data"]
    assert firmware["product_version"] == "10.01.3000"  # read from the file name
    assert firmware["file_md5"] == hashlib.md5(body).hexdigest()
    assert firmware["file_size"] == len(body) and firmware["device_name"] == ["DJI Dock 2"]

    bad = aiohttp.FormData()
    bad.add_field("file", b"x", filename="package.zip")
    bad.add_field("device_name", "DJI Dock 2")
    async with session.post(f"{lib}/file/upload", data=bad) as r:
        answer = await r.json()
    assert r.status == 200 and answer["code"] == 400 and "product_version" in answer["message"]

    async with session.put(f"{lib}/{firmware['firmware_id']}", json={"status": False}) as r:
        assert (await r.json())["code"] == 0
    async with session.get(lib, params={"status": "false"}) as r:
        listed = (await r.json())["data"]
    assert [f["firmware_id"] for f in listed["list"]] == [firmware["firmware_id"]]
    async with session.put(f"{lib}/{firmware['firmware_id']}", json={"status": True}) as r:
        assert (await r.json())["code"] == 0
    notes_url = f"{base}/manage/api/v1/workspaces/firmware-release-notes/latest"
    async with session.get(notes_url, params={"device_name": "DJI Dock 2"}) as r:
        notes = (await r.json())["data"]
    assert notes[0]["product_version"] == "10.01.3000"
    assert notes[0]["release_note"] == "fixes the cover motor"

    dock.osd(mode_code=0, emergency_stop_state=0)
    dock.publish(
        "state",
        {
            "tid": str(uuid.uuid4()),
            "bid": str(uuid.uuid4()),
            "timestamp": now_ms(),
            "gateway": DOCK,
            "data": {"firmware_version": "10.01.1612", "compatible_status": 0},
        },
    )
    telemetry = runtime.runtime.station.telemetry
    wait_for(lambda: telemetry.current(DOCK).get("firmware_version") == "10.01.1612")
    wait_for(lambda: telemetry.current(DOCK).get("emergency_stop_state") == 0)
    async with session.get(f"{lib}/devices") as r:
        devices = {d["sn"]: d for d in (await r.json())["data"]["list"]}
    assert devices[DOCK]["need"] == "normal" and devices[DOCK]["firmware_upgrade_type"] == 3
    assert devices[DOCK]["latest_version"] == "10.01.3000"

    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0, "output": {"status": "in_progress"}})
    token = session.headers["x-auth-token"]
    ota_url = f"{base}/manage/api/v1/devices/{ws_id}/devices/ota"
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        async with session.post(ota_url, json=[{"sn": DOCK, "firmware_upgrade_type": 3}]) as r:
            answer = await r.json()
        assert answer["code"] == 0, answer
        [job] = answer["data"]
        assert job["sn"] == DOCK and job["status"] == "running" and job["devices"] == [DOCK]
        [sent] = dock.sent("ota_create")
        assert sent["data"]["devices"][0]["firmware_upgrade_type"] == 3
        out = {"status": "in_progress", "progress": {"percent": 45, "current_step": "download"}}
        dock.event("ota_progress", job["bid"], {"result": 0, "output": out})
        pushed = await next_frame(ws, "ota_progress", lambda d: d["output"]["progress"]["percent"])
        assert pushed["sn"] == DOCK and pushed["bid"] == job["bid"]
        assert pushed["output"] == {
            "status": "in_progress",
            "progress": {"percent": 45, "current_step": "download"},
        }
        out = {"status": "ok", "progress": {"percent": 100, "current_step": "upgrade_firmware"}}
        dock.event("ota_progress", job["bid"], {"result": 0, "output": out})
        await next_frame(ws, "ota_progress", lambda d: d["output"]["status"] == "ok")

    # refusals answer with the station's code and a sentence
    dock.osd(mode_code=0, emergency_stop_state=1)
    wait_for(lambda: telemetry.current(DOCK).get("emergency_stop_state") == 1)
    async with session.post(ota_url, json=[{"sn": DOCK}]) as r:
        answer = await r.json()
    # a web-console endpoint: HTTP 200 with the code, as DJI's backend answers
    assert r.status == 200 and answer["code"] == 212016 and "emergency" in answer["message"]
    dock.osd(emergency_stop_state=0)
    async with session.post(ota_url, json=[{"sn": "NOTMINE0001"}]) as r:
        answer = await r.json()
    assert r.status == 200 and answer["code"] == 404 and "NOTMINE0001" in answer["message"]
    async with session.post(ota_url, json=[{"sn": DOCK, "firmware_upgrade_type": 7}]) as r:
        assert r.status == 200 and (await r.json())["code"] == 400


async def test_ota_progress_names_each_upgraded_device(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    """DJI's backend pushes `ota_progress` per upgraded device (the web console marks the row
    whose device_sn is `sn`): upgrading the dock's aircraft names the aircraft, not the dock."""
    session, base = api
    ws_id = runtime.runtime.settings.station.workspace_id
    form = aiohttp.FormData()
    form.add_field("file", b"aircraft package" * 1000, filename="m3d_10.01.2000.zip")
    form.add_field("device_name", "Matrice 3D")
    form.add_field("status", "true")
    lib = f"{base}/manage/api/v1/workspaces/{ws_id}/firmwares"
    async with session.post(f"{lib}/file/upload", data=form) as r:
        assert (await r.json())["code"] == 0
    dock.osd(mode_code=0, emergency_stop_state=0)
    telemetry = runtime.runtime.station.telemetry
    wait_for(lambda: telemetry.current(DOCK).get("emergency_stop_state") == 0)
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0, "output": {"status": "in_progress"}})
    token = session.headers["x-auth-token"]
    ota_url = f"{base}/manage/api/v1/devices/{ws_id}/devices/ota"
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        wanted = [{"sn": AIRCRAFT, "product_version": "10.01.2000", "firmware_upgrade_type": 3}]
        async with session.post(ota_url, json=wanted) as r:
            answer = await r.json()
        assert answer["code"] == 0, answer
        [job] = answer["data"]
        assert job["sn"] == DOCK and job["devices"] == [AIRCRAFT]  # sent to the dock
        out = {"status": "in_progress", "progress": {"percent": 30, "current_step": "download"}}
        dock.event("ota_progress", job["bid"], {"result": 0, "output": out})
        pushed = await next_frame(ws, "ota_progress", lambda d: d["output"]["progress"]["percent"])
        assert pushed["sn"] == AIRCRAFT and pushed["bid"] == job["bid"]
        out = {"status": "ok", "progress": {"percent": 100, "current_step": "upgrade_firmware"}}
        dock.event("ota_progress", job["bid"], {"result": 0, "output": out})
        done = await next_frame(ws, "ota_progress", lambda d: d["output"]["status"] == "ok")
        assert done["sn"] == AIRCRAFT


def _s3(grant: dict[str, Any]) -> Any:
    c = grant["credentials"]
    return boto3.client(
        "s3",
        endpoint_url=grant["endpoint"],
        aws_access_key_id=c["access_key_id"],
        aws_secret_access_key=c["access_key_secret"],
        aws_session_token=c["security_token"] or None,
        region_name=grant["region"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


async def test_remote_logs_over_http_with_fileupload_progress(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    ws_id = runtime.runtime.settings.station.workspace_id
    logs_url = f"{base}/manage/api/v1/workspaces/{ws_id}/devices/{DOCK}/logs"
    listing = {
        "result": 0,
        "files": [
            {
                "device_sn": DOCK,
                "module": "3",
                "result": 0,
                "list": [{"boot_index": 52, "start_time": 1, "end_time": 2, "size": 2048}],
            },
            {"device_sn": AIRCRAFT, "module": "0", "result": 324015, "list": []},
        ],
    }

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        d.reply(cmd, listing if cmd.get("method") == "fileupload_list" else {"result": 0})

    dock.script = script
    async with session.get(logs_url, params={"domain_list": "0,3"}) as r:
        files = (await r.json())["data"]["files"]
    assert files[0]["list"][0]["boot_index"] == 52 and files[1]["result"] == 324015

    token = session.headers["x-auth-token"]
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as ws:
        # the demo web console sends back the rows it picked, times and size included
        happen = now_ms()
        boot = {"boot_index": 52, "start_time": 1_700_000_000, "end_time": 1_700_003_600,
                "size": 2048}  # fmt: skip
        request = {
            "device_sn": DOCK,
            "logs_information": "cover stuck",
            "happen_time": happen,
            "files": [{"device_sn": DOCK, "module": "3", "list": [boot]}],
        }
        async with session.post(logs_url, json=request) as r:
            answer = await r.json()
        assert answer["code"] == 0, answer
        upload = answer["data"]
        [start] = dock.sent("fileupload_start")
        grant = start["data"]
        key = grant["params"]["files"][0]["object_key"]
        assert grant["params"]["files"][0]["list"] == [{"boot_index": 52}]  # §15: indexes only
        assert grant["credentials"]["expire"] > now_ms()
        archive = b"\x1f\x8b\x08" + b"dock log line\n" * 300
        # step 2 of 3 at 50 %: DJI's backend shows ((2 - 1) * 100 + 50) / 3 = 50 %
        item = {
            "module": "3",
            "size": 0,
            "device_sn": DOCK,
            "key": key,
            "fingerprint": "",
            "progress": {"progress": 50, "current_step": 2, "total_step": 3,
                         "status": "file_uploading", "upload_rate": 1024.5, "result": 0},
        }  # fmt: skip
        out = {"status": "file_uploading", "ext": {"files": [item]}}
        dock.event("fileupload_progress", upload["bid"], {"result": 0, "output": out}, need_reply=0)
        first = await next_frame(ws, "fileupload_progress", lambda d: True)
        # exactly what DJI's backend pushes (EventsReceiver<LogsOutputProgressDTO>)
        assert first == {
            "sn": DOCK,
            "bid": upload["bid"],
            "result": 0,
            "output": {
                "logs_id": upload["logs_id"],
                "status": "file_uploading",
                "files": [
                    {
                        "device_sn": DOCK,
                        "device_model_domain": "3",
                        "progress": 50,
                        "result": 0,
                        "upload_rate": 1024.5,
                        "status": "file_uploading",
                    }
                ],
            },
        }
        async with session.get(
            f"{base}/manage/api/v1/workspaces/{ws_id}/devices/{DOCK}/logs-uploaded",
            params={"page": 1, "page_size": 50},
        ) as r:
            running = (await r.json())["data"]
        assert running["pagination"] == {"page": 1, "page_size": 50, "total": 1}
        assert running["list"][0]["status"] == 1  # uploading: the console shows a progress bar
        assert running["list"][0]["logs_progress"][0]["progress"] == 50
        assert "object_key" not in running["list"][0]["device_logs"]["files"][0]  # not yet

        _s3(grant).put_object(Bucket=grant["bucket"], Key=key, Body=archive)
        item = {
            **item,
            "size": len(archive),
            "fingerprint": hashlib.md5(archive).hexdigest(),
            "progress": {"progress": 100, "current_step": 3, "total_step": 3, "status": "ok",
                         "upload_rate": 0, "result": 0},
        }  # fmt: skip
        out = {"status": "ok", "ext": {"files": [item]}}
        dock.event("fileupload_progress", upload["bid"], {"result": 0, "output": out}, need_reply=0)
        pushed = await next_frame(
            ws, "fileupload_progress", lambda d: d["output"]["status"] == "ok"
        )
    assert pushed["output"]["logs_id"] == upload["logs_id"]
    assert pushed["output"]["files"][0]["progress"] == 100
    assert pushed["output"]["files"][0]["status"] == "ok"

    async with session.get(
        f"{base}/manage/api/v1/workspaces/{ws_id}/devices/{DOCK}/logs-uploaded"
    ) as r:
        rows = (await r.json())["data"]["list"]
    row = rows[0]
    # the fields DJI's demo web console reads (DeviceLogsDTO), with their exact types
    assert row["logs_id"] == upload["logs_id"] and row["logs_information"] == "cover stuck"
    assert row["status"] == 2 and row["upload_status"] == "ok"  # Demo: 2 = done
    assert row["user_name"] == runtime.runtime.settings.pilot.default_user
    assert row["happen_time"] == local_time(happen)  # "yyyy-MM-dd HH:mm:ss", local time
    assert row["create_time"] == local_time(row["create_time_ms"])
    assert [h["sn"] for h in row["device_topo"]["hosts"]] == [AIRCRAFT]
    [parent] = row["device_topo"]["parents"]
    assert parent["sn"] == DOCK and parent["device_model"]["device_model_key"] == "3-2-0"
    assert row["device_topo"]["hosts"][0]["device_model"]["device_model_key"] == "0-91-0"
    assert row["logs_progress"][0]["progress"] == 100
    assert row["device_logs"] == {
        "files": [
            {
                "device_sn": DOCK,
                "module": "3",
                "file_id": "3",
                "object_key": key,
                "list": [boot],
            }
        ]
    }
    link = f"{base}/manage/api/v1/workspaces/{ws_id}/logs/{upload['logs_id']}/url/3"
    async with session.get(link) as r:
        url = (await r.json())["data"]
    async with aiohttp.ClientSession() as plain, plain.get(url) as r:
        assert await r.read() == archive
    # refusals of the web console's endpoints: HTTP 200, a DJI-style code and a sentence
    async with session.get(
        f"{base}/manage/api/v1/workspaces/{ws_id}/logs/{upload['logs_id']}/url/0"
    ) as r:
        answer = await r.json()
    assert r.status == 200 and answer["code"] == 201404 and "no file 0" in answer["message"]

    async with session.delete(logs_url, json={"status": "cancel", "module_list": ["3"]}) as r:
        assert (await r.json())["code"] == 0
    assert dock.sent("fileupload_update")[-1]["data"] == {"status": "cancel", "module_list": ["3"]}
    async with session.delete(f"{logs_url}/{upload['logs_id']}") as r:
        assert (await r.json())["code"] == 0
    async with session.get(link) as r:
        assert r.status == 200 and (await r.json())["code"] == 404
    async with session.post(logs_url, json={"files": []}) as r:
        answer = await r.json()
    assert r.status == 200 and answer["code"] == 400 and "files" in answer["message"]


async def test_web_console_endpoints_answer_errors_like_djis_backend(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    """DJI's demo web console shows `message` only for HTTP 200 + code ≠ 0 (else just
    "ERROR_CODE: <status>"), and goes back to its login page on 401; Pilot acts on statuses."""
    session, base = api
    ws_id = runtime.runtime.settings.station.workspace_id
    uploaded = f"/manage/api/v1/workspaces/{ws_id}/devices/{DOCK}/logs-uploaded"
    other = f"/manage/api/v1/workspaces/{uuid.uuid4()}/devices/{DOCK}/logs-uploaded"
    async with session.get(base + other) as r:
        answer = await r.json()
    assert r.status == 200 and answer["code"] == 403 and "not a member" in answer["message"]
    async with session.get(base + uploaded, params={"page": "x"}) as r:
        answer = await r.json()
    assert r.status == 200 and answer["code"] == 400 and "page" in answer["message"]
    # no token, or a bad one: 401 everywhere (the console's interceptor goes to its login page)
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(base + uploaded) as r:
            assert r.status == 401 and (await r.json())["code"] == 401
        async with anonymous.get(base + uploaded, headers={"x-auth-token": "nonsense"}) as r:
            assert r.status == 401
    # Pilot's own endpoints (§8.2) keep the HTTP statuses Pilot acts on
    async with session.get(
        f"{base}/manage/api/v1/workspaces/{uuid.uuid4()}/devices/topologies"
    ) as r:
        assert r.status == 403 and (await r.json())["code"] == 403
    async with session.get(
        f"{base}/wayline/api/v1/workspaces/{ws_id}/waylines", params={"order_by": "size desc"}
    ) as r:
        assert r.status == 400 and (await r.json())["code"] == 400
    # an unrouted path is a plain 404, as DJI's backend answers it
    async with session.get(f"{base}/manage/api/v1/nowhere") as r:
        assert r.status == 404


RC = "5YSZL260021E9T"
RC_AIRCRAFT = "1581F5BKD225D00A"


async def test_ota_is_refused_for_a_remote_controller_and_its_aircraft(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    """DJI's cloud firmware upgrade is for docks only: an RC (DJI RC Plus + M350) bound to the
    workspace is not offered, and an upgrade asked for it is refused in words, nothing sent."""
    session, base = api
    s = runtime.runtime.settings
    ws_id = s.station.workspace_id
    rc = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username,
                 s.mqtt.device_password, sn=RC)  # fmt: skip
    try:
        topo = {"domain": "2", "type": 119, "sub_type": 0, "device_secret": "s", "nonce": "n",
                "thing_version": "1.1.2",
                "sub_devices": [{"sn": RC_AIRCRAFT, "domain": "0", "type": 89, "sub_type": 0,
                                 "index": "A", "device_secret": "s", "nonce": "n",
                                 "thing_version": "1.1.2"}]}  # fmt: skip
        rc.publish(
            "status",
            {"tid": str(uuid.uuid4()), "bid": str(uuid.uuid4()), "timestamp": now_ms(),
             "method": "update_topo", "data": topo},
            prefix="sys",
        )  # fmt: skip
        registry = runtime.runtime.station.registry
        wait_for(lambda: (v := registry.view(RC)) is not None and v.online, what="RC online")
        async with session.post(f"{base}/manage/api/v1/devices/{RC}/binding", json={}) as r:
            assert (await r.json())["code"] == 0
        wait_for(lambda: (v := registry.view(RC)) is not None and v.bound, what="RC bound")

        seen: list[LogEntry] = []
        unsubscribe = runtime.submit(_subscribe(runtime, seen)).result(5)
        ota_url = f"{base}/manage/api/v1/devices/{ws_id}/devices/ota"
        try:
            for sn in (RC, RC_AIRCRAFT):
                async with session.post(ota_url, json=[{"sn": sn}]) as r:
                    answer = await r.json()
                assert r.status == 200 and answer["code"] == 210005, answer
                assert f"{RC} is not a dock" in answer["message"]
                [row] = answer["data"]
                assert row["status"] == "refused" and "遥控器" in row["message_zh"]
            wait_for(lambda: sum("is not a dock" in e.message for e in seen) >= 2, what="events")
        finally:
            runtime.submit(_unsubscribe(unsubscribe)).result(5)
        assert rc.sent("ota_create") == []
        async with session.get(f"{base}/manage/api/v1/workspaces/{ws_id}/firmwares/devices") as r:
            offered = {d["sn"] for d in (await r.json())["data"]["list"]}
        assert DOCK in offered and not offered & {RC, RC_AIRCRAFT}
    finally:
        rc.close()


async def _subscribe(runtime: ThreadedRuntime, seen: list[LogEntry]) -> Any:
    return runtime.runtime.station.bus.subscribe(LogEntry, seen.append)


async def _unsubscribe(unsubscribe: Any) -> None:
    unsubscribe()
