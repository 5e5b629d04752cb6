"""HMS alarms in the desktop: the active alarms of the fleet, a banner and a sound (spoken text
where the system has speech) for new warnings, unread counts, a filterable history with CSV
export, and importing DJI's HMS text table."""

from __future__ import annotations

import csv
import datetime
from typing import Any

import shiboken6
from PySide6.QtCore import QDateTime, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gcs.station.bus import HmsChanged
from gcs.station.records import AlarmQuery, AlarmRow
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import i18n, language, tr

LEVEL_WORDS = {0: "Notice", 1: "Caution", 2: "Warning"}
LEVEL_COLORS = {1: QColor("#b26a00"), 2: QColor("#c62828")}
MODULE_WORDS = {0: "Flight task", 1: "Device management", 2: "Media", 3: "Health"}
ACTIVE_COLUMNS = ["Level", "Device", "Alarm message", "Since", "Module"]
HISTORY_COLUMNS = ["Raised", "Cleared", "Level", "Device", "Alarm message", "Code", "Read"]
HISTORY_PAGE = 1000
EXPORT_LIMIT = 100_000


def _time(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def alarm_text(a: AlarmRow) -> str:
    return a.text_zh if language() == "zh" and a.text_zh else a.text_en


class Speaker:
    """Says a warning out loud when the system has a speech engine, else rings the bell."""

    def __init__(self, engine: str | None = None) -> None:
        self.spoken: list[str] = []  # what was said or rung for (tests read this)
        self._tts: Any = None
        try:
            from PySide6.QtTextToSpeech import QTextToSpeech

            engines = [e for e in QTextToSpeech.availableEngines() if e != "mock"]
            chosen = engine or (engines[0] if engines else None)
            if chosen:
                self._tts = QTextToSpeech(chosen)
        except ImportError:  # a Qt build without the speech module
            self._tts = None

    @property
    def speaks(self) -> bool:
        return self._tts is not None

    def say(self, text: str) -> None:
        self.spoken.append(text)
        if self._tts is not None:
            self._tts.say(text)
        else:
            QApplication.beep()


class AlarmsPanel(QWidget):
    """Active alarms with a warning banner; `unread_changed(total)` for the window's title."""

    unread_changed = Signal(int)

    def __init__(
        self,
        bridge: StationBridge,
        selection: Selection,
        parent: QWidget | None = None,
        *,
        ui_settings: QSettings | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.selection = selection
        self.ui_settings = ui_settings
        self.speaker = speaker or Speaker()
        self.banner = QFrame()
        self.banner.setObjectName("alarm_banner")
        self.banner.setStyleSheet(
            "#alarm_banner { background: #c62828; border-radius: 3px; }"
            " #alarm_banner QLabel { color: white; font-weight: bold; }"
        )
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_text.setMinimumWidth(120)
        self.banner_read = QPushButton()
        banner_row = QHBoxLayout(self.banner)
        banner_row.setContentsMargins(8, 4, 8, 4)
        banner_row.addWidget(self.banner_text, 1)
        banner_row.addWidget(self.banner_read)
        self.banner.hide()
        self.table = QTableWidget(0, len(ACTIVE_COLUMNS))
        self.table.setObjectName("alarms_table")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for col, width in enumerate((70, 150, 300, 130, 110)):
            if col != 2:
                self.table.setColumnWidth(col, width)
        self.only_selected = QCheckBox()
        self.speak = QCheckBox()
        self.speak.setChecked(
            bool(ui_settings.value("alarms/speak", True, type=bool)) if ui_settings else True
        )
        self.read_all = QPushButton()
        self.history_button = QPushButton()
        self.import_button = QPushButton()
        # Two short rows rather than one long one: the panel shares its column with the map
        # and must not make that column wider than the map needs.
        bar = QHBoxLayout()
        bar.addWidget(self.only_selected)
        bar.addWidget(self.speak)
        bar.addStretch(1)
        actions = QHBoxLayout()
        actions.addWidget(self.read_all)
        actions.addWidget(self.history_button)
        actions.addWidget(self.import_button)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addLayout(actions)
        layout.addWidget(self.table, 1)
        self.banner_read.clicked.connect(self.mark_all_read)
        self.read_all.clicked.connect(self.mark_all_read)
        self.history_button.clicked.connect(self.open_history)
        self.import_button.clicked.connect(self.choose_table)
        self.only_selected.toggled.connect(self.refresh)
        self.speak.toggled.connect(self._on_speak)
        self.table.itemDoubleClicked.connect(self._on_double_click)
        bridge.alarms_changed.connect(self._on_alarms)
        bridge.devices_changed.connect(self.refresh)
        selection.changed.connect(self._on_selection)
        i18n.language_changed.connect(self.retranslate)
        self.retranslate()

    # -- public --------------------------------------------------------------------------

    def unread_total(self) -> int:
        return sum(self.bridge.unread_alarms().values())

    def shown(self) -> list[AlarmRow]:
        """The alarms in the table, top to bottom (tests read this)."""
        rows = []
        for i in range(self.table.rowCount()):
            item = self.table.item(i, 0)
            if item is not None and isinstance(item.data(Qt.ItemDataRole.UserRole), AlarmRow):
                rows.append(item.data(Qt.ItemDataRole.UserRole))
        return rows

    @Slot()
    def mark_all_read(self) -> None:
        def done(_n: int | None, _error: BaseException | None) -> None:
            if shiboken6.isValid(self):
                self.refresh()

        self.bridge.mark_alarms_read(None, done)

    @Slot()
    def open_history(self) -> None:
        dialog = AlarmHistoryDialog(self.bridge, self)
        dialog.show()

    @Slot()
    def choose_table(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, tr("Import HMS table…"), "", tr("HMS table (hms.json *.json)")
        )
        if path:
            self.import_table(path)

    def import_table(self, path: str) -> None:
        def done(n: int | None, error: BaseException | None) -> None:
            if not shiboken6.isValid(self):
                return
            if error is not None:
                QMessageBox.warning(self, tr("Could not import the HMS table"), str(error))
            else:
                QMessageBox.information(
                    self,
                    tr("HMS table imported"),
                    tr("{n} alarm texts imported; new alarms use them.").format(n=n),
                )

        self.bridge.import_hms_table(path, done)

    # -- updates -------------------------------------------------------------------------

    def retranslate(self, *_args: Any) -> None:
        self.table.setHorizontalHeaderLabels([tr(c) for c in ACTIVE_COLUMNS])
        self.only_selected.setText(tr("Selected device only"))
        self.speak.setText(tr("Speak warnings"))
        self.read_all.setText(tr("Mark all read"))
        self.history_button.setText(tr("History…"))
        self.import_button.setText(tr("Import HMS table…"))
        self.banner_read.setText(tr("Mark read"))
        self.refresh()

    @Slot(object)
    def _on_alarms(self, event: HmsChanged) -> None:
        warnings = [a for a in event.raised if a.level >= 2]
        if warnings and self.speak.isChecked():
            self.speaker.say(f"{self._device(event.sn)}: {alarm_text(warnings[0])}")
        self.refresh()

    @Slot(str)
    def _on_selection(self, _sn: str) -> None:
        if self.only_selected.isChecked():
            self.refresh()

    @Slot(bool)
    def _on_speak(self, on: bool) -> None:
        if self.ui_settings is not None:
            self.ui_settings.setValue("alarms/speak", on)

    @Slot()
    def refresh(self) -> None:
        sn = self.selection.current if self.only_selected.isChecked() else None
        rows = self.bridge.alarms(sn)
        self.table.setRowCount(len(rows))
        for i, a in enumerate(rows):
            texts = [
                tr(LEVEL_WORDS.get(a.level, str(a.level))),
                self._device(a.sn),
                alarm_text(a),
                _time(a.raised_at),
                tr(MODULE_WORDS.get(a.module, str(a.module))),
            ]
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, a)
                color = LEVEL_COLORS.get(a.level)
                if color is not None and col in (0, 2):
                    item.setForeground(color)
                if a.read_at is None:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                item.setToolTip(f"{a.key} · {a.code}")
                self.table.setItem(i, col, item)
        unread_warnings = [a for a in self.bridge.alarms() if a.level >= 2 and a.read_at is None]
        if unread_warnings:
            newest = max(unread_warnings, key=lambda a: a.raised_at)
            self.banner_text.setText(
                tr("{n} unread warning(s). Latest — {device}: {text}").format(
                    n=len(unread_warnings), device=self._device(newest.sn), text=alarm_text(newest)
                )
            )
            self.banner.show()
        else:
            self.banner.hide()
        self.unread_changed.emit(self.unread_total())

    def _device(self, sn: str) -> str:
        view = self.bridge.device(sn)
        if view is None:
            return sn
        return view.callsign or f"{view.model_name} {sn[-4:]}"

    @Slot(QTableWidgetItem)
    def _on_double_click(self, item: QTableWidgetItem) -> None:
        first = self.table.item(item.row(), 0)
        alarm = first.data(Qt.ItemDataRole.UserRole) if first is not None else None
        if isinstance(alarm, AlarmRow):
            self.selection.select(alarm.sn)


class AlarmHistoryDialog(QDialog):
    """Stored alarms with filters (device, level, time range, text, unread), CSV export."""

    def __init__(self, bridge: StationBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarm_history")
        self.setWindowTitle(tr("Alarm history"))
        self.bridge = bridge
        self.rows: list[AlarmRow] = []
        self.total = 0
        self.device = QComboBox()
        self.device.addItem(tr("All devices"), "")
        for view in bridge.devices():
            self.device.addItem(f"{view.callsign or view.model_name} ({view.sn})", view.sn)
        self.level = QComboBox()
        self.level.addItem(tr("All levels"), -1)
        for level, word in LEVEL_WORDS.items():
            self.level.addItem(tr(word), level)
        now = QDateTime.currentDateTime()
        self.since = QDateTimeEdit(now.addDays(-7))
        self.until = QDateTimeEdit(now.addDays(1))
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.text = QLineEdit()
        self.text.setPlaceholderText(tr("Text or code…"))
        self.unread = QCheckBox(tr("Unread only"))
        search = QPushButton(tr("Search"))
        export = QPushButton(tr("Export CSV…"))
        self.count = QLabel()
        filters = QHBoxLayout()
        for w in (self.device, self.level, self.since, self.until, self.text, self.unread, search):
            filters.addWidget(w)
        self.table = QTableWidget(0, len(HISTORY_COLUMNS))
        self.table.setHorizontalHeaderLabels([tr(c) for c in HISTORY_COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(export)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        search.clicked.connect(self.search)
        export.clicked.connect(self.choose_export)
        self.resize(1100, 560)
        self.search()

    def query(self, limit: int = HISTORY_PAGE) -> AlarmQuery:
        sn = self.device.currentData()
        level = self.level.currentData()
        return AlarmQuery(
            sns=(sn,) if sn else tuple(v.sn for v in self.bridge.devices()),
            level=None if level == -1 else int(level),
            since_ms=self.since.dateTime().toMSecsSinceEpoch(),
            until_ms=self.until.dateTime().toMSecsSinceEpoch(),
            text=self.text.text().strip(),
            unread_only=self.unread.isChecked(),
            limit=limit,
        )

    @Slot()
    def search(self) -> None:
        def done(result: tuple[list[AlarmRow], int] | None, error: BaseException | None) -> None:
            if error is not None or result is None or not shiboken6.isValid(self):
                return
            self.rows, self.total = result
            self._fill()

        query = self.query()
        if not query.sns:
            self.rows, self.total = [], 0
            self._fill()
            return
        self.bridge.run(self.bridge.alarm_history(query), done)

    def _fill(self) -> None:
        self.table.setRowCount(len(self.rows))
        for i, a in enumerate(self.rows):
            texts = [
                _time(a.raised_at),
                _time(a.cleared_at),
                tr(LEVEL_WORDS.get(a.level, str(a.level))),
                a.sn,
                alarm_text(a),
                a.code,
                tr("Yes") if a.read_at else tr("No"),
            ]
            for col, text in enumerate(texts):
                self.table.setItem(i, col, QTableWidgetItem(text))
        self.count.setText(
            tr("{shown} of {total} alarms").format(shown=len(self.rows), total=self.total)
        )

    @Slot()
    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export CSV…"), "alarms.csv", tr("CSV files (*.csv)")
        )
        if path:
            self.export(path)

    def export(self, path: str, on_done: Any = None) -> None:
        """Write every alarm matching the filters (up to 100,000) to `path` as CSV."""

        def done(result: tuple[list[AlarmRow], int] | None, error: BaseException | None) -> None:
            if error is None and result is not None:
                try:
                    write_csv(path, result[0])
                except OSError as exc:
                    error = exc
            if error is not None and shiboken6.isValid(self):
                QMessageBox.warning(self, tr("Could not export"), str(error))
            if on_done is not None:
                on_done(error)

        self.bridge.run(self.bridge.alarm_history(self.query(EXPORT_LIMIT)), done)


def write_csv(path: str, rows: list[AlarmRow]) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "raised",
                "cleared",
                "read",
                "level",
                "module",
                "device_sn",
                "gateway_sn",
                "key",
                "code",
                "in_the_sky",
                "text_en",
                "text_zh",
            ]
        )
        for a in rows:
            w.writerow(
                [
                    _time(a.raised_at),
                    _time(a.cleared_at),
                    _time(a.read_at),
                    a.level,
                    a.module,
                    a.sn,
                    a.gateway_sn,
                    a.key,
                    a.code,
                    int(a.in_the_sky),
                    a.text_en,
                    a.text_zh,
                ]
            )
