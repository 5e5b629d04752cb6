"""The dock control panel: remote debugging (§4.3) and device settings (§3.5) of the selected dock.

Every button sends through the station's command path (`StationBridge.run_command`), so the
desktop gets the same preconditions, refusals in words, progress and history as the HTTP API.
Buttons that need remote-debugging mode are enabled only while the dock reports it; commands
that can hurt the aircraft or lose data ask for an explicit confirmation first. The last job of
each button shows its status and a progress bar that follows the dock's progress events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gcs.protocol.models import Domain
from gcs.protocol.writable import WRITABLE, Field
from gcs.station.bus import CommandChanged
from gcs.station.commands import CommandFailed, CommandOutcome, CommandRefused
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, language, tr

DEBUG_MODE_CODE = 2
RUNNING = {"sent", "running", "in_progress", "paused"}


@dataclass(frozen=True, slots=True)
class Action:
    """A button: the method, its label, the data it sends, whether it needs debug mode and a
    confirmation (the question to ask)."""

    key: str
    method: str
    label: str
    data: Any = None
    debug: bool = True
    confirm: str = ""


GROUPS: list[tuple[str, list[Action]]] = [
    (
        "Debug mode",
        [
            Action("debug_on", "debug_mode_open", "Debug mode on", debug=False),
            Action("debug_off", "debug_mode_close", "Debug mode off"),
        ],
    ),
    (
        "Cover",
        [
            Action("cover_open", "cover_open", "Open cover"),
            Action("cover_close", "cover_close", "Close cover"),
            Action(
                "cover_force_close",
                "cover_force_close",
                "Force-close cover",
                confirm="Force-close the cover? Only do this when you have checked with your own "
                "eyes that the aircraft is not in the cover's way.",
            ),
        ],
    ),
    (
        "Aircraft",
        [
            Action("drone_open", "drone_open", "Power on"),
            Action(
                "drone_close",
                "drone_close",
                "Power off",
                confirm="Power the aircraft off? Never do this while it is flying.",
            ),
            Action("charge_open", "charge_open", "Start charging"),
            Action("charge_close", "charge_close", "Stop charging"),
            Action(
                "drone_format",
                "drone_format",
                "Format aircraft storage",
                confirm="Format the aircraft's storage? Every photo and video on it is lost.",
            ),
        ],
    ),
    (
        "Dock",
        [
            Action("light_on", "supplement_light_open", "Light on"),
            Action("light_off", "supplement_light_close", "Light off"),
            Action("alarm_on", "alarm_state_switch", "Alarm on", {"action": 1}),
            Action("alarm_off", "alarm_state_switch", "Alarm off", {"action": 0}),
            Action(
                "battery_maint_on", "battery_maintenance_switch", "Battery care on", {"action": 1}
            ),
            Action(
                "battery_maint_off", "battery_maintenance_switch", "Battery care off", {"action": 0}
            ),
            Action(
                "device_reboot",
                "device_reboot",
                "Reboot dock",
                confirm="Reboot the dock? It is unavailable for a few minutes.",
            ),
            Action(
                "device_format",
                "device_format",
                "Format dock storage",
                confirm="Format the dock's storage? Media not yet uploaded is lost.",
            ),
        ],
    ),
]

AIR_CONDITIONER = {0: "Idle", 1: "Cooling", 2: "Heating", 3: "Dehumidifying"}
SETTINGS = [
    "height_limit",
    "rth_altitude",
    "night_lights_state",
    "silent_mode",
    "rc_lost_action",
    "user_experience_improvement",
]


class JobView(QWidget):
    """Status text and a progress bar for the last job of one button."""

    def __init__(self) -> None:
        super().__init__()
        self.status = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setMaximumHeight(12)
        self.bar.setTextVisible(False)
        self.bar.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(self.status)
        layout.addWidget(self.bar)
        self.job_id = ""

    def show_event(self, e: CommandChanged) -> None:
        self.job_id = e.job_id
        text = e.message_zh if language() == "zh" and e.message_zh else e.message_en
        self.status.setText(text)
        color = "#2e7d32" if e.status == "ok" else "#c62828" if e.status not in RUNNING else ""
        self.status.setStyleSheet(f"color: {color}" if color else "")
        self.status.setToolTip(f"{e.method} · {e.status}" + (f" · {e.result}" if e.result else ""))
        if e.status in RUNNING and e.percent is not None:
            self.bar.setValue(int(e.percent))
            self.bar.show()
        elif e.status not in RUNNING:
            self.bar.hide()


class DockControlPanel(QWidget):
    """Buttons and settings for the selected dock (or the dock of the selected aircraft)."""

    def __init__(
        self,
        bridge: StationBridge,
        selection: Selection,
        parent: QWidget | None = None,
        *,
        confirm: Callable[[QWidget, str], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.confirm = confirm or _ask
        self.sn = ""
        self._pending_job: JobView | None = None
        self._pending_method = ""
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        self.jobs: dict[str, JobView] = {}
        self._group_boxes: list[tuple[QGroupBox, str]] = []
        body = QWidget()
        column = QVBoxLayout(body)
        for title, actions in GROUPS:
            box = QGroupBox()
            grid = QGridLayout(box)
            for i, action in enumerate(actions):
                button = QPushButton()
                button.setObjectName(f"control.{action.key}")
                button.clicked.connect(lambda _=False, a=action: self.trigger(a))
                job = JobView()
                self.buttons[action.key] = button
                self.jobs[action.key] = job
                cell = QVBoxLayout()
                cell.setSpacing(1)
                cell.addWidget(button)
                cell.addWidget(job)
                grid.addLayout(cell, i // 2, i % 2)
            column.addWidget(box)
            self._group_boxes.append((box, title))
        self.air = QComboBox()
        for code, word in AIR_CONDITIONER.items():
            self.air.addItem(word, code)
        self.air_apply = QPushButton()
        self.air_apply.setObjectName("control.air_conditioner")
        self.air_job = JobView()
        air_row = QHBoxLayout()
        air_row.addWidget(self.air, 1)
        air_row.addWidget(self.air_apply)
        air_cell = QVBoxLayout()
        air_cell.addLayout(air_row)
        air_cell.addWidget(self.air_job)
        self.air_box = QGroupBox()
        self.air_box.setLayout(air_cell)
        column.addWidget(self.air_box)
        self.settings_box = QGroupBox()
        form = QFormLayout(self.settings_box)
        self.setting_editors: dict[str, QWidget] = {}
        self.setting_labels: dict[str, QLabel] = {}
        self.setting_jobs: dict[str, JobView] = {}
        for name in SETTINGS:
            editor = _editor(WRITABLE[name].field)
            editor.setMaximumWidth(140)
            apply = QPushButton()
            apply.setObjectName(f"setting.{name}.apply")
            apply.clicked.connect(lambda _=False, n=name: self.apply_setting(n))
            job = JobView()
            row = QHBoxLayout()
            row.addWidget(editor)
            row.addWidget(apply)
            cell = QVBoxLayout()
            cell.setSpacing(1)
            cell.addLayout(row)
            cell.addWidget(job)
            label = QLabel()
            label.setWordWrap(True)
            form.addRow(label, cell)
            self.setting_editors[name] = editor
            self.setting_labels[name] = label
            self.setting_jobs[name] = job
            self.buttons[f"setting.{name}"] = apply
        column.addWidget(self.settings_box)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(260)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(scroll, 1)
        self.air_apply.clicked.connect(self.apply_air_conditioner)
        bridge.command_changed.connect(self._on_command)
        bridge.telemetry_changed.connect(self._on_telemetry)
        bridge.devices_changed.connect(self._update)
        selection.changed.connect(self._on_selection)
        i18n.language_changed.connect(self.retranslate)
        self.retranslate()
        self._on_selection(selection.current)

    # -- what the panel controls ---------------------------------------------------------

    def _dock_of(self, sn: str) -> str:
        view = self.bridge.device(sn)
        if view is None:
            return ""
        if view.domain == Domain.DOCK:
            return sn
        if view.domain == Domain.AIRCRAFT and view.gateway_sn:
            gw = self.bridge.device(view.gateway_sn)
            return gw.sn if gw is not None and gw.domain == Domain.DOCK else ""
        return ""

    @Slot(str)
    def _on_selection(self, sn: str) -> None:
        self.sn = self._dock_of(sn)
        for job in (*self.jobs.values(), *self.setting_jobs.values(), self.air_job):
            job.status.setText("")
            job.bar.hide()
        self._update()

    @Slot(str)
    def _on_telemetry(self, sn: str) -> None:
        if sn == self.sn:
            self._update()

    def in_debug_mode(self) -> bool:
        return self.bridge.state(self.sn).get("mode_code") == DEBUG_MODE_CODE

    @Slot()
    def _update(self) -> None:
        view = self.bridge.device(self.sn) if self.sn else None
        online = view is not None and view.online
        debug = online and self.in_debug_mode()
        if view is None:
            self.header.setText(tr("Select a dock (or its aircraft) in the fleet panel."))
        else:
            name = view.callsign or view.model_name
            mode = tr("Remote debugging") if debug else tr("Not in debug mode")
            state = tr("online") if online else tr("offline")
            self.header.setText(f"<b>{name}</b> · {view.sn} · {state} · {mode}")
        for _title, actions in GROUPS:
            for action in actions:
                button = self.buttons[action.key]
                allowed = online and (debug or not action.debug)
                button.setEnabled(allowed)
                button.setToolTip(
                    ""
                    if allowed
                    else tr("The dock is offline.")
                    if not online
                    else tr("Turn debug mode on first.")
                )
        self.air_apply.setEnabled(debug)
        for name in SETTINGS:
            self.buttons[f"setting.{name}"].setEnabled(online)

    # -- actions -------------------------------------------------------------------------

    def trigger(self, action: Action) -> None:
        """Send `action`'s command (after asking, for a dangerous one)."""
        if not self.sn:
            return
        confirmed = False
        if action.confirm:
            if not self.confirm(self, tr(action.confirm)):
                return
            confirmed = True
        self._run(action.method, action.data, self.jobs[action.key], confirmed)

    @Slot()
    def apply_air_conditioner(self) -> None:
        if self.sn:
            data = {"action": int(self.air.currentData())}
            self._run("air_conditioner_mode_switch", data, self.air_job, False)

    def apply_setting(self, name: str) -> None:
        if not self.sn:
            return
        editor = self.setting_editors[name]
        value: Any
        if isinstance(editor, QComboBox):
            value = int(editor.currentData())
        elif isinstance(editor, QSpinBox):
            value = editor.value()
        elif isinstance(editor, QDoubleSpinBox):
            value = float(editor.value())
        else:
            assert isinstance(editor, QCheckBox)
            value = editor.isChecked()
        self._run("property/set", {name: value}, self.setting_jobs[name], False)

    def _run(self, method: str, data: Any, job: JobView, confirmed: bool) -> None:
        job.job_id = ""
        job.status.setText(tr("Sending…"))
        job.status.setStyleSheet("")

        def done(_outcome: CommandOutcome | None, error: BaseException | None) -> None:
            if not shiboken6.isValid(job):
                return
            if isinstance(error, CommandRefused):
                job.status.setText(error.zh if language() == "zh" else error.en)
                job.status.setStyleSheet("color: #b26a00")
            elif error is not None and not isinstance(error, CommandFailed):
                job.status.setText(str(error))
                job.status.setStyleSheet("color: #c62828")

        self._pending_job = job
        self._pending_method = method
        self.bridge.run_command(self.sn, method, data, confirmed=confirmed, on_done=done)

    @Slot(object)
    def _on_command(self, e: CommandChanged) -> None:
        if e.gateway_sn != self.sn or e.actor != "desktop":
            return
        for job in (*self.jobs.values(), *self.setting_jobs.values(), self.air_job):
            if job.job_id == e.job_id:
                job.show_event(e)
                return
        pending = self._pending_job
        if pending is not None and e.method == self._pending_method:
            pending.show_event(e)
            self._pending_job = None

    # -- language ------------------------------------------------------------------------

    def retranslate(self, *_args: Any) -> None:
        for box, title in self._group_boxes:
            box.setTitle(tr(title))
        for _title, actions in GROUPS:
            for action in actions:
                self.buttons[action.key].setText(tr(action.label))
        self.air_box.setTitle(tr("Air conditioner"))
        self.air_apply.setText(tr("Apply"))
        for i, word in enumerate(AIR_CONDITIONER.values()):
            self.air.setItemText(i, tr(word))
        self.settings_box.setTitle(tr("Device settings"))
        for name, label in self.setting_labels.items():
            w = WRITABLE[name]
            label.setText(w.title_zh if language() == "zh" else w.title_en)
            self.buttons[f"setting.{name}"].setText(tr("Apply"))
            editor = self.setting_editors[name]
            field = w.field
            if isinstance(editor, QComboBox) and field is not None and field.choices:
                for i, (en, zh) in enumerate(field.choices.values()):
                    editor.setItemText(i, zh if language() == "zh" else en)
        self._update()


def _editor(field: Field | None) -> QWidget:
    assert field is not None
    if field.choices is not None:
        combo = QComboBox()
        for code, (en, _zh) in field.choices.items():
            combo.addItem(en, code)
        return combo
    if field.kind is bool:
        return QCheckBox()
    if field.kind is float:
        dspin = QDoubleSpinBox()
        dspin.setRange(field.minimum or 0, field.maximum or 1e6)
        dspin.setSuffix(f" {field.unit}" if field.unit else "")
        return dspin
    spin = QSpinBox()
    spin.setRange(int(field.minimum or 0), int(field.maximum or 1_000_000))
    spin.setSuffix(f" {field.unit}" if field.unit else "")
    return spin


def _ask(parent: QWidget, question: str) -> bool:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(tr("Please confirm"))
    box.setText(question)
    yes = box.addButton(tr("Yes, do it"), QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(tr("Cancel"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel)
    box.exec()
    return box.clickedButton() is yes
