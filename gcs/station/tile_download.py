"""Storing an area of a tile server into an MBTiles file: tile maths, the writer, the fetcher.

Theory of operation
-------------------
An *area request* is a name, a WGS84 box and a zoom range. `tile_ranges` turns it into the
XYZ tiles that cover the box at each zoom (Web Mercator, y counted from the north, latitudes
clamped to ±85.0511°), so the tile count and an estimated size are known before anything is
fetched; `AreaRequest` refuses absurd requests in its constructor (more than `MAX_TILES` tiles,
a zoom above `MAX_ZOOM`, a box that is not a box).

`MBTilesWriter` (blocking; run it in an executor) owns one MBTiles file: `metadata` and `tiles`
tables with the unique index the spec recommends, rows in the TMS scheme (row 0 in the south:
`tms_row = 2**z - 1 - y`). It tells which tiles are already stored, so a cancelled or failed
download started again skips them (resume), and it commits in batches.

`TileFetcher` downloads the missing tiles with aiohttp under a tile server's usage policy: a
User-Agent naming the product, at most `MAX_PARALLEL` (2) requests at a time, 429/503 answers
pause every worker for the server's `Retry-After` and the tile is asked again (a few times),
403 stops the whole download (the server refuses us: continuing would be abuse), and any other
failure (404, 500, a bad body, a network error) is counted and skipped. Progress goes to a
callback at most a few times a second; the final report is the caller's to announce (once
its own cleanup is done, so "finished" really means nothing runs any more).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from gcs.aio import spawn
from gcs.protocol.errors import StationCode

__all__ = [
    "MAX_PARALLEL",
    "MAX_TILES",
    "MAX_ZOOM",
    "AreaRequest",
    "DownloadRefused",
    "FetchReport",
    "MBTilesWriter",
    "TileFetcher",
    "TileServer",
    "estimate_bytes",
    "tile_count",
    "tile_ranges",
]

MAX_TILES = 100_000
MAX_ZOOM = 19
MAX_PARALLEL = 2
MAX_LAT = 85.0511287798
#: Bytes per tile assumed before anything was downloaded (a typical 256 px PNG street map).
DEFAULT_TILE_BYTES = 20_000
MAX_RETRIES = 5  # a tile answered 429/503 more often than this counts as failed
MAX_WAIT_S = 300.0  # the longest Retry-After honoured; longer ones stop the download
GIVE_UP_AFTER = 50  # consecutive network errors: the server (or the internet) is gone
COMMIT_EVERY = 64


class DownloadRefused(Exception):
    """A download request the station will not run, or a download the server stopped.

    `code` is the DJI-style code, `str()` the English reason and `zh` the Chinese one.
    """

    def __init__(self, en: str, zh: str, code: int = StationCode.INVALID_PARAMETER) -> None:
        super().__init__(en)
        self.code = int(code)
        self.zh = zh

    def text(self, lang: str = "en") -> str:
        return self.zh if lang.lower().startswith("zh") else str(self)


# -- tile maths --------------------------------------------------------------------------------


def _tile_x(lon: float, z: int) -> int:
    n = 1 << z
    return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))


def _tile_y(lat: float, z: int) -> int:
    n = 1 << z
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    rad = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n
    return min(n - 1, max(0, int(y)))


def tile_ranges(
    bounds: tuple[float, float, float, float], min_zoom: int, max_zoom: int
) -> Iterator[tuple[int, int, int, int, int]]:
    """(z, x0, x1, y0, y1) per zoom, inclusive, for the tiles covering `bounds` (w, s, e, n)."""
    west, south, east, north = bounds
    for z in range(min_zoom, max_zoom + 1):
        yield z, _tile_x(west, z), _tile_x(east, z), _tile_y(north, z), _tile_y(south, z)


def tile_count(bounds: tuple[float, float, float, float], min_zoom: int, max_zoom: int) -> int:
    """How many tiles cover `bounds` from `min_zoom` to `max_zoom`."""
    return sum(
        (x1 - x0 + 1) * (y1 - y0 + 1)
        for _z, x0, x1, y0, y1 in tile_ranges(bounds, min_zoom, max_zoom)
    )


def estimate_bytes(count: int, average: float | None = None) -> int:
    """Estimated file size for `count` tiles of `average` bytes (default: a street-map PNG)."""
    return int(count * (average or DEFAULT_TILE_BYTES))


@dataclass(frozen=True, slots=True)
class AreaRequest:
    """An area to store offline. Raises `DownloadRefused` when it is not sensible."""

    name: str
    bounds: tuple[float, float, float, float]  # west, south, east, north (degrees)
    min_zoom: int
    max_zoom: int
    title: str = ""

    def __post_init__(self) -> None:
        w, s, e, n = self.bounds
        if not all(math.isfinite(v) for v in self.bounds) or not (
            -180 <= w < e <= 180 and -90 <= s < n <= 90
        ):
            raise DownloadRefused(
                f"The area {self.bounds} is not a box on the map (west < east, south < north, "
                "within ±180°/±90°). Pick the area again.",
                f"区域 {self.bounds} 不是有效的地图范围"
                "（西 < 东，南 < 北，经纬度在 ±180°/±90° 内）。请重新选择区域。",
            )
        if not (0 <= self.min_zoom <= self.max_zoom):
            raise DownloadRefused(
                f"Zoom range {self.min_zoom}–{self.max_zoom} is not valid: the lowest zoom must "
                "be 0 or more and not above the highest.",
                f"缩放级别范围 {self.min_zoom}–{self.max_zoom} 无效："
                "最小级别须 ≥ 0 且不大于最大级别。",
            )
        if self.max_zoom > MAX_ZOOM:
            raise DownloadRefused(
                f"Zoom {self.max_zoom} is too close: offline areas go up to zoom {MAX_ZOOM} "
                "(about 0.3 m a pixel). Lower the highest zoom.",
                f"缩放级别 {self.max_zoom} 过大：离线区域最高到 {MAX_ZOOM} 级（约 0.3 米/像素）。"
                "请降低最大缩放级别。",
            )
        count = self.count
        if count > MAX_TILES:
            raise DownloadRefused(
                f"{count:,} tiles is too many (at most {MAX_TILES:,} at once, to respect the "
                "tile server). Choose a smaller area or a lower highest zoom.",
                f"{count:,} 个瓦片过多（每次最多 {MAX_TILES:,} 个，以遵守瓦片服务器的使用规则）。"
                "请缩小区域或降低最大缩放级别。",
            )

    @property
    def count(self) -> int:
        return tile_count(self.bounds, self.min_zoom, self.max_zoom)

    def tiles(self) -> Iterator[tuple[int, int, int]]:
        """Every (z, x, y) of the area, lowest zoom first."""
        for z, x0, x1, y0, y1 in tile_ranges(self.bounds, self.min_zoom, self.max_zoom):
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    yield z, x, y


@dataclass(frozen=True, slots=True)
class TileServer:
    """Where tiles come from: a URL template with {z} {x} {y} and optionally {s}."""

    url_template: str
    subdomains: tuple[str, ...] = ()
    attribution: str = ""
    max_zoom: int = MAX_ZOOM
    user_agent: str = "gcs"

    def __post_init__(self) -> None:
        url = self.url_template.strip()
        if not url.startswith(("http://", "https://")) or not all(
            k in url for k in ("{z}", "{x}", "{y}")
        ):
            raise DownloadRefused(
                "No usable tile server is set: the URL template must be an http(s) address "
                "with {z}, {x} and {y} (and {s} for subdomains), from a server you may "
                "download from. Set it in the offline-area dialog.",
                "未设置可用的瓦片服务器：URL 模板须为包含 {z}、{x}、{y}（子域名用 {s}）的 http(s) "
                "地址，且您有权从该服务器下载。请在离线区域对话框中设置。",
            )
        if "{s}" in url and not self.subdomains:
            raise DownloadRefused(
                "The URL template uses {s} but no subdomains are set (for example: a,b,c).",
                "URL 模板使用了 {s}，但未设置子域名（例如 a,b,c）。",
            )

    def url(self, z: int, x: int, y: int) -> str:
        sub = self.subdomains[(x + y) % len(self.subdomains)] if self.subdomains else ""
        return (
            self.url_template.strip()
            .replace("{s}", sub)
            .replace("{z}", str(z))
            .replace("{x}", str(x))
            .replace("{y}", str(y))
        )


def parse_subdomains(text: str) -> tuple[str, ...]:
    """ "a,b,c" or "abc" (Leaflet's form) → ("a", "b", "c")."""
    text = text.strip()
    if "," in text:
        return tuple(p.strip() for p in text.split(",") if p.strip())
    return tuple(text)


# -- the MBTiles file --------------------------------------------------------------------------


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


class MBTilesWriter:
    """One MBTiles file being filled (blocking; one thread at a time). Usable until `close()`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS metadata (name TEXT, value TEXT);"
            "CREATE UNIQUE INDEX IF NOT EXISTS metadata_name ON metadata (name);"
            "CREATE TABLE IF NOT EXISTS tiles (zoom_level INTEGER, tile_column INTEGER,"
            " tile_row INTEGER, tile_data BLOB);"
            "CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles"
            " (zoom_level, tile_column, tile_row);"
        )
        self._db.commit()

    def metadata(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._db.execute("SELECT name, value FROM metadata")}

    def set_metadata(self, values: dict[str, str]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO metadata (name, value) VALUES (?, ?)", list(values.items())
        )
        self._db.commit()

    def stored(self, z: int) -> set[tuple[int, int]]:
        """The (x, y) (XYZ, y from the north) already stored at zoom `z`."""
        top = (1 << z) - 1
        return {
            (x, top - row)
            for x, row in self._db.execute(
                "SELECT tile_column, tile_row FROM tiles WHERE zoom_level = ?", (z,)
            )
        }

    def put(self, tiles: list[tuple[int, int, int, bytes]]) -> None:
        """Store (z, x, y, data) tiles (XYZ) in one transaction."""
        self._db.executemany(
            "INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row, tile_data) "
            "VALUES (?, ?, ?, ?)",
            [(z, x, (1 << z) - 1 - y, data) for z, x, y, data in tiles],
        )
        self._db.commit()

    def summary(self) -> tuple[int, int]:
        """(tile count, total tile bytes)."""
        row = self._db.execute("SELECT count(*), coalesce(sum(length(tile_data)), 0) FROM tiles")
        count, size = row.fetchone()
        return int(count), int(size)

    def close(self) -> None:
        self._db.close()


def area_metadata(req: AreaRequest, server: TileServer, fmt: str) -> dict[str, str]:
    """The MBTiles metadata of a downloaded area (plus the request, to resume it)."""
    w, s, e, n = req.bounds
    return {
        "name": req.title or req.name,
        "type": "baselayer",
        "version": "1",
        "description": "Stored for offline use by the gcs ground station",
        "format": fmt,
        "bounds": f"{w:.6f},{s:.6f},{e:.6f},{n:.6f}",
        "center": f"{(w + e) / 2:.6f},{(s + n) / 2:.6f},{req.min_zoom}",
        "minzoom": str(req.min_zoom),
        "maxzoom": str(req.max_zoom),
        "attribution": server.attribution,
        "gcs_request": json.dumps(
            {"bounds": list(req.bounds), "min_zoom": req.min_zoom, "max_zoom": req.max_zoom}
        ),
    }


# -- fetching ------------------------------------------------------------------------------------


@dataclass(slots=True)
class FetchReport:
    """How a download is going; `status` running|done|canceled|stopped|failed."""

    name: str
    total: int
    stored: int = 0  # already in the file, or fetched and stored
    skipped: int = 0  # already in the file when the download (re)started
    failed: int = 0
    bytes: int = 0  # fetched in this run
    status: str = "running"
    message_en: str = ""
    message_zh: str = ""
    failures: dict[str, int] = field(default_factory=dict)  # reason -> count

    @property
    def done(self) -> int:
        return self.stored + self.failed

    def fail(self, reason: str) -> None:
        self.failed += 1
        self.failures[reason] = self.failures.get(reason, 0) + 1


def retry_after(value: str | None, default: float = 5.0) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


class _Stop(Exception):
    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


class TileFetcher:
    """Downloads the missing tiles of one request into one writer. One `run()` per object."""

    def __init__(
        self,
        req: AreaRequest,
        server: TileServer,
        writer: MBTilesWriter,
        *,
        on_progress: Callable[[FetchReport], None],
        progress_interval_s: float = 0.25,
        parallel: int = MAX_PARALLEL,
    ) -> None:
        self.req = req
        self.server = server
        self.writer = writer
        self.report = FetchReport(req.name, req.count)
        self._on_progress = on_progress
        self._interval = progress_interval_s
        self._last_progress = 0.0
        self._parallel = max(1, min(parallel, MAX_PARALLEL))
        self._resume_at = 0.0  # loop time before which nobody asks the server
        self._pending: list[tuple[int, int, int, bytes]] = []
        self._format: str | None = None
        self._errors_in_row = 0

    async def run(self) -> FetchReport:
        """Download; returns the final report (status done/stopped/canceled/failed).

        Cancelling the task stores what was fetched and ends with status "canceled".
        """
        loop = asyncio.get_running_loop()
        try:
            todo = await loop.run_in_executor(None, self._missing)
            self.report.skipped = self.report.stored = self.report.total - len(todo)
            self._progress(force=True)
            queue: asyncio.Queue[tuple[int, int, int]] = asyncio.Queue()
            for tile in todo:
                queue.put_nowait(tile)
            timeout = aiohttp.ClientTimeout(total=30, sock_connect=10)
            headers = {"User-Agent": self.server.user_agent}
            async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
                workers = [
                    spawn(self._worker(session, queue), name=f"tiles-{self.req.name}-{i}")
                    for i in range(self._parallel)
                ]
                try:
                    await asyncio.gather(*workers)
                finally:
                    for w in workers:
                        w.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)
            self.report.status = "done"
            if self.report.failed:
                self.report.message_en = f"{self.report.failed} tiles could not be fetched"
                self.report.message_zh = f"{self.report.failed} 个瓦片未能下载"
        except _Stop as stop:
            self.report.status = "stopped"
            self.report.message_en, self.report.message_zh = str(stop), stop.zh
        except asyncio.CancelledError:
            self.report.status = "canceled"
            await asyncio.shield(self._flush(loop))
            raise
        except (OSError, sqlite3.Error) as exc:
            self.report.status = "failed"
            self.report.message_en = f"the offline map file cannot be written: {exc}"
            self.report.message_zh = f"无法写入离线地图文件：{exc}"
        await self._flush(loop)
        return self.report

    def _missing(self) -> list[tuple[int, int, int]]:
        have: dict[int, set[tuple[int, int]]] = {}
        out = []
        for z, x, y in self.req.tiles():
            if z not in have:
                have[z] = self.writer.stored(z)
            if (x, y) not in have[z]:
                out.append((z, x, y))
        return out

    async def _worker(
        self, session: aiohttp.ClientSession, queue: asyncio.Queue[tuple[int, int, int]]
    ) -> None:
        loop = asyncio.get_running_loop()
        while not queue.empty():
            z, x, y = queue.get_nowait()
            data = await self._fetch(session, z, x, y)
            if data is not None:
                self._pending.append((z, x, y, data))
                self.report.stored += 1
                self.report.bytes += len(data)
                if len(self._pending) >= COMMIT_EVERY:
                    await self._flush(loop)
            self._progress()

    async def _fetch(self, session: aiohttp.ClientSession, z: int, x: int, y: int) -> bytes | None:
        loop = asyncio.get_running_loop()
        url = self.server.url(z, x, y)
        for _attempt in range(MAX_RETRIES + 1):
            wait = self._resume_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                async with session.get(url, allow_redirects=True) as resp:
                    status = resp.status
                    if status in (429, 503):
                        delay = retry_after(resp.headers.get("Retry-After"))
                        if delay > MAX_WAIT_S:
                            raise _Stop(
                                f"The tile server asks to wait {delay:.0f} s ({status}); "
                                "stopped. Start the download again later: stored tiles are kept.",
                                f"瓦片服务器要求等待 {delay:.0f} 秒（{status}）；已停止。"
                                "请稍后重新开始下载：已下载的瓦片会保留。",
                            )
                        self._resume_at = max(self._resume_at, loop.time() + delay)
                        continue
                    if status == 403:
                        raise _Stop(
                            "The tile server refused the download (403 Forbidden): this "
                            "station may not download from it (usage policy, API key or "
                            "User-Agent). Stopped; check the tile server settings.",
                            "瓦片服务器拒绝下载（403 Forbidden）：本地面站无权从该服务器下载"
                            "（使用规则、API 密钥或 User-Agent）。已停止；请检查瓦片服务器设置。",
                        )
                    if status != 200:
                        self._errors_in_row = 0
                        self.report.fail(f"HTTP {status}")
                        return None
                    data = await resp.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._errors_in_row += 1
                self.report.fail(type(exc).__name__)
                if self._errors_in_row >= GIVE_UP_AFTER:
                    raise _Stop(
                        f"{self._errors_in_row} requests in a row failed ({exc}); is the "
                        "computer online? Stopped: start again to resume.",
                        f"连续 {self._errors_in_row} 次请求失败（{exc}）；电脑是否联网？"
                        "已停止：重新开始即可继续下载。",
                    ) from exc
                return None
            self._errors_in_row = 0
            fmt = _sniff(data)
            if fmt is None:
                self.report.fail("not an image")
                return None
            self._format = self._format or fmt
            return data
        self.report.fail("server busy (429/503)")
        return None

    async def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._pending = self._pending, []
        if batch:
            await loop.run_in_executor(None, self.writer.put, batch)

    @property
    def format(self) -> str | None:
        """The image format of the tiles fetched (None before the first)."""
        return self._format

    def _progress(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_progress >= self._interval:
            self._last_progress = now
            self._on_progress(self.report)
