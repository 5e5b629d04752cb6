"""Issue 16: no device can act for another, a slow client cannot exhaust the broker, and every
refusal reaches the station (`BrokerProcess.on_event`).

Each test starts its own embedded broker (a child process) so that the serials held, the
topology learned and the events reported belong to that test alone.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from broker_fixtures import *  # noqa: F403  (the pytest fixtures)
from broker_peers import (
    DOCK2_LOGIN,
    PILOT,
    SHARED_DEVICE,
    STATION,
    Peer,
    Target,
    encode_length,
    raw_connect,
    send_huge_publish,
    write_auth,
)

from broker import AuthFile, BrokerProcess, User, hash_password

REFUSED = 0x80
IDENTIFIER_REJECTED = 133  # paho's MQTT 5 form of CONNACK 0x02
TIMEOUT = 10.0


class Events:
    """The refusals a broker child reported, collected from its reader thread."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.items: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.items.append(event)
            self._lock.notify_all()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        with self._lock:
            found: list[dict[str, Any]] = []

            def match() -> bool:
                found[:] = [e for e in self.items if predicate(e)]
                return bool(found)

            assert self._lock.wait_for(match, TIMEOUT), f"no such event in {self.items}"
            return found[0]


class Broker:
    def __init__(self, process: BrokerProcess, events: Events) -> None:
        assert process.port is not None
        self.process = process
        self.events = events
        self.target = Target("embedded", "127.0.0.1", process.port)


@contextlib.contextmanager
def own_broker(folder: Path, **kwargs: Any) -> Iterator[Broker]:
    events = Events()
    process = BrokerProcess(
        write_auth(folder / "broker-auth.json"),
        host="127.0.0.1",
        port=0,
        log_path=folder / "broker.log",
        on_event=events,
        **kwargs,
    )
    process.start()
    try:
        yield Broker(process, events)
    finally:
        process.stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with own_broker(tmp_path) as running:
        yield running


def topo(*subs: str, domain: str = "3") -> bytes:
    return json.dumps(
        {
            "tid": "t",
            "bid": "b",
            "timestamp": 1,
            "method": "update_topo",
            "data": {"domain": domain, "type": 119, "sub_devices": [{"sn": s} for s in subs]},
        }
    ).encode()


def connect_eventually(
    target: Target, client_id: str, login: tuple[str, str], peers: list[Peer]
) -> Peer:
    """Connect, retrying while the broker has not yet seen an older connection end."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        peer = Peer(target, client_id, login)
        peers.append(peer)
        if not peer.connect().is_failure:
            return peer
        assert time.monotonic() < deadline, f"{client_id} never got in"


def sentinel(station: Peer, publisher: Peer, topic: str) -> list[str]:
    """Publish a sentinel on `topic` from `publisher` (after its earlier messages, same
    connection) and return the topics the station received up to it."""
    publisher.publish(topic, b"sentinel")
    return station.received_before(topic)


# -- 1. identity does not hang on the client id ------------------------------------------------


def test_client_id_other_than_the_serial_binds_on_its_update_topo(
    broker: Broker, connect: Any
) -> None:
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("sys/product/+/status", qos=0) == 0
    assert station.subscribe("thing/product/+/osd", qos=0) == 0
    dock = connect(broker.target, "dock-sim-4f2a", SHARED_DEVICE)
    # What a dock subscribes to before it says anything (today: status_reply SUBACK 0x80).
    assert dock.subscribe("sys/product/DOCKX/status_reply") == 1
    assert dock.subscribe("thing/product/DOCKX/services") == 1
    dock.publish("sys/product/DOCKX/status", topo("AIRX"), qos=1)
    assert station.expect("sys/product/DOCKX/status").payload == topo("AIRX")
    dock.publish("thing/product/AIRX/osd", b"aircraft")
    dock.publish("thing/product/DOCKX/osd", b"dock")
    assert station.received_before("thing/product/DOCKX/osd") == [
        "thing/product/AIRX/osd",
        "thing/product/DOCKX/osd",
    ]
    station.publish("sys/product/DOCKX/status_reply", b"reply", qos=1)
    assert dock.expect("sys/product/DOCKX/status_reply").payload == b"reply"
    # Bound now: it cannot speak for a second dock.
    dock.publish("sys/product/DOCKY/status", topo())
    assert "sys/product/DOCKY/status" not in sentinel(station, dock, "thing/product/DOCKX/osd")
    event = broker.events.wait_for(lambda e: e["event"] == "publish_refused")
    assert event["client_id"] == "dock-sim-4f2a" and "DOCKX" in event["message"]


def test_a_config_request_first_also_binds(broker: Broker, connect: Any) -> None:
    # A dock's first message is often its `config` request, before any update_topo.
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("thing/product/+/requests", qos=0) == 0
    assert station.subscribe("thing/product/+/osd", qos=0) == 0
    dock = connect(broker.target, "dock-sim-77", SHARED_DEVICE)
    assert dock.subscribe("thing/product/DOCKZ/requests_reply") == 1
    dock.publish("thing/product/DOCKZ/requests", b'{"method":"config"}', qos=1)
    assert station.expect("thing/product/DOCKZ/requests").payload == b'{"method":"config"}'
    station.publish("thing/product/DOCKZ/requests_reply", b"config reply", qos=1)
    assert dock.expect("thing/product/DOCKZ/requests_reply").payload == b"config reply"
    # An aircraft topic never binds: a fresh connection cannot become AIRZ's gateway.
    other = connect(broker.target, "dock-sim-78", SHARED_DEVICE)
    other.publish("thing/product/AIRZ/osd", b"not a gateway")
    dock.publish("thing/product/DOCKZ/osd", b"sentinel")
    topics = station.received_before("thing/product/DOCKZ/osd")
    assert "thing/product/AIRZ/osd" not in topics


def test_refused_subscription_and_publish_are_reported(broker: Broker, connect: Any) -> None:
    dock = connect(broker.target, "DOCK1", SHARED_DEVICE)
    assert dock.subscribe("thing/product/+/osd") >= REFUSED
    event = broker.events.wait_for(lambda e: e["event"] == "subscribe_refused")
    assert event["topic"] == "thing/product/+/osd" and event["username"] == SHARED_DEVICE[0]
    dock.publish("thing/product/DOCK2/osd", b"forged")
    event = broker.events.wait_for(lambda e: e["event"] == "publish_refused")
    assert event["topic"] == "thing/product/DOCK2/osd"


def test_repeated_refusals_are_reported_once_with_a_count(broker: Broker, connect: Any) -> None:
    dock = connect(broker.target, "DOCK1", SHARED_DEVICE)
    for _ in range(50):
        dock.publish("thing/product/DOCK2/osd", b"forged")
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("thing/product/DOCK1/osd", qos=0) == 0
    sentinel(station, dock, "thing/product/DOCK1/osd")
    refusals = [e for e in broker.events.items if e["event"] == "publish_refused"]
    # One report per REPORT_INTERVAL (5 s) at most: 50 publishes take far less than 45 s.
    assert 1 <= len(refusals) < 10


# -- 2. take-over ------------------------------------------------------------------------------


def test_shared_login_cannot_take_over_a_live_dock(
    broker: Broker, connect: Any, peers: list[Peer]
) -> None:
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("sys/product/+/status", qos=0) == 0
    dock = connect(broker.target, "DOCK1", SHARED_DEVICE)
    assert dock.subscribe("thing/product/DOCK1/services") == 1
    dock.publish("sys/product/DOCK1/status", topo("AIR1"), qos=1)
    intruder = Peer(broker.target, "DOCK1", SHARED_DEVICE)
    peers.append(intruder)
    code = intruder.connect()
    assert code.is_failure and code.value == IDENTIFIER_REJECTED
    event = broker.events.wait_for(lambda e: e["event"] == "takeover_refused")
    assert event["level"] == "error" and event["kind"] == "security" and event["sn"] == "DOCK1"
    # The real dock is still connected and still the one receiving its commands.
    station.publish("thing/product/DOCK1/services", b"still yours", qos=1)
    assert dock.expect("thing/product/DOCK1/services").payload == b"still yours"


def test_pilot_login_never_acts_for_a_dock(broker: Broker, connect: Any, peers: list[Peer]) -> None:
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("sys/product/+/status", qos=0) == 0
    dock = connect(broker.target, "DOCK1", SHARED_DEVICE)
    dock.publish("sys/product/DOCK1/status", topo("AIR1"), qos=1)
    station.expect("sys/product/DOCK1/status")
    # With the dock's serial as client id: refused while the dock is online ...
    intruder = Peer(broker.target, "DOCK1", PILOT)
    peers.append(intruder)
    assert intruder.connect().is_failure
    broker.events.wait_for(lambda e: e["event"] == "takeover_refused")
    # ... and, once the dock is gone, it connects but may not speak for the dock.
    dock.close()
    pilot = connect_eventually(broker.target, "DOCK1", PILOT, peers)
    assert pilot.subscribe("thing/product/DOCK1/services") >= REFUSED
    pilot.publish("sys/product/DOCK1/status", topo("AIR1"))
    # A Pilot login that says it is a dock is not believed either.
    rc = connect(broker.target, "RC7", PILOT)
    rc.publish("sys/product/RC7/status", topo(domain="3"))
    rc.publish("sys/product/RC7/status", topo(domain="2"))  # what an RC says: fine
    got = [station.expect("sys/product/RC7/status").payload]
    assert got == [topo(domain="2")]
    events = [e["event"] for e in broker.events.items]
    assert events.count("publish_refused") + events.count("topology_refused") >= 2


def test_second_session_cannot_claim_a_held_serial(
    broker: Broker, connect: Any, peers: list[Peer]
) -> None:
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("sys/product/+/status", qos=0) == 0
    assert station.subscribe("thing/product/+/osd", qos=0) == 0
    first = connect(broker.target, "dock-a", SHARED_DEVICE)
    first.publish("sys/product/DOCK5/status", topo(), qos=1)
    station.expect("sys/product/DOCK5/status")
    # Another session names the held serial as client id, or claims it with an update_topo.
    second = connect(broker.target, "DOCK5", SHARED_DEVICE)
    third = connect(broker.target, "dock-b", SHARED_DEVICE)
    assert second.subscribe("thing/product/DOCK5/services") >= REFUSED
    second.publish("thing/product/DOCK5/osd", b"second")
    third.publish("sys/product/DOCK5/status", topo("AIR1"))
    third.publish("thing/product/DOCK5/osd", b"third")
    first.publish("thing/product/DOCK5/osd", b"first")
    assert station.expect("thing/product/DOCK5/osd").payload == b"first"
    refused = broker.events.wait_for(
        lambda e: e["event"] == "publish_refused" and e["client_id"] == "dock-b"
    )
    assert refused["kind"] == "security" and "held" in refused["message"]


def test_shared_login_cannot_speak_for_a_serial_with_its_own_login(
    broker: Broker, connect: Any
) -> None:
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("thing/product/+/osd", qos=0) == 0
    shared = connect(broker.target, "DOCK2", SHARED_DEVICE)  # DOCK2 has a per-device login
    shared.publish("thing/product/DOCK2/osd", b"forged")
    own = connect(broker.target, "dock-2", DOCK2_LOGIN)
    own.publish("thing/product/DOCK2/osd", b"real")
    assert station.expect("thing/product/DOCK2/osd").payload == b"real"


def test_per_device_login_replaces_a_shared_session_on_its_serial(
    broker: Broker, connect: Any
) -> None:
    # DOCK3 has no login of its own: the shared login holds it, until DOCK3 is given one.
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("thing/product/DOCK3/osd", qos=0) == 0
    shared = connect(broker.target, "DOCK3", SHARED_DEVICE)
    shared.publish("thing/product/DOCK3/osd", b"shared")
    assert station.expect("thing/product/DOCK3/osd").payload == b"shared"
    # Same hashes for the other logins, or the broker would drop their connections as changed.
    auth = broker.process.auth_path
    data = AuthFile(auth).load()
    own_login = User("dock-DOCK3", hash_password("d3", iterations=1000), "device", "DOCK3")
    AuthFile.write(auth, [*data.users.values(), own_login], data.gateways)
    deadline = time.monotonic() + TIMEOUT
    own = Peer(broker.target, "dock-3", ("dock-DOCK3", "d3"))
    while own.connect().is_failure:  # until the broker re-read the auth file
        assert time.monotonic() < deadline
        own = Peer(broker.target, "dock-3", ("dock-DOCK3", "d3"))
    try:
        event = broker.events.wait_for(lambda e: e["event"] == "takeover")
        assert event["sn"] == "DOCK3" and event["kind"] == "security"
        own.publish("thing/product/DOCK3/osd", b"own")
        assert station.expect("thing/product/DOCK3/osd").payload == b"own"
    finally:
        own.close()


def test_own_login_may_hold_several_connections(broker: Broker, connect: Any) -> None:
    # A dock's main and DRC connections both use its own login: neither closes the other.
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("thing/product/DOCK2/#", qos=0) == 0
    main = connect(broker.target, "DOCK2", DOCK2_LOGIN)
    drc = connect(broker.target, "DOCK2-drc", DOCK2_LOGIN)
    drc.publish("thing/product/DOCK2/drc/up", b"drc")
    assert station.expect("thing/product/DOCK2/drc/up").payload == b"drc"
    drc.close()
    main.publish("thing/product/DOCK2/osd", b"main")
    assert station.expect("thing/product/DOCK2/osd").payload == b"main"
    assert not [e for e in broker.events.items if e["event"] == "takeover"]


def test_silent_connection_can_be_taken_over(tmp_path: Path, connect: Any) -> None:
    # A half-open connection after a network cut: after `idle_takeover` seconds of silence
    # the dock's new connection gets in.
    with own_broker(tmp_path, idle_takeover=0.5) as broker:
        station = connect(broker.target, "station", STATION)
        assert station.subscribe("thing/product/DOCK1/osd", qos=0) == 0
        stale = raw_connect(broker.target.port, "DOCK1", SHARED_DEVICE, keepalive=60)
        try:
            deadline = time.monotonic() + TIMEOUT
            while True:
                again = Peer(broker.target, "DOCK1", SHARED_DEVICE)
                if not again.connect().is_failure:
                    break
                assert time.monotonic() < deadline
            again.publish("thing/product/DOCK1/osd", b"back")
            assert station.expect("thing/product/DOCK1/osd").payload == b"back"
            again.close()
        finally:
            stale.close()


# -- 3. aircraft theft -------------------------------------------------------------------------


def test_aircraft_of_an_online_dock_cannot_be_claimed(broker: Broker, connect: Any) -> None:
    station = connect(broker.target, "station", STATION)
    assert station.subscribe("thing/product/+/osd", qos=0) == 0
    assert station.subscribe("sys/product/+/status", qos=0) == 0
    dock1 = connect(broker.target, "DOCK1", SHARED_DEVICE)
    dock1.publish("sys/product/DOCK1/status", topo("AIR1"), qos=1)
    station.expect("sys/product/DOCK1/status")
    thief = connect(broker.target, "DOCK9", SHARED_DEVICE)
    thief.publish("sys/product/DOCK9/status", topo("AIR1"))
    thief.publish("sys/product/DOCK9/status", topo("DOCK1"))  # a gateway is no sub-device
    thief.publish("thing/product/AIR1/osd", b"stolen")
    topics = sentinel(station, thief, "thing/product/DOCK9/osd")
    assert "sys/product/DOCK9/status" not in topics and "thing/product/AIR1/osd" not in topics
    dock1.publish("thing/product/AIR1/osd", b"real")
    assert station.expect("thing/product/AIR1/osd").payload == b"real"
    event = broker.events.wait_for(lambda e: e["event"] == "topology_refused")
    assert event["level"] == "error" and "AIR1" in event["message"] and event["sn"] == "DOCK9"
    # Once DOCK1 is offline the aircraft may move.
    dock1.close()
    deadline = time.monotonic() + TIMEOUT
    while True:
        thief.publish("sys/product/DOCK9/status", topo("AIR1"))
        if "sys/product/DOCK9/status" in sentinel(station, thief, "thing/product/DOCK9/osd"):
            break
        assert time.monotonic() < deadline  # DOCK1's connection is not gone yet
    thief.publish("thing/product/AIR1/osd", b"moved")
    assert station.expect("thing/product/AIR1/osd").payload == b"moved"


# -- 4. a client that does not read at QoS 1 ---------------------------------------------------


@pytest.mark.slow
def test_qos1_non_reader_is_bounded_then_dropped(tmp_path: Path, connect: Any) -> None:
    with own_broker(tmp_path, stall_timeout=1.0) as broker:
        assert broker.process.pid is not None
        rss = psutil.Process(broker.process.pid).memory_info
        before = rss().rss
        sock = raw_connect(broker.target.port, "DOCK1", SHARED_DEVICE, keepalive=60)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        topic = b"thing/product/DOCK1/osd"
        sub = struct.pack("!H", 1) + struct.pack("!H", len(b"thing/product/DOCK1/#"))
        sub += b"thing/product/DOCK1/#\x01"
        sock.sendall(bytes([0x82]) + encode_length(len(sub)) + sub)
        body = b"x" * 1500
        deadline = time.monotonic() + 60
        packet_id, peak, dropped = 0, before, False
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            packet_id = packet_id % 65535 + 1
            payload = struct.pack("!H", len(topic)) + topic + struct.pack("!H", packet_id) + body
            try:
                sock.sendall(bytes([0x32]) + encode_length(len(payload)) + payload)
            except TimeoutError:
                pass  # the broker stopped reading us: TCP flow control
            except OSError:
                dropped = True
                break
            if packet_id % 200 == 0:
                peak = max(peak, rss().rss)
                if any(e["event"] == "session_dropped" for e in broker.events.items):
                    dropped = True
                    break
        sock.close()
        assert dropped, "the broker never dropped the client that does not read"
        event = broker.events.wait_for(lambda e: e["event"] == "session_dropped")
        assert event["client_id"] == "DOCK1"
        assert peak - before < 60e6, f"RSS grew {(peak - before) / 1e6:.0f} MB"
        # The broker is responsive: a new device connects and its messages flow.
        station = connect(broker.target, "station", STATION)
        assert station.subscribe("thing/product/DOCK2/osd", qos=1) == 1
        dock = connect(broker.target, "DOCK2", DOCK2_LOGIN)
        dock.publish("thing/product/DOCK2/osd", b"after", qos=1)
        assert station.expect("thing/product/DOCK2/osd").payload == b"after"


# -- 5. maximum packet size --------------------------------------------------------------------


@pytest.mark.parametrize("mqtt5", [False, True], ids=["mqtt311", "mqtt5"])
def test_oversized_publish_is_refused_early(broker: Broker, mqtt5: bool) -> None:
    started = time.monotonic()
    sent = send_huge_publish(broker.target.port, 100 * 1024 * 1024, mqtt5=mqtt5)
    assert sent < 20 * 1024 * 1024, f"{sent} bytes were read before the refusal"
    event = broker.events.wait_for(lambda e: e["event"] == "packet_too_large")
    assert event["size"] >= 100 * 1024 * 1024 and event["client_id"] == "DOCK1"
    assert time.monotonic() - started < TIMEOUT


def test_packet_just_under_the_limit_is_delivered(tmp_path: Path, connect: Any) -> None:
    with own_broker(tmp_path, max_packet_size=256 * 1024) as broker:
        station = connect(broker.target, "station", STATION)
        assert station.subscribe("thing/product/DOCK1/osd", qos=1) == 1
        dock = connect(broker.target, "DOCK1", SHARED_DEVICE)
        big = b"y" * (256 * 1024 - 100)
        dock.publish("thing/product/DOCK1/osd", big, qos=1)
        assert station.expect("thing/product/DOCK1/osd").payload == big
        dock.publish("thing/product/DOCK1/osd", big + b"z" * 200, qos=0)
        broker.events.wait_for(lambda e: e["event"] == "packet_too_large")
