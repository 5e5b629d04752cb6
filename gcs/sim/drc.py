"""DRC (Direct Remote Control) on a simulated dock (protocol §16).

`drc_mode_enter` names a broker, a client id and a login; the dock opens a second MQTT
connection there (`drc_state` 1 → 2 in its OSD), subscribes `thing/product/{dock}/drc/down` and
publishes on `thing/product/{dock}/drc/up`:

* `osd_info_push` at `osd_frequency` Hz and `hsi_info_push` at `hsi_frequency` Hz (real time,
  whatever the fleet's speed-up: they are what the operator's sticks react to);
* the echo of every `heart_beat`; without one for `Timing.drc_heartbeat_timeout_s` the dock
  leaves DRC by itself, as a real one does after a minute;
* `{result: 0}` under the same method for `drone_emergency_stop` and every `drc_*` command.

`stick_control` moves an aircraft that hovers in command flight (see `gcs.sim.command`).
`drc_mode_exit`, a lost DRC connection or an expired login end the session (`drc_state` 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from gcs.aio import spawn
from gcs.protocol.envelope import Message
from gcs.sim import codes
from gcs.sim.command import number
from gcs.sim.gateway import ServiceHandler, ServiceResult
from gcs.sim.link import BrokerAddress, Link, LinkError

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock

log = logging.getLogger(__name__)

STICK_NEUTRAL = 1024
STICK_RANGE = 660
STICK_FRESH_S = 0.5  # a stick_control older than this no longer moves the aircraft
MAX_STICK_SPEED = 10.0  # m/s at full stick, forward/sideways
MAX_STICK_CLIMB = 4.0  # m/s
MAX_STICK_YAW = 90.0  # °/s


def broker_of(mqtt_broker: dict[str, Any]) -> tuple[BrokerAddress, str]:
    """(address, client id) of a `drc_mode_enter` `mqtt_broker` object.

    `address` is `host:port` per the docs; a real Dock 3 also took `ws://host:port/mqtt`.

    Raises:
        ValueError: a field is missing or the address cannot be read.
    """
    address = mqtt_broker.get("address")
    client_id = mqtt_broker.get("client_id")
    if not isinstance(address, str) or not address or not isinstance(client_id, str):
        raise ValueError("mqtt_broker needs address and client_id")
    tls = bool(mqtt_broker.get("enable_tls"))
    if "://" not in address:
        address = ("mqtts://" if tls else "mqtt://") + address
    parsed = BrokerAddress.parse(address)
    username = mqtt_broker.get("username")
    password = mqtt_broker.get("password")
    return (
        BrokerAddress(
            host=parsed.host,
            port=parsed.port,
            username=username if isinstance(username, str) else "",
            password=password if isinstance(password, str) else "",
            tls=parsed.tls or tls,
            websocket_path=parsed.websocket_path,
        ),
        client_id or f"{parsed.host}-drc",
    )


def stick_axis(data: dict[str, Any], key: str) -> float:
    """A stick value (364..1684, neutral 1024) as -1..1; neutral when absent or bad."""
    value = data.get(key, STICK_NEUTRAL)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return max(-1.0, min(1.0, (value - STICK_NEUTRAL) / STICK_RANGE))


def handlers(dock: SimDock) -> dict[str, ServiceHandler]:
    """The DRC `services` methods `dock` answers, by method."""
    return {
        "drc_mode_enter": partial(drc_mode_enter, dock),
        "drc_mode_exit": partial(drc_mode_exit, dock),
    }


def drc_mode_enter(dock: SimDock, msg: Message) -> ServiceResult:
    """`drc_mode_enter`: open a DRC session (closing any previous one)."""
    d = dock.data_of(msg)
    mqtt_broker = d.get("mqtt_broker")
    osd_hz = number(d, "osd_frequency", 1, 30) if "osd_frequency" in d else 10.0
    hsi_hz = number(d, "hsi_frequency", 1, 30) if "hsi_frequency" in d else 1.0
    if not isinstance(mqtt_broker, dict) or osd_hz is None or hsi_hz is None:
        return codes.BAD_PARAMETERS, None
    try:
        broker, client_id = broker_of(mqtt_broker)
    except ValueError:
        return codes.BAD_PARAMETERS, None
    expire = mqtt_broker.get("expire_time")
    if dock.drc is not None:
        dock.drc.close()
    session = DrcSession(
        dock,
        broker,
        client_id,
        osd_hz=osd_hz,
        hsi_hz=hsi_hz,
        expires_at=float(expire) if isinstance(expire, int | float) and expire else None,
    )
    dock.drc = session
    dock.start_job(session.run(), "drc")
    return codes.OK, None


def drc_mode_exit(dock: SimDock, msg: Message) -> ServiceResult:
    """`drc_mode_exit`: end the DRC session, if any."""
    if dock.drc is not None:
        dock.drc.close()
    return codes.OK, None


class DrcSession:
    """One DRC connection of a dock. `run()` is its task; `close()` ends it."""

    def __init__(
        self,
        dock: SimDock,
        broker: BrokerAddress,
        client_id: str,
        *,
        osd_hz: float,
        hsi_hz: float,
        expires_at: float | None,
    ) -> None:
        self.dock = dock
        self.topic_up = f"thing/product/{dock.sn}/drc/up"
        self.topic_down = f"thing/product/{dock.sn}/drc/down"
        self.link = Link(client_id, broker, self._on_message)
        self.osd_period = 1.0 / osd_hz
        self.hsi_period = 1.0 / hsi_hz
        self.expires_at = expires_at  # epoch seconds, or None
        self.last_heartbeat = time.monotonic()
        self.heartbeats = 0
        self.stick: tuple[float, dict[str, Any]] | None = None
        self.sent = 0
        self._closing = asyncio.Event()

    def close(self) -> None:
        self._closing.set()

    async def run(self) -> None:
        dock = self.dock
        dock.dock_props["drc_state"] = 1
        tasks: list[asyncio.Task[None]] = []
        try:
            await self.link.connect(dock.timing.connect_timeout_s)
            await self.link.subscribe([self.topic_down])
            dock.dock_props["drc_state"] = 2
            self.last_heartbeat = time.monotonic()
            tasks = [
                spawn(self._every(self.osd_period, self._osd), name=f"drc-osd-{dock.sn}"),
                spawn(self._every(self.hsi_period, self._hsi), name=f"drc-hsi-{dock.sn}"),
            ]
            await self._watch()
        except LinkError as exc:
            log.warning("%s: DRC connection failed: %s", dock.sn, exc.reason)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.link.close()
            dock.dock_props["drc_state"] = 0
            if dock.drc is self:
                dock.drc = None

    async def _watch(self) -> None:
        timeout = self.dock.timing.drc_heartbeat_timeout_s
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), 0.5)
            if self.link.lost.is_set():
                log.info("%s: DRC connection lost", self.dock.sn)
                return
            if time.monotonic() - self.last_heartbeat > timeout:
                log.info("%s: no DRC heartbeat for %.0f s; leaving DRC", self.dock.sn, timeout)
                return
            if self.expires_at is not None and time.time() > self.expires_at:
                log.info("%s: DRC login expired", self.dock.sn)
                return

    async def _every(self, period: float, job: Any) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            job()
            due += period
            delay = due - loop.time()
            if delay < 0:
                due = loop.time()
                delay = 0
            await asyncio.sleep(delay)

    def publish(self, method: str, data: Any, seq: Any = None) -> None:
        message: dict[str, Any] = {"method": method, "timestamp": int(time.time() * 1000)}
        if seq is not None:
            message["seq"] = seq
        message["data"] = data
        if self.link.publish(self.topic_up, orjson.dumps(message), 0):
            self.sent += 1

    def _osd(self) -> None:
        ac = self.dock.aircraft
        if not ac.powered:
            return
        lat, lon = ac.position
        heading = math.radians(ac.heading)
        self.publish(
            "osd_info_push",
            {
                "attitude_head": round(ac.heading, 1),
                "latitude": round(lat, 8),
                "longitude": round(lon, 8),
                "height": round(ac.height, 2),
                "speed_x": round(ac.horizontal_speed * math.cos(heading), 2),
                "speed_y": round(ac.horizontal_speed * math.sin(heading), 2),
                "speed_z": ac.vertical_speed,
                "gimbal_pitch": -30.0 if ac.airborne else 0.0,
                "gimbal_roll": 0.0,
                "gimbal_yaw": round(ac.heading, 1),
            },
        )

    def _hsi(self) -> None:
        ac = self.dock.aircraft
        if not ac.powered:
            return
        self.publish(
            "hsi_info_push",
            {
                "up_distance": 60000,
                "down_distance": int(ac.elevation * 1000) if ac.airborne else 0,
                "around_distances": [60000] * 360,
                "up_enable": True,
                "up_work": ac.airborne,
                "down_enable": True,
                "down_work": ac.airborne,
                "left_enable": True,
                "left_work": ac.airborne,
                "right_enable": True,
                "right_work": ac.airborne,
                "front_enable": True,
                "front_work": ac.airborne,
                "back_enable": True,
                "back_work": ac.airborne,
                "vertical_enable": True,
                "vertical_work": ac.airborne,
                "horizontal_enable": True,
                "horizontal_work": ac.airborne,
            },
        )

    def stick_velocity(self) -> tuple[float, float, float, float] | None:
        """(forward m/s, right m/s, up m/s, yaw °/s) from a fresh `stick_control`, else None."""
        if self.stick is None or time.monotonic() - self.stick[0] > STICK_FRESH_S:
            return None
        data = self.stick[1]
        return (
            stick_axis(data, "pitch") * MAX_STICK_SPEED,
            stick_axis(data, "roll") * MAX_STICK_SPEED,
            stick_axis(data, "throttle") * MAX_STICK_CLIMB,
            stick_axis(data, "yaw") * MAX_STICK_YAW,
        )

    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        method = message.get("method")
        data = message.get("data")
        data = data if isinstance(data, dict) else {}
        seq = message.get("seq")
        if method == "heart_beat":
            self.last_heartbeat = time.monotonic()
            self.heartbeats += 1
            self.publish("heart_beat", data, seq)
        elif method == "stick_control":
            self.stick = (time.monotonic(), data)
        elif method == "drone_emergency_stop":
            self.stick = None
            self.dock.emergency_stop()
            self.publish(method, {"result": 0}, seq)
        elif isinstance(method, str) and method.startswith("drc_"):
            self.publish(method, {"result": 0}, seq)
