"""The dock control panel against a literal-JSON dock: buttons follow debug mode, a job's progress
shows while it runs, dangerous commands are asked for, settings are range-checked and sent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from command_peers import AIRCRAFT, DOCK, RawDock
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QSpinBox

from gcs.runtime import ThreadedRuntime
from gcs.ui.bridge import StationBridge
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
    d = RawDock(st.mqtt_port, st.settings.mqtt.device_username, st.settings.mqtt.device_password)
    d.online()
    yield d
    d.close()


def progress(percent: int, status: str) -> dict[str, Any]:
    return {"result": 0, "output": {"status": status, "progress": {"percent": percent}}}


def test_control_panel_drives_a_dock(qtbot: Any, window: MainWindow, dock: RawDock) -> None:
    bridge = window.bridge
    panel = window.control
    asked: list[str] = []
    answer = [False]

    def confirm(_parent: Any, question: str) -> bool:
        asked.append(question)
        return answer[0]

    panel.confirm = confirm
    qtbot.waitUntil(lambda: bridge.device(AIRCRAFT) is not None, timeout=10000)
    dock.osd(mode_code=0, drone_in_dock=1)
    qtbot.waitUntil(lambda: bridge.state(DOCK).get("mode_code") == 0, timeout=5000)
    window.selection.select(AIRCRAFT)  # the aircraft's dock is controlled
    qtbot.waitUntil(lambda: panel.sn == DOCK, timeout=5000)
    assert panel.buttons["debug_on"].isEnabled()
    assert not panel.buttons["cover_open"].isEnabled()
    assert "debug mode" in panel.buttons["cover_open"].toolTip()

    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})
    panel.buttons["debug_on"].click()
    qtbot.waitUntil(lambda: bool(dock.sent("debug_mode_open")), timeout=5000)
    qtbot.waitUntil(lambda: panel.jobs["debug_on"].status.text() == "done", timeout=5000)
    dock.osd(mode_code=2, drone_in_dock=1)
    qtbot.waitUntil(lambda: panel.buttons["cover_open"].isEnabled(), timeout=5000)

    panel.buttons["cover_open"].click()
    qtbot.waitUntil(lambda: bool(dock.sent("cover_open")), timeout=5000)
    bid = dock.sent("cover_open")[-1]["bid"]
    dock.event("cover_open", bid, progress(35, "in_progress"))
    job = panel.jobs["cover_open"]
    qtbot.waitUntil(lambda: job.bar.isVisible() and job.bar.value() == 35, timeout=5000)
    if shots := os.environ.get("GCS_SCREENSHOTS"):
        window.docks["control"].raise_()
        qtbot.wait(200)
        window.grab().save(str(Path(shots) / "dock_control.png"))
    dock.event("cover_open", bid, progress(100, "ok"))
    qtbot.waitUntil(lambda: not job.bar.isVisible() and job.status.text() == "done", timeout=5000)

    # A dangerous command: nothing is sent when the operator says no, sent once they say yes.
    panel.buttons["device_reboot"].click()
    assert asked and "Reboot" in asked[-1] and not dock.sent("device_reboot")
    answer[0] = True
    panel.buttons["device_reboot"].click()
    qtbot.waitUntil(lambda: bool(dock.sent("device_reboot")), timeout=5000)

    # Settings: sent as property/set, the dock's answer shown.
    dock.script = lambda d, cmd: d.reply(cmd, {k: {"result": 0} for k in cmd["data"]})
    editor = panel.setting_editors["height_limit"]
    assert isinstance(editor, QSpinBox) and editor.minimum() == 20 and editor.maximum() == 1500
    editor.setValue(300)
    panel.buttons["setting.height_limit"].click()
    qtbot.waitUntil(lambda: bool(dock.sent("property/set")), timeout=5000)
    assert dock.sent("property/set")[-1]["data"] == {"height_limit": 300}
    qtbot.waitUntil(
        lambda: panel.setting_jobs["height_limit"].status.text() == "done", timeout=5000
    )

    # A device refusal is explained under its button.
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 514107})
    panel.buttons["cover_close"].click()
    qtbot.waitUntil(lambda: "514107" in panel.jobs["cover_close"].status.toolTip(), timeout=5000)
    assert panel.jobs["cover_close"].status.text() not in ("", "done")
