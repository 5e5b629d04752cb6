"""The simulator's Dock 3 asked for url_type 4 (WHIP) pushes its test picture over WebRTC with
aiortc, answering like a device; the station's playback URL decodes it, the time drawn into
the picture gives the latency (printed, not asserted), and stop ends the push."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from station_harness import free_port
from test_live_sim import first_frames
from waits import async_wait_until as until

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.sim import Fleet, FleetOptions
from gcs.sim.products import DOCK3
from gcs.station.live import Live
from gcs.store.settings import load_settings

pytestmark = pytest.mark.slow
pytest.importorskip("av")
pytest.importorskip("aiortc", reason="aiortc (the test extra) is not installed")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedRuntime]:
    data_dir: Path = tmp_path_factory.mktemp("live-whip-e2e")
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
        docks=3,  # Dock 1, Dock 2, Dock 3
        seed=12,
        binding_code=s.station.binding_code,
        organization_id=s.station.workspace_id,
    )
    fleet = Fleet(options)
    await fleet.start(timeout_s=30)
    try:
        yield fleet
    finally:
        await fleet.stop()


async def test_simulated_dock3_pushes_over_whip(runtime: ThreadedRuntime, fleet: Fleet) -> None:
    station = runtime.runtime.station
    live = station.capability(Live)
    dock = next(d for d in fleet.docks if d.product is DOCK3)
    dock.aircraft.powered = True
    await until(lambda: (v := station.registry.view(dock.sn)) is not None and v.bound, 30, "bound")
    await until(
        lambda: (
            dock.sn in live.gateways
            and any(s.sn == dock.aircraft_sn for s in live.gateways[dock.sn].sources)
        ),
        30,
        "the Dock 3's capacity",
    )
    source = next(s for s in live.gateways[dock.sn].sources if s.sn == dock.aircraft_sn)

    t0 = time.monotonic()
    stream = await asyncio.wrap_future(
        runtime.submit(live.start_stream(source.video_id, url_type=4, video_quality=2))
    )
    assert (
        stream.ingest_url.startswith("http://127.0.0.1:") and "/rtc/v1/whip/" in stream.ingest_url
    )
    loop = asyncio.get_running_loop()
    frames, latencies = await loop.run_in_executor(
        None, first_frames, live.playback_url(stream), 60
    )
    first_s = time.monotonic() - t0
    assert frames[0].shape == (720, 1280, 3)
    [push] = dock.live.pushes.values()
    assert type(push).__name__ == "WhipPush" and push.sessions >= 1, push.last_error
    # the device reports the stream live in its live_status, as for RTMP
    await until(
        lambda: any(
            e.live and e.video_id == source.video_id for e in live.gateways[dock.sn].status
        ),
        10,
        "live_status",
    )

    await asyncio.wrap_future(runtime.submit(live.stop_stream(source.video_id)))
    await until(lambda: not dock.live.pushes, 10, "the push ended")
    async with aiohttp.ClientSession() as http, http.get(live.playback_url(stream)) as r:
        assert r.status == 404  # the station forgot the stream
    lat = sorted(latencies[10:])
    print(
        json.dumps(
            {
                "whip_first_frame_s": round(first_s, 2),
                "latency_ms_p50": lat[len(lat) // 2],
                "latency_ms_max": lat[-1],
            }
        )
    )
