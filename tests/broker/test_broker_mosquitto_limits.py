"""Issue 16's rules on Debian's mosquitto with the configuration `broker.mosquitto` writes: the
maximum packet size, and (per-device logins only) client ids bound to the login so that no
other login can take a dock's connection over."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from broker_fixtures import *  # noqa: F403  (the pytest fixtures)
from broker_peers import (
    STATION,
    Target,
    free_port,
    send_huge_publish,
    wait_port,
)

from broker.auth import AuthFileError
from broker.mosquitto import Login, write_config

pytestmark = pytest.mark.mosquitto


def test_mosquitto_refuses_an_oversized_publish_early(mosquitto: Target) -> None:
    started = time.monotonic()
    sent = send_huge_publish(mosquitto.port, 100 * 1024 * 1024, mqtt5=False)
    assert sent < 20 * 1024 * 1024, f"{sent} bytes were read before the refusal"
    assert time.monotonic() - started < 10


PER_DEVICE = [
    Login("station", "station-secret", "station"),
    Login("dock-DOCK1", "d1", "device", "DOCK1"),
    Login("dock-DOCK2", "d2", "device", "DOCK2"),
]


@pytest.fixture
def bound_mosquitto(tmp_path: Path) -> Iterator[Target]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("Debian's mosquitto is not installed")
    port = free_port()
    gateways = {"DOCK1": ["AIR1"], "DOCK2": ["AIR2"]}
    conf = write_config(
        tmp_path, PER_DEVICE, gateways, port, bind="127.0.0.1", bind_client_ids=True
    )
    log = tmp_path / "mosquitto.log"
    with open(log, "w") as handle:
        process = subprocess.Popen([binary, "-c", str(conf)], stderr=handle, stdout=handle)
    try:
        wait_port("127.0.0.1", port, process, log)
        yield Target("mosquitto", "127.0.0.1", port)
    finally:
        process.terminate()
        process.wait(5)


def test_another_login_cannot_take_over_a_docks_client_id(
    bound_mosquitto: Target, connect: Any
) -> None:
    station = connect(bound_mosquitto, "station", STATION)
    dock2 = connect(bound_mosquitto, "DOCK2", ("dock-DOCK2", "d2"))
    assert dock2.subscribe("thing/product/DOCK2/services") == 1
    connect(bound_mosquitto, "DOCK2", ("dock-DOCK1", "d1"))  # DOCK1's login, DOCK2's client id
    station.publish("thing/product/DOCK2/services", b"still yours", qos=1)
    assert dock2.expect("thing/product/DOCK2/services").payload == b"still yours"


def test_bound_client_ids_need_per_device_logins(tmp_path: Path) -> None:
    shared = [*PER_DEVICE, Login("devices", "pw", "device")]
    with pytest.raises(AuthFileError):
        write_config(tmp_path, shared, {}, 1883, bind_client_ids=True)
    assert "use_username_as_clientid" not in write_config(tmp_path, shared, {}).read_text()
