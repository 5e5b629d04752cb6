"""The Firmware and Logs panels against a literal-JSON dock: a package imported, the devices that
need it, an upgrade with its progress bar and a refusal in words; log files by boot index, an
upload with per-file progress, the archive downloaded and opened, a cancel."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms
from PySide6.QtCore import QSettings

from gcs.runtime import ThreadedRuntime
from gcs.ui.bridge import StationBridge
from gcs.ui.firmware_panel import ImportDialog
from gcs.ui.i18n import set_language
from gcs.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot: Any, ui_runtime: ThreadedRuntime, tmp_path: Path) -> Iterator[MainWindow]:
    set_language("en")
    bridge = StationBridge(ui_runtime)
    ui = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(bridge, ui_runtime.runtime.station.data_dir, ui_settings=ui)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    bridge.close()


@pytest.fixture
def dock(ui_runtime: ThreadedRuntime) -> Iterator[RawDock]:
    st = ui_runtime.runtime.station
    s = st.settings
    d = RawDock(st.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    d.bind(s.station.binding_code, s.station.workspace_id)
    yield d
    d.close()


def state(d: RawDock, sn: str, **data: Any) -> None:
    body = {"tid": str(uuid.uuid4()), "bid": str(uuid.uuid4()), "timestamp": now_ms()}
    d.c.publish(
        f"thing/product/{sn}/state", json.dumps({**body, "gateway": DOCK, "data": data}), qos=1
    )


def shoot(qtbot: Any, window: MainWindow, panel: str, name: str) -> None:
    if shots := os.environ.get("GCS_SCREENSHOTS"):
        window.docks[panel].raise_()
        qtbot.wait(200)
        window.grab().save(str(Path(shots) / name))


def test_import_dialog_reads_the_version_and_models(qtbot: Any) -> None:
    dialog = ImportDialog(None, "/tmp/wm265_dock2_10.01.2001.zip")
    qtbot.addWidget(dialog)
    assert dialog.version.text() == "10.01.2001"
    dialog.models.setCurrentIndex(dialog.models.findData("3-2-0"))
    assert dialog.model_keys() == ["3-2-0"]
    dialog.models.setEditText("DJI Dock 2, 0-91-0")
    assert dialog.model_keys() == ["DJI Dock 2", "0-91-0"]


def test_firmware_panel_imports_and_upgrades(
    qtbot: Any, window: MainWindow, dock: RawDock, tmp_path: Path
) -> None:
    bridge = window.bridge
    panel = window.firmware
    qtbot.waitUntil(lambda: (v := bridge.device(DOCK)) is not None and v.bound, timeout=10000)
    dock.osd(mode_code=0, emergency_stop_state=0, drone_in_dock=1)
    state(dock, DOCK, firmware_version="10.01.1612", compatible_status=0)
    state(dock, AIRCRAFT, firmware_version="10.01.1609", compatible_status=1)
    qtbot.waitUntil(lambda: bridge.state(AIRCRAFT).get("compatible_status") == 1, timeout=5000)
    package = tmp_path / "dock2_10.01.2001.zip"
    package.write_bytes(b"package" * 30_000)
    panel.import_package(str(package), ["3-2-0"], "10.01.2001", "cover motor fix")
    qtbot.waitUntil(lambda: panel.library_table.rowCount() == 1, timeout=10000)
    md5 = hashlib.md5(package.read_bytes()).hexdigest()
    assert md5 in panel.library_table.item(0, 2).toolTip()
    assert "Imported 10.01.2001 for DJI Dock 2" in panel.message.text()
    panel.import_package(str(package), ["Toaster"], "10.01.2001", "")
    qtbot.waitUntil(lambda: "Could not import" in panel.message.text(), timeout=5000)

    def needs() -> dict[str, str]:
        return {d.sn: d.need for d in panel.devices}

    panel.refresh()
    qtbot.waitUntil(lambda: needs() == {DOCK: "normal", AIRCRAFT: "consistency"}, timeout=5000)
    words = {panel.device_table.item(i, 3).text() for i in range(2)}
    assert words == {"Normal upgrade", "Consistency upgrade"}
    rows = {panel.device_table.item(i, 0).data(256): i for i in range(2)}  # UserRole: the SN
    assert panel.device_table.item(rows[DOCK], 2).text() == "10.01.1612 → 10.01.2001"

    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0, "output": {"status": "in_progress"}})
    panel.upgrade_button.click()
    assert "Tick the devices" in panel.message.text()
    panel.tick(DOCK)
    panel.upgrade_button.click()
    qtbot.waitUntil(lambda: bool(dock.sent("ota_create")), timeout=5000)
    sent = dock.sent("ota_create")[-1]
    assert [d["sn"] for d in sent["data"]["devices"]] == [DOCK]
    out = {
        "status": "in_progress",
        "progress": {"percent": 40, "current_step": "download_firmware"},
    }
    dock.event("ota_progress", sent["bid"], {"result": 0, "output": out})
    qtbot.waitUntil(lambda: panel.progress_of(DOCK) == 40, timeout=5000)
    assert panel.progress_of(AIRCRAFT) is None
    shoot(qtbot, window, "firmware", "firmware_panel.png")
    out = {"status": "ok", "progress": {"percent": 100, "current_step": "upgrade_firmware"}}
    dock.event("ota_progress", sent["bid"], {"result": 0, "output": out})
    qtbot.waitUntil(lambda: panel.progress_of(DOCK) is None, timeout=5000)

    dock.osd(mode_code=0, emergency_stop_state=1)
    qtbot.waitUntil(lambda: bridge.state(DOCK).get("emergency_stop_state") == 1, timeout=5000)
    panel.tick(DOCK)
    panel.upgrade_button.click()
    qtbot.waitUntil(lambda: "emergency stop" in panel.message.text(), timeout=5000)
    assert len(dock.sent("ota_create")) == 1


FILE_LIST = {
    "result": 0,
    "files": [
        {
            "device_sn": DOCK,
            "module": "3",
            "result": 0,
            "list": [
                {"boot_index": 401, "start_time": 1764000000, "end_time": 1764003600, "size": 9e5},
                {"boot_index": 402, "start_time": 1764086400, "end_time": 1764090000, "size": 7e5},
            ],
        },
        {
            "device_sn": AIRCRAFT,
            "module": "0",
            "result": 0,
            "list": [
                {"boot_index": 88, "start_time": 1764086500, "end_time": 1764089000, "size": 3e6}
            ],
        },
    ],
}


def test_logs_panel_lists_uploads_opens_and_cancels(
    qtbot: Any, window: MainWindow, dock: RawDock
) -> None:
    bridge = window.bridge
    panel = window.logs
    opened: list[str] = []
    panel.opener = opened.append
    qtbot.waitUntil(lambda: (v := bridge.device(DOCK)) is not None and v.online, timeout=10000)
    window.selection.select(AIRCRAFT)  # the aircraft's dock
    qtbot.waitUntil(lambda: panel.sn == DOCK and panel.list_button.isEnabled(), timeout=5000)

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        d.reply(cmd, FILE_LIST if cmd.get("method") == "fileupload_list" else {"result": 0})

    dock.script = script
    panel.list_button.click()
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 2, timeout=5000)
    panel.tick("3", 402)
    panel.tick("0", 88)
    panel.note.setText("cover stuck")
    panel.upload_button.click()
    qtbot.waitUntil(lambda: bool(dock.sent("fileupload_start")), timeout=5000)
    start = dock.sent("fileupload_start")[-1]
    files = start["data"]["params"]["files"]
    assert [(f["module"], f["list"]) for f in files] == [
        ("3", [{"boot_index": 402}]),
        ("0", [{"boot_index": 88}]),
    ]
    assert start["data"]["credentials"]["expire"] > now_ms()
    keys = {f["module"]: f["object_key"] for f in files}

    def report(status: str, percents: dict[str, int], statuses: dict[str, str]) -> None:
        ext = {
            "files": [
                {
                    "module": m,
                    "size": 1000,
                    "device_sn": DOCK if m == "3" else AIRCRAFT,
                    "key": keys[m],
                    "fingerprint": "",
                    "progress": {"progress": p, "status": statuses[m], "result": 0},
                }
                for m, p in percents.items()
            ]
        }
        out = {"status": status, "ext": ext}
        dock.event("fileupload_progress", start["bid"], {"result": 0, "output": out}, need_reply=0)

    report("file_uploading", {"3": 50, "0": 20}, {"3": "in_progress", "0": "in_progress"})
    qtbot.waitUntil(lambda: panel.progress_of("3") == 50, timeout=5000)
    assert panel.progress_of("0") == 20 and panel.cancel_button.isEnabled()
    shoot(qtbot, window, "logs", "logs_panel.png")

    grant = start["data"]
    c = grant["credentials"]
    s3: Any = boto3.client(
        "s3",
        endpoint_url=grant["endpoint"],
        aws_access_key_id=c["access_key_id"],
        aws_secret_access_key=c["access_key_secret"],
        aws_session_token=c["security_token"],
        region_name=grant["region"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    archive = b"\x1f\x8b\x08" + b"log\n" * 400
    s3.put_object(Bucket=grant["bucket"], Key=keys["3"], Body=archive)
    report("ok", {"3": 100, "0": 100}, {"3": "ok", "0": "failed"})
    qtbot.waitUntil(lambda: panel.upload_table.rowCount() == 1, timeout=5000)
    qtbot.waitUntil(lambda: panel.upload_table.item(0, 1).text() == "ok", timeout=5000)
    assert panel.upload_table.item(0, 2).text() == "cover stuck"
    panel.upload_table.selectRow(0)
    panel.open_selected()
    qtbot.waitUntil(lambda: bool(opened), timeout=10000)
    assert Path(opened[0]).read_bytes() == archive and opened[0].endswith(".tar.gz")
    assert "Saved to" in panel.message.text()

    panel.tick("3", 401)
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=5000)
    panel.upload_button.click()
    qtbot.waitUntil(lambda: len(dock.sent("fileupload_start")) == 2, timeout=5000)
    qtbot.waitUntil(lambda: panel.cancel_button.isEnabled(), timeout=5000)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: bool(dock.sent("fileupload_update")), timeout=5000)
    assert dock.sent("fileupload_update")[-1]["data"]["status"] == "cancel"
