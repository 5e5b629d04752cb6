"""A hand-written dock (paho + literal JSON strings, no project code) against `gcs serve`.

It walks the documented onboarding flow (protocol §2.3, §6, §1.5) and checks every reply
exactly: topic, tid/bid/method echo, and fields.
"""

from __future__ import annotations

import json
import queue
import socket
import sqlite3
import struct
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

DOCK = "7CTDM3D00BVYRAW"
DRONE = "1581F6Q8D24A0RAW"


class RawDock:
    def __init__(self, port: int, username: str, password: str, client_id: str = DOCK) -> None:
        self.inbox: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.username_pw_set(username, password)
        self.connected: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[int] = queue.Queue()
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.put(rc.value)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put(mid)
        self.client.on_message = lambda c, u, m: self.inbox.put((m.topic, json.loads(m.payload)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connected.get(timeout=10) == 0
        for t in (
            f"sys/product/{DOCK}/status_reply",
            f"thing/product/{DOCK}/requests_reply",
            f"thing/product/{DOCK}/events_reply",
            # Real docks subscribe to their aircraft's topics at connect, before update_topo.
            f"thing/product/{DRONE}/state_reply",
        ):
            self.client.subscribe(t, qos=1)
        for _ in range(4):  # wait on the SUBACKs themselves, not a pause (issue 17 #16)
            self.subacks.get(timeout=10)

    def send(self, topic: str, text: str) -> None:
        self.client.publish(topic, text.encode(), qos=1).wait_for_publish(5)

    def expect(self, topic: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                t, body = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if t == topic:
                return body
        raise AssertionError(f"nothing on {topic} within {timeout} s")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def dock(serve: Any) -> Any:
    cred = serve.credentials()
    d = RawDock(serve.mqtt_port, str(cred["username"]), str(cred["password"]))
    d.cred = cred
    yield d
    d.close()


def test_onboarding_flow_gets_exact_replies(serve: Any, dock: RawDock) -> None:
    cred = dock.cred  # type: ignore[attr-defined]
    ws, code = cred["workspace_id"], cred["binding_code"]
    req = f"thing/product/{DOCK}/requests"
    rep = f"thing/product/{DOCK}/requests_reply"

    dock.send(
        req,
        '{"tid":"6a7bfe89-c386-4043-b600-b518e10096cc","bid":"42a19f36-5117-4520-bd13-fd61d818d52e",'
        '"timestamp":1667803298000,"gateway":"' + DOCK + '","method":"config",'
        '"data":{"config_type":"json","config_scope":"product"}}',
    )
    r = dock.expect(rep)
    assert r["tid"] == "6a7bfe89-c386-4043-b600-b518e10096cc"
    assert r["bid"] == "42a19f36-5117-4520-bd13-fd61d818d52e"
    assert r["method"] == "config"
    assert set(r["data"]) == {
        "ntp_server_host",
        "ntp_server_port",
        "app_id",
        "app_key",
        "app_license",
    }
    assert r["data"]["ntp_server_port"] == serve.ntp_port
    assert r["data"]["ntp_server_host"] == "127.0.0.1"
    assert isinstance(r["timestamp"], int) and r["timestamp"] > 1_600_000_000_000

    dock.send(
        req,
        '{"tid":"t-bs-1","bid":"b-bs-1","timestamp":1654070968655,"method":"airport_bind_status",'
        '"data":{"devices":[{"sn":"' + DRONE + '"},{"sn":"' + DOCK + '"}]}}',
    )
    r = dock.expect(rep)
    assert (r["tid"], r["bid"], r["method"]) == ("t-bs-1", "b-bs-1", "airport_bind_status")
    assert r["data"]["result"] == 0
    assert [s["is_device_bind_organization"] for s in r["data"]["output"]["bind_status"]] == [
        False,
        False,
    ]

    dock.send(
        req,
        '{"tid":"t-og-1","bid":"b-og-1","timestamp":1654070968655,"method":"airport_organization_get",'
        '"data":{"device_binding_code":"' + code + '","organization_id":"' + ws + '"}}',
    )
    r = dock.expect(rep)
    assert r["data"] == {"result": 0, "output": {"organization_name": "Default Workspace"}}

    dock.send(
        req,
        '{"tid":"t-og-2","bid":"b-og-2","timestamp":1654070968655,"method":"airport_organization_get",'
        '"data":{"device_binding_code":"wrong-code","organization_id":"' + ws + '"}}',
    )
    r = dock.expect(rep)
    assert r["tid"] == "t-og-2" and r["data"]["result"] != 0 and "output" not in r["data"]

    dock.send(
        req,
        '{"tid":"t-ob-1","bid":"b-ob-1","timestamp":1654070968655,"method":"airport_organization_bind",'
        '"data":{"bind_devices":['
        '{"device_binding_code":"'
        + code
        + '","organization_id":"'
        + ws
        + '","device_callsign":"Dock North",'
        '"sn":"' + DOCK + '","device_model_key":"3-2-0"},'
        '{"device_binding_code":"'
        + code
        + '","organization_id":"'
        + ws
        + '","device_callsign":"Drone North",'
        '"sn":"' + DRONE + '","device_model_key":"0-91-0"}]}}',
    )
    r = dock.expect(rep)
    assert r["data"]["result"] == 0
    assert r["data"]["output"]["err_infos"] == [
        {"sn": DOCK, "err_code": 0},
        {"sn": DRONE, "err_code": 0},
    ]

    dock.send(
        req,
        '{"tid":"t-bs-2","bid":"b-bs-2","timestamp":1654070968655,"method":"airport_bind_status",'
        '"data":{"devices":[{"sn":"' + DOCK + '"}]}}',
    )
    r = dock.expect(rep)
    assert r["data"]["output"]["bind_status"] == [
        {
            "sn": DOCK,
            "is_device_bind_organization": True,
            "organization_id": ws,
            "organization_name": "Default Workspace",
            "device_callsign": "Dock North",
        }
    ]

    dock.send(
        f"sys/product/{DOCK}/status",
        '{"tid":"t-topo","bid":"b-topo","timestamp":1654070968655,"method":"update_topo","data":{'
        '"domain":"3","type":2,"sub_type":0,"device_secret":"s","nonce":"n","thing_version":"1.2.0",'
        '"sub_devices":[{"sn":"' + DRONE + '","domain":0,"type":91,"sub_type":0,"index":"A",'
        '"device_secret":"s","nonce":"n","thing_version":"1.2.0"}]}}',
    )
    r = dock.expect(f"sys/product/{DOCK}/status_reply")
    assert r["tid"] == "t-topo" and r["bid"] == "b-topo" and r["method"] == "update_topo"
    assert r["data"] == {"result": 0}

    # events: need_reply 1 is answered, echoing tid/bid/method; need_reply 0 is not.
    dock.send(
        f"thing/product/{DOCK}/events",
        '{"tid":"t-ev-1","bid":"b-ev-1","timestamp":1654070968655,"gateway":"' + DOCK + '",'
        '"method":"flighttask_progress","need_reply":1,"data":{"result":0,"output":{"status":"ok"}}}',
    )
    r = dock.expect(f"thing/product/{DOCK}/events_reply")
    assert (r["tid"], r["bid"], r["method"], r["data"]) == (
        "t-ev-1",
        "b-ev-1",
        "flighttask_progress",
        {"result": 0},
    )
    dock.send(
        f"thing/product/{DOCK}/events",
        '{"tid":"t-ev-2","bid":"b-ev-2","timestamp":1654070968655,"method":"hms","need_reply":0,"data":{"list":[]}}',
    )
    with pytest.raises(AssertionError):
        dock.expect(f"thing/product/{DOCK}/events_reply", timeout=1.0)

    # aircraft state with need_reply 1 → state_reply on the aircraft's own SN.
    dock.send(
        f"thing/product/{DRONE}/state",
        '{"tid":"t-st-1","bid":"b-st-1","timestamp":1654070968655,"gateway":"' + DOCK + '",'
        '"need_reply":1,"data":{"rth_mode":1}}',
    )
    r = dock.expect(f"thing/product/{DRONE}/state_reply")
    assert (r["tid"], r["bid"], r["data"]) == ("t-st-1", "b-st-1", {"result": 0})

    # an unknown request is answered with an error, never ignored.
    dock.send(req, '{"tid":"t-x","bid":"b-x","timestamp":1,"method":"no_such_request","data":{}}')
    r = dock.expect(rep)
    assert r["tid"] == "t-x" and r["data"]["result"] != 0

    # a malformed request that can still be identified is answered with an error too.
    dock.send(
        req, '{"tid":"t-bad","bid":"b-bad","timestamp":"yesterday","method":"config","data":{}}'
    )
    r = dock.expect(rep)
    assert r["tid"] == "t-bad" and r["data"]["result"] != 0

    # The binding was persisted before it was acknowledged.
    db = sqlite3.connect(serve.data_dir / "gcs.db")
    rows = dict(db.execute("SELECT sn, bound FROM devices").fetchall())
    assert rows == {DOCK: 1, DRONE: 1}
    parent = db.execute("SELECT parent_sn FROM devices WHERE sn = ?", [DRONE]).fetchone()[0]
    assert parent == DOCK


def test_ntp_responder_answers_with_current_time(serve: Any) -> None:
    packet = bytearray(48)
    packet[0] = (0 << 6) | (4 << 3) | 3  # v4 client
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(bytes(packet), ("127.0.0.1", serve.ntp_port))
        data, _ = s.recvfrom(512)
    assert len(data) == 48
    assert data[0] & 0x7 == 4 and data[1] == 1
    secs = struct.unpack("!I", data[40:44])[0] - 2_208_988_800
    assert abs(secs - time.time()) < 5


def test_wrong_password_and_anonymous_are_refused(serve: Any) -> None:
    for user, pw in (("dock", "not-the-password"), (None, None)):
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=DOCK)
        got: queue.Queue[Any] = queue.Queue()
        c.on_connect = lambda cl, u, f, rc, p, got=got: got.put(rc)
        if user:
            c.username_pw_set(user, pw)
        c.connect("127.0.0.1", serve.mqtt_port)
        c.loop_start()
        rc = got.get(timeout=10)
        c.loop_stop()
        c.disconnect()
        assert rc.is_failure, (user, rc)
