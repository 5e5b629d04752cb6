"""Dock flight tasks (§4.2, §5, §6) against a literal-JSON dock: the exact `flighttask_prepare`,
the KMZ behind its URL, execute, progress, pause/resume/RTH, breakpoint resume, refusals of bad
input before anything is sent, the HTTP API and its WebSocket pushes, and schedules on a
controllable clock."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from command_peers import DOCK, RawDock, now_ms, runtime, wait_for
from station_harness import SHARED_DATA

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import LogEntry
from gcs.station.missions import Missions
from gcs.station.waylines import Waylines

__all__ = ["runtime"]

ROUTE = SHARED_DATA / "waylines" / "pilot2-waypoint-makeathon.kmz"  # 0-91-1, goContinue
OTHER = SHARED_DATA / "waylines" / "psdk-sample-waypoint.kmz"  # 0-77-0
pytestmark = pytest.mark.skipif(not ROUTE.is_file(), reason=f"{ROUTE} is not present")


class Clock:
    """A station clock the test moves (epoch ms)."""

    def __init__(self) -> None:
        self.ms = now_ms()

    def __call__(self) -> int:
        return self.ms


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime) -> Iterator[RawDock]:
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.c.subscribe(f"thing/product/{DOCK}/requests_reply", 1)
    d.online(aircraft_sub_type=1)
    d.bind(s.station.binding_code, s.station.workspace_id, aircraft_model_key="0-91-1")
    registry = runtime.runtime.station.registry
    wait_for(lambda: (v := registry.view(DOCK)) is not None and v.bound and v.online, what="bound")
    d.osd(mode_code=0, drone_in_dock=1, drone_charge_state={"state": 0, "capacity_percent": 90})
    telemetry = runtime.runtime.station.telemetry
    wait_for(lambda: telemetry.current(DOCK).get("drone_in_dock") == 1, what="dock osd")
    yield d
    d.close()


@pytest.fixture(scope="module")
def routes(runtime: ThreadedRuntime, dock: RawDock) -> dict[str, str]:
    library = runtime.runtime.station.capability(Waylines).library
    ws = runtime.runtime.settings.station.workspace_id
    out = {}
    for path in (ROUTE, OTHER):
        imported = runtime.submit(
            library.import_kmz(path.read_bytes(), filename=path.name, workspace_id=ws)
        ).result(10)
        out[path.stem] = imported.row.id
    return out


@pytest.fixture
def clock(runtime: ThreadedRuntime) -> Iterator[Clock]:
    missions = runtime.runtime.station.capability(Missions)
    c = Clock()
    runtime.call_soon(setattr, missions, "now", c)
    wait_for(lambda: missions.now is c, what="clock installed")
    yield c
    runtime.call_soon(setattr, missions, "now", lambda: now_ms())


def http_base(rt: ThreadedRuntime) -> str:
    url = next(ep.url for ep in rt.runtime.endpoints() if ep.name == "http")
    return "http://127.0.0.1:" + url.rsplit(":", 1)[1].split("/", 1)[0]


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str, str]]:
    s = runtime.runtime.settings
    base = http_base(runtime)
    async with aiohttp.ClientSession() as session:
        login = {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": 1}
        async with session.post(f"{base}/manage/api/v1/login", json=login) as r:
            token = (await r.json())["data"]["access_token"]
        session.headers["x-auth-token"] = token
        yield session, f"{base}/wayline/api/v1/workspaces/{s.station.workspace_id}", base


def progress(flight_id: str, status: str, percent: int, index: int, state: int, **ext: Any) -> Any:
    return {
        "result": ext.pop("result", 0),
        "output": {
            "status": status,
            "progress": {"current_step": 19, "percent": percent},
            "ext": {
                "flight_id": flight_id,
                "track_id": "",
                "wayline_id": 0,
                "current_waypoint_index": index,
                "media_count": ext.pop("media_count", 0),
                "wayline_mission_state": state,
                **ext,
            },
        },
    }


def answer_all(d: RawDock, cmd: dict[str, Any]) -> None:
    d.reply(cmd, {"result": 0})


async def post_task(session: aiohttp.ClientSession, ws: str, body: dict[str, Any]) -> Any:
    async with session.post(f"{ws}/flight-tasks", json=body) as r:
        return r.status, await r.json()


async def job(session: aiohttp.ClientSession, ws: str, job_id: str) -> dict[str, Any]:
    async with session.get(f"{ws}/jobs", params={"page_size": "1000"}) as r:
        rows = (await r.json())["data"]["list"]
    return next(j for j in rows if j["job_id"] == job_id)


async def until(probe: Any, limit_s: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        value = await probe()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_immediate_task_literal_prepare_and_progress(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    api: tuple[aiohttp.ClientSession, str, str],
) -> None:
    session, ws, base = api
    dock.script = answer_all
    before = len(dock.sent("flighttask_prepare"))
    token = session.headers["x-auth-token"]
    async with session.ws_connect(f"{base}/api/v1/ws?x-auth-token={token}") as sock:
        status, body = await post_task(
            session,
            ws,
            {
                "name": "survey now",
                "dock_sn": DOCK,
                "file_id": routes["pilot2-waypoint-makeathon"],
                "task_type": 0,
                "rth_altitude": 120,
                "rth_mode": 1,
                "out_of_control_action": 0,
                "wayline_precision_type": 1,
                "simulate_mission": {"is_enable": 1, "latitude": 48.19, "longitude": 11.5},
            },
        )
        assert status == 200 and body["code"] == 0, body
        flight_id = body["data"]["job_id"]
        prepare = dock.sent("flighttask_prepare")[before]
        assert prepare["_topic"] == f"thing/product/{DOCK}/services"
        assert prepare["bid"] == flight_id
        data = prepare["data"]
        url = data["file"].pop("url")
        assert data["execute_time"] == pytest.approx(now_ms(), abs=10_000)
        del data["execute_time"]
        assert data == {
            "flight_id": flight_id,
            "task_type": 0,
            "wayline_type": 0,
            "file": {"fingerprint": hashlib.md5(ROUTE.read_bytes()).hexdigest()},
            "rth_altitude": 120,
            "rth_mode": 1,
            "out_of_control_action": 0,
            "exit_wayline_when_rc_lost": 0,  # the KMZ says goContinue
            "wayline_precision_type": 1,
            "simulate_mission": {"is_enable": 1, "latitude": 48.19, "longitude": 11.5},
        }
        async with aiohttp.ClientSession() as anonymous, anonymous.get(url) as r:
            kmz = await r.read()
        assert hashlib.md5(kmz).hexdigest() == hashlib.md5(ROUTE.read_bytes()).hexdigest()
        [execute] = [c for c in dock.sent("flighttask_execute") if c["bid"] == flight_id]
        assert execute["data"] == {"flight_id": flight_id}

        # The dock asks again for the file: a fresh URL with the same fingerprint (§6).
        tid = str(uuid.uuid4())

        def resource_reply() -> dict[str, Any] | None:
            dock.publish(
                "requests",
                {
                    "tid": tid,
                    "bid": str(uuid.uuid4()),
                    "timestamp": now_ms(),
                    "gateway": DOCK,
                    "method": "flighttask_resource_get",
                    "data": {"flight_id": flight_id},
                },
            )
            return next((r for r in dock.replies if r.get("tid") == tid), None)

        reply = wait_for(resource_reply, what="flighttask_resource_get reply")
        assert reply["data"]["result"] == 0
        assert reply["data"]["output"]["file"]["fingerprint"] == data["file"]["fingerprint"]
        fresh = reply["data"]["output"]["file"]["url"]
        async with aiohttp.ClientSession() as anonymous, anonymous.get(fresh) as r:
            assert await r.read() == kmz

        dock.event("flighttask_progress", flight_id, progress(flight_id, "in_progress", 40, 1, 6))
        pushed = None
        while pushed is None:
            msg = json.loads((await sock.receive(timeout=10)).data)
            if msg["biz_code"] == "flighttask_progress" and msg["data"]["bid"] == flight_id:
                if msg["data"]["output"]["status"] == "in_progress":
                    pushed = msg["data"]
        assert pushed["output"]["progress"]["percent"] == 40
        assert pushed["output"]["ext"]["current_waypoint_index"] == 1
        assert pushed["output"]["ext"]["wayline_mission_state"] == 6
        dock.event(
            "flighttask_progress", flight_id, progress(flight_id, "ok", 100, 2, 9, media_count=3)
        )

        async def finished() -> dict[str, Any] | None:
            j = await job(session, ws, flight_id)
            return j if j["status"] == "ok" else None

        final = await until(finished)
    assert final["progress"] == 100 and final["waypoint_index"] == 2
    assert final["media_count"] == 3 and final["wayline_mission_state"] == 9
    history = runtime.submit(runtime.runtime.station.commands.history(DOCK)).result(5)
    methods = {(r.method, r.status) for r in history if r.bid == flight_id}
    assert ("flighttask_prepare", "ok") in methods and ("flighttask_execute", "ok") in methods


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"dock_sn": "NOSUCHDOCK"}, "is not bound"),
        ({"rth_altitude": 10}, "20–1500 m"),
        ({"rth_altitude": 1600}, "20–1500 m"),
        ({"task_type": 1, "execute_time": 1_000}, "in the past"),
        ({"file_id": "OTHER"}, "is for 0-77-0"),
        ({"exit_wayline_when_rc_lost": 1}, "disagrees with the route"),
        ({"out_of_control_action": 3}, "0 RTH, 1 hover or 2 land"),
        ({"task_type": 2, "ready_conditions": {"battery_capacity": 150}}, "0–100"),
        ({"break_point": {"index": -1, "state": 0, "progress": 0.5}}, "break_point"),
        (
            {
                "task_type": 3,
                "recurrence": {"days": [9], "times": ["09:00"], "begin_time": 0, "end_time": 1},
            },
            "weekdays",
        ),
    ],
)
async def test_bad_input_is_refused_before_anything_is_sent(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    api: tuple[aiohttp.ClientSession, str, str],
    change: dict[str, Any],
    words: str,
) -> None:
    session, ws, _ = api
    sent = len(dock.commands)
    body = {"name": "bad", "dock_sn": DOCK, "file_id": routes["pilot2-waypoint-makeathon"]}
    body.update(change)
    if body["file_id"] == "OTHER":
        body["file_id"] = routes["psdk-sample-waypoint"]
    status, answer = await post_task(session, ws, body)
    assert status == 200 and answer["code"] != 0, answer
    assert words in answer["message"], answer
    assert answer["data"]["message_zh"]
    assert len(dock.commands) == sent


async def test_busy_dock_and_low_battery_refused_in_words(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    api: tuple[aiohttp.ClientSession, str, str],
) -> None:
    session, ws, _ = api
    telemetry = runtime.runtime.station.telemetry
    events: list[LogEntry] = []
    runtime.call_soon(runtime.runtime.station.bus.subscribe, LogEntry, events.append)
    body = {"name": "busy", "dock_sn": DOCK, "file_id": routes["pilot2-waypoint-makeathon"]}
    sent = len(dock.commands)
    try:
        dock.osd(mode_code=4)
        wait_for(lambda: telemetry.current(DOCK).get("mode_code") == 4, what="busy")
        status, answer = await post_task(session, ws, body)
        assert status == 200 and answer["code"] != 0 and "not idle" in answer["message"]
        dock.osd(mode_code=0, drone_charge_state={"state": 1, "capacity_percent": 12})
        wait_for(lambda: telemetry.current(DOCK).get("mode_code") == 0, what="idle")
        status, answer = await post_task(session, ws, body)
        assert (
            status == 200 and answer["code"] != 0 and "battery is at 12 %" in answer["message"]
        ), answer
        assert len(dock.commands) == sent
        wait_for(lambda: any("battery is at 12 %" in e.message for e in events), what="log")
    finally:
        dock.osd(mode_code=0, drone_charge_state={"state": 0, "capacity_percent": 90})
        wait_for(
            lambda: telemetry.current(DOCK)["drone_charge_state"]["capacity_percent"] == 90,
            what="charged",
        )


async def test_pause_resume_rth_and_breakpoint_resume(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    api: tuple[aiohttp.ClientSession, str, str],
) -> None:
    session, ws, base = api
    dock.script = answer_all
    status, body = await post_task(
        session,
        ws,
        {"name": "long", "dock_sn": DOCK, "file_id": routes["pilot2-waypoint-makeathon"]},
    )
    assert status == 200 and body["code"] == 0, body
    flight_id = body["data"]["job_id"]
    # Pausing a task that has not reported flying yet is still allowed (it is executing).
    dock.event("flighttask_progress", flight_id, progress(flight_id, "in_progress", 10, 0, 5))

    async def flying() -> bool:
        return (await job(session, ws, flight_id))["status"] == "in_progress"

    await until(flying)
    for value, method in ((0, "flighttask_pause"), (1, "flighttask_recovery")):
        async with session.put(f"{ws}/jobs/{flight_id}", json={"status": value}) as r:
            assert r.status == 200 and (doc := await r.json())["code"] == 0, doc
        assert dock.sent(method), method
    async with session.post(f"{base}/control/api/v1/devices/{DOCK}/jobs/return_home") as r:
        assert r.status == 200 and (doc := await r.json())["code"] == 0, doc
    assert dock.sent("return_home")
    # A task cannot be canceled while flying.
    async with session.delete(f"{ws}/jobs", params={"job_id": flight_id}) as r:
        assert r.status == 200 and (await r.json())["code"] != 0
    bp = {
        "index": 1,
        "state": 0,
        "progress": 0.4,
        "wayline_id": 0,
        "break_reason": 1283,
        "latitude": 48.19,
        "longitude": 11.5,
        "height": 80.0,
        "attitude_head": 10,
    }
    dock.event(
        "flighttask_progress",
        flight_id,
        progress(flight_id, "failed", 45, 1, 7, result=322283, break_point=bp),
    )

    async def failed() -> dict[str, Any] | None:
        j = await job(session, ws, flight_id)
        return j if j["status"] == "failed" else None

    final = await until(failed)
    assert final["code"] == 322283 and "break reason 1283" in final["message"]
    assert final["break_point"]["index"] == 1
    before = len(dock.sent("flighttask_prepare"))
    async with session.post(f"{ws}/jobs/{flight_id}/breakpoint-resume") as r:
        resumed = await r.json()
        assert r.status == 200 and resumed["code"] == 0, resumed
    new_id = resumed["data"]["job_id"]
    assert new_id != flight_id
    prepare = dock.sent("flighttask_prepare")[before]
    assert prepare["data"]["flight_id"] == new_id
    assert prepare["data"]["break_point"] == {
        "index": 1,
        "state": 0,
        "progress": 0.4,
        "wayline_id": 0,
    }
    dock.event("flighttask_progress", new_id, progress(new_id, "ok", 100, 2, 9))

    async def done() -> bool:
        return (await job(session, ws, new_id))["status"] == "ok"

    await until(done)


async def test_timed_and_recurring_on_a_controlled_clock(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    clock: Clock,
    api: tuple[aiohttp.ClientSession, str, str],
) -> None:
    session, ws, _ = api
    dock.script = answer_all
    missions = runtime.runtime.station.capability(Missions)
    wayline = routes["pilot2-waypoint-makeathon"]

    def run_due() -> None:
        runtime.submit(missions.run_due()).result(10)

    # Timed: prepared at once, executed when the clock reaches its time, not before.
    at = clock.ms + 10 * 60_000
    status, body = await post_task(
        session,
        ws,
        {"name": "timed", "dock_sn": DOCK, "file_id": wayline, "task_type": 1, "execute_time": at},
    )
    assert status == 200 and body["code"] == 0, body
    timed = body["data"]["job_id"]
    prepare = [c for c in dock.sent("flighttask_prepare") if c["bid"] == timed]
    assert prepare and prepare[0]["data"]["task_type"] == 1
    assert prepare[0]["data"]["execute_time"] == at
    clock.ms = at - 1_000
    run_due()
    assert not [c for c in dock.sent("flighttask_execute") if c["bid"] == timed]
    clock.ms = at
    run_due()
    wait_for(lambda: [c for c in dock.sent("flighttask_execute") if c["bid"] == timed], what="exec")
    dock.event("flighttask_progress", timed, progress(timed, "ok", 100, 2, 9))

    # Recurring: every day at a time 10 minutes ahead, for three days.
    import datetime as dt

    first = dt.datetime.fromtimestamp(clock.ms / 1000).replace(second=0, microsecond=0)
    first += dt.timedelta(minutes=10)
    first_ms = int(first.timestamp() * 1000)
    status, body = await post_task(
        session,
        ws,
        {
            "name": "daily",
            "dock_sn": DOCK,
            "file_id": wayline,
            "task_type": "recurring",
            "recurrence": {
                "days": list(range(7)),
                "times": [first.strftime("%H:%M")],
                "begin_time": clock.ms,
                "end_time": first_ms + 2 * 86_400_000 + 1,
            },
        },
    )
    assert status == 200 and body["code"] == 0, body
    plan_id = body["data"]["plan_id"]
    assert body["data"]["next_execute_time"] == first_ms
    # Deleting its wayline is refused while the plan is active.
    async with session.delete(f"{ws}/waylines/{wayline}") as r:
        assert r.status == 200 and (await r.json())["code"] != 0
    clock.ms = first_ms - 60_000  # the prepare lead
    run_due()

    def occurrence() -> list[dict[str, Any]]:
        return [
            c for c in dock.sent("flighttask_prepare") if c["data"].get("execute_time") == first_ms
        ]

    [prep] = wait_for(occurrence, what="occurrence prepared")
    occurrence_id = prep["data"]["flight_id"]
    assert prep["data"]["task_type"] == 1
    clock.ms = first_ms + 200
    run_due()
    wait_for(
        lambda: [c for c in dock.sent("flighttask_execute") if c["bid"] == occurrence_id],
        what="occurrence executed",
    )
    dock.event("flighttask_progress", occurrence_id, progress(occurrence_id, "ok", 100, 2, 9))

    # The station "sleeps" through the next occurrence: it is reported missed, not flown.
    executes = len(dock.sent("flighttask_execute"))
    clock.ms = first_ms + 86_400_000 + 5 * 60_000
    run_due()
    async with session.get(f"{ws}/jobs", params={"page_size": "1000"}) as r:
        data = (await r.json())["data"]
    mine = [j for j in data["list"] if j["plan_id"] == plan_id]
    assert sorted(j["status"] for j in mine) == ["missed", "ok"] or sorted(
        j["status"] for j in mine
    ) == ["executing", "missed"]
    assert len(dock.sent("flighttask_execute")) == executes
    [plan] = [p for p in data["plans"] if p["plan_id"] == plan_id]
    assert plan["next_execute_time"] == first_ms + 2 * 86_400_000
    # Stop the plan; then the wayline may go.
    async with session.delete(f"{ws}/jobs", params={"job_id": plan_id}) as r:
        assert r.status == 200 and (await r.json())["code"] == 0


async def test_conditional_task_executes_on_flighttask_ready(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    api: tuple[aiohttp.ClientSession, str, str],
) -> None:
    session, ws, _ = api
    dock.script = answer_all
    ready = {"battery_capacity": 80, "begin_time": now_ms(), "end_time": now_ms() + 3_600_000}
    status, body = await post_task(
        session,
        ws,
        {
            "name": "when charged",
            "dock_sn": DOCK,
            "file_id": routes["pilot2-waypoint-makeathon"],
            "task_type": 2,
            "ready_conditions": ready,
            "executable_conditions": {"storage_capacity": 1000},
        },
    )
    assert status == 200 and body["code"] == 0, body
    flight_id = body["data"]["job_id"]
    assert body["data"]["status"] == "prepared"
    [prepare] = [c for c in dock.sent("flighttask_prepare") if c["bid"] == flight_id]
    assert prepare["data"]["task_type"] == 2
    assert prepare["data"]["ready_conditions"] == ready
    assert prepare["data"]["executable_conditions"] == {"storage_capacity": 1000}
    assert not [c for c in dock.sent("flighttask_execute") if c["bid"] == flight_id]
    dock.event("flighttask_ready", str(uuid.uuid4()), {"flight_ids": [flight_id, "unknown-id"]})
    wait_for(
        lambda: [c for c in dock.sent("flighttask_execute") if c["bid"] == flight_id],
        what="execute after flighttask_ready",
    )
    dock.event("flighttask_progress", flight_id, progress(flight_id, "ok", 100, 2, 9))


async def test_undo_a_timed_task_not_yet_started(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    api: tuple[aiohttp.ClientSession, str, str],
) -> None:
    session, ws, _ = api
    dock.script = answer_all
    _, body = await post_task(
        session,
        ws,
        {
            "name": "later",
            "dock_sn": DOCK,
            "file_id": routes["pilot2-waypoint-makeathon"],
            "task_type": 1,
            "execute_time": now_ms() + 3_600_000,
        },
    )
    flight_id = body["data"]["job_id"]
    async with session.delete(f"{ws}/jobs", params={"job_id": flight_id}) as r:
        assert r.status == 200 and (await r.json())["data"]["canceled"] == [flight_id]
    [undo] = dock.sent("flighttask_undo")[-1:]
    assert undo["data"] == {"flight_ids": [flight_id]}
    assert (await job(session, ws, flight_id))["status"] == "canceled"


async def test_media_highest_asks_the_dock_to_upload_this_flight_first(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    api: tuple[aiohttp.ClientSession, str, str],
) -> None:
    session, ws, _ = api
    dock.script = answer_all
    _, body = await post_task(
        session,
        ws,
        {
            "name": "media",
            "dock_sn": DOCK,
            "file_id": routes["pilot2-waypoint-makeathon"],
            "task_type": 1,
            "execute_time": now_ms() + 3_600_000,
        },
    )
    flight_id = body["data"]["job_id"]
    async with session.post(f"{ws}/jobs/{flight_id}/media-highest") as r:
        assert r.status == 200 and (doc := await r.json())["code"] == 0, doc
    [cmd] = dock.sent("upload_flighttask_media_prioritize")
    assert cmd["data"] == {"flight_id": flight_id}
    async with session.post(f"{ws}/jobs/no-such-task/media-highest") as r:
        assert r.status == 200 and (await r.json())["code"] != 0
    async with session.delete(f"{ws}/jobs", params={"job_id": flight_id}) as r:
        assert r.status == 200 and (await r.json())["code"] == 0


async def test_continuous_flight_repeats_while_its_window_lasts(
    runtime: ThreadedRuntime,
    dock: RawDock,
    routes: dict[str, str],
    api: tuple[aiohttp.ClientSession, str, str],
) -> None:
    session, ws, _ = api
    dock.script = answer_all
    ready = {"battery_capacity": 50, "begin_time": now_ms(), "end_time": now_ms() + 3_600_000}
    body = {
        "name": "patrol",
        "dock_sn": DOCK,
        "file_id": routes["pilot2-waypoint-makeathon"],
        "task_type": 2,
        "ready_conditions": ready,
        "continuous": True,
    }
    timed = {**body, "task_type": 1, "execute_time": now_ms() + 60_000}
    status, answer = await post_task(session, ws, timed)
    assert status == 200 and answer["code"] != 0 and "conditional" in answer["message"]
    status, answer = await post_task(session, ws, body)
    assert status == 200 and answer["code"] == 0, answer
    first = answer["data"]["job_id"]
    [prepare] = [c for c in dock.sent("flighttask_prepare") if c["bid"] == first]
    assert "continuous" not in prepare["data"]
    dock.event("flighttask_ready", str(uuid.uuid4()), {"flight_ids": [first]})
    wait_for(lambda: [c for c in dock.sent("flighttask_execute") if c["bid"] == first], what="1st")
    dock.event("flighttask_progress", first, progress(first, "ok", 100, 2, 9))

    def next_prepare() -> list[dict[str, Any]]:
        return [
            c
            for c in dock.sent("flighttask_prepare")
            if c["data"].get("task_type") == 2
            and c["data"].get("ready_conditions") == ready
            and c["bid"] != first
        ]

    [again] = wait_for(next_prepare, what="the next flight prepared")
    second = again["bid"]
    # The dock has the prepare; the station records it as prepared once the dock's answer is
    # back (a moment later).
    deadline = time.monotonic() + 10
    while (await job(session, ws, second))["status"] != "prepared":
        assert time.monotonic() < deadline, "the second flight was never recorded as prepared"
        await asyncio.sleep(0.02)
    # Stopping it: cancel the waiting one; nothing is prepared after that.
    async with session.delete(f"{ws}/jobs", params={"job_id": second}) as r:
        assert r.status == 200 and (await r.json())["code"] == 0
    assert dock.sent("flighttask_undo")[-1]["data"] == {"flight_ids": [second]}
    assert len(next_prepare()) == 1
