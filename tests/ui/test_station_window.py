"""The main window against a running station with the simulated fleet (Qt offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from gcs.protocol import properties as p
from gcs.protocol.models import Domain
from gcs.runtime import ThreadedRuntime
from gcs.ui.bridge import StationBridge
from gcs.ui.fleet_panel import COL_NAME, COL_SN
from gcs.ui.i18n import set_language
from gcs.ui.main_window import MainWindow

SCREENS = Path("/tmp/gcs-screens")


@pytest.fixture
def window(qtbot: Any, fleet_runtime: ThreadedRuntime, tmp_path: Path) -> Iterator[MainWindow]:
    set_language("en")
    bridge = StationBridge(fleet_runtime)
    ui = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    station = fleet_runtime.runtime.station
    win = MainWindow(bridge, station.data_dir, ui_settings=ui)
    qtbot.addWidget(win)
    win.resize(1600, 950)
    win.show()
    yield win
    win.close()
    bridge.close()
    set_language("en")


def test_window_shows_the_fleet(qtbot: Any, window: MainWindow) -> None:
    bridge = window.bridge
    qtbot.waitUntil(lambda: bridge.counts() == (4, 4), timeout=20_000)
    # Wait on both numbers: the label may show the gateway before its aircraft (issue 17 #16).
    qtbot.waitUntil(
        lambda: (
            "Gateways online: 4" in window.status.counts.text()
            and "Aircraft online: 4" in window.status.counts.text()
        ),
        timeout=5000,
    )
    assert "connected" in window.status.broker.text()
    assert "MQTT tcp://127.0.0.1:" in window.status.endpoints.text()
    assert window.status.ntp.text().startswith("NTP udp://127.0.0.1:")

    views = bridge.devices()
    docks = [v for v in views if v.domain == Domain.DOCK]
    assert len(docks) == 3
    dock = docks[0]
    qtbot.waitUntil(lambda: "cover_state" in bridge.state(dock.sn), timeout=20_000)
    fleet = window.fleet
    qtbot.waitUntil(lambda: fleet.item(dock.sn) is not None, timeout=5000)
    row = fleet.row_texts(dock.sn)
    assert row["Model"] == dock.model_name
    assert row["State"] == "online"
    aircraft_sn = dock.sub_devices[0]
    aircraft_item = fleet.item(aircraft_sn)
    assert aircraft_item is not None and aircraft_item.parent() is fleet.item(dock.sn)

    window.selection.select(dock.sn)
    panel = window.dock_panel
    assert panel.sn == dock.sn
    state = panel.shown_state  # what the panel rendered (the fleet keeps sending)
    assert state and state.keys() <= bridge.state(dock.sn).keys()
    assert panel.value("cover") == p.label(p.CoverState, state["cover_state"])
    assert panel.value("mode") == p.label(p.DockModeCode, state["mode_code"])
    assert panel.value("wind_speed") == f"{state['wind_speed']:.1f} m/s"  # dock: m/s
    assert panel.value("env_temperature") == f"{state['environment_temperature']:.1f} °C"
    kb = state["storage"]
    assert panel.value("storage").endswith(f"({100 * kb['used'] / kb['total']:.0f} %)")

    # The aircraft panel follows the dock's aircraft; the wire wind speed is in 0.1 m/s.
    air = window.aircraft_panel
    assert air.sn == aircraft_sn
    qtbot.waitUntil(lambda: "wind_speed" in bridge.state(aircraft_sn), timeout=20_000)
    window.selection.select(aircraft_sn)
    qtbot.waitUntil(lambda: "wind_speed" in air.shown_state, timeout=5000)
    air_state = air.shown_state
    assert air.value("mode") == p.label(p.AircraftModeCode, air_state["mode_code"])
    assert air.value("wind").startswith(f"{air_state['wind_speed'] / 10:.1f} m/s")
    assert air.value("battery") == f"{air_state['battery']['capacity_percent']} %"
    qtbot.waitUntil(
        lambda: fleet.row_texts(aircraft_sn)["Battery"] == air.value("battery"), timeout=5000
    )
    assert fleet.row_texts(aircraft_sn)["Mode"] == air.value("mode")
    assert air.value("height") == f"{air_state['height']:.1f} m"


def test_fleet_opens_wide_enough_and_the_device_tab_follows_the_selection(
    qtbot: Any, window: MainWindow
) -> None:
    _settle(qtbot, window)
    fleet = window.fleet
    tree = fleet.tree
    header = tree.header()
    dock = next(v for v in window.bridge.devices() if v.domain == Domain.DOCK)
    aircraft_sn = dock.sub_devices[0]
    qtbot.waitUntil(lambda: fleet.item(aircraft_sn) is not None, timeout=5000)
    # Every column fits in the panel as it opens, the serial numbers in full.
    sn_text = tree.fontMetrics().horizontalAdvance(aircraft_sn)
    qtbot.waitUntil(
        lambda: header.length() <= tree.viewport().width() and header.sectionSize(COL_SN) > sn_text,
        timeout=5000,
    )
    item = fleet.item(aircraft_sn)
    assert item is not None
    name = item.text(COL_NAME)
    indent = tree.indentation() * 3
    assert header.sectionSize(COL_NAME) >= tree.fontMetrics().horizontalAdvance(name) + indent

    # A dock brings the Dock tab to the front, an aircraft the Aircraft tab.
    def front(key: str) -> bool:
        return not window.panels[key].visibleRegion().isEmpty()

    window.selection.select(dock.sn)
    qtbot.waitUntil(lambda: front("dock") and not front("aircraft"), timeout=5000)
    window.selection.select(aircraft_sn)
    qtbot.waitUntil(lambda: front("aircraft") and not front("dock"), timeout=5000)
    window.selection.select(dock.sn)
    qtbot.waitUntil(lambda: front("dock"), timeout=5000)
    SCREENS.mkdir(exist_ok=True)
    assert window.grab().save(str(SCREENS / "main-fleet-width.png"))


def test_window_opens_at_its_default_size(qtbot: Any, main_window: MainWindow) -> None:
    """The panels, tabbed, fit the default 1500 x 900 window: it no longer opens at the sum of
    the bottom panels' minimum widths (about 2,000 px, wider than a laptop screen)."""
    window = main_window
    qtbot.waitExposed(window)
    assert window.width() == 1500
    assert window.height() == 900
    widths = [window.docks[k].width() for k in ("fleet", "dock")]
    assert all(w > 0 for w in widths)
    assert sum(widths) < window.width()


def _settle(qtbot: Any, window: MainWindow) -> None:
    bridge = window.bridge
    qtbot.waitUntil(lambda: bridge.counts() == (4, 4), timeout=20_000)
    for v in bridge.devices():
        qtbot.waitUntil(lambda v=v: bool(bridge.state(v.sn)), timeout=20_000)


def test_screenshot_main_window(qtbot: Any, window: MainWindow) -> None:
    _settle(qtbot, window)
    aircraft = [v for v in window.bridge.devices() if v.domain == Domain.AIRCRAFT]
    window.selection.select(aircraft[0].sn)
    qtbot.wait(1500)  # let the map page render its tiles/markers (visual only)
    SCREENS.mkdir(exist_ok=True)
    window.docks["aircraft"].raise_()
    assert window.grab().save(str(SCREENS / "main-aircraft.png"))
    # With live data in every panel, the fleet's columns still fit.
    header = window.fleet.tree.header()
    assert header.length() <= window.fleet.tree.viewport().width()
    window.docks["dock"].raise_()
    qtbot.wait(200)
    assert window.grab().save(str(SCREENS / "main-dock.png"))
    set_language("zh")
    qtbot.wait(300)
    assert window.grab().save(str(SCREENS / "main-zh.png"))


def test_screenshot_dialogs(qtbot: Any, window: MainWindow) -> None:
    from gcs.ui.settings_dialog import SettingsDialog
    from gcs.ui.wizard import ConnectionWizard

    _settle(qtbot, window)
    station = window.bridge.threaded_runtime.runtime.station
    wizard = ConnectionWizard(window.bridge, window)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitUntil(lambda: wizard.checks["mqtt"].ok is not None, timeout=5000)
    assert wizard.checks["device"].ok is True  # the simulated fleet is connected
    SCREENS.mkdir(exist_ok=True)
    assert wizard.grab().save(str(SCREENS / "wizard.png"))
    wizard.close()
    dialog = SettingsDialog(window.bridge, station.data_dir, window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    assert dialog.grab().save(str(SCREENS / "settings.png"))
    dialog.close()
