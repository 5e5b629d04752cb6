"""Automatic flight-area sync and route warnings (issue 14) against a literal-JSON dock.

The dock answers `flight_areas_update`, asks for the file with `flight_areas_get` and reports
`flight_areas_sync_progress` with the checksum it was given, like a Dock 2 does; the station
decides when to sync (debounced edits, a dock coming back, a failure retried later)."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from command_peers import DOCK, RawDock, now_ms, runtime, wait_for
from station_harness import SHARED_DATA

from gcs.runtime import ThreadedRuntime
from gcs.sim import Fleet, FleetOptions
from gcs.station.area_guard import AUTO_ACTOR, AreaGuard, supports_flight_areas
from gcs.station.bus import LogEntry
from gcs.station.maps import Maps
from gcs.station.waylines import Waylines

__all__ = ["runtime"]

ROUTE = SHARED_DATA / "waylines" / "pilot2-waypoint-makeathon.kmz"  # 0-91-1, 3 waypoints


class SyncingDock:
    """A raw Dock 2 that carries out `flight_areas_update` (or fails it with `fail_reason`)."""

    def __init__(self, raw: RawDock) -> None:
        self.raw = raw
        self.fail_reason = 0
        self.synced: list[str] = []  # checksums reported "synchronized"
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        topic = f"thing/product/{raw.sn}/requests_reply"
        done = threading.Event()
        raw.c.message_callback_add(topic, lambda c, u, m: self._answers.put(json.loads(m.payload)))
        raw.c.on_subscribe = lambda *_: done.set()
        raw.c.subscribe(topic, qos=1)
        assert done.wait(10)
        raw.script = self._script

    def _script(self, d: RawDock, command: dict[str, Any]) -> None:
        d.reply(command, {"result": 0})
        if command.get("method") == "flight_areas_update":
            # the paho thread must stay free to receive the station's answer
            threading.Thread(target=self._sync, args=(command["bid"],), daemon=True).start()

    def _sync(self, bid: str) -> None:
        tid = str(uuid.uuid4())
        self.raw.publish(
            "requests",
            {
                "tid": tid,
                "bid": str(uuid.uuid4()),
                "timestamp": now_ms(),
                "gateway": self.raw.sn,
                "method": "flight_areas_get",
                "data": {},
            },
        )
        while (answer := self._answers.get(timeout=10))["tid"] != tid:
            pass
        files = answer["data"]["output"]["files"]
        file = {"name": files[0]["name"], "checksum": files[0]["checksum"]} if files else {}
        if self.fail_reason:
            status = {"status": "fail", "reason": self.fail_reason, "file": file}
            self.raw.event("flight_areas_sync_progress", bid, status)
            return
        for word in ("synchronizing", "synchronized"):
            body = {"status": word, "reason": 0, "file": file}
            self.raw.event("flight_areas_sync_progress", bid, body)
        self.synced.append(file.get("checksum", ""))

    def updates(self) -> int:
        return len(self.raw.sent("flight_areas_update"))


@pytest.fixture(scope="module")
def guard(runtime: ThreadedRuntime) -> AreaGuard:
    g = runtime.runtime.station.capability(AreaGuard)
    g.debounce_s = 1.5
    return g


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime, guard: AreaGuard) -> Iterator[SyncingDock]:
    s = runtime.runtime.settings
    raw = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d = SyncingDock(raw)
    raw.online(aircraft_sub_type=1)
    raw.bind(s.station.binding_code, s.station.workspace_id, aircraft_model_key="0-91-1")
    registry = runtime.runtime.station.registry
    wait_for(lambda: (v := registry.view(DOCK)) is not None and v.bound and v.online, what="bound")
    raw.osd(mode_code=0, drone_in_dock=1, drone_charge_state={"state": 0, "capacity_percent": 90})
    yield d
    raw.close()


@pytest.fixture(scope="module")
def events(runtime: ThreadedRuntime) -> Iterator[list[LogEntry]]:
    seen: list[LogEntry] = []

    def keep(e: LogEntry) -> None:
        seen.append(e)

    runtime.call_soon(runtime.runtime.station.bus.subscribe, LogEntry, keep)
    yield seen


def circle(lon: float, lat: float, radius: float) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"color": "#E23C39"},
        "geometry": {"type": "Circle", "coordinates": [lon, lat], "radius": radius},
    }


def maps_of(rt: ThreadedRuntime) -> tuple[Maps, str]:
    return rt.runtime.station.capability(Maps), rt.runtime.settings.station.workspace_id


def settled(rt: ThreadedRuntime, guard: AreaGuard, dock: SyncingDock) -> bool:
    """The dock confirmed the current file and nothing is waiting."""
    maps, ws = maps_of(rt)
    file = rt.submit(maps.area_file(ws)).result(5)
    current = file.checksum if file is not None else ""
    rows = [r for r in maps.sync_status() if r.sn == DOCK]
    return (
        bool(rows)
        and rows[0].status == "synchronized"
        and rows[0].checksum == current
        and not guard._docks[DOCK].busy
        and not guard.pending()
    )


def auto_jobs(rt: ThreadedRuntime) -> list[Any]:
    rows = rt.submit(rt.runtime.station.commands.history(DOCK)).result(5)
    return [r for r in rows if r.method == "flight_areas_update" and r.actor == AUTO_ACTOR]


def test_three_edits_make_one_sync(
    runtime: ThreadedRuntime, guard: AreaGuard, dock: SyncingDock, events: list[LogEntry]
) -> None:
    maps, ws = maps_of(runtime)
    before = dock.updates()
    area_id = str(uuid.uuid4())

    async def edits() -> None:  # a burst: create, rename, disable
        await maps.create_flight_area(
            ws,
            area_id=area_id,
            name="Substation",
            area_type="nfz",
            content=circle(113.9436, 22.5775, 100.0),
            user_name="test",
        )
        await maps.update_flight_area(ws, area_id, name="Substation B", actor="test")
        await maps.update_flight_area(ws, area_id, enabled=False, actor="test")

    # a long quiet time, so that no load on the machine can split the burst; the wait
    # is then cut short by hand
    guard.debounce_s = 600.0
    try:
        runtime.submit(edits()).result(10)
        assert guard.scheduled() == [ws]  # one timer for the three edits, nothing sent yet
        assert dock.updates() == before
        assert runtime.submit(guard.flush(ws)).result(10) == 1
    finally:
        guard.debounce_s = 1.5
    wait_for(lambda: settled(runtime, guard, dock), timeout=15, what="dock synced")
    assert dock.updates() == before + 1
    assert len(auto_jobs(runtime)) == 1
    assert guard.scheduled() == []  # no other sync is waiting
    [sent] = [e for e in events if e.message.startswith(f"flight areas sent to {DOCK}")]
    assert "the flight areas changed" in sent.message and sent.sn == DOCK
    wait_for(lambda: any(e.message == f"flight areas synchronized on {DOCK}" for e in events))


def test_an_edit_syncs_by_itself_after_the_quiet_time(
    runtime: ThreadedRuntime, guard: AreaGuard, dock: SyncingDock
) -> None:
    maps, ws = maps_of(runtime)
    wait_for(lambda: settled(runtime, guard, dock), timeout=15, what="dock synced")
    before = dock.updates()
    area_id = next(iter(runtime.submit(maps.flight_areas(ws)).result(5)))[0].id
    runtime.submit(maps.update_flight_area(ws, area_id, enabled=True, actor="test")).result(10)
    wait_for(lambda: dock.updates() == before + 1, timeout=15, what="automatic sync")
    wait_for(lambda: settled(runtime, guard, dock), timeout=15, what="dock synced")
    assert dock.updates() == before + 1


def test_dock_coming_back_with_an_old_file_is_synced(
    runtime: ThreadedRuntime, guard: AreaGuard, dock: SyncingDock, events: list[LogEntry]
) -> None:
    maps, ws = maps_of(runtime)
    registry = runtime.runtime.station.registry
    wait_for(lambda: settled(runtime, guard, dock), timeout=15, what="dock synced")

    def offline() -> None:  # silence longer than the timeout, without waiting a minute
        registry.offline_timeout_s = 0.0
        registry.expire()
        registry.offline_timeout_s = 60.0

    runtime.call_soon(offline)
    wait_for(lambda: not registry.is_online(DOCK), what="dock offline")
    before = dock.updates()
    runtime.submit(
        maps.create_flight_area(
            ws,
            area_id=str(uuid.uuid4()),
            name="Tower",
            area_type="nfz",
            content=circle(113.95, 22.58, 50.0),
            user_name="test",
        )
    ).result(10)
    wait_for(lambda: guard.pending() == [DOCK], timeout=10, what="sync postponed")
    assert dock.updates() == before  # nothing sent to an offline dock
    assert any("it is offline; they are sent when it reconnects" in e.message for e in events)

    dock.raw.osd(mode_code=0)  # the dock is back
    wait_for(lambda: settled(runtime, guard, dock), timeout=15, what="synced after reconnect")
    assert dock.updates() == before + 1
    [resent] = [e for e in events if e.message.startswith(f"flight areas sent to {DOCK}")][-1:]
    assert resent.message.endswith(("it came online", "it is idle again")), resent.message


def test_failed_sync_waits_and_is_retried_when_the_dock_turns_idle(
    runtime: ThreadedRuntime, guard: AreaGuard, dock: SyncingDock, events: list[LogEntry]
) -> None:
    maps, ws = maps_of(runtime)
    wait_for(lambda: settled(runtime, guard, dock), timeout=15, what="dock synced")
    guard.retry_on_comeback_s = 0.2
    dock.fail_reason = 5  # transfer to the aircraft failed
    before = dock.updates()
    runtime.submit(
        maps.create_flight_area(
            ws,
            area_id=str(uuid.uuid4()),
            name="Quarry",
            area_type="dfence",
            content=circle(113.94, 22.57, 400.0),
            user_name="test",
        )
    ).result(10)

    def failure() -> LogEntry | None:  # the station's decision, after the dock's own report
        prefix = f"flight-area sync on {DOCK} failed"
        return next((e for e in events if e.message.startswith(prefix)), None)

    wait_for(failure, timeout=15, what="failure shown")
    shown = failure()
    assert shown is not None and "the transfer to the aircraft failed" in shown.message
    assert "in 30 s" in shown.message and shown.level == "warning"
    wait_for(lambda: guard.pending() == [DOCK], what="pending after the failure")
    state = guard._docks[DOCK]
    assert state.next_try - state.last_try == pytest.approx(30.0)  # back-off, no tight loop
    assert dock.updates() == before + 1

    dock.fail_reason = 0
    dock.raw.osd(mode_code=1)
    dock.raw.osd(mode_code=0)  # idle again: retried without waiting for the back-off
    wait_for(lambda: settled(runtime, guard, dock), timeout=15, what="retried and synced")
    assert dock.updates() == before + 2


# -- route warnings on the flight-task API ---------------------------------------------------


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    url = next(ep.url for ep in runtime.runtime.endpoints() if ep.name == "http")
    base = "http://127.0.0.1:" + url.rsplit(":", 1)[1].split("/", 1)[0]
    async with aiohttp.ClientSession() as session:
        login = {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": 1}
        async with session.post(f"{base}/manage/api/v1/login", json=login) as r:
            session.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
        yield session, f"{base}/wayline/api/v1/workspaces/{s.station.workspace_id}"


@pytest.mark.skipif(not ROUTE.is_file(), reason=f"{ROUTE} is not present")
async def test_flight_task_over_a_no_fly_area_needs_confirmation(
    runtime: ThreadedRuntime,
    guard: AreaGuard,
    dock: SyncingDock,
    events: list[LogEntry],
    api: tuple[aiohttp.ClientSession, str],
) -> None:
    session, ws_url = api
    maps, ws = maps_of(runtime)
    library = runtime.runtime.station.capability(Waylines).library
    imported = runtime.submit(
        library.import_kmz(ROUTE.read_bytes(), filename=ROUTE.name, workspace_id=ws)
    ).result(10)
    for element, _ in runtime.submit(maps.flight_areas(ws)).result(5):  # the earlier tests' areas
        runtime.submit(maps.delete_flight_area(ws, element.id, actor="test")).result(5)
    area_id = str(uuid.uuid4())
    # a 10 m no-fly circle on the route's last waypoint (48.189890255, 11.499866345)
    runtime.submit(
        maps.create_flight_area(
            ws,
            area_id=area_id,
            name="Crane",
            area_type="nfz",
            content=circle(11.499866345, 48.189890255, 10.0),
            user_name="test",
        )
    ).result(10)
    body = {
        "name": "inspection",
        "dock_sn": DOCK,
        "file_id": imported.row.id,
        "task_type": 1,
        "execute_time": now_ms() + 3_600_000,
    }
    prepared = len(dock.raw.sent("flighttask_prepare"))

    async with session.post(f"{ws_url}/flight-tasks", json=body) as r:
        status, refused = r.status, await r.json()
    assert status == 200, refused  # a web-console endpoint: HTTP 200 and the code
    assert refused["code"] == 212017
    assert "crosses no-fly area 'Crane'" in refused["message"]
    [warning] = refused["data"]["area_warnings"]
    assert warning["area_id"] == area_id and warning["area_type"] == "nfz"
    assert warning["waypoints"] == [0, 1, 2]
    assert "禁飞区「Crane」" in warning["message_zh"]
    assert len(dock.raw.sent("flighttask_prepare")) == prepared  # nothing sent
    assert any("flight task 'inspection' refused" in e.message for e in events)

    async with session.post(f"{ws_url}/flight-tasks", json=body | {"confirmed": True}) as r:
        status, made = r.status, await r.json()
    assert status == 200 and made["code"] == 0, made
    assert [w["area_name"] for w in made["data"]["area_warnings"]] == ["Crane"]
    assert made["data"]["job_id"]
    assert any("although the route crosses no-fly area 'Crane'" in e.message for e in events)

    # the same route once the area is disabled: planned without a question, no warning
    runtime.submit(maps.update_flight_area(ws, area_id, enabled=False, actor="test")).result(10)
    async with session.post(f"{ws_url}/flight-tasks", json=body | {"name": "again"}) as r:
        status, made = r.status, await r.json()
    assert status == 200 and made["code"] == 0, made
    assert made["data"]["area_warnings"] == []


def test_only_dock_2_and_3_load_flight_areas() -> None:
    assert supports_flight_areas("3-2-0") and supports_flight_areas("3-3-0")
    assert not supports_flight_areas("3-1-0")  # Dock 1
    assert not supports_flight_areas("0-91-0") and not supports_flight_areas("")


async def test_simulated_docks_joining_get_the_areas_by_themselves(
    runtime: ThreadedRuntime, guard: AreaGuard, dock: SyncingDock
) -> None:
    """`gcs sim` docks (a Dock 1 and a Dock 2) come online while areas exist: the Dock 2 is
    synced without anyone asking and loads the file (its SHA-256 checked by the simulator);
    the Dock 1, which has no custom flight areas, is left alone; a later edit reaches it too."""
    maps, ws = maps_of(runtime)
    s = runtime.runtime.settings
    area_id = str(uuid.uuid4())
    runtime.submit(
        maps.create_flight_area(
            ws,
            area_id=area_id,
            name="Pylon",
            area_type="nfz",
            content=circle(113.941, 22.581, 30.0),
            user_name="test",
        )
    ).result(10)
    broker = (
        f"mqtt://{s.mqtt.device_username}:{s.mqtt.device_password}"
        f"@127.0.0.1:{runtime.runtime.station.mqtt_port}"
    )
    options = FleetOptions(
        broker,
        docks=2,  # a Dock 1 and a Dock 2
        binding_code=s.station.binding_code,
        organization_id=s.station.workspace_id,
        seed=23,
        lat=22.58,
        lon=113.94,
    )
    commands = runtime.runtime.station.commands

    def current() -> str:
        file = runtime.submit(maps.area_file(ws)).result(5)
        return file.checksum if file is not None else ""

    def synced(sn: str, checksum: str) -> bool:
        rows = [r for r in maps.sync_status() if r.sn == sn]
        return bool(rows) and rows[0].status == "synchronized" and rows[0].checksum == checksum

    async with Fleet(options) as fleet:
        dock1, dock2 = fleet.docks
        await wait_async(lambda: synced(dock2.sn, current()), within=20)
        assert area_id in [f["id"] for f in dock2.flight_areas]
        runtime.submit(
            maps.update_flight_area(ws, area_id, name="Pylon 7", enabled=False, actor="test")
        ).result(10)
        # the name is not in the file; disabling is: one more sync with the new checksum
        await wait_async(lambda: synced(dock2.sn, current()), within=20)
        assert [f["properties"]["enable"] for f in dock2.flight_areas if f["id"] == area_id] == [
            False
        ]
        rows = runtime.submit(commands.history(dock2.sn)).result(5)
        assert [r.method for r in rows].count("flight_areas_update") == 2
        rows = runtime.submit(commands.history(dock1.sn)).result(5)
        assert "flight_areas_update" not in [r.method for r in rows]


async def wait_async(pred: Any, within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
