"""Helpers for simulator tests: Debian's mosquitto on a free port and a hand-written "cloud".

The cloud is deliberately independent of gcs: a plain threaded paho client that answers with
literal JSON written from protocol/dji-cloud-api.md, so a bug shared by the simulator and the
protocol layer cannot hide.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"mosquitto did not listen on {port}")


@dataclass
class Mosquitto:
    port: int
    conf: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://device:secret@127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.port)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


@dataclass
class Seen:
    """One message the cloud received (or sent, for `down`)."""

    topic: str
    payload: dict[str, Any]
    at: float

    @property
    def method(self) -> str | None:
        return self.payload.get("method")

    @property
    def data(self) -> Any:
        return self.payload.get("data")


def _reply(topic: str, p: dict[str, Any], data_json: str, with_method: bool = True) -> str:
    method = f', "method": "{p["method"]}"' if with_method and p.get("method") else ""
    return (
        f'{{"tid": "{p["tid"]}", "bid": "{p["bid"]}", "timestamp": {int(time.time() * 1000)}'
        f'{method}, "data": {data_json}}}'
    )


@dataclass
class Cloud:
    """A minimal third-party cloud: subscribes to everything, answers by the reply rules."""

    port: int
    username: str = ""
    password: str = ""
    tls: bool = False
    answers: dict[str, str] = field(default_factory=dict)  # requests method -> reply data JSON
    messages: list[Seen] = field(default_factory=list)
    answer_state: bool = True
    answer_events: bool = True
    bound: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    client: mqtt.Client | None = None
    # Set once the broker acknowledged the cloud's subscriptions (SUBACK), not at CONNACK: a
    # device started after `start()` returns cannot publish into a gap before the subscription.
    connected: threading.Event = field(default_factory=threading.Event)
    refused: list[str] = field(default_factory=list)

    def start(self) -> None:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-cloud")
        c.on_connect = self._on_connect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        c.on_socket_open = lambda c, u, sock: sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        c.reconnect_delay_set(0.1, 0.5)
        if self.username:
            c.username_pw_set(self.username, self.password)
        if self.tls:
            c.tls_set(cert_reqs=ssl.CERT_NONE)
            c.tls_insecure_set(True)
        c.connect("127.0.0.1", self.port)
        c.loop_start()
        self.client = c
        if not self.connected.wait(5):
            raise RuntimeError(f"test cloud did not subscribe (refused: {self.refused})")

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()

    def _on_connect(self, c: mqtt.Client, u: Any, f: Any, rc: Any, p: Any) -> None:
        c.subscribe([("sys/product/+/status", 1), ("thing/product/#", 1)])

    def _on_subscribe(self, c: mqtt.Client, u: Any, mid: int, codes: Any, p: Any) -> None:
        self.refused = [str(rc) for rc in codes if rc.is_failure]
        if not self.refused:
            self.connected.set()

    def send(self, topic: str, payload: str) -> None:
        assert self.client is not None
        self.client.publish(topic, payload, qos=1)

    def _on_message(self, c: mqtt.Client, u: Any, m: mqtt.MQTTMessage) -> None:
        try:
            p = json.loads(m.payload)
        except ValueError:
            return
        with self.lock:
            self.messages.append(Seen(m.topic, p, time.monotonic()))
        t = m.topic
        if t.endswith(("_reply", "/services", "/property/set", "/drc/down")):
            return
        if t.endswith("/status"):
            self.send(t + "_reply", _reply(t, p, '{"result": 0}'))
        elif t.endswith("/requests"):
            self.send(t + "_reply", _reply(t, p, self._request_answer(p)))
        elif t.endswith("/state") and p.get("need_reply") == 1 and self.answer_state:
            self.send(t + "_reply", _reply(t, p, '{"result": 0}', with_method=False))
        elif t.endswith("/events") and p.get("need_reply") == 1 and self.answer_events:
            self.send(t + "_reply", _reply(t, p, '{"result": 0}'))

    def _request_answer(self, p: dict[str, Any]) -> str:
        method = p.get("method")
        data = p.get("data") or {}
        if method in self.answers:
            return self.answers[method]
        if method == "config":
            return (
                '{"ntp_server_host": "127.0.0.1", "ntp_server_port": 12300, "app_id": "123456",'
                ' "app_key": "app_key", "app_license": "app_license"}'
            )
        if method == "airport_bind_status":
            items = ", ".join(
                f'{{"sn": "{d["sn"]}", "is_device_bind_organization": '
                f'{"true" if self.bound else "false"}, "organization_id": "org-1", '
                f'"organization_name": "Test Org", "device_callsign": "x"}}'
                for d in data.get("devices", [])
            )
            return f'{{"result": 0, "output": {{"bind_status": [{items}]}}}}'
        if method == "airport_organization_get":
            if data.get("device_binding_code") != "qwe":
                return '{"result": 210231}'
            return '{"result": 0, "output": {"organization_name": "Test Org"}}'
        if method == "airport_organization_bind":
            items = ", ".join(
                f'{{"sn": "{d["sn"]}", "err_code": 0}}' for d in data.get("bind_devices", [])
            )
            return f'{{"result": 0, "output": {{"err_infos": [{items}]}}}}'
        return '{"result": 0, "output": {}}'

    # -- queries -----------------------------------------------------------------------------

    def seen(self, pred: Callable[[Seen], bool] = lambda s: True) -> list[Seen]:
        with self.lock:
            return [s for s in self.messages if pred(s)]

    def on(self, topic: str, method: str | None = None) -> list[Seen]:
        return self.seen(lambda s: s.topic == topic and (method is None or s.method == method))

    async def wait(
        self, pred: Callable[[], Any], within: float = 10.0, what: str = "condition"
    ) -> Any:
        """Poll `pred` until it returns something truthy (returned); fail after `within` s."""
        deadline = time.monotonic() + within
        while True:
            value = pred()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    def service(self, gateway: str, method: str, data_json: str = "{}", tid: str = "") -> str:
        """Send a services call with literal JSON; returns its tid (bid = tid + '-b')."""
        tid = tid or f"t-{method}-{time.monotonic_ns()}"
        self.send(
            f"thing/product/{gateway}/services",
            f'{{"tid": "{tid}", "bid": "{tid}-b", "timestamp": {int(time.time() * 1000)}, '
            f'"method": "{method}", "data": {data_json}}}',
        )
        return tid

    async def reply_to(self, gateway: str, tid: str, within: float = 10.0) -> Seen:
        topic = f"thing/product/{gateway}/services_reply"
        found: list[Seen] = await self.wait(
            lambda: self.seen(lambda s: s.topic == topic and s.payload.get("tid") == tid),
            within,
            f"services_reply to {tid}",
        )
        return found[0]
