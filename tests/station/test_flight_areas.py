"""Custom flight areas (Dock 2/3) against a literal-JSON dock: areas made over HTTP (§8.4), the
station's `flight_areas_update` through its command path, the dock's `flight_areas_get` and a
download whose SHA-256 matches, sync progress per dock with reasons, drone locations kept."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import queue
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms, runtime, wait_for

from gcs.runtime import ThreadedRuntime
from gcs.sim import Fleet, FleetOptions
from gcs.station.area_guard import AreaGuard
from gcs.station.maps import AreaRow, ElementRow, Maps, build_area_file

__all__ = ["runtime"]


class DockRequests:
    """The dock's `requests` with the station's answers (hand-written JSON)."""

    def __init__(self, dock: RawDock) -> None:
        self.q: queue.Queue[dict[str, Any]] = queue.Queue()
        done = threading.Event()
        topic = f"thing/product/{dock.sn}/requests_reply"
        dock.c.message_callback_add(topic, lambda c, u, m: self.q.put(json.loads(m.payload)))
        dock.c.on_subscribe = lambda *_: done.set()
        dock.c.subscribe(topic, qos=1)
        assert done.wait(10)
        self.dock = dock

    def ask(self, method: str, data: Any) -> dict[str, Any]:
        tid = str(uuid.uuid4())
        self.dock.publish(
            "requests",
            {
                "tid": tid,
                "bid": str(uuid.uuid4()),
                "timestamp": now_ms(),
                "gateway": self.dock.sn,
                "method": method,
                "data": data,
            },
        )
        while True:
            reply = self.q.get(timeout=10)
            if reply["tid"] == tid:
                return reply


@pytest.fixture(scope="module", autouse=True)
def manual_sync_only(runtime: ThreadedRuntime) -> None:
    """These tests sync by hand; the automatic sync has its own tests (test_area_guard.py)."""
    runtime.runtime.station.capability(AreaGuard).auto_sync = False


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime) -> Iterator[tuple[RawDock, DockRequests]]:
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    d.bind(s.station.binding_code, s.station.workspace_id)
    registry = runtime.runtime.station.registry
    wait_for(lambda: (v := registry.view(DOCK)) is not None and v.bound and v.online, what="bound")
    yield d, DockRequests(d)
    d.close()


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    url = next(ep.url for ep in runtime.runtime.endpoints() if ep.name == "http")
    base = "http://127.0.0.1:" + url.rsplit(":", 1)[1].split("/", 1)[0]
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/manage/api/v1/login",
            json={
                "username": s.pilot.default_user,
                "password": s.pilot.default_password,
                "flag": 1,
            },
        ) as r:
            session.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
        yield session, f"{base}/map/api/v1/workspaces/{s.station.workspace_id}"


CIRCLE = {
    "type": "Feature",
    "properties": {"color": "#E23C39"},
    "geometry": {"type": "Circle", "coordinates": [113.9436, 22.5775], "radius": 120.5},
}
POLYGON = {
    "type": "Feature",
    "properties": {"color": "#19BE6B"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[113.93, 22.57], [113.95, 22.57], [113.95, 22.59], [113.93, 22.59]]],
    },
}


async def post(
    session: aiohttp.ClientSession, url: str, body: Any, method: str = "POST"
) -> tuple[int, dict[str, Any]]:
    async with session.request(method, url, json=body) as r:
        return r.status, await r.json()


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        body: bytes = r.read()
        return body


async def test_dock_fetches_the_flight_area_file_and_its_checksum_matches(
    runtime: ThreadedRuntime,
    dock: tuple[RawDock, DockRequests],
    api: tuple[aiohttp.ClientSession, str],
) -> None:
    raw, requests = dock
    session, maps = api
    nfz, fence = str(uuid.uuid4()), str(uuid.uuid4())
    status, body = await post(
        session,
        f"{maps}/flight-area",
        {"id": nfz, "name": "Substation", "type": "nfz", "content": CIRCLE},
    )
    assert status == 200 and body["code"] == 0, body
    assert body["data"]["content"]["geometry"] == CIRCLE["geometry"]
    status, body = await post(
        session,
        f"{maps}/flight-area",
        {"id": fence, "name": "Site", "type": "dfence", "content": POLYGON},
    )
    assert status == 200 and body["code"] == 0, body
    status, body = await post(session, f"{maps}/flight-area/{nfz}", {"status": False}, "PUT")
    assert status == 200 and body["data"]["status"] is False, body

    async with session.get(f"{maps}/flight-areas") as r:
        listed = (await r.json())["data"]
    assert [(a["area_id"], a["type"], a["status"]) for a in listed] == [
        (nfz, "nfz", False),
        (fence, "dfence", True),
    ]

    def script(d: RawDock, command: dict[str, Any]) -> None:
        if command.get("method") == "flight_areas_update":
            d.reply(command, {"result": 0})

    raw.script = script
    status, body = await post(session, f"{maps}/flight-area/sync", {"device_sn": [DOCK]})
    assert status == 200 and body["code"] == 0, body
    [job] = body["data"]
    [update] = wait_for(lambda: raw.sent("flight_areas_update"), what="flight_areas_update")
    assert update["data"] == {} and update["bid"] == job["bid"]

    reply = requests.ask("flight_areas_get", {})
    assert reply["data"]["result"] == 0, reply
    [file] = reply["data"]["output"]["files"]
    body_bytes = download(file["url"])
    assert hashlib.sha256(body_bytes).hexdigest() == file["checksum"]
    assert file["size"] == len(body_bytes)
    assert file["name"] == f"geofence_{hashlib.md5(body_bytes).hexdigest()}.json"
    doc = json.loads(body_bytes)
    assert doc["type"] == "FeatureCollection"
    by_id = {f["id"]: f for f in doc["features"]}
    assert by_id[nfz]["geofence_type"] == "nfz"
    assert by_id[nfz]["geometry"] == {"type": "Point", "coordinates": [113.9436, 22.5775]}
    assert by_id[nfz]["properties"] == {"subType": "Circle", "radius": 120.5, "enable": False}
    assert by_id[fence]["geofence_type"] == "dfence"
    assert by_id[fence]["properties"] == {"subType": None, "radius": 0.0, "enable": True}
    ring = by_id[fence]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5  # closed for the dock

    # the dock reports its sync on the command's bid; the job ends with "synchronized"
    for status_word in ("synchronizing", "synchronized"):
        raw.event(
            "flight_areas_sync_progress",
            job["bid"],
            {
                "status": status_word,
                "reason": 0,
                "file": {"name": file["name"], "checksum": file["checksum"]},
            },
        )
    commands = runtime.runtime.station.commands
    wait_for(lambda: commands.job(job["job_id"]) is None, what="job finished")
    rows = runtime.submit(commands.history(DOCK)).result(5)
    [row] = [r for r in rows if r.id == job["job_id"]]
    assert row.status == "synchronized" and row.method == "flight_areas_update"
    async with session.get(f"{maps}/device-status") as r:
        [entry] = (await r.json())["data"]
    assert entry["device_sn"] == DOCK
    assert entry["flight_area_status"]["sync_status"] == "synchronized"
    assert entry["flight_area_status"]["checksum"] == file["checksum"]

    # a failed sync is kept with its reason in words
    raw.event("flight_areas_sync_progress", str(uuid.uuid4()), {"status": "fail", "reason": 12})
    maps_cap = runtime.runtime.station.capability(Maps)
    wait_for(lambda: maps_cap.sync_status()[0].status == "fail", what="fail kept")
    async with session.get(f"{maps}/device-status") as r:
        [entry] = (await r.json())["data"]
    assert entry["flight_area_status"]["sync_code"] == 12
    assert "checksum" in entry["flight_area_status"]["sync_msg"]

    # the aircraft's distance to each area is kept per aircraft
    raw.event(
        "flight_areas_drone_location",
        str(uuid.uuid4()),
        {"drone_locations": [{"area_id": fence, "area_distance": 42.5, "is_in_area": True}]},
        need_reply=0,
    )
    wait_for(lambda: maps_cap.drone_locations(AIRCRAFT), what="location kept")
    assert maps_cap.drone_locations(AIRCRAFT)[AIRCRAFT] == (
        {"area_id": fence, "area_distance": 42.5, "is_in_area": True},
    )


BAD_AREAS = [
    ({"type": "nfz", "content": {**CIRCLE, "geometry": {**CIRCLE["geometry"], "radius": 5}}},
     "radius"),
    ({"type": "zone", "content": POLYGON}, "'nfz'"),
    ({"type": "nfz", "content": {**POLYGON, "geometry": {"type": "Polygon", "coordinates": [
        [[0, 0], [1, 1], [1, 0], [0, 1]]]}}}, "crosses itself"),
    ({"type": "nfz", "content": {**POLYGON, "geometry": {"type": "LineString", "coordinates": [
        [0, 0], [1, 1]]}}}, "Polygon"),
    ({"type": "dfence", "content": {**POLYGON, "geometry": {"type": "Polygon", "coordinates": [
        [[113.94 + 0.01 * math.cos(2 * math.pi * i / 300),
          22.58 + 0.01 * math.sin(2 * math.pi * i / 300)] for i in range(300)]]}}},
     "at most 255"),
]  # fmt: skip


@pytest.mark.parametrize(("area", "reason"), BAD_AREAS)
async def test_bad_flight_areas_are_refused(
    api: tuple[aiohttp.ClientSession, str], area: dict[str, Any], reason: str
) -> None:
    session, maps = api
    status, body = await post(
        session, f"{maps}/flight-area", {"id": str(uuid.uuid4()), "name": "bad", **area}
    )
    assert status == 200 and body["code"] == 400 and reason in body["message"], body


def test_file_is_stable_for_the_same_areas() -> None:
    point = {**CIRCLE, "geometry": {"type": "Point", "coordinates": [113.9436, 22.5775]}}
    e = ElementRow("6a2b8c1e-0f0a-4c5e-9a55-0d0c1b2a3f4e", "g", "w", "A", 0, "u", point, 1, 1)
    a = AreaRow(e.id, "nfz", True, 100.0)
    first, second = build_area_file([(e, a)]), build_area_file([(e, a)])
    assert first.name == second.name and first.checksum == second.checksum
    assert build_area_file([(e, AreaRow(e.id, "nfz", False, 100.0))]).name != first.name


async def test_simulated_dock_syncs_and_reports_where_its_aircraft_is(
    runtime: ThreadedRuntime, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, maps = api
    s = runtime.runtime.settings
    area = str(uuid.uuid4())
    status, body = await post(
        session,
        f"{maps}/flight-area",
        {"id": area, "name": "Sim site", "type": "dfence", "content": POLYGON},
    )
    assert status == 200 and body["code"] == 0, body
    broker = (
        f"mqtt://{s.mqtt.device_username}:{s.mqtt.device_password}"
        f"@127.0.0.1:{runtime.runtime.station.mqtt_port}"
    )
    options = FleetOptions(
        broker,
        docks=2,  # the second is a Dock 2 (Dock 1 has no custom flight areas)
        binding_code=s.station.binding_code,
        organization_id=s.station.workspace_id,
        seed=11,
        lat=22.58,
        lon=113.94,
    )
    async with Fleet(options) as fleet:
        dock = fleet.docks[1]
        registry = runtime.runtime.station.registry
        await wait_async(lambda: (v := registry.view(dock.sn)) is not None and v.bound)
        status, body = await post(session, f"{maps}/flight-area/sync", {"device_sn": [dock.sn]})
        assert status == 200 and body["code"] == 0, body
        [job] = body["data"]
        maps_cap = runtime.runtime.station.capability(Maps)

        def synced() -> bool:
            rows = [r for r in maps_cap.sync_status() if r.sn == dock.sn]
            return bool(rows) and rows[0].status == "synchronized"

        await wait_async(synced)
        assert area in [f["id"] for f in dock.flight_areas]
        assert dock.flight_area_file["checksum"]
        commands = runtime.runtime.station.commands
        await wait_async(lambda: commands.job(job["job_id"]) is None)
        rows = runtime.submit(commands.history(dock.sn)).result(5)
        assert [r.status for r in rows if r.id == job["job_id"]] == ["synchronized"]
        # the aircraft takes off inside the fence: the dock reports its distance to the edge
        dock.aircraft.elevation = 30.0
        await wait_async(lambda: maps_cap.drone_locations(dock.aircraft_sn))
        reported = maps_cap.drone_locations(dock.aircraft_sn)[dock.aircraft_sn]
        [where] = [x for x in reported if x["area_id"] == area]
        assert where["is_in_area"] is True
        assert 0 < where["area_distance"] < 2000


async def wait_async(pred: Any, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


# DJI's custom flight area file template (as its docs describe it): ids that are not UUIDs,
# circles as a Point with properties.radius, polygons closed, `enable` per area.
DJI_TEMPLATE = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "id": "geofence-001",
                "type": "Feature",
                "geofence_type": "dfence",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[113.93, 22.57], [113.95, 22.57], [113.95, 22.59], [113.93, 22.57]]
                    ],
                },
                "properties": {"radius": 0, "enable": True},
            },
            {
                "id": "nfz-002",
                "type": "Feature",
                "geofence_type": "nfz",
                "geometry": {"type": "Point", "coordinates": [113.94, 22.58]},
                "properties": {"subType": "Circle", "radius": 50, "enable": False},
            },
        ],
    }
).encode()


async def test_flight_areas_import_whole_or_not_at_all(
    api: tuple[aiohttp.ClientSession, str],
) -> None:
    session, maps = api
    async with session.get(f"{maps}/flight-areas") as r:
        before = len((await r.json())["data"])
    async with session.post(
        f"{maps}/flight-areas/import", params={"name": "template.json"}, data=DJI_TEMPLATE
    ) as r:
        body = await r.json()
    assert r.status == 200 and body["data"] == {"count": 2}, body
    async with session.get(f"{maps}/flight-areas") as r:
        areas = (await r.json())["data"][before:]
    assert [(a["name"], a["type"], a["status"]) for a in areas] == [
        ("geofence-001", "dfence", True),
        ("nfz-002", "nfz", False),
    ]
    assert areas[1]["content"]["geometry"] == {
        "type": "Circle",
        "coordinates": [113.94, 22.58],
        "radius": 50.0,
    }
    # one bad area (radius below 10 m) and nothing of the file is added
    doc = json.loads(DJI_TEMPLATE)
    doc["features"][1]["properties"]["radius"] = 5
    async with session.post(
        f"{maps}/flight-areas/import", params={"name": "bad.json"}, data=json.dumps(doc).encode()
    ) as r:
        body = await r.json()
    assert r.status == 200 and body["code"] == 400 and "radius" in body["message"], body
    # polygons from a GeoJSON file become areas of the type asked for; lines are refused
    qgis = {"type": "FeatureCollection", "features": [{**POLYGON, "properties": {"name": "P"}}]}
    qgis["features"][0]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[*POLYGON["geometry"]["coordinates"][0], [113.93, 22.57]]],
    }
    async with session.post(
        f"{maps}/flight-areas/import",
        params={"name": "zones.geojson", "type": "dfence"},
        data=json.dumps(qgis).encode(),
    ) as r:
        assert r.status == 200, await r.text()
    async with session.get(f"{maps}/flight-areas") as r:
        after = (await r.json())["data"]
    assert len(after) == before + 3 and after[-1]["type"] == "dfence"
