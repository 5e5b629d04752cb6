"""The station's MQTT link: `start()` returns only once the broker has acknowledged every
subscription, so a device's first message after that is never lost; replies are not matched
here (the command path does that)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from station_harness import free_port
from waits import async_wait_until, wait_until

from broker import AuthFile, BrokerProcess, User, hash_password
from gcs.link import BrokerUrl, MqttLink
from gcs.protocol.envelope import Message

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


async def test_first_message_after_start_is_received(broker: BrokerProcess) -> None:
    assert broker.port is not None
    received: list[Message] = []
    got = threading.Event()

    def on_message(m: Message) -> None:
        received.append(m)
        got.set()

    topics = [f"thing/product/{GW}/{kind}" for kind in ("osd", "state", "events", "requests")]
    dock = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=GW)
    dock.username_pw_set("dock", "d")
    connected = threading.Event()
    dock.on_connect = lambda *_: connected.set()
    dock.connect("127.0.0.1", broker.port)
    dock.loop_start()
    assert connected.wait(10)
    for attempt in range(5):  # several fresh links: each must be subscribed when start() returns
        got.clear()
        link = MqttLink(
            BrokerUrl("127.0.0.1", broker.port, "station", "s"),
            client_id=f"test-link-{attempt}",
            subscriptions=topics,
            on_message=on_message,
        )
        await link.start()
        try:
            assert link.connected and link.refused_subscriptions == []
            body = {"tid": f"t{attempt}", "bid": "b", "timestamp": 1, "data": {"x": attempt}}
            dock.publish(f"thing/product/{GW}/osd", json.dumps(body), qos=1).wait_for_publish(5)
            await async_wait_until(got.is_set, what="the first message after start()")
            assert received[-1].tid == f"t{attempt}"
        finally:
            await link.stop()
    dock.loop_stop()
    dock.disconnect()
    wait_until(lambda: not dock.is_connected(), what="dock disconnected")
