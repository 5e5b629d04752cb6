"""The simulated dock's custom flight areas: it checks the file's SHA-256 before loading it
(a mismatch or a failed download is reported with its reason), and where its aircraft is."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from gcs.protocol.envelope import Message
from gcs.protocol.topics import Topic, TopicKind
from gcs.sim import flight_areas

DOCK = "7CTDM3D00BSIMFA"
FILE = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "id": "a",
                "type": "Feature",
                "geofence_type": "nfz",
                "geometry": {"type": "Point", "coordinates": [113.94, 22.58]},
                "properties": {"subType": "Circle", "radius": 100.0, "enable": True},
            }
        ],
    }
).encode()


@dataclass
class FakeMessages:
    """The dock's messaging, answering `flight_areas_get` with `files`."""

    files: list[dict[str, Any]]
    events: list[tuple[str, Any, str | None]] = field(default_factory=list)

    async def request(self, method: str, data: dict[str, Any]) -> Message:
        topic = Topic(TopicKind.REQUESTS_REPLY, DOCK)
        return Message(topic, {"result": 0, "output": {"files": self.files}}, method=method)

    def send_event(self, method: str, data: Any, *, bid: str | None = None, **_: Any) -> None:
        self.events.append((method, data, bid))


@dataclass
class FakeDock:
    messages: FakeMessages
    sn: str = DOCK
    flight_areas: list[dict[str, Any]] = field(default_factory=list)
    flight_area_file: dict[str, str] = field(default_factory=dict)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=FILE, content_type="application/json")

    app = web.Application()
    app.router.add_get("/geofence.json", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def statuses(dock: FakeDock) -> list[tuple[str, int]]:
    return [(d["status"], d["reason"]) for m, d, _ in dock.messages.events]


@pytest.mark.parametrize(
    ("checksum", "path", "expected"),
    [
        (hashlib.sha256(FILE).hexdigest(), "/geofence.json", ("synchronized", 0)),
        ("0" * 64, "/geofence.json", ("fail", 12)),  # checksum mismatch
        (hashlib.sha256(FILE).hexdigest(), "/missing.json", ("fail", 3)),  # download failed
    ],
)
async def test_dock_checks_the_file_before_loading_it(
    server: str, checksum: str, path: str, expected: tuple[str, int]
) -> None:
    file = {"name": "geofence_x.json", "url": server + path, "checksum": checksum, "size": 1}
    dock = FakeDock(FakeMessages([file]))
    await flight_areas.sync(dock, "bid-1")  # type: ignore[arg-type]
    assert statuses(dock) == [("wait_sync", 0), ("synchronizing", 0), expected]
    assert all(bid == "bid-1" for _, _, bid in dock.messages.events)
    assert bool(dock.flight_areas) == (expected[0] == "synchronized")


def test_distance_to_a_circle_and_a_polygon() -> None:
    circle = json.loads(FILE)["features"][0]
    distance, inside = flight_areas.area_location(circle, 22.58, 113.94)
    assert inside and distance == pytest.approx(100.0, abs=0.5)
    distance, inside = flight_areas.area_location(circle, 22.58 + 200 / 111_320, 113.94)
    assert not inside and distance == pytest.approx(100.0, abs=1.0)
    square = {
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[113.0, 22.0], [113.01, 22.0], [113.01, 22.01], [113.0, 22.01], [113.0, 22.0]]
            ],
        },
        "properties": {"radius": 0},
    }
    distance, inside = flight_areas.area_location(square, 22.005, 113.005)
    assert inside and 500 < distance < 600  # ~555 m to the nearest (north/south) edge
    distance, inside = flight_areas.area_location(square, 22.02, 113.005)
    assert not inside and 1000 < distance < 1200
