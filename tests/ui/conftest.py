"""Fixtures for the desktop UI tests: a real station on its own thread, a bridge, a fleet.

Qt runs offscreen. `ui_runtime` starts a `ThreadedRuntime` on free loopback ports (optionally
with the simulated fleet); `bridge` wraps it in a `StationBridge` on the Qt thread. Every test
here fails if it leaves a Qt window open (`no_leaked_windows`, autouse, in qt_leaks.py).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from qt_leaks import no_leaked_windows

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.store.settings import Settings, load_settings

__all__ = ["no_leaked_windows"]


@pytest.fixture(scope="session", autouse=True)
def _gc_on_the_gui_thread() -> Iterator[None]:
    """As in the desktop app (`gcs.ui.gc_guard`): no automatic garbage collection, which could
    free a Qt object on a station thread and deadlock with the GUI thread; the main thread
    collects after every desktop test (below) and between the others (tests/conftest.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_desktop_test() -> Iterator[None]:
    yield
    gc.collect()


def loopback_settings(data_dir: Path) -> Settings:
    """gcs.toml for a test station: loopback only, free ports."""
    settings = load_settings(data_dir)
    settings.station.host = "127.0.0.1"
    settings.station.public_host = "127.0.0.1"
    # Port 0: every listener asks the OS for a free port (no race with other test runs).
    settings.mqtt.port = 0
    settings.http.port = 0
    settings.http.https_port = 0
    settings.storage.port = 0
    settings.ntp.port = settings.ntp.fallback_port = 0
    settings.live.rtmp_port = settings.live.http_port = 0
    return settings


StartRuntime = Callable[..., ThreadedRuntime]


@pytest.fixture
def start_runtime(tmp_path: Path) -> Iterator[StartRuntime]:
    """Factory: `start_runtime(fleet={"docks": 2, "pilots": 1})` → a started ThreadedRuntime."""
    started: list[ThreadedRuntime] = []

    def start(fleet: dict[str, int] | None = None, **kw: Any) -> ThreadedRuntime:
        data_dir = tmp_path / f"station{len(started)}"
        settings = loopback_settings(data_dir)
        rt = ThreadedRuntime(Runtime(settings, data_dir, fleet=fleet, **kw))
        rt.start()
        started.append(rt)
        return rt

    yield start
    for rt in reversed(started):
        rt.stop()


@pytest.fixture
def ui_runtime(start_runtime: StartRuntime) -> ThreadedRuntime:
    """A station with no simulated devices (tests add raw MQTT devices)."""
    return start_runtime()


@pytest.fixture
def fleet_runtime(start_runtime: StartRuntime) -> ThreadedRuntime:
    """A station with a simulated fleet of 3 docks and 1 Pilot RC, all online."""
    rt = start_runtime(fleet={"docks": 3, "pilots": 1})
    fleet = rt.runtime.fleet
    assert fleet is not None
    assert fleet.ready.wait(60), "simulated fleet did not come up"
    assert fleet.error is None, fleet.error
    return rt


@pytest.fixture
def make_settings() -> Callable[[Path], Settings]:
    """`make_settings(data_dir)` → loopback settings on free ports (not started)."""
    return loopback_settings


@pytest.fixture
def main_window(qtbot: Any, ui_runtime: ThreadedRuntime, tmp_path: Path) -> Iterator[Any]:
    """The station window (English) over `ui_runtime`, shown; closed with its bridge after."""
    from PySide6.QtCore import QSettings

    from gcs.ui.bridge import StationBridge
    from gcs.ui.i18n import set_language
    from gcs.ui.main_window import MainWindow

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
def peer_dock(ui_runtime: ThreadedRuntime) -> Iterator[Any]:
    """A literal-JSON Dock 2 with its aircraft (`tests/command_peers.py`), online."""
    from command_peers import RawDock

    st = ui_runtime.runtime.station
    d = RawDock(st.mqtt_port, st.settings.mqtt.device_username, st.settings.mqtt.device_password)
    d.online()
    yield d
    d.close()
