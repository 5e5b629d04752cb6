"""Alarms in the desktop: a warning from a literal-JSON dock shows in the panel, the banner and the
fleet tree, is spoken (mock speech engine), marked read, found in the history and exported."""

from __future__ import annotations

import csv
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms

from gcs.ui.alarms_panel import AlarmHistoryDialog, Speaker
from gcs.ui.main_window import MainWindow


def hms(peer_dock: RawDock, items: list[dict[str, Any]]) -> None:
    peer_dock.publish(
        "events",
        {
            "tid": str(uuid.uuid4()),
            "bid": str(uuid.uuid4()),
            "timestamp": now_ms(),
            "gateway": DOCK,
            "method": "hms",
            "need_reply": 0,
            "data": {"list": items},
        },
    )


ESTOP = {
    "level": 2,
    "module": 3,
    "in_the_sky": 0,
    "code": "0x19111800",
    "device_type": "3-2-0",
    "imminent": 0,
    "args": {"component_index": 0, "sensor_index": 0},
}
BATTERY = {**ESTOP, "code": "0x16100083", "device_type": "0-91-0", "level": 1}


def test_a_warning_reaches_panel_banner_tree_and_speech(
    qtbot: Any, main_window: MainWindow, peer_dock: RawDock, tmp_path: Path
) -> None:
    main_window.alarms.speaker = Speaker("mock")
    qtbot.waitUntil(lambda: main_window.fleet.item(AIRCRAFT) is not None, timeout=10000)
    panel = main_window.alarms
    hms(peer_dock, [ESTOP, BATTERY])
    qtbot.waitUntil(lambda: len(panel.shown()) == 2, timeout=5000)
    top = panel.shown()[0]
    assert top.level == 2 and top.sn == DOCK and "emergency stop" in top.text_en.lower()
    assert panel.banner.isVisible() and "emergency stop" in panel.banner_text.text().lower()
    assert panel.speaker.spoken and "emergency stop" in panel.speaker.spoken[-1].lower()
    qtbot.waitUntil(lambda: main_window.fleet.alarm_count(DOCK) == 1, timeout=5000)
    assert main_window.fleet.alarm_count(AIRCRAFT) == 1
    assert "Alarms (2)" == main_window.docks["alarms"].windowTitle()
    if shots := os.environ.get("GCS_SCREENSHOTS"):
        main_window.docks["alarms"].raise_()
        qtbot.wait(200)
        main_window.grab().save(str(Path(shots) / "alarms_panel.png"))

    panel.mark_all_read()
    qtbot.waitUntil(lambda: not panel.banner.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: main_window.docks["alarms"].windowTitle() == "Alarms", timeout=5000)

    hms(peer_dock, [BATTERY])  # the emergency stop is released
    qtbot.waitUntil(lambda: [a.code for a in panel.shown()] == ["0x16100083"], timeout=5000)
    qtbot.waitUntil(lambda: main_window.fleet.alarm_count(DOCK) == 0, timeout=5000)

    history = AlarmHistoryDialog(main_window.bridge, main_window)
    qtbot.addWidget(history)
    qtbot.waitUntil(lambda: history.total == 2, timeout=5000)
    assert {a.code for a in history.rows} == {"0x19111800", "0x16100083"}
    out = tmp_path / "alarms.csv"
    errors: list[Any] = []
    history.export(str(out), errors.append)
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=5000)
    assert errors == [None]
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert {r["code"] for r in rows} == {"0x19111800", "0x16100083"}
    estop = next(r for r in rows if r["code"] == "0x19111800")
    assert estop["cleared"] and estop["read"] and estop["text_zh"]
    history.close()


def test_import_table_from_the_desktop(
    qtbot: Any, main_window: MainWindow, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(
        "gcs.ui.alarms_panel.QMessageBox.information", lambda *a: shown.append(a[2])
    )
    monkeypatch.setattr("gcs.ui.alarms_panel.QMessageBox.warning", lambda *a: shown.append(a[2]))
    bad = shared_data / "README.md"
    main_window.alarms.import_table(str(bad))
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=10000)
    assert "JSON" in shown[0]
    main_window.alarms.import_table(str(shared_data / "hms.json"))
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=30000)
    assert "3842" in shown[1]
    data_dir = main_window.bridge.threaded_runtime.runtime.station.data_dir
    assert json.loads((data_dir / "hms-table.json").read_text())
