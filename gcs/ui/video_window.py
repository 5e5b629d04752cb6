"""A native live-video window: one camera's stream, decoded off the GUI thread.

Showing the window asks the station for the stream (`StationBridge.live_watch`: started, or
reused when already live) and starts a `gcs.video.decoder.Decoder` on the playback URL; each
decoded picture goes to the GUI thread through a queued signal, and only the newest one is kept,
so a busy GUI never builds a backlog. Hiding or closing the window stops decoding and tells the
station nobody watches here any more (a hidden window costs nothing). Lens and quality controls
go through the station's command path; refusals show in the status line in words.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent, QHideEvent, QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import tr
from gcs.video.decoder import Decoder, FrameInfo

LENSES = ["wide", "zoom", "ir"]
QUALITIES = ["auto", "smooth 540p", "standard 720p", "high 720p", "ultra 1080p"]


class VideoWindow(QWidget):
    frame_ready = Signal()
    state_changed = Signal(str, str)

    def __init__(self, bridge: StationBridge, video_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.video_id = video_id
        self.setWindowTitle(f"{tr('Live video')} — {video_id}")
        self.picture = QLabel("connecting…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(320, 180)
        self.status = QLabel("")
        self.lens = QComboBox()
        self.lens.addItems(LENSES)
        self.quality = QComboBox()
        self.quality.addItems(QUALITIES)
        controls = QHBoxLayout()
        controls.addWidget(QLabel(tr("Lens")))
        controls.addWidget(self.lens)
        controls.addWidget(QLabel(tr("Video quality")))
        controls.addWidget(self.quality)
        controls.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        self.lens.activated.connect(self._on_lens)
        self.quality.activated.connect(self._on_quality)
        self.frame_ready.connect(self._show_latest, Qt.ConnectionType.QueuedConnection)
        self.state_changed.connect(self._on_state, Qt.ConnectionType.QueuedConnection)
        self.frames_shown = 0
        self.state = "idle"
        self._latest: tuple[Any, FrameInfo] | None = None
        self._lock = threading.Lock()
        self._decoder: Decoder | None = None
        self._unwatch: Callable[[], None] | None = None
        self._generation = 0

    # -- lifecycle -----------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stop()
        super().closeEvent(event)

    def _start(self) -> None:
        if self._decoder is not None:
            return
        self._generation += 1
        generation = self._generation
        self.state = "starting"
        self.status.setText("asking the device to stream…")

        def done(
            result: tuple[str, Callable[[], None]] | None, error: BaseException | None
        ) -> None:
            if result is None:
                self._on_state("error", _words(error))
                return
            url, unwatch = result
            if generation != self._generation or not self.isVisible():
                self.bridge.live_unwatch(unwatch)  # hidden meanwhile
                return
            self._unwatch = unwatch
            self._decoder = Decoder(url, self._on_frame, self.state_changed.emit)
            self._decoder.start()

        self.bridge.live_watch(self.video_id, done)

    def _stop(self) -> None:
        self._generation += 1
        if self._decoder is not None:
            self._decoder.stop()
            self._decoder = None
        if self._unwatch is not None:
            self.bridge.live_unwatch(self._unwatch)
            self._unwatch = None
        self.state = "idle"

    # -- frames (decoder thread → GUI thread) --------------------------------------------

    def _on_frame(self, picture: Any, info: FrameInfo) -> None:
        with self._lock:
            pending = self._latest is not None
            self._latest = (picture, info)
        if not pending:
            self.frame_ready.emit()

    @Slot()
    def _show_latest(self) -> None:
        with self._lock:
            latest, self._latest = self._latest, None
        if latest is None or self._decoder is None:
            return
        picture, info = latest
        h, w = picture.shape[:2]
        image = QImage(picture.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        pixmap = QPixmap.fromImage(image).scaled(
            self.picture.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.picture.setPixmap(pixmap)
        self.frames_shown += 1
        self.status.setText(f"{w}×{h}  {info.fps:.0f} fps  {info.kbps:.0f} kbit/s")

    @Slot(str, str)
    def _on_state(self, state: str, message: str) -> None:
        self.state = state
        if state != "playing":
            self.status.setText(message)
            if self._decoder is not None and state == "error":
                self._decoder = None

    # -- controls --------------------------------------------------------------------------

    def _on_lens(self, index: int) -> None:
        self.bridge.live_command(self.video_id, "lens", LENSES[index], self._command_done)

    def _on_quality(self, index: int) -> None:
        self.bridge.live_command(self.video_id, "quality", index, self._command_done)

    def _command_done(self, _result: None, error: BaseException | None) -> None:
        if error is not None:
            self.status.setText(_words(error))


def _words(error: BaseException | None) -> str:
    """A refusal or failure as the operator reads it."""
    if error is None:
        return ""
    outcome = getattr(error, "outcome", None)
    if outcome is not None:
        return f"{outcome.method}: {outcome.message_en}"
    return str(getattr(error, "en", "") or error)
