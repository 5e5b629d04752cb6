"""Missions: the wayline library (import by file dialog or drag-and-drop, delete, a summary of
the selected route with its findings), a plan dialog (immediate, timed, recurring or conditional
flights for a dock, every `flighttask_prepare` option of §4.2) and the task list with live
progress bars, and the operator's actions on a flight: pause, resume, return home, cancel return
home, cancel a task not yet started, resume from the break point.

Everything goes through `gcs.ui.bridge.MissionsBridge`; refusals are shown in the panel's
message line in the operator's language (the station also writes them to the events log).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gcs.station.bus import FlightTaskChanged
from gcs.station.missions import (
    CONDITIONAL,
    IMMEDIATE,
    RECURRING,
    STATUS_WORDS,
    TIMED,
    Recurrence,
    TaskRequest,
)
from gcs.ui.areas_bridge import AreasBridge
from gcs.ui.bridge import MissionsBridge, Selection, StationBridge
from gcs.ui.i18n import language, register, tr

register(
    {
        "The route crosses flight areas": "航线经过飞行区",  # issue 14
        "{lines}\n\nPlan this flight anyway?": "{lines}\n\n仍然创建此飞行任务？",
        "{name}: not planned": "{name}：未创建",
        "Wayline library": "航线库",
        "Import KMZ…": "导入 KMZ…",
        "Plan a flight…": "计划飞行…",
        "Delete": "删除",
        "Export…": "导出…",
        "Flight tasks": "飞行任务",
        "Pause": "暂停",
        "Resume": "恢复",
        "Return home": "一键返航",
        "Cancel return home": "取消返航",
        "Cancel task": "取消任务",
        "Resume from break point": "断点续飞",
        "Name": "名称",
        "Aircraft": "飞行器",
        "Waypoints": "航点",
        "Length": "长度",
        "Duration": "时长",
        "Dock": "机场",
        "Status": "状态",
        "Progress": "进度",
        "Waypoint": "航点",
        "Mission state": "航线状态",
        "Media": "媒体",
        "Message": "信息",
        "Start": "开始",
        "Drop KMZ files here or use Import.": "将 KMZ 文件拖到此处或点击导入。",
        "Plan a flight": "计划飞行",
        "Route": "航线",
        "When": "时间",
        "Now": "立即",
        "At a time": "定时",
        "Recurring": "周期",
        "When ready (conditions)": "条件满足时",
        "Days": "星期",
        "Times (HH:MM, comma separated)": "时间（HH:MM，逗号分隔）",
        "From": "从",
        "Until": "至",
        "RTH altitude (m)": "返航高度（米）",
        "RTH mode": "返航模式",
        "Out-of-control action": "失控动作",
        "Precision": "精度",
        "Minimum battery (%)": "最低电量（%）",
        "imported": "已导入",
        "Fly again while ready": "条件满足时重复飞行",
    }
)

LIBRARY_COLUMNS = ["Name", "Aircraft", "Waypoints", "Length", "Duration"]
TASK_COLUMNS = [
    "Name", "Dock", "Start", "Status", "Progress", "Waypoint", "Mission state", "Media", "Message",
]  # fmt: skip
PROGRESS_COLUMN = 4
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
#: `wayline_mission_state` (§5) in words.
MISSION_STATES = {
    0: "disconnected", 1: "waypoint unsupported", 2: "ready", 3: "uploading",
    4: "preparing", 5: "to first waypoint", 6: "executing", 7: "interrupted", 8: "resumed",
    9: "stopped",
}  # fmt: skip


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def status_words(status: str) -> str:
    en, zh = STATUS_WORDS.get(status, (status, status))
    return zh if language() == "zh" else en


class PlanDialog(QDialog):
    """The plan dialog: which route, which dock, when, and the flighttask_prepare options."""

    def __init__(
        self,
        routes: list[tuple[str, str]],
        docks: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Plan a flight"))
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.route = QComboBox()
        for wayline_id, name in routes:
            self.route.addItem(name, wayline_id)
        self.dock = QComboBox()
        for sn, label in docks:
            self.dock.addItem(label, sn)
        self.kind = QComboBox()
        for label, value in (
            ("Now", IMMEDIATE),
            ("At a time", TIMED),
            ("Recurring", RECURRING),
            ("When ready (conditions)", CONDITIONAL),
        ):
            self.kind.addItem(tr(label), value)
        self.at = QDateTimeEdit(QDateTime.currentDateTime().addSecs(600))
        self.at.setCalendarPopup(True)
        self.days = [QCheckBox(tr(d)) for d in DAYS]
        days_row = QHBoxLayout()
        for box in self.days:
            box.setChecked(True)
            days_row.addWidget(box)
        self.times = QLineEdit("09:00")
        self.begin = QDateEdit(QDate.currentDate())
        self.end = QDateEdit(QDate.currentDate().addDays(30))
        self.rth = QSpinBox()
        self.rth.setRange(20, 1500)
        self.rth.setValue(100)
        self.rth_mode = QComboBox()
        self.rth_mode.addItem("preset height", 1)
        self.rth_mode.addItem("smart height", 0)
        self.lost = QComboBox()
        for label, value in (("return home", 0), ("hover", 1), ("land", 2)):
            self.lost.addItem(label, value)
        self.precision = QComboBox()
        self.precision.addItem("RTK", 1)
        self.precision.addItem("GPS", 0)
        self.battery = QSpinBox()
        self.battery.setRange(0, 100)
        self.battery.setValue(80)
        self.continuous = QCheckBox(tr("Fly again while ready"))
        form.addRow(tr("Name"), self.name)
        form.addRow(tr("Route"), self.route)
        form.addRow(tr("Dock"), self.dock)
        form.addRow(tr("When"), self.kind)
        form.addRow(tr("Start"), self.at)
        form.addRow(tr("Days"), days_row)
        form.addRow(tr("Times (HH:MM, comma separated)"), self.times)
        form.addRow(tr("From"), self.begin)
        form.addRow(tr("Until"), self.end)
        form.addRow(tr("RTH altitude (m)"), self.rth)
        form.addRow(tr("RTH mode"), self.rth_mode)
        form.addRow(tr("Out-of-control action"), self.lost)
        form.addRow(tr("Precision"), self.precision)
        form.addRow(tr("Minimum battery (%)"), self.battery)
        form.addRow("", self.continuous)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> TaskRequest:
        """The flight the dialog describes (checked by the station, not here)."""
        kind = int(self.kind.currentData())
        name = self.name.text().strip() or self.route.currentText()
        recurrence = None
        ready = None
        if kind == RECURRING:
            begin = QDateTime(self.begin.date(), QTime(0, 0)).toMSecsSinceEpoch()
            end = QDateTime(self.end.date(), QTime(23, 59, 59)).toMSecsSinceEpoch()
            times = tuple(t.strip() for t in self.times.text().split(",") if t.strip())
            days = tuple(i for i, box in enumerate(self.days) if box.isChecked())
            recurrence = Recurrence(days, times, begin, end)
        if kind == CONDITIONAL:
            now = QDateTime.currentDateTime()
            ready = {
                "battery_capacity": self.battery.value(),
                "begin_time": now.toMSecsSinceEpoch(),
                "end_time": now.addDays(1).toMSecsSinceEpoch(),
            }
        return TaskRequest(
            name=name,
            dock_sn=str(self.dock.currentData() or ""),
            wayline_id=str(self.route.currentData() or ""),
            task_type=kind,
            execute_time=self.at.dateTime().toMSecsSinceEpoch() if kind == TIMED else None,
            recurrence=recurrence,
            rth_altitude=self.rth.value(),
            rth_mode=int(self.rth_mode.currentData()),
            out_of_control_action=int(self.lost.currentData()),
            wayline_precision_type=int(self.precision.currentData()),
            ready_conditions=ready,
            continuous=kind == CONDITIONAL and self.continuous.isChecked(),
        )


class MissionsPanel(QWidget):
    """The missions panel. See the module docstring.

    `route_selected(geometry)` asks the map to preview the selected route (`points`, `start`,
    `polygon` as `WaylineLibrary.geometry` gives them).
    """

    route_selected = Signal(object)
    #: (dock SN, [(lat, lon), …]) the return-home path to draw; an empty list clears it
    return_path = Signal(str, object)

    def __init__(
        self, bridge: StationBridge, selection: Selection, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.missions = MissionsBridge(bridge, self)
        self.areas = AreasBridge(bridge, self)  # issue 14: routes checked against flight areas
        self.routes: list[Any] = []  # WaylineRow, table order
        self.task_rows: dict[str, int] = {}  # task id → table row
        self.tasks: dict[str, Any] = {}  # task id → last TaskRow / FlightTaskChanged
        self.route_geometry: dict[str, Any] | None = None  # the selected route, as mapped
        self.setAcceptDrops(True)

        self.library = QTableWidget(0, len(LIBRARY_COLUMNS))
        self.library.setHorizontalHeaderLabels([tr(c) for c in LIBRARY_COLUMNS])
        self.library.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.library.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.library.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.library.itemSelectionChanged.connect(self._on_route_selected)
        self.summary = QLabel(tr("Drop KMZ files here or use Import."))
        self.summary.setWordWrap(True)
        self.import_button = QPushButton(tr("Import KMZ…"))
        self.import_button.clicked.connect(self._ask_files)
        self.plan_button = QPushButton(tr("Plan a flight…"))
        self.plan_button.clicked.connect(self._plan_dialog)
        self.delete_button = QPushButton(tr("Delete"))
        self.delete_button.clicked.connect(self._delete_route)
        self.export_button = QPushButton(tr("Export…"))
        self.export_button.clicked.connect(self._ask_folder)
        library_box = QGroupBox(tr("Wayline library"))
        lib = QVBoxLayout(library_box)
        lib.addWidget(self.library)
        lib.addWidget(self.summary)
        row = QGridLayout()  # two short rows: the panel shares the map's column
        for i, b in enumerate(
            (self.import_button, self.plan_button, self.export_button, self.delete_button)
        ):
            row.addWidget(b, i // 2, i % 2)
        lib.addLayout(row)

        self.table = QTableWidget(0, len(TASK_COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(c) for c in TASK_COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.action_buttons: dict[str, QPushButton] = {}
        tasks_box = QGroupBox(tr("Flight tasks"))
        tl = QVBoxLayout(tasks_box)
        tl.addWidget(self.table)
        buttons = QGridLayout()
        for index, (action, label) in enumerate(
            (
                ("pause", "Pause"),
                ("resume", "Resume"),
                ("return_home", "Return home"),
                ("return_home_cancel", "Cancel return home"),
                ("cancel", "Cancel task"),
                ("breakpoint", "Resume from break point"),
            )
        ):
            button = QPushButton(tr(label))
            button.clicked.connect(lambda _=False, a=action: self.act(a))
            self.action_buttons[action] = button
            buttons.addWidget(button, index // 2, index % 2)
        tl.addLayout(buttons)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        tl.addWidget(self.message)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(library_box)
        split.addWidget(tasks_box)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

        self.missions.library_changed.connect(self.refresh_library)
        self.missions.task_changed.connect(self._on_task_changed)
        self.missions.return_path.connect(
            lambda e: self.return_path.emit(e.dock_sn, [(p[0], p[1]) for p in e.points])
        )
        self.refresh_library()
        self.refresh_tasks()

    def closeEvent(self, event: Any) -> None:
        self.missions.close()
        self.areas.close()
        super().closeEvent(event)

    # -- library -----------------------------------------------------------------------------

    def refresh_library(self) -> None:
        self.missions.waylines(self._show_library)

    def _show_library(self, rows: list[Any] | None, error: BaseException | None) -> None:
        if error is not None or rows is None:
            self._say(error)
            return
        self.routes = rows
        self.library.setRowCount(len(rows))
        for i, r in enumerate(rows):
            cells = [
                r.name,
                r.summary.get("drone_model_name") or r.drone_model_key,
                str(r.summary.get("waypoint_count", "")),
                f"{r.length_m:.0f} m",
                f"{r.duration_s / 60:.1f} min",
            ]
            for j, text in enumerate(cells):
                self.library.setItem(i, j, QTableWidgetItem(text))

    def selected_route(self) -> Any | None:
        rows = self.library.selectionModel().selectedRows()
        return self.routes[rows[0].row()] if rows else None

    def _on_route_selected(self) -> None:
        r = self.selected_route()
        if r is None:
            return
        s = r.summary
        start = s.get("start_point") or {}
        lines = [
            f"{r.name}: {s.get('waypoint_count')} waypoints, {r.length_m:.0f} m, "
            f"~{r.duration_s:.0f} s, MD5 {r.fingerprint}",
            f"start {start.get('latitude', 0):.6f}, {start.get('longitude', 0):.6f}; "
            f"finish {s.get('finish_action')}; RC lost {s.get('exit_on_rc_lost')}",
        ]
        key = "message_zh" if language() == "zh" else "message_en"
        lines += [f"{f['severity']}: {f[key]}" for f in s.get("findings", [])]
        self.summary.setText("\n".join(lines))
        self.missions.route_geometry(r.id, self._on_geometry)

    def _on_geometry(self, geometry: Any, error: BaseException | None) -> None:
        if error is not None:
            self._say(error)
            return
        self.route_geometry = geometry
        self.route_selected.emit(geometry)

    def _ask_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, tr("Import KMZ…"), "", "KMZ (*.kmz)")
        self.import_files([Path(n) for n in names])

    def import_files(self, paths: list[Path]) -> None:
        """Import KMZ files (file dialog and drag-and-drop end here)."""
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError as exc:
                self._say(exc)
                continue
            self.missions.import_wayline(data, path.name, self._imported)

    def _imported(self, imported: Any, error: BaseException | None) -> None:
        if error is not None:
            self._say(error)
            return
        self.message.setText(f"{imported.row.name}: {tr('imported')}")
        self.refresh_library()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and all(u.toLocalFile().lower().endswith(".kmz") for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.import_files([Path(u.toLocalFile()) for u in event.mimeData().urls()])
        event.acceptProposedAction()

    def _ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Export…"))
        if folder:
            self.export_selected(folder)

    def export_selected(self, folder: str) -> None:
        """Write the selected route (all routes when none is selected) to `folder`."""
        r = self.selected_route()
        ids = [r.id] if r is not None else [x.id for x in self.routes]

        def done(paths: Any, error: BaseException | None) -> None:
            if error is not None:
                self._say(error)
            else:
                self.message.setText(", ".join(str(p) for p in paths))

        self.missions.export_waylines(ids, folder, done)

    def _delete_route(self) -> None:
        r = self.selected_route()
        if r is not None:
            self.missions.delete_wayline(r.id, lambda _, e: self._say(e) if e else None)

    # -- planning ----------------------------------------------------------------------------

    def docks(self) -> list[tuple[str, str]]:
        return [
            (v.sn, f"{v.callsign or v.sn} ({v.sn})")
            for v in self.bridge.devices()
            if v.domain == 3 and v.bound
        ]

    def make_plan_dialog(self) -> PlanDialog:
        routes = [(r.id, r.name) for r in self.routes]
        dialog = PlanDialog(routes, self.docks(), self)
        r = self.selected_route()
        if r is not None:
            dialog.route.setCurrentIndex(dialog.route.findData(r.id))
        return dialog

    def _plan_dialog(self) -> None:
        dialog = self.make_plan_dialog()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.plan(dialog.request())

    def plan(self, request: TaskRequest, *, confirmed: bool = False) -> None:
        """Plan a task; a route over an enabled no-fly area (or out of a geofence) is planned
        only after the operator confirmed the warnings (`confirm_route_warnings`)."""

        def done(result: Any, error: BaseException | None) -> None:
            warnings = getattr(error, "warnings", None)
            if warnings and not confirmed:
                if self.confirm_route_warnings(warnings):
                    self.plan(request, confirmed=True)
                else:
                    self.message.setText(tr("{name}: not planned").format(name=request.name))
                return
            self._planned(result[0] if result is not None else None, error)

        self.areas.plan_task(request, confirmed=confirmed, on_done=done)

    def confirm_route_warnings(self, warnings: Any) -> bool:
        """Ask the operator whether to plan a route that violates flight areas (No by default)."""
        zh = language() == "zh"
        lines = "\n".join(f"• {w.message_zh if zh else w.message_en}" for w in warnings)
        answer = QMessageBox.warning(
            self,
            tr("The route crosses flight areas"),
            tr("{lines}\n\nPlan this flight anyway?").format(lines=lines),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _planned(self, made: Any, error: BaseException | None) -> None:
        if error is not None:
            self._say(error)
            return
        self.message.setText(f"{made.name}: {status_words(getattr(made, 'status', 'planned'))}")

    # -- tasks -------------------------------------------------------------------------------

    def refresh_tasks(self) -> None:
        self.missions.tasks(self._show_tasks)

    def _show_tasks(self, rows: list[Any] | None, error: BaseException | None) -> None:
        """Add stored tasks the list does not show yet (live events are newer than rows)."""
        if error is not None or rows is None:
            self._say(error)
            return
        for r in reversed(rows):  # newest ends on top
            if r.id in self.task_rows:
                continue
            self._put(
                r.id, r.name, r.dock_sn, r.execute_time, r.status, r.percent, r.waypoint_index,
                r.mission_state, r.media_count, r.message,
            )  # fmt: skip

    def _on_task_changed(self, e: FlightTaskChanged) -> None:
        if e.status in ("ok", "failed", "canceled", "partially_done", "missed", "refused"):
            self.return_path.emit(e.dock_sn, [])  # the flight is over: no path home to show
        message = e.message_zh if language() == "zh" else e.message_en
        start = self.tasks.get(e.task_id, {}).get("start") if e.task_id in self.tasks else None
        self._put(
            e.task_id, e.name, e.dock_sn, start, e.status, e.percent, e.waypoint_index,
            e.mission_state, e.media_count, message,
        )  # fmt: skip

    def _put(
        self, task_id: str, name: str, dock: str, start: int | None, status: str,
        percent: float | None, waypoint: int | None, state: int | None, media: int, message: str,
    ) -> None:  # fmt: skip
        row = self.task_rows.get(task_id)
        if row is None:
            self.table.insertRow(0)
            self.task_rows = {k: v + 1 for k, v in self.task_rows.items()}
            self.task_rows[task_id] = row = 0
            bar = QProgressBar()
            bar.setRange(0, 100)
            self.table.setCellWidget(0, PROGRESS_COLUMN, bar)
            self.table.setItem(0, 0, QTableWidgetItem(name))
        self.tasks[task_id] = {"status": status, "dock": dock, "start": start}
        cells = {
            0: name,
            1: dock,
            2: _when(start) if start else self._cell(row, 2),
            3: status_words(status),
            5: "" if waypoint is None else str(waypoint),
            6: "" if state is None else MISSION_STATES.get(state, str(state)),
            7: str(media),
            8: message,
        }
        for col, text in cells.items():
            item = QTableWidgetItem(text)
            if col == 0:
                item.setData(Qt.ItemDataRole.UserRole, task_id)
            self.table.setItem(row, col, item)
        widget = self.table.cellWidget(row, PROGRESS_COLUMN)
        if isinstance(widget, QProgressBar):
            widget.setValue(int(percent or (100 if status == "ok" else 0)))

    def _cell(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text() if item is not None else ""

    def progress_of(self, task_id: str) -> int | None:
        row = self.task_rows.get(task_id)
        bar = self.table.cellWidget(row, PROGRESS_COLUMN) if row is not None else None
        return bar.value() if isinstance(bar, QProgressBar) else None

    def status_of(self, task_id: str) -> str | None:
        task = self.tasks.get(task_id)
        return str(task["status"]) if task else None

    def selected_task(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select_task(self, task_id: str) -> None:
        row = self.task_rows.get(task_id)
        if row is not None:
            self.table.selectRow(row)

    def act(self, action: str) -> None:
        """Run an operator action on the selected task (or its dock)."""
        task_id = self.selected_task()
        if task_id is None:
            return
        target = task_id
        if action in ("return_home", "return_home_cancel"):
            target = self.tasks[task_id]["dock"]
        button = self.action_buttons[action]
        button.setEnabled(False)

        def done(_: Any, error: BaseException | None) -> None:
            button.setEnabled(True)
            if error is not None:
                self._say(error)

        self.missions.task_action(action, target, done)

    def _say(self, error: BaseException | None) -> None:
        if error is None:
            return
        zh = getattr(error, "zh", None)
        en = getattr(error, "en", None) or str(error)
        self.message.setText(zh if language() == "zh" and zh else en)
