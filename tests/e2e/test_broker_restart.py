"""The embedded broker dies: the station restarts it, its MQTT link reconnects and resubscribes,
devices reconnect, and what the station acknowledged before (a binding) is still there."""

from __future__ import annotations

import json
import queue
import signal
import time
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion
from station_harness import ServeProcess

DOCK = "7CTDM3D00RESTART"


class Dock:
    """A raw dock client that resubscribes on every connection, as real docks do."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connects = 0
        self.subscribed = 0  # SUBACKs: the reply topic is really subscribed
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DOCK)
        self.c.username_pw_set(user, password)
        self.c.reconnect_delay_set(0.2, 1)
        self.c.on_connect = self._connected
        self.c.on_message = lambda c, u, m: self.inbox.put(json.loads(m.payload))
        self.c.on_subscribe = self._subscribed
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _connected(self, c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
        if not rc.is_failure:
            self.connects += 1
            c.subscribe(f"thing/product/{DOCK}/requests_reply", qos=1)

    def _subscribed(self, *_: Any) -> None:
        self.subscribed += 1

    def request(self, tid: str, method: str, data: str, timeout: float = 5.0) -> dict[str, Any]:
        self.c.publish(
            f"thing/product/{DOCK}/requests",
            f'{{"tid":"{tid}","bid":"b-{tid}","timestamp":1,"method":"{method}","data":{data}}}',
            qos=1,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                body = self.inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            if body.get("tid") == tid:
                return body
        raise AssertionError(f"no reply to {tid}")


def _wait(pred: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_station_survives_a_broker_crash(serve: ServeProcess) -> None:
    cred = serve.credentials()
    dock = Dock(serve.mqtt_port, str(cred["username"]), str(cred["password"]))
    # Wait on the SUBACK, not on the connection and a fixed pause (issue 17 #16).
    _wait(lambda: dock.subscribed == 1, 10)
    code, ws = cred["binding_code"], cred["workspace_id"]
    bind = dock.request(
        "bind-1",
        "airport_organization_bind",
        json.dumps(
            {
                "bind_devices": [
                    {
                        "device_binding_code": code,
                        "organization_id": ws,
                        "device_callsign": "Dock R",
                        "sn": DOCK,
                        "device_model_key": "3-3-0",
                    }
                ]
            }
        ),
    )
    assert bind["data"]["output"]["err_infos"] == [{"sn": DOCK, "err_code": 0}]

    brokers = [
        p for p in psutil.Process(serve.proc.pid).children() if "broker" in " ".join(p.cmdline())
    ]
    assert len(brokers) == 1
    brokers[0].send_signal(signal.SIGKILL)
    brokers[0].wait(5)

    # The station notices within its watchdog period, restarts the broker on the same port, and
    # both the dock and the station's own client reconnect.
    _wait(lambda: dock.subscribed >= 2, 30)
    # The station's link resubscribes after its own reconnect: ask until it answers.
    reply = {}
    for attempt in range(10):
        try:
            reply = dock.request(
                f"status-{attempt}",
                "airport_bind_status",
                json.dumps({"devices": [{"sn": DOCK}]}),
                2,
            )
            break
        except AssertionError:
            continue
    assert reply, "the station never answered after the broker restart"
    assert reply["data"]["output"]["bind_status"][0]["is_device_bind_organization"] is True
    assert reply["data"]["output"]["bind_status"][0]["device_callsign"] == "Dock R"
    new = [
        p for p in psutil.Process(serve.proc.pid).children() if "broker" in " ".join(p.cmdline())
    ]
    assert len(new) == 1 and new[0].pid != brokers[0].pid
    dock.c.loop_stop()
    dock.c.disconnect()
