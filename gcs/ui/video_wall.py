"""The video wall: up to four live-video windows in a 2×2 grid.

A `VideoWindow` (`gcs.ui.video_window`) is docked into a free cell (its "To video wall" button,
or a camera chosen in an empty cell) and detached back into a window of its own ("Detach"); it
keeps its lens and quality controls, figures, overlay and tools either way, and its stream goes
on across the move. The wall hidden or minimised stops every cell's decoding (each cell is a
window that cannot be seen, see `VideoWindow.update_activity`), so idle streams are let go.
One wall per bridge (`VideoWall.of`); closing it only hides it with its cells.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import register, tr
from gcs.ui.video_window import VideoWindow

__all__ = ["VideoWall"]

CELLS = 4
COLUMNS = 2

register(
    {
        "Video wall": "视频墙",
        "Show": "显示",
        "Choose a camera": "选择相机",
        "No other camera to show": "没有其他可显示的相机",
        "the video wall is full (4 streams): detach one first": "视频墙已满（4 路）：请先分离一路",
    }
)

_WALLS: dict[int, VideoWall] = {}


class _Cell(QFrame):
    """One grid cell: a camera picker while empty, a docked `VideoWindow` otherwise."""

    def __init__(self, wall: VideoWall, index: int) -> None:
        super().__init__(wall)
        self.wall = wall
        self.index = index
        self.window_: VideoWindow | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumSize(360, 260)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.empty = QWidget(self)
        empty_layout = QVBoxLayout(self.empty)
        empty_layout.addStretch(1)
        self.hint = QLabel(tr("Choose a camera"))
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cameras = QComboBox()
        self.show_button = QPushButton(tr("Show"))
        for w in (self.hint, self.cameras, self.show_button):
            empty_layout.addWidget(w)
        empty_layout.addStretch(1)
        layout.addWidget(self.empty)
        self.show_button.clicked.connect(self._on_show)

    def refresh_cameras(self) -> None:
        current = self.cameras.currentText()
        shown = {w.video_id for w in self.wall.windows()}
        self.cameras.clear()
        self.cameras.addItems([v for v in self.wall.cameras() if v not in shown])
        has_any = self.cameras.count() > 0
        self.hint.setText(tr("Choose a camera") if has_any else tr("No other camera to show"))
        self.cameras.setVisible(has_any)
        self.show_button.setEnabled(has_any)
        if current:
            self.cameras.setCurrentText(current)

    def _on_show(self) -> None:
        video_id = self.cameras.currentText()
        if video_id:
            self.wall.open(video_id, self.index)

    def put(self, win: VideoWindow | None) -> None:
        self.window_ = win
        self.empty.setVisible(win is None)


class VideoWall(QWidget):
    @classmethod
    def of(cls, bridge: StationBridge) -> VideoWall:
        """The bridge's wall (made on first use)."""
        key = id(bridge)
        wall = _WALLS.get(key)
        if wall is None:
            wall = _WALLS[key] = cls(bridge)
            bridge.destroyed.connect(lambda *_: _forget(key))
        return wall

    def __init__(self, bridge: StationBridge) -> None:
        super().__init__(None)
        self.bridge = bridge
        self.setWindowTitle(tr("Video wall"))
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setSpacing(4)
        self.cells = [_Cell(self, i) for i in range(CELLS)]
        for i, cell in enumerate(self.cells):
            grid.addWidget(cell, i // COLUMNS, i % COLUMNS)
        self.message = QLabel("")
        grid.addWidget(self.message, CELLS // COLUMNS, 0, 1, COLUMNS)
        self.resize(1100, 760)
        bridge.devices_changed.connect(self._refresh_cameras)
        self._refresh_cameras()

    def cameras(self) -> list[str]:
        """Every camera the fleet offers (video ids from the gateways' live capacity)."""
        return [v for d in self.bridge.devices() for v in self.bridge.live_videos(d.sn)]

    def _refresh_cameras(self) -> None:
        for cell in self.cells:
            if cell.window_ is None:
                cell.refresh_cameras()

    def windows(self) -> list[VideoWindow]:
        return [c.window_ for c in self.cells if c.window_ is not None]

    def cell_of(self, win: VideoWindow) -> int | None:
        return next((c.index for c in self.cells if c.window_ is win), None)

    def dock(self, win: VideoWindow, index: int | None = None) -> int | None:
        """Put `win` into cell `index` (the first free one if None); returns the cell, None
        (and says why) when there is no free cell."""
        if (at := self.cell_of(win)) is not None:
            return at
        free = [c for c in self.cells if c.window_ is None]
        cell = next((c for c in free if c.index == index), free[0] if free else None)
        if cell is None:
            self.message.setText(tr("the video wall is full (4 streams): detach one first"))
            return None
        self.message.setText("")
        cell.put(win)
        win.destroyed.connect(lambda *_: _emptied(cell, win))
        win.move_into(cell)
        self._refresh_cameras()
        return cell.index

    def detach(self, win: VideoWindow) -> None:
        """Out of its cell into a window of its own."""
        index = self.cell_of(win)
        if index is None:
            return
        self.cells[index].put(None)
        win.move_into(None)
        self._refresh_cameras()

    def open(self, video_id: str, index: int | None = None) -> VideoWindow | None:
        """A new window on `video_id`, docked into cell `index` (or the first free one)."""
        if not any(c.window_ is None for c in self.cells):
            self.message.setText(tr("the video wall is full (4 streams): detach one first"))
            return None
        win = VideoWindow(self.bridge, video_id)
        win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dock(win, index)
        return win

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            for win in self.windows():
                win.update_activity()


def _emptied(cell: _Cell, win: VideoWindow) -> None:
    """A docked window was deleted: its cell is free (unless the wall went first)."""
    try:
        if cell.window_ is win:
            cell.put(None)
            cell.wall._refresh_cameras()
    except RuntimeError:  # the cell is gone with its wall
        pass


def _forget(key: int) -> None:
    wall = _WALLS.pop(key, None)
    if wall is None:
        return
    try:
        wall.close()
        wall.deleteLater()
    except RuntimeError:  # Qt deleted it already (the application is ending)
        pass
