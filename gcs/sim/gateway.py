"""A simulated gateway (dock or RC with Pilot 2) and its aircraft, as one MQTT protocol peer.

Theory of operation: a gateway owns three kinds of tasks.

* One *lifetime* task (`_run`) connects, runs a session, and on a lost connection waits and
  reconnects, forever until `stop()`. A *session* is one MQTT connection: subscribe, onboard
  (dock: `config`, `airport_bind_status`, organisation get/bind — only on the first session or
  after a reboot), `update_topo` until a `status_reply`, then the periodic publishers and the
  re-sender of unanswered `need_reply` messages, until the connection drops. Session tasks are
  cancelled with the session, so a reconnect never duplicates publishers.
* *World* tasks (weather, charging, flight programs, missions and progress jobs) live as long
  as the gateway: an aircraft keeps flying while its link is down, as a real one does, and
  what it publishes meanwhile is dropped.
* Incoming messages are handled synchronously in paho's read callback on the loop thread:
  replies resolve waiting futures; `services` and `property/set` are answered at once (a
  handler may also answer later, e.g. after downloading a wayline) and may start world tasks
  (progress jobs) whose events carry the command's `bid`.

Timing: simulated seconds pass `speedup` times faster than real ones. Periodic publishing
(OSD, HMS) and all simulated durations scale; network timeouts (request retry, re-send of
`need_reply` messages) do not.

This module is the session side; two parts live next to it: `gcs.sim.messages` (what the
gateway sends, `need_reply` re-sending, requests awaiting their reply, answers to `services`)
and `gcs.sim.property_set` (which property a `property/set` writes where).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from gcs.aio import spawn
from gcs.protocol.envelope import DecodeError, Message, decode
from gcs.protocol.onboarding import SubDevice, update_topo_data
from gcs.protocol.topics import Topic, TopicKind
from gcs.sim import codes, payloads, property_set
from gcs.sim.link import BrokerAddress, Link, LinkError
from gcs.sim.live import LiveStreams
from gcs.sim.messages import Messages, ServiceRecord
from gcs.sim.products import DeviceKind, Product, offset_position, serial_number
from gcs.sim.world import Aircraft, wind_direction_code

log = logging.getLogger(__name__)

ServiceResult = tuple[int, Any]
"""(result code, output or None) of a `services` handler."""
ServiceHandler = Callable[[Message], ServiceResult | None]
"""Answers a `services` message now, or returns None and calls `answer_service` later."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Periods and timeouts. `*_s` in simulated seconds unless marked real."""

    dock_osd_s: tuple[float, float, float] = (1.3, 1.3, 2.0)  # the capture's partial rates
    aircraft_osd_s: float = 2.0  # capture and docs (0.5 Hz)
    rc_osd_s: float = 2.0
    hms_s: float = 2.0  # capture: hms every ~2 s on dock and aircraft topics
    tick_s: float = 1.0  # physics step
    progress_s: float = 2.0  # flighttask_progress period (capture ~2 s)
    debug_step_s: float = 1.5  # between steps of a remote-debug progress job
    hms_alarm_every_s: float = 240.0  # mean time between occasional HMS alarms
    hms_alarm_lasts_s: float = 6.0
    reboot_s: float = 15.0
    # Real seconds: network behaviour does not speed up.
    request_timeout_s: float = 5.0
    resend_s: float = 8.0  # capture: unanswered state re-sent every ~8 s
    resend_max: int = 6
    onboard_retry_s: float = 10.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 10.0
    connect_timeout_s: float = 10.0
    drc_heartbeat_timeout_s: float = 60.0  # Dock 2/3 docs: DRC ends after 1 min without one


class OnboardError(Exception):
    """The cloud refused a step of onboarding; `step` names it, `result` is its code."""

    def __init__(self, step: str, reason: str, result: int | None = None) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
        self.result = result


@dataclass(slots=True)
class _Periodic:
    due: float  # loop time
    period: float  # real seconds
    job: Callable[[], None]


@dataclass
class GatewayConfig:
    """What the fleet tells each gateway."""

    broker: BrokerAddress
    seed: int = 0
    lat: float = 0.0
    lon: float = 0.0
    ground_height: float = 20.0
    binding_code: str = ""
    organization_id: str = ""
    speedup: float = 1.0
    timing: Timing = field(default_factory=Timing)
    on_online: Callable[[SimGateway], None] | None = None
    fetch_waylines: bool = False  # docks download each prepared KMZ and check its MD5
    # Demo: each dock flies a patrol on its own every this many simulated seconds (0 = never),
    # as if a scheduled flight task had been left on it (the first after a random delay).
    patrol_every_s: float = 0.0


class SimGateway:
    """Base of `SimDock` and `SimPilot`: link, session, incoming messages, services, live.

    Public attributes for tests and the lead: `sn`, `model_key`, `aircraft_sn`,
    `aircraft_model_key`, `kind`, `stage` (what it is doing or waiting for), `error` (why it
    is stuck, "" when fine), `online` (update_topo answered on the current connection),
    `sessions` (connections that reached online), `messages` (what it sent and received:
    `messages.sent`/`messages.received` are Counters by topic kind), `ntp_server` and `app`
    (from the `config` reply).
    """

    kind: DeviceKind

    def __init__(self, product: Product, index: int, config: GatewayConfig) -> None:
        self.product = product
        self.index = index
        self.cfg = config
        self.timing = config.timing
        self.speedup = max(0.01, config.speedup)
        self.sn = serial_number(
            product.gateway_sn_prefix, config.seed, product.key, index, product.sn_length
        )
        self.aircraft_sn = serial_number(
            product.aircraft_sn_prefix, config.seed, product.key + "/aircraft", index
        )
        self.model_key = str(product.gateway_model)
        self.aircraft_model_key = str(product.aircraft_model)
        self.callsign = f"{product.gateway_name} {index + 1}"
        self.aircraft_callsign = f"{product.aircraft_name} {index + 1}"
        self.rng = random.Random(f"{config.seed}:{self.sn}")
        self.stage = "created"
        self.error = ""
        self.online = False
        self.sessions = 0
        self.ntp_server: tuple[str, int] | None = None
        self.app: dict[str, str] = {}
        self.organization_name = ""
        self.live = LiveStreams(
            self.live_sources,
            self.allowed_url_types(),
            lambda sn: sn != self.aircraft_sn or self.aircraft.powered,
        )
        self.online_event = asyncio.Event()
        self.link = Link(self.sn, config.broker, self._on_raw, on_lost=self._on_lost)
        self.messages = Messages(self.sn, self.link, self.timing)
        self._run_task: asyncio.Task[None] | None = None
        self._session_tasks: list[asyncio.Task[Any]] = []
        self._world_tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._needs_onboarding = True
        self._offline_until = 0.0
        self.aircraft = Aircraft(
            home_lat=config.lat,
            home_lon=config.lon,
            home_height=config.ground_height,
            battery=self.rng.uniform(45.0, 75.0),
            heading=self.rng.uniform(-180, 180),
            total_flight_sorties=self.rng.randint(20, 400),
            total_flight_time=self.rng.uniform(2e4, 2e5),
            total_flight_distance=self.rng.uniform(5e4, 5e5),
            wind_speed=self.rng.uniform(0.5, 4.0),
            wind_from=self.rng.uniform(0, 360),
            _rng=random.Random(f"{config.seed}:{self.aircraft_sn}"),
        )
        self.aircraft_props = payloads.aircraft_osd(
            payload_index=product.camera_index,
            thermal=product.thermal,
            gateway_sn=self.sn,
            activation_time=1_700_000_000 + self.rng.randint(0, 50_000_000),
        )
        self._hms_active: dict[str, tuple[float, dict[str, Any]]] = {}
        self._service_handlers: dict[str, ServiceHandler] = {}
        self._register_services()

    # -- public API --------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.sn} {self.model_key} stage={self.stage}>"

    @property
    def name(self) -> str:
        return f"{self.product.gateway_name} {self.sn} + {self.product.aircraft_name} " + (
            self.aircraft_sn
        )

    @property
    def messages_sent(self) -> int:
        return sum(self.messages.sent.values())

    @property
    def messages_received(self) -> int:
        return sum(self.messages.received.values())

    def last_reply(self, method: str) -> Message | None:
        """The last reply the cloud sent to this gateway for `method` (requests_reply,
        status_reply, events_reply; `"state"` for state_reply), or None."""
        return self.messages.replies.get(method)

    def last_service(self, method: str) -> ServiceRecord | None:
        """The last `services` call of `method` received (`"property/set"` for property
        writes) and the reply data sent, or None."""
        for record in reversed(self.messages.services):
            name = record.request.method or record.request.kind.value
            if name == method:
                return record
        return None

    def start(self) -> None:
        """Start connecting (returns at once; await `online_event` for the first online)."""
        if self._run_task is None:
            self._stopping = False
            self._start_world()
            self._run_task = spawn(self._run(), name=f"sim-{self.sn}")

    async def stop(self) -> None:
        """Disconnect and end every task. The gateway cannot be started again."""
        self._stopping = True
        self.live.stop_pushes()
        tasks = [t for t in (self._run_task, *self._session_tasks, *self._world_tasks) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._session_tasks.clear()
        self._world_tasks.clear()
        self._run_task = None
        self.online = False
        await self.link.close()

    def set_broker(self, broker: BrokerAddress | str) -> None:
        """Connect with this address or login from the next connection on.

        For an RC whose Pilot login returned per-device MQTT credentials; a connected gateway
        keeps its session until it reconnects (call `drop_connection` to force it).

        Raises:
            ValueError: a URL that `BrokerAddress.parse` refuses.
        """
        self.link.broker = BrokerAddress.parse(broker) if isinstance(broker, str) else broker

    def drop_connection(self) -> None:
        """Lose the MQTT connection abruptly (as a cut cable would); it reconnects by itself."""
        self.link.drop()

    # -- time --------------------------------------------------------------------------------

    def real(self, sim_seconds: float) -> float:
        return sim_seconds / self.speedup

    async def sleep_sim(self, sim_seconds: float) -> None:
        await asyncio.sleep(sim_seconds / self.speedup)

    # -- connection lifecycle ----------------------------------------------------------------

    async def _run(self) -> None:
        backoff = self.timing.reconnect_min_s
        while not self._stopping:
            wait = self._offline_until - time.monotonic()
            if wait > 0:
                self.stage = "rebooting"
                await asyncio.sleep(wait)
            self.stage = "connecting"
            try:
                await self.link.connect(self.timing.connect_timeout_s)
            except LinkError as exc:
                self.error = exc.reason
                log.info("%s: %s; retrying in %.0f s", self.sn, exc.reason, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.timing.reconnect_max_s)
                continue
            backoff = self.timing.reconnect_min_s
            self.error = ""
            try:
                await self._session()
            except LinkError as exc:
                log.info("%s: session ended: %s", self.sn, exc.reason)
            except Exception as exc:  # a simulator bug must not end the device for good
                log.exception("%s: session failed", self.sn)
                self.error = f"internal error: {exc!r}"
                self.link.drop()
            finally:
                await self._end_session()
            if not self._stopping:
                await asyncio.sleep(self.timing.reconnect_min_s)

    async def _end_session(self) -> None:
        self.online = False
        for task in self._session_tasks:
            task.cancel()
        await asyncio.gather(*self._session_tasks, return_exceptions=True)
        self._session_tasks.clear()
        self.messages.fail_waiting()
        if self.link.connected:
            await self.link.close()

    async def _session(self) -> None:
        self.stage = "subscribing"
        await self.link.subscribe(self._subscriptions())
        if self._needs_onboarding:
            await self._onboard_until_done()
            self._needs_onboarding = False
        await self._send_update_topo()
        if self.aircraft.powered:
            # A per-gateway ACL (the station's broker) allows the aircraft's topics only once
            # update_topo has named it, so subscribe to them after it.
            await self.link.subscribe(self._aircraft_subscriptions())
        self.online = True
        self.sessions += 1
        self.stage = "online"
        self.error = ""
        self.online_event.set()
        if self.cfg.on_online is not None:
            self.cfg.on_online(self)
        self._publish_initial_state()
        self._session_tasks.append(spawn(self._publisher(), name=f"sim-pub-{self.sn}"))
        resender = self.messages.resend_forever()
        self._session_tasks.append(spawn(resender, name=f"sim-resend-{self.sn}"))
        await self.link.lost.wait()
        raise LinkError("connection lost")

    def _on_lost(self) -> None:
        self.online = False
        self.messages.fail_waiting()

    def _subscriptions(self) -> list[str]:
        gw = self.sn
        kinds = (
            TopicKind.SERVICES,
            TopicKind.PROPERTY_SET,
            TopicKind.REQUESTS_REPLY,
            TopicKind.EVENTS_REPLY,
            TopicKind.STATE_REPLY,
            TopicKind.DRC_DOWN,
        )
        subs = [str(Topic(k, gw)) for k in kinds]
        subs.append(str(Topic(TopicKind.STATUS_REPLY, gw)))
        return subs

    def _aircraft_subscriptions(self) -> list[str]:
        return [
            str(Topic(TopicKind.STATE_REPLY, self.aircraft_sn)),
            str(Topic(TopicKind.EVENTS_REPLY, self.aircraft_sn)),
        ]

    async def _onboard_until_done(self) -> None:
        while True:
            try:
                await self._onboard()
                return
            except OnboardError as exc:
                self.error = str(exc)
                log.warning("%s: onboarding stuck at %s", self.sn, exc)
                await self._pause(self.timing.onboard_retry_s)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` (real) while connected.

        Raises:
            LinkError: the connection was lost meanwhile.
        """
        try:
            await asyncio.wait_for(self.link.lost.wait(), seconds)
        except TimeoutError:
            return
        raise LinkError("connection lost")

    async def _onboard(self) -> None:
        """Steps before update_topo (docks: config and binding; RCs: nothing)."""

    def reboot(self) -> None:
        """Go offline for `timing.reboot_s` (simulated), then reconnect and onboard again."""
        self._offline_until = time.monotonic() + self.real(self.timing.reboot_s)
        self._needs_onboarding = True
        self.on_reboot()
        self.link.drop()

    def on_reboot(self) -> None:
        """Reset device state after a reboot (subclasses)."""

    # -- update_topo -------------------------------------------------------------------------

    def update_topo_message(self) -> Message:
        subs = []
        if self.aircraft.powered:
            subs.append(
                SubDevice(
                    self.aircraft_sn,
                    self.product.aircraft_model,
                    "A",
                    self.product.aircraft_thing_version,
                )
            )
        data = update_topo_data(
            self.product.gateway_model, self.product.gateway_thing_version, subs
        )
        return self.messages.envelope(TopicKind.STATUS, data, method="update_topo")

    async def _send_update_topo(self) -> None:
        while True:
            self.stage = "update_topo"
            reply = await self.messages.call(self.update_topo_message())
            result = reply.data.get("result") if isinstance(reply.data, dict) else None
            if result == 0:
                return
            self.error = f"update_topo: status_reply result {result!r}"
            await self._pause(self.timing.onboard_retry_s)

    def announce_topology(self) -> None:
        """Send update_topo now (aircraft powered on/off) without waiting for the reply."""
        if self.online:
            self.messages.publish(self.update_topo_message(), 1)
            if self.aircraft.powered:
                self._session_tasks.append(
                    spawn(
                        self.link.subscribe(self._aircraft_subscriptions()),
                        name=f"sim-subscribe-{self.sn}",
                    )
                )

    # -- periodic publishing -----------------------------------------------------------------

    def periodic_jobs(self) -> list[tuple[float, Callable[[], None]]]:
        """(period in simulated seconds, job) pairs run while online (subclasses)."""
        return []

    async def _publisher(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        # Real devices are not synchronised: each job starts at a random phase of its period,
        # so a fleet's messages spread evenly instead of arriving in bursts.
        jobs = [
            _Periodic(start + self.rng.uniform(0.0, self.real(period)), self.real(period), job)
            for period, job in self.periodic_jobs()
        ]
        if not jobs:
            return
        while True:
            entry = min(jobs, key=lambda j: j.due)
            delay = entry.due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                entry.job()
            except Exception:
                log.exception("%s: periodic job failed", self.sn)
            entry.due += entry.period
            if entry.due < loop.time():
                entry.due = loop.time() + entry.period

    def _publish_initial_state(self) -> None:
        """State messages sent after each update_topo (subclasses)."""

    # -- world tasks -------------------------------------------------------------------------

    def _start_world(self) -> None:
        """Start lifetime simulation tasks (subclasses)."""

    def start_job(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = spawn(coro, name=f"sim-{self.sn}-{name}")
        self._world_tasks.add(task)
        task.add_done_callback(self._world_tasks.discard)
        return task

    async def tick(self) -> float:
        """Wait one physics step; returns its length in simulated seconds."""
        dt = self.timing.tick_s
        await self.sleep_sim(dt)
        return dt

    def maybe_hms_alarm(self, dt: float, key: str, alarm: dict[str, Any]) -> None:
        """Now and then raise `alarm` for `hms_alarm_lasts_s`; expire old ones."""
        t = time.monotonic()
        for k, (until, _) in list(self._hms_active.items()):
            if until < t:
                del self._hms_active[k]
        if key in self._hms_active:
            return
        if self.rng.random() < dt / self.timing.hms_alarm_every_s:
            self._hms_active[key] = (t + self.real(self.timing.hms_alarm_lasts_s), alarm)

    def active_alarms(self, prefix: str) -> list[dict[str, Any]]:
        return [a for k, (_, a) in self._hms_active.items() if k.startswith(prefix)]

    # -- aircraft rendering ------------------------------------------------------------------

    def render_aircraft(self) -> dict[str, Any]:
        """The aircraft OSD now (updates and returns `aircraft_props`)."""
        ac = self.aircraft
        p = self.aircraft_props
        lat, lon = ac.position
        p["latitude"] = round(lat, 8)
        p["longitude"] = round(lon, 8)
        p["height"] = round(ac.height, 2)
        p["elevation"] = round(ac.elevation, 1)
        p["attitude_head"] = round(ac.heading, 1)
        p["attitude_pitch"] = round(ac.pitch, 1)
        p["attitude_roll"] = round(ac.roll, 1)
        p["horizontal_speed"] = ac.horizontal_speed
        p["vertical_speed"] = ac.vertical_speed
        p["home_distance"] = round(ac.home_distance, 1)
        p["mode_code"] = ac.mode_code
        p["track_id"] = ac.track_id
        p["wind_speed"] = round(ac.wind_speed * 10)  # 0.1 m/s units
        p["wind_direction"] = wind_direction_code(ac.wind_from)
        p["total_flight_distance"] = round(ac.total_flight_distance, 1)
        p["total_flight_time"] = round(ac.total_flight_time, 1)
        p["total_flight_sorties"] = ac.total_flight_sorties
        capacity = int(ac.battery)
        battery = p["battery"]
        battery["capacity_percent"] = capacity
        battery["remain_flight_time"] = ac.remain_flight_time() if ac.airborne else 0
        battery["return_home_power"] = max(5, min(40, int(8 + ac.home_distance / 100)))
        pack = battery["batteries"][0]
        pack["capacity_percent"] = capacity
        pack["voltage"] = int(21000 + capacity * 40)
        pack["temperature"] = round(28.0 + (8.0 if ac.airborne else 0.0) + capacity / 50, 1)
        gimbal = p.get(self.product.camera_index)
        if isinstance(gimbal, dict):
            gimbal["gimbal_yaw"] = round(ac.heading, 1)
            gimbal["gimbal_pitch"] = -30.0 if ac.airborne else 0.0
            if ac.airborne:
                dist = ac.elevation / math.tan(math.radians(30.0))
                tlat, tlon = self._ahead(dist)
                gimbal["measure_target_latitude"] = round(tlat, 8)
                gimbal["measure_target_longitude"] = round(tlon, 8)
                gimbal["measure_target_altitude"] = round(ac.home_height, 1)
                gimbal["measure_target_distance"] = round(math.hypot(dist, ac.elevation), 1)
                gimbal["measure_target_error_state"] = 0
            else:
                gimbal["measure_target_error_state"] = 2
        return p

    def _ahead(self, distance: float) -> tuple[float, float]:
        ac = self.aircraft
        h = math.radians(ac.heading)
        lat, lon = ac.position
        return offset_position(lat, lon, distance * math.cos(h), distance * math.sin(h))

    def publish_aircraft_osd(self) -> None:
        if self.aircraft.powered:
            msg = self.messages.envelope(TopicKind.OSD, self.render_aircraft(), sn=self.aircraft_sn)
            self.messages.publish(msg, 0)

    # -- receiving ---------------------------------------------------------------------------

    def _on_raw(self, topic: str, payload: bytes) -> None:
        try:
            msg = decode(topic, payload)
        except DecodeError as exc:
            self.messages.received["invalid"] += 1
            log.warning("%s: undecodable message: %s", self.sn, exc)
            bad = exc.reply_to
            if bad is not None and bad.kind is TopicKind.SERVICES:
                self.messages.reply_service(bad, {"result": codes.BAD_PARAMETERS})
            return
        self.messages.received[msg.kind.value] += 1
        kind = msg.kind
        if kind in (
            TopicKind.REQUESTS_REPLY,
            TopicKind.STATUS_REPLY,
            TopicKind.EVENTS_REPLY,
            TopicKind.STATE_REPLY,
        ):
            self.messages.on_reply(msg)
        elif kind is TopicKind.SERVICES:
            self._on_services(msg)
        elif kind is TopicKind.PROPERTY_SET:
            property_set.answer(self, msg)

    def _on_services(self, msg: Message) -> None:
        method = msg.method or ""
        handler = self._service_handlers.get(method)
        if handler is None:
            self.messages.reply_service(msg, {"result": codes.NOT_SUPPORTED})
            return
        try:
            outcome = handler(msg)
        except Exception:
            log.exception("%s: service %s failed", self.sn, method)
            outcome = codes.BAD_PARAMETERS, None
        if outcome is not None:
            self.answer_service(msg, *outcome)

    def answer_service(self, msg: Message, result: int, output: Any = None) -> None:
        """Publish the `services_reply` to `msg` (for handlers that answer later)."""
        data: dict[str, Any] = {"result": result}
        if output is not None:
            data["output"] = output
        self.messages.reply_service(msg, data)

    def _register_services(self) -> None:
        live = self.live
        self._service_handlers["live_start_push"] = self._live_service(live.start)
        self._service_handlers["live_stop_push"] = self._live_service(live.stop)
        self._service_handlers["live_set_quality"] = self._live_service(live.set_quality)
        self._service_handlers["live_lens_change"] = self._live_service(live.change_lens)
        self._service_handlers["return_home"] = self._svc_return_home
        self._service_handlers["return_home_cancel"] = lambda msg: (codes.OK, None)

    def data_of(self, msg: Message) -> dict[str, Any]:
        return msg.data if isinstance(msg.data, dict) else {}

    # -- property/set (see gcs.sim.property_set) ---------------------------------------------

    def set_gateway_property(self, key: str, value: Any) -> int:
        """Write a property of the gateway itself (subclasses)."""
        return codes.PROPERTY_FAILED

    # -- live streaming ----------------------------------------------------------------------

    def live_sources(self) -> dict[str, list[tuple[str, list[str]]]]:
        """{source SN: [(camera_index, switchable video types)]} (subclasses extend)."""
        lenses = ["normal", "wide", "zoom"] + (["ir"] if self.product.thermal else [])
        cameras = [(self.product.camera_index, lenses)]
        cameras += [(index, ["normal"]) for index in self.product.extra_cameras]
        return {self.aircraft_sn: cameras}

    def allowed_url_types(self) -> frozenset[int]:
        return frozenset({0, 1, 3, 4})

    def live_capacity(self) -> dict[str, Any]:
        return payloads.live_capacity(self.live_sources(), dock=self.kind is DeviceKind.DOCK)

    def live_status(self) -> list[dict[str, Any]]:
        return self.live.status()

    def publish_live_status(self) -> None:
        self.messages.send_state({"live_status": self.live.status()})

    def _live_service(self, action: Callable[[dict[str, Any]], tuple[int, Any]]) -> ServiceHandler:
        def handle(msg: Message) -> ServiceResult:
            result, output = action(self.data_of(msg))
            if result == codes.OK:
                self.publish_live_status()
            return result, output

        return handle

    def _svc_return_home(self, msg: Message) -> ServiceResult:
        self.request_return_home()
        return codes.OK, None

    def request_return_home(self) -> None:
        """Make a flying aircraft come back (subclasses)."""
