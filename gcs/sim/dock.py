"""A simulated DJI Dock (1, 2 or 3) with its aircraft.

Onboarding follows protocol §2.3: `config` → `airport_bind_status` → (if unbound)
`airport_organization_get` → `airport_organization_bind` → `update_topo`. The dock's OSD goes
out as the three partial messages a real Dock 3 sends; the aircraft sits in the dock charging
until a flight task (or remote debugging) moves it.

A flight task (`flighttask_prepare` + `flighttask_execute`) opens the cover, takes off, flies a
600 m square at 60 m taking a photo at each corner, returns, lands and closes up, reporting
`flighttask_progress` with the command's bid; `return_home` ends it early as a user RTH
(322283), `flighttask_pause`/`_recovery` hold and resume it. After landing the photos go to the
object store the cloud names in `storage_config_get` (see `gcs.sim.media`).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import logging
import math
import ssl
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gcs.protocol.envelope import Message, new_id
from gcs.protocol.topics import TopicKind
from gcs.sim import codes, command, flight, payloads
from gcs.sim.drc import DrcSession, broker_of
from gcs.sim.gateway import GatewayConfig, OnboardError, ServiceResult, SimGateway, now_ms
from gcs.sim.link import LinkError
from gcs.sim.media import (
    PHOTO_JPEG,
    Shot,
    StorageGrant,
    UploadError,
    photo_name,
    put_object,
    upload_callback_data,
)
from gcs.sim.products import DeviceKind, Product
from gcs.sim.world import Weather

log = logging.getLogger(__name__)

# Remote-debug jobs that report progress with events of the same method (protocol §4.3).
PROGRESS_STEPS: dict[str, tuple[str, ...]] = {
    "cover_open": (
        "get_bid", "check_work_mode", "check_task_state", "check_scram_state", "open_cover",
    ),
    "cover_close": (
        "get_bid", "check_work_mode", "check_task_state", "check_scram_state",
        "turn_on_drone", "drone_paddle_forward", "close_cover", "drone_paddle_reverse",
        "drone_paddle_stop",
    ),
    "cover_force_close": ("get_bid", "check_work_mode", "close_cover"),
    "charge_open": (
        "get_bid", "check_work_mode", "check_task_state", "check_cover", "start_charge",
    ),
    "charge_close": ("get_bid", "check_work_mode", "check_task_state", "stop_charge"),
    "drone_open": ("get_bid", "check_work_mode", "check_task_state", "open_drone"),
    "drone_close": (
        "get_bid", "check_work_mode", "check_task_state", "check_scram_state", "close_drone",
    ),
    "device_reboot": (
        "get_bid", "check_ac_input_state", "upgrading_prevent_reboot", "check_work_mode",
        "check_task_state", "write_reboot_param_file",
    ),
    "drone_format": ("get_bid", "check_work_mode", "format"),
    "device_format": ("get_bid", "check_work_mode", "format"),
    "putter_open": ("get_bid", "check_work_mode", "check_task_state", "free_putter"),
    "putter_close": ("get_bid", "check_work_mode", "check_task_state", "close_putter"),
}  # fmt: skip

# Remote-debug switches answered at once (`output.status` "ok").
SWITCHES = (
    "supplement_light_open",
    "supplement_light_close",
    "alarm_state_switch",
    "battery_maintenance_switch",
    "air_conditioner_mode_switch",
    "battery_store_mode_switch",
    "sdr_workmode_switch",
)

DOCK_ALARMS = (
    ("0x19114813", 1),  # temperature and humidity sensor self-heating time too long
    ("0x19114000", 1),  # wind speed too high (>= 9 m/s); unable to perform task
    ("0x19113414", 1),  # battery temperature too high; unable to start charging
)
AIRCRAFT_ALARMS = (
    ("0x1D050003", 0),  # gimbal pan axis endpoint reached
    ("0x1606000D", 1),  # compass interference
)

MAX_WAYLINE_BYTES = 64 * 1024 * 1024


def fetch_file(url: str, timeout: float = 20.0) -> bytes:
    """GET `url` (http or https; the station's own certificate is accepted as is).

    Raises:
        OSError: unreachable, HTTP error status, or larger than `MAX_WAYLINE_BYTES`.
        ValueError: not an http(s) URL.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
        body: bytes = response.read(MAX_WAYLINE_BYTES + 1)
    if len(body) > MAX_WAYLINE_BYTES:
        raise OSError(f"wayline file larger than {MAX_WAYLINE_BYTES} bytes")
    return body


CRUISE_ELEVATION = 60.0
CRUISE_SPEED = 10.0


@dataclass
class Mission:
    flight_id: str
    bid: str
    track_id: str = field(default_factory=new_id)
    status: str = "in_progress"
    percent: int = 0
    current_step: int = 0
    waypoint: int = 0
    wayline_state: int = 4
    rth: bool = False
    paused: bool = False
    last_progress: float = 0.0
    shots: list[Shot] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)  # the flighttask_prepare data
    rth_canceled: bool = False  # return_home_cancel during the return: hover


class SimDock(SimGateway):
    """A dock gateway. See the module docstring."""

    kind = DeviceKind.DOCK

    def __init__(self, product: Product, index: int, config: GatewayConfig) -> None:
        super().__init__(product, index, config)
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
        self.auto_charge = True
        self.prepared: dict[str, dict[str, Any]] = {}
        self.waylines: dict[str, bytes] = {}  # flight id -> KMZ fetched (fetch_waylines)
        self.uploaded: list[str] = []  # object keys of media uploaded
        self.media_error = ""  # why the last media upload stopped, "" if it did not
        self.mission: Mission | None = None
        self.command: command.CommandFlight | None = None
        self.drc: DrcSession | None = None
        self.bound = False

    # -- onboarding (protocol §2.3) ----------------------------------------------------------

    async def _onboard(self) -> None:
        self.stage = "config"
        reply = await self.request("config", {"config_type": "json", "config_scope": "product"})
        data = self.data_of(reply)
        missing = [k for k in ("app_id", "app_key", "app_license") if k not in data]
        if missing:
            # The licence fields go directly in `data`, with no result/output wrapper (§6).
            result = data.get("result")
            raise OnboardError(
                "config",
                f"reply lacks {', '.join(missing)} directly in data (result {result!r})",
                result if isinstance(result, int) else None,
            )
        host = data.get("ntp_server_host")
        port = data.get("ntp_server_port", 123)
        if isinstance(host, str) and host:
            self.ntp_server = (host, port if isinstance(port, int) else 123)
        self.app = {k: str(data.get(k, "")) for k in ("app_id", "app_key", "app_license")}

        self.stage = "airport_bind_status"
        result, output = self._result(
            await self.request(
                "airport_bind_status",
                {"devices": [{"sn": self.aircraft_sn}, {"sn": self.sn}]},
            )
        )
        if result != 0:
            raise OnboardError(self.stage, f"cloud answered result {result}", result)
        states = output.get("bind_status") if isinstance(output, dict) else None
        bound = {
            s.get("sn"): s.get("is_device_bind_organization") in (True, 1)
            for s in (states if isinstance(states, list) else [])
            if isinstance(s, dict)
        }
        if bound.get(self.sn) and bound.get(self.aircraft_sn):
            self.bound = True
            return
        code, org = self.cfg.binding_code, self.cfg.organization_id
        if not code:
            raise OnboardError(self.stage, "not bound to an organisation and no binding code given")

        self.stage = "airport_organization_get"
        result, output = self._result(
            await self.request(
                "airport_organization_get",
                {"device_binding_code": code, "organization_id": org},
            )
        )
        if result != 0:
            raise OnboardError(self.stage, f"cloud answered result {result}", result)
        if isinstance(output, dict):
            self.organization_name = str(output.get("organization_name", ""))

        self.stage = "airport_organization_bind"
        devices = [
            (self.sn, self.callsign, self.model_key),
            (self.aircraft_sn, self.aircraft_callsign, self.aircraft_model_key),
        ]
        result, output = self._result(
            await self.request(
                "airport_organization_bind",
                {
                    "bind_devices": [
                        {
                            "device_binding_code": code,
                            "organization_id": org,
                            "device_callsign": callsign,
                            "sn": sn,
                            "device_model_key": key,
                        }
                        for sn, callsign, key in devices
                    ]
                },
            )
        )
        if result != 0:
            raise OnboardError(self.stage, f"cloud answered result {result}", result)
        errors = output.get("err_infos") if isinstance(output, dict) else None
        for item in errors if isinstance(errors, list) else []:
            if isinstance(item, dict) and item.get("err_code", 0) != 0:
                err = item.get("err_code")
                raise OnboardError(self.stage, f"{item.get('sn')} refused with {err}", err)
        self.bound = True

    @staticmethod
    def _result(reply: Message) -> tuple[int, Any]:
        data = reply.data if isinstance(reply.data, dict) else {}
        result = data.get("result")
        if not isinstance(result, int) or isinstance(result, bool):
            return -1, None
        return result, data.get("output")

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
        self.publish(self.envelope(TopicKind.OSD, part), 0)

    def _publish_hms(self) -> None:
        self.send_event("hms", {"list": self.active_alarms("dock")})

    def _publish_aircraft_hms(self) -> None:
        if self.aircraft.powered:
            self.send_event("hms", {"list": self.active_alarms("aircraft")}, sn=self.aircraft_sn)

    def _publish_initial_state(self) -> None:
        self.send_state(dict(self.firmware_state))
        self.send_state({"live_capacity": self.live_capacity()})
        self.send_state({"live_status": self.live_status()})
        if self.aircraft.powered:
            self._publish_aircraft_state()

    def _publish_aircraft_state(self) -> None:
        ac_sn = self.aircraft_sn
        self.send_state(
            {
                "firmware_version": self.product.aircraft_firmware,
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
            self.send_state(data, sn=ac_sn, need_reply=True)

    def live_sources(self) -> dict[str, list[tuple[str, list[str]]]]:
        sources = {self.sn: [("165-0-7", ["normal"])]}
        sources.update(super().live_sources())
        return sources

    # -- world -------------------------------------------------------------------------------

    def _start_world(self) -> None:
        self.start_job(self._physics(), "physics")

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
        h["debug_mode_open"] = self._svc_debug_mode_open
        h["debug_mode_close"] = self._svc_debug_mode_close
        for method in PROGRESS_STEPS:
            if method.startswith("putter_") and self.product.gateway_model.type != 1:
                continue  # driving rods: Dock 1 only
            h[method] = self._svc_progress_job
        for method in SWITCHES:
            h[method] = self._svc_switch
        h["flighttask_prepare"] = self._svc_flighttask_prepare
        h["flighttask_execute"] = self._svc_flighttask_execute
        h["flighttask_undo"] = self._svc_flighttask_undo
        h["flighttask_pause"] = self._svc_flighttask_pause
        h["flighttask_recovery"] = self._svc_flighttask_recovery
        h["return_home_cancel"] = lambda msg: flight.cancel_return_home(self)
        h["flight_authority_grab"] = lambda msg: (codes.OK, None)
        h["payload_authority_grab"] = lambda msg: (codes.OK, None)
        h["takeoff_to_point"] = self._svc_takeoff_to_point
        h["fly_to_point"] = self._svc_fly_to_point
        h["fly_to_point_update"] = self._svc_fly_to_point_update
        h["fly_to_point_stop"] = self._svc_fly_to_point_stop
        h["drc_mode_enter"] = self._svc_drc_mode_enter
        h["drc_mode_exit"] = self._svc_drc_mode_exit
        if self.product.gateway_model.type != 1:
            h["live_camera_change"] = self._live_service(self.live.change_camera)

    def _svc_debug_mode_open(self, msg: Message) -> ServiceResult:
        mode = self.dock_props["mode_code"]
        if mode == 4:
            return codes.DOCK_WORKING, None
        self.dock_props["mode_code"] = 2
        return codes.OK, {"status": "ok"}

    def _svc_debug_mode_close(self, msg: Message) -> ServiceResult:
        if self.dock_props["mode_code"] == 2:
            self.dock_props["mode_code"] = 0
        return codes.OK, {"status": "ok"}

    def _debug_refusal(self) -> int | None:
        mode = self.dock_props["mode_code"]
        if mode == 2:
            return None
        return codes.DOCK_WORKING if mode == 4 else codes.NOT_IN_REMOTE_DEBUG

    def _svc_switch(self, msg: Message) -> ServiceResult:
        refusal = self._debug_refusal()
        if refusal is not None:
            return refusal, None
        method = msg.method or ""
        p = self.dock_props
        action = self.data_of(msg).get("action")
        if method == "supplement_light_open":
            p["supplement_light_state"] = 1
        elif method == "supplement_light_close":
            p["supplement_light_state"] = 0
        elif method == "alarm_state_switch" and action in (0, 1):
            p["alarm_state"] = action
        elif method == "battery_maintenance_switch" and action in (0, 1):
            p["drone_battery_maintenance_info"]["maintenance_state"] = 2 if action else 0
        elif method == "air_conditioner_mode_switch" and action in (0, 1, 2, 3):
            p["air_conditioner"]["air_conditioner_state"] = action
        elif method == "battery_store_mode_switch" and action in (1, 2):
            p["battery_store_mode"] = action
        elif method == "sdr_workmode_switch":
            mode = self.data_of(msg).get("link_workmode")
            if mode not in (0, 1):
                return codes.BAD_PARAMETERS, None
            p["wireless_link"]["link_workmode"] = mode
            return codes.OK, None
        elif method not in ("supplement_light_open", "supplement_light_close"):
            return codes.BAD_PARAMETERS, None
        return codes.OK, {"status": "ok"}

    def _svc_progress_job(self, msg: Message) -> ServiceResult:
        refusal = self._debug_refusal()
        if refusal is not None:
            return refusal, None
        method = msg.method or ""
        if method in ("cover_open", "cover_close", "cover_force_close"):
            self.dock_props["cover_state"] = 2  # half open while moving
        self.start_job(self._progress_job(method, msg.bid), method)
        return codes.OK, {"status": "in_progress"}

    async def _progress_job(self, method: str, bid: str) -> None:
        steps = PROGRESS_STEPS[method]
        for i, step in enumerate(steps):
            percent = int(100 * i / len(steps))
            data = payloads.progress("in_progress", percent=percent, step_key=step)
            self.send_event(method, data, bid=bid)
            await self.sleep_sim(self.timing.debug_step_s)
        self._finish_debug_job(method)
        self.send_event(
            method,
            payloads.progress("ok", percent=100, step_key=steps[-1]),
            bid=bid,
            need_reply=True,
        )
        if method == "device_reboot":
            await self.sleep_sim(0.5)
            self.reboot()

    def _finish_debug_job(self, method: str) -> None:
        p = self.dock_props
        ac = self.aircraft
        if method == "cover_open":
            p["cover_state"] = 1
        elif method in ("cover_close", "cover_force_close"):
            p["cover_state"] = 0
        elif method == "putter_open":
            p["putter_state"] = 1
        elif method == "putter_close":
            p["putter_state"] = 0
        elif method == "charge_open":
            self.auto_charge = True
        elif method == "charge_close":
            self.auto_charge = False
            p["drone_charge_state"]["state"] = 0
        elif method == "drone_open" and not ac.powered:
            ac.powered = True
            self.announce_topology()
            self._publish_aircraft_state()
        elif method == "drone_close" and ac.powered:
            ac.powered = False
            if self.live.clear(self.aircraft_sn):
                self.publish_live_status()
            self.announce_topology()

    def set_gateway_property(self, key: str, value: Any) -> int:
        if key in ("user_experience_improvement", "silent_mode") and isinstance(value, int):
            if key in self.dock_props or key == "silent_mode":
                self.dock_props[key] = value
                return codes.PROPERTY_OK
        if key == "air_transfer_enable" and isinstance(value, bool | int):
            self.send_state({key: value})
            return codes.PROPERTY_OK
        return codes.PROPERTY_FAILED

    # -- flight tasks ------------------------------------------------------------------------

    def _svc_flighttask_prepare(self, msg: Message) -> ServiceResult | None:
        d = self.data_of(msg)
        flight_id = d.get("flight_id")
        file = d.get("file")
        if not isinstance(flight_id, str) or not flight_id or not isinstance(file, dict):
            return codes.BAD_PARAMETERS, None
        if self.cfg.fetch_waylines:
            # A real dock answers once it has the file: download and check it first.
            self.start_job(self._fetch_wayline(msg, flight_id, d), f"fetch-{flight_id}")
            return None
        self._prepared(flight_id, d)
        return codes.OK, None

    def _prepared(self, flight_id: str, d: dict[str, Any]) -> None:
        self.prepared[flight_id] = d
        if d.get("task_type") == 2:
            self.start_job(self._await_ready_conditions(flight_id), f"ready-{flight_id}")

    async def _fetch_wayline(self, msg: Message, flight_id: str, d: dict[str, Any]) -> None:
        file = d["file"]
        url, fingerprint = file.get("url"), file.get("fingerprint")
        if not isinstance(url, str) or not url:
            self.answer_service(msg, codes.WAYLINE_URL_EMPTY)
            return
        if not isinstance(fingerprint, str) or not fingerprint:
            self.answer_service(msg, codes.WAYLINE_MD5_EMPTY)
            return
        loop = asyncio.get_running_loop()
        try:
            body = await loop.run_in_executor(None, fetch_file, url)
        except (OSError, ValueError) as exc:
            log.warning("%s: cannot fetch wayline %s: %s", self.sn, url, exc)
            self.answer_service(msg, codes.WAYLINE_FETCH_FAILED)
            return
        if hashlib.md5(body).hexdigest() != fingerprint.strip().lower():
            self.answer_service(msg, codes.WAYLINE_MD5_MISMATCH)
            return
        unusable = flight.check_kmz(body)
        if unusable:
            self.answer_service(msg, unusable)
            return
        self.waylines[flight_id] = body
        self._prepared(flight_id, d)
        self.answer_service(msg, codes.OK)

    async def _await_ready_conditions(self, flight_id: str) -> None:
        """Conditional task: announce `flighttask_ready` once its conditions hold (§4.2)."""
        while flight_id in self.prepared:
            conditions = self.prepared[flight_id].get("ready_conditions")
            cond = conditions if isinstance(conditions, dict) else {}
            now = now_ms()
            battery = cond.get("battery_capacity", 0)
            begin, end = cond.get("begin_time", 0), cond.get("end_time", 0)
            if (
                isinstance(battery, int | float)
                and self.aircraft.battery >= battery
                and (not isinstance(begin, int) or now >= begin)
                and (not isinstance(end, int) or not end or now <= end)
                and self.mission is None
            ):
                self.send_event("flighttask_ready", {"flight_ids": [flight_id]}, need_reply=True)
                return
            await self.tick()

    def _svc_flighttask_execute(self, msg: Message) -> ServiceResult:
        flight_id = self.data_of(msg).get("flight_id")
        if not isinstance(flight_id, str) or flight_id not in self.prepared:
            return codes.DEVICE_STATE_FORBIDS, None
        mode = self.dock_props["mode_code"]
        if mode == 2:
            return codes.IN_REMOTE_DEBUG, None
        if mode == 4 or self.mission is not None or self.command is not None:
            return codes.DOCK_WORKING, None
        if self.aircraft.battery < 30:
            return codes.BATTERY_TOO_LOW, None
        self.mission = Mission(flight_id, msg.bid, plan=self.prepared.pop(flight_id))
        self.dock_props["mode_code"] = 4
        self.start_job(self._fly_mission(self.mission), f"mission-{flight_id}")
        return codes.OK, None

    def _svc_flighttask_undo(self, msg: Message) -> ServiceResult:
        ids = self.data_of(msg).get("flight_ids")
        for flight_id in ids if isinstance(ids, list) else []:
            self.prepared.pop(flight_id, None)
        return codes.OK, None

    def _svc_flighttask_pause(self, msg: Message) -> ServiceResult:
        if self.mission is None or self.mission.rth:
            return codes.CANNOT_PAUSE, None
        self.mission.paused = True
        return codes.OK, None

    def _svc_flighttask_recovery(self, msg: Message) -> ServiceResult:
        if self.mission is None or not self.mission.paused:
            return codes.RESUME_FAILED, None
        self.mission.paused = False
        return codes.OK, None

    def _shot(self) -> Shot:
        ac = self.aircraft
        lat, lon = ac.position
        return Shot(
            taken_at=datetime.datetime.now(),
            latitude=lat,
            longitude=lon,
            height=ac.height,
            elevation=ac.elevation,
            gimbal_yaw=ac.heading,
        )

    async def _upload_media(self, m: Mission) -> None:
        """After landing: STS credentials, one PUT and one file_upload_callback per photo."""
        detail = self.dock_props["media_file_detail"]
        detail["remain_upload"] = len(m.shots)
        reply = None
        for _ in range(10):
            if self.online:
                try:
                    reply = await self.request("storage_config_get", {"module": 0})
                    break
                except LinkError:
                    pass
            await asyncio.sleep(self.timing.reconnect_max_s)
        if reply is None:
            self.media_error = "storage_config_get: not online"
            return
        result, output = self._result(reply)
        try:
            if result != 0:
                raise ValueError(f"storage_config_get answered result {result}")
            grant = StorageGrant.from_output(output)
        except ValueError as exc:
            self.media_error = str(exc)
            log.warning("%s: no media upload: %s", self.sn, exc)
            return
        loop = asyncio.get_running_loop()
        payload_key = "1-" + "-".join(self.product.camera_index.split("-")[:2])
        for i, shot in enumerate(m.shots, 1):
            name = photo_name(shot, i)
            key = grant.object_key(m.flight_id, name)
            try:
                await loop.run_in_executor(None, put_object, grant, key, PHOTO_JPEG, "image/jpeg")
            except UploadError as exc:
                self.media_error = str(exc)
                log.warning("%s: media upload failed: %s", self.sn, exc)
                return
            self.uploaded.append(key)
            detail["remain_upload"] = len(m.shots) - i
            data = upload_callback_data(
                shot,
                name=name,
                object_key=key,
                flight_id=m.flight_id,
                drone_model_key=self.aircraft_model_key,
                payload_model_key=payload_key,
            )
            self.send_event("file_upload_callback", data, need_reply=True)

    def request_return_home(self) -> None:
        if self.mission is not None:
            self.mission.rth = True
            self.mission.paused = False
            self.mission.rth_canceled = False
        if self.command is not None:
            self.command.rth = True

    # -- command flight (§4.4) ---------------------------------------------------------------

    def _busy(self) -> int | None:
        mode = self.dock_props["mode_code"]
        if mode == 2:
            return codes.IN_REMOTE_DEBUG
        if mode == 4 or self.mission is not None or self.command is not None:
            return codes.DOCK_WORKING
        if self.aircraft.battery < 30:
            return codes.BATTERY_TOO_LOW
        return None

    def _svc_takeoff_to_point(self, msg: Message) -> ServiceResult:
        d = self.data_of(msg)
        flight_id = d.get("flight_id")
        safe = command.number(d, "security_takeoff_height", 20, 1500)
        speed = command.number(d, "max_speed", 1, 15)
        if not isinstance(flight_id, str) or not flight_id or safe is None or speed is None:
            return codes.BAD_PARAMETERS, None
        try:
            north, east, elevation = command.local_target(self, d, "target_")
        except ValueError:
            return codes.BAD_PARAMETERS, None
        refusal = self._busy()
        if refusal is not None:
            return refusal, None
        cf = command.CommandFlight(
            flight_id, msg.bid, north, east, elevation, safe_elevation=safe, max_speed=speed
        )
        self.command = cf
        self.dock_props["mode_code"] = 4
        self.start_job(command.fly(self, cf), f"takeoff-{flight_id}")
        return codes.OK, None

    def _fly_to_target(self, msg: Message) -> tuple[command.FlyTo | None, int]:
        d = self.data_of(msg)
        cf = self.command
        if cf is None or cf.rth or cf.status not in ("wayline_ok", "wayline_progress"):
            return None, codes.DEVICE_STATE_FORBIDS
        points = d.get("points")
        speed = command.number(d, "max_speed", 0, 15)
        if not isinstance(points, list) or len(points) != 1 or not isinstance(points[0], dict):
            return None, codes.BAD_PARAMETERS
        try:
            north, east, elevation = command.local_target(self, points[0])
        except ValueError:
            return None, codes.BAD_PARAMETERS
        fly_to_id = d.get("fly_to_id") or (cf.fly_to.fly_to_id if cf.fly_to else "")
        return command.FlyTo(
            str(fly_to_id), msg.bid, north, east, max(elevation, 20.0), max(speed or 0.0, 1.0)
        ), codes.OK

    def _svc_fly_to_point(self, msg: Message) -> ServiceResult:
        target, result = self._fly_to_target(msg)
        if target is None or self.command is None:
            return result, None
        self.command.fly_to = target
        return codes.OK, None

    def _svc_fly_to_point_update(self, msg: Message) -> ServiceResult:
        if self.command is None or self.command.fly_to is None:
            return codes.DEVICE_STATE_FORBIDS, None
        current = self.command.fly_to
        target, result = self._fly_to_target(msg)
        if target is None:
            return result, None
        target.fly_to_id, target.bid = current.fly_to_id, current.bid
        self.command.fly_to = target
        return codes.OK, None

    def emergency_stop(self) -> None:
        """DRC `drone_emergency_stop`: stop where it is and hover."""
        if self.command is not None and self.command.fly_to is not None:
            self.command.fly_to.stop = True

    def _svc_drc_mode_enter(self, msg: Message) -> ServiceResult:
        d = self.data_of(msg)
        mqtt_broker = d.get("mqtt_broker")
        osd_hz = command.number(d, "osd_frequency", 1, 30) if "osd_frequency" in d else 10.0
        hsi_hz = command.number(d, "hsi_frequency", 1, 30) if "hsi_frequency" in d else 1.0
        if not isinstance(mqtt_broker, dict) or osd_hz is None or hsi_hz is None:
            return codes.BAD_PARAMETERS, None
        try:
            broker, client_id = broker_of(mqtt_broker)
        except ValueError:
            return codes.BAD_PARAMETERS, None
        expire = mqtt_broker.get("expire_time")
        if self.drc is not None:
            self.drc.close()
        session = DrcSession(
            self,
            broker,
            client_id,
            osd_hz=osd_hz,
            hsi_hz=hsi_hz,
            expires_at=float(expire) if isinstance(expire, int | float) and expire else None,
        )
        self.drc = session
        self.start_job(session.run(), "drc")
        return codes.OK, None

    def _svc_drc_mode_exit(self, msg: Message) -> ServiceResult:
        if self.drc is not None:
            self.drc.close()
        return codes.OK, None

    def _svc_fly_to_point_stop(self, msg: Message) -> ServiceResult:
        if self.command is not None and self.command.fly_to is not None:
            self.command.fly_to.stop = True
        return codes.OK, None

    def _progress_data(self, m: Mission, result: int = 0) -> dict[str, Any]:
        ext: dict[str, Any] = {
            "current_waypoint_index": m.waypoint,
            "flight_id": m.flight_id,
            "track_id": m.track_id,
            "wayline_id": 0,
            "wayline_mission_state": m.wayline_state,
            "media_count": len(m.shots),
        }
        if m.status == "failed" and m.rth:
            lat, lon = self.aircraft.position
            ext["break_point"] = {
                "attitude_head": 0,
                "break_reason": 1283,
                "height": round(self.aircraft.height, 2),
                "index": m.waypoint,
                "latitude": lat,
                "longitude": lon,
                "progress": round(m.percent / 100, 3),
                "state": 0,
                "wayline_id": 0,
            }
        return payloads.progress(
            m.status, percent=m.percent, current_step=m.current_step, result=result, ext=ext
        )

    def _progress(self, m: Mission, *, status: str | None = None, force: bool = False) -> None:
        changed = status is not None and status != m.status
        if status is not None:
            m.status = status
        t = time.monotonic()
        if changed or force or t - m.last_progress >= self.real(self.timing.progress_s):
            m.last_progress = t
            self.send_event(
                "flighttask_progress",
                self._progress_data(m),
                bid=m.bid,
                need_reply=changed or force,
            )

    async def _mission_tick(self, m: Mission) -> float:
        dt = await self.tick()
        while m.paused and not m.rth:
            if m.status != "paused":
                self._progress(m, status="paused")
            self.aircraft.hold(dt)
            dt = await self.tick()
        if m.status == "paused":
            self._progress(m, status="in_progress")
        self._progress(m)
        return dt

    async def _fly_mission(self, m: Mission) -> None:
        """Take off, fly the KMZ's waypoints (`gcs.sim.flight`; a ~600 m square when the file
        was not fetched), come back, land, close up (protocol §4.2)."""
        p = self.dock_props
        ac = self.aircraft
        home = (ac.home_lat, ac.home_lon)
        try:
            m.current_step, m.percent = 1, 1
            p["flighttask_step_code"] = 0
            p["drone_charge_state"]["state"] = 0
            self._progress(m, force=True)
            if not ac.powered:
                ac.powered = True
                self.announce_topology()
            p["cover_state"] = 2
            for _ in range(6):
                await self._mission_tick(m)
            p["cover_state"] = 1
            m.current_step, m.percent, m.wayline_state = 5, 10, 5
            ac.track_id = m.track_id
            ac.mode_code = 4
            p["flighttask_step_code"] = 1
            while not ac.move_towards(0.0, 0.0, 30.0, 0.0, 4.0, await self._mission_tick(m)):
                if ac.elevation > 1.0:
                    p["drone_in_dock"] = 0
            p["drone_in_dock"] = 0
            ac.mode_code = 5
            m.wayline_state = 6
            square = [(150.0, 0.0), (150.0, 150.0), (0.0, 150.0), (0.0, 0.0)]
            route = flight.legs_for(self, m.flight_id, m.plan) or [
                flight.Leg(n, e, CRUISE_ELEVATION, CRUISE_SPEED) for n, e in square
            ]
            total = flight.length(route, ac.north, ac.east)
            flown = 0.0
            for i, leg in enumerate(route):
                m.waypoint = i
                while not m.rth:
                    before = (ac.north, ac.east)
                    dt = await self._mission_tick(m)
                    if m.rth:
                        break
                    arrived = ac.move_towards(
                        leg.north, leg.east, leg.elevation, leg.speed, 3.0, dt
                    )
                    flown += math.hypot(ac.north - before[0], ac.east - before[1])
                    m.percent = 10 + int(75 * min(1.0, flown / total))
                    if arrived:
                        m.shots.append(self._shot())
                        break
                if m.rth:
                    break
            # Return and land.
            m.percent = max(m.percent, 85)
            if m.rth:
                ac.mode_code = 9
                self.send_state({"mode_code_reason": 5}, sn=self.aircraft_sn, need_reply=True)
                info = {"flight_id": m.flight_id, "last_point_type": 0}
                self.send_event("return_home_info", info)
                height = max(ac.elevation, 40.0)
                while True:
                    dt = await self._mission_tick(m)
                    if m.rth_canceled:  # return_home_cancel: hover until told again
                        ac.hold(dt)
                        continue
                    if ac.move_towards(0.0, 0.0, height, CRUISE_SPEED, 3.0, dt):
                        break
            while ac.home_distance > 0.5:  # the route's finish action: go home
                dt = await self._mission_tick(m)
                ac.move_towards(0.0, 0.0, max(ac.elevation, 20.0), CRUISE_SPEED, 3.0, dt)
            ac.mode_code = 10
            m.percent = 95
            while not ac.move_towards(0.0, 0.0, 0.0, 0.0, 2.5, await self._mission_tick(m)):
                pass
            ac.mode_code = 0
            ac.track_id = ""
            ac.total_flight_sorties += 1
            p["drone_in_dock"] = 1
            p["flighttask_step_code"] = 2
            p["cover_state"] = 2
            m.wayline_state = 2
            for _ in range(6):
                await self._mission_tick(m)
            p["cover_state"] = 0
            p["job_number"] += 1
            m.percent = 100
            m.current_step = 36 if m.rth else 37
            if m.rth:
                m.status = "failed"
                self.send_event(
                    "flighttask_progress",
                    self._progress_data(m, codes.USER_RTH),
                    bid=m.bid,
                    need_reply=True,
                )
            else:
                self._progress(m, status="ok")
            if m.shots:
                self.start_job(self._upload_media(m), f"media-{m.flight_id}")
        except asyncio.CancelledError:
            raise
        finally:
            ac.home_lat, ac.home_lon = home  # after a simulate_mission flight
            if self.mission is m:
                self.mission = None
            p["mode_code"] = 0 if p["mode_code"] == 4 else p["mode_code"]
            p["flighttask_step_code"] = 5
