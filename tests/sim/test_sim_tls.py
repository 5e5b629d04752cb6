"""Simulated gateways over MQTT with TLS (mqtts://), as docks that use the station's certificate."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sim_cloud import MOSQUITTO, Cloud, Mosquitto, free_port

from gcs.sim import Fleet

pytestmark = pytest.mark.mosquitto


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("Debian's mosquitto is not installed")
    cert, key = _self_signed(tmp_path)
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
        f"mqtts://device:secret@127.0.0.1:{tls_broker.port}",
        docks=3,
        pilots=1,
        binding_code="qwe",
        seed=51,
        speedup=8.0,
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
