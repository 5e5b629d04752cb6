"""Common wiring of the dock and aircraft panels: follow the selection, refresh on telemetry."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gcs.station.devices import DeviceView
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, tr


class DevicePanel(QWidget):
    """A panel showing one device picked from the shared selection.

    Subclasses set `placeholder_text`, implement `pick(view)` (which device to show for the
    selected one, or None) and `build()`/`refresh(view, state)`.
    """

    placeholder_text = "No device selected"

    def __init__(
        self, bridge: StationBridge, selection: Selection, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.sn = ""
        self.last_refresh = 0.0  # time.monotonic() of the last refresh (benchmarks read it)
        self.shown_state: Mapping[str, Any] = {}  # the state the panel shows now
        self.header = QLabel()
        self.header.setObjectName("header")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.body = self.build()
        self.stack.addWidget(self.body)
        self.live_button = QPushButton()
        self.live_button.setVisible(False)
        self.live_button.clicked.connect(self.open_live)
        self.video_windows: dict[str, QWidget] = {}
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.live_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        bridge.telemetry_changed.connect(self._on_telemetry)
        bridge.devices_changed.connect(self._on_devices)
        selection.changed.connect(self._on_selection)
        i18n.language_changed.connect(self._on_language)
        self.retranslate()
        self._on_selection(selection.current)

    # -- to override ---------------------------------------------------------------------

    def build(self) -> QWidget:
        raise NotImplementedError

    def pick(self, view: DeviceView) -> str | None:
        raise NotImplementedError

    def refresh(self, view: DeviceView | None, state: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def retranslate_body(self) -> None:
        """Re-label the body (called on a language change)."""

    # -- wiring --------------------------------------------------------------------------

    def _choose(self, selected: str) -> str:
        view = self.bridge.device(selected) if selected else None
        if view is None:
            return self.sn if self.sn and not selected else ""
        return self.pick(view) or ""

    @Slot(str)
    def _on_selection(self, selected: str) -> None:
        sn = self._choose(selected)
        if sn != self.sn or not sn:
            self.sn = sn
            self._refresh_now()

    @Slot(str)
    def _on_telemetry(self, sn: str) -> None:
        if sn == self.sn and sn:
            self._refresh_now()

    @Slot()
    def _on_devices(self) -> None:
        if not self.sn and self.selection.current:
            self._on_selection(self.selection.current)
        else:
            self._refresh_now()

    @Slot(str)
    def _on_language(self, _lang: str) -> None:
        self.retranslate()

    def open_live(self) -> None:
        """Open (or raise) a live-video window for this device's first camera."""
        videos = self.bridge.live_videos(self.sn) if self.sn else []
        if not videos:
            return
        from gcs.ui.video_window import VideoWindow

        video_id = videos[0]
        win = self.video_windows.get(video_id)
        if win is None:
            win = VideoWindow(self.bridge, video_id)
            win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            win.destroyed.connect(lambda *_: self.video_windows.pop(video_id, None))
            self.video_windows[video_id] = win
        win.show()
        win.window().show()  # the video wall, when the window is docked in it
        win.window().raise_()

    def retranslate(self) -> None:
        self.live_button.setText(tr("Live video"))
        self.placeholder.setText(tr(self.placeholder_text))
        self.retranslate_body()
        self._refresh_now()

    def _refresh_now(self) -> None:
        view = self.bridge.device(self.sn) if self.sn else None
        if view is None:
            self.live_button.setVisible(False)
            self.stack.setCurrentWidget(self.placeholder)
            self.header.setText(f"<b>{tr('No device selected')}</b>")
            return
        self.stack.setCurrentWidget(self.body)
        online = tr("online") if view.online else tr("offline")
        color = "#2e7d32" if view.online else "#9e9e9e"
        name = view.callsign or view.model_name
        self.header.setText(
            f"<b>{_esc(name)}</b> &nbsp; {_esc(view.model_name)} &nbsp; "
            f"<span style='color:gray'>{_esc(view.sn)}</span> &nbsp; "
            f"<span style='color:{color}'>● {online}</span>"
        )
        self.shown_state = self.bridge.state(self.sn)
        self.live_button.setVisible(bool(self.bridge.live_videos(self.sn)))
        self.refresh(view, self.shown_state)
        self.last_refresh = time.monotonic()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
