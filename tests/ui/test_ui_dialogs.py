"""Settings dialog, connection wizard, language switch and the start-error dialog text."""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.store.settings import SETTINGS_FILE, load_settings
from gcs.ui.app import start_error_text
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import i18n, set_language, tr
from gcs.ui.main_window import MainWindow
from gcs.ui.settings_dialog import SettingsDialog
from gcs.ui.wizard import ConnectionWizard, qr_pixmap


@pytest.fixture
def bridge(ui_runtime: ThreadedRuntime) -> Iterator[StationBridge]:
    b = StationBridge(ui_runtime)
    yield b
    b.close()


@pytest.fixture
def ui_ini(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


def test_settings_dialog_writes_gcs_toml_and_applies_the_licence(
    qtbot: Any, bridge: StationBridge, ui_ini: QSettings, monkeypatch: Any
) -> None:
    station = bridge.threaded_runtime.runtime.station
    data_dir = station.data_dir
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: shown.append(text))
    dialog = SettingsDialog(bridge, data_dir, ui_settings=ui_ini)
    qtbot.addWidget(dialog)
    before = load_settings(data_dir)
    (data_dir / SETTINGS_FILE).write_text(
        (data_dir / SETTINGS_FILE).read_text() + '\n[plugins]\nkeep = "me"\n'
    )
    dialog.set_value("dji", "app_id", "123456")
    dialog.set_value("dji", "app_key", "k" * 32)
    dialog.set_value("dji", "app_license", "LICENCE-TEXT")
    dialog.set_value("mqtt", "port", 18830)
    dialog.set_value("telemetry", "retention_days", 7)
    dialog.save()
    after = load_settings(data_dir)
    assert (after.dji.app_id, after.dji.app_key, after.dji.app_license) == (
        "123456",
        "k" * 32,
        "LICENCE-TEXT",
    )
    assert after.mqtt.port == 18830 and after.telemetry.retention_days == 7.0
    assert after.mqtt.device_password == before.mqtt.device_password
    raw = tomllib.loads((data_dir / SETTINGS_FILE).read_text())
    assert raw["plugins"] == {"keep": "me"}  # unknown keys survive
    # The port change needs a restart and says so; the licence is live at once.
    assert len(shown) == 1 and "MQTT port" in shown[0] and "App ID" not in shown[0]
    qtbot.waitUntil(lambda: station.settings.dji.app_id == "123456", timeout=5000)


def test_wizard_shows_what_to_type_and_checks_live(
    qtbot: Any, bridge: StationBridge, ui_ini: QSettings
) -> None:
    station = bridge.threaded_runtime.runtime.station
    s = station.settings
    wizard = ConnectionWizard(bridge, ui_settings=ui_ini)
    qtbot.addWidget(wizard)
    wizard.address.setCurrentIndex(wizard.address.findData("127.0.0.1"))
    assert wizard.mqtt_address.value() == f"tcp://127.0.0.1:{station.mqtt_port}"
    assert wizard.username.value() == s.mqtt.device_username
    assert wizard.password.value() == s.mqtt.device_password
    assert wizard.binding_code.value() == s.station.binding_code
    assert wizard.organization.value() == s.station.workspace_id
    pilot = {ep.name: ep.url for ep in bridge.endpoints()}.get("pilot") or {
        ep.name: ep.url for ep in bridge.endpoints()
    }.get("http")
    if pilot:
        assert wizard.pilot_url.value().startswith("http://127.0.0.1:")
        pixmap = wizard.qr.pixmap()
        assert pixmap is not None and not pixmap.isNull() and pixmap.width() >= 100
    qtbot.waitUntil(lambda: wizard.checks["mqtt"].ok is True, timeout=5000)
    assert wizard.checks["device"].ok is False  # nobody connected yet
    assert "dock-access wizard" in wizard.checks["device"].hint.text()
    assert wizard.checks["licence"].ok is False
    assert "DJI licence" in wizard.checks["licence"].hint.text()
    wizard.accept()
    assert ui_ini.value("wizard/done", False, type=bool) is True


def test_wizard_port_check_fails_on_a_closed_port(
    qtbot: Any, bridge: StationBridge, ui_ini: QSettings
) -> None:
    wizard = ConnectionWizard(bridge)
    qtbot.addWidget(wizard)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    wizard._probe(wizard.checks["http"], "127.0.0.1", closed_port)
    qtbot.waitUntil(lambda: wizard.checks["http"].ok is False, timeout=5000)
    assert str(closed_port) in wizard.checks["http"].hint.text()


def test_qr_code_pixmap_is_square_and_nonempty() -> None:
    pixmap = qr_pixmap("http://192.168.1.20:8080/pilot/", scale=4)
    assert pixmap.width() == pixmap.height() >= 4 * 29
    image = pixmap.toImage()
    dark = sum(
        1
        for y in range(0, image.height(), 4)
        for x in range(0, image.width(), 4)
        if image.pixelColor(x, y).lightness() < 128
    )
    assert dark > 100


def test_switching_to_chinese_changes_visible_texts(
    qtbot: Any, bridge: StationBridge, ui_ini: QSettings
) -> None:
    set_language("en")
    station = bridge.threaded_runtime.runtime.station
    win = MainWindow(bridge, station.data_dir, ui_settings=ui_ini)
    qtbot.addWidget(win)
    assert win.docks["fleet"].windowTitle() == "Fleet"
    assert win.menu_view.title() == "&View"
    assert win.fleet.tree.headerItem().text(0) == "Name"
    with qtbot.waitSignal(i18n.language_changed):
        win.choose_language("zh")
    try:
        assert win.windowTitle() == "GCS 地面站"
        assert win.docks["fleet"].windowTitle() == "机队"
        assert win.docks["events"].windowTitle() == "事件"
        assert win.menu_view.title() == "视图(&V)"
        assert win.fleet.tree.headerItem().text(0) == "名称"
        assert "在线网关" in win.status.counts.text()
        assert win.events.clear_button.text() == "清空"
        assert win.dock_panel.placeholder.text() == "请在机队面板中选择一个机场。"
        assert ui_ini.value("ui/language") == "zh"
        assert tr("Binding code") == "绑定码"
    finally:
        win.choose_language("en")
    assert win.docks["fleet"].windowTitle() == "Fleet"
    win.close()


def test_layout_is_remembered(qtbot: Any, bridge: StationBridge, ui_ini: QSettings) -> None:
    station = bridge.threaded_runtime.runtime.station
    win = MainWindow(bridge, station.data_dir, ui_settings=ui_ini)
    qtbot.addWidget(win)
    win.show()
    win.docks["events"].hide()
    win.close()  # saves the layout
    again = MainWindow(bridge, station.data_dir, ui_settings=ui_ini)
    qtbot.addWidget(again)
    again.show()
    assert again.docks["events"].isHidden()
    assert not again.docks["fleet"].isHidden()
    again.reset_layout()
    assert not again.docks["events"].isHidden()
    again.close()


def test_port_in_use_gives_a_clear_start_error(tmp_path: Path, make_settings: Any) -> None:
    data_dir = tmp_path / "busy"
    settings = make_settings(data_dir)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        settings.mqtt.port = blocker.getsockname()[1]
        rt = ThreadedRuntime(Runtime(settings, data_dir))
        with pytest.raises(Exception) as info:
            rt.start()
        rt.thread.join(30)  # the runtime's loop ends by itself after a failed start
        assert not rt.thread.is_alive()
    title, text = start_error_text(info.value, data_dir)
    assert title == "The station could not start"
    assert "already in use" in text or "failed to start" in text
    assert str(data_dir / SETTINGS_FILE) in text or str(data_dir / "logs") in text


def test_wizard_makes_a_dock_login_the_broker_accepts(
    qtbot: Any, bridge: StationBridge, ui_ini: QSettings
) -> None:
    """Issue 16: the wizard gives a dock its own login; the running broker accepts it."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    station = bridge.threaded_runtime.runtime.station
    wizard = ConnectionWizard(bridge, ui_settings=ui_ini)
    qtbot.addWidget(wizard)
    wizard.dock_sn.setText("DOCKWZ1")
    wizard.dock_login.click()
    qtbot.waitUntil(lambda: wizard.username.value() == "dock-DOCKWZ1", timeout=5000)
    password = wizard.password.value()
    assert password and password != station.settings.mqtt.device_password
    assert load_settings(station.data_dir).mqtt.dock_logins["DOCKWZ1"] == password
    codes: list[Any] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="any-id")
    client.username_pw_set("dock-DOCKWZ1", password)
    client.on_connect = lambda c, u, f, code, p: codes.append(code)
    deadline_ok = False
    try:
        for _ in range(20):  # the broker re-reads its auth file within 0.5 s
            codes.clear()
            client.connect("127.0.0.1", station.mqtt_port)
            client.loop_start()
            qtbot.waitUntil(lambda: bool(codes), timeout=5000)
            client.loop_stop()
            if not codes[0].is_failure:
                deadline_ok = True
                break
            qtbot.wait(100)
    finally:
        client.disconnect()
    assert deadline_ok
    wizard.dock_sn.setText("not/a/serial")
    wizard.dock_login.click()
    qtbot.waitUntil(lambda: "serial" in wizard.dock_login_note.text(), timeout=5000)
