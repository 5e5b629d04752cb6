"""Custom flight areas kept on the docks, and routes checked against them.

Theory of operation.

*Automatic sync.* Every change of a workspace's flight areas (`FlightAreasChanged`: create,
update, delete, enable/disable, import) restarts a short timer (`debounce_s`); when it fires,
the station builds the flight-area file once and compares its SHA-256 with what each dock of the
workspace last confirmed (`flight_areas_sync_progress` "synchronized" with the file's checksum,
or a `flight_areas_update` that ended well). A supported dock (Dock 2/3; Dock 1 has no custom
flight areas) that is online and out of date gets one `flight_areas_update` through the command
path (`Maps.sync`); a burst of edits therefore makes one sync. A dock coming online (or being
bound) is checked the same way. A dock that is offline, already syncing, or whose sync failed is
kept *pending*: it is tried again when it reconnects, when it turns idle again after a job, or
after a back-off (30 s doubling to 10 min) — never in a tight loop. Every decision (sync sent,
postponed, failed, retried) is a `LogEntry` the operator sees; the dock's own progress comes as
`FlightAreaSyncChanged` from `gcs.station.maps`.

*Route warnings.* `route_warnings()` reads a library wayline's waypoints (first executable
wayline of its KMZ) and checks them against the workspace's *enabled* areas with the pure
geometry of `gcs.station.area_geometry`. `plan_task()` is how front ends create flight tasks:
a route that crosses a no-fly area or leaves a geofence is refused with `RouteCrossesAreas`
(the warnings attached) unless the caller passes `confirmed=True` (the operator saw the warnings
and accepted them); the warnings are then returned with the task and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gcs.aio import spawn
from gcs.protocol.errors import StationCode
from gcs.station.area_geometry import Area, RouteWarning, check_route
from gcs.station.bus import DeviceBound, DeviceOnline, LogEntry, TelemetryUpdated
from gcs.station.capability import Capability
from gcs.station.commands import CommandJob
from gcs.station.flight_rules import MissionError, TaskRequest
from gcs.station.maps import SYNC_REASONS, FlightAreasChanged, MapError, Maps
from gcs.station.missions import Missions, PlanRow, TaskRow
from gcs.station.waylines import WaylineError, Waylines, inspect_bytes

log = logging.getLogger(__name__)

__all__ = ["AreaGuard", "RouteCrossesAreas", "supports_flight_areas"]

AUTO_ACTOR = "station (auto-sync)"


def supports_flight_areas(model_key: str) -> bool:
    """Dock 2 (3-2-0) and Dock 3 (3-3-0) load custom flight areas; Dock 1 (3-1-0) does not."""
    parts = model_key.split("-")
    return len(parts) == 3 and parts[0] == "3" and parts[1] != "1"


class RouteCrossesAreas(MissionError):
    """The route violates enabled flight areas and the caller did not confirm."""

    def __init__(self, warnings: Sequence[RouteWarning]) -> None:
        en = "; ".join(w.message_en for w in warnings)
        zh = "；".join(w.message_zh for w in warnings)
        super().__init__(
            StationCode.CONFIRMATION_REQUIRED,
            f"{en}. Check the route, or confirm to plan it anyway",
            f"{zh}。请检查航线，或确认后仍然创建任务",
            status=409,
        )
        self.warnings = tuple(warnings)


@dataclass
class _Dock:
    """Auto-sync bookkeeping of one dock."""

    confirmed: str | None = None  # checksum the dock confirmed through a job that ended well
    job: CommandJob | None = None
    busy: bool = False  # a sync is being started or runs (set before the first await)
    failures: int = 0
    last_try: float = 0.0  # monotonic
    next_try: float = 0.0
    pending: bool = False
    retry: asyncio.TimerHandle | None = None


class AreaGuard(Capability):
    name = "area_guard"
    #: Seconds after the last flight-area edit before the docks are synced.
    debounce_s = 2.0
    #: Off: areas change without syncing docks (the operator uses "Sync now").
    auto_sync = True
    #: Back-off after a failed sync: first wait, doubled per failure up to the maximum.
    retry_first_s = 30.0
    retry_max_s = 600.0
    #: After a dock reconnects or turns idle, the earliest retry counted from the last attempt.
    retry_on_comeback_s = 5.0

    def __init__(self, station: Any) -> None:
        super().__init__(station)
        self._docks: dict[str, _Dock] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._unsubscribe: list[Any] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        bus = self.station.bus
        self._unsubscribe = [
            bus.subscribe(FlightAreasChanged, self._on_areas_changed),
            bus.subscribe(DeviceOnline, self._on_device_online),
            bus.subscribe(DeviceBound, self._on_device_bound),
            bus.subscribe(TelemetryUpdated, self._on_telemetry),
        ]

    async def stop(self) -> None:
        for fn in self._unsubscribe:
            fn()
        for handle in self._timers.values():
            handle.cancel()
        for dock in self._docks.values():
            if dock.retry is not None:
                dock.retry.cancel()
        for task in list(self._tasks):
            task.cancel()

    # -- helpers ---------------------------------------------------------------------------

    @property
    def _maps(self) -> Maps:
        return self.station.capability(Maps)

    def _log(self, level: str, text: str, sn: str = "") -> None:
        log.log(logging.WARNING if level == "warning" else logging.INFO, "%s", text)
        self.station.bus.publish(LogEntry(self.station.now_ms(), "map", level, text, sn))

    def _workspace_of(self, sn: str) -> str:
        view = self.station.registry.view(sn)
        ws = view.workspace_id if view is not None else None
        return str(ws or self.station.settings.station.workspace_id)

    def _spawn(self, coro: Any, name: str) -> None:
        task = spawn(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _dock(self, sn: str) -> _Dock:
        return self._docks.setdefault(sn, _Dock())

    def scheduled(self) -> list[str]:
        """Workspaces whose debounced sync has not fired yet."""
        return sorted(self._timers)

    async def flush(self, workspace_id: str) -> int:
        """Run a workspace's waiting debounced sync now (no-op when none waits). Returns how
        many syncs were started."""
        handle = self._timers.pop(workspace_id, None)
        if handle is None:
            return 0
        handle.cancel()
        return await self.check(workspace_id, why="the flight areas changed")

    def pending(self) -> list[str]:
        """Docks waiting for a sync (offline, busy or after a failure)."""
        return sorted(sn for sn, d in self._docks.items() if d.pending)

    # -- triggers --------------------------------------------------------------------------

    def _on_areas_changed(self, event: FlightAreasChanged) -> None:
        if not self.auto_sync:
            return
        old = self._timers.pop(event.workspace_id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        ws = event.workspace_id
        self._timers[ws] = loop.call_later(
            self.debounce_s, lambda: self._fire(ws, None, "the flight areas changed")
        )

    def _fire(self, ws: str, only: str | None, why: str) -> None:
        if only is None:
            self._timers.pop(ws, None)
        self._spawn(self.check(ws, only=only, why=why), f"flight-area-sync:{ws}:{only or '*'}")

    def _comeback(self, sn: str, why: str) -> None:
        """A dock reconnected (or turned idle): check it, sooner than its back-off."""
        if not self.auto_sync:
            return
        view = self.station.registry.view(sn)
        if view is None or view.domain != 3 or not supports_flight_areas(view.model_key):
            return
        dock = self._dock(sn)
        dock.next_try = min(dock.next_try, dock.last_try + self.retry_on_comeback_s)
        self._fire(self._workspace_of(sn), sn, why)

    def _on_device_online(self, event: DeviceOnline) -> None:
        self._comeback(event.sn, "it came online")

    def _on_device_bound(self, event: DeviceBound) -> None:
        self._comeback(event.sn, "it was bound to the workspace")

    def _on_telemetry(self, event: TelemetryUpdated) -> None:
        dock = self._docks.get(event.sn)
        if dock is not None and dock.pending and event.changed.get("mode_code") == 0:
            self._comeback(event.sn, "it is idle again")

    # -- syncing ---------------------------------------------------------------------------

    def _up_to_date(self, sn: str, checksum: str) -> bool:
        dock = self._docks.get(sn)
        if dock is not None and dock.confirmed == checksum:
            return True
        row = next((r for r in self._maps.sync_status() if r.sn == sn), None)
        if row is None:
            return checksum == ""  # never synced and nothing to load
        return row.status == "synchronized" and row.checksum == checksum

    async def check(self, workspace_id: str, *, only: str | None = None, why: str = "") -> int:
        """Sync every supported online dock of the workspace (or just `only`) whose flight-area
        file is out of date. Returns how many syncs were started."""
        file = await self._maps.area_file(workspace_id)
        checksum = file.checksum if file is not None else ""
        started = 0
        now = time.monotonic()
        for view in self.station.registry.all():
            sn = view.sn
            if only is not None and sn != only:
                continue
            if view.domain != 3 or not supports_flight_areas(view.model_key):
                continue
            if (view.workspace_id or self.station.settings.station.workspace_id) != workspace_id:
                continue
            dock = self._dock(sn)
            if self._up_to_date(sn, checksum):
                dock.pending = False
                continue
            if dock.busy:  # its running sync ends first; then it is checked again
                dock.pending = True
                continue
            if not view.online:
                if not dock.pending:
                    self._log(
                        "info",
                        f"flight areas not synced to {sn}: it is offline; they are sent when "
                        "it reconnects",
                        sn,
                    )
                dock.pending = True
                continue
            if now < dock.next_try:
                dock.pending = True
                self._retry_at(sn, workspace_id, dock.next_try - now)
                continue
            dock.busy = True
            if await self._start(sn, workspace_id, checksum, file.name if file else "", why):
                started += 1
            else:
                dock.busy = False
        return started

    async def _start(self, sn: str, ws: str, checksum: str, file_name: str, why: str) -> bool:
        dock = self._dock(sn)
        dock.last_try = time.monotonic()
        try:
            [job] = await self._maps.sync(ws, [sn], actor=AUTO_ACTOR)
        except MapError as exc:
            self._failed(sn, ws, exc.message)
            return False
        dock.job = job
        dock.pending = False
        what = file_name or "no areas (clearing the dock's)"
        self._log("info", f"flight areas sent to {sn} ({what}): {why}", sn)
        self._spawn(self._follow(sn, ws, job, checksum), f"flight-area-sync-job:{sn}")
        return True

    async def _follow(self, sn: str, ws: str, job: CommandJob, checksum: str) -> None:
        outcome = await asyncio.shield(job.done)
        dock = self._dock(sn)
        dock.job = None
        dock.busy = False
        if outcome.ok:
            dock.confirmed = checksum
            dock.failures = 0
            dock.next_try = 0.0
        else:
            self._failed(sn, ws, self._reason(sn, job, outcome.message_en or outcome.status))
        await self.check(ws, only=sn, why="the flight areas changed during the last sync")

    def _reason(self, sn: str, job: CommandJob, fallback: str) -> str:
        """Why a sync failed, in words: the dock's own reason when it reported one (its
        `flight_areas_sync_progress` was handled in the same dispatch as the job's end)."""
        row = next((r for r in self._maps.sync_status() if r.sn == sn), None)
        if (
            row is not None
            and row.status in ("fail", "switch_fail")
            and row.reason
            and row.updated_at >= job.created_at
        ):
            return SYNC_REASONS.get(row.reason, (f"reason {row.reason}", ""))[0]
        return fallback

    def _failed(self, sn: str, ws: str, reason: str) -> None:
        dock = self._dock(sn)
        dock.failures += 1
        delay = min(self.retry_max_s, self.retry_first_s * 2 ** (dock.failures - 1))
        dock.next_try = dock.last_try + delay
        dock.pending = True
        self._log(
            "warning",
            f"flight-area sync on {sn} failed: {reason}; tried again when it reconnects or "
            f"turns idle, or in {delay:.0f} s",
            sn,
        )
        self._retry_at(sn, ws, max(0.0, dock.next_try - time.monotonic()))

    def _retry_at(self, sn: str, ws: str, delay: float) -> None:
        dock = self._dock(sn)
        if dock.retry is not None:
            dock.retry.cancel()
        dock.retry = asyncio.get_running_loop().call_later(
            delay + 0.05, lambda: self._fire(ws, sn, "retry after a failed sync")
        )

    # -- routes ----------------------------------------------------------------------------

    async def enabled_areas(self, workspace_id: str) -> list[Area]:
        out = []
        for element, area in await self._maps.flight_areas(workspace_id):
            if not area.enabled:
                continue
            geometry = element.content["geometry"]
            if area.radius > 0:
                lon, lat = geometry["coordinates"][:2]
                out.append(
                    Area(
                        element.id,
                        element.name,
                        area.area_type,
                        centre=(lat, lon),
                        radius=area.radius,
                    )
                )
            else:
                ring = tuple((p[1], p[0]) for p in geometry["coordinates"][0])
                out.append(Area(element.id, element.name, area.area_type, ring=ring))
        return out

    async def route_waypoints(
        self, workspace_id: str, wayline_id: str
    ) -> list[tuple[int, float, float]]:
        """(index, lat, lon) of the first executable wayline of a library KMZ.
        Raises WaylineError."""
        library = self.station.capability(Waylines).library
        row = await library.get(workspace_id, wayline_id)
        data = await library.read(row)
        inspection = await asyncio.get_running_loop().run_in_executor(
            None, inspect_bytes, data, row.name
        )
        route = inspection.route
        if route is None or not route.waylines:
            return []
        return [
            (wp.index if wp.index is not None else n, wp.latitude, wp.longitude)
            for n, wp in enumerate(route.waylines[0].waypoints)
            if wp.latitude is not None and wp.longitude is not None
        ]

    async def route_warnings(self, workspace_id: str, wayline_id: str) -> list[RouteWarning]:
        """What the route of a library wayline violates among the enabled flight areas.
        Raises MissionError (404) for an unknown wayline."""
        try:
            points = await self.route_waypoints(workspace_id, wayline_id)
        except WaylineError as exc:
            raise MissionError(exc.code, exc.en, exc.zh, status=exc.status) from exc
        areas = await self.enabled_areas(workspace_id)
        if not points or not areas:
            return []
        return await asyncio.get_running_loop().run_in_executor(None, check_route, points, areas)

    async def plan_task(
        self, workspace_id: str, req: TaskRequest, *, confirmed: bool, actor: str
    ) -> tuple[TaskRow | PlanRow, list[RouteWarning]]:
        """Plan a flight task (`Missions.plan`) after checking its route against the enabled
        flight areas.

        Returns:
            The task (or plan) and the warnings the caller confirmed (empty when clear).

        Raises:
            RouteCrossesAreas: warnings and not `confirmed` (nothing was planned).
            MissionError: `Missions.plan` refused it.
        """
        warnings = await self.route_warnings(workspace_id, req.wayline_id)
        if warnings and not confirmed:
            refusal = RouteCrossesAreas(warnings)
            self._log("warning", f"flight task {req.name!r} refused: {refusal.en}", req.dock_sn)
            raise refusal
        made = await self.station.capability(Missions).plan(workspace_id, req, actor=actor)
        for w in warnings:
            self._log(
                "warning",
                f"flight task {req.name!r} planned by {actor} although {w.message_en} (confirmed)",
                req.dock_sn,
            )
        return made, warnings
