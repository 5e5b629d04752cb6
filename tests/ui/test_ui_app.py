"""`run_desktop` itself: a full start and close under qasync (in a child process), and the
clear error when the station cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from gcs.ui.app import run_desktop

REPO = Path(__file__).resolve().parents[2]


def test_run_desktop_starts_and_closes_cleanly(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtWidgets import QApplication
        from conftest import loopback_settings
        from gcs.ui.app import run_desktop

        app = QApplication(sys.argv)
        data_dir = Path({str(tmp_path / "station")!r})
        ui = QSettings({str(tmp_path / "ui.ini")!r}, QSettings.Format.IniFormat)
        ui.setValue("wizard/done", True)
        ui.setValue("ui/language", "zh")

        def check():
            win = [w for w in app.topLevelWidgets() if w.objectName() == "gcs_main_window"]
            print("window", len(win), win[0].windowTitle() if win else "", flush=True)
            for w in win:
                w.close()

        QTimer.singleShot(3000, check)
        code = run_desktop(loopback_settings(data_dir), data_dir, fleet=None, ui_settings=ui)
        print("exit", code, flush=True)
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=90
    )
    assert "window 1 GCS 地面站" in out.stdout, out.stdout + out.stderr
    assert "exit 0" in out.stdout, out.stdout + out.stderr
    ui = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    assert ui.value("window/state") is not None  # the layout was saved on close


def test_run_desktop_reports_a_busy_port(
    qtbot: Any, tmp_path: Path, make_settings: Any, monkeypatch: Any
) -> None:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(
        QMessageBox, "critical", lambda _p, title, text: shown.append((title, text))
    )
    data_dir = tmp_path / "busy"
    settings = make_settings(data_dir)
    ui = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        settings.mqtt.port = blocker.getsockname()[1]
        code = run_desktop(settings, data_dir, fleet=None, ui_settings=ui)
    assert code == 1
    assert len(shown) == 1
    title, text = shown[0]
    assert title == "The station could not start"
    assert str(settings.mqtt.port) in text or "in use" in text
    assert "gcs.toml" in text
