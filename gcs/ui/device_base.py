"""Common wiring of the dock and aircraft panels: follow the selection, refresh on telemetry.

Next to the Live button, "Send to…" sends the device's camera to the operator's external
service (Agora, GB28181; Settings → Live video) or stops that; the line under the header says
where the stream goes (the station does not play it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gcs.station.devices import DeviceView
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, register, tr

register(
    {
        "Send to…": "推送到…",
        "Send {video} to {where}": "将 {video} 推送到{where}",
        "Stop sending {video} to {where}": "停止将 {video} 推送到{where}",
        "{video} goes to {where} (not played here)": "{video} 正推送到{where}（本机不播放）",
        "sending {video} to {where}…": "正在将 {video} 推送到{where}…",
        "{video} no longer goes to {where}": "{video} 已停止推送到{where}",
    }
)


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
        self.send_menu = QMenu(self)
        self.send_menu.aboutToShow.connect(self.fill_send_menu)
        self.send_button = QPushButton()
        self.send_button.setObjectName("live_send")
        self.send_button.setMenu(self.send_menu)
        self.send_button.setVisible(False)
        self.send_note = QLabel()  # where a stream sent elsewhere goes, or why it did not
        self.send_note.setObjectName("live_send_note")
        self.send_note.setWordWrap(True)
        self.send_note.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.live_button)
        top.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.send_note)
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
            if sn != self.sn:
                self._say("")  # the last note was about another device
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

    # -- sending to an external service --------------------------------------------------

    def _access(self) -> Any:
        from gcs.ui.live_bridge import LiveAccess

        return LiveAccess.of(self.bridge)

    def fill_send_menu(self) -> None:
        """The choices for this device's first camera: send it to each external service
        (greyed out with the reason when not set up), or stop a stream sent elsewhere."""
        self.send_menu.clear()
        videos = self.bridge.live_videos(self.sn) if self.sn else []
        access = self._access()
        for video_id, where in access.external_streams(self.sn):
            action = self.send_menu.addAction(
                tr("Stop sending {video} to {where}").format(video=video_id, where=where)
            )
            action.triggered.connect(lambda _=False, v=video_id, w=where: self._stop_sending(v, w))
        if not videos:
            return
        if not self.send_menu.isEmpty():
            self.send_menu.addSeparator()
        for url_type, (where, problem) in access.destinations().items():
            action = self.send_menu.addAction(
                tr("Send {video} to {where}").format(video=videos[0], where=where)
            )
            action.setData(url_type)
            if problem is not None:
                action.setEnabled(False)
                action.setToolTip(problem)
                action.setStatusTip(problem)
            action.triggered.connect(
                lambda _=False, v=videos[0], t=url_type, w=where: self.send_to(v, t, w)
            )

    def send_to(self, video_id: str, url_type: int, where: str) -> None:
        """Ask the station to send `video_id` to external service `url_type`."""
        self._say(tr("sending {video} to {where}…").format(video=video_id, where=where))

        def done(stream: Any, error: BaseException | None) -> None:
            if error is not None or stream is None:
                self._say(_words(error))
                return
            where_now = stream.destination_zh if i18n.lang == "zh" else stream.destination
            self._say(
                tr("{video} goes to {where} (not played here)").format(
                    video=stream.video_id, where=where_now
                )
            )

        self._access().send(video_id, url_type, done)

    def _stop_sending(self, video_id: str, where: str) -> None:
        def done(_: None, error: BaseException | None) -> None:
            stopped = tr("{video} no longer goes to {where}").format(video=video_id, where=where)
            self._say(_words(error) if error is not None else stopped)

        self._access().stop_sending(video_id, done)

    def _say(self, text: str) -> None:
        self.send_note.setText(text)
        self.send_note.setVisible(bool(text))

    def retranslate(self) -> None:
        self.live_button.setText(tr("Live video"))
        self.send_button.setText(tr("Send to…"))
        self.placeholder.setText(tr(self.placeholder_text))
        self.retranslate_body()
        self._refresh_now()

    def _refresh_now(self) -> None:
        view = self.bridge.device(self.sn) if self.sn else None
        if view is None:
            self.live_button.setVisible(False)
            self.send_button.setVisible(False)
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
        streams = bool(self.bridge.live_videos(self.sn))
        self.live_button.setVisible(streams)
        self.send_button.setVisible(streams)
        self.refresh(view, self.shown_state)
        self.last_refresh = time.monotonic()


def _words(error: BaseException | None) -> str:
    """A refusal or failure as the operator reads it, in the desktop's language."""
    if error is None:
        return ""
    outcome = getattr(error, "outcome", None)
    if outcome is not None:
        message = outcome.message_zh if i18n.lang == "zh" else outcome.message_en
        return f"{outcome.method}: {message}"
    text = getattr(error, "zh", "") if i18n.lang == "zh" else getattr(error, "en", "")
    return str(text or error)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
