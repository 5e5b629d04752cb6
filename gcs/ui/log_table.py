"""What the Events and Commands panels share: a read-only log table, a text/selected-device
filter over it, and device names in the "callsign (SN)" form."""

from __future__ import annotations

from typing import Any, TypeVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from gcs.ui.bridge import Selection, StationBridge

Index = QModelIndex | QPersistentModelIndex
T = TypeVar("T")


def device_label(bridge: StationBridge, sn: str) -> str:
    """ "Callsign (SN)" when the device has a callsign, else the SN ("" for the station)."""
    if not sn:
        return ""
    view = bridge.device(sn)
    if view is None or not view.callsign:
        return sn
    return f"{view.callsign} ({sn})"


def log_view(
    model: QAbstractItemModel, name: str, row_height: int, widths: tuple[int, ...]
) -> QTableView:
    """A row-selecting, read-only table with the last column stretched."""
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(row_height)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for col, width in enumerate(widths):
        view.setColumnWidth(col, width)
    return view


class LogFilter(QSortFilterProxyModel):
    """Rows whose entry (`UserRole` of column 0) passes `accepts`, belongs to the selected device
    when `only_selected`, and whose shown text (or `extra_text`) contains `text`."""

    def __init__(self, selection: Selection) -> None:
        super().__init__()
        self.selection = selection
        self.text = ""
        self.only_selected = False

    def accepts(self, entry: Any) -> bool:
        return True

    def entry_sn(self, entry: Any) -> str:
        return str(getattr(entry, "sn", ""))

    def extra_text(self, entry: Any) -> str:
        return ""

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        model = self.sourceModel()
        entry = model.data(model.index(row, 0, parent), Qt.ItemDataRole.UserRole)
        if entry is None or not self.accepts(entry):
            return False
        if self.only_selected and self.entry_sn(entry) != self.selection.current:
            return False
        if self.text:
            columns = model.columnCount(parent)
            hay = " ".join(str(model.data(model.index(row, c, parent))) for c in range(columns))
            needle = self.text.lower()
            if needle not in hay.lower() and needle not in self.extra_text(entry).lower():
                return False
        return True

    def refilter(self) -> None:
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def shown(self, kind: type[T]) -> list[T]:
        """The entries shown after filtering, top to bottom."""
        out = []
        for row in range(self.rowCount()):
            entry = self.data(self.index(row, 0), Qt.ItemDataRole.UserRole)
            if isinstance(entry, kind):
                out.append(entry)
        return out
