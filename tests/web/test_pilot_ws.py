"""The Pilot WebSocket (protocol §9): handshake auth, pushes within 1 s, slow clients dropped."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from pilot_peers import (
    DOCK2,
    M3D,
    PilotStation,
    RawGateway,
    aircraft_osd,
    rc_osd,
    start_pilot_station,
)
from waits import async_wait_until

from gcs.aio import spawn
from gcs.web.ws import PILOT, WEB, WsHub

RC_SN = "5YSZL260021WS1"
DRONE_SN = "1581F5BKD225DWS1"
DOCK_SN = "7CTDM4100BWS01"
DOCK_DRONE_SN = "1581F6Q8D24AWS01"


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotStation]:
    st = start_pilot_station(tmp_path_factory.mktemp("pilot-ws") / "station")
    yield st
    st.stop()


async def login(s: aiohttp.ClientSession, st: PilotStation) -> dict[str, Any]:
    async with s.post(
        st.http + "manage/api/v1/login",
        json={"username": st.username, "password": st.password, "flag": 2},
    ) as r:
        doc = await r.json()
        assert doc["code"] == 0, doc
        return dict(doc["data"])


async def bind(http: aiohttp.ClientSession, st: PilotStation, token: str, sn: str) -> None:
    """POST the binding until the station knows the device (as the H5 page polls)."""
    for _ in range(200):
        async with http.post(
            st.http + f"manage/api/v1/devices/{sn}/binding",
            headers={"x-auth-token": token},
            json={},
        ) as r:
            if r.status == 200:
                return
            assert r.status == 404, await r.text()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sn} could not be bound")


def ws_url(st: PilotStation, token: str) -> str:
    return st.http.replace("http://", "ws://") + "api/v1/ws?x-auth-token=" + quote(token, safe="")


class Inbox:
    """Messages of one WebSocket with their arrival time."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.items: list[tuple[float, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.task = spawn(self._read(), name="test-inbox")

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data != "pong":
                self.items.append((time.monotonic(), json.loads(msg.data)))
                self.changed.set()

    async def wait(self, pred: Any, within: float = 5.0) -> tuple[float, dict[str, Any]]:
        deadline = time.monotonic() + within
        seen = 0
        while True:
            for item in self.items[seen:]:
                if pred(item[1]):
                    return item
            seen = len(self.items)
            left = deadline - time.monotonic()
            if left <= 0:
                codes = [m["biz_code"] for _, m in self.items]
                raise AssertionError(f"no matching message within {within} s; got {codes}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass

    async def close(self) -> None:
        self.task.cancel()
        await self.ws.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_wrong_token_is_refused_at_the_handshake(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    good = (await login(http, station))["access_token"]
    for token in ("", "nonsense", good[:-3] + "abc"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(ws_url(station, token))
        assert err.value.status == 401
    async with http.ws_connect(ws_url(station, good)) as ws:
        await ws.send_str("ping")
        msg = await ws.receive(timeout=2)
        assert msg.data == "pong"


async def test_pushes_arrive_within_one_second(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    me = await login(http, station)
    token = me["access_token"]
    inbox = Inbox(await http.ws_connect(ws_url(station, token)))
    rc = RawGateway(
        station.mqtt_port, me["mqtt_username"], me["mqtt_password"], RC_SN, aircraft_sn=DRONE_SN
    )
    user, pw = station.device_login
    dock = RawGateway(
        station.mqtt_port,
        user,
        pw,
        DOCK_SN,
        model=DOCK2,
        aircraft_sn=DOCK_DRONE_SN,
        aircraft_model=M3D,
    )
    try:
        rc.update_topo()
        dock.update_topo()
        for sn in (RC_SN, DOCK_SN):
            await bind(http, station, token, sn)
        await inbox.wait(lambda m: m["biz_code"] == "device_update_topo")

        # Aircraft leaves and comes back: device_offline then device_online, each within 1 s.
        t0 = time.monotonic()
        rc.update_topo(with_aircraft=False)
        at, msg = await inbox.wait(
            lambda m: m["biz_code"] == "device_offline" and m["data"].get("sn") == DRONE_SN
        )
        assert at - t0 < 1.0
        assert msg["data"]["online_status"] is False
        t0 = time.monotonic()
        rc.update_topo()
        at, msg = await inbox.wait(
            lambda m: m["biz_code"] == "device_online" and m["data"].get("sn") == DRONE_SN
        )
        assert at - t0 < 1.0
        assert msg["version"] == "1.0" and isinstance(msg["timestamp"], int)
        assert msg["data"]["device_model"]["key"] == "0-67-0"

        # OSD of the RC, its aircraft and the dock's aircraft reach Pilot's map.
        cases = [
            (rc, RC_SN, rc_osd(22.5401, 113.9401)),
            (rc, DRONE_SN, aircraft_osd(22.5411, 113.9411)),
            (dock, DOCK_DRONE_SN, aircraft_osd(22.6, 114.0, 88.25)),
        ]
        for gw, sn, data in cases:
            t0 = time.monotonic()
            gw.osd(sn, data)
            at, msg = await inbox.wait(
                lambda m, sn=sn: m["biz_code"] == "device_osd" and m["data"]["sn"] == sn
            )
            assert at - t0 < 1.0, (sn, at - t0)
            host = msg["data"]["host"]
            assert host["latitude"] == data["latitude"]
            assert host["longitude"] == data["longitude"]
            assert host["height"] == data["height"]
            if sn != RC_SN:
                assert host["attitude_head"] == 45.0 and host["horizontal_speed"] == 7.5
                assert host["elevation"] == 100.2 and host["vertical_speed"] == 0.4
    finally:
        rc.close()
        dock.close()
        await inbox.close()


def dead_client(host: str, port: int, token: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/v1/ws?x-auth-token={quote(token, safe='')} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


async def test_500_dead_clients_do_not_stall_a_live_one(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    me = await login(http, station)
    token = me["access_token"]
    rc = RawGateway(
        station.mqtt_port, me["mqtt_username"], me["mqtt_password"], RC_SN, aircraft_sn=DRONE_SN
    )
    host, port = "127.0.0.1", int(station.http.rsplit(":", 1)[1].strip("/"))
    dead = [dead_client(host, port, token) for _ in range(500)]
    for s in dead:  # the handshake answer, then never another read
        s.settimeout(10)
        assert s.recv(12) == b"HTTP/1.1 101"
    inbox = Inbox(await http.ws_connect(ws_url(station, token)))
    try:
        rc.update_topo()
        await bind(http, station, token, RC_SN)
        sent: dict[float, float] = {}
        latencies = []
        for i in range(150):
            height = 1000.0 + i
            sent[height] = time.monotonic()
            rc.osd(DRONE_SN, aircraft_osd(22.5, 113.9, height))
            await asyncio.sleep(0.01)
        deadline = time.monotonic() + 10
        got: set[float] = set()
        while len(got) < len(sent) and time.monotonic() < deadline:
            await inbox.wait(
                lambda m: (
                    m["biz_code"] == "device_osd"
                    and m["data"]["host"].get("height") in sent
                    and m["data"]["host"]["height"] not in got
                ),
                within=max(0.1, deadline - time.monotonic()),
            )
            for at, m in inbox.items:
                h = (
                    m["data"].get("host", {}).get("height")
                    if m["biz_code"] == "device_osd"
                    else None
                )
                if h in sent and h not in got:
                    got.add(h)
                    latencies.append(at - sent[h])
        assert len(got) == len(sent)
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        assert p99 < 1.0, (statistics.median(latencies), p99)
    finally:
        for s in dead:
            s.close()
        rc.close()
        await inbox.close()


async def test_hub_drops_a_client_that_does_not_read() -> None:
    """In-process: a non-reading client is cut off once its queue is full; others get all."""
    hub = WsHub(max_buffer=256 * 1024)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await hub.serve(request, "ws-1", request.query.get("who", "?"))

    app = web.Application()
    app.router.add_get("/api/v1/ws", handler)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sock = dead_client("127.0.0.1", port, "x")
    try:
        async with aiohttp.ClientSession() as s:
            good = await s.ws_connect(f"ws://127.0.0.1:{port}/api/v1/ws?who=good")
            for _ in range(100):
                if hub.count("ws-1") == 2:
                    break
                await asyncio.sleep(0.02)
            assert hub.count("ws-1") == 2
            payload = {"blob": "x" * 65536}
            received = 0
            published = 0
            while hub.dropped_clients == 0 and published < 2000:
                hub.publish("ws-1", "device_osd", payload)
                published += 1
                msg = await good.receive(timeout=5)
                assert json.loads(msg.data)["biz_code"] == "device_osd"
                received += 1
            assert hub.dropped_clients == 1, published
            assert hub.count("ws-1") == 1
            # The dropped client's memory is bounded: dropped after a few hundred KB.
            assert published < 100
            hub.publish("ws-1", "device_update_topo", {})
            msg = await good.receive(timeout=5)
            assert json.loads(msg.data)["biz_code"] == "device_update_topo"
            await good.close()
    finally:
        sock.close()
        await runner.cleanup()


async def test_hub_pushes_to_one_audience_in_order() -> None:
    """A message for web consoles (or Pilots) reaches only those clients; messages for everyone
    reach both; each client gets its frames of a loop turn in the order they were published."""
    hub = WsHub()

    async def handler(request: web.Request) -> web.StreamResponse:
        who = request.query["who"]
        return await hub.serve(request, "ws-1", who, WEB if who == "web" else PILOT)

    app = web.Application()
    app.router.add_get("/api/v1/ws", handler)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as s:
            pilot = await s.ws_connect(f"ws://127.0.0.1:{port}/api/v1/ws?who=pilot")
            console = await s.ws_connect(f"ws://127.0.0.1:{port}/api/v1/ws?who=web")
            await async_wait_until(lambda: hub.count("ws-1") == 2, 5, "both connected")
            assert hub.has_clients("ws-1", WEB) and hub.has_clients("ws-1", PILOT)
            assert not hub.has_clients("ws-2", WEB)
            assert hub.publish("ws-1", "device_osd", {"n": 1}, PILOT) == 1
            assert hub.publish("ws-1", "device_update_topo", {"n": 2}) == 2
            assert hub.publish("ws-1", "device_osd", {"n": 3}, WEB) == 1
            assert hub.publish("ws-1", "device_update_topo", {"n": 4}) == 2

            async def frames(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[int]:
                return [json.loads((await ws.receive(timeout=5)).data)["data"]["n"]
                        for _ in range(n)]  # fmt: skip

            assert await frames(pilot, 3) == [1, 2, 4]
            assert await frames(console, 3) == [2, 3, 4]
            await console.close()
            await async_wait_until(lambda: not hub.has_clients("ws-1", WEB), 5, "web gone")
            assert hub.publish("ws-1", "device_osd", {"n": 5}, WEB) == 0
            assert hub.has_clients("ws-1", PILOT)
            await pilot.close()
    finally:
        await runner.cleanup()
