"""Remote logs in the desktop (protocol §15): a dock's and its aircraft's log files by boot
index, uploads into the station's store with per-file progress, cancel, and the archives
downloaded and opened.

The panel follows the selection (a dock, or the dock of the selected aircraft). "List log files"
asks the dock (`fileupload_list`); the operator ticks boots and uploads them with a note; each
archive's progress shows while the dock pulls, packs and uploads it; "Cancel upload" stops it.
Finished uploads are listed; "Open archive" downloads the chosen one into the data folder and
opens it with the system's program for .tar.gz files.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gcs.protocol.models import Domain
from gcs.station.remote_logs import (
    AIRCRAFT_MODULE,
    DOCK_MODULE,
    DeviceLogs,
    LogSelection,
    LogUploadChanged,
    LogUploadRow,
)
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, language, register, tr

FILE_COLUMNS = ["Boot", "From", "To", "Size"]
UPLOAD_COLUMNS = ["Started", "Status", "Note", "Archives"]
ENDED = {"ok", "failed", "canceled", "timeout", "rejected", "interrupted", "refused"}

register(
    {
        "Logs": "日志",
        "Log files": "日志文件",
        "Boot": "启动序号",
        "From": "开始",
        "To": "结束",
        "Size": "大小",
        "Started": "开始时间",
        "Status": "状态",
        "Note": "备注",
        "Archives": "压缩包",
        "List log files": "获取日志列表",
        "Upload ticked": "上传勾选的日志",
        "Cancel upload": "取消上传",
        "Open archive": "打开压缩包",
        "Uploads": "上传记录",
        "Current upload": "当前上传",
        "What happened (optional)": "问题描述（可选）",
        "Select a dock (or its aircraft) to fetch its logs.": (
            "请选择一个机场（或其飞行器）以获取日志。"
        ),
        "Logs of {name}": "{name} 的日志",
        "Dock {sn}": "机场 {sn}",
        "Aircraft {sn}": "飞行器 {sn}",
        "could not list: {code}": "无法获取列表：{code}",
        "Asking the dock for its log files…": "正在向机场获取日志列表…",
        "Tick the boots to upload first.": "请先勾选要上传的启动序号。",
        "Upload started.": "已开始上传。",
        "Pick an uploaded archive first.": "请先选择一个已上传的压缩包。",
        "Saved to {path}": "已保存到 {path}",
        "dock": "机场",
        "aircraft": "飞行器",
    }
)

MODULE_WORDS = {DOCK_MODULE: "dock", AIRCRAFT_MODULE: "aircraft"}


def _time_s(seconds: int) -> str:
    if not seconds:
        return ""
    if seconds > 10**11:  # some docks send ms
        seconds //= 1000
    return datetime.datetime.fromtimestamp(seconds).strftime("%m-%d %H:%M:%S")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class LogsPanel(QWidget):
    """See the module docstring."""

    def __init__(
        self,
        bridge: StationBridge,
        selection: Selection,
        parent: QWidget | None = None,
        *,
        opener: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.opener = opener or _open_file
        self.sn = ""
        self.listed: list[DeviceLogs] = []
        self.current: LogUploadRow | None = None
        self.uploads: list[LogUploadRow] = []
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.list_button = QPushButton()
        self.list_button.setObjectName("logs.list")
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.list_button)
        self.files_box = QGroupBox()
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(FILE_COLUMNS))
        for col, width in enumerate((80, 112, 112, 70)):
            self.tree.setColumnWidth(col, width)
        self.note = QLineEdit()
        self.upload_button = QPushButton()
        self.upload_button.setObjectName("logs.upload")
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("logs.cancel")
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.upload_button)
        actions.addWidget(self.cancel_button)
        files_layout = QVBoxLayout(self.files_box)
        files_layout.addWidget(self.tree, 1)
        files_layout.addWidget(self.note)
        files_layout.addLayout(actions)
        self.current_box = QGroupBox()
        self.current_layout = QVBoxLayout(self.current_box)
        self.bars: dict[str, tuple[QLabel, QProgressBar]] = {}
        self.uploads_box = QGroupBox()
        self.upload_table = QTableWidget(0, len(UPLOAD_COLUMNS))
        self.upload_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.upload_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.upload_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.upload_table.verticalHeader().setVisible(False)
        self.upload_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.open_button = QPushButton()
        self.open_button.setObjectName("logs.open")
        up_bar = QHBoxLayout()
        up_bar.addStretch(1)
        up_bar.addWidget(self.open_button)
        up_layout = QVBoxLayout(self.uploads_box)
        up_layout.addWidget(self.upload_table, 1)
        up_layout.addLayout(up_bar)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.files_box, 3)
        layout.addWidget(self.current_box)
        layout.addWidget(self.uploads_box, 2)
        layout.addWidget(self.message)
        self.list_button.clicked.connect(self.list_files)
        self.upload_button.clicked.connect(self.upload_ticked)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_selected)
        selection.changed.connect(self._on_selection)
        bridge.devices_changed.connect(self._update)
        bridge.watch_log_uploads(self._on_upload)
        i18n.language_changed.connect(self.retranslate)
        self.retranslate()
        self._on_selection(selection.current)

    # -- which dock ----------------------------------------------------------------------

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
        dock = self._dock_of(sn)
        if dock != self.sn:
            self.sn = dock
            self.listed = []
            self.current = None
            self._render_files()
            self._render_current()
            self.refresh_uploads()
        self._update()

    @Slot()
    def _update(self) -> None:
        view = self.bridge.device(self.sn) if self.sn else None
        if view is None:
            self.header.setText(tr("Select a dock (or its aircraft) to fetch its logs."))
        else:
            name = f"{view.callsign} ({view.sn})" if view.callsign else view.sn
            self.header.setText(tr("Logs of {name}").format(name=name))
        online = view is not None and view.online
        running = self.current is not None and self.current.status not in ENDED
        self.list_button.setEnabled(online)
        self.upload_button.setEnabled(online and bool(self.listed) and not running)
        self.cancel_button.setEnabled(online and running)

    # -- actions -------------------------------------------------------------------------

    @Slot()
    def list_files(self) -> None:
        if not self.sn:
            return
        sn = self.sn
        self.list_button.setEnabled(False)
        self.say(tr("Asking the dock for its log files…"))

        def done(found: list[DeviceLogs] | None, error: BaseException | None) -> None:
            if not shiboken6.isValid(self) or sn != self.sn:
                return
            if error is not None or found is None:
                self.say(_reason(error), error=True)
            else:
                self.listed = found
                self.say("")
                self._render_files()
            self._update()

        self.bridge.list_device_logs(sn, done)

    def _boot_items(self) -> Iterator[tuple[str, QTreeWidgetItem]]:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is None:
                continue
            module = str(top.data(0, Qt.ItemDataRole.UserRole))
            for j in range(top.childCount()):
                child = top.child(j)
                if child is not None:
                    yield module, child

    def ticked(self) -> list[LogSelection]:
        chosen: dict[str, list[int]] = {}
        for module, item in self._boot_items():
            if item.checkState(0) == Qt.CheckState.Checked:
                chosen.setdefault(module, []).append(int(item.data(0, Qt.ItemDataRole.UserRole)))
        return [LogSelection(m, tuple(indexes)) for m, indexes in chosen.items()]

    def tick(self, module: str, boot_index: int, on: bool = True) -> None:
        for m, item in self._boot_items():
            if m == module and item.data(0, Qt.ItemDataRole.UserRole) == boot_index:
                item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    @Slot()
    def upload_ticked(self) -> None:
        chosen = self.ticked()
        if not chosen:
            self.say(tr("Tick the boots to upload first."), error=True)
            return
        sn = self.sn
        self.upload_button.setEnabled(False)

        def done(row: LogUploadRow | None, error: BaseException | None) -> None:
            if not shiboken6.isValid(self):
                return
            if error is not None or row is None:
                self.say(_reason(error), error=True)
            elif sn == self.sn:
                if self.current is None or self.current.id != row.id:
                    self.current = row
                self.say(tr("Upload started."))
                self._render_current()
                self.refresh_uploads()
            self._update()

        self.bridge.upload_device_logs(sn, chosen, self.note.text().strip(), done)

    @Slot()
    def cancel(self) -> None:
        def done(_none: None, error: BaseException | None) -> None:
            if shiboken6.isValid(self) and error is not None:
                self.say(_reason(error), error=True)

        self.bridge.cancel_log_upload(self.sn, done)

    def selected_upload(self) -> LogUploadRow | None:
        rows = self.upload_table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.upload_table.item(rows[0].row(), 0)
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((u for u in self.uploads if u.id == value), None)

    @Slot()
    def open_selected(self) -> None:
        upload = self.selected_upload()
        files = [f for f in upload.files if f.get("status") == "ok"] if upload else []
        if upload is None or not files:
            self.say(tr("Pick an uploaded archive first."), error=True)
            return
        for f in files:
            self.open_archive(upload.id, str(f["file_id"]))

    def open_archive(self, upload_id: str, file_id: str) -> None:
        def done(path: str | None, error: BaseException | None) -> None:
            if not shiboken6.isValid(self):
                return
            if error is not None or path is None:
                self.say(_reason(error), error=True)
                return
            self.say(tr("Saved to {path}").format(path=path))
            self.opener(path)

        self.bridge.download_log_archive(upload_id, file_id, done)

    def say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828" if error else "")

    # -- updates -------------------------------------------------------------------------

    def _on_upload(self, event: LogUploadChanged) -> None:
        if not shiboken6.isValid(self):
            return
        row = event.upload
        if row.gateway_sn != self.sn:
            return
        if self.current is None or self.current.id == row.id or self.current.status in ENDED:
            self.current = row
        self._render_current()
        if row.status in ENDED:
            self.refresh_uploads()
        self._update()

    def refresh_uploads(self) -> None:
        if not self.sn:
            self.uploads = []
            self._render_uploads()
            return
        sn = self.sn

        def done(rows: list[LogUploadRow] | None, _error: BaseException | None) -> None:
            if shiboken6.isValid(self) and rows is not None and sn == self.sn:
                self.uploads = rows
                self._render_uploads()

        self.bridge.log_uploads(sn, done)

    def _render_files(self) -> None:
        self.tree.clear()
        for d in self.listed:
            word = "Dock {sn}" if d.module == DOCK_MODULE else "Aircraft {sn}"
            top = QTreeWidgetItem([tr(word).format(sn=d.device_sn)])
            top.setData(0, Qt.ItemDataRole.UserRole, d.module)
            if d.result:
                top.setText(1, tr("could not list: {code}").format(code=d.result))
            for b in d.boots:
                child = QTreeWidgetItem(
                    [str(b.boot_index), _time_s(b.start_time), _time_s(b.end_time), _size(b.size)]
                )
                child.setData(0, Qt.ItemDataRole.UserRole, b.boot_index)
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(0, Qt.CheckState.Unchecked)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setFirstColumnSpanned(not d.result)
            top.setExpanded(True)

    def _render_current(self) -> None:
        while self.current_layout.count():
            item = self.current_layout.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.bars = {}
        row = self.current
        self.current_box.setVisible(row is not None)
        if row is None:
            return
        for f in row.files:
            module = str(f.get("module"))
            status = str(f.get("status") or row.status)
            percent = int(float(f.get("percent") or 0))
            word = tr(MODULE_WORDS.get(module, module))
            label = QLabel(f"{word} {f.get('device_sn', '')}: {status}")
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(percent)
            bar.setObjectName(f"logs.progress.{module}")
            bar.setMaximumHeight(14)
            self.current_layout.addWidget(label)
            self.current_layout.addWidget(bar)
            self.bars[module] = (label, bar)

    def _render_uploads(self) -> None:
        t = self.upload_table
        t.setRowCount(len(self.uploads))
        for i, u in enumerate(self.uploads):
            archives = ", ".join(
                f"{tr(MODULE_WORDS.get(str(f.get('module')), ''))} {_size(int(f.get('size') or 0))}"
                for f in u.files
            )
            started = datetime.datetime.fromtimestamp(u.created_at / 1000)
            cells = [started.strftime("%Y-%m-%d %H:%M:%S"), u.status, u.note, archives]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, u.id)
                t.setItem(i, col, item)

    def progress_of(self, module: str) -> int | None:
        """The value of a module's progress bar in the current upload (tests read this)."""
        pair = self.bars.get(module)
        return pair[1].value() if pair is not None else None

    def retranslate(self, *_args: Any) -> None:
        self.files_box.setTitle(tr("Log files"))
        self.current_box.setTitle(tr("Current upload"))
        self.uploads_box.setTitle(tr("Uploads"))
        self.tree.setHeaderLabels([tr(c) for c in FILE_COLUMNS])
        self.upload_table.setHorizontalHeaderLabels([tr(c) for c in UPLOAD_COLUMNS])
        self.list_button.setText(tr("List log files"))
        self.upload_button.setText(tr("Upload ticked"))
        self.cancel_button.setText(tr("Cancel upload"))
        self.open_button.setText(tr("Open archive"))
        self.note.setPlaceholderText(tr("What happened (optional)"))
        self._update()
        self._render_current()


def _reason(error: BaseException | None) -> str:
    if error is None:
        return ""
    text = getattr(error, "zh" if language() == "zh" else "en", None)
    return str(text or error)


def _open_file(path: str) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))
