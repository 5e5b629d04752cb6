"""Firmware upgrades (§14) and remote logs (§15) against a dock written as literal JSON: what the
dock receives (field names, types, `firmware_upgrade_type` values, `expire` as absolute ms),
and how its `ota_progress` / `fileupload_progress` events drive the station's state."""

from __future__ import annotations

import hashlib
import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms, runtime, wait_for

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import CommandChanged
from gcs.station.firmware import Firmware, FirmwareError, OtaTarget
from gcs.station.remote_logs import LogSelection, LogUploadChanged, RemoteLogs

__all__ = ["runtime"]

DOCK_FW = "10.01.1612"
AIRCRAFT_FW = "10.01.1609"


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


def state(d: RawDock, sn: str, **data: Any) -> None:
    body = {"tid": str(uuid.uuid4()), "bid": str(uuid.uuid4()), "timestamp": now_ms()}
    d.c.publish(
        f"thing/product/{sn}/state", json.dumps({**body, "gateway": DOCK, "data": data}), qos=1
    )


def call[T](rt: ThreadedRuntime, coro: Any, timeout: float = 20) -> T:
    return rt.submit(coro).result(timeout)  # type: ignore[no-any-return]


def package(tmp_path: Path, name: str, size: int) -> tuple[Path, bytes]:
    body = hashlib.sha256(name.encode()).digest() * (size // 32)
    path = tmp_path / name
    path.write_bytes(body)
    return path, body


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return bytes(r.read())


def test_firmware_library_needs_and_ota_create_on_the_wire(
    runtime: ThreadedRuntime, dock: RawDock, tmp_path: Path
) -> None:
    st = runtime.runtime.station
    fw = st.capability(Firmware)
    dock_pkg, dock_bytes = package(tmp_path, "dock2_10.01.2001.zip", 300_000)
    ac_pkg, _ = package(tmp_path, "wm3d_10.01.1609.zip", 70_000)
    row = call(
        runtime,
        fw.import_package(dock_pkg, models=["DJI Dock 2"], version="10.01.2001", release_note="x"),
    )
    assert row.models == ("3-2-0",) and row.size == len(dock_bytes)
    assert row.md5 == hashlib.md5(dock_bytes).hexdigest()
    assert fetch(fw.download_url(row)) == dock_bytes  # really in the object store
    call(runtime, fw.import_package(ac_pkg, models=["0-91-0"], version=AIRCRAFT_FW))
    with pytest.raises(FirmwareError, match="not a firmware version"):
        call(runtime, fw.import_package(ac_pkg, models=["0-91-0"], version="latest"))
    with pytest.raises(FirmwareError, match="neither a device model key"):
        call(runtime, fw.import_package(ac_pkg, models=["Toaster"], version="1.0.0"))

    dock.osd(mode_code=0, emergency_stop_state=0, drone_in_dock=1)
    state(dock, DOCK, firmware_version=DOCK_FW, compatible_status=0, firmware_upgrade_status=0)
    state(dock, AIRCRAFT, firmware_version=AIRCRAFT_FW, compatible_status=1)
    telemetry = st.telemetry
    wait_for(lambda: telemetry.current(AIRCRAFT).get("compatible_status") == 1, what="state")
    wait_for(lambda: telemetry.current(DOCK).get("emergency_stop_state") == 0, what="osd")
    needs = {d.sn: d.need for d in call(runtime, fw.devices())}
    assert needs == {DOCK: "normal", AIRCRAFT: "consistency"}

    changes: list[CommandChanged] = []
    st.bus.subscribe(CommandChanged, changes.append)  # on the station's thread; list.append
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0, "output": {"status": "in_progress"}})
    [started] = call(runtime, fw.upgrade([OtaTarget(DOCK), OtaTarget(AIRCRAFT)]))
    assert started.status == "running" and started.job_id and started.bid
    [sent] = dock.sent("ota_create")
    assert sent["_topic"] == f"thing/product/{DOCK}/services" and sent["bid"] == started.bid
    devices = {d["sn"]: d for d in sent["data"]["devices"]}
    assert set(devices) == {DOCK, AIRCRAFT}
    d0 = devices[DOCK]
    assert set(d0) == {
        "sn",
        "product_version",
        "file_url",
        "md5",
        "file_size",
        "file_name",
        "firmware_upgrade_type",
    }
    assert d0["product_version"] == "10.01.2001" and d0["file_name"] == "dock2_10.01.2001.zip"
    assert d0["md5"] == hashlib.md5(dock_bytes).hexdigest() and d0["file_size"] == len(dock_bytes)
    assert type(d0["file_size"]) is int and type(d0["firmware_upgrade_type"]) is int
    assert d0["firmware_upgrade_type"] == 3  # normal (§14: wire 3 = normal)
    assert devices[AIRCRAFT]["firmware_upgrade_type"] == 2  # consistency
    assert fetch(d0["file_url"]) == dock_bytes  # what the dock downloads

    bid = started.bid
    for percent, step in ((20, "download_firmware"), (70, "upgrade_firmware")):
        out = {"status": "in_progress", "progress": {"percent": percent, "current_step": step}}
        dock.event("ota_progress", bid, {"result": 0, "output": out})
    wait_for(lambda: any(c.percent == 70 for c in changes if c.job_id == started.job_id))
    assert any(c.step == "download_firmware" for c in changes if c.job_id == started.job_id)
    out = {"status": "ok", "progress": {"percent": 100, "current_step": "upgrade_firmware"}}
    dock.event("ota_progress", bid, {"result": 0, "output": out})
    wait_for(lambda: any(c.status == "ok" for c in changes if c.job_id == started.job_id))
    assert st.commands.job(started.job_id) is None  # ended

    # refusals, explained before anything is sent
    dock.osd(mode_code=0, emergency_stop_state=1)
    wait_for(lambda: telemetry.current(DOCK).get("emergency_stop_state") == 1, what="e-stop")
    [refused] = call(runtime, fw.upgrade([OtaTarget(DOCK)]))
    assert refused.status == "refused" and "emergency stop" in refused.message_en
    dock.osd(mode_code=4, emergency_stop_state=0)
    wait_for(lambda: telemetry.current(DOCK).get("mode_code") == 4, what="working")
    [busy] = call(runtime, fw.upgrade([OtaTarget(DOCK)]))
    assert busy.status == "refused" and "not idle" in busy.message_en
    assert len(dock.sent("ota_create")) == 1
    dock.osd(mode_code=0)
    [none] = call(runtime, fw.upgrade([OtaTarget(DOCK, version="99.99.9999")]))
    assert none.status == "refused" and "no enabled package" in none.message_en

    # a device refusing the upgrade: its code comes back explained
    wait_for(lambda: telemetry.current(DOCK).get("mode_code") == 0, what="idle")
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 312015})
    [failed] = call(runtime, fw.upgrade([OtaTarget(DOCK)]))
    assert failed.status == "failed" and failed.code == 312015


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


FILE_LIST = {
    "result": 0,
    "files": [
        {
            "device_sn": DOCK,
            "module": "3",
            "result": 0,
            "list": [
                {"boot_index": 1123, "start_time": 1661848200, "end_time": 1661851800, "size": 24},
                {"boot_index": 1124, "start_time": 1661937600, "end_time": 1661941200, "size": 30},
            ],
        },
        {
            "device_sn": AIRCRAFT,
            "module": "0",
            "result": 0,
            "list": [
                {"boot_index": 77, "start_time": 1661848300, "end_time": 1661851700, "size": 12}
            ],
        },
    ],
}


def _file_progress(key: str, module: str, status: str, percent: int) -> dict[str, Any]:
    return {
        "module": module,
        "size": 2048,
        "device_sn": DOCK if module == "3" else AIRCRAFT,
        "key": key,
        "fingerprint": "f" * 32,
        "progress": {
            "progress": percent,
            "current_step": 2,
            "total_step": 2,
            "finish_time": now_ms(),
            "upload_rate": 1000,
            "status": status,
            "result": 0,
        },
    }


def test_remote_logs_list_upload_progress_download_and_cancel(
    runtime: ThreadedRuntime, dock: RawDock
) -> None:
    st = runtime.runtime.station
    logs = st.capability(RemoteLogs)
    dock.osd(mode_code=0, emergency_stop_state=0)

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        if cmd.get("method") == "fileupload_list":
            d.reply(cmd, FILE_LIST)
        else:
            d.reply(cmd, {"result": 0})

    dock.script = script
    listed = call(runtime, logs.list_files(DOCK))
    [asked] = dock.sent("fileupload_list")
    assert sorted(asked["data"]["module_list"]) == ["0", "3"]
    by_module = {x.module: x for x in listed}
    assert [b.boot_index for b in by_module["3"].boots] == [1123, 1124]
    assert by_module["0"].device_sn == AIRCRAFT and by_module["0"].boots[0].size == 12

    changes: list[LogUploadChanged] = []
    st.bus.subscribe(LogUploadChanged, changes.append)
    before = now_ms()
    row = call(
        runtime,
        logs.start_upload(
            DOCK,
            [LogSelection("3", (1124, 1123)), LogSelection("0", (77,))],
            note="cover fault",
        ),
    )
    [start] = dock.sent("fileupload_start")
    data = start["data"]
    assert start["bid"] == row.bid
    assert set(data) == {"bucket", "region", "endpoint", "provider", "credentials", "params"}
    creds = data["credentials"]
    assert set(creds) == {"access_key_id", "access_key_secret", "expire", "security_token"}
    expire = creds["expire"]
    assert type(expire) is int and before + 3000_000 <= expire <= now_ms() + 86_400_000
    files = data["params"]["files"]
    assert [f["module"] for f in files] == ["3", "0"]
    assert files[0]["list"] == [{"boot_index": 1123}, {"boot_index": 1124}]
    assert set(files[0]) == {"object_key", "module", "list"}
    dock_key, ac_key = files[0]["object_key"], files[1]["object_key"]

    # The dock uploads with the scoped credentials; outside its folder it may not write.
    s3 = _s3(data)
    archive = b"\x1f\x8b" + b"log" * 500
    s3.put_object(Bucket=data["bucket"], Key=dock_key, Body=archive)
    with pytest.raises(ClientError):
        s3.put_object(Bucket=data["bucket"], Key="logs/elsewhere/x.tar.gz", Body=b"x")

    ext = {
        "files": [
            _file_progress(dock_key, "3", "in_progress", 50),
            _file_progress(ac_key, "0", "in_progress", 10),
        ]
    }
    out = {"status": "file_uploading", "ext": ext}
    dock.event("fileupload_progress", row.bid, {"result": 0, "output": out}, need_reply=0)
    wait_for(lambda: any(c.upload.status == "file_uploading" for c in changes), what="progress")
    current = changes[-1].upload
    assert [f["percent"] for f in current.files] == [50.0, 10.0]
    ext = {
        "files": [_file_progress(dock_key, "3", "ok", 100), _file_progress(ac_key, "0", "ok", 100)]
    }
    out = {"status": "ok", "ext": ext}
    dock.event("fileupload_progress", row.bid, {"result": 0, "output": out}, need_reply=0)
    wait_for(lambda: changes[-1].upload.status == "ok", what="upload ok")
    url = call(runtime, logs.download_url(row.id, "3"))
    assert fetch(url) == archive
    listed_rows, total = call(runtime, logs.uploads(DOCK))
    assert total >= 1 and listed_rows[0].id == row.id and listed_rows[0].note == "cover fault"
    wait_for(lambda: call(runtime, logs.upload(row.id)).status == "ok", what="row saved")

    # cancel a second upload: fileupload_update, then the dock's "canceled" ends it
    row2 = call(runtime, logs.start_upload(DOCK, [LogSelection("3", (1124,))]))
    call(runtime, logs.cancel(DOCK))
    [update] = dock.sent("fileupload_update")
    assert update["data"] == {"status": "cancel", "module_list": ["3"]}
    out = {"status": "canceled", "ext": {"files": []}}
    dock.event("fileupload_progress", row2.bid, {"result": 0, "output": out}, need_reply=0)
    wait_for(
        lambda: any(c.upload.id == row2.id and c.upload.status == "canceled" for c in changes),
        what="canceled",
    )
    with pytest.raises(Exception, match="not uploaded"):
        call(runtime, logs.download_url(row2.id, "3"))

    # nothing chosen: refused before sending, and the operator sees why
    with pytest.raises(Exception, match="at least one boot index"):
        call(runtime, logs.start_upload(DOCK, []))
    assert len(dock.sent("fileupload_start")) == 2
