"""The desktop's way to the shared map: map-element calls and change signals (Qt side).

Calls run on the station loop through `StationBridge.run` (results delivered on the Qt thread);
the station's `MapElementChanged`/`MapGroupsRefreshed` events arrive as the `changed` signal
(queued to the Qt thread). What the operator draws goes into the workspace's app-shared group,
so every Pilot shows it at once (the station pushes `map_element_create` to them).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from gcs.station.maps import (
    FlightAreasChanged,
    MapElementChanged,
    MapGroupsRefreshed,
    Maps,
    element_json,
    group_json,
)
from gcs.ui.bridge import StationBridge

Done = Callable[[Any, BaseException | None], None] | None
OPERATOR = "operator"


class MapBridge(QObject):
    """Map elements for the desktop. Usable until `close()`."""

    changed = Signal()  # groups changed as a whole (import, clearing, lock, new group)
    element_changed = Signal(str, object)  # "create"|"update"|"delete", element (Pilot JSON)

    def __init__(self, bridge: StationBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._unsubscribe: list[Callable[[], None]] = []
        self._closed = False
        bridge.run(self._attach())

    async def _attach(self) -> None:
        bus = self._station.bus
        self._unsubscribe = [
            bus.subscribe(MapElementChanged, self._st_element),
            bus.subscribe(MapGroupsRefreshed, self._st_changed),
            bus.subscribe(FlightAreasChanged, self._st_changed),
        ]

    def _st_changed(self, _event: object) -> None:
        if not self._closed:
            self.changed.emit()

    def _st_element(self, event: MapElementChanged) -> None:
        if not self._closed:
            self.element_changed.emit(event.action, element_json(event.element))

    @property
    def _station(self) -> Any:
        return self.bridge.threaded_runtime.runtime.station

    @property
    def workspace_id(self) -> str:
        return str(self._station.settings.station.workspace_id)

    def _maps(self) -> Maps:
        maps: Maps = self._station.capability(Maps)
        return maps

    def close(self) -> None:
        self._closed = True
        unsubscribe, self._unsubscribe = self._unsubscribe, []

        async def detach() -> None:
            for fn in unsubscribe:
                fn()

        self.bridge.run(detach())

    # -- calls (results on the Qt thread through `on_done(result, error)`) ---------------

    def groups(self, on_done: Done = None) -> concurrent.futures.Future[list[dict[str, Any]]]:
        """Every group of the workspace with its elements, as Pilot reads them, plus `role`
        ("shared", "default", "flight_areas" or "" for the operator's own groups) and, on a
        custom flight area's element, `area` {type, enabled, radius}."""

        async def run() -> list[dict[str, Any]]:
            maps = self._maps()
            groups = await maps.groups(self.workspace_id)
            areas = {
                e.id: {"type": a.area_type, "enabled": a.enabled, "radius": a.radius}
                for e, a in await maps.flight_areas(self.workspace_id)
            }
            out = []
            for g, els in groups:
                doc = {**group_json(g, els), "role": g.role}
                for element in doc["elements"]:
                    if element["id"] in areas:  # drawn as the area it is (circle, type)
                        element["area"] = areas[element["id"]]
                out.append(doc)
            return out

        return self.bridge.run(run(), on_done)

    def create(
        self,
        name: str,
        kind: int,
        content: dict[str, Any],
        element_id: str,
        on_done: Done = None,
        *,
        group_id: str | None = None,
    ) -> concurrent.futures.Future[dict[str, Any]]:
        """Draw an element (0 point, 1 line, 2 polygon) into `group_id` (default: the
        app-shared group)."""

        async def run() -> dict[str, Any]:
            maps = self._maps()
            if group_id is None:
                target = (await maps.group_of_role(self.workspace_id, "shared")).id
            else:
                target = group_id
            row = await maps.create_element(
                self.workspace_id,
                target,
                element_id,
                name,
                {"type": kind, "content": content},
                user_name=OPERATOR,
            )
            return element_json(row)

        return self.bridge.run(run(), on_done)

    def lock(
        self, group_id: str, locked: bool, on_done: Done = None
    ) -> concurrent.futures.Future[None]:
        """Lock (no edits from anyone) or unlock a group."""

        async def run() -> None:
            await self._maps().lock_group(self.workspace_id, group_id, locked)

        return self.bridge.run(run(), on_done)

    def update(
        self,
        element_id: str,
        *,
        name: str | None = None,
        content: dict[str, Any] | None = None,
        on_done: Done = None,
    ) -> concurrent.futures.Future[dict[str, Any]]:
        async def run() -> dict[str, Any]:
            row = await self._maps().update_element(
                self.workspace_id, element_id, name, content, actor=OPERATOR
            )
            return element_json(row)

        return self.bridge.run(run(), on_done)

    def delete(self, element_id: str, on_done: Done = None) -> concurrent.futures.Future[None]:
        async def run() -> None:
            await self._maps().delete_element(self.workspace_id, element_id, actor=OPERATOR)

        return self.bridge.run(run(), on_done)

    def restore(
        self, element: dict[str, Any], on_done: Done = None
    ) -> concurrent.futures.Future[None]:
        """Put a deleted element back into its group (undo of a delete)."""

        async def run() -> None:
            maps = self._maps()
            res = element["resource"]
            await maps.create_element(
                self.workspace_id,
                element["group_id"],
                element["id"],
                element["name"],
                {"type": res["type"], "content": res["content"]},
                user_name=res.get("user_name") or OPERATOR,
            )

        return self.bridge.run(run(), on_done)
