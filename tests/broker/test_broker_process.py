"""The broker as the station runs it: a child process that starts, reports errors, stops, dies
with its parent, re-reads its auth file, drops silent clients, and bounds memory behind a
subscriber that stops reading."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from broker_fixtures import *  # noqa: F403  (the pytest fixtures)
from broker_peers import (
    SHARED_DEVICE,
    STATION,
    Peer,
    Target,
    encode_length,
    raw_connect,
    write_auth,
)

from broker import AuthFile, BrokerProcess, BrokerStartError, User, hash_password

REPO = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker of this test's own (its auth file may be changed freely)."""
    auth = write_auth(tmp_path / "broker-auth.json")
    process = BrokerProcess(auth, host="127.0.0.1", port=0, log_path=tmp_path / "broker.log")
    process.start()
    yield process
    process.stop()


def target_of(process: BrokerProcess) -> Target:
    assert process.port is not None
    return Target("embedded", "127.0.0.1", process.port)


def test_start_stop_restart(own_broker: BrokerProcess) -> None:
    assert own_broker.alive and own_broker.port
    pid, port = own_broker.pid, own_broker.port
    own_broker.stop()
    assert not own_broker.alive
    assert pid is not None and gone(pid)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        pass
    own_broker.restart()
    assert own_broker.alive and own_broker.pid != pid


def test_bad_auth_file_is_reported_with_the_childs_words(tmp_path: Path) -> None:
    auth = tmp_path / "broker-auth.json"
    auth.write_text("{not json")
    process = BrokerProcess(auth, host="127.0.0.1", port=0)
    with pytest.raises(BrokerStartError, match="unreadable"):
        process.start()
    assert not process.alive
    with pytest.raises(BrokerStartError, match="does not exist"):
        BrokerProcess(tmp_path / "missing.json", port=0).start()


def test_busy_port_is_reported(own_broker: BrokerProcess, tmp_path: Path) -> None:
    assert own_broker.port is not None
    second = BrokerProcess(own_broker.auth_path, host="127.0.0.1", port=own_broker.port)
    with pytest.raises(BrokerStartError, match=r"(?i)address already in use|cannot start"):
        second.start()


def test_child_dies_with_its_parent(tmp_path: Path) -> None:
    auth = write_auth(tmp_path / "broker-auth.json")
    script = (
        "import sys, time\n"
        "from broker import BrokerProcess\n"
        "p = BrokerProcess(sys.argv[1], host='127.0.0.1', port=0)\n"
        "p.start()\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(auth)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert not gone(child_pid)
        parent.send_signal(signal.SIGKILL)  # no chance to clean up
        parent.wait(5)
        wait_for(lambda: gone(child_pid), 5.0, "broker child exit after its parent died")
    finally:
        parent.kill()


def test_auth_file_reload_without_restart(
    own_broker: BrokerProcess, connect: Any, peers: list[Peer]
) -> None:
    target = target_of(own_broker)
    newcomer = ("newdock", "new-secret")
    probe = Peer(target, "DOCK5", newcomer)
    peers.append(probe)
    assert probe.connect().is_failure
    dock = connect(target, "DOCK1", SHARED_DEVICE)
    assert dock.subscribe("thing/product/DOCK1/services") == 1
    # The station adds a login and changes the shared device password.
    users = [
        User(STATION[0], hash_password(STATION[1], iterations=1000), "station"),
        User(SHARED_DEVICE[0], hash_password("rotated", iterations=1000), "device"),
        User(newcomer[0], hash_password(newcomer[1], iterations=1000), "device"),
    ]
    AuthFile.write(own_broker.auth_path, users, {"DOCK1": ["AIR1"]})

    def newcomer_accepted() -> bool:
        peer = Peer(target, "DOCK5", newcomer)
        peers.append(peer)
        return not peer.connect().is_failure

    wait_for(newcomer_accepted, 5.0, "new login accepted")
    wait_for(lambda: not dock.client.is_connected(), 5.0, "changed login disconnected")
    stale = Peer(target, "DOCK1", SHARED_DEVICE)
    peers.append(stale)
    assert stale.connect().is_failure
    connect(target, "DOCK1", (SHARED_DEVICE[0], "rotated"))


def test_silent_client_is_dropped_and_its_will_sent(embedded: Target, connect: Any) -> None:
    station = connect(embedded, "station-k", STATION)
    assert station.subscribe("sys/product/DOCK1/status", qos=0) == 0
    sock = raw_connect(
        embedded.port,
        "DOCK1",
        SHARED_DEVICE,
        keepalive=1,
        will=("sys/product/DOCK1/status", b"gone"),
    )
    try:
        started = time.monotonic()
        assert station.expect("sys/product/DOCK1/status").payload == b"gone"
        assert time.monotonic() - started < 4.5  # 1.5 x keep-alive, rounded up
    finally:
        sock.close()


def test_memory_stays_bounded_behind_a_subscriber_that_stops_reading(
    tmp_path: Path, connect: Any
) -> None:
    auth = write_auth(tmp_path / "broker-auth.json")
    bound = 200
    with BrokerProcess(auth, host="127.0.0.1", port=0, max_queued_messages=bound) as process:
        target = target_of(process)
        assert process.pid is not None
        broker_rss = psutil.Process(process.pid).memory_info
        # A subscriber that subscribes to everything and then never reads its socket.
        stalled = raw_connect(target.port, "station-stalled", STATION, keepalive=0)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        topic_filter = b"thing/product/DOCK1/osd"
        subscribe = (
            struct.pack("!H", 1) + struct.pack("!H", len(topic_filter)) + topic_filter + b"\x00"
        )
        stalled.sendall(bytes([0x82]) + encode_length(len(subscribe)) + subscribe)
        assert stalled.recv(5)[:1] == b"\x90"
        reader = connect(target, "station-reader", STATION)
        assert reader.subscribe("thing/product/DOCK1/osd", qos=0) == 0
        dock = connect(target, "DOCK1", SHARED_DEVICE)
        payload = json.dumps({"data": {"x": "y" * 1450}}).encode()
        before = broker_rss().rss
        count = 8000
        for _ in range(count):
            dock.publish("thing/product/DOCK1/osd", payload)
        dock.client.publish("thing/product/DOCK1/osd", b"last", 1).wait_for_publish(30)
        deadline = time.monotonic() + 30
        while reader.expect("thing/product/DOCK1/osd").payload != b"last":
            assert time.monotonic() < deadline
        grown = broker_rss().rss - before
        stalled.close()
    # Unbounded, amqtt keeps every message for the stalled client: > count x 1.5 KB = 12 MB.
    assert grown < 8 * 1024 * 1024, f"broker grew {grown / 1e6:.1f} MB"
    assert "not reading: dropped" in Path(process.log_path or "").read_text()


def test_python_m_gcs_broker_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gcs", "broker", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ},
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "--max-queued" in result.stdout


def test_oversized_connect_is_refused_before_authentication(embedded: Target) -> None:
    sock = socket.create_connection(("127.0.0.1", embedded.port), 5)
    try:
        sock.sendall(b"\x10" + encode_length(1 << 20) + b"\x00\x04MQTT\x04")
        sock.settimeout(5)
        assert sock.recv(16) == b""  # closed without reading a megabyte first
    finally:
        sock.close()
