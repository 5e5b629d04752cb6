"""A station on its own thread and a dock written as literal wire JSON, for domain tests.

The dock is a bare paho client that publishes exactly the JSON of protocol §2/§3/§4 and answers
the station's `services` / `property/set` with whatever a test scripts (a reply, a DJI error,
progress events, silence). Every wait is on a condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from station_harness import free_port

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.store.settings import load_settings

DOCK = "7CTDM3D00BVY2N"
AIRCRAFT = "1581F6Q8D23CT00A0001"


def wait_for[T](probe: Callable[[], T | None], timeout: float = 10.0, what: str = "") -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        time.sleep(0.01)


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedRuntime]:
    data_dir: Path = tmp_path_factory.mktemp("commands")
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    rt = ThreadedRuntime(Runtime(s, data_dir))
    rt.start()
    yield rt
    rt.stop()


Script = Callable[["RawDock", dict[str, Any]], None]


class RawDock:
    """A Dock 2 with its aircraft, in hand-written JSON. `script(dock, command)` answers each
    command the station sends; `received` keeps every command (as decoded JSON)."""

    def __init__(self, port: int, username: str, password: str, sn: str = DOCK) -> None:
        self.sn = sn
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.commands: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []
        self.script: Script | None = None
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=sn)
        self.c.username_pw_set(username, password)
        self.c.on_message = self._on_message
        self.c.on_subscribe = lambda *_: self._subscribed.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.c.subscribe(
            [
                (f"thing/product/{sn}/services", 1),
                (f"thing/product/{sn}/property/set", 1),
                (f"sys/product/{sn}/status_reply", 1),
                (f"thing/product/{sn}/events_reply", 1),
            ]
        )
        if not self._subscribed.wait(10):
            raise AssertionError("the raw dock's subscriptions were not acknowledged")

    def _on_message(self, _c: Any, _u: Any, m: mqtt.MQTTMessage) -> None:
        body = json.loads(m.payload)
        if m.topic.endswith("_reply"):
            with self._lock:
                self.replies.append({"topic": m.topic, **body})
            return
        body["_topic"] = m.topic
        with self._lock:
            self.commands.append(body)
        self.received.put(body)
        if self.script is not None:
            self.script(self, body)

    def sent(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.commands if c.get("method", "property/set") == method]

    def publish(self, kind: str, body: dict[str, Any], *, prefix: str = "thing") -> None:
        self.c.publish(f"{prefix}/product/{self.sn}/{kind}", json.dumps(body), qos=1)

    def online(
        self,
        aircraft: str = AIRCRAFT,
        aircraft_sub_type: int = 0,
        *,
        dock_type: int = 2,
        aircraft_type: int = 91,
    ) -> None:
        """update_topo for the dock (Dock 2, 3-2-0) with its aircraft (M3D 0-91-0; M3TD with
        `aircraft_sub_type` 1); a Dock 3 with its M4D is `dock_type=3, aircraft_type=100`."""
        self.publish(
            "status",
            {
                "tid": str(uuid.uuid4()),
                "bid": str(uuid.uuid4()),
                "timestamp": now_ms(),
                "method": "update_topo",
                "data": {
                    "domain": "3",
                    "type": dock_type,
                    "sub_type": 0,
                    "device_secret": "secret",
                    "nonce": "nonce",
                    "thing_version": "1.1.2",
                    "sub_devices": [
                        {
                            "sn": aircraft,
                            "domain": "0",
                            "type": aircraft_type,
                            "sub_type": aircraft_sub_type,
                            "index": "A",
                            "device_secret": "secret",
                            "nonce": "nonce",
                            "thing_version": "1.1.2",
                        }
                    ]
                    if aircraft
                    else [],
                },
            },
            prefix="sys",
        )

    def bind(
        self,
        binding_code: str,
        workspace_id: str,
        aircraft: str = AIRCRAFT,
        aircraft_model_key: str = "0-91-0",
        dock_model_key: str = "3-2-0",
    ) -> None:
        """airport_organization_bind for the dock and its aircraft (what Pilot's dock wizard
        makes the dock send); the station's answer arrives on requests_reply."""
        self.publish(
            "requests",
            {
                "tid": str(uuid.uuid4()),
                "bid": str(uuid.uuid4()),
                "timestamp": now_ms(),
                "gateway": self.sn,
                "method": "airport_organization_bind",
                "data": {
                    "bind_devices": [
                        {
                            "device_binding_code": binding_code,
                            "organization_id": workspace_id,
                            "device_callsign": "Dock North",
                            "sn": self.sn,
                            "device_model_key": dock_model_key,
                        },
                        {
                            "device_binding_code": binding_code,
                            "organization_id": workspace_id,
                            "device_callsign": "Drone North",
                            "sn": aircraft,
                            "device_model_key": aircraft_model_key,
                        },
                    ]
                },
            },
        )

    def osd(self, **data: Any) -> None:
        self.publish(
            "osd",
            {
                "tid": str(uuid.uuid4()),
                "bid": str(uuid.uuid4()),
                "timestamp": now_ms(),
                "gateway": self.sn,
                "data": data,
            },
        )

    def reply(self, command: dict[str, Any], data: dict[str, Any]) -> None:
        kind = "property/set_reply" if "method" not in command else "services_reply"
        body: dict[str, Any] = {
            "tid": command["tid"],
            "bid": command["bid"],
            "timestamp": now_ms(),
            "gateway": self.sn,
            "data": data,
        }
        if "method" in command:
            body["method"] = command["method"]
        self.publish(kind, body)

    def event(self, method: str, bid: str, data: Any, *, need_reply: int = 1, tid: str = "") -> str:
        tid = tid or str(uuid.uuid4())
        self.publish(
            "events",
            {
                "tid": tid,
                "bid": bid,
                "timestamp": now_ms(),
                "gateway": self.sn,
                "method": method,
                "need_reply": need_reply,
                "data": data,
            },
        )
        return tid

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()
