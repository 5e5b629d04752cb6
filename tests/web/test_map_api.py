"""Pilot's map API (protocol §8.2 #2–#5) with a real HTTP client and two WebSocket clients: one
Pilot's edit reaches the other within a second; bad elements are refused with their reason."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from command_peers import runtime, wait_for

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import LogEntry

__all__ = ["runtime"]


def http_base(rt: ThreadedRuntime) -> str:
    url = next(ep.url for ep in rt.runtime.endpoints() if ep.name == "http")
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    return f"http://127.0.0.1:{port}"


class Pilot:
    """One Pilot 2: an HTTP session with its token and a WebSocket inbox."""

    def __init__(self, session: aiohttp.ClientSession, base: str, ws_id: str) -> None:
        self.session = session
        self.base = base
        self.maps = f"{base}/map/api/v1/workspaces/{ws_id}"
        self.inbox: list[tuple[float, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None

    async def open_ws(self) -> None:
        token = self.session.headers["x-auth-token"]
        self.ws = await self.session.ws_connect(f"{self.base}/api/v1/ws?x-auth-token={token}")
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.inbox.append((time.monotonic(), json.loads(msg.data)))
                self.changed.set()

    async def wait(self, pred: Any, within: float = 5.0) -> tuple[float, dict[str, Any]]:
        """The first pushed message matching `pred` (waits on arrival, no polling sleeps)."""
        deadline = time.monotonic() + within
        seen = 0
        while True:
            for item in self.inbox[seen:]:
                if pred(item[1]):
                    return item
            seen = len(self.inbox)
            left = deadline - time.monotonic()
            if left <= 0:
                codes = [m["biz_code"] for _, m in self.inbox]
                raise AssertionError(f"no matching push within {within} s; got {codes}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        async with self.session.request(method, self.maps + path, json=body) as r:
            return r.status, await r.json()

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()


async def login(session: aiohttp.ClientSession, rt: ThreadedRuntime, flag: int = 2) -> str:
    s = rt.runtime.settings
    async with session.post(
        f"{http_base(rt)}/manage/api/v1/login",
        json={"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": flag},
    ) as r:
        doc = await r.json()
    assert doc["code"] == 0, doc
    return str(doc["data"]["access_token"])


@pytest.fixture
async def pilots(runtime: ThreadedRuntime) -> AsyncIterator[tuple[Pilot, Pilot]]:
    ws_id = runtime.runtime.settings.station.workspace_id
    base = http_base(runtime)
    async with aiohttp.ClientSession() as s1, aiohttp.ClientSession() as s2:
        s1.headers["x-auth-token"] = await login(s1, runtime)
        s2.headers["x-auth-token"] = await login(s2, runtime)
        a, b = Pilot(s1, base, ws_id), Pilot(s2, base, ws_id)
        await a.open_ws()
        await b.open_ws()
        yield a, b
        await a.close()
        await b.close()


def polygon(color: str = "#2D8CF0", closed: bool = False) -> dict[str, Any]:
    ring = [[113.9431, 22.5771], [113.9440, 22.5771], [113.9440, 22.5779], [113.9431, 22.5779]]
    if closed:
        ring.append(ring[0])
    return {
        "type": "Feature",
        "properties": {"color": color, "clampToGround": True},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


async def shared_group(pilot: Pilot) -> dict[str, Any]:
    status, body = await pilot.call("GET", "/element-groups")
    assert status == 200 and body["code"] == 0, body
    shared = [g for g in body["data"] if g["type"] == 2]
    assert len(shared) == 1, body["data"]  # exactly one app-shared group
    assert {g["type"] for g in body["data"]} == {0, 1, 2}
    return dict(shared[0])


async def test_one_pilots_edit_reaches_the_other_within_a_second(
    pilots: tuple[Pilot, Pilot],
) -> None:
    a, b = pilots
    group = await shared_group(a)
    element_id = str(uuid.uuid4())
    sent = time.monotonic()
    status, body = await a.call(
        "POST",
        f"/element-groups/{group['id']}/elements",
        {
            "id": element_id,
            "name": "PILOT 1",
            "resource": {"type": 2, "user_name": "pilot", "content": polygon()},
        },
    )
    assert status == 200 and body["data"] == {"id": element_id}, body
    arrived, push = await b.wait(
        lambda m: m["biz_code"] == "map_element_create" and m["data"]["id"] == element_id
    )
    assert arrived - sent < 1.0
    assert push["data"]["group_id"] == group["id"]
    assert push["data"]["resource"]["content"]["geometry"]["type"] == "Polygon"
    assert push["data"]["resource"]["type"] == 2 and push["data"]["name"] == "PILOT 1"

    # B edits it; A sees the update
    sent = time.monotonic()
    status, body = await b.call(
        "PUT", f"/elements/{element_id}", {"name": "PILOT 1b", "content": polygon("#E23C39")}
    )
    assert status == 200 and body["data"] == {"id": element_id}, body
    arrived, push = await a.wait(
        lambda m: m["biz_code"] == "map_element_update" and m["data"]["id"] == element_id
    )
    assert arrived - sent < 1.0
    assert push["data"]["name"] == "PILOT 1b"
    assert push["data"]["resource"]["content"]["properties"]["color"] == "#E23C39"

    # the group read back holds the edit
    group = await shared_group(b)
    [mine] = [e for e in group["elements"] if e["id"] == element_id]
    assert mine["name"] == "PILOT 1b" and mine["update_time"] >= mine["create_time"]

    # A deletes it; B sees the delete
    sent = time.monotonic()
    status, body = await a.call("DELETE", f"/elements/{element_id}")
    assert status == 200, body
    arrived, push = await b.wait(lambda m: m["biz_code"] == "map_element_delete")
    assert arrived - sent < 1.0
    assert push["data"] == {"id": element_id, "group_id": group["id"]}
    status, body = await a.call("DELETE", f"/elements/{element_id}")
    assert status == 404 and body["code"] == 404


BAD_ELEMENTS = [
    ({"type": 0, "content": {"type": "Feature", "properties": {"color": "#2D8CF0"},
      "geometry": {"type": "Point", "coordinates": [181.0, 10.0]}}}, "longitude 181"),
    ({"type": 0, "content": {"type": "Feature", "properties": {"color": "#2D8CF0"},
      "geometry": {"type": "Point", "coordinates": [10.0, -91.0]}}}, "latitude -91"),
    ({"type": 1, "content": polygon()}, "needs a LineString"),
    ({"type": 2, "content": polygon("blue")}, "colour"),
    ({"type": 2, "content": {"type": "Feature", "properties": {"color": "#2D8CF0"},
      "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}},
     "crosses itself"),
    ({"type": 1, "content": {"type": "Feature", "properties": {"color": "#2D8CF0"},
      "geometry": {"type": "LineString", "coordinates": [[0.0, 0.0]] * 10_001}}},
     "at most 10000"),
    ({"type": 7, "content": polygon()}, "'resource.type'"),
    ({"type": 0, "content": {"type": "Feature", "properties": {"color": "#2D8CF0"},
      "geometry": {"type": "Point", "coordinates": ["1", 2]}}}, "finite numbers"),
    ({"type": 0, "content": {"type": "Polygon"}}, "GeoJSON Feature"),
]  # fmt: skip


@pytest.mark.parametrize(("resource", "reason"), BAD_ELEMENTS)
async def test_bad_elements_are_refused_with_the_reason(
    runtime: ThreadedRuntime, pilots: tuple[Pilot, Pilot], resource: dict[str, Any], reason: str
) -> None:
    a, _ = pilots
    group = await shared_group(a)
    entries: list[LogEntry] = []
    st = runtime.runtime.station
    unsubscribe = runtime.submit(_subscribe(st, entries)).result(5)
    try:
        status, body = await a.call(
            "POST",
            f"/element-groups/{group['id']}/elements",
            {"id": str(uuid.uuid4()), "name": "bad", "resource": resource},
        )
        assert status == 400, body
        assert reason in body["message"], body["message"]
        wait_for(lambda: any(reason in e.message for e in entries), what="refusal event")
    finally:
        runtime.submit(_unsubscribe(unsubscribe)).result(5)
    after = await shared_group(a)
    assert not [e for e in after["elements"] if e["name"] == "bad"]


async def _subscribe(st: Any, entries: list[LogEntry]) -> Any:
    return st.bus.subscribe(LogEntry, entries.append)


async def _unsubscribe(unsubscribe: Any) -> None:
    unsubscribe()


async def test_ids_and_groups_are_checked(pilots: tuple[Pilot, Pilot]) -> None:
    a, _ = pilots
    group = await shared_group(a)
    path = f"/element-groups/{group['id']}/elements"
    element = {"name": "P", "resource": {"type": 2, "content": polygon()}}
    status, body = await a.call("POST", path, {"id": "not-a-uuid", **element})
    assert status == 400 and "UUID" in body["message"]
    element_id = str(uuid.uuid4())
    assert (await a.call("POST", path, {"id": element_id, **element}))[0] == 200
    status, body = await a.call("POST", path, {"id": element_id, **element})
    assert status == 409, body
    status, body = await a.call(
        "POST", f"/element-groups/{uuid.uuid4()}/elements", {"id": str(uuid.uuid4()), **element}
    )
    assert status == 404, body
    status, body = await a.call("PUT", f"/elements/{element_id}", {"content": {"type": "x"}})
    assert status == 400, body
    # a locked group refuses edits
    status, body = await a.call("PUT", f"/element-groups/{group['id']}", {"is_lock": True})
    assert status == 200 and body["data"]["is_lock"] is True, body
    try:
        status, body = await a.call("DELETE", f"/elements/{element_id}")
        assert status == 403 and "locked" in body["message"]
    finally:
        await a.call("PUT", f"/element-groups/{group['id']}", {"is_lock": False})
    assert (await a.call("DELETE", f"/elements/{element_id}"))[0] == 200


async def test_another_workspace_is_refused(pilots: tuple[Pilot, Pilot]) -> None:
    a, _ = pilots
    async with a.session.get(f"{a.base}/map/api/v1/workspaces/{uuid.uuid4()}/element-groups") as r:
        assert r.status == 403


async def test_clearing_a_group_refreshes_it_in_every_pilot(pilots: tuple[Pilot, Pilot]) -> None:
    a, b = pilots
    status, body = await a.call("GET", "/element-groups")
    default = next(g for g in body["data"] if g["type"] == 1)
    for i in range(3):
        point = {
            "type": "Feature",
            "properties": {"color": "#19BE6B"},
            "geometry": {"type": "Point", "coordinates": [113.94 + i / 1000, 22.57, 30.5]},
        }
        status, _ = await a.call(
            "POST",
            f"/element-groups/{default['id']}/elements",
            {"id": str(uuid.uuid4()), "name": f"pt{i}", "resource": {"type": 0, "content": point}},
        )
        assert status == 200
    status, body = await a.call("DELETE", f"/element-groups/{default['id']}/elements")
    assert status == 200 and body["data"]["deleted"] == 3, body
    _, push = await b.wait(lambda m: m["biz_code"] == "map_group_refresh")
    assert push["data"] == {"ids": [default["id"]]}
    status, body = await a.call("GET", f"/element-groups?group_id={default['id']}")
    assert [g["elements"] for g in body["data"]] == [[]]


GEOJSON_FILE = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": f"Pole {i}", "color": "#B620E0", "asset": i},
                "geometry": {"type": "Point", "coordinates": [113.94 + i / 1e4, 22.57]},
            }
            for i in range(5)
        ],
    }
).encode()


async def test_import_export_and_nothing_half_imported(pilots: tuple[Pilot, Pilot]) -> None:
    a, b = pilots
    status, body = await a.call("POST", "/element-groups", {"name": "Imported poles"})
    assert status == 200 and body["code"] == 0, body
    group_id = body["data"]["id"]
    await b.wait(lambda m: m["biz_code"] == "map_group_refresh" and group_id in m["data"]["ids"])
    url = f"{a.maps}/element-groups/{group_id}/import"
    async with a.session.post(url, params={"name": "poles.geojson"}, data=GEOJSON_FILE) as r:
        body = await r.json()
    assert r.status == 200 and body["data"] == {"count": 5}, body
    # a file whose last feature is bad adds nothing
    doc = json.loads(GEOJSON_FILE)
    doc["features"][-1]["geometry"]["coordinates"] = [200, 0]
    async with a.session.post(
        url, params={"name": "bad.geojson"}, data=json.dumps(doc).encode()
    ) as r:
        body = await r.json()
    assert (
        r.status == 200
        and body["code"] == 400
        and "feature 5" in body["message"]
        and "longitude 200" in body["message"]
    )
    status, body = await a.call("GET", f"/element-groups?group_id={group_id}")
    [group] = body["data"]
    assert len(group["elements"]) == 5
    # exported and imported again: the same names, colours and properties
    async with a.session.get(
        f"{a.maps}/export", params={"format": "kml", "group_id": group_id}
    ) as r:
        assert r.status == 200
        kml = await r.read()
    async with a.session.get(
        f"{a.maps}/export", params={"format": "geojson", "group_id": group_id}
    ) as r:
        exported = json.loads(await r.read())
    assert [f["properties"]["name"] for f in exported["features"]] == [
        f"Pole {i}" for i in range(5)
    ]
    assert {f["properties"]["color"] for f in exported["features"]} == {"#B620E0"}
    assert [f["properties"]["asset"] for f in exported["features"]] == list(range(5))
    status, body = await a.call("POST", "/element-groups", {"name": "Round trip"})
    second = body["data"]["id"]
    async with a.session.post(
        f"{a.maps}/element-groups/{second}/import", params={"name": "back.kml"}, data=kml
    ) as r:
        assert r.status == 200 and (await r.json())["data"] == {"count": 5}
    status, body = await a.call("GET", f"/element-groups?group_id={second}")
    again = body["data"][0]["elements"]
    assert [e["name"] for e in again] == [e["name"] for e in group["elements"]]
    assert [e["resource"]["content"]["geometry"] for e in again] == [
        e["resource"]["content"]["geometry"] for e in group["elements"]
    ]
    assert {e["resource"]["content"]["properties"]["color"] for e in again} == {"#B620E0"}
