"""The dock control panel against a literal-JSON dock: buttons follow debug mode, a job's progress
shows while it runs, dangerous commands are asked for, settings are range-checked and sent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from command_peers import AIRCRAFT, DOCK, RawDock
from PySide6.QtWidgets import QSpinBox

from gcs.ui.main_window import MainWindow


def progress(percent: int, status: str) -> dict[str, Any]:
    return {"result": 0, "output": {"status": status, "progress": {"percent": percent}}}


def test_control_panel_drives_a_dock(
    qtbot: Any, main_window: MainWindow, peer_dock: RawDock
) -> None:
    bridge = main_window.bridge
    panel = main_window.control
    asked: list[str] = []
    answer = [False]

    def confirm(_parent: Any, question: str) -> bool:
        asked.append(question)
        return answer[0]

    panel.confirm = confirm
    qtbot.waitUntil(lambda: bridge.device(AIRCRAFT) is not None, timeout=10000)
    peer_dock.osd(mode_code=0, drone_in_dock=1)
    qtbot.waitUntil(lambda: bridge.state(DOCK).get("mode_code") == 0, timeout=5000)
    main_window.selection.select(AIRCRAFT)  # the aircraft's dock is controlled
    qtbot.waitUntil(lambda: panel.sn == DOCK, timeout=5000)
    assert panel.buttons["debug_on"].isEnabled()
    assert not panel.buttons["cover_open"].isEnabled()
    assert "debug mode" in panel.buttons["cover_open"].toolTip()

    peer_dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})
    panel.buttons["debug_on"].click()
    qtbot.waitUntil(lambda: bool(peer_dock.sent("debug_mode_open")), timeout=5000)
    qtbot.waitUntil(lambda: panel.jobs["debug_on"].status.text() == "done", timeout=5000)
    peer_dock.osd(mode_code=2, drone_in_dock=1)
    qtbot.waitUntil(lambda: panel.buttons["cover_open"].isEnabled(), timeout=5000)

    panel.buttons["cover_open"].click()
    qtbot.waitUntil(lambda: bool(peer_dock.sent("cover_open")), timeout=5000)
    bid = peer_dock.sent("cover_open")[-1]["bid"]
    peer_dock.event("cover_open", bid, progress(35, "in_progress"))
    job = panel.jobs["cover_open"]
    qtbot.waitUntil(lambda: job.bar.isVisible() and job.bar.value() == 35, timeout=5000)
    if shots := os.environ.get("GCS_SCREENSHOTS"):
        main_window.docks["control"].raise_()
        qtbot.wait(200)
        main_window.grab().save(str(Path(shots) / "dock_control.png"))
    peer_dock.event("cover_open", bid, progress(100, "ok"))
    qtbot.waitUntil(lambda: not job.bar.isVisible() and job.status.text() == "done", timeout=5000)

    # A dangerous command: nothing is sent when the operator says no, sent once they say yes.
    panel.buttons["device_reboot"].click()
    assert asked and "Reboot" in asked[-1] and not peer_dock.sent("device_reboot")
    answer[0] = True
    panel.buttons["device_reboot"].click()
    qtbot.waitUntil(lambda: bool(peer_dock.sent("device_reboot")), timeout=5000)

    # Settings: sent as property/set, the dock's answer shown.
    peer_dock.script = lambda d, cmd: d.reply(cmd, {k: {"result": 0} for k in cmd["data"]})
    editor = panel.setting_editors["height_limit"]
    assert isinstance(editor, QSpinBox) and editor.minimum() == 20 and editor.maximum() == 1500
    editor.setValue(300)
    panel.buttons["setting.height_limit"].click()
    qtbot.waitUntil(lambda: bool(peer_dock.sent("property/set")), timeout=5000)
    assert peer_dock.sent("property/set")[-1]["data"] == {"height_limit": 300}
    qtbot.waitUntil(
        lambda: panel.setting_jobs["height_limit"].status.text() == "done", timeout=5000
    )

    # A device refusal is explained under its button.
    peer_dock.script = lambda d, cmd: d.reply(cmd, {"result": 514107})
    panel.buttons["cover_close"].click()
    qtbot.waitUntil(lambda: "514107" in panel.jobs["cover_close"].status.toolTip(), timeout=5000)
    assert panel.jobs["cover_close"].status.text() not in ("", "done")
