"""Base maps: the remembered base layer, the tile server setting and offline-area downloads.

Theory of operation
-------------------
The desktop map's base layer choice and the tile server an operator may download from are the
`[basemap]` section of gcs.toml; `BaseMaps` applies a change at once and writes only that
section (`save_section`), so a change made elsewhere and waiting for a restart is not lost.

An offline-area download is one background task at a time (the server's usage policy allows at
most two parallel requests for the whole station): `start_download(AreaRequest)` checks the
request and the tile server, then `TileFetcher` fills `<data_dir>/tiles/<name>.mbtiles`, the
folder the station's `TileStore` serves to the desktop and to Pilot under `/tiles/...`. The
file is valid (and served) from its first committed batch; starting the same name again skips
the tiles already stored (resume), and `resume(name)` re-reads the area from the file's
metadata. Progress is published as `OfflineAreaProgress` (a few per second and at the end);
every refusal and every end is also a `LogEntry` for the operator.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gcs.aio import spawn
from gcs.station.bus import Event, LogEntry
from gcs.station.capability import Capability
from gcs.station.tile_download import (
    AreaRequest,
    DownloadRefused,
    FetchReport,
    MBTilesWriter,
    TileFetcher,
    TileServer,
    area_metadata,
    estimate_bytes,
    parse_subdomains,
)
from gcs.station.tiles import SUFFIX, TileError, inspect_mbtiles, safe_name
from gcs.store.settings import BasemapSettings, save_section
from gcs.version import version

log = logging.getLogger(__name__)

__all__ = ["BaseLayerChanged", "BaseMaps", "OfflineAreaProgress"]

BASE_LAYERS_FIXED = ("grid", "offline", "online", "osm", "satellite")


@dataclass(frozen=True, slots=True)
class OfflineAreaProgress(Event):
    """An offline-area download made progress or ended.

    `status`: running, done, stopped (the server refused or the network is gone), canceled,
    failed (the file cannot be written).
    """

    name: str
    status: str
    total: int
    stored: int
    skipped: int
    failed: int
    bytes: int
    message_en: str
    message_zh: str

    @property
    def finished(self) -> bool:
        return self.status != "running"


@dataclass(frozen=True, slots=True)
class BaseLayerChanged(Event):
    base_layer: str


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def default_user_agent() -> str:
    return f"gcs/{version()} (offline DJI Cloud API ground station)"


class BaseMaps(Capability):
    """Base map settings and offline-area downloads. Usable from `start()` to `stop()`."""

    name = "basemap"

    def __init__(self, station: Any) -> None:
        super().__init__(station)
        self._task: asyncio.Task[FetchReport | None] | None = None
        self._current: str = ""
        self.last: dict[str, OfflineAreaProgress] = {}  # name -> newest progress
        self._save_lock = asyncio.Lock()

    # -- settings ------------------------------------------------------------------------

    @property
    def settings(self) -> BasemapSettings:
        section: BasemapSettings = self.station.settings.basemap
        return section

    @property
    def base_layer(self) -> str:
        """The base layer the operator chose last ("" before any choice)."""
        return self.settings.base_layer

    def server(self) -> TileServer:
        """The configured tile server.

        Raises:
            DownloadRefused: none is set, or its URL template is not usable.
        """
        s = self.settings
        return TileServer(
            url_template=s.url_template,
            subdomains=parse_subdomains(s.subdomains),
            attribution=s.attribution,
            max_zoom=s.max_zoom,
            user_agent=s.user_agent.strip() or default_user_agent(),
        )

    async def set_base_layer(self, layer_id: str) -> None:
        """Remember `layer_id` as the base layer (written to gcs.toml)."""
        if layer_id == self.settings.base_layer:
            return
        self.settings.base_layer = layer_id
        await self._save()
        self.station.bus.publish(BaseLayerChanged(_now_ms(), layer_id))

    async def configure(
        self,
        *,
        url_template: str,
        subdomains: str = "",
        attribution: str = "",
        max_zoom: int = 19,
        user_agent: str = "",
    ) -> None:
        """Set the tile server (applied at once, written to gcs.toml).

        Raises:
            DownloadRefused: the URL template is not usable (nothing changed).
        """
        if url_template.strip():
            try:
                TileServer(url_template, parse_subdomains(subdomains), attribution, max_zoom)
            except DownloadRefused as exc:
                raise self._refuse(exc) from None
        if not (0 <= max_zoom <= 22):
            raise self._refuse(
                DownloadRefused(
                    f"Max zoom {max_zoom} is out of range (0–22).",
                    f"最大缩放级别 {max_zoom} 超出范围（0–22）。",
                )
            )
        s = self.settings
        s.url_template, s.subdomains, s.attribution = url_template.strip(), subdomains, attribution
        s.max_zoom, s.user_agent = max_zoom, user_agent
        await self._save()
        self._log("info", f"tile server set: {url_template or '(none)'}")

    async def _save(self) -> None:
        async with self._save_lock:
            await asyncio.get_running_loop().run_in_executor(
                None, save_section, self.station.data_dir, "basemap", self.settings
            )

    # -- downloads -----------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        tiles = self.station.tiles
        return Path(tiles.root) if tiles is not None else self.station.data_dir / "tiles"

    def estimate(self, req: AreaRequest) -> tuple[int, int]:
        """(tile count, estimated bytes) of `req`, from the tiles stored so far when any."""
        count = req.count
        average = None
        tiles = self.station.tiles
        if tiles is not None:
            sets = tiles.list()
            stored = sum(t.tile_count for t in sets)
            if stored:
                average = sum(t.size_bytes for t in sets) / stored
        return count, estimate_bytes(count, average)

    @property
    def running(self) -> str:
        """The name of the area being downloaded ("" when none)."""
        return self._current if self._task is not None and not self._task.done() else ""

    async def start_download(self, req: AreaRequest) -> str:
        """Start storing `req` (resuming a same-named file); returns the tileset name.

        Raises:
            DownloadRefused: no usable tile server, a zoom above the server's, or another
                download is running. The refusal is also logged for the operator.
        """
        try:
            server = self.server()
            if req.max_zoom > server.max_zoom:
                raise DownloadRefused(
                    f"The tile server has tiles up to zoom {server.max_zoom}; lower the highest "
                    f"zoom (asked {req.max_zoom}).",
                    f"瓦片服务器最高只有 {server.max_zoom} 级；请降低最大缩放级别（当前 "
                    f"{req.max_zoom}）。",
                )
            if self.running:
                raise DownloadRefused(
                    f"The offline area {self.running!r} is still downloading; cancel it or "
                    "wait for it to finish (one download at a time, to respect the server).",
                    f"离线区域 {self.running!r} 仍在下载；请取消或等待其完成"
                    "（为遵守服务器规则，一次只下载一个区域）。",
                )
        except DownloadRefused as exc:
            raise self._refuse(exc) from None
        name = safe_name(req.name)
        self._current = name
        self._task = spawn(self._run(name, req, server), name=f"offline-area-{name}")
        self._log(
            "info",
            f"offline area {name}: {req.count} tiles, zoom "
            f"{req.min_zoom}–{req.max_zoom}, from {server.url_template}",
        )
        return name

    async def resume(self, name: str) -> str:
        """Start the stored area `name` again, skipping the tiles it holds.

        Raises:
            DownloadRefused: no such downloaded area, or as `start_download`.
        """
        path = self.folder / f"{safe_name(name)}{SUFFIX}"
        try:
            req = await asyncio.get_running_loop().run_in_executor(None, _stored_request, path)
        except (OSError, ValueError, KeyError, TypeError, TileError) as exc:
            raise self._refuse(
                DownloadRefused(
                    f"{name!r} is not an area this station downloaded ({exc}).",
                    f"{name!r} 不是本地面站下载的离线区域（{exc}）。",
                )
            ) from None
        return await self.start_download(req)

    async def cancel(self) -> bool:
        """Cancel the running download (tiles stored so far are kept); False if none runs."""
        task = self._task
        if task is None or task.done():
            return False
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return True

    async def _run(self, name: str, req: AreaRequest, server: TileServer) -> FetchReport | None:
        loop = asyncio.get_running_loop()
        path = self.folder / f"{name}{SUFFIX}"
        try:
            writer = await loop.run_in_executor(None, MBTilesWriter, path)
        except Exception as exc:
            self._publish_failed(
                name, req, f"cannot create {path}: {exc}", f"无法创建 {path}：{exc}"
            )
            return None
        fetcher = TileFetcher(req, server, writer, on_progress=self._progress)
        try:
            old = await loop.run_in_executor(None, writer.metadata)
            meta = _merged(old, area_metadata(req, server, old.get("format") or _guess(server)))
            await loop.run_in_executor(None, writer.set_metadata, meta)
            report = await fetcher.run()
        except asyncio.CancelledError:
            report = fetcher.report
            report.status = "canceled"
        except Exception as exc:  # never lose a download silently
            log.exception("offline area %s failed", name)
            report = fetcher.report
            report.status, report.message_en, report.message_zh = "failed", str(exc), str(exc)
        finally:
            fmt = fetcher.format
            if fmt:
                await asyncio.shield(
                    loop.run_in_executor(None, writer.set_metadata, {"format": fmt})
                )
            await asyncio.shield(loop.run_in_executor(None, writer.close))
        # The final event goes out last, with nothing awaited after it: whoever reacts to it
        # (a Resume button) finds the download finished.
        self._progress(report)
        level = "info" if report.status == "done" and not report.failed else "warning"
        self._log(
            level,
            f"offline area {name} {report.status}: {report.stored}/{report.total} tiles stored "
            f"({report.skipped} already there), {report.failed} failed"
            + (
                f" ({', '.join(f'{k}: {v}' for k, v in report.failures.items())})"
                if report.failures
                else ""
            )
            + (f". {report.message_en}" if report.message_en else ""),
        )
        return report

    def _progress(self, report: FetchReport) -> None:
        event = OfflineAreaProgress(
            _now_ms(),
            report.name,
            report.status,
            report.total,
            report.stored,
            report.skipped,
            report.failed,
            report.bytes,
            report.message_en,
            report.message_zh,
        )
        self.last[report.name] = event
        self.station.bus.publish(event)

    def _publish_failed(self, name: str, req: AreaRequest, en: str, zh: str) -> None:
        report = FetchReport(name, req.count, status="failed", message_en=en, message_zh=zh)
        self._progress(report)
        self._log("error", f"offline area {name} failed: {en}")

    def _refuse(self, exc: DownloadRefused) -> DownloadRefused:
        self._log("warning", f"offline area refused ({exc.code}): {exc}")
        return exc

    def _log(self, level: str, message: str) -> None:
        log.log(logging.WARNING if level != "info" else logging.INFO, "%s", message)
        self.station.bus.publish(LogEntry(_now_ms(), "basemap", level, message))

    async def stop(self) -> None:
        await self.cancel()

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready: settings (user agent resolved), the running area, the newest progress."""
        return {
            "settings": asdict(self.settings),
            "user_agent": self.settings.user_agent.strip() or default_user_agent(),
            "running": self.running,
            "progress": {k: asdict(v) for k, v in self.last.items()},
        }


def _guess(server: TileServer) -> str:
    path = server.url_template.split("?", 1)[0].lower()
    return (
        "jpg" if path.endswith((".jpg", ".jpeg")) else "webp" if path.endswith(".webp") else "png"
    )


def _merged(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    """New metadata for a file that may hold an earlier area: bounds and zooms are the union."""
    if "bounds" not in old:
        return new
    try:
        a = [float(v) for v in old["bounds"].split(",")]
        b = [float(v) for v in new["bounds"].split(",")]
        lo, hi = (
            min(int(old["minzoom"]), int(new["minzoom"])),
            max(int(old["maxzoom"]), int(new["maxzoom"])),
        )
    except (ValueError, KeyError):
        return new
    w, s, e, n = min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
    return {
        **new,
        "bounds": f"{w:.6f},{s:.6f},{e:.6f},{n:.6f}",
        "minzoom": str(lo),
        "maxzoom": str(hi),
        "gcs_request": json.dumps({"bounds": [w, s, e, n], "min_zoom": lo, "max_zoom": hi}),
    }


def _stored_request(path: Path) -> AreaRequest:
    if not path.is_file():
        raise FileNotFoundError(f"no file {path.name}")
    writer = MBTilesWriter(path)
    try:
        meta = writer.metadata()
    finally:
        writer.close()
    doc = json.loads(meta["gcs_request"])
    w, s, e, n = (float(v) for v in doc["bounds"])
    try:
        title = inspect_mbtiles(path).title
    except TileError:
        title = meta.get("name", "")
    return AreaRequest(path.stem, (w, s, e, n), int(doc["min_zoom"]), int(doc["max_zoom"]), title)
