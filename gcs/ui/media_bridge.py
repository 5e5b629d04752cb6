"""The media library for the desktop: its calls, run on the station through the bridge.

Like `gcs.ui.map_bridge`, this is the only place the media panel reaches the station; the panel
itself works from what these calls return and the `MediaChanged` events they relay.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from gcs.station.flight_rules import MissionError
from gcs.station.media import Media, MediaChanged, MediaQuery, MediaRow
from gcs.station.missions import Missions
from gcs.ui.bridge import StationBridge


class MediaAccess(QObject):
    """The media library's calls for the desktop (on top of `StationBridge.run`)."""

    changed = Signal(object)  # MediaChanged, delivered on the Qt thread

    def __init__(self, bridge: StationBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._off: Callable[[], None] | None = None
        rt = bridge.threaded_runtime

        def forward(event: MediaChanged) -> None:
            # runs on the station thread; the signal is queued to the Qt thread
            try:
                self.changed.emit(event)
            except RuntimeError:  # the panel was destroyed without close()
                off, self._off = self._off, None
                if off is not None:
                    off()

        async def attach() -> None:
            self._off = rt.runtime.station.bus.subscribe(MediaChanged, forward)

        rt.submit(attach()).result(10)

    def _media(self) -> Media:
        return self.bridge.threaded_runtime.runtime.station.capability(Media)

    def close(self) -> None:
        off, self._off = self._off, None
        rt = self.bridge.threaded_runtime
        if off is not None and rt.thread.is_alive():

            async def detach() -> None:
                off()

            try:
                rt.submit(detach()).result(5)
            except Exception:  # the loop may be stopping
                pass

    def query(
        self, q: MediaQuery, on_done: Callable[[tuple[list[MediaRow], int] | None, Any], None]
    ) -> None:
        async def run() -> tuple[list[MediaRow], int]:
            return await self._media().query(q)

        self.bridge.run(run(), on_done)

    def thumbnail(
        self,
        row: MediaRow,
        decode: Callable[[bytes], QImage | None],
        on_done: Callable[[QImage | None, Any], None],
    ) -> None:
        """The item's thumbnail, decoded by `decode` off the GUI thread (a QImage may be made
        on any thread; the panel only turns it into a pixmap)."""

        async def run() -> QImage | None:
            data = await self._media().thumbnail(row)
            if not data:
                return None
            return await asyncio.get_running_loop().run_in_executor(None, decode, data)

        self.bridge.run(run(), on_done)

    def delete(self, row: MediaRow, on_done: Callable[[MediaRow | None, Any], None]) -> None:
        async def run() -> MediaRow | None:
            return await self._media().delete(row.id, actor="desktop")

        self.bridge.run(run(), on_done)

    def flight_counts(
        self, flight_id: str, on_done: Callable[[tuple[int, int | None] | None, Any], None]
    ) -> None:
        async def run() -> tuple[int, int | None]:
            return await self._media().flight_counts(flight_id)

        self.bridge.run(run(), on_done)

    def prioritize(
        self, gateway_sn: str, flight_id: str, on_done: Callable[[Any, Any], None]
    ) -> None:
        """`upload_flighttask_media_prioritize` through the station's command path."""
        self.bridge.run_command(
            gateway_sn,
            "upload_flighttask_media_prioritize",
            {"flight_id": flight_id},
            on_done=on_done,
        )

    def export(
        self, row: MediaRow, target: Path, on_done: Callable[[int | None, Any], None]
    ) -> concurrent.futures.Future[int]:
        """Copy the file to `target` (its folder made if needed); cancelling the returned
        future stops the copy and removes the partial file."""

        async def run() -> int:
            return await self._media().export(row, target)

        return self.bridge.run(run(), on_done)

    def get(self, media_id: int, on_done: Callable[[MediaRow | None, Any], None]) -> None:
        async def run() -> MediaRow | None:
            return await self._media().get(media_id)

        self.bridge.run(run(), on_done)

    def task_names(
        self, flight_ids: list[str], on_done: Callable[[dict[str, str] | None, Any], None]
    ) -> None:
        """The names of these flight tasks (flight_id → name), those the station knows."""
        station = self.bridge.threaded_runtime.runtime.station

        async def run() -> dict[str, str]:
            try:
                missions = station.capability(Missions)
            except LookupError:
                return {}
            names: dict[str, str] = {}
            for flight_id in flight_ids:
                try:
                    task = await missions.task(flight_id)
                except MissionError:
                    continue
                if task.name:
                    names[flight_id] = task.name
            return names

        self.bridge.run(run(), on_done)

    def image(
        self,
        row: MediaRow,
        decode: Callable[[bytes], QImage | None],
        on_done: Callable[[QImage | None, Any], None],
    ) -> None:
        """The full picture for the viewer: fetched by the station, decoded by `decode` in an
        executor (never on the GUI thread); `on_done(image, error)` on the Qt thread, image
        None when the bytes are not a picture Qt can read."""

        async def run() -> QImage | None:
            data = await self._media().content(row)
            return await asyncio.get_running_loop().run_in_executor(None, decode, data)

        self.bridge.run(run(), on_done)

    def play_url(
        self, row: MediaRow, on_done: Callable[[str | None, Any], None], ttl_s: int = 900
    ) -> None:
        """A short-lived presigned GET of the file, for the video player (valid `ttl_s`)."""

        async def run() -> str:
            if row.status != "ok":
                raise OSError(f"{row.name} is not in the store: {row.note or row.status}")
            return self._media().download_url(row, ttl_s)

        self.bridge.run(run(), on_done)
