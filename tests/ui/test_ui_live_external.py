"""The desktop's side of Agora / GB28181 pass-through: their settings in the Settings dialog
(secrets masked, checked before saving, applied without a restart) and the "Send to…" choice
next to the Live button, against a literal-JSON dock."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from command_peers import AIRCRAFT, RawDock, now_ms, wait_for
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLineEdit, QMessageBox

from gcs.runtime import ThreadedRuntime
from gcs.store.settings import SETTINGS_FILE, AgoraSettings, load_settings
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.settings_dialog import SettingsDialog

DOCK_SN = "7CTDM3D00BVY2N"
AIR_CAM = f"{AIRCRAFT}/39-0-7/normal-0"
CAPACITY = {
    "available_video_number": 1,
    "coexist_video_number_max": 1,
    "device_list": [
        {
            "sn": AIRCRAFT,
            "available_video_number": 1,
            "coexist_video_number_max": 1,
            "camera_list": [
                {
                    "camera_index": "39-0-7",
                    "available_video_number": 1,
                    "coexist_video_number_max": 1,
                    "video_list": [{"video_index": "normal-0", "video_type": "normal"}],
                }
            ],
        }
    ],
}


@pytest.fixture
def bridge(ui_runtime: ThreadedRuntime) -> Iterator[StationBridge]:
    b = StationBridge(ui_runtime)
    yield b
    b.close()


def test_settings_dialog_edits_agora_and_gb28181(
    qtbot: Any, bridge: StationBridge, tmp_path: Path, monkeypatch: Any
) -> None:
    station = bridge.threaded_runtime.runtime.station
    warnings: list[str] = []
    infos: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: warnings.append(text))
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: infos.append(text))
    ui_ini = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    dialog = SettingsDialog(bridge, station.data_dir, ui_settings=ui_ini)
    qtbot.addWidget(dialog)
    for key in (("live.agora", "token"), ("live.gb28181", "agent_password")):
        editor = dialog.editors[key]
        assert isinstance(editor, QLineEdit)
        assert editor.echoMode() == QLineEdit.EchoMode.Password, key
    assert dialog.findChild(QLineEdit, "setting.live.agora.channel") is not None

    # wrong values are refused with what is wrong, and nothing is written
    before = (station.data_dir / SETTINGS_FILE).read_text()
    dialog.set_value("live.gb28181", "server_ip", "10.0.0.300")
    dialog.set_value("live.gb28181", "server_id", "123")
    dialog.set_value("live.gb28181", "server_port", 0)
    dialog.save()
    [warning] = warnings
    assert "IPv4 address" in warning and "20-digit" in warning and "1 to 65535" in warning
    assert (station.data_dir / SETTINGS_FILE).read_text() == before

    dialog.set_value("live.gb28181", "server_ip", "")
    dialog.set_value("live.gb28181", "server_id", "")
    dialog.set_value("live.gb28181", "server_port", 5060)
    dialog.set_value("live.agora", "app_id", "0123456789abcdef0123456789abcdef")
    dialog.set_value("live.agora", "token", "006ab+c/d==")
    dialog.set_value("live.agora", "channel", "site-7")
    dialog.set_value("live.agora", "uid", 4000000000)  # beyond a 32-bit signed int
    dialog.save()
    assert len(warnings) == 1 and infos == []  # applied without a restart
    raw = tomllib.loads((station.data_dir / SETTINGS_FILE).read_text())
    assert raw["live"]["agora"]["token"] == "006ab+c/d==" and raw["live"]["agora"]["uid"] == (
        4000000000
    )
    assert load_settings(station.data_dir).live.agora.channel == "site-7"
    qtbot.waitUntil(lambda: station.settings.live.agora.channel == "site-7", timeout=5000)


@pytest.fixture
def capacity_dock(ui_runtime: ThreadedRuntime, peer_dock: RawDock) -> RawDock:
    from gcs.station.live import Live

    station = ui_runtime.runtime.station
    wait_for(lambda: (v := station.registry.view(peer_dock.sn)) is not None and v.online)
    peer_dock.publish(
        "state",
        {
            "tid": "t",
            "bid": "b",
            "timestamp": now_ms(),
            "gateway": peer_dock.sn,
            "data": {"live_capacity": CAPACITY},
        },
    )
    wait_for(lambda: peer_dock.sn in station.capability(Live).gateways, what="capacity")
    peer_dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})
    return peer_dock


def test_send_to_agora_from_the_aircraft_panel(
    qtbot: Any, bridge: StationBridge, ui_runtime: ThreadedRuntime, capacity_dock: RawDock
) -> None:
    from gcs.station.live import Live
    from gcs.ui.aircraft_panel import AircraftPanel

    station = ui_runtime.runtime.station
    station.settings.live.agora = AgoraSettings(
        app_id="", token="006ab+c/d==", channel="site-7", uid=42
    )
    selection = Selection()
    panel = AircraftPanel(bridge, selection)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: bridge.device(AIRCRAFT) is not None, timeout=5000)
    selection.select(AIRCRAFT)
    panel.show()
    qtbot.waitUntil(lambda: panel.send_button.isVisible(), timeout=5000)
    assert panel.send_button.text() == "Send to…"

    panel.fill_send_menu()
    actions = {a.data(): a for a in panel.send_menu.actions() if a.data() is not None}
    agora, gb = actions[0], actions[3]
    assert agora.isEnabled() and "Agora channel 'site-7', uid 42" in agora.text()
    assert not gb.isEnabled() and "GB28181 is not set up" in gb.toolTip()

    agora.trigger()
    qtbot.waitUntil(lambda: bool(capacity_dock.sent("live_start_push")), timeout=10000)
    data = capacity_dock.sent("live_start_push")[-1]["data"]
    assert data["url_type"] == 0
    assert data["url"] == f"channel=site-7&sn={AIRCRAFT}&token=006ab%2Bc%2Fd%3D%3D&uid=42"
    qtbot.waitUntil(lambda: "not played here" in panel.send_note.text(), timeout=10000)
    assert "Agora channel 'site-7'" in panel.send_note.text() and panel.send_note.isVisible()
    assert panel.video_windows == {}  # nothing tries to play it

    # the choice to stop it is there now, and stops it as for any stream
    panel.fill_send_menu()
    [stop] = [a for a in panel.send_menu.actions() if a.text().startswith("Stop sending")]
    stop.trigger()
    qtbot.waitUntil(lambda: bool(capacity_dock.sent("live_stop_push")), timeout=10000)
    assert capacity_dock.sent("live_stop_push")[-1]["data"] == {"video_id": AIR_CAM}
    qtbot.waitUntil(lambda: "no longer goes to Agora" in panel.send_note.text(), timeout=10000)
    assert station.capability(Live).stream(AIR_CAM) is None

    # without settings: refused before sending, said in the panel
    station.settings.live.agora = copy.deepcopy(AgoraSettings())
    n = len(capacity_dock.sent("live_start_push"))
    panel.send_to(AIR_CAM, 0, "Agora")
    qtbot.waitUntil(lambda: "Agora is not set up" in panel.send_note.text(), timeout=10000)
    assert len(capacity_dock.sent("live_start_push")) == n
    panel.close()


def test_the_live_button_of_a_dock3_asks_for_whip(
    qtbot: Any, bridge: StationBridge, ui_runtime: ThreadedRuntime
) -> None:
    """The desktop's Live button sends a literal Dock 3 url_type 4 with the station's WHIP URL
    (a Dock 2 keeps RTMP: tests/station/test_live_external.py)."""
    pytest.importorskip("av")
    pytest.importorskip("aiortc", reason="aiortc (WHIP in the media server) is not installed")
    from gcs.ui.aircraft_panel import AircraftPanel

    station = ui_runtime.runtime.station
    s = station.settings
    dock3, m4d = "8UUXN3D00A0002", "1581F8HHD24B0002"
    d = RawDock(station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password, dock3)
    try:
        d.online(m4d, dock_type=3, aircraft_type=100)
        wait_for(lambda: (v := station.registry.view(dock3)) is not None and v.online)
        cap = copy.deepcopy(CAPACITY)
        cap["device_list"][0]["sn"] = m4d
        d.publish(
            "state",
            {
                "tid": "t",
                "bid": "b",
                "timestamp": now_ms(),
                "gateway": dock3,
                "data": {"live_capacity": cap},
            },
        )
        d.script = lambda dd, cmd: dd.reply(cmd, {"result": 0})
        selection = Selection()
        panel = AircraftPanel(bridge, selection)
        qtbot.addWidget(panel)
        qtbot.waitUntil(lambda: bridge.device(m4d) is not None, timeout=5000)
        selection.select(m4d)
        panel.show()
        qtbot.waitUntil(lambda: panel.live_button.isVisible(), timeout=10000)
        panel.open_live()
        qtbot.waitUntil(lambda: bool(d.sent("live_start_push")), timeout=15000)
        data = d.sent("live_start_push")[-1]["data"]
        assert data["url_type"] == 4, data
        assert f"/rtc/v1/whip/?app=live&stream={m4d}-39-0-7&secret=" in data["url"]
        for win in list(panel.video_windows.values()):
            win.close()
        panel.close()
    finally:
        d.close()
