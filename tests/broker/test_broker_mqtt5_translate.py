"""The MQTT 5 <-> 3.1.1 translation, bytes in and bytes out (no broker)."""

from __future__ import annotations

import struct

import pytest

from broker.mqtt5 import ConnectInfo, Mqtt5Error, Mqtt5Translator, connect_to_v311, encode_varint


def text(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_varint(len(body)) + body


def test_connect_keeps_credentials_and_will_and_drops_properties() -> None:
    properties = (
        bytes([0x11]) + struct.pack("!I", 3600) + bytes([0x21, 0x00, 0x10])
    )  # expiry, rx max
    will_properties = bytes([0x18]) + struct.pack("!I", 5)  # will delay
    flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04  # user, password, will retain, will QoS 1, will
    body = (
        text(b"MQTT")
        + bytes([5, flags])
        + struct.pack("!H", 30)
        + encode_varint(len(properties))
        + properties
        + text(b"DOCK1")
        + encode_varint(len(will_properties))
        + will_properties
        + text(b"sys/w")
        + text(b"gone")
        + text(b"user")
        + text(b"pass")
    )
    v311, info = connect_to_v311(body)
    assert v311 == (
        text(b"MQTT")
        + bytes([4, flags])
        + struct.pack("!H", 30)
        + text(b"DOCK1")
        + text(b"sys/w")
        + text(b"gone")
        + text(b"user")
        + text(b"pass")
    )  # session expiry 3600 > 0: persistent, clean flag stays off
    assert info == ConnectInfo(empty_client_id=False)


def test_connect_without_session_expiry_is_a_clean_session() -> None:
    body = text(b"MQTT") + bytes([5, 0x00]) + b"\x00\x3c" + b"\x00" + text(b"")
    v311, info = connect_to_v311(body)
    assert v311[7] == 0x02 and info.empty_client_id


@pytest.mark.parametrize(
    "body",
    [b"", text(b"MQTT") + bytes([4, 0]), text(b"MQTT") + bytes([5, 0]) + b"\x00\x3c" + b"\x05\x01"],
)
def test_malformed_connect(body: bytes) -> None:
    with pytest.raises(Mqtt5Error):
        connect_to_v311(body)


def translator() -> Mqtt5Translator:
    return Mqtt5Translator(ConnectInfo(empty_client_id=True), assigned_client_id="gen-1")


def test_publish_in_drops_properties_and_refuses_topic_alias() -> None:
    t = translator()
    props = bytes([0x26]) + text(b"k") + text(b"v") + bytes([0x03]) + text(b"application/json")
    body = text(b"a/b") + b"\x00\x07" + encode_varint(len(props)) + props + b"{}"
    assert t.inbound(0x32, body) == packet(0x32, text(b"a/b") + b"\x00\x07" + b"{}")
    alias = text(b"a/b") + b"\x03" + bytes([0x23, 0x00, 0x01]) + b"{}"
    with pytest.raises(Mqtt5Error, match="alias"):
        t.inbound(0x30, alias)


def test_subscribe_unsubscribe_and_acks_in() -> None:
    t = translator()
    sub = b"\x00\x05" + b"\x00" + text(b"a/#") + bytes([0x2D]) + text(b"b") + bytes([0x00])
    assert t.inbound(0x82, sub) == packet(
        0x82, b"\x00\x05" + text(b"a/#") + b"\x01" + text(b"b") + b"\x00"
    )
    unsub = b"\x00\x06" + b"\x00" + text(b"a/#") + text(b"b")
    assert t.inbound(0xA2, unsub) == packet(0xA2, b"\x00\x06" + text(b"a/#") + text(b"b"))
    assert t.inbound(0x40, b"\x00\x09\x10\x00") == packet(0x40, b"\x00\x09")  # PUBACK, reason+props
    assert t.inbound(0xE0, b"\x00\x00") == packet(0xE0, b"")
    assert t.inbound(0xE0, b"\x04") is None  # disconnect with will message
    with pytest.raises(Mqtt5Error):
        t.inbound(0xF0, b"\x00\x00")


def test_outbound_connack_suback_unsuback_publish() -> None:
    t = translator()
    t.inbound(0xA2, b"\x00\x06\x00" + text(b"a") + text(b"b"))
    stream = (
        packet(0x20, b"\x00\x00")  # CONNACK accepted
        + packet(0x90, b"\x00\x05\x01\x80")  # SUBACK: QoS 1, refused
        + packet(0xB0, b"\x00\x06")  # UNSUBACK for the two filters
        + packet(0x32, text(b"a/b") + b"\x00\x07" + b"hi")  # PUBLISH QoS 1
        + packet(0x40, b"\x00\x07")  # PUBACK
    )
    # Delivered in awkward pieces, as a writer may hand them over.
    out = t.outbound(stream[:3]) + t.outbound(stream[3:11]) + t.outbound(stream[11:])
    connack_props = bytes([0x2A, 0, 0x29, 0, 0x12]) + text(b"gen-1")
    assert out == (
        packet(0x20, b"\x00\x00" + encode_varint(len(connack_props)) + connack_props)
        + packet(0x90, b"\x00\x05\x00\x01\x87")
        + packet(0xB0, b"\x00\x06\x00\x00\x00")
        + packet(0x32, text(b"a/b") + b"\x00\x07\x00" + b"hi")
        + packet(0x40, b"\x00\x07")
    )


@pytest.mark.parametrize(("v311", "v5"), [(1, 0x84), (2, 0x85), (4, 0x86), (5, 0x87)])
def test_connack_refusals(v311: int, v5: int) -> None:
    out = translator().outbound(packet(0x20, bytes([0, v311])))
    assert out[3] == v5
