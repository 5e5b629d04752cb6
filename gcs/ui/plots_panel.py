"""Telemetry plots of the selected device: battery, heights, speeds, wind, temperatures, network.

Theory of operation
-------------------
`PlotData` (no Qt) holds one device's samples as columns: a time column (ms) and one column per
known series, in display units (aircraft `wind_speed` arrives in 0.1 m/s and is scaled here;
32767/65535 "not available" values become gaps). It is filled from the station's telemetry
history (`StationBridge.history`, run on the station loop through `bridge.run`) for the chosen
window, and, while "Live" is on, extended from the bridge's merged state at most once per
`LIVE_INTERVAL_S` as telemetry arrives, stamped with the device's time of that state (as the
history is); old rows fall out of the window. The widget redraws at
most once a second from those columns, so a device sending OSD at 2 Hz costs one redraw per
second. Hovering shows every curve's value at the pointer's time; "Export CSV…" writes the
columns as they are shown.
"""

from __future__ import annotations

import bisect
import csv
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QDateTime, QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gcs.protocol.models import Domain
from gcs.station.telemetry import numeric_projection
from gcs.ui.i18n import i18n, register, tr

if TYPE_CHECKING:
    from gcs.station.devices import DeviceView
    from gcs.station.records import Sample
    from gcs.ui.bridge import Selection, StationBridge

__all__ = ["GROUPS", "WINDOWS_S", "Group", "PlotData", "PlotsPanel", "Series", "device_kind"]

LIVE_INTERVAL_S = 1.0
REDRAW_MS = 1000
NOT_AVAILABLE = (32767.0, 65535.0)
WINDOWS_S: tuple[tuple[str, int], ...] = (
    ("5 min", 300),
    ("15 min", 900),
    ("1 h", 3600),
    ("6 h", 6 * 3600),
    ("24 h", 24 * 3600),
)
DEFAULT_WINDOW_S = 900
HEADROOM = 0.05  # share of the window shown ahead of "now" while live
COLOURS = ("#1971c2", "#e8590c", "#2f9e44", "#9c36b5", "#c92a2a", "#0c8599")


@dataclass(frozen=True, slots=True)
class Series:
    """One curve: a history key (dotted, see `numeric_projection`) shown on some device kinds."""

    key: str
    label: str
    kinds: frozenset[str]
    scale: float = 1.0  # wire value × scale = display value


@dataclass(frozen=True, slots=True)
class Group:
    """One plot: series sharing a unit."""

    id: str
    title: str
    unit: str
    series: tuple[Series, ...]


_A, _D, _R = frozenset({"aircraft"}), frozenset({"dock"}), frozenset({"rc"})
_ALL = _A | _D | _R

GROUPS: tuple[Group, ...] = (
    Group(
        "battery",
        "Battery",
        "%",
        (
            Series("battery.capacity_percent", "Aircraft battery", _A),
            Series("drone_charge_state.capacity_percent", "Aircraft battery (in dock)", _D),
            Series("capacity_percent", "RC battery", _R),
        ),
    ),
    Group(
        "heights",
        "Heights",
        "m",
        (
            Series("elevation", "Height above take-off", _A),
            Series("height", "Ellipsoidal height", _ALL),
        ),
    ),
    Group(
        "speeds",
        "Speeds",
        "m/s",
        (
            Series("horizontal_speed", "Horizontal speed", _A),
            Series("vertical_speed", "Vertical speed", _A),
        ),
    ),
    Group(
        "wind",
        "Wind",
        "m/s",
        (
            # The aircraft reports tenths of m/s, the dock's anemometer m/s (protocol §3).
            Series("wind_speed", "Wind speed (aircraft estimate)", _A, 0.1),
            Series("wind_speed", "Wind speed (dock anemometer)", _D),
        ),
    ),
    Group(
        "temperatures",
        "Temperatures",
        "°C",
        (
            Series("environment_temperature", "Outside", _D),
            Series("temperature", "Cabin", _D),
            Series("backup_battery.temperature", "Backup battery", _D),
        ),
    ),
    Group(
        "network",
        "Network quality",
        "0–5",
        (
            Series("network_state.quality", "Network", _D),
            Series("wireless_link.sdr_quality", "SDR link", _D | _R),
            Series("wireless_link.4g_quality", "4G link", _D | _R),
        ),
    ),
)

ZH = {
    "Plots": "曲线",
    "Battery": "电池",
    "Heights": "高度",
    "Speeds": "速度",
    "Wind": "风速",
    "Temperatures": "温度",
    "Network quality": "网络质量",
    "Aircraft battery": "飞行器电量",
    "Aircraft battery (in dock)": "飞行器电量（机场内）",
    "RC battery": "遥控器电量",
    "Height above take-off": "相对起飞点高度",
    "Ellipsoidal height": "椭球高",
    "Horizontal speed": "水平速度",
    "Vertical speed": "垂直速度",
    "Wind speed (aircraft estimate)": "风速（飞行器估算）",
    "Wind speed (dock anemometer)": "风速（机场风速计）",
    "Outside": "舱外",
    "Cabin": "舱内",
    "Backup battery": "备用电池",
    "Network": "网络",
    "SDR link": "SDR 图传",
    "4G link": "4G 链路",
    "Window:": "时间窗：",
    "Live": "实时",
    "Follow the newest data": "跟随最新数据",
    "End:": "结束：",
    "Export CSV…": "导出 CSV…",
    "Export the curves shown to a CSV file": "将当前曲线导出为 CSV 文件",
    "Select a device to plot its telemetry.": "选择一台设备以查看遥测曲线。",
    "Loading history…": "正在加载历史数据…",
    "{n} samples": "{n} 个样本",
    "No telemetry recorded in this window.": "此时间窗内没有遥测记录。",
    "History could not be read: {error}": "无法读取历史数据：{error}",
    "CSV files (*.csv)": "CSV 文件 (*.csv)",
    "Exported {n} rows to {path}.": "已导出 {n} 行到 {path}。",
    "Export failed: {error}": "导出失败：{error}",
    "time": "时间",
}
register(ZH)


def device_kind(view: DeviceView | None) -> str:
    """ "dock", "rc" or "aircraft" (the default for unknown devices)."""
    if view is not None and view.domain == Domain.DOCK:
        return "dock"
    if view is not None and view.domain == Domain.RC:
        return "rc"
    return "aircraft"


def series_for(kind: str) -> list[tuple[Group, Series]]:
    """Every (group, series) shown for a device kind, in display order."""
    return [(g, s) for g in GROUPS for s in g.series if kind in s.kinds]


def _value(raw: object, scale: float) -> float:
    if isinstance(raw, bool):
        raw = int(raw)
    if not isinstance(raw, int | float) or not math.isfinite(raw) or float(raw) in NOT_AVAILABLE:
        return math.nan
    return float(raw) * scale


class PlotData:
    """The samples of one device as columns in display units. No Qt; not thread-safe."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.series = series_for(kind)
        self.ts: list[int] = []  # ms, ascending
        self.columns: dict[str, list[float]] = {s.key: [] for _, s in self.series}

    def __len__(self) -> int:
        return len(self.ts)

    def add(self, ts_ms: int, values: Mapping[str, object]) -> None:
        """Append one sample (numeric properties by dotted key); older-than-last is ignored."""
        if self.ts and ts_ms <= self.ts[-1]:
            return
        self.ts.append(ts_ms)
        for _, s in self.series:
            self.columns[s.key].append(_value(values.get(s.key), s.scale))

    def extend(self, samples: Iterable[Sample]) -> None:
        for sample in samples:
            self.add(sample.ts, sample.data)

    def merge_newer(self, other: PlotData) -> None:
        """Append the rows of `other` (same kind) newer than this data's last row."""
        start = bisect.bisect_right(other.ts, self.ts[-1]) if self.ts else 0
        self.ts.extend(other.ts[start:])
        for key, col in self.columns.items():
            col.extend(other.columns[key][start:])

    def trim(self, since_ms: int) -> None:
        """Drop the rows older than `since_ms`."""
        cut = bisect.bisect_left(self.ts, since_ms)
        if cut:
            del self.ts[:cut]
            for col in self.columns.values():
                del col[:cut]

    def has_data(self, key: str) -> bool:
        return any(not math.isnan(v) for v in self.columns.get(key, ()))

    def xy(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Times (s since the epoch) and values of one series (NaN = gap)."""
        x = np.asarray(self.ts, dtype=float) / 1000.0
        y = np.asarray(self.columns[key], dtype=float)
        return x, y

    def at(self, ts_ms: int) -> int | None:
        """Index of the row nearest to `ts_ms`, or None when empty."""
        if not self.ts:
            return None
        i = bisect.bisect_left(self.ts, ts_ms)
        if i == len(self.ts) or (i > 0 and ts_ms - self.ts[i - 1] <= self.ts[i] - ts_ms):
            i -= 1
        return i

    def write_csv(self, out: IO[str]) -> int:
        """Write a header and one row per sample (only series holding data); returns rows."""
        shown = [(g, s) for g, s in self.series if self.has_data(s.key)]
        writer = csv.writer(out)
        writer.writerow(
            ["time", "timestamp_ms"] + [f"{s.label} ({g.unit}) [{s.key}]" for g, s in shown]
        )
        for i, ts in enumerate(self.ts):
            stamp = (
                datetime.fromtimestamp(ts / 1000).astimezone().isoformat(timespec="milliseconds")
            )
            cells = [_cell(self.columns[s.key][i]) for _, s in shown]
            writer.writerow([stamp, ts, *cells])
        return len(self.ts)


def _cell(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6g}"


class PlotsPanel(QWidget):
    """The plots dock's widget. Usable until closed."""

    history_loaded = Signal(str, int)  # sn, rows
    redrawn = Signal()

    def __init__(
        self,
        bridge: StationBridge,
        selection: Selection,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("PlotsPanel")
        self.bridge = bridge
        self.selection = selection
        self.sn = ""
        self.data = PlotData("aircraft")
        self.window_s = DEFAULT_WINDOW_S
        self.live = True
        self._last_live = 0.0
        self._request = 0  # id of the newest history request; older answers are dropped
        self._dirty = False
        self._closed = False
        self._x_range: tuple[float, float] | None = None
        self._titles_key: tuple[str, str] | None = None
        self._curves: dict[Series, pg.PlotDataItem] = {}
        self._colours: dict[Series, str] = {}
        self._plots: dict[str, pg.PlotItem] = {}
        self._cursors: list[pg.InfiniteLine] = []

        self._build_ui()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()

        bridge.telemetry_changed.connect(self._on_telemetry_changed)
        bridge.devices_changed.connect(self._on_devices_changed)
        selection.changed.connect(self._on_selection_changed)
        i18n.language_changed.connect(self.retranslate)
        self.retranslate()
        self._on_selection_changed(selection.current)

    # -- construction --------------------------------------------------------------------

    def _build_ui(self) -> None:
        self._title = QLabel()
        self._title.setObjectName("plots_title")
        self._window_label = QLabel()
        self._window_combo = QComboBox()
        self._window_combo.setObjectName("plots_window")
        for _, seconds in WINDOWS_S:
            self._window_combo.addItem("", seconds)
        self._window_combo.setCurrentIndex(self._window_combo.findData(DEFAULT_WINDOW_S))
        self._window_combo.activated.connect(self._on_window_chosen)
        self._live_check = QCheckBox()
        self._live_check.setObjectName("plots_live")
        self._live_check.setChecked(True)
        self._live_check.toggled.connect(self._on_live_toggled)
        self._end_label = QLabel()
        self._end_edit = QDateTimeEdit(QDateTime.currentDateTime())
        self._end_edit.setObjectName("plots_end")
        self._end_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self._end_edit.setCalendarPopup(True)
        self._end_edit.setEnabled(False)
        self._end_edit.editingFinished.connect(self.reload)
        self._export_button = QToolButton()
        self._export_button.setObjectName("plots_export")
        self._export_button.clicked.connect(self._on_export_clicked)
        self._status = QLabel()
        self._status.setObjectName("plots_status")
        self.readout = QLabel()
        self.readout.setObjectName("plots_readout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setWordWrap(True)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for w in (
            self._title,
            self._window_label,
            self._window_combo,
            self._live_check,
            self._end_label,
            self._end_edit,
            self._export_button,
        ):
            bar.addWidget(w)
        bar.addWidget(self._status, 1)
        for label in (self._title, self._status):  # long texts are cut, the panel stays narrow
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        pg.setConfigOptions(antialias=False, background="w", foreground="#343a40")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("plots_graphics")
        for group in GROUPS:
            plot = pg.PlotItem(axisItems={"bottom": pg.DateAxisItem()})
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.setMenuEnabled(False)
            plot.setMinimumHeight(90)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#868e96", width=1))
            cursor.setVisible(False)
            plot.addItem(cursor, ignoreBounds=True)
            self._cursors.append(cursor)
            self._plots[group.id] = plot
            for i, series in enumerate(group.series):
                colour = COLOURS[i % len(COLOURS)]
                self._colours[series] = colour
                curve = plot.plot([], [], pen=pg.mkPen(colour, width=1.5), connect="finite")
                curve.setVisible(False)
                self._curves[series] = curve
        self._shown: list[str] = []
        self._layout_plots([g.id for g in GROUPS])
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)

    def retranslate(self) -> None:
        """Re-label every control in the current language."""
        self._window_label.setText(tr("Window:"))
        for i, (text, _) in enumerate(WINDOWS_S):
            self._window_combo.setItemText(i, text)
        self._live_check.setText(tr("Live"))
        self._live_check.setToolTip(tr("Follow the newest data"))
        self._end_label.setText(tr("End:"))
        self._export_button.setText(tr("Export CSV…"))
        self._export_button.setToolTip(tr("Export the curves shown to a CSV file"))
        self._update_title()
        self._rebuild_curves()

    def _update_title(self) -> None:
        view = self.bridge.device(self.sn) if self.sn else None
        if view is None:
            self._title.setText(
                tr("Select a device to plot its telemetry.") if not self.sn else self.sn
            )
        else:
            self._title.setText(f"<b>{view.callsign or view.model_name}</b> {view.sn}")

    # -- window and selection ------------------------------------------------------------

    def window_range_ms(self) -> tuple[int, int | None]:
        """(since, until) of the shown window in ms; `until` is None while live."""
        if self.live:
            return int(time.time() * 1000) - self.window_s * 1000, None
        end = self._end_edit.dateTime().toMSecsSinceEpoch()
        return end - self.window_s * 1000, end

    def set_window(self, seconds: int, *, live: bool = True, end_ms: int | None = None) -> None:
        """Show `seconds` of history, ending now (live) or at `end_ms`; reloads history."""
        self.window_s = seconds
        index = self._window_combo.findData(seconds)
        if index >= 0:
            self._window_combo.setCurrentIndex(index)
        if end_ms is not None:
            self._end_edit.setDateTime(QDateTime.fromMSecsSinceEpoch(end_ms))
        self._live_check.blockSignals(True)
        self._live_check.setChecked(live)
        self._live_check.blockSignals(False)
        self.live = live
        self._end_edit.setEnabled(not live)
        self.reload()

    @Slot(int)
    def _on_window_chosen(self, index: int) -> None:
        self.window_s = int(self._window_combo.itemData(index))
        self.reload()

    @Slot(bool)
    def _on_live_toggled(self, live: bool) -> None:
        self.live = live
        self._end_edit.setEnabled(not live)
        if not live:
            self._end_edit.setDateTime(QDateTime.currentDateTime())
        self.reload()

    @Slot(str)
    def _on_selection_changed(self, sn: str) -> None:
        self.sn = sn
        self.reload()

    @Slot()
    def _on_devices_changed(self) -> None:
        if self.sn and device_kind(self.bridge.device(self.sn)) != self.data.kind:
            self.reload()  # the device became known: its kind decides the curves
        self._update_title()

    def reload(self) -> None:
        """Read the window's history of the selected device from the station, then redraw."""
        self._request += 1
        request = self._request
        self._x_range = None
        self.data = PlotData(device_kind(self.bridge.device(self.sn)) if self.sn else "aircraft")
        self._rebuild_curves()
        self._update_title()
        self.readout.clear()
        if not self.sn:
            self._status.clear()
            self._redraw()
            return
        since, until = self.window_range_ms()
        self._status.setText(tr("Loading history…"))
        sn = self.sn

        def done(rows: list[Sample] | None, error: BaseException | None) -> None:
            if request != self._request:
                return  # a newer selection or window replaced this request
            if error is not None or rows is None:
                self._status.setText(tr("History could not be read: {error}").format(error=error))
                return
            fresh = PlotData(self.data.kind)
            fresh.extend(rows)
            fresh.merge_newer(self.data)  # live samples that arrived while loading
            self.data = fresh
            self._status.setText(
                tr("{n} samples").format(n=len(rows))
                if rows
                else tr("No telemetry recorded in this window.")
            )
            self._redraw()
            self.history_loaded.emit(sn, len(rows))

        self.bridge.run(self.bridge.history(sn, since, until), done)

    # -- live data -----------------------------------------------------------------------

    @Slot(str)
    def _on_telemetry_changed(self, sn: str) -> None:
        if sn != self.sn or not self.live:
            return
        now = time.time()
        if now - self._last_live < LIVE_INTERVAL_S:
            return
        self._last_live = now
        ts = self.bridge.state_ts(sn)  # the device's time, as the stored history uses
        if ts is None:
            return
        self.data.add(ts, numeric_projection(self.bridge.state(sn)))
        self._dirty = True

    @Slot()
    def _on_tick(self) -> None:
        if self.live and self.sn:
            since, _ = self.window_range_ms()
            if self.data.ts and self.data.ts[0] < since:
                self.data.trim(since)
                self._dirty = True
        if self._dirty and self.isVisible():  # a hidden panel redraws when shown again
            self._redraw()

    # -- drawing -------------------------------------------------------------------------

    def _rebuild_curves(self) -> None:
        """Show the curves of the current device kind (all curves exist from the start: making
        and legending pyqtgraph items is the dear part of switching devices) and name them
        in each plot's title, in their colours."""
        wanted = {s for _, s in self.data.series}
        for series, curve in self._curves.items():
            curve.setData([], [])
            curve.setVisible(series in wanted)
        titles_key = (self.data.kind, i18n.lang)
        if titles_key == self._titles_key:  # setTitle re-lays the plot out: ~6 ms each
            return
        self._titles_key = titles_key
        for group in GROUPS:
            names = " ".join(
                f'<span style="color:{self._colours[s]}">━ {tr(s.label)}</span>'
                for s in group.series
                if s in wanted
            )
            title = f"<b>{tr(group.title)}</b> ({group.unit})&nbsp;&nbsp;{names}"
            self._plots[group.id].setTitle(title, size="8pt")

    def _layout_plots(self, groups: list[str]) -> None:
        """Stack the plots of `groups` (ids, in GROUPS order), x-linked to the top one."""
        if groups == self._shown:
            return
        for gid in self._shown:
            self.graphics.ci.removeItem(self._plots[gid])
        self._shown = list(groups)
        top: pg.PlotItem | None = None
        for row, gid in enumerate(groups):
            plot = self._plots[gid]
            plot.setXLink(top)
            top = top or plot
            self.graphics.ci.addItem(plot, row=row, col=0)
        self._x_range = None

    def _redraw(self) -> None:
        self._dirty = False
        wanted = [
            g.id
            for g in GROUPS
            if not self.sn
            or any(self.data.has_data(s.key) for gg, s in self.data.series if gg.id == g.id)
        ]
        self._layout_plots(wanted)
        for _, series in self.data.series:
            x, y = self.data.xy(series.key)
            self._curves[series].setData(x, y, connect="finite")
        self._update_x_range()
        self.redrawn.emit()

    def _update_x_range(self, force: bool = False) -> None:
        """Set the time axis to the window. While live the range runs `HEADROOM` ahead of now
        and only moves when the data reaches its end: a range that slid every second would
        make every axis regenerate its ticks every second."""
        if not self._shown:
            return
        since, until = self.window_range_ms()
        if until is not None:
            start, end = since / 1000.0, until / 1000.0
        else:
            now = time.time()
            if not force and self._x_range is not None and now < self._x_range[1]:
                return
            start, end = now - self.window_s, now + self.window_s * HEADROOM
        self._x_range = (start, end)
        self._plots[self._shown[0]].setXRange(start, end, padding=0)  # others: via the x-link

    def curve_data(self, key: str) -> tuple[list[float], list[float]]:
        """The points drawn for history key `key` (times in s, values; gaps left out)."""
        curve = next((self._curves[s] for _, s in self.data.series if s.key == key), None)
        if curve is None:
            return [], []
        x, y = curve.getOriginalDataset()
        if x is None or y is None:
            return [], []
        keep = ~np.isnan(y)
        return [float(v) for v in x[keep]], [float(v) for v in y[keep]]

    def visible_groups(self) -> list[str]:
        """Ids of the plots shown (groups with data for the selected device)."""
        return list(self._shown)

    # -- hover read-out ------------------------------------------------------------------

    @Slot(object)
    def _on_mouse_moved(self, pos: QPointF) -> None:
        for plot in (self._plots[gid] for gid in self._shown):
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self.show_readout(int(x * 1000))
                return

    def show_readout(self, ts_ms: int) -> str:
        """Show (and return) the values of every curve at the sample nearest to `ts_ms`."""
        i = self.data.at(ts_ms)
        if i is None:
            self.readout.clear()
            return ""
        ts = self.data.ts[i]
        parts = [datetime.fromtimestamp(ts / 1000).strftime("%H:%M:%S")]
        for group, series in self.data.series:
            value = self.data.columns[series.key][i]
            if not math.isnan(value):
                parts.append(f"{tr(series.label)}: {value:.6g} {group.unit}")
        text = " · ".join(parts)
        self.readout.setText(text)
        for cursor in self._cursors:
            cursor.setPos(ts / 1000.0)
            cursor.setVisible(True)
        return text

    # -- export --------------------------------------------------------------------------

    @Slot()
    def _on_export_clicked(self) -> None:
        name = f"{self.sn or 'telemetry'}-{datetime.now():%Y%m%d-%H%M%S}.csv"
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export CSV…"), name, tr("CSV files (*.csv)")
        )
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> int:
        """Write the shown samples to `path` as CSV; returns the rows written.

        Errors are shown in the panel's status line and re-raised as OSError.
        """
        try:
            with path.open("w", newline="", encoding="utf-8") as out:
                rows = self.data.write_csv(out)
        except OSError as exc:
            self._status.setText(tr("Export failed: {error}").format(error=exc))
            raise
        self._status.setText(tr("Exported {n} rows to {path}.").format(n=rows, path=path))
        return rows

    def closeEvent(self, event: Any) -> None:
        self._timer.stop()
        self._request += 1  # a history answer still on its way is dropped
        self._closed = True
        super().closeEvent(event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._closed:
            self._closed = False
            self._timer.start()
            self.reload()
