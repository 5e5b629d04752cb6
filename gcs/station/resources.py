"""Files docks ask for before a flight (protocol §6): flight-area and offline-map files.

Until the station has custom flight areas and offline maps, a dock gets the documented empty
answer (an empty `files` list: nothing to sync, so no failed sync is reported). The feature
modules replace these answers by registering their own capability for the method. A task's
wayline URL and progress (`flighttask_resource_get`, `flighttask_progress_get`) are answered by
`gcs.station.missions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gcs.protocol.envelope import Message
from gcs.station.capability import Capability, RequestHandler


class DockResources(Capability):
    name = "dock-resources"

    def requests(self) -> Mapping[str, RequestHandler]:
        return {
            "flight_areas_get": self._flight_areas,
            "offline_map_get": self._offline_map,
        }

    async def _flight_areas(self, msg: Message) -> dict[str, Any]:
        return {"files": []}

    async def _offline_map(self, msg: Message) -> dict[str, Any]:
        return {"offline_map_enable": False, "files": []}
