"""The embedded broker dies: the station restarts it, its MQTT link reconnects and resubscribes,
devices reconnect, and what the station acknowledged before (a binding) is still there.

Nothing here sleeps: the dock waits for its own SUBACKs, and for the station's resubscription
the test waits for the station's events log to say "MQTT link connected" a second time (the link
logs it only once the broker acknowledged its subscriptions)."""

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
from waits import Subacks, link_ups, wait_until

DOCK = "7CTDM3D00RESTART"


class Dock:
    """A raw dock client that resubscribes on every connection, as real docks do.

    `wait_subscribed(n)` returns once the `n`-th connection's subscription is acknowledged."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connects = 0
        self.disconnects = 0
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DOCK)
        self.subacks = Subacks(self.c)
        self.c.username_pw_set(user, password)
        self.c.reconnect_delay_set(0.2, 1)
        self.c.on_connect = self._connected
        self.c.on_message = lambda c, u, m: self.inbox.put(json.loads(m.payload))
        self.c.on_disconnect = self._disconnected
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _connected(self, c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
        if not rc.is_failure:
            self.connects += 1
            c.subscribe(f"thing/product/{DOCK}/requests_reply", qos=1)

    def _disconnected(self, c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
        self.disconnects += 1

    def wait_subscribed(self, connection: int, within: float = 30.0) -> None:
        """Wait for the SUBACK of the `connection`-th connection (1 = the first)."""
        self.subacks.wait_count(connection, within)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()

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


def test_station_survives_a_broker_crash(serve: ServeProcess) -> None:
    cred = serve.credentials()
    dock = Dock(serve.mqtt_port, str(cred["username"]), str(cred["password"]))
    dock.wait_subscribed(1, 10)
    # The station's first link-up is in its events log before the crash (so the count below
    # cannot confuse it with the reconnect).
    wait_until(lambda: link_ups(serve.data_dir) == 1, 10, "the station's first link-up logged")
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
    dock.wait_subscribed(2, 30)
    wait_until(
        lambda: link_ups(serve.data_dir) >= 2,
        30,
        "the station's MQTT link to resubscribe after the broker restart",
    )
    # Both ends are subscribed again: the first request is answered.
    reply = dock.request(
        "status-after", "airport_bind_status", json.dumps({"devices": [{"sn": DOCK}]})
    )
    assert reply["data"]["output"]["bind_status"][0]["is_device_bind_organization"] is True
    assert reply["data"]["output"]["bind_status"][0]["device_callsign"] == "Dock R"
    new = [
        p for p in psutil.Process(serve.proc.pid).children() if "broker" in " ".join(p.cmdline())
    ]
    assert len(new) == 1 and new[0].pid != brokers[0].pid
    dock.close()
