"""Files docks ask for before and during a flight (protocol §6): offline-map files, a prepared
task's wayline URL and another dock's task progress (flight-area files: `gcs.station.maps`).

Until the station has offline maps and flight tasks, a dock gets the
documented empty answer where one exists (an empty `files` list: nothing to sync, so no failed
sync is reported) and a clear refusal where none does (a task the station does not know). The
feature modules replace these answers by registering their own capability for the method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode
from gcs.station.capability import Capability, RequestHandler
from gcs.station.devices import RequestRefused


class DockResources(Capability):
    name = "dock-resources"

    def requests(self) -> Mapping[str, RequestHandler]:
        return {
            "offline_map_get": self._offline_map,
            "flighttask_resource_get": self._task_resource,
            "flighttask_progress_get": self._task_progress,
        }

    async def _offline_map(self, msg: Message) -> dict[str, Any]:
        return {"offline_map_enable": False, "files": []}

    def _flight_id(self, msg: Message) -> str:
        data = msg.data if isinstance(msg.data, dict) else {}
        flight_id = data.get("flight_id")
        if not isinstance(flight_id, str) or not flight_id:
            raise RequestRefused(StationCode.INVALID_PARAMETER, "'flight_id' is missing")
        return flight_id

    async def _task_resource(self, msg: Message) -> dict[str, Any]:
        flight_id = self._flight_id(msg)
        raise RequestRefused(
            StationCode.NOT_FOUND, f"flight task {flight_id} is not known to this station"
        )

    async def _task_progress(self, msg: Message) -> dict[str, Any]:
        flight_id = self._flight_id(msg)
        raise RequestRefused(
            StationCode.NOT_FOUND, f"flight task {flight_id} is not known to this station"
        )
