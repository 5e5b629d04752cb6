"""The window against a hand-written dock (paho + literal wire JSON, no project code on the
device side): the fleet tree and device panels show exactly what it sent, in §3's units; and
a stalled GUI does not delay the station's replies."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from PySide6.QtCore import QSettings

from gcs.runtime import ThreadedRuntime
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import set_language
from gcs.ui.main_window import MainWindow

DOCK = "7CTDM3D00BVUIRW"
DRONE = "1581F6Q8D24A0UIR"

TOPO = (
    '{"tid":"t-topo","bid":"b-topo","timestamp":1654070968655,"method":"update_topo","data":{'
    '"domain":"3","type":2,"sub_type":0,"device_secret":"s","nonce":"n","thing_version":"1.2.0",'
    '"sub_devices":[{"sn":"' + DRONE + '","domain":0,"type":91,"sub_type":0,"index":"A",'
    '"device_secret":"s","nonce":"n","thing_version":"1.2.0"}]}}'
)
DOCK_OSD = (
    '{"tid":"t-osd-1","bid":"b-osd-1","timestamp":1654070968655,"gateway":"' + DOCK + '",'
    '"data":{"mode_code":0,"cover_state":1,"putter_state":0,"drone_in_dock":1,'
    '"drone_charge_state":{"state":1,"capacity_percent":76},"environment_temperature":21.5,'
    '"temperature":26.3,"humidity":48,"wind_speed":5.2,"rainfall":2,'
    '"network_state":{"type":2,"quality":5,"rate":512},"storage":{"total":1048576,"used":262144},'
    '"working_voltage":24500,"working_current":1500,'
    '"backup_battery":{"switch":1,"voltage":26000,"temperature":25.0},'
    '"air_conditioner":{"air_conditioner_state":1,"switch_time":0},"flighttask_step_code":5,'
    '"latitude":22.5797,"longitude":113.9436,"height":31.2}}'
)
DRONE_OSD = (
    '{"tid":"t-osd-2","bid":"b-osd-2","timestamp":1654070968655,"gateway":"' + DOCK + '",'
    '"data":{"mode_code":5,"latitude":22.58,"longitude":113.944,"height":131.2,"elevation":100.0,'
    '"attitude_head":90,"attitude_pitch":-3.5,"attitude_roll":1.5,"horizontal_speed":12.3,'
    '"vertical_speed":-0.5,"wind_speed":52,"wind_direction":3,"home_distance":250.5,"gear":1,'
    '"battery":{"capacity_percent":81,"remain_flight_time":1500,"return_home_power":20,'
    '"landing_power":10},"position_state":{"is_fixed":2,"quality":10,"gps_number":18,'
    '"rtk_number":30},"storage":{"total":62914560,"used":31457280}}}'
)


class RawDock:
    def __init__(self, port: int, username: str, password: str) -> None:
        self.inbox: queue.Queue[tuple[str, dict[str, Any], float]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DOCK)
        self.client.username_pw_set(username, password)
        connected: queue.Queue[int] = queue.Queue()
        subscribed: queue.Queue[int] = queue.Queue()
        self.client.on_connect = lambda c, u, f, rc, p: connected.put(rc.value)
        self.client.on_subscribe = lambda c, u, mid, rc, p: subscribed.put(mid)
        self.client.on_message = lambda c, u, m: self.inbox.put(
            (m.topic, json.loads(m.payload), time.monotonic())
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert connected.get(timeout=10) == 0
        self.client.subscribe(
            [(f"sys/product/{DOCK}/status_reply", 1), (f"thing/product/{DOCK}/requests_reply", 1)]
        )
        subscribed.get(timeout=10)

    def send(self, topic: str, text: str) -> None:
        self.client.publish(topic, text.encode(), qos=1).wait_for_publish(5)

    def expect(self, topic: str, timeout: float = 5.0) -> tuple[dict[str, Any], float]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                t, body, at = self.inbox.get(timeout=left)
            except queue.Empty:
                break
            if t == topic:
                return body, at
        raise AssertionError(f"nothing on {topic} within {timeout} s")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def window(qtbot: Any, ui_runtime: ThreadedRuntime, tmp_path: Path) -> Iterator[MainWindow]:
    set_language("en")
    bridge = StationBridge(ui_runtime)
    ui = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    station = ui_runtime.runtime.station
    win = MainWindow(bridge, station.data_dir, ui_settings=ui)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    bridge.close()


@pytest.fixture
def raw_dock(ui_runtime: ThreadedRuntime) -> Iterator[RawDock]:
    s = ui_runtime.runtime.station
    dock = RawDock(s.mqtt_port, s.settings.mqtt.device_username, s.settings.mqtt.device_password)
    dock.send(f"sys/product/{DOCK}/status", TOPO)
    reply, _ = dock.expect(f"sys/product/{DOCK}/status_reply")
    assert reply["data"] == {"result": 0}
    yield dock
    dock.close()


def test_panels_show_what_a_raw_dock_sends(
    qtbot: Any, window: MainWindow, raw_dock: RawDock
) -> None:
    raw_dock.send(f"thing/product/{DOCK}/osd", DOCK_OSD)
    raw_dock.send(f"thing/product/{DRONE}/osd", DRONE_OSD)
    fleet = window.fleet
    qtbot.waitUntil(lambda: fleet.item(DRONE) is not None, timeout=5000)
    qtbot.waitUntil(lambda: fleet.row_texts(DRONE)["Mode"] == "Wayline flight", timeout=5000)
    assert fleet.row_texts(DOCK)["Model"] == "DJI Dock 2"
    assert fleet.row_texts(DOCK)["State"] == "online"
    assert fleet.row_texts(DOCK)["Mode"] == "Idle"
    assert fleet.row_texts(DRONE)["Model"] == "Matrice 3D"
    assert fleet.row_texts(DRONE)["Battery"] == "81 %"
    assert fleet.item(DRONE).parent() is fleet.item(DOCK)  # type: ignore[union-attr]
    # Wait on both numbers: the label may show the gateway before its aircraft (issue 17 #16).
    qtbot.waitUntil(
        lambda: (
            "Gateways online: 1" in window.status.counts.text()
            and "Aircraft online: 1" in window.status.counts.text()
        ),
        timeout=5000,
    )

    window.selection.select(DRONE)
    dock, air = window.dock_panel, window.aircraft_panel
    assert (dock.sn, air.sn) == (DOCK, DRONE)
    assert dock.value("cover") == "Open"
    assert dock.value("drone_in_dock") == "In the dock"
    assert dock.value("charging") == "Yes · 76 %"
    assert dock.value("wind_speed") == "5.2 m/s"  # the dock reports m/s
    assert dock.value("rainfall") == "Moderate rain"
    assert dock.value("env_temperature") == "21.5 °C"
    assert dock.value("humidity") == "48 %RH"
    assert dock.value("storage") == "256.0 MiB of 1.0 GiB (25 %)"  # KB = 1024 bytes
    assert dock.value("network_rate") == "512.0 KiB/s"
    assert dock.value("working_voltage") == "24.50 V"
    assert dock.value("working_current") == "1.50 A"
    assert dock.value("backup_battery") == "On · 26.00 V · 25.0 °C"
    assert dock.value("task_step") == "Idle"

    assert air.value("mode") == "Wayline flight"
    assert air.value("wind") == "5.2 m/s East"  # the aircraft reports 0.1 m/s
    assert air.value("height") == "131.2 m"
    assert air.value("elevation") == "100.0 m"
    assert air.value("horizontal_speed") == "12.3 m/s"
    assert air.value("heading") == "90 °"
    assert air.value("battery") == "81 %"
    assert air.value("flight_time_left") == "25 min 00 s"
    assert air.value("rth_power") == "20 %"
    assert air.value("landing_power") == "10 %"
    assert air.value("gps") == "18"
    assert air.value("rtk") == "30"
    assert air.value("storage") == "30.0 GiB of 60.0 GiB (50 %)"
    assert air.attitude.pitch == -3.5 and air.attitude.roll == 1.5

    # A later partial OSD only changes what it carries (§3: merge, never replace).
    raw_dock.send(
        f"thing/product/{DOCK}/osd",
        '{"tid":"t-osd-3","bid":"b-osd-3","timestamp":1654070969655,"data":{"cover_state":0}}',
    )
    qtbot.waitUntil(lambda: dock.value("cover") == "Closed", timeout=5000)
    assert dock.value("wind_speed") == "5.2 m/s"


def test_events_log_shows_online_and_binding(
    qtbot: Any, window: MainWindow, raw_dock: RawDock
) -> None:
    events = window.events
    qtbot.waitUntil(
        lambda: any(e.kind == "online" and e.sn == DOCK for e in events.entries()), timeout=5000
    )
    events.text.setText(DRONE)
    assert events.entries() and all(DRONE in (e.sn + e.message) for e in events.entries())
    events.text.setText("")
    events.kind.setCurrentIndex(events.kind.findData("broker"))
    # "MQTT link connected" was logged before the window existed: it comes from the database.
    qtbot.waitUntil(lambda: len(events.entries()) > 0, timeout=5000)
    assert all(e.kind == "broker" for e in events.entries())
    assert any("MQTT link connected" in e.message for e in events.entries())


def test_gui_stall_does_not_delay_replies(
    qtbot: Any, window: MainWindow, raw_dock: RawDock
) -> None:
    """Block the Qt thread for 2 s while the dock sends `requests`: replies stay < 200 ms."""
    latencies: list[float] = []
    errors: list[str] = []
    started = threading.Event()

    def dock_side() -> None:
        started.wait(5)
        for i in range(10):
            tid = f"t-stall-{i}"
            t0 = time.monotonic()
            raw_dock.send(
                f"thing/product/{DOCK}/requests",
                '{"tid":"' + tid + '","bid":"b-stall","timestamp":1667803298000,"method":"config",'
                '"data":{"config_type":"json","config_scope":"product"}}',
            )
            try:
                body, at = raw_dock.expect(f"thing/product/{DOCK}/requests_reply", timeout=2)
            except AssertionError as exc:
                errors.append(str(exc))
                continue
            if body["tid"] != tid:
                errors.append(f"reply for {body['tid']} instead of {tid}")
            latencies.append(at - t0)
            raw_dock.send(f"thing/product/{DOCK}/osd", DOCK_OSD)  # keep the bridge busy too
            time.sleep(0.15)

    worker = threading.Thread(target=dock_side)
    worker.start()
    stall_start = time.monotonic()
    started.set()
    time.sleep(2.0)  # the GUI thread is frozen
    stall = time.monotonic() - stall_start
    worker.join(10)
    assert not errors, errors
    assert stall >= 2.0
    assert len(latencies) == 10
    assert max(latencies) < 0.2, latencies
    # and the window catches up afterwards
    qtbot.waitUntil(lambda: window.dock_panel.bridge.counts() == (1, 1), timeout=5000)


def test_callsign_is_edited_in_the_tree(qtbot: Any, window: MainWindow, raw_dock: RawDock) -> None:
    fleet = window.fleet
    qtbot.waitUntil(lambda: fleet.item(DOCK) is not None, timeout=5000)
    item = fleet.item(DOCK)
    assert item is not None
    item.setText(0, "Dock North")  # what an in-place edit does
    qtbot.waitUntil(lambda: window.bridge.device(DOCK).callsign == "Dock North", timeout=5000)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: fleet.row_texts(DOCK)["Name"] == "Dock North", timeout=5000)
    # the filter box keeps a matching device and its parents visible
    fleet.filter.setText("north")
    assert not item.isHidden()
    drone = fleet.item(DRONE)
    assert drone is not None and drone.isHidden()
    fleet.filter.setText("")
    assert not drone.isHidden()


def test_a_flood_of_osd_is_coalesced_to_five_hertz(
    qtbot: Any, window: MainWindow, raw_dock: RawDock
) -> None:
    """50 OSD messages a second reach the widgets at most ~5 times a second, newest last."""
    bridge = window.bridge
    emitted: list[float] = []
    bridge.telemetry_changed.connect(
        lambda sn: emitted.append(time.monotonic()) if sn == DOCK else None
    )
    stop = threading.Event()

    def flood() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            raw_dock.client.publish(
                f"thing/product/{DOCK}/osd",
                '{"tid":"f' + str(i) + '","bid":"b","timestamp":1654070968655,'
                '"data":{"humidity":' + str(i % 100) + "}}",
                qos=0,
            )
            time.sleep(0.02)
        raw_dock.client.publish(
            f"thing/product/{DOCK}/osd",
            '{"tid":"last","bid":"b","timestamp":1654070968655,"data":{"humidity":77}}',
            qos=1,
        ).wait_for_publish(5)

    worker = threading.Thread(target=flood)
    worker.start()
    qtbot.wait(3000)
    stop.set()
    worker.join(5)
    window.selection.select(DOCK)
    qtbot.waitUntil(lambda: window.dock_panel.value("humidity") == "77 %RH", timeout=5000)
    span = emitted[-1] - emitted[0]
    assert len(emitted) >= 5  # it did update while flooded
    assert len(emitted) <= 5 * span + 3, (len(emitted), span)
