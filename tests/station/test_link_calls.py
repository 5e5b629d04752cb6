"""The station's MQTT link against the embedded broker: a command awaits its reply (tid + bid),
is re-sent with a new tid when unanswered, and fails with a typed error carrying the DJI code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from station_harness import free_port

from broker import AuthFile, BrokerProcess, User, hash_password
from gcs.link import BrokerUrl, CommandError, CommandTimeout, MqttLink
from gcs.protocol import replies
from gcs.protocol.calls import CallPolicy
from gcs.protocol.envelope import Message, new_id

GW = "LINKDOCK01"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    folder: Path = tmp_path_factory.mktemp("link")
    auth = AuthFile.write(
        folder / "broker-auth.json",
        [
            User("station", hash_password("s", iterations=1000), "station"),
            User("dock", hash_password("d", iterations=1000), "device"),
        ],
    )
    b = BrokerProcess(auth, host="127.0.0.1", port=free_port())
    b.start()
    yield b
    b.stop()


class FakeDock:
    """Answers services like a dock: ok, a DJI error, or silence; records what it got."""

    def __init__(self, port: int) -> None:
        self.seen: list[dict[str, Any]] = []
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=GW)
        self.c.username_pw_set("dock", "d")
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", port)
        self.c.subscribe(f"thing/product/{GW}/services", qos=1)
        self.c.loop_start()

    def _on_message(self, c: Any, u: Any, m: Any) -> None:
        body = json.loads(m.payload)
        self.seen.append(body)
        method = body["method"]
        if method == "silent":
            return
        data: dict[str, Any] = {"result": 0, "output": {"status": "in_progress"}}
        if method == "cover_close":
            data = {"result": 514107}
        reply = {
            "tid": body["tid"],
            "bid": body["bid"],
            "timestamp": 1,
            "method": method,
            "data": data,
        }
        if method.startswith("in_flight_wayline_"):
            del reply["method"]  # as DJI's Dock 2/3 examples of these replies show
        c.publish(f"thing/product/{GW}/services_reply", json.dumps(reply), qos=1)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


async def test_calls(broker: BrokerProcess) -> None:
    assert broker.port is not None
    dock = FakeDock(broker.port)
    received: list[Message] = []
    link = MqttLink(
        BrokerUrl("127.0.0.1", broker.port, "station", "s"),
        client_id="test-station",
        subscriptions=[f"thing/product/{GW}/services_reply"],
        on_message=received.append,
    )
    await link.start()
    await asyncio.sleep(0.3)
    try:
        msg = replies.service(GW, "cover_open", None, tid=new_id(), bid=new_id(), now_ms=0)
        reply = await link.call(msg)
        assert reply.ok and reply.output == {"status": "in_progress"}
        assert reply.message.tid == msg.tid and reply.message.bid == msg.bid

        # A reply without a method reaches its call, and the station sees the call's method.
        stop = replies.service(
            GW, "in_flight_wayline_stop", None, tid=new_id(), bid=new_id(), now_ms=0
        )
        reply = await link.call(stop)
        assert reply.ok and reply.message.method == "in_flight_wayline_stop"
        assert [m.method for m in received if m.bid == stop.bid] == ["in_flight_wayline_stop"]

        with pytest.raises(CommandError) as failed:
            await link.call(
                replies.service(GW, "cover_close", None, tid=new_id(), bid="b-close", now_ms=0)
            )
        assert failed.value.code == 514107 and "cover" in failed.value.detail.lower()
        assert failed.value.detail_zh and failed.value.detail_zh != failed.value.detail

        silent = replies.service(GW, "silent", None, tid=new_id(), bid="b-silent", now_ms=0)
        with pytest.raises(CommandTimeout) as timed_out:
            await link.call(silent, CallPolicy(timeout_s=0.4, retries=2))
        assert timed_out.value.attempts == 3
        sends = [b for b in dock.seen if b["method"] == "silent"]
        assert len(sends) == 3
        assert len({b["tid"] for b in sends}) == 3 and {b["bid"] for b in sends} == {"b-silent"}
        assert all(received_msg.kind.value == "services_reply" for received_msg in received)
    finally:
        await link.stop()
        dock.close()
