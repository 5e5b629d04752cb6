"""Issue 16 on the station's side: every refusal of the embedded broker becomes a desktop event
(a `LogEntry` on the bus) and a `gcs` log line; per-dock logins from the settings reach the
broker, and one made while the station runs is accepted at once."""

from __future__ import annotations

import asyncio
import logging
import queue
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from station_harness import free_port

from gcs.station import dock_logins
from gcs.station.broker_watch import BrokerWatch
from gcs.station.bus import EventBus, LogEntry
from gcs.station.core import Station
from gcs.store.settings import load_settings

TIMEOUT = 10.0


# -- BrokerWatch on its own ----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_events_become_log_entries_and_repeats_are_folded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[LogEntry] = []
    bus.subscribe(LogEntry, seen.append)
    clock = Clock()
    watch = BrokerWatch(bus, asyncio.get_running_loop(), interval=10.0, clock=clock)
    takeover = {
        "event": "takeover_refused",
        "level": "error",
        "kind": "security",
        "message": "client id DOCK1 is in use by a live connection",
        "client_id": "DOCK1",
        "username": "dock",
        "remote": "10.0.0.9",
        "sn": "DOCK1",
        "repeats": 0,
    }
    with caplog.at_level(logging.WARNING, logger="gcs.station.broker_watch"):
        entry = watch.handle(takeover)
    assert entry is not None and seen == [entry]
    assert (entry.kind, entry.level, entry.sn) == ("security", "error", "DOCK1")
    assert "take-over" in entry.message and "拒绝顶替" in entry.message
    assert "10.0.0.9" in entry.message and "'dock'" in entry.message
    assert any("DOCK1" in r.getMessage() for r in caplog.records)
    # The same refusal by the same client within the interval is folded ...
    assert watch.handle({**takeover, "repeats": 4}) is None
    clock.now += 11
    again = watch.handle(takeover)
    assert again is not None and "+5 more" in again.message
    # ... but another client's, or another refusal, is not.
    assert watch.handle({**takeover, "client_id": "DOCK2"}) is not None
    plain = watch.handle({"event": "subscribe_refused", "level": "bogus", "message": "m"})
    assert plain is not None and (plain.kind, plain.level) == ("broker", "warning")
    assert watch.handle({"no": "event"}) is None
    assert len(seen) == 4


async def test_reports_from_the_broker_thread_reach_the_loop() -> None:
    bus = EventBus()
    got: asyncio.Queue[LogEntry] = asyncio.Queue()
    bus.subscribe(LogEntry, got.put_nowait)
    watch = BrokerWatch(bus, asyncio.get_running_loop())
    await asyncio.to_thread(watch.from_thread, {"event": "packet_too_large", "message": "big"})
    entry = await asyncio.wait_for(got.get(), TIMEOUT)
    assert entry.kind == "broker" and "Oversized" in entry.message


# -- against a running station -------------------------------------------------------------


@pytest.fixture
async def station(tmp_path: Path) -> AsyncIterator[Station]:
    settings = load_settings(tmp_path)
    settings.station.host = "127.0.0.1"
    settings.mqtt.port = free_port()
    settings.ntp.port = settings.ntp.fallback_port = 0
    settings.mqtt.dock_logins = {"DOCKP1": "p1-secret"}
    st = Station(settings, tmp_path)
    await st.start()
    try:
        yield st
    finally:
        await st.stop()


class Client:
    def __init__(self, port: int, client_id: str, login: tuple[str, str]) -> None:
        self.codes: queue.Queue[ReasonCode] = queue.Queue()
        self.subacks: queue.Queue[int] = queue.Queue()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.c.username_pw_set(*login)
        self.c.on_connect = lambda c, u, f, code, p: self.codes.put(code)
        self.c.on_subscribe = lambda c, u, mid, codes, p: self.subacks.put(int(codes[0].value))
        self.port = port

    def connect(self) -> ReasonCode:
        self.c.connect("127.0.0.1", self.port)
        self.c.loop_start()
        return self.codes.get(timeout=TIMEOUT)

    def subscribe(self, topic: str) -> int:
        self.c.subscribe(topic, 1)
        return self.subacks.get(timeout=TIMEOUT)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


async def wait_entry(seen: list[LogEntry], match: Callable[[LogEntry], bool]) -> LogEntry:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        found = [e for e in seen if match(e)]
        if found:
            return found[0]
        assert asyncio.get_running_loop().time() < deadline, [e.message for e in seen]
        await asyncio.sleep(0.02)


async def test_broker_refusals_are_desktop_events(station: Station) -> None:
    seen: list[LogEntry] = []
    station.bus.subscribe(LogEntry, seen.append)
    s = station.settings
    login = (s.mqtt.device_username, s.mqtt.device_password)
    dock = Client(station.mqtt_port, "DOCKW1", login)
    intruder = Client(station.mqtt_port, "DOCKW1", login)
    clients: list[Client] = [dock, intruder]
    try:
        assert not (await asyncio.to_thread(dock.connect)).is_failure
        assert await asyncio.to_thread(dock.subscribe, "thing/product/+/osd") >= 0x80
        refused = await wait_entry(seen, lambda e: "subscription refused" in e.message)
        assert (refused.kind, refused.level) == ("broker", "warning")
        assert "thing/product/+/osd" in refused.message
        # Another holder of the shared login tries to take the connected dock's place.
        assert (await asyncio.to_thread(intruder.connect)).is_failure
        alarm = await wait_entry(seen, lambda e: e.kind == "security")
        assert alarm.level == "error" and alarm.sn == "DOCKW1"
        await station._flush_log()  # the events log (history) keeps them too
    finally:
        for client in clients:
            await asyncio.to_thread(client.close)


async def test_per_dock_logins_reach_the_broker(station: Station) -> None:
    seen: list[LogEntry] = []
    station.bus.subscribe(LogEntry, seen.append)
    own = Client(station.mqtt_port, "any-client-id", ("dock-DOCKP1", "p1-secret"))
    made: list[Client] = [own]
    try:
        assert not (await asyncio.to_thread(own.connect)).is_failure
        assert await asyncio.to_thread(own.subscribe, "thing/product/DOCKP1/services") == 1
        assert await asyncio.to_thread(own.subscribe, "sys/product/DOCKQ2/status_reply") >= 0x80
        # A login made while the station runs (the wizard's button) is accepted at once, and
        # saved in gcs.toml.
        username, password = await dock_logins.ensure_on_station(station, "DOCKQ2")
        assert username == "dock-DOCKQ2"
        assert load_settings(station.data_dir).mqtt.dock_logins["DOCKQ2"] == password
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        while True:
            fresh = Client(station.mqtt_port, "q2", (username, password))
            made.append(fresh)
            code: Any = await asyncio.to_thread(fresh.connect)
            if not code.is_failure:
                break
            assert asyncio.get_running_loop().time() < deadline
        assert await asyncio.to_thread(fresh.subscribe, "thing/product/DOCKQ2/services") == 1
        with pytest.raises(dock_logins.DockLoginError):
            await dock_logins.ensure_on_station(station, "bad/serial")
    finally:
        for client in made:
            await asyncio.to_thread(client.close)


def test_gcs_credentials_makes_and_shows_a_dock_login(tmp_path: Path) -> None:
    import json
    import subprocess

    from station_harness import gcs_command

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = gcs_command("credentials", "--data-dir", str(tmp_path), *args)
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    first = run("--dock", "DOCKC1")
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout)
    assert made["username"] == "dock-DOCKC1" and len(made["password"]) >= 16
    assert made["dock_sn"] == "DOCKC1" and made["dock_logins"] == {"DOCKC1": "dock-DOCKC1"}
    again = json.loads(run("--dock", "DOCKC1").stdout)
    assert again["password"] == made["password"]  # made once, then shown
    shared = json.loads(run().stdout)
    assert shared["username"] == load_settings(tmp_path).mqtt.device_username
    assert shared["dock_logins"] == {"DOCKC1": "dock-DOCKC1"}
    assert load_settings(tmp_path).mqtt.dock_logins == {"DOCKC1": made["password"]}
    bad = run("--dock", "no/slashes")
    assert bad.returncode == 2 and "serial" in bad.stderr
