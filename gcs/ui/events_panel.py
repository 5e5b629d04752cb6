"""The events log: device online/offline, binding, topology, errors; filterable."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gcs.station.bus import LogEntry
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, tr
from gcs.ui.log_table import LogFilter, device_label, log_view

MAX_ROWS = 20_000
COLUMNS = ["Time", "Device", "Kind", "Level", "Message"]
KINDS = [
    "online",
    "offline",
    "binding",
    "topology",
    "flight",
    "task",
    "hms",
    "login",
    "storage",
    "error",
    "rejected",
    "broker",
]
LEVEL_COLORS = {"warning": QColor("#b26a00"), "error": QColor("#c62828")}

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Entry:
    ts: int
    sn: str
    kind: str
    level: str
    message: str


class EventsModel(QAbstractTableModel):
    def __init__(self, bridge: StationBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.rows: list[Entry] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(COLUMNS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return datetime.datetime.fromtimestamp(e.ts / 1000).strftime("%Y-%m-%d %H:%M:%S")
            if col == 1:
                return device_label(self.bridge, e.sn)
            if col == 2:
                return tr(e.kind)
            if col == 3:
                return tr(e.level)
            return e.message
        if role == Qt.ItemDataRole.ForegroundRole:
            return LEVEL_COLORS.get(e.level)
        if role == Qt.ItemDataRole.UserRole:
            return e
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            return e.message
        return None

    def add(self, entries: list[Entry]) -> None:
        if not entries:
            return
        overflow = len(self.rows) + len(entries) - MAX_ROWS
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            del self.rows[:overflow]
            self.endRemoveRows()
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
        self.rows.extend(entries)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows = []
        self.endResetModel()

    def relabel(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, 3))


class EventsFilter(LogFilter):
    def __init__(self, selection: Selection) -> None:
        super().__init__(selection)
        self.kind = ""

    def accepts(self, entry: Any) -> bool:
        return isinstance(entry, Entry) and (not self.kind or entry.kind == self.kind)

    def extra_text(self, entry: Any) -> str:
        return str(entry.sn)


class EventsPanel(QWidget):
    """The station's events log, newest at the bottom, with text/kind/device filters."""

    def __init__(
        self, bridge: StationBridge, selection: Selection, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.model = EventsModel(bridge)
        self.proxy = EventsFilter(selection)
        self.proxy.setSourceModel(self.model)
        self.view = log_view(self.proxy, "events_table", 20, (140, 180, 80, 70))
        self.text = QLineEdit()
        self.text.setObjectName("events_filter")
        self.text.setClearButtonEnabled(True)
        self.kind = QComboBox()
        self.kind.setObjectName("events_kind")
        self.only_selected = QCheckBox()
        self.clear_button = QPushButton()
        bar = QHBoxLayout()
        bar.addWidget(self.text, 1)
        bar.addWidget(self.kind)
        bar.addWidget(self.only_selected)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self.text.textChanged.connect(self._on_filter_changed)
        self.kind.currentIndexChanged.connect(self._on_filter_changed)
        self.only_selected.toggled.connect(self._on_filter_changed)
        self.clear_button.clicked.connect(self.model.clear)
        bridge.log_entry.connect(self._on_log_entry)
        selection.changed.connect(self._on_selection)
        i18n.language_changed.connect(self._on_language)
        self.retranslate()
        self.model.add(
            [Entry(e.ts, e.sn, e.kind, e.level, e.message) for e in bridge.log_history()]
        )
        self._history_retried = False
        self._load_history()

    def _load_history(self) -> None:
        """Merge in what the station logged before this window (from its database).

        The station writes its log every second, so this runs once now and once after the
        next write; duplicates are dropped.
        """

        def done(rows: Any, error: BaseException | None) -> None:
            if error is not None or not rows or not shiboken6.isValid(self.view):
                return  # (the panel may be gone: a window closed before its history came)
            existing = {(e.ts, e.sn, e.message) for e in self.model.rows}
            old = [
                Entry(r.ts, r.sn, r.kind, r.level, r.message)
                for r in rows
                if (r.ts, r.sn, r.message) not in existing
            ]
            if old and shiboken6.isValid(self.view):  # the window may have closed meanwhile
                self.model.beginResetModel()
                merged = sorted(old + self.model.rows, key=lambda e: e.ts)
                self.model.rows = merged[-MAX_ROWS:]
                self.model.endResetModel()
                self.view.scrollToBottom()

        self.bridge.run(self.bridge.recent_events(1000), done)
        if not self._history_retried:
            self._history_retried = True
            QTimer.singleShot(1500, self._load_history)

    def entries(self) -> list[Entry]:
        """The entries shown after filtering (tests read this)."""
        return self.proxy.shown(Entry)

    def retranslate(self) -> None:
        self.text.setPlaceholderText(tr("Filter text…"))
        current = self.kind.currentData()
        self.kind.blockSignals(True)
        self.kind.clear()
        self.kind.addItem(tr("All kinds"), "")
        for k in KINDS:
            self.kind.addItem(tr(k), k)
        index = self.kind.findData(current)
        self.kind.setCurrentIndex(max(0, index))
        self.kind.blockSignals(False)
        self.only_selected.setText(tr("Only selected device"))
        self.clear_button.setText(tr("Clear"))
        self.model.relabel()

    @Slot(object)
    def _on_log_entry(self, entry: LogEntry) -> None:
        bar = self.view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.model.add([Entry(entry.ts, entry.sn, entry.kind, entry.level, entry.message)])
        if at_bottom:
            self.view.scrollToBottom()

    @Slot()
    def _on_filter_changed(self, *_args: Any) -> None:
        self.proxy.text = self.text.text().strip()
        self.proxy.kind = self.kind.currentData() or ""
        self.proxy.only_selected = self.only_selected.isChecked()
        self.proxy.refilter()

    @Slot(str)
    def _on_selection(self, _sn: str) -> None:
        if self.only_selected.isChecked():
            self.proxy.refilter()

    @Slot(str)
    def _on_language(self, _lang: str) -> None:
        self.retranslate()
