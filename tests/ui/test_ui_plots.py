"""Telemetry plots: columns and units without Qt, then the panel over a real station's history."""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QToolButton

from gcs.protocol.models import Domain
from gcs.runtime import ThreadedRuntime
from gcs.store.history import Sample, insert_samples
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import set_language
from gcs.ui.plots_panel import PlotData, PlotsPanel


def test_plot_data_scales_units_and_marks_gaps() -> None:
    data = PlotData("aircraft")
    data.add(1_000, {"battery.capacity_percent": 90, "wind_speed": 53, "elevation": 10.5})
    data.add(2_000, {"battery.capacity_percent": 89, "wind_speed": 65535, "height": 30})
    data.add(1_500, {"battery.capacity_percent": 1})  # older than the last row: ignored
    data.add(3_000, {"battery.capacity_percent": True, "vertical_speed": float("nan")})
    assert data.ts == [1_000, 2_000, 3_000]
    assert data.columns["battery.capacity_percent"] == [90.0, 89.0, 1.0]
    wind = data.columns["wind_speed"]
    assert wind[0] == pytest.approx(5.3) and math.isnan(wind[1])  # 0.1 m/s; 65535 = n/a
    assert not data.has_data("vertical_speed") and data.has_data("height")
    assert "environment_temperature" not in data.columns  # a dock property
    assert (data.at(0), data.at(1_499), data.at(1_501), data.at(9_999)) == (0, 0, 1, 2)
    data.trim(2_000)
    assert data.ts == [2_000, 3_000]
    assert data.columns["battery.capacity_percent"] == [89.0, 1.0]

    dock = PlotData("dock")
    dock.add(1_000, {"wind_speed": 5.3, "temperature": 21.5, "network_state.quality": 4})
    assert dock.columns["wind_speed"] == [5.3]  # the dock's anemometer reports m/s


def test_plot_data_csv() -> None:
    data = PlotData("dock")
    data.add(1_700_000_000_000, {"temperature": 21.5, "network_state.quality": 4})
    data.add(1_700_000_001_000, {"temperature": 21.25})
    out = io.StringIO()
    assert data.write_csv(out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == [
        "time",
        "timestamp_ms",
        "Cabin (°C) [temperature]",
        "Network (0–5) [network_state.quality]",
    ]
    assert rows[1][1:] == ["1700000000000", "21.5", "4"]
    assert rows[2][1:] == ["1700000001000", "21.25", ""]
    assert rows[1][0].startswith(time.strftime("%Y-%m-%dT", time.localtime(1_700_000_000)))


@pytest.fixture
def plots(qtbot: Any, ui_runtime: ThreadedRuntime) -> Iterator[tuple[PlotsPanel, Selection]]:
    bridge = StationBridge(ui_runtime)
    selection = Selection()
    panel = PlotsPanel(bridge, selection)
    qtbot.addWidget(panel)
    panel.resize(900, 900)
    panel.show()
    yield panel, selection
    panel.close()
    bridge.close()


def _store_history(rt: ThreadedRuntime, samples: list[Sample]) -> None:
    station = rt.runtime.station
    assert station.store is not None
    rt.submit(station.store.call(insert_samples, samples)).result(10)


def test_history_curves_hover_and_csv(
    qtbot: Any,
    plots: tuple[PlotsPanel, Selection],
    ui_runtime: ThreadedRuntime,
    tmp_path: Path,
) -> None:
    panel, selection = plots
    now = int(time.time() * 1000)
    sn = "1581F5BKD2XXXX"  # an aircraft the registry has not seen: plotted as an aircraft
    rows = [
        Sample(
            sn,
            now - (20 - i) * 30_000,  # one row every 30 s over the last 10 minutes
            {
                "battery.capacity_percent": 100 - i,
                "elevation": 2.5 * i,
                "wind_speed": 40 + i,  # 0.1 m/s
                "horizontal_speed": 65535 if i == 5 else 8,
            },
        )
        for i in range(20)
    ]
    _store_history(ui_runtime, [*rows, Sample("OTHER", now - 1000, {"elevation": 999})])

    with qtbot.waitSignal(panel.history_loaded, timeout=10_000) as loaded:
        selection.select(sn)
    assert loaded.args == [sn, 20]
    x, y = panel.curve_data("battery.capacity_percent")
    assert x == pytest.approx([r.ts / 1000 for r in rows])
    assert y == [100.0 - i for i in range(20)]
    assert panel.curve_data("wind_speed")[1] == pytest.approx([4.0 + i / 10 for i in range(20)])
    assert len(panel.curve_data("horizontal_speed")[1]) == 19  # the n/a value is a gap
    assert panel.visible_groups() == ["battery", "heights", "speeds", "wind"]

    text = panel.show_readout(rows[3].ts + 4_000)
    assert "Aircraft battery: 97 %" in text and "Wind speed (aircraft estimate): 4.3 m/s" in text
    assert panel.readout.text() == text

    path = tmp_path / "export.csv"
    assert panel.export_csv(path) == 20
    exported = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [int(r["timestamp_ms"]) for r in exported] == [r.ts for r in rows]
    assert exported[5]["Horizontal speed (m/s) [horizontal_speed]"] == ""
    assert exported[0]["Aircraft battery (%) [battery.capacity_percent]"] == "100"
    assert exported[19]["Height above take-off (m) [elevation]"] == "47.5"
    assert "Vertical speed (m/s) [vertical_speed]" not in exported[0]  # no data, no column

    # A historical window (not live) shows only its rows.
    with qtbot.waitSignal(panel.history_loaded, timeout=10_000) as loaded:
        panel.set_window(300, live=False, end_ms=rows[9].ts)
    assert loaded.args == [sn, 10]  # 5 minutes at one row per 30 s, both ends included
    assert panel.curve_data("battery.capacity_percent")[1] == [100.0 - i for i in range(10)]


def test_live_curves_of_a_simulated_dock(qtbot: Any, fleet_runtime: ThreadedRuntime) -> None:
    bridge = StationBridge(fleet_runtime)
    selection = Selection()
    panel = PlotsPanel(bridge, selection)
    qtbot.addWidget(panel)
    panel.show()
    try:
        qtbot.waitUntil(
            lambda: any(v.domain == Domain.DOCK and v.online for v in bridge.devices()),
            timeout=20_000,
        )
        dock = next(v.sn for v in bridge.devices() if v.domain == Domain.DOCK)
        with qtbot.waitSignal(panel.history_loaded, timeout=10_000):
            selection.select(dock)
        qtbot.waitUntil(
            lambda: len(panel.curve_data("environment_temperature")[1]) >= 3, timeout=15_000
        )
        temps = panel.curve_data("environment_temperature")[1]
        assert all(-40 < t < 60 for t in temps)
        assert "battery" in panel.visible_groups() and "network" in panel.visible_groups()
        # The station recorded history for it too: a reload reads it back.
        with qtbot.waitSignal(panel.history_loaded, timeout=10_000) as loaded:
            panel.reload()
        assert loaded.args[1] >= 2
    finally:
        panel.close()
        bridge.close()


def test_plots_follow_the_language(plots: tuple[PlotsPanel, Selection]) -> None:
    panel, _ = plots
    export = panel.findChild(QToolButton, "plots_export")
    live = panel.findChild(QCheckBox, "plots_live")
    try:
        set_language("zh")
        assert (export.text(), live.text()) == ("导出 CSV…", "实时")
    finally:
        set_language("en")
    assert (export.text(), live.text()) == ("Export CSV…", "Live")


def test_live_points_use_the_device_time(
    qtbot: Any, plots: tuple[PlotsPanel, Selection], ui_runtime: ThreadedRuntime
) -> None:
    """A live point is stamped with the message's timestamp (the device's clock), as the
    stored history is, not with the desktop's clock: a reload then draws the same point."""
    panel, selection = plots
    sn = "1581F5BKD2LIVE"
    with qtbot.waitSignal(panel.history_loaded, timeout=10_000):
        selection.select(sn)
    device_ts = int(time.time() * 1000) - 95_000  # this device's clock is 95 s behind
    station = ui_runtime.runtime.station

    async def send() -> None:
        station.telemetry.ingest(sn, sn, "osd", {"elevation": 12.5}, device_ts)

    ui_runtime.submit(send()).result(10)
    qtbot.waitUntil(lambda: panel.data.ts == [device_ts], timeout=10_000)
    assert panel.bridge.state_ts(sn) == device_ts
    with qtbot.waitSignal(panel.history_loaded, timeout=10_000) as loaded:
        panel.reload()
    assert loaded.args == [sn, 1]
    qtbot.waitUntil(lambda: panel.curve_data("elevation") == ([device_ts / 1000], [12.5]))
