"""The Flight areas panel: custom no-fly areas and geofences of Dock 2/3 (issue 14).

A list of the workspace's areas (name, no-fly / geofence, shape, enabled, how far each flying
aircraft is from it, from the docks' `flight_areas_drone_location`), with enable/disable,
rename and delete (confirmed); "Draw on map" asks the map (through `draw_requested`) to draw
the next polygon or circle as an area of the chosen type, and the map hands the shape back to
`create_from_drawing`. Below, every Dock 2/3 of the workspace with its flight-area file:
synced / syncing / failed with the reason in words (English or Chinese), the file's checksum
and when it last reported, and "Sync now". The station syncs docks by itself after each change
(`gcs.station.area_guard`); this panel shows it happening.

Everything goes through `gcs.ui.areas_bridge.AreasBridge`; a refusal is shown in the panel.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, language, register, tr

__all__ = ["FlightAreasPanel", "distance_text", "sync_words"]

ZH = {
    "Flight areas": "飞行区",
    "Name:": "名称：",
    "Name of the next area you draw": "下一个绘制区域的名称",
    "No-fly area": "禁飞区",
    "Geofence": "电子围栏",
    "Polygon": "多边形",
    "Circle": "圆形",
    "Draw on map": "在地图上绘制",
    "Draw the area on the map: click its corners, or drag a circle": (
        "在地图上绘制区域：依次点击多边形顶点，或拖出圆形"
    ),
    "Rename…": "重命名…",
    "Delete…": "删除…",
    "Sync now": "立即同步",
    "Send the flight areas to the selected dock (or to every online dock)": (
        "将飞行区发送到所选机场（未选择时发送到所有在线机场）"
    ),
    "Name": "名称",
    "Type": "类型",
    "Shape": "形状",
    "Enabled": "启用",
    "Aircraft": "飞行器",
    "Dock": "机场",
    "State": "状态",
    "File": "文件",
    "Checksum (SHA-256)": "校验和 (SHA-256)",
    "Updated": "更新时间",
    "circle, {r} m": "圆形，半径 {r} 米",
    "polygon, {n} corners": "多边形，{n} 个顶点",
    "inside": "在区域内",
    "{d} m": "{d} 米",
    "never synced": "未同步",
    "waiting to sync": "等待同步",
    "syncing…": "同步中…",
    "synced": "已同步",
    "out of date": "需要更新",
    "failed: {reason}": "失败：{reason}",
    " (offline)": "（离线）",
    "Current file: {name} · SHA-256 {checksum}": "当前文件：{name} · SHA-256 {checksum}",
    "No flight areas: docks get an empty list.": "没有飞行区：机场将收到空列表。",
    "Delete flight area": "删除飞行区",
    "Delete {name}? Docks lose it at the next sync.": "删除 {name}？下次同步后机场将不再使用它。",
    "Rename flight area": "重命名飞行区",
    "New name:": "新名称：",
    "Draw a polygon or a circle on the map for {name}.": "请在地图上为 {name} 绘制多边形或圆形。",
    "Area {n}": "区域 {n}",
    "Drawing cancelled.": "已取消绘制。",
    "Refused: {reason}": "被拒绝：{reason}",
    "{name} created.": "已创建 {name}。",
    "Sync sent to {docks}.": "已向 {docks} 发送同步。",
    "No online Dock 2/3 to sync.": "没有可同步的在线机场（Dock 2/3）。",
    "The map is not available: flight areas cannot be drawn.": "地图不可用，无法绘制飞行区。",
}
register(ZH)

AREA_COLUMNS = ("Name", "Type", "Shape", "Enabled", "Aircraft")
DOCK_COLUMNS = ("Dock", "State", "File", "Checksum (SHA-256)", "Updated")
COL_NAME, COL_TYPE, COL_SHAPE, COL_ENABLED, COL_AIRCRAFT = range(5)
NFZ_COLOR, FENCE_COLOR = QColor("#E23C39"), QColor("#19BE6B")


def sync_words(status: str, *, current: bool, syncing: bool, reason_en: str, reason_zh: str) -> str:
    """A dock's flight-area state in the operator's language."""
    if syncing or status == "synchronizing":
        return tr("syncing…")
    if status == "wait_sync":
        return tr("waiting to sync")
    if status in ("fail", "switch_fail"):
        return tr("failed: {reason}").format(reason=reason_zh if language() == "zh" else reason_en)
    if status == "synchronized":
        return tr("synced") if current else tr("out of date")
    return tr("never synced")


def distance_text(location: dict[str, Any]) -> str:
    """`flight_areas_drone_location` of one area in words: inside, or metres to its edge."""
    if location.get("is_in_area"):
        return tr("inside")
    d = location.get("area_distance")
    if isinstance(d, int | float) and not isinstance(d, bool):
        return tr("{d} m").format(d=f"{d:.0f}")
    return "–"


def _when(ms: int) -> str:
    if not ms:
        return ""
    when = datetime.datetime.fromtimestamp(ms / 1000)
    if when.date() == datetime.date.today():
        return when.strftime("%H:%M:%S")
    return when.strftime("%Y-%m-%d %H:%M")


class FlightAreasPanel(QWidget):
    """The panel's widget. Usable until closed."""

    #: area type ("nfz"/"dfence"), shape ("Polygon"/"Circle"), a line telling what to draw
    draw_requested = Signal(str, str, str)
    refreshed = Signal()  # the lists show a new snapshot

    def __init__(
        self, bridge: StationBridge, selection: Selection, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("FlightAreasPanel")
        self.bridge = bridge
        self.selection = selection
        self.areas_bridge = _areas_bridge(bridge)
        self.snapshot: Any = None
        self.locations: dict[str, tuple[dict[str, Any], ...]] = {}
        self._drawn = 0
        self._pending_name = ""
        self._filling = False
        self._draw_index = self.metaObject().indexOfSignal(
            "draw_requested(QString,QString,QString)"
        )
        self._build_ui()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(150)  # a burst of station events: one snapshot
        self._refresh_timer.timeout.connect(self.refresh)
        if self.areas_bridge is not None:
            self.areas_bridge.changed.connect(self._refresh_timer.start)
            self.areas_bridge.locations.connect(self._on_locations)
        bridge.devices_changed.connect(self._refresh_timer.start)
        i18n.language_changed.connect(self.retranslate)
        self.retranslate()
        self.refresh()

    # -- construction --------------------------------------------------------------------

    def _build_ui(self) -> None:
        self._name_label = QLabel()
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("flight_area_name")
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("flight_area_type")
        self.shape_combo = QComboBox()
        self.shape_combo.setObjectName("flight_area_shape")
        self.draw_button = QPushButton()
        self.draw_button.setObjectName("flight_area_draw")
        self.draw_button.clicked.connect(self._on_draw_clicked)
        top = QHBoxLayout()
        for w in (self._name_label, self.name_edit, self.type_combo, self.shape_combo):
            top.addWidget(w)
        top.addWidget(self.draw_button)

        self.table = QTableWidget(0, len(AREA_COLUMNS))
        self.table.setObjectName("flight_area_table")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._show_buttons)
        self.rename_button = QPushButton()
        self.rename_button.setObjectName("flight_area_rename")
        self.rename_button.clicked.connect(self._on_rename_clicked)
        self.delete_button = QPushButton()
        self.delete_button.setObjectName("flight_area_delete")
        self.delete_button.clicked.connect(self._on_delete_clicked)
        area_buttons = QHBoxLayout()
        area_buttons.addWidget(self.rename_button)
        area_buttons.addWidget(self.delete_button)
        area_buttons.addStretch(1)

        self.docks_table = QTableWidget(0, len(DOCK_COLUMNS))
        self.docks_table.setObjectName("flight_area_docks")
        self.docks_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.docks_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.docks_table.verticalHeader().setVisible(False)
        dheader = self.docks_table.horizontalHeader()
        dheader.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        dheader.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)  # the file name elides
        # the State column is sized by hand: a busy bar in it needs room for its words too
        dheader.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        dheader.setMinimumSectionSize(60)
        self.docks_table.setWordWrap(False)
        self.docks_table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.sync_button = QPushButton()
        self.sync_button.setObjectName("flight_area_sync")
        self.sync_button.clicked.connect(self.sync_now)
        self.file_label = QLabel()
        self.file_label.setObjectName("flight_area_file")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.file_label.setWordWrap(True)
        sync_row = QHBoxLayout()
        sync_row.addWidget(self.file_label, 1)
        sync_row.addWidget(self.sync_button)
        self.status = QLabel()
        self.status.setObjectName("flight_area_status")
        self.status.setWordWrap(True)

        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addLayout(top)
        ul.addWidget(self.table, 1)
        ul.addLayout(area_buttons)
        lower = QWidget()
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.docks_table, 1)
        ll.addLayout(sync_row)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        enabled = self.areas_bridge is not None
        widgets: tuple[QWidget, ...] = (self.draw_button, self.sync_button, self.name_edit)
        for widget in widgets:
            widget.setEnabled(enabled)
        self._show_buttons()

    @Slot()
    def retranslate(self) -> None:
        self._name_label.setText(tr("Name:"))
        self.name_edit.setPlaceholderText(tr("Name of the next area you draw"))
        for combo, items in (
            (self.type_combo, (("No-fly area", "nfz"), ("Geofence", "dfence"))),
            (self.shape_combo, (("Polygon", "Polygon"), ("Circle", "Circle"))),
        ):
            current = combo.currentIndex()
            combo.clear()
            for text, data in items:
                combo.addItem(tr(text), data)
            combo.setCurrentIndex(max(0, current))
        self.draw_button.setText(tr("Draw on map"))
        self.draw_button.setToolTip(
            tr("Draw the area on the map: click its corners, or drag a circle")
        )
        self.rename_button.setText(tr("Rename…"))
        self.delete_button.setText(tr("Delete…"))
        self.sync_button.setText(tr("Sync now"))
        self.sync_button.setToolTip(
            tr("Send the flight areas to the selected dock (or to every online dock)")
        )
        self.table.setHorizontalHeaderLabels([tr(c) for c in AREA_COLUMNS])
        self.docks_table.setHorizontalHeaderLabels([tr(c) for c in DOCK_COLUMNS])
        if self.snapshot is not None:
            self._show(self.snapshot)

    # -- the lists -----------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Take a new snapshot from the station and show it."""
        if self.areas_bridge is None:
            return

        def done(snapshot: Any, error: BaseException | None) -> None:
            if error is None and snapshot is not None:
                self.snapshot = snapshot
                self.locations.update(snapshot.distances)
                self._show(snapshot)
                self.refreshed.emit()

        self.areas_bridge.snapshot(done)

    def _show(self, snapshot: Any) -> None:
        selected = self.selected_area()
        self._filling = True
        try:
            self.table.setRowCount(len(snapshot.areas))
            for row, a in enumerate(snapshot.areas):
                name = QTableWidgetItem(a.name)
                name.setData(Qt.ItemDataRole.UserRole, a.id)
                kind = QTableWidgetItem(tr("No-fly area") if a.type == "nfz" else tr("Geofence"))
                kind.setForeground(NFZ_COLOR if a.type == "nfz" else FENCE_COLOR)
                shape = QTableWidgetItem(
                    tr("circle, {r} m").format(r=f"{a.radius:.0f}")
                    if a.shape == "circle"
                    else tr("polygon, {n} corners").format(n=a.vertices)
                )
                enabled = QTableWidgetItem()
                enabled.setFlags(
                    Qt.ItemFlag.ItemIsUserCheckable
                    | Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                )
                enabled.setCheckState(
                    Qt.CheckState.Checked if a.enabled else Qt.CheckState.Unchecked
                )
                if not a.enabled:
                    for item in (name, kind, shape):
                        item.setForeground(QColor("#888888"))
                for col, item in enumerate((name, kind, shape, enabled)):
                    self.table.setItem(row, col, item)
                self.table.setItem(row, COL_AIRCRAFT, QTableWidgetItem(self.aircraft_text(a.id)))
                if a.id == selected:
                    self.table.selectRow(row)
        finally:
            self._filling = False
        self._show_docks(snapshot)
        self._show_buttons()

    def _show_docks(self, snapshot: Any) -> None:
        table = self.docks_table
        table.setRowCount(len(snapshot.docks))
        for row, d in enumerate(snapshot.docks):
            label = QTableWidgetItem(d.label)
            label.setToolTip(d.sn)
            label.setData(Qt.ItemDataRole.UserRole, d.sn)
            words = sync_words(
                d.status,
                current=d.current,
                syncing=d.syncing,
                reason_en=d.reason_en,
                reason_zh=d.reason_zh,
            )
            if not d.online:
                words += tr(" (offline)")
            state = QTableWidgetItem(words)
            if d.status in ("fail", "switch_fail") and not d.syncing:
                state.setForeground(NFZ_COLOR)
            elif d.current and not d.syncing:
                state.setForeground(FENCE_COLOR)
            table.setItem(row, 0, label)
            table.setItem(row, 1, state)
            file = QTableWidgetItem(d.file_name)
            file.setToolTip(d.file_name)
            table.setItem(row, 2, file)
            checksum = QTableWidgetItem(d.checksum[:12] + ("…" if d.checksum else ""))
            checksum.setToolTip(d.checksum)
            table.setItem(row, 3, checksum)
            table.setItem(row, 4, QTableWidgetItem(_when(d.updated_at)))
            if d.syncing or d.status in ("wait_sync", "synchronizing"):
                table.setCellWidget(row, 1, _busy_cell(words))
            else:
                table.removeCellWidget(row, 1)
        metrics = table.fontMetrics()
        texts = [tr("State")] + [
            item.text() for r in range(table.rowCount()) if (item := table.item(r, 1)) is not None
        ]
        width = max(metrics.horizontalAdvance(t) for t in texts) + 24
        if any(table.cellWidget(r, 1) is not None for r in range(table.rowCount())):
            width = max(width, 160)
        table.horizontalHeader().resizeSection(1, width)
        if snapshot.checksum:
            self.file_label.setText(
                tr("Current file: {name} · SHA-256 {checksum}").format(
                    name=snapshot.file_name, checksum=snapshot.checksum
                )
            )
        else:
            self.file_label.setText(tr("No flight areas: docks get an empty list."))

    def aircraft_text(self, area_id: str) -> str:
        """How far each aircraft that reported it is from the area (its boundary)."""
        parts = []
        for sn, locations in sorted(self.locations.items()):
            for loc in locations:
                if loc.get("area_id") == area_id:
                    view = self.bridge.device(sn)
                    who = (view.callsign or sn) if view is not None else sn
                    parts.append(f"{who}: {distance_text(loc)}")
        return ", ".join(parts)

    @Slot(str, object)
    def _on_locations(self, sn: str, locations: tuple[dict[str, Any], ...]) -> None:
        self.locations[sn] = locations
        for row in range(self.table.rowCount()):
            item = self.table.item(row, COL_NAME)
            if item is not None:
                text = self.aircraft_text(str(item.data(Qt.ItemDataRole.UserRole)))
                self.table.setItem(row, COL_AIRCRAFT, QTableWidgetItem(text))

    def area_rows(self) -> list[dict[str, Any]]:
        """What the list shows, row by row (for tests and the probe)."""

        def text(row: int, col: int) -> str:
            item = self.table.item(row, col)
            return item.text() if item is not None else ""

        rows = []
        for row in range(self.table.rowCount()):
            name = self.table.item(row, COL_NAME)
            check = self.table.item(row, COL_ENABLED)
            rows.append(
                {
                    "id": str(name.data(Qt.ItemDataRole.UserRole)) if name is not None else "",
                    "name": text(row, COL_NAME),
                    "type": text(row, COL_TYPE),
                    "shape": text(row, COL_SHAPE),
                    "enabled": check is not None and check.checkState() == Qt.CheckState.Checked,
                    "aircraft": text(row, COL_AIRCRAFT),
                }
            )
        return rows

    def dock_state(self, sn: str) -> str:
        """The State cell of a dock (the progress bar's text while it syncs)."""
        for row in range(self.docks_table.rowCount()):
            item = self.docks_table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == sn:
                busy = self.docks_table.cellWidget(row, 1)
                if busy is not None:
                    return str(busy.property("words"))
                state = self.docks_table.item(row, 1)
                return state.text() if state is not None else ""
        return ""

    def selected_area(self) -> str | None:
        rows = {i.row() for i in self.table.selectedItems()}
        if not rows:
            return None
        item = self.table.item(min(rows), COL_NAME)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _area(self, area_id: str) -> Any:
        if self.snapshot is None:
            return None
        return next((a for a in self.snapshot.areas if a.id == area_id), None)

    @Slot()
    def _show_buttons(self) -> None:
        has = self.selected_area() is not None and self.areas_bridge is not None
        self.rename_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    # -- changes -------------------------------------------------------------------------

    def _done(self, success: str = "") -> Any:
        def done(_result: Any, error: BaseException | None) -> None:
            if error is not None:
                reason = getattr(error, "message", None) or str(error)
                self.status.setText(tr("Refused: {reason}").format(reason=reason))
                self.refresh()
            elif success:
                self.status.setText(success)

        return done

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != COL_ENABLED or self.areas_bridge is None:
            return
        name = self.table.item(item.row(), COL_NAME)
        if name is None:
            return
        enabled = item.checkState() == Qt.CheckState.Checked
        self.set_enabled(str(name.data(Qt.ItemDataRole.UserRole)), enabled)

    def set_enabled(self, area_id: str, enabled: bool) -> None:
        if self.areas_bridge is not None:
            self.areas_bridge.set_enabled(area_id, enabled, self._done())

    @Slot()
    def _on_rename_clicked(self) -> None:
        area = self._area(self.selected_area() or "")
        if area is None or self.areas_bridge is None:
            return
        name, accepted = QInputDialog.getText(
            self, tr("Rename flight area"), tr("New name:"), text=area.name
        )
        if accepted and name.strip() and name.strip() != area.name:
            self.areas_bridge.rename(area.id, name.strip(), self._done())

    @Slot()
    def _on_delete_clicked(self) -> None:
        area = self._area(self.selected_area() or "")
        if area is None or self.areas_bridge is None:
            return
        answer = QMessageBox.question(
            self,
            tr("Delete flight area"),
            tr("Delete {name}? Docks lose it at the next sync.").format(name=area.name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.areas_bridge.delete(area.id, self._done())

    @Slot()
    def _on_draw_clicked(self) -> None:
        self._drawn += 1
        self._pending_name = self.name_edit.text().strip() or tr("Area {n}").format(n=self._drawn)
        hint = tr("Draw a polygon or a circle on the map for {name}.").format(
            name=self._pending_name
        )
        if not self.isSignalConnected(self.metaObject().method(self._draw_index)):
            self.status.setText(tr("The map is not available: flight areas cannot be drawn."))
            return
        self.status.setText(hint)
        self.draw_requested.emit(
            str(self.type_combo.currentData()), str(self.shape_combo.currentData()), hint
        )

    @Slot(str, str)
    def create_from_drawing(self, area_type: str, geometry_text: str) -> None:
        """The map drew a shape in flight-area mode: make it an area (GeoJSON geometry text:
        a Polygon, or a Circle with `radius` in metres; empty when the drawing was cancelled)."""
        if self.areas_bridge is None:
            return
        if not geometry_text:  # the operator cancelled the drawing (Esc)
            self._pending_name = ""
            self.status.setText(tr("Drawing cancelled."))
            return
        geometry = json.loads(geometry_text)
        name = self._pending_name or self.name_edit.text().strip()
        if not name:
            self._drawn += 1
            name = tr("Area {n}").format(n=self._drawn)
        self._pending_name = ""
        color = "#E23C39" if area_type == "nfz" else "#19BE6B"
        content = {"type": "Feature", "properties": {"color": color}, "geometry": geometry}
        self.areas_bridge.create(
            name,
            area_type,
            content,
            str(uuid.uuid4()),
            self._done(tr("{name} created.").format(name=name)),
        )
        self.name_edit.clear()

    @Slot()
    def sync_now(self) -> None:
        """Sync the selected dock, or every online Dock 2/3 of the list."""
        if self.areas_bridge is None or self.snapshot is None:
            return
        rows = {i.row() for i in self.docks_table.selectedItems()}
        sns = []
        for row in sorted(rows):
            item = self.docks_table.item(row, 0)
            if item is not None:
                sns.append(str(item.data(Qt.ItemDataRole.UserRole)))
        if not sns:
            sns = [d.sn for d in self.snapshot.docks if d.online]
        if not sns:
            self.status.setText(tr("No online Dock 2/3 to sync."))
            return
        self.areas_bridge.sync_now(
            sns, self._done(tr("Sync sent to {docks}.").format(docks=", ".join(sns)))
        )

    def closeEvent(self, event: Any) -> None:
        if self.areas_bridge is not None:
            self.areas_bridge.close()
        super().closeEvent(event)


def _busy_cell(words: str) -> QWidget:
    """A State cell while a dock syncs: the words and a small busy bar (the dock reports
    steps, not a percentage)."""
    cell = QWidget()
    cell.setAutoFillBackground(True)  # hides the item's own text underneath
    cell.setProperty("words", words)
    row = QHBoxLayout(cell)
    row.setContentsMargins(4, 0, 4, 0)
    label = QLabel(words)
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setFixedSize(48, 10)
    row.addWidget(label)
    row.addWidget(bar)
    row.addStretch(1)
    return cell


def _areas_bridge(bridge: StationBridge) -> Any:
    """The flight-area access of a station bridge (None for a bridge without a station)."""
    if not hasattr(bridge, "threaded_runtime"):
        return None
    from gcs.ui.areas_bridge import AreasBridge

    return AreasBridge(bridge)
