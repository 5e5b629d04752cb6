"""MQTT 5 clients on amqtt 0.12.1 (which speaks MQTT 3.1.1 only), by translating packets.

Theory of operation
-------------------
A connection whose CONNECT says protocol level 5 gets a `Mqtt5Translator`. Every packet the
client sends is rewritten to its MQTT 3.1.1 form before amqtt reads it (`inbound`), and every
packet amqtt writes is rewritten to its MQTT 5 form before it goes out (`outbound`). Sans-IO:
bytes in, bytes out; the broker's reader/writer adapters do the I/O.

What an MQTT 5 client gets: connect/auth (CONNACK reason codes), publish/subscribe at QoS 0-2,
retained messages, wills, clean start, unsubscribe (one reason code per filter), SUBACK
failure 0x87 (not authorised) for refused filters. What it does not get, all announced in the
CONNACK where MQTT 5 allows it: properties are dropped (user properties, response topic,
correlation data, message expiry, content type); no topic aliases (Topic Alias Maximum 0: a
client that sends one is disconnected); no shared subscriptions and no subscription identifiers
(both announced unavailable); subscription options other than QoS (no-local, retain as
published, retain handling) are ignored; a session expiry interval > 0 makes a persistent
session (kept like an MQTT 3.1.1 ``clean_session=0`` one), 0 or absent a clean one; a client's
Maximum Packet Size is not enforced; enhanced authentication (AUTH) is refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["ConnectInfo", "Mqtt5Error", "Mqtt5Translator", "connect_to_v311", "encode_varint"]

CONNACK_V311_TO_V5 = {0: 0x00, 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87}
SUBACK_REFUSED_V5 = 0x87  # not authorised
DISCONNECT_WITH_WILL = 0x04

# CONNACK properties: shared subscriptions and subscription identifiers unavailable.
_PROP_ASSIGNED_CLIENT_ID = 0x12
_PROP_TOPIC_ALIAS = 0x23
_PROP_SESSION_EXPIRY = 0x11
_CONNACK_PROPERTIES = bytes([0x2A, 0, 0x29, 0])


class Mqtt5Error(ValueError):
    """The client broke MQTT 5 (or used something this broker refuses): close the connection."""


def encode_varint(value: int) -> bytes:
    """Encode an MQTT variable byte integer."""
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value, multiplier = 0, 1
    for _ in range(4):
        if position >= len(data):
            raise Mqtt5Error("truncated variable byte integer")
        byte = data[position]
        position += 1
        value += (byte & 0x7F) * multiplier
        if not byte & 0x80:
            return value, position
        multiplier *= 128
    raise Mqtt5Error("variable byte integer longer than 4 bytes")


def _read_text(data: bytes, position: int) -> tuple[bytes, int]:
    if position + 2 > len(data):
        raise Mqtt5Error("truncated string")
    (length,) = struct.unpack_from("!H", data, position)
    end = position + 2 + length
    if end > len(data):
        raise Mqtt5Error("truncated string")
    return data[position + 2 : end], end


def _text(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


def _properties(data: bytes, position: int) -> tuple[dict[int, bytes], int]:
    """Return {identifier: raw value of the first occurrence} and the position after them."""
    length, position = _read_varint(data, position)
    end = position + length
    if end > len(data):
        raise Mqtt5Error("truncated properties")
    found: dict[int, bytes] = {}
    while position < end:
        identifier = data[position]
        position += 1
        start = position
        if identifier in (0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A):  # byte
            position += 1
        elif identifier in (0x13, 0x21, 0x22, 0x23):  # two-byte integer
            position += 2
        elif identifier in (0x02, 0x11, 0x18, 0x27):  # four-byte integer
            position += 4
        elif identifier == 0x0B:  # subscription identifier: variable byte integer
            _, position = _read_varint(data, position)
        elif identifier in (0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F):  # text/binary
            _, position = _read_text(data, position)
        elif identifier == 0x26:  # user property: string pair
            _, position = _read_text(data, position)
            _, position = _read_text(data, position)
        else:
            raise Mqtt5Error(f"unknown property 0x{identifier:02x}")
        found.setdefault(identifier, data[start:position])
    if position != end:
        raise Mqtt5Error("properties overrun their length")
    return found, end


@dataclass
class ConnectInfo:
    """What the translation of a CONNECT needs to remember."""

    empty_client_id: bool


def connect_to_v311(body: bytes) -> tuple[bytes, ConnectInfo]:
    """Rewrite an MQTT 5 CONNECT body (after the fixed header) as an MQTT 3.1.1 one.

    Returns:
        The 3.1.1 body and what the CONNACK translation needs.

    Raises:
        Mqtt5Error: malformed.
    """
    name, position = _read_text(body, 0)
    if name != b"MQTT" or position >= len(body) or body[position] != 5:
        raise Mqtt5Error("not an MQTT 5 CONNECT")
    if position + 4 > len(body):
        raise Mqtt5Error("truncated CONNECT")
    flags = body[position + 1]
    keepalive = body[position + 2 : position + 4]
    properties, position = _properties(body, position + 4)
    expiry_raw = properties.get(_PROP_SESSION_EXPIRY)
    expiry = struct.unpack("!I", expiry_raw)[0] if expiry_raw else 0
    client_id, position = _read_text(body, position)
    payload = _text(client_id)
    if flags & 0x04:  # will
        _, position = _properties(body, position)  # will properties: dropped
        will_topic, position = _read_text(body, position)
        will_message, position = _read_text(body, position)
        payload += _text(will_topic) + _text(will_message)
    if flags & 0x80:
        username, position = _read_text(body, position)
        payload += _text(username)
    if flags & 0x40:
        password, position = _read_text(body, position)
        payload += _text(password)
    if expiry == 0:
        flags |= 0x02  # nothing survives the connection: a clean session in 3.1.1 terms
    v311 = _text(b"MQTT") + bytes([4, flags]) + keepalive + payload
    return v311, ConnectInfo(empty_client_id=not client_id)


@dataclass
class Mqtt5Translator:
    """Per-connection rewriting between an MQTT 5 client and the 3.1.1 broker core."""

    info: ConnectInfo
    assigned_client_id: str | None = None
    _unsubscribe_counts: dict[int, int] = field(default_factory=dict)
    _outgoing: bytearray = field(default_factory=bytearray)

    # -- client -> broker

    def inbound(self, first: int, body: bytes) -> bytes | None:
        """Return the 3.1.1 packet for one MQTT 5 packet from the client.

        Returns:
            The bytes to give amqtt, or None when the connection should end as if it dropped
            (DISCONNECT with reason "disconnect with will": the will must be published).

        Raises:
            Mqtt5Error: protocol error or a refused feature (topic alias, AUTH).
        """
        kind = first >> 4
        if kind == 3:
            return self._publish_in(first, body)
        if kind in (4, 5, 6, 7):  # PUBACK, PUBREC, PUBREL, PUBCOMP: keep the packet id only
            if len(body) < 2:
                raise Mqtt5Error("acknowledgement without packet id")
            return _packet(first, body[:2])
        if kind == 8:
            return _packet(first, self._subscribe_in(body))
        if kind == 10:
            return _packet(first, self._unsubscribe_in(body))
        if kind == 14:
            if body and body[0] == DISCONNECT_WITH_WILL:
                return None
            return _packet(first, b"")
        if kind == 15:
            raise Mqtt5Error("enhanced authentication (AUTH) is not supported")
        return _packet(first, body)  # PINGREQ, and anything amqtt itself must refuse

    def _publish_in(self, first: int, body: bytes) -> bytes:
        topic, position = _read_text(body, 0)
        head = _text(topic)
        if (first >> 1) & 0x03:
            head += body[position : position + 2]
            position += 2
        properties, position = _properties(body, position)
        if _PROP_TOPIC_ALIAS in properties:
            raise Mqtt5Error("topic alias used although Topic Alias Maximum is 0")
        return _packet(first, head + body[position:])

    def _subscribe_in(self, body: bytes) -> bytes:
        packet_id = body[:2]
        _, position = _properties(body, 2)
        out = bytearray(packet_id)
        while position < len(body):
            topic_filter, position = _read_text(body, position)
            if position >= len(body):
                raise Mqtt5Error("subscription without options")
            out += _text(topic_filter) + bytes([body[position] & 0x03])
            position += 1
        return bytes(out)

    def _unsubscribe_in(self, body: bytes) -> bytes:
        packet_id = body[:2]
        _, position = _properties(body, 2)
        filters = body[position:]
        count, cursor = 0, 0
        while cursor < len(filters):
            _, cursor = _read_text(filters, cursor)
            count += 1
        self._unsubscribe_counts[struct.unpack("!H", packet_id)[0]] = count
        return packet_id + filters

    # -- broker -> client

    def outbound(self, data: bytes) -> bytes:
        """Rewrite what amqtt wrote (any split of whole or partial packets) for the client."""
        self._outgoing += data
        out = bytearray()
        buffer = self._outgoing
        position = 0
        while position + 2 <= len(buffer):
            try:
                length, start = _read_varint(bytes(buffer[position + 1 : position + 5]), 0)
            except Mqtt5Error:
                break  # length bytes not all here yet
            start += position + 1
            end = start + length
            if end > len(buffer):
                break
            out += self._packet_out(buffer[position], bytes(buffer[start:end]))
            position = end
        del buffer[:position]
        return bytes(out)

    def _packet_out(self, first: int, body: bytes) -> bytes:
        kind = first >> 4
        if kind == 2:  # CONNACK
            code = CONNACK_V311_TO_V5.get(body[1], 0x80)
            properties = _CONNACK_PROPERTIES
            if self.info.empty_client_id and self.assigned_client_id and code == 0:
                properties += bytes([_PROP_ASSIGNED_CLIENT_ID]) + _text(
                    self.assigned_client_id.encode()
                )
            return _packet(
                first, bytes([body[0], code]) + encode_varint(len(properties)) + properties
            )
        if kind == 3:  # PUBLISH: no properties
            topic_end = 2 + struct.unpack_from("!H", body, 0)[0]
            if (first >> 1) & 0x03:
                topic_end += 2
            return _packet(first, body[:topic_end] + b"\x00" + body[topic_end:])
        if kind == 9:  # SUBACK
            codes = bytes(SUBACK_REFUSED_V5 if c >= 0x80 else c for c in body[2:])
            return _packet(first, body[:2] + b"\x00" + codes)
        if kind == 11:  # UNSUBACK: one reason code per filter
            count = self._unsubscribe_counts.pop(struct.unpack("!H", body[:2])[0], 1)
            return _packet(first, body[:2] + b"\x00" + b"\x00" * count)
        return _packet(first, body)  # PUBACK/PUBREC/PUBREL/PUBCOMP short forms, PINGRESP


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_varint(len(body)) + body
