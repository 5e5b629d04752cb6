"""The simulator's asyncio-driven paho connection, against mosquitto and a plain paho peer."""

from __future__ import annotations

import pytest
from sim_cloud import Cloud, Mosquitto

from gcs.sim import BrokerAddress, Link, LinkError

pytestmark = pytest.mark.mosquitto


async def test_burst_larger_than_the_socket_buffer_arrives_whole(
    mosquitto: Mosquitto, cloud: Cloud
) -> None:
    received: list[tuple[str, bytes]] = []
    link = Link(
        "SIMLINK1", BrokerAddress.parse(mosquitto.url), lambda t, p: received.append((t, p))
    )
    await link.connect()
    try:
        payload = b'{"data": "' + b"x" * 65_000 + b'"}'
        for _ in range(300):  # ~20 MB queued in one go: the socket fills, the writer drains it
            assert link.publish("thing/product/SIMLINK1/osd", payload, 0)
        await cloud.wait(
            lambda: len(cloud.on("thing/product/SIMLINK1/osd")) == 300,
            within=30,
            what="all 300 large messages",
        )
        # And the link still reads: a message to it arrives.
        await link.subscribe(["thing/product/SIMLINK1/services"])
        cloud.send("thing/product/SIMLINK1/services", '{"tid": "1", "bid": "2", "method": "x"}')
        await cloud.wait(lambda: received, what="a message to the link")
        assert received[0][0] == "thing/product/SIMLINK1/services"
    finally:
        await link.close()


async def test_drop_and_reconnect_same_link(mosquitto: Mosquitto, cloud: Cloud) -> None:
    link = Link("SIMLINK2", BrokerAddress.parse(mosquitto.url), lambda t, p: None)
    await link.connect()
    assert link.connected and not link.lost.is_set()
    link.drop()
    assert link.lost.is_set() and not link.connected
    assert not link.publish("thing/product/SIMLINK2/osd", b"{}")
    with pytest.raises(LinkError):
        await link.subscribe(["thing/product/SIMLINK2/services"])
    await link.connect()
    assert link.publish("thing/product/SIMLINK2/osd", b'{"data": {}}')
    await cloud.wait(lambda: cloud.on("thing/product/SIMLINK2/osd"), what="publish after reconnect")
    await link.close()
    await link.close()  # idempotent
