"""The broker child is started by the bundle's console program (Windows has a GUI one too)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from broker.process import child_command


def test_frozen_bundle_starts_the_broker_with_its_own_executable(
    tmp_path: Path, monkeypatch: Any
) -> None:
    exe = tmp_path / "gcs"
    exe.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    command = child_command("127.0.0.1", 1883, tmp_path / "auth.json", max_queued_messages=10)
    assert command[:2] == [str(exe), "broker"]


def test_windows_gui_program_hands_the_broker_to_the_console_program(
    tmp_path: Path, monkeypatch: Any
) -> None:
    gui = tmp_path / "gcs-station.exe"
    console = tmp_path / "gcs.exe"
    gui.write_bytes(b"")
    console.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", str(gui))
    command = child_command("0.0.0.0", 1883, tmp_path / "auth.json", max_queued_messages=10)
    assert command[0] == str(console) and command[1] == "broker"
    monkeypatch.setattr(sys, "executable", str(console))
    assert child_command("0.0.0.0", 1883, "a.json", max_queued_messages=1)[0] == str(console)
