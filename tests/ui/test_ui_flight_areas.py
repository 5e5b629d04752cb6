"""The Flight areas panel (issue 14) against a real station and a literal-JSON Dock 2: a toggle
changes the station's area and the station syncs the dock by itself; the dock's
`flight_areas_sync_progress` shows as syncing / synced / failed with the reason in words;
`flight_areas_drone_location` shows as the aircraft's distance; delete asks first; a shape drawn
on the map in flight-area mode becomes an area; the plan dialog asks before a route over a
no-fly area is planned."""

from __future__ import annotations

import json
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from station_harness import SHARED_DATA

from gcs.runtime import ThreadedRuntime
from gcs.station.area_guard import AreaGuard
from gcs.station.maps import Maps
from gcs.station.missions import TIMED
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.flight_areas_panel import COL_ENABLED, FlightAreasPanel
from gcs.ui.i18n import set_language
from gcs.ui.missions_panel import MissionsPanel

ROUTE = SHARED_DATA / "waylines" / "pilot2-waypoint-makeathon.kmz"  # 0-91-1


class Dock2(RawDock):
    """The raw dock plus `flight_areas_get` (answers arrive on requests_reply)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.answers: queue.Queue[dict[str, Any]] = queue.Queue()
        done = threading.Event()
        topic = f"thing/product/{self.sn}/requests_reply"
        self.c.message_callback_add(topic, lambda c, u, m: self.answers.put(json.loads(m.payload)))
        self.c.on_subscribe = lambda *_: done.set()
        self.c.subscribe(topic, qos=1)
        assert done.wait(10)

    def area_file(self) -> dict[str, Any]:
        tid = str(uuid.uuid4())
        self.publish(
            "requests",
            {
                "tid": tid,
                "bid": str(uuid.uuid4()),
                "timestamp": now_ms(),
                "gateway": self.sn,
                "method": "flight_areas_get",
                "data": {},
            },
        )
        while (answer := self.answers.get(timeout=10))["tid"] != tid:
            pass
        [file] = answer["data"]["output"]["files"]
        return {"name": file["name"], "checksum": file["checksum"]}


@pytest.fixture
def dock(ui_runtime: ThreadedRuntime) -> Iterator[Dock2]:
    st = ui_runtime.runtime.station
    st.capability(AreaGuard).debounce_s = 0.3
    s = st.settings
    d = Dock2(st.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.script = lambda dock, cmd: dock.reply(cmd, {"result": 0})
    d.online(aircraft_sub_type=1)
    d.bind(s.station.binding_code, s.station.workspace_id, aircraft_model_key="0-91-1")
    d.osd(mode_code=0, drone_in_dock=1, drone_charge_state={"state": 0, "capacity_percent": 90})
    yield d
    d.close()


@pytest.fixture
def panel(qtbot: Any, ui_runtime: ThreadedRuntime) -> Iterator[FlightAreasPanel]:
    set_language("en")
    bridge = StationBridge(ui_runtime)
    p = FlightAreasPanel(bridge, Selection())
    qtbot.addWidget(p)
    p.resize(760, 520)
    p.show()
    yield p
    p.close()
    bridge.close()


def circle(lon: float, lat: float, radius: float, color: str = "#E23C39") -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"color": color},
        "geometry": {"type": "Circle", "coordinates": [lon, lat], "radius": radius},
    }


def station_areas(rt: ThreadedRuntime) -> dict[str, Any]:
    st = rt.runtime.station
    rows = rt.submit(st.capability(Maps).flight_areas(st.settings.station.workspace_id)).result(5)
    return {e.id: (e, a) for e, a in rows}


def test_panel_toggles_syncs_and_shows_dock_state_and_distance(
    qtbot: Any, ui_runtime: ThreadedRuntime, dock: Dock2, panel: FlightAreasPanel, monkeypatch: Any
) -> None:
    st = ui_runtime.runtime.station
    ws = st.settings.station.workspace_id
    qtbot.waitUntil(lambda: (v := st.registry.view(DOCK)) is not None and v.bound, timeout=10000)
    area_id = str(uuid.uuid4())
    ui_runtime.submit(
        st.capability(Maps).create_flight_area(
            ws,
            area_id=area_id,
            name="Substation",
            area_type="nfz",
            content=circle(113.9436, 22.5775, 120.0),
            user_name="test",
        )
    ).result(5)
    qtbot.waitUntil(lambda: [r["id"] for r in panel.area_rows()] == [area_id], timeout=5000)
    [row] = panel.area_rows()
    assert row["name"] == "Substation" and row["type"] == "No-fly area"
    assert row["shape"] == "circle, 120 m" and row["enabled"] is True

    # the station sends the new file to the dock by itself; the dock reports its progress
    qtbot.waitUntil(lambda: len(dock.sent("flight_areas_update")) == 1, timeout=10000)
    bid = dock.sent("flight_areas_update")[0]["bid"]
    qtbot.waitUntil(lambda: panel.dock_state(DOCK) == "syncing…", timeout=5000)
    file = dock.area_file()
    dock.event(
        "flight_areas_sync_progress", bid, {"status": "synchronizing", "reason": 0, "file": file}
    )
    dock.event(
        "flight_areas_sync_progress", bid, {"status": "synchronized", "reason": 0, "file": file}
    )
    qtbot.waitUntil(lambda: panel.dock_state(DOCK) == "synced", timeout=5000)
    assert file["checksum"] in panel.file_label.text()
    checksum_cell = panel.docks_table.item(0, 3)
    assert checksum_cell is not None and checksum_cell.toolTip() == file["checksum"]
    assert panel.docks_table.item(0, 4).text().count(":") == 2  # type: ignore[union-attr]

    # the operator switches the area off: station state, then one automatic sync
    item = panel.table.item(0, COL_ENABLED)
    assert item is not None
    item.setCheckState(Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: station_areas(ui_runtime)[area_id][1].enabled is False, timeout=5000)
    qtbot.waitUntil(lambda: len(dock.sent("flight_areas_update")) == 2, timeout=10000)
    bid = dock.sent("flight_areas_update")[1]["bid"]
    qtbot.waitUntil(lambda: panel.dock_state(DOCK) == "syncing…", timeout=5000)
    dock.event("flight_areas_sync_progress", bid, {"status": "fail", "reason": 12, "file": file})
    qtbot.waitUntil(
        lambda: panel.dock_state(DOCK) == "failed: the file's checksum did not match", timeout=5000
    )
    shots = os.environ.get("GCS_SCREENSHOTS")
    if shots:
        panel.grab().save(str(Path(shots) / "flight-areas-panel-failed.png"))
    set_language("zh")
    qtbot.waitUntil(lambda: panel.dock_state(DOCK) == "失败：文件校验失败", timeout=5000)
    set_language("en")

    # "Sync now": the operator sends it again at once (no dock selected: every online dock)
    panel.sync_button.click()
    qtbot.waitUntil(lambda: len(dock.sent("flight_areas_update")) == 3, timeout=5000)
    qtbot.waitUntil(lambda: panel.status.text() == f"Sync sent to {DOCK}.", timeout=5000)
    qtbot.waitUntil(lambda: panel.dock_state(DOCK) == "syncing…", timeout=5000)
    if shots:
        panel.grab().save(str(Path(shots) / "flight-areas-panel-syncing.png"))
    bid = dock.sent("flight_areas_update")[2]["bid"]
    file = dock.area_file()
    dock.event(
        "flight_areas_sync_progress", bid, {"status": "synchronized", "reason": 0, "file": file}
    )
    qtbot.waitUntil(lambda: panel.dock_state(DOCK) == "synced", timeout=5000)

    # the aircraft's distance to each area, from the dock's report
    dock.event(
        "flight_areas_drone_location",
        str(uuid.uuid4()),
        {"drone_locations": [{"area_id": area_id, "area_distance": 87.4, "is_in_area": False}]},
        need_reply=0,
    )
    qtbot.waitUntil(lambda: panel.area_rows()[0]["aircraft"].endswith(": 87 m"), timeout=5000)
    assert panel.area_rows()[0]["aircraft"].startswith(("Drone North", AIRCRAFT))
    if shots:
        panel.grab().save(str(Path(shots) / "flight-areas-panel.png"))

    # delete asks first: "No" keeps it, "Yes" removes it
    panel.table.selectRow(0)
    answers = iter([QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: next(answers))
    panel.delete_button.click()
    assert area_id in station_areas(ui_runtime)
    panel.delete_button.click()
    qtbot.waitUntil(lambda: area_id not in station_areas(ui_runtime), timeout=5000)
    qtbot.waitUntil(lambda: panel.area_rows() == [], timeout=5000)


def test_a_drawn_circle_becomes_a_geofence(
    qtbot: Any, ui_runtime: ThreadedRuntime, panel: FlightAreasPanel
) -> None:
    panel.name_edit.setText("Field")
    drawn = {"type": "Circle", "coordinates": [113.94, 22.57], "radius": 250.0}
    panel.create_from_drawing("dfence", json.dumps(drawn))
    qtbot.waitUntil(lambda: len(station_areas(ui_runtime)) == 1, timeout=5000)
    [(element, area)] = station_areas(ui_runtime).values()
    assert element.name == "Field" and area.area_type == "dfence" and area.radius == 250.0
    qtbot.waitUntil(lambda: len(panel.area_rows()) == 1, timeout=5000)
    assert panel.area_rows()[0]["type"] == "Geofence"
    assert "Field created." in panel.status.text()


@pytest.mark.skipif(not ROUTE.is_file(), reason=f"{ROUTE} is not present")
def test_plan_dialog_asks_before_a_route_over_a_no_fly_area(
    qtbot: Any, ui_runtime: ThreadedRuntime, dock: Dock2
) -> None:
    set_language("en")
    st = ui_runtime.runtime.station
    ws = st.settings.station.workspace_id
    bridge = StationBridge(ui_runtime)
    missions = MissionsPanel(bridge, Selection())
    qtbot.addWidget(missions)
    try:
        qtbot.waitUntil(
            lambda: (v := st.registry.view(DOCK)) is not None and v.bound, timeout=10000
        )
        missions.import_files([ROUTE])
        qtbot.waitUntil(lambda: missions.library.rowCount() == 1, timeout=10000)
        ui_runtime.submit(
            st.capability(Maps).create_flight_area(
                ws,
                area_id=str(uuid.uuid4()),
                name="Crane",
                area_type="nfz",
                content=circle(11.499866345, 48.189890255, 10.0),
                user_name="test",
            )
        ).result(5)
        asked: list[list[str]] = []
        replies = iter([False, True])

        def confirm(warnings: Any) -> bool:
            asked.append([w.message_en for w in warnings])
            return next(replies)

        missions.confirm_route_warnings = confirm  # type: ignore[method-assign]
        qtbot.waitUntil(
            lambda: any(v.sn == DOCK and v.bound for v in bridge.devices()), timeout=10000
        )
        dialog = missions.make_plan_dialog()
        assert dialog.dock.currentData() == DOCK
        dialog.kind.setCurrentIndex(dialog.kind.findData(TIMED))
        dialog.name.setText("over the crane")
        request = dialog.request()
        dialog.deleteLater()

        missions.plan(request)  # the operator says no: nothing reaches the dock
        qtbot.waitUntil(
            lambda: "over the crane: not planned" in missions.message.text(), timeout=5000
        )
        assert asked == [["the route crosses no-fly area 'Crane' at waypoints 0, 1, 2"]]
        assert dock.sent("flighttask_prepare") == []

        missions.plan(request)  # the operator says yes: planned
        qtbot.waitUntil(lambda: len(dock.sent("flighttask_prepare")) == 1, timeout=10000)
        assert len(asked) == 2
    finally:
        missions.close()
        bridge.close()
