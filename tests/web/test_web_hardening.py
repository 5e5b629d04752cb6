"""The Pilot web server as a hostile peer finds it: split and oversized bodies, slowloris, a
connection flood, password guessing and cross-site pages (issue 17 items 1-4).

The station runs in-process (real broker, real sockets on 127.0.0.1) so that the events it
publishes on its bus can be checked; clients are raw sockets where the byte timing matters.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from station_harness import free_port

from gcs.station.bus import LogEntry
from gcs.station.core import Station
from gcs.store.settings import load_settings
from gcs.web.keys import LOGIN_GUARD
from gcs.web.login_guard import LoginGuard
from gcs.web.server import WebServer

pytestmark = pytest.mark.asyncio(loop_scope="module")
IDLE_S = 1.0
CAP = 40
LOGIN = "/manage/api/v1/login"


@dataclass
class Running:
    station: Station
    web: WebServer
    events: list[LogEntry]
    username: str
    password: str

    @property
    def port(self) -> int:
        assert self.web.http_port is not None
        return self.web.http_port

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    data_dir: Path = tmp_path_factory.mktemp("web-hardening")
    settings = load_settings(data_dir)
    settings.station.host = "127.0.0.1"
    settings.mqtt.port = free_port()
    settings.ntp.port = settings.ntp.fallback_port = free_port(socket.SOCK_DGRAM)
    settings.http.port = settings.http.https_port = 0
    station = Station(settings, data_dir)
    await station.start()
    events: list[LogEntry] = []
    station.bus.subscribe(LogEntry, events.append)
    web = WebServer(
        station,
        idle_timeout_s=IDLE_S,
        max_connections=CAP,
        login_guard=LoginGuard(user_free=3, address_free=8, base_delay_s=30.0),
    )
    await web.start()
    try:
        yield Running(
            station, web, events, settings.pilot.default_user, settings.pilot.default_password
        )
    finally:
        await web.stop()
        await station.stop()


async def raw_exchange(port: int, *pieces: bytes, gap_s: float = 0.3) -> tuple[int, bytes]:
    """Send `pieces` as separate TCP writes `gap_s` apart; returns (status, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i, piece in enumerate(pieces):
            if i:
                await asyncio.sleep(gap_s)  # the point of the test: the body arrives late
            writer.write(piece)
            await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await asyncio.wait_for(reader.readexactly(length), 10)
        return status, body
    finally:
        writer.close()


def login_head(length: int | None, *, chunked: bool = False) -> bytes:
    head = f"POST {LOGIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    elif length is not None:
        head += f"Content-Length: {length}\r\n"
    return (head + "\r\n").encode()


# --- item 1: bodies are read whole ------------------------------------------------------


async def test_login_body_in_two_writes_is_read_whole(running: Running) -> None:
    body = json.dumps(
        {"username": running.username, "password": running.password, "flag": 2}
    ).encode()
    half = len(body) // 2
    status, answer = await raw_exchange(
        running.port, login_head(len(body)) + body[:half], body[half:]
    )
    assert status == 200, answer
    assert json.loads(answer)["data"]["access_token"]


async def test_chunked_body_in_pieces_and_a_1mb_chunked_body(running: Running) -> None:
    body = json.dumps({"username": running.username, "password": running.password}).encode()
    first, second = body[:10], body[10:]
    status, answer = await raw_exchange(
        running.port,
        login_head(None, chunked=True) + b"%x\r\n%s\r\n" % (len(first), first),
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(second), second),
    )
    assert status == 200, answer
    big = b'{"username": "' + b"a" * (1 << 20) + b'"}'
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(big[i : i + 65536]), big[i : i + 65536])
        for i in range(0, len(big), 65536)
    )
    status, answer = await raw_exchange(
        running.port, login_head(None, chunked=True) + chunks + b"0\r\n\r\n"
    )
    assert status == 413, answer
    assert json.loads(answer)["code"] == 413


# --- item 2: header deadline, idle timeout, connection cap ------------------------------


async def _closed_by_peer(sock: socket.socket, within: float) -> bool:
    """Trickle header lines until the server closes the socket (True) or `within` passes."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + within
    n = 0
    while time.monotonic() < deadline:
        try:
            sock.send(b"X-Slow-%d: y\r\n" % n)
            n += 1
            data = await asyncio.wait_for(loop.sock_recv(sock, 1024), 0.2)
            if data == b"" or b"408" in data or b"400" in data:
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


async def test_slowloris_and_idle_connections_are_closed(running: Running) -> None:
    socks = []
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", running.port))
            s.setblocking(False)
            s.send(b"GET /pilot/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # head never finished
            socks.append(s)
        idle = socket.create_connection(("127.0.0.1", running.port))  # says nothing at all
        idle.setblocking(False)
        socks.append(idle)
        started = time.monotonic()
        results = await asyncio.gather(*(_closed_by_peer(s, IDLE_S * 6) for s in socks[:-1]))
        assert all(results), results
        loop = asyncio.get_running_loop()
        assert await asyncio.wait_for(loop.sock_recv(idle, 10), IDLE_S * 6) == b""
        assert time.monotonic() - started < IDLE_S * 6
    finally:
        for s in socks:
            s.close()
    # A keep-alive connection that finished its request is closed when idle, too.
    reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
    writer.write(b"GET /pilot/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    lines = head.split(b"\r\n")
    length = int(next(x for x in lines if x.lower().startswith(b"content-length"))[15:])
    await reader.readexactly(length)
    assert await asyncio.wait_for(reader.read(), IDLE_S * 6) == b""
    writer.close()


async def test_connections_beyond_the_cap_get_503(running: Running) -> None:
    loop = asyncio.get_running_loop()
    socks = []
    try:
        for _ in range(CAP):
            s = socket.create_connection(("127.0.0.1", running.port))
            socks.append(s)

        async def opened() -> bool:
            return len(running.web.runner.server.connections) >= CAP  # type: ignore[union-attr]

        await wait_for(opened)
        extra = socket.create_connection(("127.0.0.1", running.port))
        extra.setblocking(False)
        socks.append(extra)
        answer = await asyncio.wait_for(loop.sock_recv(extra, 200), 5)
        assert answer.startswith(b"HTTP/1.1 503")
        assert any("refused" in e.message and e.kind == "web" for e in running.events)
    finally:
        for s in socks:
            s.close()

    async def drained() -> bool:
        return len(running.web.runner.server.connections) == 0  # type: ignore[union-attr]

    await wait_for(drained)
    async with aiohttp.ClientSession() as http, http.get(running.base + "/pilot/") as r:
        assert r.status == 200


async def wait_for(predicate: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


# --- item 3: login back-off -------------------------------------------------------------


async def _login(http: aiohttp.ClientSession, base: str, user: str, password: str) -> Any:
    async with http.post(base + LOGIN, json={"username": user, "password": password}) as r:
        return r.status, await r.json(), r.headers.get("Retry-After")


async def test_wrong_passwords_back_off_per_user_and_per_address(running: Running) -> None:
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(6):
            status, _, _ = await _login(http, running.base, running.username, "wrong")
            statuses.append(status)
        assert statuses[:3] == [403, 403, 403]
        assert set(statuses[3:]) == {429}
        # Locked: even the right password waits, and the answer says for how long.
        status, doc, retry = await _login(http, running.base, running.username, running.password)
        assert status == 429 and retry is not None and int(retry) > 0
        assert "try again" in doc["message"]
        logged = [e for e in running.events if e.kind == "login" and "refused for" in e.message]
        assert logged and running.username in logged[0].message and logged[0].level == "warning"
        # The address: other names from the same address are refused after 8 failures.
        for i in range(10):
            status, _, _ = await _login(http, running.base, f"nobody{i}", "wrong")
        assert status == 429
        assert any("address 127.0.0.1" in e.message for e in running.events if e.kind == "login")
    assert running.web.app is not None
    assert running.web.app[LOGIN_GUARD].refused >= 4


# --- item 4: CORS ------------------------------------------------------------------------


async def test_only_the_stations_own_pages_may_call_across_origins(running: Running) -> None:
    body = {"username": "x", "password": "y"}
    own_https = f"https://127.0.0.1:{running.web.https_port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            running.base + "/manage/api/v1/users/current",
            headers={"Origin": "http://evil.example"},
        ) as r:
            assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
            assert "other sites" in (await r.json())["message"]
        async with http.options(
            running.base + LOGIN,
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        ) as r:
            assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
        async with http.get(
            running.base + "/manage/api/v1/users/current", headers={"Origin": "null"}
        ) as r:
            assert r.status == 403
        # Same origin (the H5 pages Pilot's WebView opens) and the station's HTTPS listener.
        for origin in (running.base, own_https, f"http://localhost:{running.port}"):
            async with http.options(
                running.base + LOGIN,
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            ) as r:
                assert r.status == 200, origin
                assert r.headers["Access-Control-Allow-Origin"] == origin
                assert "x-auth-token" in r.headers["Access-Control-Allow-Headers"]
        async with http.get(
            running.base + "/manage/api/v1/users/current", headers={"Origin": running.base}
        ) as r:
            assert r.status == 401
            assert r.headers["Access-Control-Allow-Origin"] == running.base
            assert r.headers["Vary"] == "Origin"
        # Pilot's own native calls carry no Origin: no CORS header, nothing refused.
        async with http.post(running.base + LOGIN, json=body) as r:
            assert r.status in (403, 429) and "Access-Control-Allow-Origin" not in r.headers
        async with http.get(
            running.base + "/pilot/", headers={"Origin": "http://evil.example"}
        ) as r:
            assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers


async def test_an_operator_allowed_origin_may_call_the_api() -> None:
    """A web console served elsewhere (DJI's demo front end) works once the operator lists its
    origin in `[http] allowed_origins`; other sites stay refused."""
    from aiohttp.test_utils import make_mocked_request

    from gcs.web.app import OriginPolicy

    policy = OriginPolicy(["127.0.0.1"], [18080], extra=["http://127.0.0.1:18090/"])
    request = make_mocked_request(
        "GET", "/manage/api/v1/login", headers={"Host": "127.0.0.1:18080"}
    )
    assert policy.allows("http://127.0.0.1:18090", request)
    assert not policy.allows("http://127.0.0.1:18091", request)
    assert not policy.allows("http://evil.example", request)
    assert OriginPolicy(["127.0.0.1"], [18080]).allows("http://127.0.0.1:18080", request)
