"""A simulated DJI RC Plus running Pilot 2, with a Matrice 30T flying circles near the pilot.

Pilot's cloud module does no `config` or binding requests: after connecting it sends
`update_topo` with the aircraft and then OSD/state for the RC and the aircraft (protocol §3.4).
The aircraft takes off, circles slowly until its battery is low, returns, lands, gets a fresh
battery and goes again.
"""

from __future__ import annotations

from collections.abc import Callable

from gcs.protocol.envelope import new_id
from gcs.protocol.topics import TopicKind
from gcs.sim import payloads
from gcs.sim.gateway import GatewayConfig, SimGateway
from gcs.sim.products import DeviceKind, Product, offset_position

AIRCRAFT_ALARMS = (
    ("0x1D050003", 0),  # gimbal pan axis endpoint reached
    ("0x1606000D", 1),  # compass interference
)

ORBIT_ELEVATION = 60.0
ORBIT_RADIUS = 110.0
ORBIT_SPEED = 6.0
RETURN_SPEED = 10.0
LOW_BATTERY = 30.0


class SimPilot(SimGateway):
    """An RC gateway. See the module docstring."""

    kind = DeviceKind.RC

    def __init__(self, product: Product, index: int, config: GatewayConfig) -> None:
        super().__init__(product, index, config)
        rng = self.rng
        # The pilot stands at (lat, lon); the aircraft takes off a few metres away.
        home_lat, home_lon = offset_position(config.lat, config.lon, 6.0, 4.0)
        ac = self.aircraft
        ac.home_lat, ac.home_lon = home_lat, home_lon
        ac.battery = rng.uniform(88.0, 100.0)
        self.rc_props = payloads.rc_osd(
            latitude=round(config.lat, 8),
            longitude=round(config.lon, 8),
            height=round(config.ground_height + 1.5, 2),
            capacity_percent=rng.randint(60, 100),
        )
        self.rc_battery = float(self.rc_props["capacity_percent"])
        self.orbit_centre = (rng.uniform(80.0, 160.0), rng.uniform(-80.0, 80.0))
        self.return_requested = False

    def allowed_url_types(self) -> frozenset[int]:
        return frozenset({0, 1, 2, 3})

    # -- publishing --------------------------------------------------------------------------

    def periodic_jobs(self) -> list[tuple[float, Callable[[], None]]]:
        t = self.timing
        return [
            (t.rc_osd_s, self._publish_rc_osd),
            (t.aircraft_osd_s, self.publish_aircraft_osd),
            (t.hms_s, self._publish_hms),
        ]

    def _publish_rc_osd(self) -> None:
        self.rc_props["capacity_percent"] = int(self.rc_battery)
        self.messages.publish(self.messages.envelope(TopicKind.OSD, self.rc_props), 0)

    def _publish_hms(self) -> None:
        self.messages.send_event("hms", {"list": self.active_alarms("aircraft")})

    def _publish_initial_state(self) -> None:
        self.messages.send_state(
            {
                "firmware_version": self.product.gateway_firmware,
                "live_capacity": self.live_capacity(),
                "live_status": self.live_status(),
            }
        )
        ac = self.aircraft
        self.messages.send_state(
            {
                "firmware_version": self.product.aircraft_firmware,
                "compatible_status": 0,
                "firmware_upgrade_status": 0,
                "home_latitude": round(ac.home_lat, 8),
                "home_longitude": round(ac.home_lon, 8),
                "payloads": [
                    {"control_source": "A", "payload_index": self.product.camera_index, "sn": ""}
                ],
            },
            sn=self.aircraft_sn,
        )

    # -- world -------------------------------------------------------------------------------

    def _start_world(self) -> None:
        self.start_job(self._flights(), "flights")

    def request_return_home(self) -> None:
        if self.aircraft.airborne:
            self.return_requested = True

    async def _tick(self) -> float:
        dt = await self.tick()
        self.rc_battery -= dt / 60.0  # ~1 % a minute
        if self.rc_battery < 15.0:
            self.rc_battery = 100.0  # the pilot swaps in a charged RC battery
        ac = self.aircraft
        code, level = AIRCRAFT_ALARMS[self.rng.randrange(len(AIRCRAFT_ALARMS))]
        self.maybe_hms_alarm(
            dt,
            f"aircraft:{code}",
            payloads.hms_alarm(
                code,
                device_type=self.aircraft_model_key,
                level=level,
                in_the_sky=1 if ac.airborne else 0,
            ),
        )
        return dt

    async def _flights(self) -> None:
        ac = self.aircraft
        ground_s = 10.0
        while True:
            ac.mode_code = 0
            waited = 0.0
            while waited < ground_s:
                dt = await self._tick()
                ac.hold(dt)
                waited += dt
            ground_s = 60.0
            if ac.battery < 60.0:
                ac.battery = 100.0  # fresh battery between flights
            self.return_requested = False
            ac.track_id = new_id()
            ac.mode_code = 4  # auto take-off
            while not ac.move_towards(0.0, 0.0, 20.0, 0.0, 3.0, await self._tick()):
                pass
            ac.mode_code = 3  # manual flight
            cn, ce = self.orbit_centre
            start = (cn - ORBIT_RADIUS, ce)
            while not self.return_requested and not ac.move_towards(
                start[0], start[1], ORBIT_ELEVATION, RETURN_SPEED, 3.0, await self._tick()
            ):
                pass
            while not self.return_requested and ac.battery > LOW_BATTERY:
                ac.orbit(cn, ce, ORBIT_RADIUS, ORBIT_SPEED, await self._tick())
            ac.mode_code = 9
            reason = 5 if self.return_requested else 1  # app request / low battery
            self.messages.send_state({"mode_code_reason": reason}, sn=self.aircraft_sn)
            while not ac.move_towards(
                0.0, 0.0, max(ac.elevation, 40.0), RETURN_SPEED, 3.0, await self._tick()
            ):
                pass
            ac.mode_code = 10
            while not ac.move_towards(0.0, 0.0, 0.0, 0.0, 2.5, await self._tick()):
                pass
            ac.mode_code = 0
            ac.track_id = ""
            ac.total_flight_sorties += 1
            self.return_requested = False
