"""First start on a new machine: the connection wizard opens by itself once, the About box
names the version and the data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from gcs.runtime import ThreadedRuntime
from gcs.ui.bridge import StationBridge
from gcs.ui.main_window import MainWindow
from gcs.ui.wizard import ConnectionWizard
from gcs.version import version


@pytest.fixture
def bridge(ui_runtime: ThreadedRuntime) -> Iterator[StationBridge]:
    b = StationBridge(ui_runtime)
    yield b
    b.close()


@pytest.fixture
def ui_ini(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


def test_wizard_opens_by_itself_on_the_first_start_only(
    qtbot: Any, bridge: StationBridge, ui_ini: QSettings
) -> None:
    station = bridge.threaded_runtime.runtime.station
    win = MainWindow(bridge, station.data_dir, ui_settings=ui_ini, optional_panels=False)
    qtbot.addWidget(win)
    seen: list[str] = []

    def accept_wizard() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, ConnectionWizard) and w.isVisible():
                seen.append(w.windowTitle())
                w.accept()

    closer = QTimer()
    closer.timeout.connect(accept_wizard)
    closer.start(50)
    try:
        win.show()
        assert win.show_wizard_if_first_start() is True
        qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    finally:
        closer.stop()
    assert ui_ini.value("wizard/done", False, type=bool) is True

    again = MainWindow(bridge, station.data_dir, ui_settings=ui_ini, optional_panels=False)
    qtbot.addWidget(again)
    assert again.show_wizard_if_first_start() is False


def test_about_box_names_the_version_and_the_data_folder(
    qtbot: Any, bridge: StationBridge, ui_ini: QSettings
) -> None:
    station = bridge.threaded_runtime.runtime.station
    win = MainWindow(bridge, station.data_dir, ui_settings=ui_ini, optional_panels=False)
    qtbot.addWidget(win)
    text = win.about_text()
    assert f"Version {version()}" in text
    assert str(station.data_dir) in text


def test_taken_port_is_explained_with_its_setting_in_the_operators_language(
    tmp_path: Path,
) -> None:
    from gcs.store.settings import Settings
    from gcs.ui.app import start_error_text
    from gcs.ui.i18n import set_language

    s = Settings()
    s.storage.port = 19000
    err = OSError(98, "error while attempting to bind on address ('0.0.0.0', 19000)")
    title, text = start_error_text(err, tmp_path, s)
    assert title == "The station could not start"
    assert "Port 19000 (S3 object store)" in text
    assert "[storage] port" in text and "--s3-port" in text
    assert str(tmp_path / "gcs.toml") in text
    set_language("zh")
    try:
        title, text = start_error_text(err, tmp_path, s)
        assert "端口 19000（S3 对象存储）已被其他程序占用" in text
        assert "[storage] port" in text and str(tmp_path / "gcs.toml") in text
    finally:
        set_language("en")
