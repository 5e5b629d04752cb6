"""MQTT 5 clients, on the embedded broker (amqtt core behind a translator) and on mosquitto."""

from __future__ import annotations

import json
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from broker_fixtures import *  # noqa: F403  (the pytest fixtures)
from broker_peers import DOCK2_LOGIN, SHARED_DEVICE, STATION, Peer, Target

V5 = mqtt.MQTTv5
OSD = json.dumps({"tid": "t", "bid": "b", "timestamp": 1, "data": {"mode_code": 0}}).encode()


@pytest.mark.parametrize("qos", [0, 1, 2])
@pytest.mark.parametrize(
    ("station_v", "dock_v"), [(V5, V5), (V5, mqtt.MQTTv311), (mqtt.MQTTv311, V5)]
)
def test_round_trips_between_versions(
    target: Target, connect: Any, qos: int, station_v: int, dock_v: int
) -> None:
    station = connect(target, "station-5", STATION, protocol=station_v)
    assert station.subscribe("thing/product/DOCK1/events", qos=qos) == qos
    dock = connect(target, "DOCK1", SHARED_DEVICE, protocol=dock_v)
    dock.publish("thing/product/DOCK1/events", OSD, qos=qos)
    message = station.expect("thing/product/DOCK1/events")
    assert (message.payload, message.qos) == (OSD, qos)
    # and back down to the device
    assert dock.subscribe("thing/product/DOCK1/services", qos=qos) == qos
    station.publish("thing/product/DOCK1/services", b'{"method":"x"}', qos=qos)
    assert dock.expect("thing/product/DOCK1/services").payload == b'{"method":"x"}'


def test_v5_wrong_password_and_anonymous_refused(target: Target, peers: list[Peer]) -> None:
    wrong = Peer(target, "DOCK1", (SHARED_DEVICE[0], "nope"), protocol=V5)
    anonymous = Peer(target, "DOCK1", None, protocol=V5)
    peers += [wrong, anonymous]
    assert wrong.connect().value in (0x86, 0x87)  # bad user name or password / not authorised
    assert anonymous.connect().value in (0x86, 0x87)


def test_v5_acl(target: Target, connect: Any) -> None:
    dock = connect(target, "DOCK2", DOCK2_LOGIN, protocol=V5)
    assert dock.subscribe("thing/product/DOCK2/#") == 1
    code = dock.subscribe("thing/product/DOCK1/services")
    if target.kind == "embedded":  # mosquitto's acl_file grants every subscription
        assert code == 0x87
    station = connect(target, "station-6", STATION, protocol=V5)
    assert station.subscribe("#", qos=0) == 0
    dock.publish("thing/product/DOCK1/services_reply", b"forged")
    dock.publish("thing/product/DOCK2/osd", b"sentinel")
    assert "thing/product/DOCK1/services_reply" not in station.received_before(
        "thing/product/DOCK2/osd"
    )


def test_v5_will_retained_and_unsubscribe(target: Target, connect: Any) -> None:
    station = connect(target, "station-7", STATION, protocol=V5)
    assert station.subscribe("sys/product/DOCK1/status", qos=1) == 1
    dock = connect(
        target,
        "DOCK1",
        SHARED_DEVICE,
        protocol=V5,
        will=("sys/product/DOCK1/status", b"bye", 1, False),
    )
    dock.drop()
    assert station.expect("sys/product/DOCK1/status").payload == b"bye"
    station.publish("thing/product/DOCK1/property/set", b"kept", qos=1, retain=True)
    late = connect(target, "station-8", STATION, protocol=V5)
    assert late.subscribe("thing/product/DOCK1/property/set") == 1
    message = late.expect("thing/product/DOCK1/property/set")
    assert (message.payload, message.retain) == (b"kept", True)
    station.publish("thing/product/DOCK1/property/set", b"", qos=1, retain=True)
    assert late.expect("thing/product/DOCK1/property/set").payload == b""  # the clearing message
    codes = late.unsubscribe("thing/product/DOCK1/property/set", "thing/product/DOCK1/other")
    assert len(codes) == 2 and all(code in (0, 0x11) for code in codes)  # 0x11: had none
    assert late.subscribe("thing/product/DOCK1/osd") == 1
    station.publish("thing/product/DOCK1/property/set", b"after", qos=1)
    station.publish("thing/product/DOCK1/osd", b"sentinel", qos=1)
    assert "thing/product/DOCK1/property/set" not in late.received_before("thing/product/DOCK1/osd")


def test_v5_empty_client_id_gets_one_assigned(target: Target, connect: Any) -> None:
    station = connect(target, "", STATION, protocol=V5)
    assert station.subscribe("thing/product/DOCK1/osd", qos=0) == 0
    dock = connect(target, "DOCK1", SHARED_DEVICE, protocol=V5)
    dock.publish("thing/product/DOCK1/osd", OSD)
    assert station.expect("thing/product/DOCK1/osd").payload == OSD
