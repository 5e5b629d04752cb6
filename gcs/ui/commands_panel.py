"""The command history: every command the station sent a device — from this desktop, the HTTP
API or a schedule — with who asked, its live progress and how it ended, newest at the top."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Slot,
)
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from gcs.station.bus import CommandChanged
from gcs.station.records import CommandRow
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, language, tr
from gcs.ui.log_table import LogFilter, device_label, log_view

MAX_ROWS = 5000
COLUMNS = ["Time", "Device", "Command", "By", "Status", "Progress", "Result"]
PROGRESS_COLUMN = 5
FAILED = {"failed", "timeout", "refused", "rejected", "interrupted", "canceled"}
STATUS_COLORS = {
    "ok": QColor("#2e7d32"),
    "failed": QColor("#c62828"),
    "timeout": QColor("#c62828"),
    "refused": QColor("#b26a00"),
    "rejected": QColor("#c62828"),
    "interrupted": QColor("#b26a00"),
}

#: Device and station statuses in words (English source text for `tr`).
STATUS_WORDS = {
    "sent": "Sent",
    "running": "Running",
    "in_progress": "In progress",
    "ok": "Done",
    "success": "Done",
    "failed": "Failed",
    "timeout": "Timed out",
    "refused": "Refused",
    "rejected": "Rejected by the device",
    "canceled": "Canceled",
    "interrupted": "Interrupted",
    "paused": "Paused",
    "partially_done": "Partly done",
}

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Row:
    job_id: str
    ts: int
    sn: str
    method: str
    actor: str
    status: str
    percent: float | None
    result: int | None
    message_en: str
    message_zh: str


def row_of(event: CommandChanged) -> Row:
    return Row(
        event.job_id,
        event.ts,
        event.gateway_sn,
        event.method,
        event.actor,
        event.status,
        event.percent,
        event.result,
        event.message_en,
        event.message_zh,
    )


def row_of_history(r: CommandRow) -> Row:
    return Row(
        r.id,
        r.created_at,
        r.gateway_sn,
        r.method,
        r.actor,
        r.status,
        r.percent,
        r.result,
        r.message,
        "",
    )


class CommandsModel(QAbstractTableModel):
    def __init__(self, bridge: StationBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.rows: list[Row] = []  # newest first
        self._index: dict[str, int] = {}

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
        r = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(r, col)
        if role == Qt.ItemDataRole.ForegroundRole and col in (4, 6):
            return STATUS_COLORS.get(r.status)
        if role == Qt.ItemDataRole.UserRole:
            return r
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{r.method} · {r.job_id}\n{self._result(r)}"
        return None

    def _text(self, r: Row, col: int) -> str:
        if col == 0:
            return datetime.datetime.fromtimestamp(r.ts / 1000).strftime("%m-%d %H:%M:%S")
        if col == 1:
            return device_label(self.bridge, r.sn)
        if col == 2:
            return self.bridge.command_title(r.method)
        if col == 3:
            return tr(r.actor) if r.actor in ("desktop", "operator", "schedule") else r.actor
        if col == 4:
            return tr(STATUS_WORDS.get(r.status, r.status))
        if col == PROGRESS_COLUMN:
            return "" if r.percent is None else f"{r.percent:.0f} %"
        return self._result(r)

    def _result(self, r: Row) -> str:
        text = r.message_zh if language() == "zh" and r.message_zh else r.message_en
        return f"{r.result}: {text}" if r.result else text

    def upsert(self, row: Row) -> None:
        at = self._index.get(row.job_id)
        if at is not None:
            old = self.rows[at]
            # Keep the time the command was sent; progress events carry later times.
            self.rows[at] = replace(row, ts=old.ts)
            self.dataChanged.emit(self.index(at, 0), self.index(at, len(COLUMNS) - 1))
            return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.rows.insert(0, row)
        self._reindex()
        self.endInsertRows()
        if len(self.rows) > MAX_ROWS:
            self.beginRemoveRows(QModelIndex(), MAX_ROWS, len(self.rows) - 1)
            del self.rows[MAX_ROWS:]
            self._reindex()
            self.endRemoveRows()

    def add_history(self, rows: list[Row]) -> None:
        """Older rows from the database (newest first); rows already shown are kept."""
        known = set(self._index)
        old = [r for r in rows if r.job_id not in known]
        if not old:
            return
        self.beginResetModel()
        self.rows = sorted(self.rows + old, key=lambda r: r.ts, reverse=True)[:MAX_ROWS]
        self._reindex()
        self.endResetModel()

    def _reindex(self) -> None:
        self._index = {r.job_id: i for i, r in enumerate(self.rows)}

    def relabel(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if self.rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1)
            )


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a bar while a job runs."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row = index.data(Qt.ItemDataRole.UserRole)
        if not isinstance(row, Row) or row.percent is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum = 0
        bar.maximum = 100
        bar.progress = int(max(0.0, min(100.0, row.percent)))
        bar.text = f"{row.percent:.0f} %"
        bar.textVisible = True
        style = QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class CommandsFilter(LogFilter):
    def __init__(self, selection: Selection) -> None:
        super().__init__(selection)
        self.only_failed = False

    def accepts(self, entry: Any) -> bool:
        return isinstance(entry, Row) and (not self.only_failed or entry.status in FAILED)

    def extra_text(self, entry: Any) -> str:
        return str(entry.method)


class CommandsPanel(QWidget):
    """Command history with live progress; filters: text, selected device, failures only."""

    def __init__(
        self, bridge: StationBridge, selection: Selection, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.model = CommandsModel(bridge)
        self.proxy = CommandsFilter(selection)
        self.proxy.setSourceModel(self.model)
        self.view = log_view(self.proxy, "commands_table", 22, (100, 150, 140, 80, 90, 100))
        self.view.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(self.view))
        self.text = QLineEdit()
        self.text.setObjectName("commands_filter")
        self.text.setClearButtonEnabled(True)
        self.only_selected = QCheckBox()
        self.only_failed = QCheckBox()
        bar = QHBoxLayout()
        bar.addWidget(self.text, 1)
        bar.addWidget(self.only_selected)
        bar.addWidget(self.only_failed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.text.textChanged.connect(self._on_filter)
        self.only_selected.toggled.connect(self._on_filter)
        self.only_failed.toggled.connect(self._on_filter)
        bridge.command_changed.connect(self._on_command)
        selection.changed.connect(self._on_selection)
        i18n.language_changed.connect(self._on_language)
        self.retranslate()
        self._load_history()

    def retranslate(self) -> None:
        self.text.setPlaceholderText(tr("Filter commands…"))
        self.only_selected.setText(tr("Selected device only"))
        self.only_failed.setText(tr("Failures only"))
        self.model.relabel()

    @Slot()
    def _on_language(self) -> None:
        self.retranslate()

    @Slot(object)
    def _on_command(self, event: CommandChanged) -> None:
        self.model.upsert(row_of(event))

    @Slot(str)
    def _on_selection(self, _sn: str) -> None:
        if self.proxy.only_selected:
            self.proxy.refilter()

    @Slot()
    def _on_filter(self) -> None:
        self.proxy.text = self.text.text().strip()
        self.proxy.only_selected = self.only_selected.isChecked()
        self.proxy.only_failed = self.only_failed.isChecked()
        self.proxy.refilter()

    def _load_history(self) -> None:
        def done(rows: list[CommandRow] | None, error: BaseException | None) -> None:
            if error is not None or not rows or not shiboken6.isValid(self.view):
                return
            self.model.add_history([row_of_history(r) for r in rows])

        self.bridge.run(self.bridge.command_history(None, MAX_ROWS), done)

    def shown_rows(self) -> list[Row]:
        """The rows shown after filtering, top to bottom (tests read this)."""
        return self.proxy.shown(Row)
