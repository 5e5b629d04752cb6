"""A simulated dock flies a task against the real station; the photos and the video it then
uploads (with its STS credentials) and reports land in the library with the task, with the
metadata the files carry and thumbnails."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from command_peers import runtime, wait_for

from gcs.link import BrokerUrl
from gcs.protocol.envelope import Message
from gcs.protocol.topics import parse_topic
from gcs.runtime import FleetThread, ThreadedRuntime
from gcs.sim import FleetOptions
from gcs.station.media import Media, MediaQuery

__all__ = ["runtime"]


@pytest.fixture
def fleet(runtime: ThreadedRuntime) -> Iterator[FleetThread]:
    st = runtime.runtime.station
    s = st.settings
    url = BrokerUrl("127.0.0.1", st.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    options = FleetOptions(
        broker_url=str(url),
        docks=1,
        binding_code=s.station.binding_code,
        organization_id=s.station.workspace_id,
        seed=5,
        speedup=100.0,
    )
    thread = FleetThread(options)
    thread.start()
    assert thread.ready.wait(20) and thread.error is None, thread.error
    yield thread
    thread.stop()


def send(rt: ThreadedRuntime, sn: str, method: str, data: dict[str, object]) -> None:
    msg = Message(
        topic=parse_topic(f"thing/product/{sn}/services"),
        data=data,
        tid=str(uuid.uuid4()),
        bid=str(uuid.uuid4()),
        timestamp=int(time.time() * 1000),
        method=method,
    )
    link = rt.runtime.station.link
    assert link is not None
    rt.call_soon(link.publish, msg, 1)


@pytest.mark.slow
def test_simulated_flight_media_lands_in_the_library(
    runtime: ThreadedRuntime, fleet: FleetThread
) -> None:
    dock = fleet.fleet.docks[0]
    wait_for(lambda: runtime.runtime.station.registry.is_online(dock.sn), 20, "sim dock online")
    dock.aircraft.battery = 90.0
    file = {"url": "http://127.0.0.1/w.kmz", "fingerprint": "abc"}
    send(runtime, dock.sn, "flighttask_prepare", {"flight_id": "sim-f1", "execute_time": 0,
                                                   "task_type": 0, "file": file})  # fmt: skip
    wait_for(lambda: "sim-f1" in dock.prepared, 10, "task prepared")
    send(runtime, dock.sn, "flighttask_execute", {"flight_id": "sim-f1"})
    media = runtime.runtime.station.capability(Media)

    def task_media() -> list[object] | None:
        rows, _ = runtime.submit(media.query(MediaQuery(flight_id="sim-f1"))).result(5)
        got, expected = runtime.submit(media.flight_counts("sim-f1")).result(5)
        # the video comes last; media_count is final once the task has ended
        done = (
            expected
            and got == expected
            and any(r.kind == "video" for r in rows)
            and all(r.thumbnail_key for r in rows)
        )
        return rows if done else None

    rows = wait_for(task_media, 60, "the task's photos and video catalogued")
    photos = [r for r in rows if r.kind == "photo"]  # type: ignore[attr-defined]
    videos = [r for r in rows if r.kind == "video"]  # type: ignore[attr-defined]
    assert len(videos) == 1 and videos[0].duration_ms and videos[0].codec
    assert len(photos) >= 1
    for p in photos:
        assert p.device_sn == dock.sn and p.source == "dock"
        assert p.lat is not None and p.gimbal_pitch == -45.0 and p.camera_model
        assert not p.note
