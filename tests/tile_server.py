"""A real tile server on 127.0.0.1 for the offline-area tests (aiohttp on its own thread).

`GET /{z}/{x}/{y}.png` answers a generated PNG whose colour encodes the tile (`tile_png`), so a
test can tell which tile ended up where. Knobs: `missing` tiles answer 404, `busy_once` tiles
answer 429 with `Retry-After: 1` the first time, `forbidden` makes every answer 403, `delay_s`
slows every answer (server side). It records every request (path, User-Agent, time) and the
most requests it was serving at once.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field

from aiohttp import web


def png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A solid-colour RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = zlib.compress((b"\x00" + bytes(rgb) * size) * size, 9)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def framed_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A solid-colour PNG with a dark one-pixel frame (tile edges visible in screenshots)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    dark = bytes((60, 70, 80))
    edge = b"\x00" + dark * size
    inner = b"\x00" + dark + bytes(rgb) * (size - 2) + dark
    raw = zlib.compress(edge + inner * (size - 2) + edge, 9)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def tile_png(z: int, x: int, y: int) -> bytes:
    """The PNG the server answers for tile z/x/y (distinct per tile)."""
    return png((z * 10 % 256, x % 256, y % 256), size=8 + (x + y) % 4)


@dataclass
class Hit:
    path: str
    user_agent: str
    at: float
    status: int


@dataclass
class FakeTileServer:
    missing: set[tuple[int, int, int]] = field(default_factory=set)
    busy_once: set[tuple[int, int, int]] = field(default_factory=set)
    forbidden: bool = False
    delay_s: float = 0.0
    big: bool = False  # 256 px tiles (screenshots) instead of tiny ones
    hits: list[Hit] = field(default_factory=list)
    max_parallel: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._parallel = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-tiles", daemon=True)
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png"

    def start(self) -> FakeTileServer:
        self._thread.start()
        assert self._ready.wait(10), "tile server did not start"
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def requests_for(self, z: int, x: int, y: int) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == f"/{z}/{x}/{y}.png"]

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_get(r"/{z:\d+}/{x:\d+}/{y:\d+}.png", self._tile)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _tile(self, request: web.Request) -> web.Response:
        z, x, y = (int(request.match_info[k]) for k in ("z", "x", "y"))
        with self._lock:
            self._parallel += 1
            self.max_parallel = max(self.max_parallel, self._parallel)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            status = 200
            if self.forbidden:
                status = 403
            elif (z, x, y) in self.busy_once:
                self.busy_once.discard((z, x, y))
                status = 429
            elif (z, x, y) in self.missing:
                status = 404
            with self._lock:
                self.hits.append(
                    Hit(
                        request.path,
                        request.headers.get("User-Agent", ""),
                        time.monotonic(),
                        status,
                    )
                )
            if status == 429:
                return web.Response(status=429, headers={"Retry-After": "1"})
            if status != 200:
                return web.Response(status=status)
            big = framed_png((200 + x % 3 * 15, 215 + y % 3 * 12, 190 + z % 4 * 10))
            body = big if self.big else tile_png(z, x, y)
            return web.Response(body=body, content_type="image/png")
        finally:
            with self._lock:
                self._parallel -= 1
