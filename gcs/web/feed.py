"""Station events to Pilot pushes (protocol §9): which bus event becomes which `biz_code`.

`device_online` carries the device's topology entry (Demo shape; docs send `{}`),
`device_offline` `{sn, online_status: false}`, `device_update_topo` `{}` (Pilot re-fetches the
topology on all three), and `device_osd` `{sn, host}` for every OSD of an RC, an RC's aircraft,
a dock's aircraft and a dock, so the whole fleet moves on Pilot's map (to Pilot logins only: web
consoles get the whole OSD instead, `gcs.web.devices.DeviceFeed`). Messages go only to the
clients of the device's workspace; devices bound to no workspace are not pushed.
"""

from __future__ import annotations

from collections.abc import Callable

from gcs.station.bus import (
    DeviceBound,
    DeviceOffline,
    DeviceOnline,
    DeviceUpdated,
    TelemetryUpdated,
    TopologyChanged,
)
from gcs.station.core import Station
from gcs.station.onboarding import Onboarding
from gcs.web import topology
from gcs.web.ws import PILOT, WsHub


class TopologyCache:
    """Encoded topology answers per workspace, valid until the next device change."""

    def __init__(self) -> None:
        self._bodies: dict[str, bytes] = {}

    def get(self, workspace_id: str) -> bytes | None:
        return self._bodies.get(workspace_id)

    def put(self, workspace_id: str, body: bytes) -> None:
        self._bodies[workspace_id] = body

    def clear(self) -> None:
        self._bodies.clear()


class PilotFeed:
    """Subscribes to the station's bus while alive; `close()` unsubscribes.

    Also empties the topology cache on every change that can alter a topology answer.
    """

    def __init__(self, station: Station, hub: WsHub, cache: TopologyCache | None = None) -> None:
        self.station = station
        self.hub = hub
        self.cache = cache or TopologyCache()
        self._unsubscribe: list[Callable[[], None]] = []
        bus = station.bus
        for event_type, handler in (
            (DeviceOnline, self.on_device_online),
            (DeviceOffline, self.on_device_offline),
            (TopologyChanged, self.on_topology_changed),
            (DeviceBound, self.on_device_bound),
            (DeviceUpdated, self.on_device_updated),
            (TelemetryUpdated, self.on_telemetry),
        ):
            self._unsubscribe.append(bus.subscribe(event_type, handler))

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def _workspace_of(self, sn: str) -> str | None:
        view = self.station.registry.view(sn)
        return view.workspace_id if view is not None and view.bound else None

    def user_of(self, rc_sn: str) -> tuple[str, str] | None:
        return self.station.capability(Onboarding).user_of_rc(rc_sn)

    def on_device_online(self, event: DeviceOnline) -> None:
        self.cache.clear()
        ws = self._workspace_of(event.sn)
        if not self.hub.has_clients(ws):
            return
        view = self.station.registry.view(event.sn)
        if view is not None:
            entry = topology.topo_entry(
                view, self.station.settings.pilot.device_icons, self.user_of
            )
            self.hub.publish(ws, "device_online", entry)

    def on_device_offline(self, event: DeviceOffline) -> None:
        self.cache.clear()
        ws = self._workspace_of(event.sn)
        self.hub.publish(ws, "device_offline", {"sn": event.sn, "online_status": False})

    def on_topology_changed(self, event: TopologyChanged) -> None:
        self.cache.clear()
        self.hub.publish(self._workspace_of(event.gateway_sn), "device_update_topo", {})

    def on_device_bound(self, event: DeviceBound) -> None:
        self.cache.clear()
        self.hub.publish(event.workspace_id, "device_update_topo", {})

    def on_device_updated(self, event: DeviceUpdated) -> None:
        self.cache.clear()
        self.hub.publish(self._workspace_of(event.sn), "device_update_topo", {})

    def on_telemetry(self, event: TelemetryUpdated) -> None:
        if event.topic_kind != "osd":
            return
        if not any(k in event.changed for k in ("latitude", "longitude", "height")):
            return  # a partial dock OSD without position, or nothing for the map
        ws = self._workspace_of(event.sn)
        if not self.hub.has_clients(ws):
            return
        host = topology.osd_host(event.state)  # the shared snapshot: no copy
        if host is not None:
            self.hub.publish(ws, "device_osd", {"sn": event.sn, "host": host}, PILOT)
