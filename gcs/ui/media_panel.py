"""The media library in the desktop: a grid of thumbnails loaded page by page and picture by
picture as they scroll into view, filters, export to a folder with progress, delete with
confirmation. New uploads appear as they are catalogued (`MediaChanged`).

The panel reaches the station only through `MediaAccess` (calls run on the station's loop,
results come back on the Qt thread): it imports neither the store nor the link.
"""

from __future__ import annotations

import datetime
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gcs.station.media import MediaChanged, MediaQuery, MediaRow
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import tr
from gcs.ui.media_bridge import MediaAccess

log = logging.getLogger(__name__)

PAGE = 200
THUMB = 160
THUMB_H = THUMB * 3 // 4
MAX_CACHED = 3000
KINDS = ["", "photo", "video", "srt"]
LENSES = ["", "wide", "zoom", "thermal", "visible", "ir"]

ModelIndex = QModelIndex | QPersistentModelIndex


def _grid_image(data: bytes) -> QImage | None:
    image = QImage.fromData(data)
    if image.isNull():
        return None
    return image.scaled(
        THUMB,
        THUMB_H,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


class MediaModel(QAbstractListModel):
    """Rows fetched a page at a time (`canFetchMore`/`fetchMore`, as the view scrolls);
    thumbnails fetched once when a row is first painted, kept in a bounded cache."""

    loaded = Signal()

    def __init__(self, access: MediaAccess, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.access = access
        self.rows: list[MediaRow] = []
        self.total = 0
        self.query = MediaQuery(limit=PAGE)
        self._generation = 0
        self._loading = False
        self._thumbs: OrderedDict[int, QPixmap] = OrderedDict()
        self._asked: set[int] = set()
        self._positions: dict[int, int] | None = None  # id → row, rebuilt after rows move
        self._placeholder = QPixmap(THUMB, THUMB_H)
        self._placeholder.fill(QColor("#3a3a3a"))
        self.thumbnails_loaded = 0

    # -- Qt model ------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.name
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self._thumbs.get(row.id)
            if pixmap is None:
                self._ask_thumbnail(row)
                return self._placeholder
            self._thumbs.move_to_end(row.id)
            return pixmap
        if role == Qt.ItemDataRole.ToolTipRole:
            return describe(row)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:
        return not parent.isValid() and not self._loading and len(self.rows) < self.total

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self._load(len(self.rows))

    # -- loading -------------------------------------------------------------------------

    def reset(self, query: MediaQuery) -> None:
        """Show what `query` selects (from its first page)."""
        self.beginResetModel()
        self.rows = []
        self._positions = None
        self.total = 0
        self.query = query
        self._generation += 1
        self._loading = False
        self.endResetModel()
        self._load(0)

    def _load(self, offset: int) -> None:
        self._loading = True
        generation = self._generation
        q = MediaQuery(
            workspace_id=self.query.workspace_id,
            device_sns=self.query.device_sns,
            flight_id=self.query.flight_id,
            since_ms=self.query.since_ms,
            until_ms=self.query.until_ms,
            kind=self.query.kind,
            lens=self.query.lens,
            name=self.query.name,
            offset=offset,
            limit=PAGE,
        )

        def done(result: tuple[list[MediaRow], int] | None, error: Any) -> None:
            if generation != self._generation:
                return  # a newer query replaced this one
            self._loading = False
            if error is not None or result is None:
                log.warning("media listing failed: %s", error)
                return
            rows, total = result
            known = {r.id for r in self.rows}
            rows = [r for r in rows if r.id not in known]
            self.total = total
            if rows:
                first = len(self.rows)
                self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
                self.rows.extend(rows)
                self.endInsertRows()
            self.loaded.emit()

        self.access.query(q, done)

    def _ask_thumbnail(self, row: MediaRow) -> None:
        if row.id in self._asked or not row.thumbnail_key:
            return
        self._asked.add(row.id)

        def done(image: QImage | None, _error: Any) -> None:
            if image is None:
                return
            self._thumbs[row.id] = QPixmap.fromImage(image)
            self.thumbnails_loaded += 1
            while len(self._thumbs) > MAX_CACHED:
                old, _ = self._thumbs.popitem(last=False)
                self._asked.discard(old)
            self._changed(row.id)

        self.access.thumbnail(row, _grid_image, done)

    def _changed(self, media_id: int) -> None:
        if self._positions is None or len(self._positions) != len(self.rows):
            self._positions = {r.id: i for i, r in enumerate(self.rows)}
        i = self._positions.get(media_id)
        if i is not None and i < len(self.rows) and self.rows[i].id == media_id:
            ix = self.index(i)
            self.dataChanged.emit(ix, ix)
        elif i is not None:  # the rows moved since the map was made
            self._positions = None
            self._changed(media_id)

    def apply(self, event: MediaChanged) -> None:
        """Keep the shown rows current: a new item on top (if the filter admits it), updates
        in place, deletions removed."""
        item = event.item
        at = next((i for i, r in enumerate(self.rows) if r.id == item.id), None)
        if event.change == "deleted":
            if at is not None:
                self.beginRemoveRows(QModelIndex(), at, at)
                del self.rows[at]
                self._positions = None
                self.total = max(0, self.total - 1)
                self.endRemoveRows()
            self._thumbs.pop(item.id, None)
            return
        if at is not None:
            self.rows[at] = item
            if item.thumbnail_key and item.id not in self._thumbs:
                self._asked.discard(item.id)
            self._changed(item.id)
        elif event.change == "added" and self._admits(item):
            self.beginInsertRows(QModelIndex(), 0, 0)
            self.rows.insert(0, item)
            self._positions = None
            self.total += 1
            self.endInsertRows()

    def _admits(self, r: MediaRow) -> bool:
        q = self.query
        return (
            (not q.device_sns or r.device_sn in q.device_sns)
            and (not q.flight_id or r.flight_id == q.flight_id)
            and (not q.kind or r.kind == q.kind)
            and (not q.lens or r.lens == q.lens)
            and (not q.name or q.name.lower() in r.name.lower())
        )


def _num(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def describe(r: MediaRow) -> str:
    when = (
        datetime.datetime.fromtimestamp(r.create_time / 1000).strftime("%Y-%m-%d %H:%M:%S")
        if r.create_time
        else "—"
    )
    where = "—" if r.lat is None or r.lng is None else f"{r.lat:.6f}, {r.lng:.6f}"
    lines = [
        r.name,
        f"{tr('Device')}: {r.device_sn}   {tr('Task')}: {r.flight_id or '—'}",
        f"{tr('Taken')}: {when}   {tr('Lens')}: {r.lens or '—'}   {r.camera_model}",
        f"{tr('Position')}: {where}",
        f"{tr('Altitude')}: {_num(r.absolute_altitude, ' m')} ({tr('relative')} "
        f"{_num(r.relative_altitude, ' m')})",
        f"{tr('Gimbal')}: {tr('yaw')} {_num(r.gimbal_yaw, '°')} {tr('pitch')} "
        f"{_num(r.gimbal_pitch, '°')}",
    ]
    if r.status != "ok" or r.note:
        lines.append(f"{r.status}: {r.note}")
    return "\n".join(lines)


class MediaPanel(QWidget):
    """The media browser."""

    def __init__(self, bridge: StationBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.access = MediaAccess(bridge, self)
        self.model = MediaModel(self.access, self)
        self.access.changed.connect(self.model.apply)
        self.model.loaded.connect(self._update_count)
        self.model.rowsInserted.connect(self._update_count)
        self.model.rowsRemoved.connect(self._update_count)

        self.device = QComboBox()
        self.flight = QLineEdit()
        self.flight.setPlaceholderText(tr("Flight task"))
        self.name = QLineEdit()
        self.name.setPlaceholderText(tr("Name"))
        self.kind = QComboBox()
        self.kind.addItems([tr("All types"), tr("Photos"), tr("Videos"), tr("Tracks (SRT)")])
        self.lens = QComboBox()
        self.lens.addItems([tr("All lenses"), *[tr(x.capitalize()) for x in LENSES[1:]]])
        refresh = QPushButton(tr("Refresh"))
        for w in (self.device, self.kind, self.lens):
            w.currentIndexChanged.connect(self.refresh)
        self.flight.editingFinished.connect(self.refresh)
        self.name.editingFinished.connect(self.refresh)
        refresh.clicked.connect(self.refresh)

        self.view = QListView()
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(100)
        self.view.setIconSize(QSize(THUMB, THUMB_H))
        self.view.setGridSize(QSize(THUMB + 16, THUMB_H + 36))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setModel(self.model)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)

        self.count = QLabel()
        self.details = QLabel()
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton(tr("Export…"))
        self.delete_button = QPushButton(tr("Delete…"))
        self.priority_button = QPushButton(tr("Upload this task first"))
        self.priority_button.setToolTip(
            tr("Ask the dock to upload this flight task's media before any other")
        )
        self.priority_button.clicked.connect(self.prioritize_selected)
        self.task_counts = QLabel()
        self.export_button.clicked.connect(self.export_selected)
        self.delete_button.clicked.connect(self.delete_selected)

        filters = QHBoxLayout()
        widgets: tuple[QWidget, ...] = (
            self.device,
            self.flight,
            self.name,
            self.kind,
            self.lens,
            refresh,
        )
        for widget in widgets:
            filters.addWidget(widget)
        actions = QHBoxLayout()
        actions.addWidget(self.count, 1)
        actions.addWidget(self.task_counts)
        actions.addWidget(self.priority_button)
        actions.addWidget(self.export_button)
        actions.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.details)
        layout.addLayout(actions)
        self._fill_devices()
        bridge.devices_changed.connect(self._fill_devices)
        self._on_selection()
        self.refresh()

    def _fill_devices(self) -> None:
        current = self.device.currentData()
        self.device.blockSignals(True)
        self.device.clear()
        self.device.addItem(tr("All devices"), "")
        for d in self.bridge.devices():
            self.device.addItem(f"{d.callsign or d.sn}", d.sn)
        at = self.device.findData(current)
        self.device.setCurrentIndex(max(0, at))
        self.device.blockSignals(False)

    @Slot()
    def refresh(self) -> None:
        sn = self.device.currentData() or ""
        self.model.reset(
            MediaQuery(
                device_sns=(sn,) if sn else (),
                flight_id=self.flight.text().strip(),
                name=self.name.text().strip(),
                kind=KINDS[self.kind.currentIndex()],
                lens=LENSES[self.lens.currentIndex()],
                limit=PAGE,
            )
        )

    def _update_count(self) -> None:
        self.count.setText(f"{len(self.model.rows)} / {self.model.total}")

    def selected(self) -> list[MediaRow]:
        return [
            self.model.rows[ix.row()]
            for ix in sorted(self.view.selectionModel().selectedIndexes(), key=lambda i: i.row())
            if ix.row() < len(self.model.rows)
        ]

    def _on_selection(self, *_: Any) -> None:
        rows = self.selected()
        self.export_button.setEnabled(bool(rows))
        self.delete_button.setEnabled(bool(rows))
        self.details.setText(describe(rows[0]) if len(rows) == 1 else "")
        task = (
            rows[0] if len(rows) == 1 and rows[0].flight_id and rows[0].source == "dock" else None
        )
        self.priority_button.setEnabled(task is not None)
        self.task_counts.setText("")
        if task is not None:
            flight_id = task.flight_id

            def done(result: tuple[int, int | None] | None, _error: Any) -> None:
                current = self.selected()
                if result is None or not current or current[0].flight_id != flight_id:
                    return
                got, expected = result
                self.task_counts.setText(
                    tr("Task {task}: {got} of {expected} files").format(
                        task=flight_id, got=got, expected="?" if expected is None else expected
                    )
                )

            self.access.flight_counts(flight_id, done)

    prioritized = Signal(object)  # the outcome or the error

    @Slot()
    def prioritize_selected(self) -> None:
        rows = self.selected()
        if len(rows) != 1 or not rows[0].flight_id:
            return
        row = rows[0]

        def done(outcome: Any, error: Any) -> None:
            self.prioritized.emit(error if error is not None else outcome)
            if error is not None:
                QMessageBox.warning(self, tr("Upload this task first"), str(error))

        self.access.prioritize(row.device_sn, row.flight_id, done)

    @Slot()
    def export_selected(self, folder: str | None = None) -> None:
        rows = [r for r in self.selected() if r.status == "ok"]
        if not rows:
            return
        folder = folder or QFileDialog.getExistingDirectory(self, tr("Export to folder"))
        if not folder:
            return
        progress = QProgressDialog(tr("Exporting…"), tr("Cancel"), 0, len(rows), self)
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        errors: list[str] = []
        used: set[str] = set()

        def target_of(r: MediaRow) -> Path:
            name = Path(r.name).name or f"media-{r.id}"
            stem, suffix = Path(name).stem, Path(name).suffix
            n = 1
            while name in used or (Path(folder) / name).exists():
                n += 1
                name = f"{stem} ({n}){suffix}"
            used.add(name)
            return Path(folder) / name

        def step(i: int) -> None:
            if i >= len(rows) or progress.wasCanceled():
                progress.setValue(len(rows))
                self.exported.emit(i, errors)
                if errors:
                    QMessageBox.warning(self, tr("Export"), "\n".join(errors[:20]))
                return
            progress.setValue(i)
            row = rows[i]

            def done(_size: int | None, error: Any) -> None:
                if error is not None:
                    errors.append(f"{row.name}: {error}")
                step(i + 1)

            self.access.export(row, target_of(row), done)

        step(0)

    exported = Signal(int, list)  # how many were handled, errors

    @Slot()
    def delete_selected(self, confirmed: bool = False) -> None:
        rows = self.selected()
        if not rows:
            return
        if not confirmed:
            answer = QMessageBox.question(
                self,
                tr("Delete media"),
                tr("Delete {n} file(s) from the store and the library?").format(n=len(rows)),
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        for row in rows:

            def done(_row: MediaRow | None, error: Any, name: str = row.name) -> None:
                if error is not None:
                    QMessageBox.warning(self, tr("Delete media"), f"{name}: {error}")

            self.access.delete(row, done)

    def closeEvent(self, event: Any) -> None:
        self.access.close()
        super().closeEvent(event)
