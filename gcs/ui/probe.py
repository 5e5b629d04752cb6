"""`--probe FILE`: a picture and a JSON report of the desktop window, then quit.

Used to check an installed or bundled app without a person at the screen (the packaging smoke
test, the start-up benchmark, a support request): once the window shows `gateways` online
gateways (or after `timeout_s`), the window is grabbed into ``FILE.png`` and ``FILE`` gets::

    {"ok": true, "title": ..., "shown_s": 1.9, "fleet_s": 4.2, "gateways": 3, "aircraft": 3,
     "fleet": [{"Name": ..., "State": ..., ...}, ...], "windows": [...], "version": "0.1.0",
     "map": true, "rss_tree_mb": 610.2, "screenshot": "FILE.png"}

`shown_s`/`fleet_s` are seconds from the start of the process (the executable's start, so a
bundle's unpacking is counted) to the window's first show and to the fleet being online.
Dialogs open at that moment (the first-run connection wizard) are listed in `windows` and
closed before the app quits.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from gcs.ui.bridge import StationBridge
from gcs.ui.main_window import MainWindow
from gcs.version import version

log = logging.getLogger(__name__)

__all__ = ["ProbeSpec", "WindowProbe", "process_age"]


@dataclass(frozen=True)
class ProbeSpec:
    """Where to write the report, how many online gateways to wait for, for how long."""

    path: Path
    gateways: int = 0
    timeout_s: float = 120.0


def process_age() -> float:
    """Seconds since this process started."""
    return time.time() - float(psutil.Process().create_time())


def _tree_rss() -> int:
    """Memory (RSS) of this process and its children (broker, QtWebEngine's processes)."""
    me = psutil.Process()
    total = int(me.memory_info().rss)
    for child in me.children(recursive=True):
        try:
            total += int(child.memory_info().rss)
        except psutil.Error:
            pass
    return total


class WindowProbe(QObject):
    """Polls the window every 100 ms; writes the report once and quits the application."""

    def __init__(self, window: MainWindow, bridge: StationBridge, spec: ProbeSpec) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = bridge
        self.spec = spec
        self.shown_s = process_age()
        self.started = time.monotonic()
        self.done = False
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self) -> None:
        if self.done:
            return
        gateways, _aircraft = self.bridge.counts()
        timed_out = time.monotonic() - self.started > self.spec.timeout_s
        if (gateways >= self.spec.gateways and self._map_settled()) or timed_out:
            self.done = True
            self.timer.stop()
            # A moment more so the page draws the markers it was just sent.
            QTimer.singleShot(1000, lambda: self.finish(ok=not timed_out))

    def _map_settled(self) -> bool:
        """The map page has loaded and holds every device update (True without a map)."""
        page = self.window.map
        if page is None:
            return True
        ready = bool(getattr(page, "ready", True))
        pending = getattr(page, "pending_updates", None)
        return ready and (pending is None or int(pending()) == 0)

    def report(self, *, ok: bool) -> dict[str, Any]:
        gateways, aircraft = self.bridge.counts()
        fleet = self.window.fleet
        rows = [fleet.row_texts(sn) for sn in fleet.serials()]
        app = QApplication.instance()
        windows = [
            {"class": type(w).__name__, "title": w.windowTitle(), "name": w.objectName()}
            for w in (app.topLevelWidgets() if isinstance(app, QApplication) else [])
            if w.isVisible()
        ]
        return {
            "ok": ok,
            "version": version(),
            "title": self.window.windowTitle(),
            "shown_s": round(self.shown_s, 3),
            "fleet_s": round(process_age(), 3),
            "gateways": gateways,
            "aircraft": aircraft,
            "fleet": rows,
            "windows": windows,
            "map": self.window.map is not None,
            "broker_connected": self.bridge.link_connected(),
            "rss_tree_mb": round(_tree_rss() / 1024**2, 1),
        }

    def finish(self, *, ok: bool) -> None:
        doc = self.report(ok=ok)
        png = self.spec.path.with_suffix(".png")
        doc["screenshot"] = str(png) if self.window.grab().save(str(png), "PNG") else None
        self.spec.path.parent.mkdir(parents=True, exist_ok=True)
        self.spec.path.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
        log.info("probe written to %s", self.spec.path)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            for w in app.topLevelWidgets():
                if isinstance(w, QDialog) and w.isVisible():
                    w.reject()
            QTimer.singleShot(0, app.quit)
