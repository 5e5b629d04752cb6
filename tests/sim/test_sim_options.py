"""The simulator's options as one typed object: `FleetOptions` checks itself, `Fleet` takes it,
and the runtime (`gcs demo`, the desktop's fleet) builds it from the station's settings."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from gcs.runtime import RUNTIME_FILE, Runtime
from gcs.sim import DEFAULT_LAT, DEFAULT_LON, BrokerAddress, Fleet, FleetOptions, Timing
from gcs.store.settings import Settings, load_settings


def _settings(data_dir: Path) -> Settings:
    settings = load_settings(data_dir)
    settings.station.host = settings.station.public_host = "127.0.0.1"
    settings.mqtt.port = settings.http.port = settings.http.https_port = 0
    settings.storage.port = settings.ntp.port = settings.ntp.fallback_port = 0
    return settings


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_defaults_and_immutability() -> None:
    options = FleetOptions("mqtt://u:p@127.0.0.1:1883")
    assert (options.docks, options.pilots, options.seed, options.speedup) == (1, 0, 0, 1.0)
    assert (options.lat, options.lon) == (DEFAULT_LAT, DEFAULT_LON)
    assert options.timing == Timing()
    assert options.pilot_web is None and not options.fetch_waylines
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.docks = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"docks": -1}, "docks and pilots"),
        ({"pilots": -1}, "docks and pilots"),
        ({"speedup": 0.0}, "speedup"),
        ({"broker_url": "http://h:1"}, "broker URL"),
    ],
)
def test_bad_options_are_refused_when_made(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"broker_url": "mqtt://u:p@127.0.0.1:1883", **kwargs}
    with pytest.raises(ValueError, match=message):
        FleetOptions(**fields)


def test_fleet_is_what_its_options_say() -> None:
    options = FleetOptions(
        "mqtt://dev:pw@127.0.0.1:1883",
        docks=4,
        pilots=2,
        binding_code="qwe",
        organization_id="ws-9",
        seed=5,
        speedup=3.0,
        timing=Timing(hms_s=7.0),
        fetch_waylines=True,
    )
    fleet = Fleet(options)
    assert fleet.options is options
    assert (len(fleet.docks), len(fleet.pilots)) == (4, 2)
    assert (fleet.broker.host, fleet.broker.port, fleet.broker.username) == (
        "127.0.0.1",
        1883,
        "dev",
    )
    for device in fleet.devices:
        cfg = device.cfg
        assert (cfg.binding_code, cfg.organization_id, cfg.seed) == ("qwe", "ws-9", 5)
        assert cfg.speedup == 3.0 and cfg.timing.hms_s == 7.0 and cfg.fetch_waylines
    assert [d.sn for d in fleet.devices] == [d.sn for d in Fleet(options).devices]


async def test_runtime_refuses_a_bad_fleet_and_leaves_nothing_running(tmp_path: Path) -> None:
    runtime = Runtime(_settings(tmp_path), tmp_path, fleet={"docks": -1, "pilots": 0})
    with pytest.raises(ValueError, match="docks and pilots"):
        await runtime.start()
    assert runtime.fleet is None
    assert runtime.components == []
    assert not (tmp_path / RUNTIME_FILE).exists()
    assert not _listening(runtime.station.mqtt_port)


async def test_runtime_builds_the_fleet_options_from_the_settings(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    runtime = Runtime(settings, tmp_path, fleet={"docks": 2, "pilots": 1})
    await runtime.start()
    try:
        fleet = runtime.fleet
        assert fleet is not None
        options = fleet.options
        assert (options.docks, options.pilots) == (2, 1)
        assert options.binding_code == settings.station.binding_code
        assert options.organization_id == settings.station.workspace_id
        broker = BrokerAddress.parse(options.broker_url)
        assert (broker.port, broker.username) == (
            runtime.station.mqtt_port,
            settings.mqtt.device_username,
        )
        http = next(ep.url for ep in runtime.endpoints() if ep.name == "http")
        assert options.pilot_web is not None
        assert options.pilot_web.base_url == f"http://127.0.0.1:{urlsplit(http).port}/"
        assert options.pilot_web.username == settings.pilot.default_user
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, fleet.ready.wait, 60), "fleet not online"
        assert fleet.error is None, fleet.error
    finally:
        await runtime.stop()
