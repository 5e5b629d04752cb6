"""Firmware in the desktop (protocol §14): the library of packages, the devices that need a
normal or a consistency upgrade, and upgrades with their progress.

Everything goes through the bridge: importing a package (a file dialog, then the models it is
for, its version — read from the file name when it says it — and a release note), the device
list (refreshed when devices change, when an upgrade ends, and every few seconds while shown),
and `ota_create` for the ticked devices, one per dock with its aircraft. Each device's row shows
its upgrade job: the dock's answer, then a progress bar that follows `ota_progress`; a refusal
(dock busy, emergency stop, no package) is shown in words under the buttons.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gcs.protocol.models import MODEL_NAMES
from gcs.station.bus import CommandChanged
from gcs.station.firmware import DeviceFirmware, FirmwareRow, OtaStarted, OtaTarget
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, language, register, tr

LIBRARY_COLUMNS = ["Version", "For", "File", "Size", "Release note", "Offered"]
DEVICE_COLUMNS = ["Upgrade", "Device", "Version", "Needs", "Progress"]
LIBRARY_WIDTHS = (80, 110, 0, 70, 150, 60)
DEVICE_WIDTHS = (60, 130, 160, 120, 0)
REFRESH_MS = 5000
RUNNING = {"sent", "running", "in_progress", "paused"}
_VERSION_IN_NAME = re.compile(r"(\d{2}\.\d{2}\.\d{4})")
NEED_WORDS = {"normal": "Normal upgrade", "consistency": "Consistency upgrade", "": "Up to date"}

register(
    {
        "Firmware": "固件",
        "Library": "固件库",
        "Devices": "设备",
        "Version": "版本",
        "For": "适用型号",
        "File": "文件",
        "Size": "大小",
        "Release note": "发布说明",
        "Offered": "已启用",
        "Upgrade": "升级",
        "Device": "设备",
        "Model": "型号",
        "Newest": "最新版本",
        "Needs": "需要",
        "Progress": "进度",
        "Normal upgrade": "普通升级",
        "Consistency upgrade": "一致性升级",
        "Up to date": "已是最新",
        "Import package…": "导入固件包…",
        "Upgrade ticked devices": "升级勾选的设备",
        "Refresh": "刷新",
        "Import a firmware package": "导入固件包",
        "Package file": "固件包文件",
        "Device models": "设备型号",
        "Choose…": "选择…",
        "Firmware package (*.zip *.bin *.tar *.pkg *.fw);;All files (*)": (
            "固件包 (*.zip *.bin *.tar *.pkg *.fw);;所有文件 (*)"
        ),
        "Importing {name}…": "正在导入 {name}…",
        "Imported {version} for {models}.": "已导入适用于 {models} 的 {version}。",
        "Could not import: {reason}": "无法导入：{reason}",
        "Tick the devices to upgrade first.": "请先勾选要升级的设备。",
        "Upgrade sent to {n} dock(s).": "已向 {n} 个机场发送升级。",
        "{sn}: {reason}": "{sn}：{reason}",
        "yes": "是",
        "no": "否",
    }
)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class ImportDialog(QDialog):
    """The package file, its models, version and release note."""

    def __init__(self, parent: QWidget | None = None, path: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Import a firmware package"))
        self.path = QLineEdit(path)
        browse = QPushButton(tr("Choose…"))
        browse.clicked.connect(self.choose)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.models = QComboBox()
        self.models.setEditable(True)
        for key, name in MODEL_NAMES.items():
            if key[:2] in ("0-", "3-"):
                self.models.addItem(f"{name} ({key})", key)
        self.models.setCurrentIndex(-1)
        self.version = QLineEdit()
        self.version.setPlaceholderText("10.01.1612")
        self.note = QLineEdit()
        form = QFormLayout(self)
        form.addRow(tr("Package file"), row)
        form.addRow(tr("Device models"), self.models)
        form.addRow(tr("Version"), self.version)
        form.addRow(tr("Release note"), self.note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.path.textChanged.connect(self._guess_version)
        self._guess_version(path)

    @Slot()
    def choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            tr("Import a firmware package"),
            "",
            tr("Firmware package (*.zip *.bin *.tar *.pkg *.fw);;All files (*)"),
        )
        if path:
            self.path.setText(path)

    @Slot(str)
    def _guess_version(self, path: str) -> None:
        found = _VERSION_IN_NAME.search(Path(path).name)
        if found and not self.version.text():
            self.version.setText(found.group(1))

    def model_keys(self) -> list[str]:
        """The chosen models: the picked entry's key, or what was typed (keys or names)."""
        text = self.models.currentText().strip()
        data = self.models.currentData()
        if data and self.models.itemText(self.models.currentIndex()) == text:
            return [str(data)]
        return [part.strip() for part in text.split(",") if part.strip()]


class FirmwarePanel(QWidget):
    """The library, the devices and their upgrades. See the module docstring."""

    def __init__(
        self,
        bridge: StationBridge,
        selection: Selection,
        parent: QWidget | None = None,
        *,
        ask_import: Callable[[QWidget], ImportDialog | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.ask_import = ask_import or _ask_import
        self.library: list[FirmwareRow] = []
        self.devices: list[DeviceFirmware] = []
        self.jobs: dict[str, tuple[str, ...]] = {}  # job id → device SNs it upgrades
        self.asked: dict[str, tuple[str, ...]] = {}  # gateway → device SNs being sent
        self.progress: dict[str, tuple[str, float | None, str]] = {}  # sn → (status, %, text)
        self.library_box = QGroupBox()
        self.library_table = _table(len(LIBRARY_COLUMNS), stretch=2, widths=LIBRARY_WIDTHS)
        self.import_button = QPushButton()
        self.import_button.setObjectName("firmware.import")
        lib_layout = QVBoxLayout(self.library_box)
        lib_layout.setContentsMargins(4, 4, 4, 4)
        lib_layout.addWidget(self.library_table)
        self.lib_bar = QHBoxLayout()
        self.lib_bar.addStretch(1)
        lib_layout.addLayout(self.lib_bar)
        self.devices_box = QGroupBox()
        self.device_table = _table(len(DEVICE_COLUMNS), stretch=4, widths=DEVICE_WIDTHS)
        self.upgrade_button = QPushButton()
        self.upgrade_button.setObjectName("firmware.upgrade")
        self.refresh_button = QPushButton()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.addWidget(self.message, 1)
        bar.addWidget(self.upgrade_button)
        self.lib_bar.addWidget(self.refresh_button)
        self.lib_bar.addWidget(self.import_button)
        dev_layout = QVBoxLayout(self.devices_box)
        dev_layout.setContentsMargins(4, 4, 4, 4)
        dev_layout.addWidget(self.device_table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.devices_box)
        split.addWidget(self.library_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.import_button.clicked.connect(self.choose_package)
        self.upgrade_button.clicked.connect(self.upgrade_ticked)
        self.refresh_button.clicked.connect(self.refresh)
        bridge.command_changed.connect(self._on_command)
        bridge.devices_changed.connect(self._tick)  # only while shown: a fleet changes often
        i18n.language_changed.connect(self.retranslate)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.retranslate()

    # -- actions -------------------------------------------------------------------------

    @Slot()
    def choose_package(self) -> None:
        dialog = self.ask_import(self)
        if dialog is None:
            return
        self.import_package(
            dialog.path.text().strip(),
            dialog.model_keys(),
            dialog.version.text().strip(),
            dialog.note.text().strip(),
        )

    def import_package(self, path: str, models: list[str], version: str, note: str) -> None:
        self.import_button.setEnabled(False)
        self.say(tr("Importing {name}…").format(name=Path(path).name))

        def done(row: FirmwareRow | None, error: BaseException | None) -> None:
            if not shiboken6.isValid(self):
                return
            self.import_button.setEnabled(True)
            if error is not None or row is None:
                reason = _reason(error)
                self.say(tr("Could not import: {reason}").format(reason=reason), error=True)
                return
            models_text = ", ".join(MODEL_NAMES.get(k, k) for k in row.models)
            self.say(tr("Imported {version} for {models}.").format(
                version=row.version, models=models_text))  # fmt: skip
            self.refresh()

        self.bridge.import_firmware(path, models, version, note, done)

    def ticked(self) -> list[str]:
        out = []
        for i in range(self.device_table.rowCount()):
            item = self.device_table.item(i, 0)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def tick(self, sn: str, on: bool = True) -> None:
        for i in range(self.device_table.rowCount()):
            item = self.device_table.item(i, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == sn:
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    @Slot()
    def upgrade_ticked(self) -> None:
        sns = self.ticked()
        if not sns:
            self.say(tr("Tick the devices to upgrade first."), error=True)
            return
        self.upgrade_button.setEnabled(False)
        gateways = {d.sn: d.gateway_sn for d in self.devices}
        for sn in sns:  # progress may come before the answer: know the job by its gateway
            gw = gateways.get(sn, sn)
            self.asked[gw] = (*self.asked.get(gw, ()), sn)

        def done(results: list[OtaStarted] | None, error: BaseException | None) -> None:
            if not shiboken6.isValid(self):
                return
            self.upgrade_button.setEnabled(True)
            for sn in sns:
                self.asked.pop(gateways.get(sn, sn), None)
            if error is not None or results is None:
                self.say(_reason(error), error=True)
                return
            problems = []
            started = 0
            for r in results:
                if r.job_id:
                    self.jobs[r.job_id] = r.devices
                if r.job_id is None or r.code:
                    text = r.message_zh if language() == "zh" else r.message_en
                    problems.append(tr("{sn}: {reason}").format(sn=r.gateway_sn, reason=text))
                    for sn in r.devices:
                        self.progress[sn] = (r.status, None, text)
                else:
                    started += 1
            summary = tr("Upgrade sent to {n} dock(s).").format(n=started) if started else ""
            self.say("\n".join([summary, *problems]).strip(), error=bool(problems))
            self._render_devices()

        self.bridge.upgrade_firmware([OtaTarget(sn) for sn in sns], done)

    def say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828" if error else "")

    # -- updates -------------------------------------------------------------------------

    @Slot()
    def _tick(self) -> None:
        if self.isVisible():
            self.refresh()

    @Slot()
    def refresh(self) -> None:
        def library(rows: list[FirmwareRow] | None, _error: BaseException | None) -> None:
            if shiboken6.isValid(self) and rows is not None:
                self.library = rows
                self._render_library()

        def devices(rows: list[DeviceFirmware] | None, _error: BaseException | None) -> None:
            if shiboken6.isValid(self) and rows is not None:
                self.devices = rows
                self._render_devices()

        self.bridge.firmware_library(library)
        self.bridge.firmware_devices(devices)

    @Slot(object)
    def _on_command(self, e: CommandChanged) -> None:
        if e.method != "ota_create":
            return
        sns = self.jobs.get(e.job_id)
        if sns is None:
            sns = self.asked.get(e.gateway_sn)
            if sns is None:
                return
            self.jobs[e.job_id] = sns
        text = e.message_zh if language() == "zh" and e.message_zh else e.message_en
        if e.step:
            text = f"{text} · {e.step}"
        for sn in sns:
            self.progress[sn] = (e.status, e.percent, text)
        self._render_devices()
        if e.status not in RUNNING:
            self.refresh()

    def _render_library(self) -> None:
        t = self.library_table
        t.setRowCount(len(self.library))
        for i, r in enumerate(self.library):
            cells = [
                r.version,
                ", ".join(MODEL_NAMES.get(k, k) for k in r.models),
                r.file_name,
                _size(r.size),
                r.release_note,
                tr("yes") if r.enabled else tr("no"),
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{text}\nMD5 {r.md5}" if col == 2 else text)
                t.setItem(i, col, item)

    def _render_devices(self) -> None:
        t = self.device_table
        ticked = set(self.ticked())
        t.setRowCount(len(self.devices))
        for i, d in enumerate(self.devices):
            check = QTableWidgetItem()
            check.setData(Qt.ItemDataRole.UserRole, d.sn)
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            check.setCheckState(
                Qt.CheckState.Checked if d.sn in ticked else Qt.CheckState.Unchecked
            )
            t.setItem(i, 0, check)
            newest = d.latest.version if d.latest is not None else ""
            version = d.version or "?"
            cells = [
                d.callsign or d.sn,
                f"{version} → {newest}" if newest and newest != d.version else version,
                tr(NEED_WORDS.get(d.need, d.need)),
            ]
            tips = [f"{d.callsign} · {d.model_name} · {d.sn}", cells[1], cells[2]]
            for col, (text, tip) in enumerate(zip(cells, tips, strict=True), 1):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if col == 3 and d.need:
                    item.setForeground(Qt.GlobalColor.darkYellow)
                t.setItem(i, col, item)
            t.setCellWidget(i, 4, self._progress_cell(d.sn))

    def _progress_cell(self, sn: str) -> QWidget:
        status, percent, text = self.progress.get(sn, ("", None, ""))
        cell = QWidget()
        box = QVBoxLayout(cell)
        box.setContentsMargins(2, 0, 2, 0)
        box.setSpacing(0)
        label = QLabel(text)
        label.setToolTip(text)
        failed = status and status not in RUNNING and status not in ("ok", "success")
        label.setStyleSheet("color: #c62828" if failed else "")
        box.addWidget(label)
        if status in RUNNING:
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(int(percent or 0))
            bar.setMaximumHeight(10)
            bar.setTextVisible(False)
            bar.setObjectName(f"firmware.progress.{sn}")
            box.addWidget(bar)
        return cell

    def progress_of(self, sn: str) -> int | None:
        """The value of `sn`'s progress bar, None when none shows (tests read this)."""
        for i in range(self.device_table.rowCount()):
            item = self.device_table.item(i, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == sn:
                cell = self.device_table.cellWidget(i, 4)
                bar = cell.findChild(QProgressBar) if cell is not None else None
                return bar.value() if bar is not None else None
        return None

    def retranslate(self, *_args: Any) -> None:
        self.library_box.setTitle(tr("Library"))
        self.devices_box.setTitle(tr("Devices"))
        self.library_table.setHorizontalHeaderLabels([tr(c) for c in LIBRARY_COLUMNS])
        self.device_table.setHorizontalHeaderLabels([tr(c) for c in DEVICE_COLUMNS])
        self.import_button.setText(tr("Import package…"))
        self.upgrade_button.setText(tr("Upgrade ticked devices"))
        self.refresh_button.setText(tr("Refresh"))
        self.refresh()


def _table(columns: int, *, stretch: int, widths: tuple[int, ...]) -> QTableWidget:
    t = QTableWidget(0, columns)
    for col, width in enumerate(widths):
        if width:
            t.setColumnWidth(col, width)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(30)
    t.setWordWrap(False)
    t.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return t


def _reason(error: BaseException | None) -> str:
    if error is None:
        return ""
    text = getattr(error, "zh" if language() == "zh" else "en", None)
    return str(text or error)


def _ask_import(parent: QWidget) -> ImportDialog | None:
    dialog = ImportDialog(parent)
    return dialog if dialog.exec() == QDialog.DialogCode.Accepted else None
