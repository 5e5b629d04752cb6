"""The desktop's command history: commands sent through the bridge (the desktop's own path to
the station's command path) and through the station show up live, with progress and results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from command_peers import AIRCRAFT, DOCK, RawDock
from PySide6.QtCore import QSettings

from gcs.runtime import ThreadedRuntime
from gcs.station.commands import CommandFailed, CommandRefused
from gcs.ui.bridge import StationBridge
from gcs.ui.main_window import MainWindow


def _progress(percent: int, status: str) -> dict[str, Any]:
    return {"result": 0, "output": {"status": status, "progress": {"percent": percent}}}


def test_commands_panel_follows_a_job_and_shows_refusals(
    qtbot: Any, main_window: MainWindow, peer_dock: RawDock
) -> None:
    bridge = main_window.bridge
    qtbot.waitUntil(lambda: bridge.device(AIRCRAFT) is not None, timeout=10000)
    panel = main_window.commands
    outcomes: list[Any] = []

    # Refused before sending: the dock is not in debug mode.
    peer_dock.osd(mode_code=0, drone_in_dock=1)
    qtbot.waitUntil(lambda: bridge.state(DOCK).get("mode_code") == 0, timeout=5000)
    bridge.run_command(DOCK, "cover_open", on_done=lambda o, e: outcomes.append(e))
    qtbot.waitUntil(lambda: len(outcomes) == 1, timeout=5000)
    assert isinstance(outcomes[0], CommandRefused) and outcomes[0].code == 212016
    qtbot.waitUntil(lambda: any(r.status == "refused" for r in panel.shown_rows()), timeout=5000)
    assert peer_dock.sent("cover_open") == []

    # A job followed to its end, its progress shown while it runs.
    peer_dock.osd(mode_code=2, drone_in_dock=1)
    qtbot.waitUntil(lambda: bridge.state(DOCK).get("mode_code") == 2, timeout=5000)
    peer_dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})
    bridge.run_command(DOCK, "cover_open", on_done=lambda o, e: outcomes.append(o or e))
    qtbot.waitUntil(lambda: bool(peer_dock.sent("cover_open")), timeout=5000)
    bid = peer_dock.sent("cover_open")[0]["bid"]
    peer_dock.event("cover_open", bid, _progress(45, "in_progress"))
    qtbot.waitUntil(
        lambda: any(r.percent == 45 and r.method == "cover_open" for r in panel.shown_rows()),
        timeout=5000,
    )
    row = next(r for r in panel.shown_rows() if r.percent == 45)
    assert panel.model.data(panel.model.index(0, 2)) == "Open the cover"
    assert row.actor == "desktop"
    if shots := os.environ.get("GCS_SCREENSHOTS"):  # for a person to look at
        main_window.commands.window().resize(1400, 850)
        main_window.docks["commands"].raise_()
        qtbot.wait(200)
        main_window.grab().save(str(Path(shots) / "commands_panel.png"))
    peer_dock.event("cover_open", bid, _progress(100, "ok"))
    qtbot.waitUntil(lambda: len(outcomes) == 2, timeout=5000)
    assert outcomes[1].ok
    qtbot.waitUntil(
        lambda: panel.shown_rows()[0].status == "ok" and panel.shown_rows()[0].percent == 100,
        timeout=5000,
    )

    # A device error is explained in the result column; the failures filter keeps it.
    peer_dock.script = lambda d, cmd: d.reply(cmd, {"result": 514107})
    bridge.run_command(DOCK, "cover_close", on_done=lambda o, e: outcomes.append(e))
    qtbot.waitUntil(lambda: len(outcomes) == 3, timeout=5000)
    assert isinstance(outcomes[2], CommandFailed) and outcomes[2].code == 514107
    panel.only_failed.setChecked(True)
    qtbot.waitUntil(lambda: panel.shown_rows()[0].method == "cover_close", timeout=5000)
    assert {r.status for r in panel.shown_rows()} <= {"failed", "refused"}
    result = panel.proxy.data(panel.proxy.index(0, 6))
    assert result.startswith("514107: ")


def test_history_is_loaded_when_the_window_opens(
    qtbot: Any, ui_runtime: ThreadedRuntime, peer_dock: RawDock, tmp_path: Path
) -> None:
    st = ui_runtime.runtime.station
    qtbot.waitUntil(lambda: st.registry.is_online(DOCK), timeout=10000)
    with pytest.raises(CommandRefused):
        ui_runtime.submit(st.commands.run(DOCK, "cover_open", actor="api:bob")).result(5)
    ui_runtime.submit(st.commands.flush()).result(5)
    bridge = StationBridge(ui_runtime)
    ui = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(bridge, st.data_dir, ui_settings=ui)
    qtbot.addWidget(win)
    try:
        qtbot.waitUntil(
            lambda: any(r.actor == "api:bob" for r in win.commands.shown_rows()), timeout=5000
        )
    finally:
        win.close()
        bridge.close()
