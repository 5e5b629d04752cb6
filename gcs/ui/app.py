"""The desktop app: Qt (under qasync) on the main thread, the station on its own thread.

`run_desktop` starts the `ThreadedRuntime` (broker, station, web, S3, simulated fleet) and then
the window. A stalled GUI never stalls the station: its loop runs on another thread, and the
bridge only posts to Qt. If the station cannot start (a port in use...), a dialog says what
happened and what to do, and the app exits with 1.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.station.ports import busy_port_advice
from gcs.station.records import SETTINGS_FILE, Settings
from gcs.ui.bridge import StationBridge
from gcs.ui.gc_guard import MainThreadCollector
from gcs.ui.i18n import install_qt_translator, set_language, system_language, tr
from gcs.ui.main_window import MainWindow, qsettings

if TYPE_CHECKING:
    from gcs.ui.probe import ProbeSpec

log = logging.getLogger(__name__)

__all__ = ["apply_language", "prepare_environment", "run_desktop", "start_error_text"]


def prepare_environment() -> None:
    """Environment Qt needs before the QApplication exists (QtWebEngine as root)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def _port_in_use(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.EADDRINUSE:
            return True
        text = str(seen).lower()
        if "address already in use" in text or "address in use" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def start_error_text(
    exc: BaseException, data_dir: Path, settings: Settings | None = None
) -> tuple[str, str]:
    """Title and message (what happened, what to do) for a station that failed to start.

    With `settings`, a taken port is named with its service and the setting that moves it.
    """
    settings_path = data_dir / SETTINGS_FILE
    advice = busy_port_advice(exc, settings, settings_path, tr) if settings is not None else None
    if advice:
        text = tr("The station could not start: {detail}").format(detail=advice)
    elif _port_in_use(exc):
        text = (
            tr("A port the station needs is already in use: {detail}").format(detail=exc)
            + "\n\n"
            + tr(
                "Close the other program using it (another GCS instance?), or change the port in"
                " {path} and start again."
            ).format(path=settings_path)
        )
    else:
        text = (
            tr("The station failed to start: {detail}").format(detail=exc)
            + "\n\n"
            + tr("See the log in {path} and check the settings in {settings}.").format(
                path=data_dir / "logs", settings=settings_path
            )
        )
    return tr("The station could not start"), text


def apply_language(ui_settings: QSettings) -> None:
    """Set the UI language from the saved choice ("system" follows the system locale)."""
    choice = str(ui_settings.value("ui/language", "system"))
    set_language(system_language() if choice not in ("en", "zh") else choice)


def run_desktop(
    settings: Settings,
    data_dir: Path,
    *,
    external_broker: str | None = None,
    fleet: dict[str, int] | None = None,
    ui_settings: QSettings | None = None,
    on_started: Callable[[ThreadedRuntime], None] | None = None,
    probe: ProbeSpec | None = None,
) -> int:
    """Run the desktop station until its window is closed.

    `on_started(runtime)` is called once the station runs and the window is open (the
    command line prints the addresses there). With `probe`, the window is photographed and
    described once the fleet is online, and the app quits (`gcs.ui.probe`).

    Returns:
        The process exit code: 0 after a normal close, 1 if the station could not start.
    """
    import qasync

    prepare_environment()
    try:  # QtWebEngine wants to be imported before the QApplication exists
        import gcs.ui.map_panel  # noqa: F401
    except ImportError as exc:
        log.warning("map panel unavailable: %s", exc)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setOrganizationName("gcs")
    app.setApplicationName("gcs-station")
    install_qt_translator()
    ui = ui_settings or qsettings()
    apply_language(ui)

    runtime = ThreadedRuntime(
        Runtime(settings, data_dir, external_broker=external_broker, fleet=fleet)
    )
    try:
        runtime.start()
    except Exception as exc:
        log.error("the station could not start: %s", exc)
        runtime.thread.join(30)  # its loop ends by itself after a failed start
        title, text = start_error_text(exc, data_dir, settings)
        QMessageBox.critical(None, title, text)
        return 1

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    collector = MainThreadCollector(app)  # Qt objects die on this thread, never the station's
    bridge = StationBridge(runtime)
    window = MainWindow(bridge, data_dir, ui_settings=ui)
    window.show()
    window.show_wizard_if_first_start()
    probe_timer = None
    if probe is not None:
        from gcs.ui.probe import WindowProbe

        probe_timer = WindowProbe(window, bridge, probe)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    app.lastWindowClosed.connect(app.quit)
    keepalive = quit_on_signals(app)
    if on_started is not None:
        on_started(runtime)
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        keepalive.stop()
        del probe_timer
        window.save_layout()
        bridge.close()
        runtime.stop()
        collector.stop()
    return 0


def quit_on_signals(app: QApplication) -> QTimer:
    """Make Ctrl+C / SIGTERM close the app cleanly (station stopped, layout saved).

    Python runs signal handlers only between bytecodes, so a light timer keeps the
    interpreter ticking while Qt waits for events. Returns that timer.
    """

    def handler(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, app.quit)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    timer = QTimer(app)
    timer.setInterval(250)
    timer.timeout.connect(lambda: None)
    timer.start()
    return timer
