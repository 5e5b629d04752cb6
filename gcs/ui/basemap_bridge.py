"""The desktop's way to the station's base maps (`gcs.station.basemap.BaseMaps`), Qt side.

Calls run on the station loop through `StationBridge.run` (results on the Qt thread);
`OfflineAreaProgress` events arrive as the `progress` signal (queued to the Qt thread).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from gcs.station.basemap import BaseMaps, OfflineAreaProgress, default_user_agent
from gcs.station.tile_download import AreaRequest
from gcs.ui.bridge import StationBridge

Done = Callable[[Any, BaseException | None], None] | None


class BasemapBridge(QObject):
    """Base-map settings and offline-area downloads for the desktop. Usable until `close()`."""

    progress = Signal(object)  # dict: OfflineAreaProgress fields

    def __init__(self, bridge: StationBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._closed = False
        self._unsubscribe: Callable[[], None] | None = None
        bridge.run(self._attach())

    async def _attach(self) -> None:
        self._unsubscribe = self._station.bus.subscribe(OfflineAreaProgress, self._st_progress)

    def _st_progress(self, event: OfflineAreaProgress) -> None:
        if not self._closed:
            self.progress.emit({**dataclasses.asdict(event), "finished": event.finished})

    @property
    def _station(self) -> Any:
        return self.bridge.threaded_runtime.runtime.station

    def _maps(self) -> BaseMaps:
        maps: BaseMaps = self._station.capability(BaseMaps)
        return maps

    def close(self) -> None:
        self._closed = True
        unsubscribe, self._unsubscribe = self._unsubscribe, None

        async def detach() -> None:
            if unsubscribe is not None:
                unsubscribe()

        self.bridge.run(detach())

    # -- reads (plain values the station thread only replaces) --------------------------------

    def saved_base(self) -> str:
        """The base layer the operator chose last ("" when never)."""
        return str(self._maps().base_layer)

    def settings(self) -> dict[str, Any]:
        """The `[basemap]` settings, with `user_agent_default` for an empty user agent."""
        doc = dataclasses.asdict(self._maps().settings)
        doc["user_agent_default"] = default_user_agent()
        return doc

    def estimate(self, req: AreaRequest) -> tuple[int, int]:
        """(tiles, estimated bytes) of an area (reads only the tile files' sizes)."""
        return self._maps().estimate(req)

    def running(self) -> str:
        return self._maps().running

    # -- calls ------------------------------------------------------------------------------

    def remember(self, layer_id: str, on_done: Done = None) -> concurrent.futures.Future[None]:
        return self.bridge.run(self._maps().set_base_layer(layer_id), on_done)

    def configure(self, on_done: Done = None, **values: Any) -> concurrent.futures.Future[None]:
        return self.bridge.run(self._maps().configure(**values), on_done)

    def start(self, req: AreaRequest, on_done: Done = None) -> concurrent.futures.Future[str]:
        return self.bridge.run(self._maps().start_download(req), on_done)

    def resume(self, name: str, on_done: Done = None) -> concurrent.futures.Future[str]:
        return self.bridge.run(self._maps().resume(name), on_done)

    def cancel(self, on_done: Done = None) -> concurrent.futures.Future[bool]:
        return self.bridge.run(self._maps().cancel(), on_done)
