"""Simulated gateways over MQTT with TLS (mqtts://), as docks that use the station's certificate."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_cloud import MOSQUITTO, Cloud, Mosquitto, free_port
from station_harness import make_certificate

from gcs.sim import Fleet, FleetOptions

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("Debian's mosquitto is not installed")
    cert, key = make_certificate(tmp_path)
    port = free_port()
    conf = tmp_path / "tls.conf"
    # As root, mosquitto drops to user "mosquitto", which cannot read pytest's tmp_path.
    keep_user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\ncertfile {cert}\nkeyfile {key}\n"
        + keep_user
    )
    broker = Mosquitto(port, conf)
    broker.start()
    yield broker
    broker.kill()


async def test_fleet_over_tls(tls_broker: Mosquitto) -> None:
    cloud = Cloud(tls_broker.port, tls=True)
    cloud.start()
    fleet = Fleet(
        FleetOptions(
            f"mqtts://device:secret@127.0.0.1:{tls_broker.port}",
            docks=3,
            pilots=1,
            binding_code="qwe",
            seed=51,
            speedup=8.0,
        )
    )
    try:
        await fleet.start(timeout_s=10)
        for gw in fleet.devices:
            # Several replies in a row: TLS records can carry more than one MQTT packet.
            tids = [cloud.service(gw.sn, "no_such_method") for _ in range(5)]
            for tid in tids:
                reply = await cloud.reply_to(gw.sn, tid)
                assert reply.data["result"] != 0
        dock = fleet.docks[0]
        await cloud.wait(lambda: cloud.on(f"thing/product/{dock.sn}/osd"), what="OSD over TLS")
    finally:
        await fleet.stop()
        cloud.stop()
