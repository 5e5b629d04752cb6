"""Helpers for the broker tests: test logins, the broker under test, a blocking paho peer."""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from broker import AuthFile, User, hash_password

STATION = ("station", "station-secret")
SHARED_DEVICE = ("devices", "device-secret")  # bound to its client id (= gateway SN)
DOCK2_LOGIN = ("dock-DOCK2", "dock2-secret")  # per-device credentials bound to DOCK2
PILOT = ("pilot", "pilot-secret")
GATEWAYS = {"DOCK1": ["AIR1"], "DOCK2": ["AIR2"], "RC1": []}
TIMEOUT = 5.0


def logins() -> list[tuple[str, str, str, str | None]]:
    """(username, password, role, gateway) of every test login."""
    return [
        (*STATION, "station", None),
        (*SHARED_DEVICE, "device", None),
        (*DOCK2_LOGIN, "device", "DOCK2"),
        (*PILOT, "pilot", None),
    ]


def write_auth(path: Path, extra: list[User] | None = None) -> Path:
    """Write the test auth file (fast hashes keep the suite quick)."""
    users = [
        User(name, hash_password(password, iterations=1000), role, gateway)  # type: ignore[arg-type]
        for name, password, role, gateway in logins()
    ]
    return AuthFile.write(path, users + (extra or []), GATEWAYS)


@dataclass
class Target:
    """A running broker under test."""

    kind: str  # "embedded" or "mosquitto"
    host: str
    port: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(host: str, port: int, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen: {log.read_text()}")


class Peer:
    """A paho-mqtt 2.x client with blocking helpers for tests."""

    def __init__(
        self,
        target: Target,
        client_id: str,
        login: tuple[str, str] | None = None,
        *,
        protocol: int = mqtt.MQTTv311,
        will: tuple[str, bytes, int, bool] | None = None,
        keepalive: int = 30,
        clean: bool = True,
    ) -> None:
        self.target = target
        self.client_id = client_id
        self.keepalive = keepalive
        kwargs: dict[str, Any] = {}
        if protocol != mqtt.MQTTv5:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, **kwargs
        )
        if login is not None:
            self.client.username_pw_set(*login)
        if will is not None:
            topic, payload, qos, retain = will
            self.client.will_set(topic, payload, qos, retain)
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connack: queue.Queue[ReasonCode] = queue.Queue()
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._suback_event = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_unsubscribe = self._on_subscribe  # same shape: (mid, reason codes)
        self.client.on_connect_fail = lambda c, u: self._connack.put(
            ReasonCode(mqtt.PacketTypes.CONNACK, identifier=136)
        )
        # A disconnect before any CONNACK (e.g. a CONNACK paho cannot parse) is a refusal too.
        self.client.on_disconnect = lambda c, u, f, code, p: self._connack.put(
            code if code.is_failure else ReasonCode(mqtt.PacketTypes.CONNACK, identifier=136)
        )

    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, code: ReasonCode, props: Any
    ) -> None:
        self._connack.put(code)

    def _on_subscribe(
        self, client: Any, userdata: Any, mid: int, codes: list[ReasonCode], props: Any
    ) -> None:
        with self._suback_event:
            self._subacks[mid] = codes
            self._suback_event.notify_all()

    def connect(self) -> ReasonCode:
        """Connect and return the CONNACK reason code (a failure code when refused)."""
        self.client.connect(self.target.host, self.target.port, keepalive=self.keepalive)
        self.client.loop_start()
        try:
            code = self._connack.get(timeout=TIMEOUT)
        except queue.Empty:
            code = ReasonCode(mqtt.PacketTypes.CONNACK, identifier=136)
        if code.is_failure:
            self.client.loop_stop()
        return code

    def subscribe(self, topic: str, qos: int = 1) -> int:
        """Subscribe and return the SUBACK code (0-2 granted QoS, >= 0x80 refused)."""
        result, mid = self.client.subscribe(topic, qos)
        assert result == mqtt.MQTT_ERR_SUCCESS
        with self._suback_event:
            assert self._suback_event.wait_for(lambda: mid in self._subacks, TIMEOUT)
            return int(self._subacks[mid][0].value)

    def unsubscribe(self, *topics: str) -> list[int]:
        """Unsubscribe and return the UNSUBACK reason codes (MQTT 5: one per filter)."""
        result, mid = self.client.unsubscribe(list(topics))
        assert result == mqtt.MQTT_ERR_SUCCESS
        with self._suback_event:
            assert self._suback_event.wait_for(lambda: mid in self._subacks, TIMEOUT)
            return [int(code.value) for code in self._subacks[mid]]

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> None:
        """Publish and, for QoS 1/2, wait until the broker acknowledged it."""
        info = self.client.publish(topic, payload, qos, retain)
        if qos:
            info.wait_for_publish(TIMEOUT)
            assert info.is_published()

    def expect(self, topic: str | None = None) -> mqtt.MQTTMessage:
        """Return the next message (on `topic` if given, others before it are skipped)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no message on {topic or 'any topic'} within {TIMEOUT} s")
            try:
                message = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if topic is None or message.topic == topic:
                return message

    def received_before(self, sentinel_topic: str) -> list[str]:
        """Return the topics received up to and including the message on `sentinel_topic`."""
        topics: list[str] = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                continue
            topics.append(message.topic)
            if message.topic == sentinel_topic:
                return topics
        raise AssertionError(f"sentinel {sentinel_topic} never arrived; got {topics}")

    def close(self) -> None:
        """Disconnect cleanly."""
        self.client.disconnect()
        self.client.loop_stop()

    def drop(self) -> None:
        """Vanish without DISCONNECT (the broker must publish the will)."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def raw_connect(
    port: int,
    client_id: str,
    login: tuple[str, str],
    keepalive: int,
    will: tuple[str, bytes] | None = None,
) -> socket.socket:
    """A hand-made MQTT 3.1.1 CONNECT (no client library: it must be able to stay silent)."""

    def text(value: str | bytes) -> bytes:
        data = value.encode() if isinstance(value, str) else value
        return struct.pack("!H", len(data)) + data

    flags = 0x02 | 0x80 | 0x40 | (0x04 if will else 0)
    body = text("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + text(client_id)
    if will:
        body += text(will[0]) + text(will[1])
    body += text(login[0]) + text(login[1])
    sock = socket.create_connection(("127.0.0.1", port), 5)
    sock.sendall(bytes([0x10]) + encode_length(len(body)) + body)
    assert sock.recv(4) == b"\x20\x02\x00\x00"
    return sock


def encode_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def send_huge_publish(port: int, size: int, *, mqtt5: bool) -> int:
    """Announce a `size`-byte PUBLISH and stream it; return the bytes sent before the broker
    closed the connection (or all of them)."""
    if mqtt5:
        body = struct.pack("!H", 4) + b"MQTT" + bytes([5, 0xC2]) + struct.pack("!H", 60)
        body += b"\x00" + struct.pack("!H", 5) + b"DOCK1"
        for text in SHARED_DEVICE:
            body += struct.pack("!H", len(text)) + text.encode()
        sock = socket.create_connection(("127.0.0.1", port), 5)
        sock.sendall(b"\x10" + encode_length(len(body)) + body)
        assert sock.recv(64)[:1] == b"\x20"
    else:
        sock = raw_connect(port, "DOCK1", SHARED_DEVICE, keepalive=60)
    topic = b"thing/product/DOCK1/osd"
    header = struct.pack("!H", len(topic)) + topic + (b"\x00" if mqtt5 else b"")
    sent = 0
    sock.settimeout(5)
    chunk = b"x" * 65536
    try:
        sock.sendall(b"\x30" + encode_length(len(header) + size) + header)
        while sent < size:
            sock.sendall(chunk)
            sent += len(chunk)
        sock.recv(1)  # all sent: did the broker at least close it?
    except (OSError, TimeoutError):
        pass
    finally:
        sock.close()
    return sent
