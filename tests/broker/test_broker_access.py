"""Logins and the per-gateway ACL, on the embedded broker and on mosquitto with the generated
config: the same rules must hold on both (`target` runs each test against each)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from broker_fixtures import *  # noqa: F403  (the pytest fixtures)
from broker_peers import DOCK2_LOGIN, PILOT, SHARED_DEVICE, STATION, Peer, Target

REFUSED = 0x80


def test_station_login_accepted(target: Target, connect: Any) -> None:
    connect(target, "station-a", STATION)


def test_wrong_password_refused(target: Target, peers: list[Peer]) -> None:
    peer = Peer(target, "DOCK1", (SHARED_DEVICE[0], "not-the-password"))
    peers.append(peer)
    code = peer.connect()
    assert code.is_failure
    assert code.value in (134, 135)  # bad user name or password / not authorised


def test_unknown_user_refused(target: Target, peers: list[Peer]) -> None:
    peer = Peer(target, "DOCK1", ("nobody", "whatever"))
    peers.append(peer)
    assert peer.connect().is_failure


def test_anonymous_refused(target: Target, peers: list[Peer]) -> None:
    peer = Peer(target, "DOCK1", None)
    peers.append(peer)
    code = peer.connect()
    assert code.is_failure
    assert code.value in (134, 135)


def assert_cannot_read(
    target: Target, reader: Peer, topic_filter: str, topic: str, station: Peer
) -> None:
    """`reader` may not subscribe to `topic_filter`: the embedded broker refuses it in the SUBACK;
    mosquitto's acl_file never refuses a subscription but must not deliver (see README). Either
    way a message the station publishes on `topic` must not reach `reader`."""
    code = reader.subscribe(topic_filter)
    if target.kind == "embedded":
        assert code >= REFUSED, f"{topic_filter} granted"
    own = f"thing/product/{reader.client_id}/services"
    assert reader.subscribe(own) == 1
    station.publish(topic, b"not for you", qos=1)
    station.publish(own, b"sentinel", qos=1)
    assert topic not in reader.received_before(own)[:-1]


def test_dock_subscribes_own_topics(target: Target, connect: Any) -> None:
    dock = connect(target, "DOCK1", SHARED_DEVICE)
    assert dock.subscribe("thing/product/DOCK1/services") == 1
    assert dock.subscribe("thing/product/DOCK1/#") == 1
    assert dock.subscribe("thing/product/DOCK1/+") == 1
    assert dock.subscribe("sys/product/DOCK1/status_reply") == 1
    assert dock.subscribe("thing/product/AIR1/osd") == 1  # its aircraft (gateways map)


@pytest.mark.parametrize(
    ("topic_filter", "topic"),
    [
        ("thing/product/DOCK2/services", "thing/product/DOCK2/services"),
        ("thing/product/DOCK2/#", "thing/product/DOCK2/drc/down"),
        ("thing/product/+/services", "thing/product/DOCK2/services"),
        ("#", "thing/product/DOCK2/services"),
        ("sys/product/+/status_reply", "sys/product/DOCK2/status_reply"),
        ("thing/product/AIR2/#", "thing/product/AIR2/osd"),
    ],
)
def test_dock_cannot_subscribe_other_gateway(
    target: Target, connect: Any, topic_filter: str, topic: str
) -> None:
    station = connect(target, "station-s", STATION)
    # Per-device credentials (DOCK2's login cannot read DOCK1/AIR1) and a client-id-bound
    # login (DOCK1 cannot read DOCK2/AIR2; on mosquitto such a login reads every known
    # aircraft, see broker/README.md, so that one case runs on the embedded broker only).
    dock2 = connect(target, "DOCK2", DOCK2_LOGIN)
    mirrored = topic_filter.replace("DOCK2", "DOCK1").replace("AIR2", "AIR1")
    assert_cannot_read(
        target, dock2, mirrored, topic.replace("DOCK2", "DOCK1").replace("AIR2", "AIR1"), station
    )
    if target.kind == "mosquitto" and "AIR" in topic:
        return
    dock1 = connect(target, "DOCK1", SHARED_DEVICE)
    assert_cannot_read(target, dock1, topic_filter, topic, station)


def test_dock_publish_on_other_gateway_is_not_delivered(target: Target, connect: Any) -> None:
    station = connect(target, "station-b", STATION)
    assert station.subscribe("#", qos=0) == 0
    dock = connect(target, "DOCK2", DOCK2_LOGIN)
    dock.publish("thing/product/DOCK1/services_reply", b'{"forged":1}')
    dock.publish("thing/product/AIR1/osd", b'{"forged":2}')
    dock.publish("sys/product/DOCK1/status", b'{"forged":3}', qos=1)
    dock.publish("thing/product/AIR2/osd", b'{"own aircraft":1}')
    dock.publish("thing/product/DOCK2/osd", b'{"sentinel":1}')
    topics = station.received_before("thing/product/DOCK2/osd")
    assert "thing/product/AIR2/osd" in topics
    assert not [t for t in topics if "DOCK1" in t or "AIR1" in t], topics
    if target.kind == "embedded":  # a shared client-id-bound login, exact on the embedded broker
        dock1 = connect(target, "DOCK1", SHARED_DEVICE)
        dock1.publish("thing/product/AIR2/osd", b'{"forged":4}')
        dock1.publish("thing/product/DOCK1/osd", b'{"sentinel":2}')
        topics = station.received_before("thing/product/DOCK1/osd")
        assert "thing/product/AIR2/osd" not in topics


def test_per_device_login_ignores_claimed_client_id(embedded: Target, connect: Any) -> None:
    # dock-DOCK2 is bound to DOCK2 by its credentials; claiming client id DOCK1 gains nothing
    # (on mosquitto the %c patterns would apply: see broker/README.md).
    dock = connect(embedded, "DOCK1", DOCK2_LOGIN)
    assert dock.subscribe("thing/product/DOCK2/services") == 1
    assert dock.subscribe("thing/product/AIR2/state") == 1
    assert dock.subscribe("thing/product/DOCK1/services") >= REFUSED
    assert dock.subscribe("thing/product/AIR1/state") >= REFUSED


def test_station_sees_every_gateway(target: Target, connect: Any) -> None:
    station = connect(target, "station-c", STATION)
    assert station.subscribe("thing/product/+/osd", qos=0) == 0
    assert station.subscribe("sys/product/+/status", qos=0) == 0
    dock1 = connect(target, "DOCK1", SHARED_DEVICE)
    dock2 = connect(target, "DOCK2", DOCK2_LOGIN)
    dock1.publish("thing/product/DOCK1/osd", b"1")
    dock2.publish("thing/product/DOCK2/osd", b"2")
    dock2.publish("sys/product/DOCK2/status", b"3")
    got = {station.expect().topic for _ in range(3)}
    assert got == {"thing/product/DOCK1/osd", "thing/product/DOCK2/osd", "sys/product/DOCK2/status"}
    station.publish(
        "thing/product/DOCK1/services", b"cmd", qos=1
    )  # the station may publish anywhere


def test_pilot_bound_to_its_rc_client_id(target: Target, connect: Any) -> None:
    station = connect(target, "station-p", STATION)
    pilot = connect(target, "RC1", PILOT)
    assert pilot.subscribe("thing/product/RC1/services") == 1
    assert_cannot_read(
        target, pilot, "thing/product/DOCK1/services", "thing/product/DOCK1/services", station
    )


def test_dock_receives_commands_for_itself_only(target: Target, connect: Any) -> None:
    dock1 = connect(target, "DOCK1", SHARED_DEVICE)
    assert dock1.subscribe("thing/product/DOCK1/services") == 1
    station = connect(target, "station-d", STATION)
    station.publish("thing/product/DOCK1/services", b'{"method":"debug_mode_open"}', qos=1)
    assert dock1.expect("thing/product/DOCK1/services").payload == b'{"method":"debug_mode_open"}'


def test_update_topo_grants_the_new_aircraft(embedded: Target, connect: Any) -> None:
    # Only the embedded broker learns sub-devices live; mosquitto needs a new ACL file.
    # Gateways DOCK7/DOCK8 are used only here, so the learned topology touches no other test.
    station = connect(embedded, "station-e", STATION)
    assert station.subscribe("thing/product/+/osd", qos=0) == 0
    dock7 = connect(embedded, "DOCK7", SHARED_DEVICE)
    # Before update_topo AIR9 is unclaimed: DOCK7 may subscribe (docks subscribe at connect)
    # but receives nothing, and may not publish as AIR9.
    assert dock7.subscribe("thing/product/AIR9/events") == 1
    station.publish("thing/product/AIR9/events", b'{"early":1}', qos=1)
    dock7.publish("thing/product/AIR9/osd", b'{"unclaimed":1}')
    topo = {
        "tid": "t1",
        "bid": "b1",
        "timestamp": 1,
        "method": "update_topo",
        "data": {"type": 119, "sub_type": 0, "sub_devices": [{"sn": "AIR9", "type": 91}]},
    }
    dock7.publish("sys/product/DOCK7/status", json.dumps(topo), qos=1)
    dock7.publish("thing/product/AIR9/osd", b'{"new aircraft":1}')
    first = station.expect()
    assert first.topic == "thing/product/AIR9/osd" and first.payload == b'{"new aircraft":1}'
    station.publish("thing/product/AIR9/events", b'{"late":1}', qos=1)
    # The first AIR9 message each side sees is the one after the claim, not the early one.
    assert dock7.expect("thing/product/AIR9/events").payload == b'{"late":1}'
    assert dock7.subscribe("thing/product/AIR9/events") == 1
    # The aircraft moves to DOCK8: refused while DOCK7, online, still lists it (issue 16) ...
    dock8 = connect(embedded, "DOCK8", SHARED_DEVICE)
    topo["data"] = {"sub_devices": [{"sn": "AIR9"}, {"sn": "AIR8"}]}
    dock8.publish("sys/product/DOCK8/status", json.dumps(topo), qos=1)
    dock8.publish("thing/product/AIR9/osd", b'{"theft":1}')
    dock7.publish("thing/product/AIR9/osd", b'{"still DOCK7":1}')
    payloads = []
    while not payloads or payloads[-1] != b'{"still DOCK7":1}':
        payloads.append(station.expect("thing/product/AIR9/osd").payload)
    assert b'{"theft":1}' not in payloads
    # ... and allowed once DOCK7 dropped it: then DOCK7 loses it.
    dock7.publish("sys/product/DOCK7/status", json.dumps({**topo, "data": {"sub_devices": []}}))
    dock7.publish("thing/product/DOCK7/osd", b"after the drop")  # same connection: in order
    station.expect("thing/product/DOCK7/osd")
    dock8.publish("sys/product/DOCK8/status", json.dumps(topo), qos=1)
    dock7.publish("thing/product/AIR9/osd", b'{"stale":1}')
    dock8.publish("thing/product/AIR9/osd", b'{"moved":1}')
    payloads = []
    while not payloads or payloads[-1] != b'{"moved":1}':
        payloads.append(station.expect("thing/product/AIR9/osd").payload)
    assert b'{"stale":1}' not in payloads
    # A device cannot teach another gateway's topology: it may not publish there at all.
    dock7.publish("sys/product/DOCK8/status", json.dumps(topo))
    assert dock7.subscribe("thing/product/AIR8/osd") >= REFUSED
