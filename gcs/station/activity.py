"""What the devices do, as operator events: take-offs, landings, HMS alarms, flight tasks.

Devices say what they do in telemetry and events, not in log lines: an aircraft's `mode_code`
moves from a ground mode to a flying one and back (§3), a gateway's `hms` event lists the
health alarms active now (§5, repeated every few seconds), a `flighttask_progress` event
carries a task's status (§4.2). `ActivityLog` watches those on the bus and publishes a
`LogEntry` only on a change (an alarm that appears or clears, a mode that crosses the
ground/air line, a task status that changes), so the events panel tells the operator what
happened without repeating itself. Usable from creation until `close()`; handlers run on the
station's loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gcs.protocol import properties as p
from gcs.protocol.models import Domain
from gcs.station.bus import DeviceEvent, EventBus, LogEntry, TelemetryUpdated
from gcs.station.devices import DeviceRegistry

GROUND_MODES = frozenset(
    {
        p.AircraftModeCode.STANDBY,
        p.AircraftModeCode.TAKEOFF_PREPARING,
        p.AircraftModeCode.TAKEOFF_READY,
    }
)
FLYING_MODES = frozenset(
    {
        p.AircraftModeCode.MANUAL,
        p.AircraftModeCode.AUTO_TAKEOFF,
        p.AircraftModeCode.WAYLINE,
        p.AircraftModeCode.PANORAMA,
        p.AircraftModeCode.ACTIVE_TRACK,
        p.AircraftModeCode.ADSB_AVOIDANCE,
        p.AircraftModeCode.AUTO_RETURN_HOME,
        p.AircraftModeCode.AUTO_LANDING,
        p.AircraftModeCode.FORCED_LANDING,
        p.AircraftModeCode.THREE_PROPELLER_LANDING,
        p.AircraftModeCode.APAS,
        p.AircraftModeCode.VIRTUAL_STICK,
        p.AircraftModeCode.LIVE_FLIGHT_CONTROL,
        p.AircraftModeCode.POI,
    }
)
HMS_LEVELS = {0: ("notice", "info"), 1: ("caution", "warning"), 2: ("warning", "error")}


class ActivityLog:
    """Publishes `LogEntry` events for take-offs, landings, HMS alarms and task statuses."""

    def __init__(self, bus: EventBus, registry: DeviceRegistry) -> None:
        self.bus = bus
        self.registry = registry
        self._flying: dict[str, bool] = {}
        self._alarms: dict[str, dict[str, int]] = {}  # sn -> active alarm code -> level
        self._tasks: dict[str, str] = {}  # flight id (or bid) -> last status
        self._unsubscribe: list[Callable[[], None]] = [
            bus.subscribe(TelemetryUpdated, self.on_telemetry),
            bus.subscribe(DeviceEvent, self.on_event),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def _name(self, sn: str) -> str:
        view = self.registry.view(sn)
        name = (view.callsign or view.model_name) if view is not None else ""
        return f"{name} ({sn})" if name else sn

    def _log(self, ts: int, kind: str, level: str, message: str, sn: str) -> None:
        self.bus.publish(LogEntry(ts, kind, level, message, sn))

    # -- take-offs and landings ------------------------------------------------------------

    def on_telemetry(self, event: TelemetryUpdated) -> None:
        mode = event.changed.get("mode_code")
        if not isinstance(mode, int) or isinstance(mode, bool):
            return
        view = self.registry.view(event.sn)
        if view is None or view.domain != Domain.AIRCRAFT:
            return  # a dock's mode_code is another enum
        if mode in FLYING_MODES:
            flying = True
        elif mode in GROUND_MODES:
            flying = False
        else:
            return  # upgrading, not connected, ...: says nothing about the air
        before = self._flying.get(event.sn)
        self._flying[event.sn] = flying
        if before is None or before == flying:
            return
        how = p.label(p.AircraftModeCode, mode)
        if flying:
            self._log(
                event.ts, "flight", "info", f"{self._name(event.sn)} took off ({how})", event.sn
            )
        else:
            self._log(event.ts, "flight", "info", f"{self._name(event.sn)} landed", event.sn)

    # -- device events ---------------------------------------------------------------------

    def on_event(self, event: DeviceEvent) -> None:
        # HMS alarms are logged by the health capability (`gcs.station.health`), with their text.
        if event.method == "flighttask_progress":
            self._on_progress(event)

    def _on_progress(self, event: DeviceEvent) -> None:
        data: Any = event.data
        output = data.get("output") if isinstance(data, Mapping) else None
        status = output.get("status") if isinstance(output, Mapping) else None
        if not isinstance(status, str):
            return
        ext = output.get("ext") if isinstance(output, Mapping) else None
        flight_id = ext.get("flight_id") if isinstance(ext, Mapping) else None
        key = flight_id if isinstance(flight_id, str) and flight_id else event.bid
        if self._tasks.get(key) == status:
            return
        self._tasks[key] = status
        if len(self._tasks) > 1000:
            self._tasks.pop(next(iter(self._tasks)))
        result = data.get("result") if isinstance(data, Mapping) else None
        level = "info" if status in ("in_progress", "ok", "sent", "paused") else "warning"
        detail = f" (result {result})" if isinstance(result, int) and result else ""
        self._log(
            event.ts,
            "task",
            level,
            f"{self._name(event.sn)}: flight task {key} {status}{detail}",
            event.sn,
        )
