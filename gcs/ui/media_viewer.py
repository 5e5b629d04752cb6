"""The media viewer: one window that shows a photo (zoom, pan, fit, 100 %) or plays a video,
steps through the media browser's current (filtered, sorted) list, and lists every catalogue
field of the item beside it.

Theory of operation. The viewer holds the browser's `MediaModel` and the id of the item shown;
previous/next move along `model.rows`, asking the model for its next page at the end. A photo
is fetched by the station and decoded into a QImage in an executor (`MediaAccess.image`); a
result that arrives after the operator moved on is dropped (each load has a generation). A
video plays from a short-lived presigned URL the station gives (`MediaAccess.play_url`) through
QtMultimedia's FFmpeg back end, which reads it with HTTP range requests as it plays.
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gcs.station.media import MediaRow
from gcs.ui.i18n import register, tr

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QMediaPlayer

    from gcs.ui.media_panel import MediaModel

log = logging.getLogger(__name__)

register(
    {
        "Name": "名称",
        "Type": "类型",
        "Captured": "拍摄时间",
        "Received": "接收时间",
        "Device": "设备",
        "Task": "任务",
        "Lens": "镜头",
        "Position": "位置",
        "Absolute altitude": "绝对高度",
        "Relative altitude": "相对高度",
        "Gimbal yaw": "云台偏航",
        "Gimbal pitch": "云台俯仰",
        "Aircraft yaw": "飞行器偏航",
        "Aircraft pitch": "飞行器俯仰",
        "Camera": "相机型号",
        "Resolution": "分辨率",
        "Duration": "时长",
        "Codec": "编码",
        "Size": "大小",
        "MD5": "MD5",
        "Object key": "对象键",
        "Source": "来源",
        "Status": "状态",
        "Previous": "上一个",
        "Next": "下一个",
        "Fit": "适应窗口",
        "Play": "播放",
        "Pause": "暂停",
        "Mute": "静音",
        "Unmute": "取消静音",
        "Loading…": "加载中…",
        "Media viewer": "媒体查看器",
        "The picture cannot be shown": "无法显示该图片",
        "The video cannot be played": "无法播放该视频",
        "This build has no video playback (QtMultimedia is missing)": (
            "此版本不含视频播放功能（缺少 QtMultimedia）"
        ),
    }
)

#: The largest picture decoded for the viewer, in pixels (DJI's 48 MP zoom camera fits).
MAX_PIXELS = 64_000_000
ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.02, 16.0


def decode_full(data: bytes) -> QImage | None:
    """The picture in `data`, turned upright by its EXIF orientation (blocking: run it in an
    executor). None when Qt cannot read it."""
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and size.width() * size.height() > MAX_PIXELS:
        scale = (MAX_PIXELS / (size.width() * size.height())) ** 0.5
        reader.setScaledSize(size * scale)
    image = reader.read()
    return None if image.isNull() else image


def _num(value: float | int | None, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def local_time(ms: int | None) -> str:
    """Epoch milliseconds as this computer's local time, with its UTC offset."""
    if not ms:
        return "—"
    when = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC).astimezone()
    return when.strftime("%Y-%m-%d %H:%M:%S (UTC%z)")


def human_size(size: int | None) -> str:
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit} ({size} B)"
        value /= 1024
    return f"{size} B"  # pragma: no cover (the loop always returns)


def duration_text(ms: int | None) -> str:
    if ms is None or ms < 0:
        return "—"
    seconds = ms // 1000
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def metadata_fields(r: MediaRow) -> list[tuple[str, str]]:
    """Every catalogue field of an item as (label, text) in the current language; what the
    item lacks (a thermal R-JPEG's position, a photo's duration) shows as "—"."""
    where = "—" if r.lat is None or r.lng is None else f"{r.lat:.7f}, {r.lng:.7f}"
    fields = [
        (tr("Name"), r.name),
        (tr("Type"), r.kind),
        (tr("Captured"), local_time(r.create_time)),
        (tr("Received"), local_time(r.received_at)),
        (tr("Device"), r.device_sn or "—"),
        (tr("Task"), r.flight_id or "—"),
        (tr("Lens"), r.lens or "—"),
        (tr("Position"), where),
        (tr("Absolute altitude"), _num(r.absolute_altitude, " m", 2)),
        (tr("Relative altitude"), _num(r.relative_altitude, " m", 2)),
        (tr("Gimbal yaw"), _num(r.gimbal_yaw, "°")),
        (tr("Gimbal pitch"), _num(r.gimbal_pitch, "°")),
        (tr("Aircraft yaw"), _num(r.aircraft_yaw, "°")),
        (tr("Aircraft pitch"), _num(r.aircraft_pitch, "°")),
        (tr("Camera"), r.camera_model or "—"),
        (
            tr("Resolution"),
            f"{r.width} × {r.height}" if r.width and r.height else "—",
        ),
    ]
    if r.kind == "video":
        fields += [(tr("Duration"), duration_text(r.duration_ms)), (tr("Codec"), r.codec or "—")]
    fields += [
        (tr("Size"), human_size(r.size)),
        (tr("MD5"), r.fingerprint or "—"),
        (tr("Object key"), r.object_key),
        (tr("Source"), r.source),
        (tr("Status"), r.status if not r.note else f"{r.status}: {r.note}"),
    ]
    return fields


class PhotoView(QGraphicsView):
    """A picture that zooms with the wheel (around the pointer) and pans by dragging."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setBackgroundBrush(Qt.GlobalColor.black)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.fitting = True  # follow the window's size until the operator zooms

    def set_image(self, image: QImage | None) -> None:
        pixmap = QPixmap() if image is None else QPixmap.fromImage(image)
        self._item.setPixmap(pixmap)
        self.scene().setSceneRect(QRectF(pixmap.rect()))
        self.fit()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def scale_factor(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        self.fitting = True
        if self.has_image():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.scale_factor())

    def actual_size(self) -> None:
        self.fitting = False
        self.resetTransform()
        self.zoom_changed.emit(1.0)

    def zoom(self, factor: float) -> None:
        current = self.scale_factor()
        target = min(MAX_SCALE, max(MIN_SCALE, current * factor))
        if target != current and self.has_image():
            self.fitting = False
            self.scale(target / current, target / current)
            self.zoom_changed.emit(self.scale_factor())

    def wheelEvent(self, event: Any) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom(ZOOM_STEP**steps)
        event.accept()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self.fitting:
            self.fit()


class VideoPlayer(QWidget):
    """Play/pause, a seek slider and the time, over QtMultimedia (FFmpeg back end)."""

    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player: QMediaPlayer | None = None
        self.error = ""
        self.play_button = QToolButton()
        self.play_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.sliderMoved.connect(self.seek)
        self.time = QLabel(self._time_text(0, 0))
        self.mute_button = QToolButton()
        self.mute_button.setCheckable(True)
        self.mute_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaVolume))
        self.mute_button.setToolTip(tr("Mute"))
        self.mute_button.toggled.connect(self.set_muted)
        self.audio: Any = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
            from PySide6.QtMultimediaWidgets import QVideoWidget
        except ImportError:  # a build without QtMultimedia
            self.video: QWidget = QLabel()
            self.message.setText(tr("This build has no video playback (QtMultimedia is missing)"))
        else:
            self.video = QVideoWidget()
            self.player = QMediaPlayer(self)
            self.player.setVideoOutput(self.video)
            # the sound of videos that have it (the system's default output)
            self.audio = QAudioOutput(self)
            self.player.setAudioOutput(self.audio)
            self.player.durationChanged.connect(self._on_duration)
            self.player.positionChanged.connect(self._on_position)
            self.player.playbackStateChanged.connect(self._on_state)
            self.player.errorOccurred.connect(self._on_error)
        self.video.setMinimumSize(320, 180)
        layout.addWidget(self.video, 1)
        layout.addWidget(self.message)
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time)
        controls.addWidget(self.mute_button)
        layout.addLayout(controls)

    @staticmethod
    def _time_text(position_ms: int, duration_ms: int) -> str:
        def mmss(ms: int) -> str:
            s = max(0, ms) // 1000
            return f"{s // 60:02d}:{s % 60:02d}"

        return f"{mmss(position_ms)} / {mmss(duration_ms)}"

    def load(self, url: str) -> None:
        """Play from `url` (a presigned GET or a local file path) from the start, paused."""
        self.error = ""
        self.message.setText("")
        if self.player is None:
            return
        qurl = QUrl(url) if "://" in url else QUrl.fromLocalFile(url)
        self.player.setSource(qurl)

    def show_error(self, text: str) -> None:
        self.error = text
        self.message.setText(f"{tr('The video cannot be played')}: {text}")
        self.failed.emit(text)

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
            self.player.setSource(QUrl())

    @Slot()
    def toggle(self) -> None:
        if self.player is None:
            return
        from PySide6.QtMultimedia import QMediaPlayer

        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    @Slot(bool)
    def set_muted(self, muted: bool) -> None:
        if self.audio is not None:
            self.audio.setMuted(muted)
        pixmaps = QStyle.StandardPixmap
        icon = pixmaps.SP_MediaVolumeMuted if muted else pixmaps.SP_MediaVolume
        self.mute_button.setIcon(self.style().standardIcon(icon))
        self.mute_button.setToolTip(tr("Unmute") if muted else tr("Mute"))

    @Slot(int)
    def seek(self, position_ms: int) -> None:
        if self.player is not None:
            self.player.setPosition(position_ms)

    def current_frame(self) -> QImage:
        """The picture the player shows now (a null image before the first frame)."""
        sink = getattr(self.video, "videoSink", None)
        if self.player is None or sink is None:
            return QImage()
        image: QImage = sink().videoFrame().toImage()
        return image

    def duration(self) -> int:
        return 0 if self.player is None else int(self.player.duration())

    def _on_duration(self, ms: int) -> None:
        self.slider.setRange(0, max(0, ms))
        self.time.setText(self._time_text(self.slider.value(), ms))

    def _on_position(self, ms: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(ms)
        self.time.setText(self._time_text(ms, self.duration()))

    def _on_state(self, state: Any) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        playing = state == QMediaPlayer.PlaybackState.PlayingState
        pixmaps = QStyle.StandardPixmap
        icon = pixmaps.SP_MediaPause if playing else pixmaps.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.play_button.setToolTip(tr("Pause") if playing else tr("Play"))

    def _on_error(self, _error: Any, text: str) -> None:
        log.warning("video playback: %s", text)
        self.show_error(text)


class MediaViewer(QWidget):
    """The viewer window over the browser's model. Usable until closed."""

    shown = Signal(int)  # media id, once its picture or video is loaded
    load_failed = Signal(int, str)  # media id, why

    def __init__(self, model: MediaModel, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.model = model
        self.access = model.access
        self.current: MediaRow | None = None
        self._generation = 0
        self._pending_step = 0
        self.setWindowTitle(tr("Media viewer"))
        self.resize(1200, 780)

        self.photo = PhotoView()
        self.player = VideoPlayer()
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ddd; background: black; font-size: 15px;")
        self.stack = QStackedWidget()
        for page in (self.photo, self.player, self.message):
            self.stack.addWidget(page)

        self.table = QTableWidget(0, 2)
        self.table.horizontalHeader().setVisible(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.setMinimumWidth(300)

        self.prev_button = QPushButton(tr("Previous"))
        self.next_button = QPushButton(tr("Next"))
        self.fit_button = QPushButton(tr("Fit"))
        self.actual_button = QPushButton("100 %")
        self.zoom_out_button = QPushButton("−")
        self.zoom_in_button = QPushButton("+")
        self.zoom_label = QLabel()
        self.position_label = QLabel()
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        self.fit_button.clicked.connect(self.photo.fit)
        self.actual_button.clicked.connect(self.photo.actual_size)
        self.zoom_in_button.clicked.connect(lambda: self.photo.zoom(ZOOM_STEP))
        self.zoom_out_button.clicked.connect(lambda: self.photo.zoom(1 / ZOOM_STEP))
        self.photo.zoom_changed.connect(
            lambda f: self.zoom_label.setText(f"{f * 100:.0f} %" if self.photo.has_image() else "")
        )
        bar = QHBoxLayout()
        for w in (self.prev_button, self.next_button, self.position_label):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (
            self.zoom_out_button,
            self.zoom_label,
            self.zoom_in_button,
            self.fit_button,
            self.actual_button,
        ):
            bar.addWidget(w)

        split = QSplitter()
        split.addWidget(self.stack)
        split.addWidget(self.table)
        split.setStretchFactor(0, 1)
        split.setSizes([880, 320])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)

        keys: list[tuple[Any, Any]] = [
            (Qt.Key.Key_Left, self.previous),
            (Qt.Key.Key_PageUp, self.previous),
            (Qt.Key.Key_Right, self.next),
            (Qt.Key.Key_PageDown, self.next),
            (Qt.Key.Key_Plus, lambda: self.photo.zoom(ZOOM_STEP)),
            (Qt.Key.Key_Equal, lambda: self.photo.zoom(ZOOM_STEP)),
            (Qt.Key.Key_Minus, lambda: self.photo.zoom(1 / ZOOM_STEP)),
            (Qt.Key.Key_F, self.photo.fit),
            (Qt.Key.Key_1, self.photo.actual_size),
            (Qt.Key.Key_Space, self.player.toggle),
            (Qt.Key.Key_Escape, self.close),
        ]
        for key, slot in keys:
            QShortcut(QKeySequence(key), self, slot)
        model.loaded.connect(self._on_model_loaded)
        model.dataChanged.connect(self._on_data_changed)
        model.rowsRemoved.connect(self._update_position)

    # -- navigation ----------------------------------------------------------------------

    def index_of_current(self) -> int | None:
        if self.current is None:
            return None
        media_id = self.current.id
        return next((i for i, r in enumerate(self.model.rows) if r.id == media_id), None)

    def show_item(self, row: MediaRow) -> None:
        """Show `row` (a photo, a video, or what is known of another file)."""
        self._generation += 1
        generation = self._generation
        self.current = row
        self.player.stop()
        self._fill_table(row)
        self._update_position()
        self.setWindowTitle(f"{row.name} — {tr('Media viewer')}")
        if row.kind == "video":
            self.stack.setCurrentWidget(self.player)
            self._set_zoom_enabled(False)

            def got_url(url: str | None, error: Any) -> None:
                if generation != self._generation:
                    return
                if error is not None or not url:
                    self.player.show_error(str(error))
                    self.load_failed.emit(row.id, str(error))
                    return
                self.player.load(url)
                self.shown.emit(row.id)

            self.access.play_url(row, got_url)
            return
        self._set_zoom_enabled(True)
        self.message.setText(tr("Loading…"))
        self.stack.setCurrentWidget(self.message)

        def got_image(image: QImage | None, error: Any) -> None:
            if generation != self._generation:
                return  # the operator moved on
            if image is None:
                why = str(error) if error is not None else "not a picture Qt can read"
                self.message.setText(f"{tr('The picture cannot be shown')}\n{row.name}: {why}")
                self.photo.set_image(None)
                self.load_failed.emit(row.id, why)
                return
            self.stack.setCurrentWidget(self.photo)
            self.photo.set_image(image)
            self.shown.emit(row.id)

        self.access.image(row, decode_full, got_image)

    def _set_zoom_enabled(self, enabled: bool) -> None:
        for w in (self.fit_button, self.actual_button, self.zoom_in_button, self.zoom_out_button):
            w.setEnabled(enabled)
        if not enabled:
            self.zoom_label.setText("")

    @Slot()
    def next(self) -> None:
        self._step(1)

    @Slot()
    def previous(self) -> None:
        self._step(-1)

    def _step(self, delta: int) -> None:
        at = self.index_of_current()
        if at is None:
            return
        target = at + delta
        if 0 <= target < len(self.model.rows):
            self.show_item(self.model.rows[target])
        elif target >= len(self.model.rows) and self.model.canFetchMore():
            self._pending_step = delta  # shown when the next page arrives
            self.model.fetchMore()

    def _on_model_loaded(self) -> None:
        if self._pending_step:
            delta, self._pending_step = self._pending_step, 0
            self._step(delta)
        else:
            self._update_position()

    def _on_data_changed(self, top: Any, bottom: Any, *_: Any) -> None:
        """The shown item's metadata changed (read from the file): the side panel follows."""
        at = self.index_of_current()
        if at is None or not top.row() <= at <= bottom.row():
            return
        row = self.model.rows[at]
        if row != self.current:
            self.current = row
            self._fill_table(row)

    def _update_position(self, *_: Any) -> None:
        at = self.index_of_current()
        total = self.model.total
        self.position_label.setText("" if at is None else f"{at + 1} / {total}")
        self.prev_button.setEnabled(at is not None and at > 0)
        self.next_button.setEnabled(
            at is not None and (at + 1 < len(self.model.rows) or self.model.canFetchMore())
        )

    def _fill_table(self, row: MediaRow) -> None:
        fields = metadata_fields(row)
        self.table.setRowCount(len(fields))
        for i, (label, text) in enumerate(fields):
            name = QTableWidgetItem(label)
            name.setForeground(Qt.GlobalColor.darkGray)
            value = QTableWidgetItem(text)
            value.setToolTip(text)
            self.table.setItem(i, 0, name)
            self.table.setItem(i, 1, value)
        self.table.resizeColumnToContents(0)
        self.table.resizeRowsToContents()

    def field(self, label: str) -> str:
        """The text the side panel shows for `label` (English label, for tests and tools)."""
        for i in range(self.table.rowCount()):
            item = self.table.item(i, 0)
            if item is not None and item.text() == tr(label):
                value = self.table.item(i, 1)
                return value.text() if value is not None else ""
        raise KeyError(label)

    def closeEvent(self, event: Any) -> None:
        self._generation += 1
        self.player.stop()
        super().closeEvent(event)
