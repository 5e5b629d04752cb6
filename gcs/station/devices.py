"""Device registry and onboarding (protocol §2): topology, online state, organisation binding.

The registry keeps every device the station has seen (persisted in `devices`) and, in memory,
who is online and which aircraft hangs under which gateway. It handles:

* `update_topo` (always answered): gateway and sub-device online; an empty `sub_devices` list
  means the aircraft went offline; an aircraft seen under a new gateway moves there. A sub-device
  of a bound gateway is bound to the same workspace (the Demo does the same).
* the dock's binding requests `airport_bind_status`, `airport_organization_get` and
  `airport_organization_bind` (organisation = workspace; per-workspace binding code).
* liveness: any message from a gateway refreshes it; a gateway silent for `offline_timeout_s`
  goes offline with its aircraft (there is no MQTT "offline" message, §1.5).

Every change is written to the database before the reply that acknowledges it is sent, and is
announced on the event bus.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gcs.protocol.errors import StationCode
from gcs.protocol.models import Domain, ModelKey, gateway_kind, model_name
from gcs.protocol.onboarding import (
    BindState,
    UpdateTopo,
    bind_status_output,
    organization_bind_output,
    organization_get_output,
    parse_bind_status,
    parse_organization_bind,
    parse_organization_get,
)
from gcs.station.bus import (
    DeviceBound,
    DeviceOffline,
    DeviceOnline,
    DeviceUpdated,
    EventBus,
    LogEntry,
    TopologyChanged,
)
from gcs.store import devices as q
from gcs.store.db import Store
from gcs.store.devices import DeviceRow, WorkspaceRow

log = logging.getLogger(__name__)


class RequestRefused(Exception):
    """A device request we answer with a non-zero result; `code` is the DJI-style result."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class DeviceView:
    """What the station knows about one device right now (a copy; safe to hand out)."""

    sn: str
    model_key: str
    domain: int
    model_name: str
    callsign: str
    workspace_id: str | None
    bound: bool
    online: bool
    gateway_sn: str | None  # the gateway an aircraft hangs under; a gateway's own SN for itself
    sub_devices: tuple[str, ...]
    thing_version: str
    firmware_version: str
    icon_normal: str
    icon_selected: str
    last_seen: int
    first_seen: int

    @property
    def is_gateway(self) -> bool:
        return self.domain in (Domain.DOCK, Domain.RC)


@dataclass
class _Live:
    online: bool = False
    last_seen_mono: float = 0.0
    subs: set[str] = field(default_factory=set)


def _now_ms() -> int:
    return int(time.time() * 1000)


class DeviceRegistry:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        *,
        offline_timeout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.bus = bus
        self.offline_timeout_s = offline_timeout_s
        self._clock = clock
        self._rows: dict[str, DeviceRow] = {}
        self._live: dict[str, _Live] = {}
        self._workspaces: dict[str, WorkspaceRow] = {}

    async def load(self) -> None:
        """Read devices and workspaces from the database (everything starts offline)."""
        rows = await self.store.call(q.list_devices)
        self._rows = {r.sn: r for r in rows}
        self._workspaces = {w.id: w for w in await self.store.call(q.list_workspaces)}
        self._live = {}
        for r in rows:
            if r.parent_sn:
                self._live_of(r.parent_sn).subs.add(r.sn)

    # -- workspaces ----------------------------------------------------------------------

    async def ensure_workspace(self, ws: WorkspaceRow) -> None:
        await self.store.call(q.upsert_workspace, ws)
        self._workspaces[ws.id] = ws

    def workspaces(self) -> list[WorkspaceRow]:
        return list(self._workspaces.values())

    def workspace(self, workspace_id: str) -> WorkspaceRow | None:
        return self._workspaces.get(workspace_id)

    def _workspace_by_code(self, code: str) -> WorkspaceRow | None:
        for ws in self._workspaces.values():
            if ws.bind_code == code:
                return ws
        return None

    # -- views ---------------------------------------------------------------------------

    def _live_of(self, sn: str) -> _Live:
        live = self._live.get(sn)
        if live is None:
            live = self._live[sn] = _Live()
        return live

    def view(self, sn: str) -> DeviceView | None:
        row = self._rows.get(sn)
        if row is None:
            return None
        live = self._live.get(sn) or _Live()
        is_gw = row.domain in (Domain.DOCK, Domain.RC)
        return DeviceView(
            sn=row.sn,
            model_key=row.model_key,
            domain=row.domain,
            model_name=model_name(row.model_key) or f"Unknown model {row.model_key}",
            callsign=row.callsign,
            workspace_id=row.workspace_id,
            bound=row.bound,
            online=live.online,
            gateway_sn=row.sn if is_gw else row.parent_sn,
            sub_devices=tuple(sorted(live.subs)) if is_gw else (),
            thing_version=row.thing_version,
            firmware_version=row.firmware_version,
            icon_normal=row.icon_normal,
            icon_selected=row.icon_selected,
            last_seen=row.last_seen,
            first_seen=row.first_seen,
        )

    def all(self) -> list[DeviceView]:
        return [v for sn in sorted(self._rows) if (v := self.view(sn)) is not None]

    def gateways(self) -> list[DeviceView]:
        return [v for v in self.all() if v.is_gateway]

    def is_online(self, sn: str) -> bool:
        live = self._live.get(sn)
        return bool(live and live.online)

    def gateway_of(self, sn: str) -> str | None:
        row = self._rows.get(sn)
        if row is None:
            return None
        return row.sn if row.domain in (Domain.DOCK, Domain.RC) else row.parent_sn

    def counts(self) -> tuple[int, int]:
        """(online gateways, online aircraft)."""
        gws = air = 0
        for sn, live in self._live.items():
            row = self._rows.get(sn)
            if not live.online or row is None:
                continue
            if row.domain == Domain.AIRCRAFT:
                air += 1
            elif row.domain in (Domain.DOCK, Domain.RC):
                gws += 1
        return gws, air

    # -- liveness ------------------------------------------------------------------------

    def seen(self, sn: str) -> None:
        """A message from `sn` (a gateway or an aircraft) arrived: refresh its liveness.

        A known device that was offline comes back online (e.g. after a station restart
        while the device stayed connected); unknown SNs are ignored until they update_topo.
        """
        row = self._rows.get(sn)
        if row is None:
            return
        live = self._live_of(sn)
        live.last_seen_mono = self._clock()
        row.last_seen = _now_ms()
        if not live.online:
            self._set_online(row, True, "message received")

    def _set_online(self, row: DeviceRow, online: bool, reason: str) -> None:
        live = self._live_of(row.sn)
        if live.online == online:
            return
        live.online = online
        if online:
            live.last_seen_mono = self._clock()
        gw = self.gateway_of(row.sn) or row.sn
        now = _now_ms()
        if online:
            self.bus.publish(DeviceOnline(now, row.sn, gw, row.model_key, row.workspace_id))
            self.bus.publish(LogEntry(now, "online", "info", f"{self._label(row)} online", row.sn))
        else:
            self.bus.publish(DeviceOffline(now, row.sn, gw, reason))
            self.bus.publish(
                LogEntry(now, "offline", "info", f"{self._label(row)} offline: {reason}", row.sn)
            )

    def _label(self, row: DeviceRow) -> str:
        name = model_name(row.model_key) or row.model_key
        return f"{row.callsign or name} ({row.sn})"

    def expire(self) -> list[str]:
        """Take gateways silent for longer than the timeout offline, with their aircraft.

        Returns:
            The SNs that went offline.
        """
        now = self._clock()
        gone: list[str] = []
        for sn, live in list(self._live.items()):
            row = self._rows.get(sn)
            if row is None or not live.online or row.domain not in (Domain.DOCK, Domain.RC):
                continue
            if now - live.last_seen_mono < self.offline_timeout_s:
                continue
            reason = f"no message for {self.offline_timeout_s:.0f} s"
            for sub in sorted(live.subs):
                sub_row = self._rows.get(sub)
                if sub_row is not None and self.is_online(sub):
                    self._set_online(sub_row, False, "gateway offline")
                    gone.append(sub)
            self._set_online(row, False, reason)
            gone.append(sn)
        return gone

    def expire_aircraft(self, sn: str) -> None:
        """Aircraft-level offline (e.g. its gateway reported it gone)."""
        row = self._rows.get(sn)
        if row is not None:
            self._set_online(row, False, "left the gateway's topology")

    # -- update_topo ---------------------------------------------------------------------

    async def update_topo(self, gateway_sn: str, topo: UpdateTopo) -> None:
        """Apply an `update_topo` from `gateway_sn` and persist it (before the reply is sent)."""
        now = _now_ms()
        gw_key = str(topo.model_key)
        if gateway_kind(gw_key) is None:
            raise RequestRefused(
                StationCode.INVALID_PARAMETER,
                f"update_topo from {gateway_sn}: {gw_key} is not a dock or remote controller",
            )
        gw = self._rows.get(gateway_sn)
        if gw is None:
            gw = DeviceRow(gateway_sn, gw_key, topo.model_key.domain, now, now)
        gw.model_key = gw_key
        gw.domain = topo.model_key.domain
        gw.thing_version = topo.thing_version or gw.thing_version
        gw.last_seen = now
        gw.parent_sn = None
        changed = [gw]

        live = self._live_of(gateway_sn)
        previous = set(live.subs)
        current: set[str] = set()
        moved_from: dict[str, str] = {}
        for sub in topo.sub_devices:
            current.add(sub.sn)
            row = self._rows.get(sub.sn)
            if row is None:
                row = DeviceRow(sub.sn, str(sub.model_key), sub.model_key.domain, now, now)
            if row.parent_sn and row.parent_sn != gateway_sn:
                moved_from[sub.sn] = row.parent_sn
            row.model_key = str(sub.model_key)
            row.domain = sub.model_key.domain
            row.parent_sn = gateway_sn
            row.control_index = sub.index
            row.thing_version = sub.thing_version or row.thing_version
            row.last_seen = now
            if gw.bound and gw.workspace_id and not row.bound:
                row.bound = True
                row.bound_at = now
                row.workspace_id = gw.workspace_id
            changed.append(row)

        await self.store.call(q.save_devices, changed)
        for row in changed:
            self._rows[row.sn] = row

        for sn, old_gw in moved_from.items():
            self._live_of(old_gw).subs.discard(sn)
            log.info("aircraft %s moved from gateway %s to %s", sn, old_gw, gateway_sn)
            self.bus.publish(
                LogEntry(now, "topology", "info", f"aircraft {sn} moved from {old_gw}", sn)
            )
        live.subs = current
        self._set_online(gw, True, "update_topo")
        live.last_seen_mono = self._clock()
        for sn in sorted(previous - current):
            row = self._rows.get(sn)
            if row is not None:
                self._set_online(row, False, "left the gateway's topology")
        for sn in sorted(current):
            self._set_online(self._rows[sn], True, "update_topo")
        self.bus.publish(TopologyChanged(now, gateway_sn, tuple(sorted(current)), gw.workspace_id))

    # -- binding -------------------------------------------------------------------------

    def bind_status(self, data: object) -> dict[str, object]:
        states = []
        for sn in parse_bind_status(data):
            row = self._rows.get(sn)
            ws = self._workspaces.get(row.workspace_id or "") if row else None
            if row is not None and row.bound and ws is not None:
                states.append(BindState(sn, True, ws.id, ws.name, row.callsign))
            else:
                states.append(BindState(sn, False))
        return bind_status_output(states)

    def organization_get(self, data: object) -> dict[str, object]:
        req = parse_organization_get(data)
        ws = self._check_code(req.binding_code, req.organization_id)
        return organization_get_output(ws.name)

    def _check_code(self, code: str, organization_id: str) -> WorkspaceRow:
        ws = self._workspace_by_code(code)
        if ws is None:
            raise RequestRefused(
                StationCode.BINDING_CODE_INVALID,
                f"device binding code {code!r} matches no workspace",
            )
        if organization_id and organization_id != ws.id:
            raise RequestRefused(
                StationCode.BINDING_CODE_INVALID,
                f"organization id {organization_id!r} does not match the binding code's workspace",
            )
        return ws

    async def organization_bind(self, gateway_sn: str, data: object) -> dict[str, object]:
        """Bind the listed devices; each gets its own err_code. Persisted before returning."""
        now = _now_ms()
        errors: dict[str, int] = {}
        changed: list[DeviceRow] = []
        for req in parse_organization_bind(data):
            try:
                ws = self._check_code(req.binding_code, req.organization_id)
            except RequestRefused as exc:
                errors[req.sn] = exc.code
                continue
            row = self._rows.get(req.sn)
            if row is None:
                key = req.model_key or "0-0-0"
                mk = ModelKey.parse(key)
                row = DeviceRow(req.sn, key, mk.domain, now, now)
                if mk.domain == Domain.AIRCRAFT:
                    row.parent_sn = gateway_sn
            elif req.model_key:
                row.model_key = req.model_key
                row.domain = ModelKey.parse(req.model_key).domain
            row.bound = True
            row.bound_at = now
            row.workspace_id = ws.id
            if req.callsign:
                row.callsign = req.callsign
            changed.append(row)
            errors[req.sn] = 0
        if changed:
            await self.store.call(q.save_devices, changed)
        for row in changed:
            self._rows[row.sn] = row
            self.bus.publish(DeviceBound(now, row.sn, row.workspace_id or "", row.callsign))
            self.bus.publish(
                LogEntry(
                    now,
                    "binding",
                    "info",
                    f"{self._label(row)} bound to {row.workspace_id}",
                    row.sn,
                )
            )
        for sn, code in errors.items():
            if code:
                self.bus.publish(
                    LogEntry(now, "binding", "warning", f"binding of {sn} refused ({code})", sn)
                )
        return organization_bind_output(errors)

    async def bind_to_workspace(
        self, sn: str, workspace_id: str, callsign: str | None = None
    ) -> None:
        """Bind a known device (and, for a gateway, its aircraft) to a workspace."""
        if workspace_id not in self._workspaces:
            raise KeyError(f"no workspace {workspace_id}")
        row = self._rows.get(sn)
        if row is None:
            raise KeyError(f"no device {sn}")
        now = _now_ms()
        rows = [row] + [self._rows[s] for s in self._live_of(sn).subs if s in self._rows]
        for r in rows:
            r.bound, r.bound_at, r.workspace_id = True, now, workspace_id
        if callsign:
            row.callsign = callsign
        await self.store.call(q.save_devices, rows)
        for r in rows:
            self.bus.publish(DeviceBound(now, r.sn, workspace_id, r.callsign))

    async def unbind(self, sn: str) -> list[str]:
        """Remove a device (and, for a gateway, its aircraft) from its workspace; returns the
        serials unbound. A dock unbound this way asks to be bound again at its next
        `airport_bind_status`. Raises KeyError for an unknown device."""
        row = self._rows.get(sn)
        if row is None:
            raise KeyError(f"no device {sn}")
        rows = [row] + [self._rows[s] for s in self._live_of(sn).subs if s in self._rows]
        for r in rows:
            r.bound, r.bound_at, r.workspace_id = False, None, None
        await self.store.call(q.save_devices, rows)
        now = _now_ms()
        for r in rows:
            self.bus.publish(DeviceUpdated(now, r.sn))
            self.bus.publish(LogEntry(now, "binding", "info", f"{self._label(r)} unbound", r.sn))
        return [r.sn for r in rows]

    async def set_callsign(self, sn: str, callsign: str) -> None:
        row = self._rows.get(sn)
        if row is None:
            raise KeyError(f"no device {sn}")
        row.callsign = callsign
        await self.store.call(q.save_device, row)
        self.bus.publish(DeviceUpdated(_now_ms(), sn))

    async def set_firmware(self, sn: str, version: str) -> None:
        row = self._rows.get(sn)
        if row is None or row.firmware_version == version:
            return
        row.firmware_version = version
        await self.store.call(q.save_device, row)
        self.bus.publish(DeviceUpdated(_now_ms(), sn))

    async def flush_last_seen(self) -> None:
        """Persist `last_seen` of online devices (called periodically, batched)."""
        stamps = {
            sn: self._rows[sn].last_seen
            for sn, lv in self._live.items()
            if lv.online and sn in self._rows
        }
        if stamps:
            await self.store.call(q.touch_devices, stamps)
