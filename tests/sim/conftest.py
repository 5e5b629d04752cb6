"""Fixtures for simulator tests (helpers in sim_cloud.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_cloud import MOSQUITTO, Cloud, Mosquitto, free_port


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("Debian's mosquitto is not installed (apt-get install -y mosquitto)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = Mosquitto(port, conf)
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture
def cloud(mosquitto: Mosquitto) -> Iterator[Cloud]:
    c = Cloud(mosquitto.port)
    c.start()
    yield c
    c.stop()
