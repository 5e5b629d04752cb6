"""MQTT behaviour a DJI dock and the station rely on, on both brokers: QoS 0/1/2 round trips,
retained messages, the will on an abrupt disconnect, MQTT 3.1.1 and 5."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from broker_fixtures import *  # noqa: F403  (the pytest fixtures)
from broker_peers import (
    DOCK2_LOGIN,
    SHARED_DEVICE,
    STATION,
    Peer,
    Target,
    encode_length,
    raw_connect,
)

OSD = json.dumps({"tid": "t", "bid": "b", "timestamp": 1, "data": {"mode_code": 0}}).encode()


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_round_trip_at_each_qos(target: Target, connect: Any, qos: int) -> None:
    station = connect(target, "station-q", STATION)
    assert station.subscribe("thing/product/DOCK1/events", qos=qos) == qos
    dock = connect(target, "DOCK1", SHARED_DEVICE)
    dock.publish("thing/product/DOCK1/events", OSD, qos=qos)
    message = station.expect("thing/product/DOCK1/events")
    assert message.payload == OSD
    assert message.qos == qos


def test_delivery_qos_is_the_lower_of_publish_and_subscription(
    target: Target, connect: Any
) -> None:
    station = connect(target, "station-m", STATION)
    assert station.subscribe("thing/product/DOCK1/osd", qos=1) == 1
    dock = connect(target, "DOCK1", SHARED_DEVICE)
    dock.publish("thing/product/DOCK1/osd", OSD, qos=0)
    assert station.expect("thing/product/DOCK1/osd").qos == 0
    dock.publish("thing/product/DOCK1/osd", OSD, qos=2)
    assert station.expect("thing/product/DOCK1/osd").qos == 1


def test_retained_message_reaches_later_subscriber_and_can_be_cleared(
    target: Target, connect: Any
) -> None:
    station = connect(target, "station-r", STATION)
    station.publish("thing/product/DOCK1/property/set", b'{"retained":1}', qos=1, retain=True)
    dock = connect(target, "DOCK1", SHARED_DEVICE)
    assert dock.subscribe("thing/product/DOCK1/property/set") == 1
    message = dock.expect("thing/product/DOCK1/property/set")
    assert (message.payload, message.retain) == (b'{"retained":1}', True)
    station.publish("thing/product/DOCK1/property/set", b"", qos=1, retain=True)  # clears it
    dock.close()
    again = connect(target, "DOCK1", SHARED_DEVICE)
    assert again.subscribe("thing/product/DOCK1/property/set") == 1
    assert again.subscribe("thing/product/DOCK1/services") == 1
    station.publish("thing/product/DOCK1/services", b"sentinel", qos=1)
    assert "thing/product/DOCK1/property/set" not in again.received_before(
        "thing/product/DOCK1/services"
    )


def test_will_is_published_when_a_dock_vanishes(target: Target, connect: Any) -> None:
    station = connect(target, "station-w", STATION)
    assert station.subscribe("sys/product/DOCK1/status", qos=1) == 1
    will = json.dumps({"method": "update_topo", "data": {"sub_devices": []}}).encode()
    dock = connect(
        target, "DOCK1", SHARED_DEVICE, will=("sys/product/DOCK1/status", will, 1, False)
    )
    dock.drop()
    assert station.expect("sys/product/DOCK1/status").payload == will


def test_no_will_after_a_clean_disconnect(target: Target, connect: Any) -> None:
    station = connect(target, "station-n", STATION)
    assert station.subscribe("thing/product/DOCK1/#", qos=1) == 1
    dock = connect(
        target, "DOCK1", SHARED_DEVICE, will=("thing/product/DOCK1/will", b"x", 1, False)
    )
    dock.close()
    other = connect(target, "DOCK1", SHARED_DEVICE)
    other.publish("thing/product/DOCK1/osd", b"sentinel")
    assert "thing/product/DOCK1/will" not in station.received_before("thing/product/DOCK1/osd")


def test_same_client_id_takes_over(target: Target, connect: Any) -> None:
    # A dock that reconnects after a network cut replaces its half-open old connection. With
    # the shared login that is refused while the old connection is live (see test_identity.py);
    # the login bound to the serial may always.
    station = connect(target, "station-t", STATION)
    assert station.subscribe("thing/product/DOCK2/osd", qos=0) == 0
    connect(target, "DOCK2", DOCK2_LOGIN, will=("thing/product/DOCK2/osd", b"will", 0, False))
    second = connect(target, "DOCK2", DOCK2_LOGIN)
    assert station.expect("thing/product/DOCK2/osd").payload == b"will"  # old one was closed
    second.publish("thing/product/DOCK2/osd", b"second")
    assert station.expect("thing/product/DOCK2/osd").payload == b"second"


def test_refused_login_cannot_disturb_the_connected_dock(
    target: Target, connect: Any, peers: list[Peer]
) -> None:
    dock = connect(target, "DOCK1", SHARED_DEVICE)
    assert dock.subscribe("thing/product/DOCK1/services") == 1
    intruder = Peer(target, "DOCK1", (SHARED_DEVICE[0], "wrong"))
    peers.append(intruder)
    assert intruder.connect().is_failure
    station = connect(target, "station-i", STATION)
    station.publish("thing/product/DOCK1/services", b"still here", qos=1)
    assert dock.expect("thing/product/DOCK1/services").payload == b"still here"


def test_messages_right_before_disconnect_are_delivered(target: Target, connect: Any) -> None:
    # amqtt 0.12.1 dropped what was still queued when the DISCONNECT arrived.
    station = connect(target, "station-z", STATION)
    assert station.subscribe("thing/product/DOCK1/events", qos=0) == 0
    sock = raw_connect(target.port, "DOCK1", SHARED_DEVICE, keepalive=60)
    topic = b"thing/product/DOCK1/events"
    packets = b"".join(
        bytes([0x30])
        + encode_length(2 + len(topic) + 4)
        + struct.pack("!H", len(topic))
        + topic
        + b"%04d" % i
        for i in range(300)
    )
    sock.sendall(packets + b"\xe0\x00")  # 300 PUBLISH then DISCONNECT, in one write
    sock.close()
    got = [station.expect("thing/product/DOCK1/events").payload for _ in range(300)]
    assert got == [b"%04d" % i for i in range(300)]


def test_persistent_session_gets_what_it_missed(target: Target, connect: Any) -> None:
    station = connect(target, "station-persist", STATION, clean=False)
    assert station.subscribe("thing/product/DOCK1/events", qos=1) == 1
    station.close()
    dock = connect(target, "DOCK1", SHARED_DEVICE)
    dock.publish("thing/product/DOCK1/events", b"while away", qos=1)
    dock.publish("thing/product/DOCK1/osd", b"qos0 while away", qos=0)  # not kept
    back = connect(target, "station-persist", STATION, clean=False)
    message = back.expect("thing/product/DOCK1/events")
    assert (message.payload, message.retain) == (b"while away", False)
    # clean up the persistent session
    back.close()
    connect(target, "station-persist", STATION, clean=True)
