"""The desktop's way to the custom flight areas (issue 14): areas, dock sync, aircraft distances,
and flight tasks planned with their route checked against the areas.

Calls run on the station loop through `StationBridge.run`; `on_done(result, error)` comes on the
Qt thread. Station events (`FlightAreasChanged`, `FlightAreaSyncChanged`, `DroneAreaLocation`,
the `flight_areas_update` commands' `CommandChanged`) arrive as Qt signals, queued to the Qt
thread. Usable until `close()`.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal

from gcs.station.area_guard import AreaGuard, supports_flight_areas
from gcs.station.bus import CommandChanged
from gcs.station.maps import (
    SYNC_REASONS,
    DroneAreaLocation,
    FlightAreasChanged,
    FlightAreaSyncChanged,
    Maps,
)
from gcs.ui.bridge import StationBridge

Done = Callable[[Any, BaseException | None], None] | None
OPERATOR = "operator"
#: `CommandChanged.status` values of a flight_areas_update that has not ended.
RUNNING = frozenset({"sent", "running", "in_progress", "wait_sync", "synchronizing"})


@dataclass(frozen=True, slots=True)
class AreaInfo:
    """One custom flight area as the panel lists it."""

    id: str
    name: str
    type: str  # "nfz" | "dfence"
    shape: str  # "circle" | "polygon"
    enabled: bool
    radius: float
    vertices: int


@dataclass(frozen=True, slots=True)
class DockSync:
    """A Dock 2/3 of the workspace and how its flight-area file stands."""

    sn: str
    label: str
    online: bool
    status: str  # "", wait_sync, synchronizing, synchronized, fail, switch_fail
    reason: int
    reason_en: str
    reason_zh: str
    file_name: str
    checksum: str
    updated_at: int  # ms, 0 when never
    current: bool  # its checksum is the current file's
    syncing: bool  # a flight_areas_update is running


@dataclass(frozen=True, slots=True)
class AreasSnapshot:
    areas: tuple[AreaInfo, ...]
    docks: tuple[DockSync, ...]
    checksum: str  # the current file's SHA-256 ("" without areas)
    file_name: str
    distances: dict[str, tuple[dict[str, Any], ...]]  # aircraft SN → drone_locations


class AreasBridge(QObject):
    """Custom flight areas for the desktop."""

    changed = Signal()  # areas, a dock's sync, or a running sync changed: take a snapshot
    locations = Signal(str, object)  # aircraft SN, tuple of {area_id, area_distance, is_in_area}

    def __init__(self, bridge: StationBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._closed = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._running: dict[str, bool] = {}  # dock SN → a flight_areas_update runs (station thread)
        bridge.run(self._attach())

    async def _attach(self) -> None:
        bus = self._station.bus
        self._unsubscribe = [
            bus.subscribe(FlightAreasChanged, self._st_changed),
            bus.subscribe(FlightAreaSyncChanged, self._st_changed),
            bus.subscribe(CommandChanged, self._st_command),
            bus.subscribe(DroneAreaLocation, self._st_location),
        ]

    def _st_changed(self, _event: object) -> None:
        if not self._closed:
            self.changed.emit()

    def _st_command(self, event: CommandChanged) -> None:
        if event.method != "flight_areas_update":
            return
        self._running[event.gateway_sn] = event.status in RUNNING
        if not self._closed:
            self.changed.emit()

    def _st_location(self, event: DroneAreaLocation) -> None:
        if not self._closed:
            self.locations.emit(event.sn, event.locations)

    def close(self) -> None:
        self._closed = True
        unsubscribe, self._unsubscribe = self._unsubscribe, []

        async def detach() -> None:
            for fn in unsubscribe:
                fn()

        self.bridge.run(detach())

    @property
    def _station(self) -> Any:
        return self.bridge.threaded_runtime.runtime.station

    @property
    def workspace_id(self) -> str:
        return str(self._station.settings.station.workspace_id)

    def _maps(self) -> Maps:
        maps: Maps = self._station.capability(Maps)
        return maps

    def _guard(self) -> AreaGuard:
        guard: AreaGuard = self._station.capability(AreaGuard)
        return guard

    # -- reading -------------------------------------------------------------------------

    def snapshot(self, on_done: Done = None) -> concurrent.futures.Future[AreasSnapshot]:
        """Areas, every Dock 2/3 of the workspace with its sync state, the current file."""

        async def run() -> AreasSnapshot:
            maps, ws = self._maps(), self.workspace_id
            areas = []
            for e, a in await maps.flight_areas(ws):
                geometry = e.content["geometry"]
                ring = geometry["coordinates"][0] if geometry["type"] == "Polygon" else []
                closed = len(ring) > 1 and ring[0][:2] == ring[-1][:2]
                areas.append(
                    AreaInfo(
                        e.id,
                        e.name,
                        a.area_type,
                        "circle" if a.radius > 0 else "polygon",
                        a.enabled,
                        a.radius,
                        len(ring) - (1 if closed else 0),
                    )
                )
            file = await maps.area_file(ws)
            checksum = file.checksum if file is not None else ""
            rows = {r.sn: r for r in maps.sync_status()}
            docks = []
            for view in self._station.registry.all():
                if view.domain != 3 or not supports_flight_areas(view.model_key):
                    continue
                if (view.workspace_id or ws) != ws:
                    continue
                row = rows.get(view.sn)
                reason = row.reason if row is not None else 0
                en, zh = SYNC_REASONS.get(reason, (f"reason {reason}", f"原因 {reason}"))
                syncing = self._running.get(view.sn, False)
                docks.append(
                    DockSync(
                        view.sn,
                        view.callsign or view.model_name or view.sn,
                        view.online,
                        row.status if row is not None else "",
                        reason,
                        en,
                        zh,
                        row.file_name if row is not None else "",
                        row.checksum if row is not None else "",
                        row.updated_at if row is not None else 0,
                        row is not None
                        and row.status == "synchronized"
                        and row.checksum == checksum,
                        syncing,
                    )
                )
            return AreasSnapshot(
                tuple(areas),
                tuple(sorted(docks, key=lambda d: d.sn)),
                checksum,
                file.name if file is not None else "",
                maps.drone_locations(),
            )

        return self.bridge.run(run(), on_done)

    # -- changes -------------------------------------------------------------------------

    def create(
        self, name: str, area_type: str, content: dict[str, Any], area_id: str, on_done: Done = None
    ) -> concurrent.futures.Future[Any]:
        """A new area from a drawn shape (`content` a Feature with Polygon or Circle)."""
        coro = self._maps().create_flight_area(
            self.workspace_id,
            area_id=area_id,
            name=name,
            area_type=area_type,
            content=content,
            user_name=OPERATOR,
        )
        return self.bridge.run(coro, on_done)

    def rename(
        self, area_id: str, name: str, on_done: Done = None
    ) -> concurrent.futures.Future[Any]:
        coro = self._maps().update_flight_area(
            self.workspace_id, area_id, name=name, actor=OPERATOR
        )
        return self.bridge.run(coro, on_done)

    def set_enabled(
        self, area_id: str, enabled: bool, on_done: Done = None
    ) -> concurrent.futures.Future[Any]:
        coro = self._maps().update_flight_area(
            self.workspace_id, area_id, enabled=enabled, actor=OPERATOR
        )
        return self.bridge.run(coro, on_done)

    def delete(self, area_id: str, on_done: Done = None) -> concurrent.futures.Future[Any]:
        coro = self._maps().delete_flight_area(self.workspace_id, area_id, actor=OPERATOR)
        return self.bridge.run(coro, on_done)

    def sync_now(self, sns: list[str], on_done: Done = None) -> concurrent.futures.Future[Any]:
        """Send `flight_areas_update` to these docks now (the "Sync now" button)."""
        return self.bridge.run(self._maps().sync(self.workspace_id, sns, actor=OPERATOR), on_done)

    # -- flight tasks --------------------------------------------------------------------

    def plan_task(
        self, request: Any, *, confirmed: bool, on_done: Done = None
    ) -> concurrent.futures.Future[Any]:
        """Plan a `TaskRequest` after the route check: `on_done((task, warnings), error)`;
        `RouteCrossesAreas` (with `.warnings`) when the route needs the operator's confirmation."""
        coro = self._guard().plan_task(
            self.workspace_id, request, confirmed=confirmed, actor="desktop"
        )
        return self.bridge.run(coro, on_done)
