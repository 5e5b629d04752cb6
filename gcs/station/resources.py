"""Files docks ask for before a flight (protocol §6): offline-map files.

Until the station has offline maps, a dock gets the documented empty answer (an empty `files`
list: nothing to sync, so no failed sync is reported). Flight-area files are answered by
`gcs.station.maps`, a task's wayline URL and progress (`flighttask_resource_get`,
`flighttask_progress_get`) by `gcs.station.missions`.
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
            "offline_map_get": self._offline_map,
        }

    async def _offline_map(self, msg: Message) -> dict[str, Any]:
        return {"offline_map_enable": False, "files": []}
