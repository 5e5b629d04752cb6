"""The media library in the desktop: a grid of thumbnails loaded page by page and picture by
picture as they scroll into view, filters (device, task, name, type, lens, dates), sort, a
viewer (double-click or Enter: `gcs.ui.media_viewer`), export to a folder with progress
(original names, or renamed by task and date), delete with confirmation, and "show on map".
New uploads appear as they are catalogued (`MediaChanged`).

The panel reaches the station only through `MediaAccess` (calls run on the station's loop,
results come back on the Qt thread): it imports neither the store nor the link.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTime,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QImage,
    QPainter,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from gcs.station.media import MediaChanged, MediaQuery, MediaRow
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import register, tr
from gcs.ui.media_bridge import MediaAccess
from gcs.ui.media_viewer import MediaViewer, local_time

log = logging.getLogger(__name__)

PAGE = 200
THUMB = 160
THUMB_H = THUMB * 3 // 4
MAX_CACHED = 3000
#: Thumbnails are asked for this long after the grid last scrolled or changed.
THUMB_DELAY_MS = 30
KINDS = ["", "photo", "video", "srt"]
LENSES = ["", "wide", "zoom", "thermal", "visible", "ir"]
#: The sort choices: label, DJI-style `order_by` (`gcs.store.media.order_clause`).
SORTS = [
    ("Newest first", "create_time desc"),
    ("Oldest first", "create_time asc"),
    ("Name", "name asc"),
    ("Largest first", "size desc"),
    ("Device", "device_sn asc, create_time desc"),
]
DEFAULT_ORDER = SORTS[0][1]

register(
    {
        "Newest first": "最新优先",
        "Oldest first": "最早优先",
        "Largest first": "最大优先",
        "Dates": "日期",
        "Only media taken between these dates": "只显示在这两个日期之间拍摄的媒体",
        "Show on map": "在地图上显示",
        "Put the selected photos (or all shown) on the map, pointing where the camera looked": (
            "把选中的照片（或当前列表的全部照片）按拍摄位置和相机朝向显示在地图上"
        ),
        "Export names": "导出文件名",
        "Original names": "原始文件名",
        "Renamed by task and date": "按任务和日期重命名",
        "Export {n} file(s) to {folder}": "导出 {n} 个文件到 {folder}",
        "No photo with a position to show on the map": "没有带位置信息的照片可显示在地图上",
        "Exported {n} of {total}": "已导出 {n} / {total}",
    }
)

ModelIndex = QModelIndex | QPersistentModelIndex


def _grid_image(data: bytes) -> QImage | None:
    """A thumbnail JPEG as the grid paints it (off the GUI thread, once): scaled to fit the
    cell and centred on a cell-sized transparent canvas, so every name lines up."""
    image = QImage.fromData(data)
    if image.isNull():
        return None
    scaled = image.scaled(
        THUMB,
        THUMB_H,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    if (scaled.width(), scaled.height()) == (THUMB, THUMB_H):
        return scaled
    cell = QImage(THUMB, THUMB_H, QImage.Format.Format_ARGB32_Premultiplied)
    cell.fill(Qt.GlobalColor.transparent)
    painter = QPainter(cell)
    painter.drawImage((THUMB - scaled.width()) // 2, (THUMB_H - scaled.height()) // 2, scaled)
    painter.end()
    return cell


class MediaModel(QStandardItemModel):
    """Rows fetched a page at a time (`canFetchMore`/`fetchMore`, as the view scrolls);
    thumbnails fetched for the rows on screen (`want_thumbnails`), kept in a bounded cache.

    Theory of operation (smoothness at 10,000 items): everything the view paints lives in
    C++ `QStandardItem`s (name, thumbnail pixmap, tooltip), so painting and layout never call
    into Python: a Python `data()`/`rowCount()` was called hundreds of times a frame, each call
    waiting for the GIL while the station's thread and the thumbnail decoders held it. Python
    runs only when something changes: a page of rows (inserted in one `appendRows`), a
    thumbnail (decoded and scaled once off the GUI thread, set on its item), a catalogue event.
    `rows` mirrors the items, row for row.
    """

    loaded = Signal()
    thumbnail_wanted = Signal(int)  # a row whose thumbnail just became available

    def __init__(self, access: MediaAccess, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.access = access
        self.rows: list[MediaRow] = []
        self.total = 0
        self.query = MediaQuery(limit=PAGE)
        self._generation = 0
        self._loading = False
        self._thumbs: OrderedDict[int, None] = OrderedDict()  # ids whose item has its picture
        self._asked: set[int] = set()
        self._positions: dict[int, int] | None = None  # id → row, rebuilt after rows move
        self._placeholder = QPixmap(THUMB, THUMB_H)
        self._placeholder.fill(QColor("#3a3a3a"))
        self.thumbnails_loaded = 0
        self.setColumnCount(1)

    def _make_item(self, row: MediaRow) -> QStandardItem:
        item = QStandardItem(row.name)
        item.setData(self._placeholder, Qt.ItemDataRole.DecorationRole)
        item.setToolTip(describe(row))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        return item

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:
        return not parent.isValid() and not self._loading and len(self.rows) < self.total

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self._load(len(self.rows))

    # -- loading -------------------------------------------------------------------------

    def reset(self, query: MediaQuery) -> None:
        """Show what `query` selects (from its first page)."""
        self.setRowCount(0)
        self.rows = []
        self._thumbs.clear()
        self._asked.clear()
        self._positions = None
        self.total = 0
        self.query = query
        self._generation += 1
        self._loading = False
        self._load(0)

    def _load(self, offset: int) -> None:
        self._loading = True
        generation = self._generation
        q = replace(self.query, offset=offset, limit=PAGE)

        def done(result: tuple[list[MediaRow], int] | None, error: Any) -> None:
            if generation != self._generation:
                return  # a newer query replaced this one
            self._loading = False
            if error is not None or result is None:
                log.warning("media listing failed: %s", error)
                return
            rows, total = result
            known = set(self._positions) if self._positions is not None else None
            if known is None or len(known) != len(self.rows):
                known = {r.id for r in self.rows}
            rows = [r for r in rows if r.id not in known]
            self.total = total
            if rows:
                items = [self._make_item(r) for r in rows]
                self.rows.extend(rows)
                self._positions = None
                self.invisibleRootItem().appendRows(items)  # one rowsInserted for the page
            self.loaded.emit()

        self.access.query(q, done)

    def want_thumbnails(self, first: int, last: int) -> int:
        """Fetch the thumbnails of rows `first`..`last` (those on screen) not shown yet;
        returns how many were asked for."""
        asked = 0
        for row in self.rows[max(0, first) : max(0, last + 1)]:
            if row.id in self._thumbs:
                self._thumbs.move_to_end(row.id)
            elif row.id not in self._asked and row.thumbnail_key:
                self._ask_thumbnail(row)
                asked += 1
        return asked

    def _ask_thumbnail(self, row: MediaRow) -> None:
        self._asked.add(row.id)
        generation = self._generation

        def done(image: QImage | None, _error: Any) -> None:
            if generation != self._generation:
                return
            if image is None:
                return  # stays "asked": a thumbnail that cannot be read is not asked again
            self._asked.discard(row.id)
            at = self.position(row.id)
            if at is None:
                return
            self.item(at).setData(QPixmap.fromImage(image), Qt.ItemDataRole.DecorationRole)
            self._thumbs[row.id] = None
            self.thumbnails_loaded += 1
            while len(self._thumbs) > MAX_CACHED:  # the picture least recently on screen
                old, _ = self._thumbs.popitem(last=False)
                where = self.position(old)
                if where is not None:
                    self.item(where).setData(self._placeholder, Qt.ItemDataRole.DecorationRole)

        self.access.thumbnail(row, _grid_image, done)

    def position(self, media_id: int) -> int | None:
        """The row showing `media_id` (None if not loaded); a map kept until rows move."""
        if self._positions is None or len(self._positions) != len(self.rows):
            self._positions = {r.id: i for i, r in enumerate(self.rows)}
        i = self._positions.get(media_id)
        if i is not None and (i >= len(self.rows) or self.rows[i].id != media_id):
            self._positions = {r.id: i for i, r in enumerate(self.rows)}  # rows moved
            i = self._positions.get(media_id)
        return i

    def _changed(self, media_id: int) -> None:
        i = self.position(media_id)
        if i is not None:
            row, item = self.rows[i], self.item(i)
            item.setText(row.name)
            item.setToolTip(describe(row))

    def apply(self, event: MediaChanged) -> None:
        """Keep the shown rows current: a new item where the sort puts it (if the filter
        admits it), updates in place, deletions removed."""
        item = event.item
        at = self.position(item.id)
        if event.change == "deleted":
            if at is not None:
                del self.rows[at]
                self._positions = None
                self.total = max(0, self.total - 1)
                self.removeRow(at)
            self._thumbs.pop(item.id, None)
            return
        if at is not None:
            self.rows[at] = item
            self._changed(item.id)
            if item.thumbnail_key and item.id not in self._thumbs:
                self.thumbnail_wanted.emit(at)
        elif event.change == "added" and self._admits(item):
            self.total += 1
            where = self._insertion_point(item)
            if where is None:
                return  # it sorts after the pages loaded so far: paged in later
            self.rows.insert(where, item)
            self._positions = None
            self.insertRow(where, self._make_item(item))

    def _insertion_point(self, item: MediaRow) -> int | None:
        order = self.query.order_by or DEFAULT_ORDER
        if order == DEFAULT_ORDER:
            return 0  # new uploads are the newest
        key = sort_key(order)
        k = key(item)
        for i, r in enumerate(self.rows):
            if k < key(r):
                return i
        return len(self.rows) if len(self.rows) >= self.total - 1 else None

    def _admits(self, r: MediaRow) -> bool:
        q = self.query
        when = r.create_time if r.create_time is not None else r.received_at
        return (
            (not q.device_sns or r.device_sn in q.device_sns)
            and (not q.flight_id or r.flight_id == q.flight_id)
            and (not q.kind or r.kind == q.kind)
            and (not q.lens or r.lens == q.lens)
            and (not q.name or q.name.lower() in r.name.lower())
            and (q.since_ms is None or when >= q.since_ms)
            and (q.until_ms is None or when <= q.until_ms)
        )


class _Reverse:
    """Inverts the order of a value inside a sort key (for "desc" terms)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Reverse) -> bool:
        return bool(other.v < self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and bool(self.v == other.v)

    __hash__ = None  # type: ignore[assignment]


def sort_key(order_by: str) -> Any:
    """A Python key that orders rows as the station's `order_by` does (ascending key)."""
    getters: dict[str, Callable[[MediaRow], Any]] = {
        "create_time": lambda r: r.create_time if r.create_time is not None else r.received_at,
        "name": lambda r: r.name.lower(),
        "size": lambda r: -1 if r.size is None else r.size,
        "device_sn": lambda r: r.device_sn,
        "update_time": lambda r: r.updated_at,
    }
    terms: list[tuple[Callable[[MediaRow], Any], bool]] = []
    for part in order_by.split(","):
        words = part.split()
        if words and words[0] in getters:
            desc = len(words) > 1 and words[1].lower() == "desc"
            terms.append((getters[words[0]], desc))

    def key(r: MediaRow) -> tuple[Any, ...]:
        return tuple(_Reverse(g(r)) if desc else g(r) for g, desc in terms)

    return key


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


_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]')


def safe_name(text: str) -> str:
    """`text` as one file or folder name on Windows, macOS and Linux."""
    cleaned = _UNSAFE.sub("_", text).strip(" .")
    return cleaned[:120] or "_"


def export_name(row: MediaRow, renamed: bool, task_names: dict[str, str] | None = None) -> Path:
    """Where an item goes inside the export folder (a relative path).

    Original: the file's own name. Renamed: `{task name or flight_id}/{YYYYMMDD_HHMMSS}_{lens}_
    {original name}`, the time being the capture time (reception time if none) in local time;
    items without a task go to `no-task/`.
    """
    original = safe_name(Path(row.name).name or f"media-{row.id}")
    if not renamed:
        return Path(original)
    task = (task_names or {}).get(row.flight_id) or row.flight_id or "no-task"
    when = row.create_time if row.create_time is not None else row.received_at
    stamp = datetime.datetime.fromtimestamp(when / 1000).strftime("%Y%m%d_%H%M%S")
    lens = row.lens or row.kind or "file"
    return Path(safe_name(task)) / f"{stamp}_{safe_name(lens)}_{original}"


def unique_target(folder: Path, relative: Path, used: set[Path]) -> Path:
    """`folder / relative`, or with " (2)", " (3)"... before the suffix when that file exists
    or this export already wrote it: an export never overwrites."""
    stem, suffix = relative.stem, relative.suffix
    candidate = relative
    n = 1
    while candidate in used or (folder / candidate).exists():
        n += 1
        candidate = relative.with_name(f"{stem} ({n}){suffix}")
    used.add(candidate)
    return folder / candidate


class ExportDialog(QDialog):
    """Asks for the folder and how to name the files."""

    def __init__(self, count: int, folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Export"))
        self.folder = QLineEdit(folder)
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(self._browse)
        self.original = QRadioButton(tr("Original names"))
        self.renamed = QRadioButton(tr("Renamed by task and date"))
        self.renamed.setToolTip("{task}/{YYYYMMDD_HHMMSS}_{lens}_{name}")
        self.original.setChecked(True)
        self.summary = QLabel(tr("Export {n} file(s) to {folder}").format(n=count, folder=""))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(where)
        layout.addWidget(QLabel(tr("Export names")))
        layout.addWidget(self.original)
        layout.addWidget(self.renamed)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, tr("Export to folder"), self.folder.text())
        if chosen:
            self.folder.setText(chosen)


class MediaPanel(QWidget):
    """The media browser."""

    #: Photos to put on the map: a list of dicts (id, name, lat, lng, heading or None,
    #: thumbnail URL or ""), connected to the map panel by the main window.
    show_on_map_requested = Signal(list)
    prioritized = Signal(object)  # the outcome or the error
    exported = Signal(int, list)  # how many were handled, errors

    def __init__(self, bridge: StationBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.access = MediaAccess(bridge, self)
        self.model = MediaModel(self.access, self)
        self.access.changed.connect(self.model.apply)
        self.model.loaded.connect(self._update_count)
        self.model.rowsInserted.connect(self._update_count)
        self.model.rowsRemoved.connect(self._update_count)
        self.viewer: MediaViewer | None = None
        self.export_dialog: ExportDialog | None = None
        self.export_progress: QProgressDialog | None = None
        self.map_status = ""

        self.device = QComboBox()
        self.flight = QLineEdit()
        self.flight.setPlaceholderText(tr("Flight task"))
        self.name = QLineEdit()
        self.name.setPlaceholderText(tr("Name"))
        self.kind = QComboBox()
        self.kind.addItems([tr("All types"), tr("Photos"), tr("Videos"), tr("Tracks (SRT)")])
        self.lens = QComboBox()
        self.lens.addItems([tr("All lenses"), *[tr(x.capitalize()) for x in LENSES[1:]]])
        self.sort = QComboBox()
        self.sort.addItems([tr(label) for label, _ in SORTS])
        self.use_dates = QCheckBox(tr("Dates"))
        self.use_dates.setToolTip(tr("Only media taken between these dates"))
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-7))
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            edit.dateChanged.connect(self.refresh)
        self.use_dates.toggled.connect(self.date_from.setEnabled)
        self.use_dates.toggled.connect(self.date_to.setEnabled)
        self.use_dates.toggled.connect(self.refresh)
        refresh = QPushButton(tr("Refresh"))
        for w in (self.device, self.kind, self.lens, self.sort):
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
        self.view.activated.connect(self._on_activated)  # double-click or Enter
        # thumbnails for what is on screen (and one screen ahead), asked once scrolling pauses
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(THUMB_DELAY_MS)
        self._thumb_timer.timeout.connect(self.fetch_visible_thumbnails)
        self.view.verticalScrollBar().valueChanged.connect(self._schedule_thumbnails)
        self.model.rowsInserted.connect(self._schedule_thumbnails)
        self.model.modelReset.connect(self._schedule_thumbnails)
        self.model.thumbnail_wanted.connect(self._schedule_thumbnails)

        self.count = QLabel()
        self.details = QLabel()
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton(tr("Export…"))
        self.delete_button = QPushButton(tr("Delete…"))
        self.map_button = QPushButton(tr("Show on map"))
        self.map_button.setToolTip(
            tr(
                "Put the selected photos (or all shown) on the map, "
                "pointing where the camera looked"
            )
        )
        self.map_button.clicked.connect(self.show_on_map)
        self.priority_button = QPushButton(tr("Upload this task first"))
        self.priority_button.setToolTip(
            tr("Ask the dock to upload this flight task's media before any other")
        )
        self.priority_button.clicked.connect(self.prioritize_selected)
        self.task_counts = QLabel()
        self.export_button.clicked.connect(lambda: self.export_selected())
        self.delete_button.clicked.connect(lambda: self.delete_selected())

        # Two rows of filters, so the panel stays narrow enough to share the window's middle
        # column with the map (one row made the window's minimum width about 1,300 px).
        filters = QVBoxLayout()
        what = QHBoxLayout()
        what_widgets: tuple[QWidget, ...] = (
            self.device,
            self.flight,
            self.name,
            self.kind,
            self.lens,
        )
        for widget in what_widgets:
            what.addWidget(widget)
        when = QHBoxLayout()
        when_widgets: tuple[QWidget, ...] = (
            self.use_dates,
            self.date_from,
            self.date_to,
            self.sort,
            refresh,
        )
        for widget in when_widgets:
            when.addWidget(widget)
        when.addStretch(1)
        filters.addLayout(what)
        filters.addLayout(when)
        actions = QHBoxLayout()
        actions.addWidget(self.count, 1)
        actions.addWidget(self.task_counts)
        actions.addWidget(self.priority_button)
        actions.addWidget(self.map_button)
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

    def date_range(self) -> tuple[int | None, int | None]:
        """(from, to) in epoch ms for the chosen local dates (whole days), or (None, None)."""
        if not self.use_dates.isChecked():
            return None, None
        first, last = sorted((self.date_from.date(), self.date_to.date()))
        since = QDateTime(first, QTime(0, 0)).toMSecsSinceEpoch()
        until = QDateTime(last.addDays(1), QTime(0, 0)).toMSecsSinceEpoch() - 1
        return since, until

    @Slot()
    def refresh(self) -> None:
        sn = self.device.currentData() or ""
        since, until = self.date_range()
        self.model.reset(
            MediaQuery(
                device_sns=(sn,) if sn else (),
                flight_id=self.flight.text().strip(),
                name=self.name.text().strip(),
                kind=KINDS[self.kind.currentIndex()],
                lens=LENSES[self.lens.currentIndex()],
                since_ms=since,
                until_ms=until,
                order_by=SORTS[max(0, self.sort.currentIndex())][1],
                limit=PAGE,
            )
        )

    def visible_rows(self) -> tuple[int, int]:
        """(first, last) rows on screen plus one screen below (the next to come into view)."""
        viewport = self.view.viewport()
        grid = self.view.gridSize()
        top = self.view.indexAt(QPoint(grid.width() // 2, grid.height() // 2))
        first = top.row() if top.isValid() else 0
        columns = max(1, viewport.width() // max(1, grid.width()))
        lines = viewport.height() // max(1, grid.height()) + 2
        return first, first + 2 * columns * lines

    def _schedule_thumbnails(self, *_: Any) -> None:
        self._thumb_timer.start()  # (re)started: asks once the grid is still for a moment

    @Slot()
    def fetch_visible_thumbnails(self) -> None:
        if self.isVisible():
            self.model.want_thumbnails(*self.visible_rows())

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._thumb_timer.start()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._thumb_timer.start()

    def _update_count(self) -> None:
        self.count.setText(f"{len(self.model.rows)} / {self.model.total}")

    def selected(self) -> list[MediaRow]:
        return [
            self.model.rows[ix.row()]
            for ix in sorted(self.view.selectionModel().selectedIndexes(), key=lambda i: i.row())
            if ix.row() < len(self.model.rows)
        ]

    # -- viewer --------------------------------------------------------------------------

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid() and index.row() < len(self.model.rows):
            self.open_item(self.model.rows[index.row()])

    def open_item(self, row: MediaRow) -> MediaViewer:
        """Show `row` in the viewer window (made once, then reused)."""
        if self.viewer is None:
            self.viewer = MediaViewer(self.model, self)
        self.viewer.show_item(row)
        self.viewer.show()
        self.viewer.raise_()
        self.viewer.activateWindow()
        return self.viewer

    def open_media_id(self, media_id: int) -> None:
        """Open an item by id (a click on a photo on the map): from the rows shown, else
        fetched from the station."""
        at = self.model.position(media_id)
        if at is not None:
            self.open_item(self.model.rows[at])
            return

        def done(row: MediaRow | None, _error: Any) -> None:
            if row is not None:
                self.open_item(row)

        self.access.get(media_id, done)

    # -- show on map ---------------------------------------------------------------------

    @Slot()
    def show_on_map(self) -> None:
        """Photos of the selection (or, with nothing selected, of the current filter) to the
        map at their shoot positions, each pointing where the camera looked."""
        rows = self.selected()
        if rows:
            self._send_to_map(rows)
            return
        query = replace(self.model.query, kind="photo", offset=0, limit=MAP_LIMIT)

        def done(result: tuple[list[MediaRow], int] | None, error: Any) -> None:
            if result is None:
                QMessageBox.warning(self, tr("Show on map"), str(error))
                return
            self._send_to_map(result[0])

        self.access.query(query, done)

    def _send_to_map(self, rows: list[MediaRow]) -> None:
        photos = [p for p in map(map_photo, rows) if p is not None]
        self.map_status = "" if photos else tr("No photo with a position to show on the map")
        if not photos:
            self.details.setText(self.map_status)
        self.show_on_map_requested.emit(photos)

    # -- selection, priority -----------------------------------------------------------------

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

    # -- export --------------------------------------------------------------------------

    def export_selected(self, folder: str | None = None, renamed: bool = False) -> None:
        """Copy the selected files to a folder, under their original names or renamed by task
        and date (`export_name`), never overwriting; a progress dialog that can cancel.
        Without `folder` the operator chooses the folder and the names (`ExportDialog`)."""
        rows = [r for r in self.selected() if r.status == "ok"]
        if not rows:
            return
        if folder is None:
            dialog = ExportDialog(len(rows), "", self)
            dialog.renamed.setChecked(renamed)
            self.export_dialog = dialog
            try:
                if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.folder.text():
                    return
                folder, renamed = dialog.folder.text(), dialog.renamed.isChecked()
            finally:
                self.export_dialog = None
                dialog.deleteLater()
        target_folder = Path(folder)
        flight_ids = sorted({r.flight_id for r in rows if r.flight_id})
        if renamed and flight_ids:
            self.access.task_names(
                flight_ids,
                lambda names, _e: self._export(rows, target_folder, True, names or {}),
            )
        else:
            self._export(rows, target_folder, bool(renamed), {})

    def _export(
        self, rows: list[MediaRow], folder: Path, renamed: bool, task_names: dict[str, str]
    ) -> None:
        progress = QProgressDialog(tr("Exporting…"), tr("Cancel"), 0, len(rows), self)
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        self.export_progress = progress
        errors: list[str] = []
        used: set[Path] = set()
        running: list[concurrent.futures.Future[int]] = []
        progress.canceled.connect(lambda: [f.cancel() for f in running])

        def finish(handled: int) -> None:
            progress.setValue(len(rows))
            progress.close()
            progress.deleteLater()
            self.export_progress = None
            self.exported.emit(handled, errors)
            if errors:
                QMessageBox.warning(self, tr("Export"), "\n".join(errors[:20]))

        def step(i: int) -> None:
            running.clear()
            if i >= len(rows) or progress.wasCanceled():
                finish(i)
                return
            progress.setValue(i)
            progress.setLabelText(tr("Exported {n} of {total}").format(n=i, total=len(rows)))
            row = rows[i]
            target = unique_target(folder, export_name(row, renamed, task_names), used)

            def done(_size: int | None, error: Any) -> None:
                if error is not None and not progress.wasCanceled():
                    errors.append(f"{row.name}: {error}")
                step(i + 1)

            running.append(self.access.export(row, target, done))

        step(0)

    # -- delete --------------------------------------------------------------------------

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
        if self.viewer is not None:
            self.viewer.close()
        self.access.close()
        super().closeEvent(event)


#: The most photos "show on map" puts on the map from a filter (a selection has no limit).
MAP_LIMIT = 5000


def heading_of(row: MediaRow) -> float | None:
    """Where the camera looked, degrees clockwise from north: the gimbal's yaw, else the
    aircraft's (DJI writes both relative to north), else None."""
    for value in (row.gimbal_yaw, row.aircraft_yaw):
        if value is not None:
            return value % 360
    return None


def map_photo(row: MediaRow) -> dict[str, Any] | None:
    """What the map's photo layer needs of a photo (None without a position)."""
    if row.kind != "photo" or row.lat is None or row.lng is None:
        return None
    return {
        "id": row.id,
        "name": row.name,
        "lat": row.lat,
        "lng": row.lng,
        "heading": heading_of(row),
        "time": local_time(row.create_time),
        "lens": row.lens,
    }
