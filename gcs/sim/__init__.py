"""Device simulator: DJI docks and Pilot 2 RCs with their aircraft, as real MQTT peers.

Each simulated gateway is an independent MQTT client (client id = its SN, the station's device
credentials) that runs the documented flow — `config`, binding requests, `update_topo` — then
publishes OSD/state/HMS at DJI's rates with changing values, answers every `services` call and
`property/set`, and reconnects after a broker loss. It imports only `gcs.protocol` (and
`gcs.aio`): it meets the station over the network, never in memory.

Modules: `fleet` (the public `Fleet`), `options` (its `FleetOptions`), `gateway` (what docks and
RCs share: link, session, incoming messages, service table), `messages` (sending, `need_reply`
re-sends, replies), `property_set` (property writes), `dock` (the dock's state, OSD and
physics), `onboarding` (config and binding), `debug` (remote debugging), `mission` (flight
tasks), `command` (take-off/fly-to command flight), `drc` (Direct Remote Control link), `media`
(photo upload with SigV4), `pilot` (RC Plus + M30T flying circles), `live` (live_* rules),
`world` (kinematics, battery, weather), `payloads` (factories), `products` (models, serials),
`link` (paho on the asyncio loop), `codes` (result codes answered).

    fleet = Fleet(FleetOptions("mqtt://user:pass@127.0.0.1:1883", docks=3, pilots=1,
                               binding_code="qwe", organization_id="ws-1"))
    await fleet.start()        # every gateway online (update_topo answered)
    ...
    await fleet.stop()
"""

from __future__ import annotations

from gcs.sim.dock import SimDock
from gcs.sim.fleet import Fleet, FleetError
from gcs.sim.gateway import SimGateway, Timing
from gcs.sim.link import BrokerAddress, Link, LinkError
from gcs.sim.messages import ServiceRecord
from gcs.sim.options import DEFAULT_LAT, DEFAULT_LON, FleetOptions, PilotWebLogin
from gcs.sim.payloads import (
    aircraft_osd,
    dock_osd,
    hms_alarm,
    live_capacity,
    progress,
    rc_osd,
    split_dock_osd,
)
from gcs.sim.pilot import SimPilot
from gcs.sim.products import DOCK1, DOCK2, DOCK3, RC_PLUS_M30T, DeviceKind, Product, serial_number

__all__ = [
    "DEFAULT_LAT",
    "DEFAULT_LON",
    "DOCK1",
    "DOCK2",
    "DOCK3",
    "RC_PLUS_M30T",
    "BrokerAddress",
    "DeviceKind",
    "Fleet",
    "FleetError",
    "FleetOptions",
    "Link",
    "LinkError",
    "PilotWebLogin",
    "Product",
    "ServiceRecord",
    "SimDock",
    "SimGateway",
    "SimPilot",
    "Timing",
    "aircraft_osd",
    "dock_osd",
    "hms_alarm",
    "live_capacity",
    "progress",
    "rc_osd",
    "serial_number",
    "split_dock_osd",
]
