"""Requests real docks send before the features behind them exist (issue: answered, not 210005),
and the warning when a dock asks for `config` while the DJI app credentials are empty."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from command_peers import DOCK, RawDock, now_ms, runtime, wait_for

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import LogEntry

__all__ = ["runtime"]


class Replies:
    def __init__(self, dock: RawDock) -> None:
        self.q: queue.Queue[dict[str, Any]] = queue.Queue()
        done = threading.Event()
        dock.c.message_callback_add(
            f"thing/product/{DOCK}/requests_reply",
            lambda c, u, m: self.q.put(json.loads(m.payload)),
        )
        dock.c.on_subscribe = lambda *_: done.set()
        dock.c.subscribe(f"thing/product/{DOCK}/requests_reply", qos=1)
        assert done.wait(10)

    def ask(self, dock: RawDock, method: str, data: Any) -> dict[str, Any]:
        tid = str(uuid.uuid4())
        dock.publish(
            "requests",
            {
                "tid": tid,
                "bid": str(uuid.uuid4()),
                "timestamp": now_ms(),
                "gateway": DOCK,
                "method": method,
                "data": data,
            },
        )
        while True:
            reply = self.q.get(timeout=10)
            if reply["tid"] == tid:
                return reply


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime) -> Iterator[tuple[RawDock, Replies]]:
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    wait_for(lambda: runtime.runtime.station.registry.is_online(DOCK), what="online")
    yield d, Replies(d)
    d.close()


def test_flight_areas_and_offline_maps_get_the_empty_documented_answer(
    dock: tuple[RawDock, Replies],
) -> None:
    d, replies = dock
    areas = replies.ask(d, "flight_areas_get", {})
    assert areas["method"] == "flight_areas_get"
    assert areas["data"] == {"result": 0, "output": {"files": []}}
    maps = replies.ask(d, "offline_map_get", {})
    assert maps["data"] == {"result": 0, "output": {"offline_map_enable": False, "files": []}}


def test_unknown_task_is_refused_with_a_reason_not_unsupported(
    dock: tuple[RawDock, Replies],
) -> None:
    d, replies = dock
    for method in ("flighttask_resource_get", "flighttask_progress_get"):
        reply = replies.ask(d, method, {"flight_id": "no-such-task", "target_sn": DOCK})
        assert reply["data"]["result"] not in (0, 210005), method
    bad = replies.ask(d, "flighttask_resource_get", {})
    assert bad["data"]["result"] == 210002


def test_config_with_empty_dji_credentials_warns_the_operator(
    runtime: ThreadedRuntime, dock: tuple[RawDock, Replies]
) -> None:
    d, replies = dock
    seen: list[LogEntry] = []
    station = runtime.runtime.station

    async def attach() -> None:
        station.bus.subscribe(LogEntry, seen.append)

    runtime.submit(attach()).result(5)
    assert not station.settings.dji.app_id  # a fresh station has none
    reply = replies.ask(d, "config", {"config_type": "json", "config_scope": "product"})
    assert "ntp_server_host" in reply["data"]
    wait_for(
        lambda: any(e.kind == "onboarding" and "app id" in e.message for e in seen),
        what="the warning in the events log",
    )
