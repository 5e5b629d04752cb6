"""End to end: `gcs serve` + `gcs sim --fetch-waylines` as subprocesses. A route uploaded over
HTTP is flown by a simulated dock to completion through the flight-task API, and its history is
right; a second flight is paused, resumed, called home and resumed from its break point."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from station_harness import ServeProcess, gcs_command

from gcs.runtime import read_runtime_file
from gcs.store.settings import load_settings
from gcs.wpml import PlanWaypoint, WaypointPlan, write_kmz

pytestmark = pytest.mark.slow


@pytest.fixture
def sim(serve: ServeProcess, tmp_path: Path) -> Iterator[list[str]]:
    doc = dict(serve.credentials())
    doc["mqtt_host"] = "127.0.0.1"
    cred = tmp_path / "cred.json"
    cred.write_text(json.dumps(doc))
    args = ["sim", "--credentials", str(cred), "--docks", "1", "--seed", "7"]
    proc = subprocess.Popen(
        gcs_command(*args, "--speedup", "20", "--fetch-waylines"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())

    threading.Thread(target=reader, daemon=True).start()
    yield lines
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


async def until(probe: Any, limit_s: float, what: str) -> Any:
    deadline = time.monotonic() + limit_s
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def route(model_key: str, metres_north: float) -> bytes:
    """A waypoint route for the aircraft `model_key` (the simulator flies it next to its dock)."""
    _, kind, sub = (int(x) for x in model_key.split("-"))
    lat, lon, step = 47.0, 8.0, metres_north / 111_000 / 2
    return write_kmz(
        WaypointPlan(
            waypoints=(
                PlanWaypoint(lat, lon, height=50.0),
                PlanWaypoint(lat + step, lon, height=50.0),
                PlanWaypoint(lat + 2 * step, lon + 0.0005, height=60.0),
            ),
            drone_enum_value=kind,
            drone_sub_enum_value=sub,
            payload_enum_value=None,
            auto_flight_speed=12.0,
        )
    )


async def test_a_planned_task_flies_to_completion(serve: ServeProcess, sim: list[str]) -> None:
    wait(lambda: any(x.startswith("fleet ready") for x in sim), 60, "fleet ready")
    db = sqlite3.connect(serve.data_dir / "gcs.db")
    dock_sn, aircraft_key = wait(
        lambda: db.execute(
            "SELECT d.sn, a.model_key FROM devices d JOIN devices a ON a.parent_sn = d.sn "
            "WHERE d.model_key LIKE '3-%' AND d.bound = 1"
        ).fetchone(),
        30,
        "a bound dock with its aircraft",
    )
    settings = load_settings(serve.data_dir)
    runtime = read_runtime_file(serve.data_dir)
    assert runtime is not None
    port = runtime["endpoints"]["http"].rsplit(":", 1)[1].split("/", 1)[0]
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        credentials = {
            "username": settings.pilot.default_user,
            "password": settings.pilot.default_password,
            "flag": 1,
        }
        async with http.post(f"{base}/manage/api/v1/login", json=credentials) as r:
            http.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
        ws = f"{base}/wayline/api/v1/workspaces/{settings.station.workspace_id}"

        async def upload(name: str, data: bytes) -> str:
            form = aiohttp.FormData()
            form.add_field("file", data, filename=name)
            async with http.post(f"{ws}/waylines/file/upload", data=form) as r:
                body = await r.json()
                assert r.status == 200 and body["code"] == 0, body
                return str(body["data"]["id"])

        async def task(file_id: str, name: str) -> str:
            body = {"name": name, "dock_sn": dock_sn, "file_id": file_id, "task_type": 0}
            for _ in range(60):  # the simulated aircraft may still be charging
                async with http.post(f"{ws}/flight-tasks", json=body) as r:
                    answer = await r.json()
                if answer["code"] == 0:  # a refusal is HTTP 200 with a code (web console)
                    return str(answer["data"]["job_id"])
                assert "battery" in answer["message"] or "not idle" in answer["message"], answer
                await asyncio.sleep(1)
            raise AssertionError("the dock never became ready")

        async def job(job_id: str) -> dict[str, Any]:
            async with http.get(f"{ws}/jobs", params={"page_size": "100"}) as r:
                rows = (await r.json())["data"]["list"]
            return next(j for j in rows if j["job_id"] == job_id)

        async def ended(job_id: str) -> dict[str, Any] | None:
            j = await job(job_id)
            return j if j["status"] in ("ok", "failed") else None

        async def status_is(job_id: str, status: str) -> bool:
            return (await job(job_id))["status"] == status

        async def put_status(job_id: str, value: int) -> int:
            async with http.put(f"{ws}/jobs/{job_id}", json={"status": value}) as r:
                return int((await r.json())["code"])

        short = await upload("short.kmz", route(aircraft_key, 150))
        first = await task(short, "short")
        done = await until(lambda: ended(first), 120, "task end")
        assert done["status"] == "ok", done
        assert done["progress"] == 100 and done["waypoint_index"] == 2
        async with http.get(
            f"{base}/control/api/v1/devices/{dock_sn}/jobs", params={"limit": "50"}
        ) as r:
            history = (await r.json())["data"]["list"]
        mine = {(h["method"], h["status"]) for h in history if h["bid"] == first}
        assert mine == {("flighttask_prepare", "ok"), ("flighttask_execute", "ok")}
        (status,) = db.execute("SELECT status FROM flight_tasks WHERE id = ?", [first]).fetchone()
        assert status == "ok"

        # A long flight: pause, resume, return home, resume from the break point.
        long = await upload("long.kmz", route(aircraft_key, 1500))
        second = await task(long, "long")
        await until(lambda: status_is(second, "in_progress"), 60, "flying")
        assert await put_status(second, 0) == 0
        await until(lambda: status_is(second, "paused"), 30, "paused")
        assert await put_status(second, 1) == 0
        await until(lambda: status_is(second, "in_progress"), 30, "resumed")
        async with http.post(f"{base}/control/api/v1/devices/{dock_sn}/jobs/return_home") as r:
            assert (await r.json())["code"] == 0, await r.text()
        home = await until(lambda: ended(second), 120, "home")
        assert home["status"] == "failed" and home["code"] == 322283, home
        assert home["break_point"] and home["break_point"]["break_reason"] == 1283
        # The task ends as the aircraft lands; the dock is busy a little longer (cover, charge):
        # a resume sent meanwhile is refused as "not idle", so it is sent again until taken.
        for _ in range(60):
            async with http.post(f"{ws}/jobs/{second}/breakpoint-resume") as r:
                resumed = await r.json()
            if resumed["code"] == 0:
                break
            assert "not idle" in resumed["message"] or "battery" in resumed["message"], resumed
            await asyncio.sleep(1)
        assert resumed["code"] == 0, resumed
        third = resumed["data"]["job_id"]
        done = await until(lambda: ended(third), 180, "resumed flight end")
        assert done["status"] == "ok", done
        assert done["params"]["break_point"]["index"] == home["break_point"]["index"]
