"""The station with `--broker` pointing at Debian's mosquitto, configured with the password file
and ACL that `broker.mosquitto` writes: the same end-to-end checks as on the embedded broker."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import test_raw_dock as raw
import test_serve_sim as serve_sim
from paho.mqtt.enums import CallbackAPIVersion
from station_harness import ServeProcess, free_port, start_serve
from test_broker_restart import Dock
from test_raw_dock import DOCK, DRONE, RawDock

from broker.mosquitto import Login, write_config
from gcs.sim import Fleet
from gcs.store.settings import load_settings

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None,
    reason="Debian's mosquitto is not installed (apt-get install mosquitto)",
)

STATION_PASSWORD = "station-secret-for-tests"


class Mosquitto:
    def __init__(self, conf: Path) -> None:
        self.conf = conf
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def _gateways_of_sim_fleet() -> dict[str, list[str]]:
    fleet = Fleet("mqtt://x:y@127.0.0.1:1", docks=3, pilots=1, seed=7)
    return {d.sn: [d.aircraft_sn] for d in fleet.devices}


@pytest.fixture
def mosquitto_station(tmp_path: Path) -> Iterator[tuple[ServeProcess, Mosquitto, int]]:
    data_dir = tmp_path / "station"
    settings = load_settings(data_dir)
    gateways = {DOCK: [DRONE], **_gateways_of_sim_fleet()}
    port = free_port()
    conf = write_config(
        tmp_path / "mosquitto",
        [
            Login("gcs-station", STATION_PASSWORD, "station"),
            Login(settings.mqtt.device_username, settings.mqtt.device_password, "device"),
        ],
        gateways,
        port,
        bind="127.0.0.1",
    )
    mosq = Mosquitto(conf)
    mosq.start(port)
    serve = start_serve(
        data_dir, "--broker", f"mqtt://gcs-station:{STATION_PASSWORD}@127.0.0.1:{port}"
    )
    yield serve, mosq, port
    serve.stop()
    mosq.stop()


def test_onboarding_flow_on_mosquitto(
    mosquitto_station: tuple[ServeProcess, Mosquitto, int],
) -> None:
    serve, _, port = mosquitto_station
    cred = serve.credentials()
    assert cred["mqtt_port"] == port
    dock = RawDock(port, str(cred["username"]), str(cred["password"]))
    dock.cred = cred  # type: ignore[attr-defined]
    try:
        raw.test_onboarding_flow_gets_exact_replies(serve, dock)
    finally:
        dock.close()


def test_fleet_on_mosquitto(
    mosquitto_station: tuple[ServeProcess, Mosquitto, int], tmp_path: Path
) -> None:
    serve, _, _ = mosquitto_station
    serve_sim.test_fleet_onboards_and_telemetry_is_merged_and_kept(serve, tmp_path)


def test_wrong_password_refused_by_mosquitto(
    mosquitto_station: tuple[ServeProcess, Mosquitto, int],
) -> None:
    _, _, port = mosquitto_station
    got: queue.Queue[Any] = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DOCK)
    c.on_connect = lambda cl, u, f, rc, p: got.put(rc)
    c.username_pw_set("dock", "wrong")
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert got.get(timeout=10).is_failure
    c.loop_stop()


def test_station_reconnects_after_mosquitto_restart(
    mosquitto_station: tuple[ServeProcess, Mosquitto, int],
) -> None:
    serve, mosq, port = mosquitto_station
    cred = serve.credentials()
    dock = Dock(port, str(cred["username"]), str(cred["password"]))
    try:
        deadline = time.monotonic() + 10
        while dock.subscribed < 1 and time.monotonic() < deadline:  # the SUBACK, not a pause
            time.sleep(0.05)
        assert dock.request("before", "config", "{}")["data"]["ntp_server_port"] == serve.ntp_port
        mosq.stop()
        time.sleep(1.0)
        mosq.start(port)
        deadline = time.monotonic() + 30
        while dock.connects < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert dock.connects >= 2
        answered = False
        for attempt in range(15):
            try:
                dock.request(f"after-{attempt}", "config", "{}", 2)
                answered = True
                break
            except AssertionError:
                continue
        assert answered, "the station did not resubscribe after mosquitto came back"
    finally:
        dock.c.loop_stop()
        dock.c.disconnect()
