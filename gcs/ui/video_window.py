"""A native live-video window: one camera's stream, decoded off the GUI thread.

Showing the window asks the station for the stream (`StationBridge.live_watch`: started, or
reused when already live) and starts a `gcs.video.decoder.Decoder` on the playback URL; each
decoded picture goes to the GUI thread through a queued signal, and only the newest one is kept,
so a busy GUI never builds a backlog. Hiding, minimising or closing the window stops decoding
and tells the station nobody watches here any more (a hidden window costs nothing). Lens and
quality controls go through the station's command path; refusals show in the status line in
words.

The same widget lives on its own or in a cell of the video wall (`gcs.ui.video_wall`):
`move_into()` re-parents it without restarting its stream. Its tools: recording to MP4 (the
station copies the stream, see `gcs.station.live_record`), a snapshot of the picture shown into
the media library, a translucent telemetry overlay (height, speed, battery and heading of the
aircraft whose camera it is; the dock's state for a dock camera) from the OSD the bridge
already has, and the latency the station measures (a packet's arrival at the media server to
its picture on the screen).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QHideEvent, QImage, QPixmap, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gcs.protocol import properties as p
from gcs.station.live import parse_video_id, stream_key
from gcs.station.live_record import RecordingChanged
from gcs.ui import fmt
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import register, tr
from gcs.ui.live_bridge import LiveAccess
from gcs.video.decoder import Decoder, FrameInfo
from gcs.video.recorder import have_engine

LENSES = ["wide", "zoom", "ir"]
QUALITIES = ["auto", "smooth 540p", "standard 720p", "high 720p", "ultra 1080p"]
#: Pictures the latency figure is the median of.
LATENCY_WINDOW = 30
DOCK_DOMAIN = 3
NO_ENGINE = "This installation has no video engine: no picture, recording or snapshot."
OVERLAY_STYLE = (
    "QLabel { background: rgba(20, 20, 20, 160); color: #f0f0f0; border-radius: 4px;"
    " border: 1px solid rgba(255, 255, 255, 70); padding: 4px 6px;"
    " font-family: monospace; font-size: 11px; }"
)

register(
    {
        "Record": "录像",
        "Stop recording": "停止录像",
        "Snapshot": "截图",
        "Overlay": "叠加信息",
        "To video wall": "放入视频墙",
        "Detach": "分离窗口",
        "Height": "相对高度",
        "Speed": "水平速度",
        "Battery": "电量",
        "Heading": "航向",
        "Dock": "机场",
        "Cover": "舱盖",
        "Aircraft": "飞行器",
        "in the dock": "在舱内",
        "out": "在舱外",
        "Outside": "舱外",
        "latency (media server → screen)": "延迟（媒体服务器 → 屏幕）",
        "recording…": "录像中…",
        "saved in the media library": "已存入媒体库",
        "nothing to save yet: no picture shown": "尚无画面，无法截图",
        NO_ENGINE: "本安装没有视频引擎：无法显示画面、录像或截图。",
    }
)


def _heading(value: object) -> str:
    x = p.as_float(value)
    return fmt.DASH if x is None else f"{x % 360:.0f}°"


def _known(*parts: str) -> str:
    """The parts that are known, or one dash when none is."""
    return "  ".join(x for x in parts if x != fmt.DASH) or fmt.DASH


def overlay_text(domain: int | None, state: Mapping[str, Any]) -> str:
    """The overlay's lines for the camera's device: an aircraft's height (relative to take-off),
    horizontal speed, battery and heading; a dock's mode, cover, aircraft and weather."""
    if domain == DOCK_DOMAIN:
        in_dock = p.to_bool(state.get("drone_in_dock"))
        aircraft = fmt.DASH if in_dock is None else tr("in the dock") if in_dock else tr("out")
        charge = fmt.percent(fmt.dig(state, "drone_charge_state.capacity_percent"))
        weather = [
            fmt.number(state.get("environment_temperature"), "°C"),
            fmt.dock_wind(state.get("wind_speed")),
        ]
        return "\n".join(
            [
                f"{tr('Dock')}: {fmt.enum_text(p.DockModeCode, state.get('mode_code'))}",
                f"{tr('Cover')}: {fmt.enum_text(p.CoverState, state.get('cover_state'))}",
                f"{tr('Aircraft')}: {_known(aircraft, charge)}",
                f"{tr('Outside')}: {_known(*weather)}",
            ]
        )
    return "\n".join(
        [
            f"{tr('Height')}  {fmt.number(state.get('elevation'), 'm')}",
            f"{tr('Speed')}   {fmt.number(state.get('horizontal_speed'), 'm/s')}",
            f"{tr('Battery')} {fmt.percent(fmt.dig(state, 'battery.capacity_percent'))}",
            f"{tr('Heading')} {_heading(state.get('attitude_head'))}",
        ]
    )


class VideoWindow(QWidget):
    frame_ready = Signal()
    state_changed = Signal(str, str)

    def __init__(self, bridge: StationBridge, video_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.video_id = video_id
        parsed = parse_video_id(video_id)
        self.source_sn = parsed[0] if parsed else ""
        self.access = LiveAccess.of(bridge)
        self.setWindowTitle(f"{tr('Live video')} — {video_id}")
        self.caption = QLabel(self._caption_text())  # the camera, when docked in the wall
        self.caption.setStyleSheet("QLabel { font-weight: bold; }")
        self.caption.setVisible(False)
        self.picture = QLabel("connecting…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(320, 180)
        self.picture.setStyleSheet("QLabel { background: #111; color: #ccc; }")
        self.overlay = QLabel(self.picture)
        self.overlay.setStyleSheet(OVERLAY_STYLE)
        self.overlay.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.status = QLabel("")
        self.latency = QLabel("")
        self.lens = QComboBox()
        self.lens.addItems(LENSES)
        self.quality = QComboBox()
        self.quality.addItems(QUALITIES)
        self.record = QPushButton(tr("Record"))
        self.record.setCheckable(True)
        self.snap = QPushButton(tr("Snapshot"))
        self.show_overlay = QCheckBox(tr("Overlay"))
        self.show_overlay.setChecked(True)
        self.wall_button = QPushButton(tr("To video wall"))
        controls = QHBoxLayout()
        controls.addWidget(QLabel(tr("Lens")))
        controls.addWidget(self.lens)
        controls.addWidget(QLabel(tr("Video quality")))
        controls.addWidget(self.quality)
        controls.addStretch(1)
        tools = QHBoxLayout()
        for w in (self.record, self.snap, self.show_overlay):
            tools.addWidget(w)
        tools.addStretch(1)
        tools.addWidget(self.wall_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.picture, 1)
        layout.addLayout(controls)
        layout.addLayout(tools)
        layout.addWidget(self.status)
        layout.addWidget(self.latency)
        self.lens.activated.connect(self._on_lens)
        self.quality.activated.connect(self._on_quality)
        self.record.clicked.connect(self._on_record)
        self.snap.clicked.connect(self._on_snapshot)
        self.show_overlay.toggled.connect(self._refresh_overlay)
        self.wall_button.clicked.connect(self._on_wall)
        self.frame_ready.connect(self._show_latest, Qt.ConnectionType.QueuedConnection)
        self.state_changed.connect(self._on_state, Qt.ConnectionType.QueuedConnection)
        bridge.telemetry_changed.connect(self._on_telemetry)
        self.access.changed.connect(self._on_recording)
        self.frames_shown = 0
        self.state = "idle"
        self.latency_ms: float | None = None
        self.last_saved: Any = None  # the media row of the last snapshot or recording
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._latest: tuple[Any, FrameInfo] | None = None
        self._shown: tuple[Any, FrameInfo, int] | None = None  # picture, info, time (ms)
        self._lock = threading.Lock()
        self._decoder: Decoder | None = None
        self._unwatch: Callable[[], None] | None = None
        self._generation = 0
        self._moving = False
        self._record_since: float | None = None
        self._record_timer = QTimer(self)
        self._record_timer.setInterval(500)
        self._record_timer.timeout.connect(self._show_record_state)
        self._refresh_overlay()
        if not have_engine():  # no FFmpeg beside Qt: say so instead of failing
            for button in (self.record, self.snap):
                button.setEnabled(False)
                button.setToolTip(tr(NO_ENGINE))
            self.status.setText(tr(NO_ENGINE))
        if self.access.is_recording(video_id):
            self._set_recording(True)

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def decoder(self) -> Decoder | None:
        return self._decoder

    def wanted(self) -> bool:
        """Whether the picture can be seen: shown, and its window not minimised."""
        return self.isVisible() and not self.window().isMinimized()

    def update_activity(self) -> None:
        """Decode while the picture can be seen; otherwise stop and let the stream go."""
        if self._moving:
            return
        if self.wanted():
            self._start()
        else:
            self._stop()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.update_activity()

    def hideEvent(self, event: QHideEvent) -> None:
        if not self._moving:
            self._stop()
        super().hideEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self.update_activity()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stop()
        super().closeEvent(event)

    def move_into(self, cell: QWidget | None) -> None:
        """Into a cell of the video wall (`cell`'s layout), or out as a window of its own
        (None); the stream goes on (decoding pauses only if it ends up unseen)."""
        self._moving = True
        try:
            if cell is None:
                self.setParent(None)
                self.setWindowFlags(Qt.WindowType.Window)
                self.setWindowTitle(f"{tr('Live video')} — {self.video_id}")
            else:
                self.setParent(cell)
                layout = cell.layout()
                if layout is not None:
                    layout.addWidget(self)
            self.show()
        finally:
            self._moving = False
        self.wall_button.setText(tr("Detach") if cell is not None else tr("To video wall"))
        self.caption.setText(self._caption_text())
        self.caption.setVisible(cell is not None)
        self.update_activity()

    def _caption_text(self) -> str:
        """The camera's device (callsign, else model) and the video id."""
        view = self.bridge.device(self.source_sn)
        name = (view.callsign or view.model_name) if view is not None else ""
        return f"{name} — {self.video_id}" if name else self.video_id

    def _on_wall(self) -> None:
        from gcs.ui.video_wall import VideoWall

        wall = VideoWall.of(self.bridge)
        if self.isWindow():
            wall.dock(self)
            wall.show()
            wall.raise_()
        else:
            wall.detach(self)

    def _start(self) -> None:
        if self._decoder is not None or self.state == "starting":
            return
        self._generation += 1
        generation = self._generation
        self.state = "starting"
        self.status.setText("asking the device to stream…")

        def done(
            result: tuple[str, Callable[[], None]] | None, error: BaseException | None
        ) -> None:
            if result is None:
                if generation == self._generation:
                    self._on_state("error", _words(error))
                return
            url, unwatch = result
            if generation != self._generation or not self.wanted():
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
        now = time.time()
        self._shown = (picture, info, int(now * 1000))
        self.frames_shown += 1
        if info.arrival_s is not None:
            self._latencies.append((now - info.arrival_s) * 1000)
            self.latency_ms = statistics.median(self._latencies)
            self.latency.setText(
                f"{tr('latency (media server → screen)')}: {self.latency_ms:.0f} ms"
            )
        self.status.setText(f"{w}×{h}  {info.fps:.0f} fps  {info.kbps:.0f} kbit/s")
        self._place_overlay()

    @Slot(str, str)
    def _on_state(self, state: str, message: str) -> None:
        self.state = state
        if state != "playing":
            self.status.setText(message)
            if self._decoder is not None and state == "error":
                self._decoder = None

    # -- overlay -------------------------------------------------------------------------

    @Slot(str)
    def _on_telemetry(self, sn: str) -> None:
        if sn == self.source_sn:
            self._refresh_overlay()

    def _refresh_overlay(self) -> None:
        if not self.show_overlay.isChecked():
            self.overlay.hide()
            return
        view = self.bridge.device(self.source_sn)
        self.overlay.setText(
            overlay_text(view.domain if view else None, self.bridge.state(self.source_sn))
        )
        self.overlay.ensurePolished()  # the style sheet's padding counts in the size
        self.overlay.resize(self.overlay.sizeHint())
        self._place_overlay()
        self.overlay.show()
        self.overlay.raise_()

    def _place_overlay(self) -> None:
        pixmap = self.picture.pixmap()
        if pixmap is None or pixmap.isNull():
            self.overlay.move(QPoint(6, 6))
            return
        x = max(0, (self.picture.width() - pixmap.width()) // 2)
        y = max(0, (self.picture.height() - pixmap.height()) // 2)
        self.overlay.move(QPoint(x + 6, y + 6))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_overlay()

    # -- recording and snapshots ---------------------------------------------------------

    def _on_record(self, checked: bool) -> None:
        self.record.setEnabled(False)
        if checked:
            self.status.setText(tr("recording…"))
            self.access.start_recording(self.video_id, self._record_started)
        else:
            self.access.stop_recording(self.video_id, self._record_stopped)

    def _record_started(self, rec: Any, error: BaseException | None) -> None:
        self.record.setEnabled(True)
        if error is not None:
            self._set_recording(False)
            self.status.setText(_words(error))
            return
        self._set_recording(True)

    def _record_stopped(self, row: Any, error: BaseException | None) -> None:
        self.record.setEnabled(True)
        self._set_recording(False)
        if error is not None:
            self.status.setText(_words(error))
        elif row is not None:
            self.last_saved = row
            self.status.setText(f"{row.name}: {tr('saved in the media library')}")

    def _set_recording(self, on: bool) -> None:
        self.record.setChecked(on)
        self._record_since = time.monotonic() if on else None
        if on:
            self._record_timer.start()
        else:
            self._record_timer.stop()
        self._show_record_state()

    def _show_record_state(self) -> None:
        if self._record_since is None:
            self.record.setText(tr("Record"))
            self.record.setStyleSheet("")
            return
        secs = int(time.monotonic() - self._record_since)
        self.record.setText(f"● {tr('Stop recording')} {secs // 60}:{secs % 60:02d}")
        self.record.setStyleSheet("QPushButton { color: #d22; font-weight: bold; }")

    @Slot(object)
    def _on_recording(self, event: RecordingChanged) -> None:
        if stream_key(event.video_id) != stream_key(self.video_id):
            return
        if event.what == "started" and self._record_since is None:
            self._set_recording(True)
        elif event.what in ("saved", "failed") and self._record_since is not None:
            self._set_recording(False)
            self.status.setText(event.message)

    def _on_snapshot(self) -> None:
        shown = self._shown
        if shown is None:
            self.status.setText(tr("nothing to save yet: no picture shown"))
            return
        picture, info, taken_ms = shown
        self.snap.setEnabled(False)
        self.access.snapshot(
            self.video_id, picture, info.width, info.height, taken_ms, self._snapshot_done
        )

    def _snapshot_done(self, row: Any, error: BaseException | None) -> None:
        self.snap.setEnabled(True)
        if error is not None:
            self.status.setText(_words(error))
        elif row is not None:
            self.last_saved = row
            self.status.setText(f"{row.name}: {tr('saved in the media library')}")

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
