"""Fixtures for the broker tests (imported by each test module: a conftest.py here would shadow
the `conftest` other test folders import): the embedded broker in a child process, mosquitto with
the generated config, and connected peers that are closed after each test."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from broker_peers import GATEWAYS, Peer, Target, free_port, logins, wait_port, write_auth

from broker import BrokerProcess
from broker.mosquitto import Login, write_config

__all__ = ["connect", "embedded", "mosquitto", "peers", "target"]


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The embedded broker (amqtt) in a child process on a free port."""
    folder = tmp_path_factory.mktemp("embedded")
    auth = write_auth(folder / "broker-auth.json")
    process = BrokerProcess(auth, host="127.0.0.1", port=0, log_path=folder / "broker.log")
    process.start()
    assert process.port is not None
    yield Target("embedded", "127.0.0.1", process.port)
    process.stop()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """Debian's mosquitto with the config broker.mosquitto.write_config generates."""
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        pytest.skip("Debian's mosquitto is not installed (apt-get install mosquitto)")
    folder = tmp_path_factory.mktemp("mosquitto")
    port = free_port()
    conf = write_config(
        folder,
        [Login(name, pw, role, gw) for name, pw, role, gw in logins()],  # type: ignore[arg-type]
        GATEWAYS,
        port,
        bind="127.0.0.1",
    )
    log = folder / "mosquitto.log"
    with open(log, "w") as handle:
        process = subprocess.Popen([binary, "-c", str(conf)], stderr=handle, stdout=handle)
    try:
        wait_port("127.0.0.1", port, process, log)
        yield Target("mosquitto", "127.0.0.1", port)
    finally:
        process.terminate()
        process.wait(5)


@pytest.fixture(params=["embedded", "mosquitto"])
def target(request: pytest.FixtureRequest) -> Target:
    """Each broker in turn: the same rules must hold on both."""
    if request.param == "mosquitto":
        request.applymarker(pytest.mark.mosquitto)
    result: Target = request.getfixturevalue(request.param)
    return result


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    """A list that test code appends its peers to; all are closed at the end."""
    made: list[Peer] = []
    yield made
    for peer in made:
        with contextlib.suppress(Exception):
            peer.close()


@pytest.fixture
def connect(peers: list[Peer]) -> Any:
    """connect(target, client_id, login, **kwargs) -> Peer, asserting that the login succeeded."""

    def make(target: Target, client_id: str, login: tuple[str, str] | None, **kwargs: Any) -> Peer:
        peer = Peer(target, client_id, login, **kwargs)
        peers.append(peer)
        code = peer.connect()
        assert not code.is_failure, f"{client_id} refused: {code}"
        return peer

    return make
