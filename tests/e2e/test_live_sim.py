"""Live video end to end with the simulator: a stream started through the HTTP API is pushed by
the simulated dock as real H.264 over RTMP, received by the station's media server and decoded
from the station's playback URL within 3 s; a lens change shows in the picture; two streams at
once; stop frees everything. The glass-to-glass latency (sending time drawn in the picture) is
printed, not asserted."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from station_harness import free_port
from waits import async_wait_until as until

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.sim import Fleet, FleetOptions
from gcs.store.settings import load_settings

pytestmark = pytest.mark.slow
av = pytest.importorskip("av")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedRuntime]:
    data_dir: Path = tmp_path_factory.mktemp("live-e2e")
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    s.live.rtmp_port, s.live.http_port = free_port(), free_port()
    rt = ThreadedRuntime(Runtime(s, data_dir))
    rt.start()
    yield rt
    rt.stop()


@pytest.fixture
async def fleet(runtime: ThreadedRuntime) -> AsyncIterator[Fleet]:
    s = runtime.runtime.settings
    st = runtime.runtime.station
    url = f"mqtt://{s.mqtt.device_username}:{s.mqtt.device_password}@127.0.0.1:{st.mqtt_port}"
    options = FleetOptions(
        url,
        docks=2,
        seed=5,
        binding_code=s.station.binding_code,
        organization_id=s.station.workspace_id,
    )
    fleet = Fleet(options)
    await fleet.start(timeout_s=30)
    try:
        for dock in fleet.docks:
            await until(
                lambda d=dock: (v := st.registry.view(d.sn)) is not None and v.bound,
                30,
                "docks bound",
            )
        yield fleet
    finally:
        await fleet.stop()


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    url = next(ep.url for ep in runtime.runtime.endpoints() if ep.name == "http")
    base = "http://127.0.0.1:" + url.rsplit(":", 1)[1].split("/", 1)[0]
    async with aiohttp.ClientSession() as session:
        login = {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": 1}
        async with session.post(f"{base}/manage/api/v1/login", json=login) as r:
            session.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
        yield session, base


def first_frames(url: str, n: int) -> tuple[list[Any], list[float]]:
    """Decode `n` frames of the playback URL; each with the latency read from the picture."""
    from gcs.sim.video import read_time_ms

    frames, latencies = [], []
    options = {"fflags": "nobuffer", "analyzeduration": "200000", "probesize": "32768"}
    c: Any = av.open(url, options=options, timeout=(10.0, 10.0))
    try:
        for frame in c.decode(video=0):
            now = int(time.time() * 1000) & 0xFFFFFFFF
            img = frame.to_ndarray(format="rgb24")
            latencies.append((now - read_time_ms(img)) & 0xFFFFFFFF)
            frames.append(img)
            if len(frames) >= n:
                break
    finally:
        c.close()
    return frames, latencies


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with session.post(url, json=body) as r:
        answer = await r.json()
    assert answer["code"] == 0, answer
    return answer["data"]


async def test_live_with_the_simulator(
    runtime: ThreadedRuntime, fleet: Fleet, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    a, b = fleet.docks
    a.aircraft.powered = True
    live = f"{base}/manage/api/v1/live"
    loop = asyncio.get_running_loop()

    async def capacity() -> list[dict[str, Any]]:
        async with session.get(f"{live}/capacity") as r:
            return list((await r.json())["data"])

    devices: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while {a.aircraft_sn, b.sn} - {d["sn"] for d in devices}:
        assert time.monotonic() < deadline, devices
        devices = await capacity()
        await asyncio.sleep(0.2)
    by_sn = {d["sn"]: d for d in devices}
    zoom_cam = by_sn[a.aircraft_sn]["cameras_list"][0]["videos_list"][0]["id"]
    dock_cam = by_sn[b.sn]["cameras_list"][0]["videos_list"][0]["id"]

    t0 = time.monotonic()
    one = await post(session, f"{live}/streams/start", {"url_type": 1, "video_id": zoom_cam})
    frames, _ = await loop.run_in_executor(None, first_frames, one["url"], 1)
    first_frame_s = time.monotonic() - t0
    assert frames[0].shape == (360, 640, 3)
    assert first_frame_s < 3.0, f"first frame after {first_frame_s:.2f} s"

    # a second stream at once, from the other dock's own camera
    two = await post(session, f"{live}/streams/start", {"url_type": 1, "video_id": dock_cam})
    (f1, l1), (f2, l2) = await asyncio.gather(
        loop.run_in_executor(None, first_frames, one["url"], 30),
        loop.run_in_executor(None, first_frames, two["url"], 30),
    )
    assert len(f1) == len(f2) == 30

    # lens: the simulated camera paints the wide lens blue
    await post(session, f"{live}/streams/switch", {"video_id": zoom_cam, "video_type": "wide"})
    wide, _ = await loop.run_in_executor(None, first_frames, one["url"], 20)
    r, g, bl = (wide[-1][64:, :8].reshape(-1, 3).mean(axis=0)).tolist()
    assert bl > r + 60 and bl > g + 40, (r, g, bl)
    await post(session, f"{live}/streams/update", {"video_id": zoom_cam, "video_quality": 1})

    # stop frees everything: the playback URLs answer 404, the devices stop pushing
    station = runtime.runtime.station
    from gcs.station.live import Live

    for vid in (zoom_cam, dock_cam):
        await post(session, f"{live}/streams/stop", {"video_id": vid})
    assert not station.capability(Live).streams
    for url in (one["url"], two["url"]):
        async with session.get(url) as r:
            assert r.status == 404
    await until(lambda: not a.live.pushes and not b.live.pushes, 10, "pushes ended")
    lat_all = sorted(l1 + l2)
    print(
        json.dumps(
            {
                "first_frame_s": round(first_frame_s, 2),
                "latency_ms_p50": lat_all[len(lat_all) // 2],
                "latency_ms_max": lat_all[-1],
            }
        )
    )
