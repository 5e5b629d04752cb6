"""`gcs demo` and `gcs` as a newcomer starts them: the terminal shows the station's addresses
(as `gcs serve` does) when a window opens, and a machine without the desktop extra gets a
sentence saying how to install it and a headless demo, not a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from station_harness import REPO, free_port


def station_args(data_dir: Path) -> list[str]:
    return [
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--mqtt-port",
        str(free_port()),
        "--ntp-port",
        str(free_port(socket.SOCK_DGRAM)),
        "--http-port",
        str(free_port()),
        "--https-port",
        str(free_port()),
        "--s3-port",
        str(free_port()),
    ]


class Child:
    """A `gcs` child process whose stdout and stderr lines are collected as they come."""

    def __init__(self, code: str, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _read(stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line.rstrip("\n"))

    def wait_for(self, line: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.out:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(
                    f"no {line!r} line:\n" + "\n".join(self.out) + "\n--\n" + "\n".join(self.err)
                )
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


MAIN = "import sys; from gcs.cli.main import main; sys.exit(main(sys.argv[1:]))"
# As on a machine where the `gui` extra was never installed: importing PySide6 fails.
WITHOUT_GUI = "import sys; sys.modules['PySide6'] = None; " + MAIN.split("; ", 1)[1]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO), **extra)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # the window's QSettings stay here
    env["HOME"] = str(tmp_path / "home")
    return env


def test_demo_without_the_gui_extra_says_how_to_install_it_and_runs_headless(
    tmp_path: Path,
) -> None:
    env = env_for(tmp_path, DISPLAY=":0")
    child = Child(
        WITHOUT_GUI,
        ["demo", *station_args(tmp_path / "s"), "--docks", "1", "--pilots", "0"],
        env,
    )
    try:
        child.wait_for("ready")
        assert any(line.startswith("http: http://") for line in child.out), child.out
        assert any("pip install 'gcs[gui]'" in line for line in child.err), child.err
        assert any("headless" in line for line in child.err), child.err
    finally:
        assert child.stop() == 0, child.err
    assert not any("Traceback" in line for line in child.err), child.err
    assert "stopped" in child.out

    app = subprocess.run(
        [sys.executable, "-c", WITHOUT_GUI, "app", *station_args(tmp_path / "a")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert app.returncode == 2
    assert "pip install 'gcs[gui]'" in app.stderr and "Traceback" not in app.stderr


def test_demo_with_a_window_prints_the_addresses(tmp_path: Path) -> None:
    env = env_for(tmp_path, QT_QPA_PLATFORM="offscreen")
    child = Child(
        MAIN, ["demo", *station_args(tmp_path / "s"), "--docks", "1", "--pilots", "0"], env
    )
    try:
        child.wait_for("ready", timeout=90)
        names = [line.split(":", 1)[0] for line in child.out]
        assert {"mqtt", "http", "s3", "data"} <= set(names), child.out
        child.wait_for("fleet ready: 1 gateways", timeout=60)
    finally:
        code = child.stop()
    assert code == 0, "\n".join(child.err)
    assert "stopped" in child.out
