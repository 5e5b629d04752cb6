"""The missions panel: the wayline library (import, refusal, summary), the plan dialog and the
task list with live progress bars and the operator's actions, against a real station and a
literal-JSON dock; the main window carries the panel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from command_peers import DOCK, RawDock
from PySide6.QtCore import QSettings, Qt
from station_harness import SHARED_DATA

from gcs.runtime import ThreadedRuntime
from gcs.station.missions import CONDITIONAL, IMMEDIATE, RECURRING, TIMED
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.i18n import set_language
from gcs.ui.main_window import MainWindow
from gcs.ui.missions_panel import MissionsPanel

ROUTE = SHARED_DATA / "waylines" / "pilot2-waypoint-makeathon.kmz"  # 0-91-1
pytestmark = pytest.mark.skipif(not ROUTE.is_file(), reason=f"{ROUTE} is not present")


@pytest.fixture
def dock(ui_runtime: ThreadedRuntime) -> Iterator[RawDock]:
    st = ui_runtime.runtime.station
    s = st.settings
    d = RawDock(st.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.script = lambda dock, cmd: dock.reply(cmd, {"result": 0})
    d.online(aircraft_sub_type=1)
    d.bind(s.station.binding_code, s.station.workspace_id, aircraft_model_key="0-91-1")
    d.osd(mode_code=0, drone_in_dock=1, drone_charge_state={"state": 0, "capacity_percent": 90})
    yield d
    d.close()


@pytest.fixture
def panel(qtbot: Any, ui_runtime: ThreadedRuntime) -> Iterator[MissionsPanel]:
    set_language("en")
    bridge = StationBridge(ui_runtime)
    p = MissionsPanel(bridge, Selection())
    qtbot.addWidget(p)
    p.resize(1400, 500)
    p.show()
    yield p
    p.missions.close()
    bridge.close()


def progress(flight_id: str, status: str, percent: int, index: int) -> dict[str, Any]:
    return {
        "result": 0,
        "output": {
            "status": status,
            "progress": {"current_step": 19, "percent": percent},
            "ext": {"flight_id": flight_id, "current_waypoint_index": index,
                    "wayline_mission_state": 6, "media_count": 1},
        },
    }  # fmt: skip


def test_library_plan_and_live_task_list(
    qtbot: Any, panel: MissionsPanel, dock: RawDock, tmp_path: Path
) -> None:
    bridge = panel.bridge
    qtbot.waitUntil(lambda: any(v.sn == DOCK and v.bound for v in bridge.devices()), timeout=10000)
    qtbot.waitUntil(lambda: bridge.state(DOCK).get("drone_in_dock") == 1, timeout=5000)

    # Import: a good route appears with its summary; a broken file is refused in words.
    bad = tmp_path / "broken.kmz"
    bad.write_bytes(b"PK\x03\x04 nope")
    panel.import_files([ROUTE])
    qtbot.waitUntil(lambda: panel.library.rowCount() == 1, timeout=10000)
    panel.import_files([bad])
    qtbot.waitUntil(lambda: "not a usable wayline file" in panel.message.text(), timeout=5000)
    assert panel.library.item(0, 0).text() == "pilot2-waypoint-makeathon"
    assert panel.library.item(0, 2).text() == "3"
    panel.library.selectRow(0)
    assert "MD5" in panel.summary.text() and "goContinue" in panel.summary.text()
    panel.export_selected(str(tmp_path / "exported"))
    exported = tmp_path / "exported" / "pilot2-waypoint-makeathon.kmz"
    qtbot.waitUntil(
        lambda: exported.is_file() and exported.read_bytes() == ROUTE.read_bytes(), timeout=5000
    )
    qtbot.waitUntil(lambda: str(exported) in panel.message.text(), timeout=5000)

    # The plan dialog builds the request the station checks.
    dialog = panel.make_plan_dialog()
    assert dialog.dock.count() == 1 and dialog.dock.currentData() == DOCK
    dialog.kind.setCurrentIndex(dialog.kind.findData(RECURRING))
    dialog.times.setText("09:00, 17:30")
    dialog.days[5].setChecked(False)
    dialog.days[6].setChecked(False)
    req = dialog.request()
    assert req.task_type == RECURRING and req.recurrence is not None
    assert req.recurrence.times == ("09:00", "17:30") and req.recurrence.days == (0, 1, 2, 3, 4)
    dialog.kind.setCurrentIndex(dialog.kind.findData(TIMED))
    assert dialog.request().execute_time is not None
    dialog.kind.setCurrentIndex(dialog.kind.findData(CONDITIONAL))
    dialog.continuous.setChecked(True)
    conditional = dialog.request()
    assert conditional.continuous and conditional.ready_conditions is not None
    assert conditional.ready_conditions["battery_capacity"] == 80
    dialog.rth.setValue(150)
    dialog.kind.setCurrentIndex(dialog.kind.findData(IMMEDIATE))
    dialog.name.setText("desk flight")
    panel.plan(dialog.request())
    dialog.deleteLater()

    qtbot.waitUntil(lambda: len(dock.sent("flighttask_execute")) == 1, timeout=10000)
    flight_id = dock.sent("flighttask_execute")[0]["bid"]
    assert dock.sent("flighttask_prepare")[0]["data"]["rth_altitude"] == 150
    qtbot.waitUntil(lambda: flight_id in panel.task_rows, timeout=5000)
    dock.event("flighttask_progress", flight_id, progress(flight_id, "in_progress", 42, 1))
    qtbot.waitUntil(lambda: panel.progress_of(flight_id) == 42, timeout=5000)
    assert panel.status_of(flight_id) == "in_progress"

    # Actions go to the dock through the station's command path.
    panel.select_task(flight_id)
    panel.act("pause")
    qtbot.waitUntil(lambda: bool(dock.sent("flighttask_pause")), timeout=5000)
    panel.act("resume")
    qtbot.waitUntil(lambda: bool(dock.sent("flighttask_recovery")), timeout=5000)
    panel.act("return_home")
    qtbot.waitUntil(lambda: bool(dock.sent("return_home")), timeout=5000)
    qtbot.waitUntil(lambda: panel.action_buttons["return_home"].isEnabled(), timeout=5000)
    dock.event("flighttask_progress", flight_id, progress(flight_id, "ok", 100, 2))
    qtbot.waitUntil(lambda: panel.status_of(flight_id) == "ok", timeout=5000)
    assert panel.progress_of(flight_id) == 100
    # Cancelling a finished flight changes nothing on the dock.
    panel.act("cancel")
    qtbot.waitUntil(lambda: panel.action_buttons["cancel"].isEnabled(), timeout=5000)
    assert not dock.sent("flighttask_undo")
    panel.grab().save(str(tmp_path / "missions.png"))


def test_main_window_has_the_missions_panel(
    qtbot: Any, ui_runtime: ThreadedRuntime, tmp_path: Path
) -> None:
    set_language("en")
    bridge = StationBridge(ui_runtime)
    ui = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(bridge, ui_runtime.runtime.station.data_dir, ui_settings=ui)
    qtbot.addWidget(win)
    try:
        assert isinstance(win.panels["missions"], MissionsPanel)
        assert win.docks["missions"].windowTitle() == "Missions"
    finally:
        win.missions.missions.close()
        win.close()
        bridge.close()


def test_selected_route_is_drawn_on_the_map(
    qtbot: Any, panel: MissionsPanel, ui_runtime: ThreadedRuntime
) -> None:
    from gcs.ui.assets import AssetError, leaflet_dir
    from gcs.ui.map_panel import MapPanel

    try:
        leaflet_dir()
    except AssetError as exc:
        pytest.skip(str(exc))
    panel.import_files([ROUTE])
    qtbot.waitUntil(lambda: panel.library.rowCount() == 1, timeout=10000)
    map_panel = MapPanel(panel.bridge, panel.selection)
    qtbot.addWidget(map_panel)
    map_panel.resize(600, 400)
    map_panel.show()
    qtbot.waitUntil(lambda: map_panel.ready, timeout=20_000)
    panel.route_selected.connect(map_panel.show_route)
    panel.library.selectRow(0)
    qtbot.waitUntil(lambda: panel.route_geometry is not None, timeout=5000)
    geometry = panel.route_geometry
    assert geometry is not None and len(geometry["points"]) == 3
    assert geometry["start"] == pytest.approx([48.1899257, 11.4998542], abs=1e-6)
    states: list[dict[str, Any]] = []

    def route_drawn() -> bool:
        map_panel.page_state(states.append)
        return bool(states) and states[-1].get("route") == {"id": geometry["id"], "points": 3}

    qtbot.waitUntil(route_drawn, timeout=10_000)
    map_panel.show_route(None)
    states.clear()
    qtbot.waitUntil(lambda: bool(map_panel.page_state(states.append) or states) and
                    states[-1].get("route") is None, timeout=10_000)  # fmt: skip
    map_panel.close()


def test_return_home_path_on_the_map_and_kmz_dropped_on_the_window(
    qtbot: Any, main_window: MainWindow, peer_dock: RawDock
) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    from gcs.ui.assets import AssetError, leaflet_dir

    try:
        leaflet_dir()
    except AssetError as exc:
        pytest.skip(str(exc))
    if not ROUTE.exists():
        pytest.skip(f"{ROUTE} is not present")
    map_panel = main_window.map
    assert map_panel is not None
    qtbot.waitUntil(lambda: map_panel.ready, timeout=20_000)
    counts: list[int] = []

    def count() -> bool:
        map_panel.run_js("GcsMap.returnPathCount()", lambda n: counts.append(int(n or 0)))
        return bool(counts) and counts[-1] == 1

    peer_dock.event(
        "return_home_info",
        "b-rth",
        {
            "flight_id": "F-rth",
            "last_point_type": 0,
            "planned_path_points": [
                {"latitude": 22.5801, "longitude": 113.9431, "height": 120.0},
                {"latitude": 22.5795, "longitude": 113.9436, "height": 100.0},
                {"latitude": 22.5790, "longitude": 113.9440, "height": 60.0},
            ],
        },
    )
    qtbot.waitUntil(count, timeout=10_000)

    # A KMZ dropped anywhere on the window lands in the wayline library.
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(ROUTE))])
    drop = QDropEvent(
        QPointF(200, 200),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    main_window.dropEvent(drop)
    qtbot.waitUntil(lambda: main_window.missions.library.rowCount() == 1, timeout=10_000)
