"""Command flight on a simulated dock: `takeoff_to_point`, `fly_to_point`, return home (§4.4).

The aircraft takes off from the dock, climbs to the safe take-off height, flies to the target
in command-flight mode (`mode_code` 17) and hovers there; `fly_to_point` sends it on to another
point, `fly_to_point_stop` halts it, `return_home` (or a low battery) brings it back to land.
Progress goes out as `takeoff_to_point_progress` / `fly_to_point_progress` events, each status
change with `need_reply` 1.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from gcs.protocol.envelope import Message, new_id
from gcs.sim import codes
from gcs.sim.gateway import ServiceHandler, ServiceResult
from gcs.sim.products import local_offset_m

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock

COMMAND_FLIGHT_MODE = 17
LOW_BATTERY_RTH = 25.0


@dataclass
class FlyTo:
    fly_to_id: str
    bid: str
    north: float
    east: float
    elevation: float
    max_speed: float
    stop: bool = False
    last_report: float = 0.0


@dataclass
class CommandFlight:
    flight_id: str
    bid: str
    north: float
    east: float
    elevation: float
    safe_elevation: float
    max_speed: float
    track_id: str = field(default_factory=new_id)
    status: str = "task_ready"
    fly_to: FlyTo | None = None
    rth: bool = False
    last_report: float = 0.0


def number(data: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if low <= value <= high else None


def local_target(dock: SimDock, point: dict[str, Any], prefix: str = "") -> tuple[float, ...]:
    """(north, east, elevation) of a `{latitude, longitude, height}` point (height is
    ellipsoidal, §4.4).

    Raises:
        ValueError: a coordinate is missing or out of range.
    """
    lat = number(point, prefix + "latitude", -90, 90)
    lon = number(point, prefix + "longitude", -180, 180)
    height = number(point, prefix + "height", 2, 10000)
    if lat is None or lon is None or height is None:
        raise ValueError("target latitude/longitude/height missing or out of range")
    ac = dock.aircraft
    north, east = local_offset_m(ac.home_lat, ac.home_lon, lat, lon)
    if math.hypot(north, east) > 15_000:
        raise ValueError("target more than 15 km away")
    return north, east, max(2.0, height - ac.home_height)


def handlers(dock: SimDock) -> dict[str, ServiceHandler]:
    """The command-flight `services` methods `dock` answers, by method."""
    return {
        "takeoff_to_point": partial(takeoff_to_point, dock),
        "fly_to_point": partial(fly_to_point, dock),
        "fly_to_point_update": partial(fly_to_point_update, dock),
        "fly_to_point_stop": partial(fly_to_point_stop, dock),
    }


def takeoff_to_point(dock: SimDock, msg: Message) -> ServiceResult:
    """`takeoff_to_point`: start a command flight unless the dock is busy."""
    d = dock.data_of(msg)
    flight_id = d.get("flight_id")
    safe = number(d, "security_takeoff_height", 20, 1500)
    speed = number(d, "max_speed", 1, 15)
    if not isinstance(flight_id, str) or not flight_id or safe is None or speed is None:
        return codes.BAD_PARAMETERS, None
    try:
        north, east, elevation = local_target(dock, d, "target_")
    except ValueError:
        return codes.BAD_PARAMETERS, None
    refusal = dock.busy_refusal()
    if refusal is not None:
        return refusal, None
    cf = CommandFlight(
        flight_id, msg.bid, north, east, elevation, safe_elevation=safe, max_speed=speed
    )
    dock.command = cf
    dock.dock_props["mode_code"] = 4
    dock.start_job(fly(dock, cf), f"takeoff-{flight_id}")
    return codes.OK, None


def _fly_to_target(dock: SimDock, msg: Message) -> tuple[FlyTo | None, int]:
    d = dock.data_of(msg)
    cf = dock.command
    if cf is None or cf.rth or cf.status not in ("wayline_ok", "wayline_progress"):
        return None, codes.DEVICE_STATE_FORBIDS
    points = d.get("points")
    speed = number(d, "max_speed", 0, 15)
    if not isinstance(points, list) or len(points) != 1 or not isinstance(points[0], dict):
        return None, codes.BAD_PARAMETERS
    try:
        north, east, elevation = local_target(dock, points[0])
    except ValueError:
        return None, codes.BAD_PARAMETERS
    fly_to_id = d.get("fly_to_id") or (cf.fly_to.fly_to_id if cf.fly_to else "")
    return FlyTo(
        str(fly_to_id), msg.bid, north, east, max(elevation, 20.0), max(speed or 0.0, 1.0)
    ), codes.OK


def fly_to_point(dock: SimDock, msg: Message) -> ServiceResult:
    """`fly_to_point`: send the hovering aircraft of a command flight to a new point."""
    target, result = _fly_to_target(dock, msg)
    if target is None or dock.command is None:
        return result, None
    dock.command.fly_to = target
    return codes.OK, None


def fly_to_point_update(dock: SimDock, msg: Message) -> ServiceResult:
    """`fly_to_point_update`: change the target of the current fly-to (same id and bid)."""
    if dock.command is None or dock.command.fly_to is None:
        return codes.DEVICE_STATE_FORBIDS, None
    current = dock.command.fly_to
    target, result = _fly_to_target(dock, msg)
    if target is None:
        return result, None
    target.fly_to_id, target.bid = current.fly_to_id, current.bid
    dock.command.fly_to = target
    return codes.OK, None


def fly_to_point_stop(dock: SimDock, msg: Message) -> ServiceResult:
    """`fly_to_point_stop`: stop where it is and hover."""
    dock.emergency_stop()
    return codes.OK, None


async def fly(dock: SimDock, cf: CommandFlight) -> None:
    """Run one command flight to its end (landed, cover closed)."""
    p = dock.dock_props
    ac = dock.aircraft
    try:
        _takeoff_progress(dock, cf, "task_ready")
        p["drone_charge_state"]["state"] = 0
        p["flighttask_step_code"] = 0
        if not ac.powered:
            ac.powered = True
            dock.announce_topology()
        p["cover_state"] = 2
        for _ in range(6):
            await dock.tick()
        p["cover_state"] = 1
        p["flighttask_step_code"] = 1
        ac.track_id = cf.track_id
        ac.mode_code = 4
        _takeoff_progress(dock, cf, "wayline_progress")
        while not cf.rth and not ac.move_towards(
            0.0, 0.0, cf.safe_elevation, 0.0, 4.0, await _tick(dock, cf)
        ):
            p["drone_in_dock"] = 0 if ac.elevation > 1.0 else 1
        p["drone_in_dock"] = 0
        ac.mode_code = COMMAND_FLIGHT_MODE
        while not cf.rth and not ac.move_towards(
            cf.north, cf.east, cf.elevation, cf.max_speed, 4.0, await _tick(dock, cf)
        ):
            pass
        if not cf.rth:
            _takeoff_progress(dock, cf, "wayline_ok")
        while not cf.rth:
            dt = await _tick(dock, cf)
            sticks = dock.drc.stick_velocity() if dock.drc is not None else None
            if cf.fly_to is not None:
                _fly_to_step(dock, cf, cf.fly_to, dt)
            elif sticks is not None:
                ac.move_by(*sticks, dt)
            else:
                ac.hold(dt)
        if cf.fly_to is not None:
            _fly_to_progress(dock, cf.fly_to, "wayline_cancel")
            cf.fly_to = None
        ac.mode_code = 9
        height = max(ac.elevation, 40.0)
        while not ac.move_towards(0.0, 0.0, height, cf.max_speed, 4.0, await dock.tick()):
            pass
        ac.mode_code = 10
        while not ac.move_towards(0.0, 0.0, 0.0, 0.0, 2.5, await dock.tick()):
            pass
        ac.mode_code = 0
        ac.track_id = ""
        ac.total_flight_sorties += 1
        p["drone_in_dock"] = 1
        p["flighttask_step_code"] = 2
        p["cover_state"] = 2
        for _ in range(6):
            await dock.tick()
        p["cover_state"] = 0
        _takeoff_progress(dock, cf, "task_finish")
    finally:
        if dock.command is cf:
            dock.command = None
        p["mode_code"] = 0 if p["mode_code"] == 4 else p["mode_code"]
        p["flighttask_step_code"] = 5


async def _tick(dock: SimDock, cf: CommandFlight) -> float:
    dt = await dock.tick()
    if dock.aircraft.battery < LOW_BATTERY_RTH:
        cf.rth = True
    if cf.status == "wayline_progress" and _due(dock, cf.last_report):
        _takeoff_progress(dock, cf, "wayline_progress", periodic=True)
    return dt


def _due(dock: SimDock, last: float) -> bool:
    return time.monotonic() - last >= dock.real(dock.timing.progress_s)


def _fly_to_step(dock: SimDock, cf: CommandFlight, ft: FlyTo, dt: float) -> None:
    ac = dock.aircraft
    if ft.stop:
        ac.hold(dt)
        _fly_to_progress(dock, ft, "wayline_cancel")
        cf.fly_to = None
        return
    if ac.move_towards(ft.north, ft.east, ft.elevation, ft.max_speed, 4.0, dt):
        _fly_to_progress(dock, ft, "wayline_ok")
        cf.fly_to = None
    elif _due(dock, ft.last_report):
        _fly_to_progress(dock, ft, "wayline_progress", periodic=True)


def _remaining(dock: SimDock, north: float, east: float, speed: float) -> dict[str, Any]:
    ac = dock.aircraft
    distance = math.hypot(north - ac.north, east - ac.east)
    return {
        "remaining_distance": round(distance, 1),
        "remaining_time": round(distance / max(speed, 0.1), 1),
    }


def _takeoff_progress(
    dock: SimDock, cf: CommandFlight, status: str, *, periodic: bool = False
) -> None:
    cf.status = status
    cf.last_report = time.monotonic()
    data = {
        "flight_id": cf.flight_id,
        "track_id": cf.track_id,
        "status": status,
        "result": 0,
        "way_point_index": 0,
        "planned_path_points": [],
        **_remaining(dock, cf.north, cf.east, cf.max_speed),
    }
    dock.messages.send_event("takeoff_to_point_progress", data, bid=cf.bid, need_reply=not periodic)


def _fly_to_progress(dock: SimDock, ft: FlyTo, status: str, *, periodic: bool = False) -> None:
    ft.last_report = time.monotonic()
    data = {
        "fly_to_id": ft.fly_to_id,
        "status": status,
        "result": 0,
        "way_point_index": 0,
        "planned_path_points": [],
        **_remaining(dock, ft.north, ft.east, ft.max_speed),
    }
    dock.messages.send_event("fly_to_point_progress", data, bid=ft.bid, need_reply=not periodic)
