"""What the live-video station tests share: a station on free loopback ports with its media
server, and a literal-JSON dock (`command_peers.RawDock`) online, bound and reporting its
`live_capacity` (§7.1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms, wait_for
from station_harness import free_port

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.station.live import Live
from gcs.store.settings import Settings, load_settings

#: The literal dock's camera and its aircraft's (video ids of §7.2) and the `live_capacity` that
#: offers them (the aircraft's lens switchable to wide/zoom/ir).
DOCK_CAM = f"{DOCK}/165-0-7/normal-0"
ZOOM = f"{AIRCRAFT}/39-0-7/normal-0"

CAPACITY = {
    "available_video_number": 2,
    "coexist_video_number_max": 2,
    "device_list": [
        {
            "sn": DOCK,
            "available_video_number": 1,
            "coexist_video_number_max": 1,
            "camera_list": [
                {
                    "camera_index": "165-0-7",
                    "available_video_number": 1,
                    "coexist_video_number_max": 1,
                    "video_list": [{"video_index": "normal-0", "video_type": "normal"}],
                }
            ],
        },
        {
            "sn": AIRCRAFT,
            "available_video_number": 1,
            "coexist_video_number_max": 1,
            "camera_list": [
                {
                    "camera_index": "39-0-7",
                    "available_video_number": 1,
                    "coexist_video_number_max": 1,
                    "video_list": [
                        {
                            "video_index": "normal-0",
                            "video_type": "normal",
                            "switchable_video_types": ["wide", "zoom", "ir"],
                        }
                    ],
                }
            ],
        },
    ],
}


def live_runtime(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    configure: Callable[[Settings], None] | None = None,
) -> ThreadedRuntime:
    """A started station (MQTT, HTTP, S3, the media server's RTMP and HTTP ports all free)."""
    data_dir: Path = tmp_path_factory.mktemp(name)
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    s.live.rtmp_port, s.live.http_port = free_port(), free_port()
    if configure is not None:
        configure(s)
    rt = ThreadedRuntime(Runtime(s, data_dir))
    rt.start()
    return rt


def publish_state(d: RawDock, data: dict[str, Any]) -> None:
    d.publish(
        "state", {"tid": "t", "bid": "b", "timestamp": now_ms(), "gateway": d.sn, "data": data}
    )


def bound_live_dock(
    runtime: ThreadedRuntime,
    state: dict[str, Any],
    *,
    until: Callable[[Live], bool] | None = None,
) -> RawDock:
    """A Dock 2 (command_peers' defaults) online and bound, that has reported `state`
    (`live_capacity`, `live_status`, ...); returned once the station knows its cameras (or
    `until(live)` holds)."""
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    d.bind(s.station.binding_code, s.station.workspace_id)
    registry = runtime.runtime.station.registry
    wait_for(lambda: (v := registry.view(d.sn)) is not None and v.bound and v.online, what="bound")
    publish_state(d, state)
    live = runtime.runtime.station.capability(Live)
    ready = until or (lambda lv: d.sn in lv.gateways and bool(lv.gateways[d.sn].sources))
    wait_for(lambda: ready(live), what="live capacity")
    return d
