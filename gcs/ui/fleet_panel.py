"""The fleet panel: workspaces → gateways (dock / RC) → aircraft, with live mode and battery.

The tree is updated in place (items are kept per SN), so a selection or an open editor survives
updates. Callsigns are edited in place (double-click or F2 on the name); the rename runs on the
station and the tree follows the registry's answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QMenu,
    QMessageBox,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gcs.protocol import properties as p
from gcs.protocol.models import Domain
from gcs.station.devices import DeviceView
from gcs.ui import fmt
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, language, tr

COL_NAME, COL_STATE, COL_MODE, COL_BATTERY, COL_MODEL, COL_SN = range(6)
ALARM_ROLE = Qt.ItemDataRole.UserRole + 7  # active cautions/warnings marked on the row
HEADERS = ["Name", "State", "Mode", "Battery", "Model", "SN"]
# A typical long value of each column: its width is measured with the tree's font.
COLUMN_SAMPLES = {
    COL_NAME: "Workspace: Default",
    COL_STATE: "offline",
    COL_MODE: "Manual flight",
    COL_BATTERY: "100 %",
    COL_MODEL: "Matrice 30T",
    COL_SN: "1581F5BKD225D00",
}
AIRCRAFT_NAME = "Matrice 4TD 12"  # a long aircraft name, shown two levels down the tree
SN_ROLE = Qt.ItemDataRole.UserRole
UNBOUND = "__unbound__"
_DIGITS = re.compile(r"(\d+)")
ONLINE_COLOR = QColor("#2e7d32")
OFFLINE_COLOR = QColor("#9e9e9e")


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """Sort key under which "Dock 2 9" comes before "Dock 2 10"."""
    return [(0, int(part)) if part.isdigit() else (1, part.lower()) for part in _DIGITS.split(text)]


class FleetItem(QTreeWidgetItem):
    """A tree row that sorts numbers in names naturally."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        tree = self.treeWidget()
        col = tree.sortColumn() if tree is not None else COL_NAME
        return natural_key(self.text(col)) < natural_key(other.text(col))


def mode_text(view: DeviceView, state: Mapping[str, Any]) -> str:
    """mode_code in words for a dock or an aircraft; "—" for an RC (it has none)."""
    if view.domain == Domain.DOCK:
        return fmt.enum_text(p.DockModeCode, state.get("mode_code"))
    if view.domain == Domain.AIRCRAFT:
        return fmt.enum_text(p.AircraftModeCode, state.get("mode_code"))
    return fmt.DASH


def battery_text(view: DeviceView, state: Mapping[str, Any]) -> str:
    """Battery of an aircraft, the RC's own battery, or the charge of the drone in a dock."""
    if view.domain == Domain.AIRCRAFT:
        return fmt.percent(fmt.dig(state, "battery.capacity_percent"))
    if view.domain == Domain.RC:
        return fmt.percent(state.get("capacity_percent"))
    return fmt.DASH


class FleetPanel(QWidget):
    """Tree of the fleet with a filter box; its selection is the shared `Selection`."""

    def __init__(
        self, bridge: StationBridge, selection: Selection, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.filter = QLineEdit()
        self.filter.setObjectName("fleet_filter")
        self.filter.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setObjectName("fleet_tree")
        self.tree.setColumnCount(len(HEADERS))
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        self._updating = False

        self.filter.textChanged.connect(self._on_filter)
        self.tree.itemSelectionChanged.connect(self._on_tree_selection)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.customContextMenuRequested.connect(self._on_context_menu)
        bridge.devices_changed.connect(self._on_devices)
        bridge.telemetry_changed.connect(self._on_telemetry)
        bridge.alarms_changed.connect(self._on_alarms)
        selection.changed.connect(self._on_selection)
        i18n.language_changed.connect(self._on_language)
        self.retranslate()
        self._on_devices()
        self._size_columns()

    def _size_columns(self) -> None:
        """Column widths from the font: room for a typical value and the header, any language."""
        metrics = self.tree.fontMetrics()
        header = self.tree.header()
        self._column_widths: dict[int, int] = {}
        for col, sample in COLUMN_SAMPLES.items():
            text = max(metrics.horizontalAdvance(sample), header.sectionSizeHint(col))
            if col == COL_NAME:  # a group at the first level, an aircraft at the third
                indent = self.tree.indentation()
                text = max(text + indent, metrics.horizontalAdvance(AIRCRAFT_NAME) + 3 * indent)
            self._column_widths[col] = text + metrics.averageCharWidth() * 2
            self.tree.setColumnWidth(col, self._column_widths[col])

    def sizeHint(self) -> QSize:
        """Wide enough for every column (the main window opens the panel at this width)."""
        hint = super().sizeHint()
        columns = sum(self._column_widths.values())  # not the stretched last section
        chrome = self.tree.frameWidth() * 2 + self.tree.verticalScrollBar().sizeHint().width()
        layout = self.layout()
        margins = layout.contentsMargins() if layout is not None else None
        slack = self.tree.fontMetrics().averageCharWidth() * 3  # docks are laid out loosely
        width = columns + chrome + slack + (margins.left() + margins.right() if margins else 0)
        return QSize(max(hint.width(), width), hint.height())

    # -- public (tests read these) -------------------------------------------------------

    def item(self, sn: str) -> QTreeWidgetItem | None:
        """The tree item of device `sn`."""
        return self._items.get(sn)

    def serials(self) -> list[str]:
        """The serial numbers of every device in the tree."""
        return sorted(self._items)

    def row_texts(self, sn: str) -> dict[str, str]:
        """The texts of `sn`'s row by English column name."""
        item = self._items[sn]
        return {name: item.text(col) for col, name in enumerate(HEADERS)}

    def retranslate(self) -> None:
        self.filter.setPlaceholderText(tr("Filter (name, SN, model)…"))
        self.tree.setHeaderLabels([tr(h) for h in HEADERS])
        self._on_devices()

    # -- building ------------------------------------------------------------------------

    def _group(self, workspace_id: str | None, names: dict[str, str]) -> QTreeWidgetItem:
        key = workspace_id or UNBOUND
        item = self._groups.get(key)
        if item is None:
            item = FleetItem(self.tree)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.setExpanded(True)
            font = item.font(COL_NAME)
            font.setBold(True)
            item.setFont(COL_NAME, font)
            self._groups[key] = item
            item.setExpanded(True)
            item.setFirstColumnSpanned(True)  # "Workspace: …" is not cut by the Name column
        title = names.get(key) or (tr("Unbound devices") if key == UNBOUND else key)
        label = f"{tr('Workspace')}: {title}" if key != UNBOUND else title
        if item.text(COL_NAME) != label:
            item.setText(COL_NAME, label)
        return item

    def _device_item(self, view: DeviceView, parent: QTreeWidgetItem) -> QTreeWidgetItem:
        item = self._items.get(view.sn)
        if item is None:
            item = FleetItem()
            item.setData(COL_NAME, SN_ROLE, view.sn)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsEditable
            )
            self._items[view.sn] = item
        if item.parent() is not parent:
            old = item.parent()
            if old is not None:
                old.removeChild(item)
            elif self.tree.indexOfTopLevelItem(item) >= 0:
                self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
            parent.addChild(item)
            parent.setExpanded(True)
            item.setExpanded(True)  # a moved item (e.g. bound to a workspace) stays open
        return item

    @Slot()
    def _on_devices(self) -> None:
        self._updating = True
        try:
            devices = {v.sn: v for v in self.bridge.devices()}
            names = self.bridge.workspaces()
            placed: set[str] = set()
            for view in devices.values():
                if not view.is_gateway:
                    continue
                gw_item = self._device_item(view, self._group(view.workspace_id, names))
                self._fill(gw_item, view)
                placed.add(view.sn)
                for sub_sn in view.sub_devices:
                    sub = devices.get(sub_sn)
                    if sub is not None:
                        self._fill(self._device_item(sub, gw_item), sub)
                        placed.add(sub_sn)
            for view in devices.values():  # aircraft not under an online gateway
                if view.sn in placed:
                    continue
                parent_view = devices.get(view.gateway_sn or "")
                parent = (
                    self._items.get(parent_view.sn)
                    if parent_view is not None and parent_view.sn in placed
                    else None
                )
                if parent is None:
                    parent = self._group(view.workspace_id, names)
                self._fill(self._device_item(view, parent), view)
                placed.add(view.sn)
            for sn in list(self._items):
                if sn not in devices:
                    item = self._items.pop(sn)
                    (item.parent() or self.tree.invisibleRootItem()).removeChild(item)
            for key, group in list(self._groups.items()):
                if group.childCount() == 0:
                    self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(group))
                    del self._groups[key]
            self._apply_filter()
        finally:
            self._updating = False
        self._on_selection(self.selection.current)

    def _fill(self, item: QTreeWidgetItem, view: DeviceView) -> None:
        state = self.bridge.state(view.sn)
        name = view.callsign or view.model_name
        kind = (
            tr("Dock")
            if view.domain == Domain.DOCK
            else tr("Remote controller")
            if view.domain == Domain.RC
            else tr("Aircraft")
        )
        texts = {
            COL_NAME: name,
            COL_MODEL: view.model_name,
            COL_STATE: tr("online") if view.online else tr("offline"),
            COL_MODE: mode_text(view, state),
            COL_BATTERY: battery_text(view, state),
            COL_SN: view.sn,
        }
        for col, text in texts.items():
            if item.text(col) != text:
                item.setText(col, text)
        color = QBrush(ONLINE_COLOR if view.online else OFFLINE_COLOR)
        item.setForeground(COL_STATE, color)
        tip = f"{kind} · {view.model_name} ({view.model_key}) · {view.sn}"
        alarms = [a for a in self.bridge.alarms(view.sn) if a.level >= 1]
        if alarms:
            worst = max(a.level for a in alarms)
            icon = (
                QStyle.StandardPixmap.SP_MessageBoxCritical
                if worst >= 2
                else QStyle.StandardPixmap.SP_MessageBoxWarning
            )
            item.setIcon(COL_NAME, self.style().standardIcon(icon))
            words = [a.text_zh if language() == "zh" and a.text_zh else a.text_en for a in alarms]
            tip += "\n" + "\n".join(f"⚠ {t}" for t in words[:8])
            item.setData(COL_NAME, ALARM_ROLE, len(alarms))
        elif item.data(COL_NAME, ALARM_ROLE):
            item.setIcon(COL_NAME, QIcon())
            item.setData(COL_NAME, ALARM_ROLE, 0)
        item.setToolTip(COL_NAME, tip)

    def alarm_count(self, sn: str) -> int:
        """How many cautions/warnings the tree marks on `sn` (tests read this)."""
        item = self._items.get(sn)
        return int(item.data(COL_NAME, ALARM_ROLE) or 0) if item is not None else 0

    @Slot(object)
    def _on_alarms(self, event: Any) -> None:
        item = self._items.get(event.sn)
        view = self.bridge.device(event.sn)
        if item is not None and view is not None:
            self._updating = True
            try:
                self._fill(item, view)
            finally:
                self._updating = False

    @Slot(str)
    def _on_telemetry(self, sn: str) -> None:
        item = self._items.get(sn)
        view = self.bridge.device(sn)
        if item is None or view is None:
            return
        self._updating = True
        try:
            state = self.bridge.state(sn)
            for col, text in (
                (COL_MODE, mode_text(view, state)),
                (COL_BATTERY, battery_text(view, state)),
            ):
                if item.text(col) != text:
                    item.setText(col, text)
        finally:
            self._updating = False

    # -- filter --------------------------------------------------------------------------

    @Slot(str)
    def _on_filter(self, _text: str) -> None:
        self._apply_filter()

    def _apply_filter(self) -> None:
        needle = self.filter.text().strip().lower()

        def visit(item: QTreeWidgetItem) -> bool:
            own = not needle or any(
                needle in item.text(c).lower() for c in (COL_NAME, COL_MODEL, COL_SN, COL_MODE)
            )
            child_match = False
            for i in range(item.childCount()):
                child = item.child(i)
                if child is not None:
                    child_match = visit(child) or child_match
            is_group = item.data(COL_NAME, SN_ROLE) is None
            show = child_match or (own and not is_group) or (not needle)
            item.setHidden(not show)
            return show

        root = self.tree.invisibleRootItem()
        for i in range(root.childCount()):
            top = root.child(i)
            if top is not None:
                visit(top)

    # -- selection and editing -----------------------------------------------------------

    @Slot()
    def _on_tree_selection(self) -> None:
        items = self.tree.selectedItems()
        sn = items[0].data(COL_NAME, SN_ROLE) if items else None
        if isinstance(sn, str):
            self.selection.select(sn)

    @Slot(str)
    def _on_selection(self, sn: str) -> None:
        item = self._items.get(sn)
        current = self.tree.selectedItems()
        if item is None or (current and current[0] is item):
            return
        self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)

    @Slot(QTreeWidgetItem, int)
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != COL_NAME:
            return
        sn = item.data(COL_NAME, SN_ROLE)
        view = self.bridge.device(sn) if isinstance(sn, str) else None
        if view is None:
            return
        text = item.text(COL_NAME).strip()
        if text == (view.callsign or view.model_name):
            return
        self.rename(view.sn, text)

    def rename(self, sn: str, callsign: str) -> None:
        """Ask the station to rename `sn`; the tree shows the result when the registry says so."""

        def done(_result: object, error: BaseException | None) -> None:
            if error is not None:
                QMessageBox.warning(self, tr("Could not rename the device"), str(error))
            self._on_devices()

        self.bridge.rename(sn, callsign, done)

    @Slot(object)
    def _on_context_menu(self, pos: Any) -> None:
        item = self.tree.itemAt(pos)
        sn = item.data(COL_NAME, SN_ROLE) if item is not None else None
        if not isinstance(sn, str):
            return
        menu = QMenu(self)
        rename = menu.addAction(tr("Rename…"))
        copy = menu.addAction(tr("Copy SN"))
        chosen = menu.exec(self.tree.viewport().mapToGlobal(pos))
        if chosen is rename and item is not None:
            self.tree.editItem(item, COL_NAME)
        elif chosen is copy:
            QGuiApplication.clipboard().setText(sn)

    @Slot(str)
    def _on_language(self, _lang: str) -> None:
        self.retranslate()
