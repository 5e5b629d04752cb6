"""A simulated DJI Dock (1, 2 or 3) with its aircraft: its state, what it publishes, its world.

The dock's OSD goes out as the three partial messages a real Dock 3 sends; the aircraft sits in
the dock charging until a flight task, a command flight or remote debugging moves it. This
module holds the dock's state (`dock_props`, the running mission or command flight, the DRC
session), its periodic publishing, its physics (weather, charging, HMS alarms) and the table of
the `services` methods it answers. What each service does lives in one module per capability:

* `gcs.sim.onboarding`: `config`, binding to an organisation (§2.3);
* `gcs.sim.debug`: remote debugging, switches and progress jobs (§4.3);
* `gcs.sim.mission`: flight tasks, `flighttask_*` (§4.2), and `gcs.sim.media` for the photos
  uploaded after landing;
* `gcs.sim.command`: command flight, `takeoff_to_point` / `fly_to_point*` (§4.4);
* `gcs.sim.drc`: Direct Remote Control (§16);
* `gcs.sim.ota`: firmware upgrades (§14), `gcs.sim.logs`: remote logs (§15).
* `gcs.sim.flight_areas`: custom flight areas, `flight_areas_update` (Dock 2/3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gcs.protocol.envelope import new_id
from gcs.protocol.topics import TopicKind
from gcs.sim import (
    codes,
    command,
    debug,
    drc,
    flight_areas,
    logs,
    mission,
    onboarding,
    ota,
    payloads,
)
from gcs.sim.drc import DrcSession
from gcs.sim.gateway import GatewayConfig, SimGateway
from gcs.sim.mission import Mission
from gcs.sim.products import DeviceKind, Product
from gcs.sim.world import Weather

DOCK_ALARMS = (
    ("0x19114813", 1),  # temperature and humidity sensor self-heating time too long
    ("0x19114000", 1),  # wind speed too high (>= 9 m/s); unable to perform task
    ("0x19113414", 1),  # battery temperature too high; unable to start charging
)
AIRCRAFT_ALARMS = (
    ("0x1D050003", 0),  # gimbal pan axis endpoint reached
    ("0x1606000D", 1),  # compass interference
)


class SimDock(SimGateway):
    """A dock gateway. See the module docstring."""

    kind = DeviceKind.DOCK

    def __init__(self, product: Product, index: int, config: GatewayConfig) -> None:
        super().__init__(product, index, config)
        self.flight_areas: list[dict[str, Any]] = []  # features of the loaded flight-area file
        self.flight_area_file: dict[str, str] = {}
        rng = self.rng
        dock_height = config.ground_height + 1.2
        self.aircraft.home_height = dock_height
        self.weather = Weather(
            base_temperature=rng.uniform(12.0, 28.0),
            base_humidity=rng.uniform(45.0, 80.0),
            rng=rng,
        )
        self.weather.wind_speed = rng.uniform(0.0, 4.0)
        self.dock_props = payloads.dock_osd(
            model=self.model_key,
            aircraft_sn=self.aircraft_sn,
            latitude=round(config.lat, 8),
            longitude=round(config.lon, 8),
            height=round(dock_height, 2),
            heading=round(rng.uniform(-180.0, 180.0), 1),
            first_power_on=1_650_000_000_000 + rng.randint(0, 10**11),
            activation_time=1_650_000_000 + rng.randint(0, 10**8),
            job_number=rng.randint(10, 600),
            acc_time=rng.randint(10**5, 10**7),
            battery_store_mode=2 if rng.random() < 0.7 else 1,
            alternate_land_point={
                "latitude": round(config.lat + 0.0002, 8),
                "longitude": round(config.lon + 0.0001, 8),
            },
            self_converge_coordinate={
                "latitude": round(config.lat, 8),
                "longitude": round(config.lon, 8),
                "height": round(config.ground_height, 2),
            },
            sub_device={"device_model_key": self.aircraft_model_key},
        )
        self.firmware_state = {
            "firmware_version": product.gateway_firmware,
            "compatible_status": 0,
            "firmware_upgrade_status": 0,
        }
        self.aircraft_firmware = product.aircraft_firmware  # changed by an upgrade (gcs.sim.ota)
        self.auto_charge = True
        self.prepared: dict[str, dict[str, Any]] = {}
        self.waylines: dict[str, bytes] = {}  # flight id -> KMZ fetched (fetch_waylines)
        self.uploaded: list[str] = []  # object keys of media uploaded
        self.media_error = ""  # why the last media upload stopped, "" if it did not
        self.mission: Mission | None = None
        self.command: command.CommandFlight | None = None
        self.drc: DrcSession | None = None
        self.bound = False

    # -- onboarding (gcs.sim.onboarding) -----------------------------------------------------

    async def _onboard(self) -> None:
        await onboarding.onboard(self)

    # -- publishing --------------------------------------------------------------------------

    def periodic_jobs(self) -> list[tuple[float, Callable[[], None]]]:
        t = self.timing
        return [
            (t.dock_osd_s[0], lambda: self._publish_dock_part(0)),
            (t.dock_osd_s[1], lambda: self._publish_dock_part(1)),
            (t.dock_osd_s[2], lambda: self._publish_dock_part(2)),
            (t.aircraft_osd_s, self.publish_aircraft_osd),
            (t.hms_s, self._publish_hms),
            (t.hms_s, self._publish_aircraft_hms),
            (t.aircraft_osd_s, lambda: flight_areas.publish_location(self)),
        ]

    def render_dock(self) -> dict[str, Any]:
        """The complete dock OSD now (updates and returns `dock_props`)."""
        p = self.dock_props
        w = self.weather
        ac = self.aircraft
        p["environment_temperature"] = round(w.temperature, 1)
        p["temperature"] = round(w.cabin_temperature, 1)
        p["humidity"] = round(w.humidity)
        p["wind_speed"] = round(w.wind_speed, 1)
        capacity = int(ac.battery)
        p["drone_charge_state"]["capacity_percent"] = capacity
        p["sub_device"]["device_online_status"] = 1 if ac.powered else 0
        maint = p["drone_battery_maintenance_info"]["batteries"][0]
        maint["capacity_percent"] = capacity
        maint["voltage"] = int(21000 + capacity * 40)
        p["network_state"]["rate"] = int(400 + self.rng.random() * 250)
        return p

    def _publish_dock_part(self, index: int) -> None:
        full = self.render_dock() if index == 0 else self.dock_props
        part = payloads.dock_osd_part(full, index)
        self.messages.publish(self.messages.envelope(TopicKind.OSD, part), 0)

    def _publish_hms(self) -> None:
        self.messages.send_event("hms", {"list": self.active_alarms("dock")})

    def _publish_aircraft_hms(self) -> None:
        if self.aircraft.powered:
            self.messages.send_event(
                "hms", {"list": self.active_alarms("aircraft")}, sn=self.aircraft_sn
            )

    def _publish_initial_state(self) -> None:
        self.messages.send_state(dict(self.firmware_state))
        self.messages.send_state({"live_capacity": self.live_capacity()})
        self.messages.send_state({"live_status": self.live_status()})
        if self.aircraft.powered:
            self.publish_aircraft_state()

    def publish_aircraft_state(self) -> None:
        ac_sn = self.aircraft_sn
        self.messages.send_state(
            {
                "firmware_version": self.aircraft_firmware,
                "compatible_status": 0,
                "firmware_upgrade_status": 0,
            },
            sn=ac_sn,
        )
        # A real dock aircraft sends these one by one with need_reply 1 (capture).
        for data in (
            {"payloads": [{"control_source": "A", "payload_index": self.product.camera_index}]},
            {"mode_code_reason": 0},
            {"rth_mode": 1},
            {"commander_flight_mode": 1},
            {"commander_flight_height": 80},
            {"commander_mode_lost_action": 1},
            {
                "home_latitude": self.dock_props["latitude"],
                "home_longitude": self.dock_props["longitude"],
            },
        ):
            self.messages.send_state(data, sn=ac_sn, need_reply=True)

    def live_sources(self) -> dict[str, list[tuple[str, list[str]]]]:
        sources = {self.sn: [("165-0-7", ["normal"])]}
        sources.update(super().live_sources())
        return sources

    # -- world -------------------------------------------------------------------------------

    def _start_world(self) -> None:
        self.start_job(self._physics(), "physics")
        if self.cfg.patrol_every_s > 0:
            self.start_job(self._patrols(self.cfg.patrol_every_s), "patrols")

    async def _patrols(self, every_s: float) -> None:
        """Demo: take off on our own every `every_s` (first after a random delay), fly the loop,
        land.

        A patrol waits while the dock is busy (a commanded task, remote debugging, DRC) or the
        aircraft.s battery is under 40 %.
        """
        await self.sleep_sim(self.rng.uniform(10.0, min(every_s, 120.0)))
        while True:
            p = self.dock_props
            idle = self.mission is None and self.command is None and p["mode_code"] == 0
            if idle and self.aircraft.battery >= 40:
                self.mission = Mission(f"patrol-{new_id()}", new_id())
                p["mode_code"] = 4
                await mission.fly(self, self.mission)
            await self.sleep_sim(every_s)

    async def _physics(self) -> None:
        while True:
            dt = await self.tick()
            self.weather.step(dt)
            p = self.dock_props
            p["acc_time"] += int(dt)
            ac = self.aircraft
            if self.mission is None and self.command is None:
                ac.hold(dt)
                self._charge(dt)
            code, level = DOCK_ALARMS[self.rng.randrange(len(DOCK_ALARMS))]
            self.maybe_hms_alarm(
                dt,
                f"dock:{code}",
                payloads.hms_alarm(code, device_type=self.model_key, level=level),
            )
            if ac.powered:
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

    def charge_limit(self) -> float:
        return 95.0 if self.dock_props.get("battery_store_mode") == 2 else 60.0

    def _charge(self, dt: float) -> None:
        p = self.dock_props
        charging = (
            self.auto_charge
            and p["drone_in_dock"] == 1
            and p["cover_state"] == 0
            and self.aircraft.battery < self.charge_limit()
        )
        p["drone_charge_state"]["state"] = 1 if charging else 0
        if charging:
            self.aircraft.charge(dt, 0.05, self.charge_limit())

    def on_reboot(self) -> None:
        self.dock_props["mode_code"] = 0
        self.live.clear()

    # -- services ----------------------------------------------------------------------------

    def _register_services(self) -> None:
        super()._register_services()
        h = self._service_handlers
        h.update(debug.handlers(self))
        h.update(mission.handlers(self))
        h["flight_authority_grab"] = lambda msg: (codes.OK, None)
        h["payload_authority_grab"] = lambda msg: (codes.OK, None)
        h.update(command.handlers(self))
        h.update(drc.handlers(self))
        h.update(ota.handlers(self))
        h.update(logs.handlers(self))
        if self.product.gateway_model.type != 1:
            h["live_camera_change"] = self._live_service(self.live.change_camera)
            h.update(flight_areas.handlers(self))  # custom flight areas: Dock 2 and 3

    def busy_refusal(self) -> int | None:
        """The code refusing a new flight now (remote debugging, already working, battery
        below 30 %), or None when the dock may take off."""
        mode = self.dock_props["mode_code"]
        if mode == 2:
            return codes.IN_REMOTE_DEBUG
        if mode == 4 or self.mission is not None or self.command is not None:
            return codes.DOCK_WORKING
        if self.aircraft.battery < 30:
            return codes.BATTERY_TOO_LOW
        return None

    def set_gateway_property(self, key: str, value: Any) -> int:
        if key in ("user_experience_improvement", "silent_mode") and isinstance(value, int):
            if key in self.dock_props or key == "silent_mode":
                self.dock_props[key] = value
                return codes.PROPERTY_OK
        if key == "air_transfer_enable" and isinstance(value, bool | int):
            self.messages.send_state({key: value})
            return codes.PROPERTY_OK
        return codes.PROPERTY_FAILED

    # -- flights (gcs.sim.mission, gcs.sim.command) ------------------------------------------

    def request_return_home(self) -> None:
        if self.mission is not None:
            self.mission.rth = True
            self.mission.paused = False
            self.mission.rth_canceled = False
        if self.command is not None:
            self.command.rth = True

    def emergency_stop(self) -> None:
        """DRC `drone_emergency_stop`: stop where it is and hover."""
        if self.command is not None and self.command.fly_to is not None:
            self.command.fly_to.stop = True
