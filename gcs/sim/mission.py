"""Flight tasks on a simulated dock (protocol §4.2).

`flighttask_prepare` stores the task (with `fetch_waylines`, the dock first downloads the KMZ and
checks its MD5, answering only then); a conditional task (`task_type` 2) announces
`flighttask_ready` once its battery and time conditions hold. `flighttask_execute` opens the
cover, takes off, flies a 600 m square at 60 m taking a photo at each corner, returns, lands and
closes up, reporting `flighttask_progress` with the command's bid (each status change with
`need_reply` 1); `return_home` ends it early as a user RTH (322283), `flighttask_pause` and
`flighttask_recovery` hold and resume it. After landing the photos are uploaded (see
`gcs.sim.media`).
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
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from gcs.protocol.envelope import Message, new_id
from gcs.sim import codes, flight, payloads
from gcs.sim.gateway import ServiceHandler, ServiceResult
from gcs.sim.media import Shot, upload_photos
from gcs.sim.messages import now_ms

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock

log = logging.getLogger(__name__)

MAX_WAYLINE_BYTES = 64 * 1024 * 1024
CRUISE_ELEVATION = 60.0
CRUISE_SPEED = 10.0


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


def handlers(dock: SimDock) -> dict[str, ServiceHandler]:
    """The flight-task `services` methods `dock` answers, by method."""
    return {
        "flighttask_prepare": partial(prepare, dock),
        "flighttask_execute": partial(execute, dock),
        "flighttask_undo": partial(undo, dock),
        "flighttask_pause": partial(pause, dock),
        "flighttask_recovery": partial(recovery, dock),
        "return_home_cancel": lambda msg: flight.cancel_return_home(dock),
    }


def prepare(dock: SimDock, msg: Message) -> ServiceResult | None:
    """`flighttask_prepare`: keep the task (answered later when the KMZ must be fetched)."""
    d = dock.data_of(msg)
    flight_id = d.get("flight_id")
    file = d.get("file")
    if not isinstance(flight_id, str) or not flight_id or not isinstance(file, dict):
        return codes.BAD_PARAMETERS, None
    if dock.cfg.fetch_waylines:
        # A real dock answers once it has the file: download and check it first.
        dock.start_job(_fetch_wayline(dock, msg, flight_id, d), f"fetch-{flight_id}")
        return None
    _prepared(dock, flight_id, d)
    return codes.OK, None


def _prepared(dock: SimDock, flight_id: str, d: dict[str, Any]) -> None:
    dock.prepared[flight_id] = d
    if d.get("task_type") == 2:
        dock.start_job(_await_ready_conditions(dock, flight_id), f"ready-{flight_id}")


async def _fetch_wayline(dock: SimDock, msg: Message, flight_id: str, d: dict[str, Any]) -> None:
    file = d["file"]
    url, fingerprint = file.get("url"), file.get("fingerprint")
    if not isinstance(url, str) or not url:
        dock.answer_service(msg, codes.WAYLINE_URL_EMPTY)
        return
    if not isinstance(fingerprint, str) or not fingerprint:
        dock.answer_service(msg, codes.WAYLINE_MD5_EMPTY)
        return
    loop = asyncio.get_running_loop()
    try:
        body = await loop.run_in_executor(None, fetch_file, url)
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot fetch wayline %s: %s", dock.sn, url, exc)
        dock.answer_service(msg, codes.WAYLINE_FETCH_FAILED)
        return
    if hashlib.md5(body).hexdigest() != fingerprint.strip().lower():
        dock.answer_service(msg, codes.WAYLINE_MD5_MISMATCH)
        return
    unusable = flight.check_kmz(body)
    if unusable:
        dock.answer_service(msg, unusable)
        return
    dock.waylines[flight_id] = body
    _prepared(dock, flight_id, d)
    dock.answer_service(msg, codes.OK)


async def _await_ready_conditions(dock: SimDock, flight_id: str) -> None:
    """Conditional task: announce `flighttask_ready` once its conditions hold (§4.2)."""
    while flight_id in dock.prepared:
        conditions = dock.prepared[flight_id].get("ready_conditions")
        cond = conditions if isinstance(conditions, dict) else {}
        now = now_ms()
        battery = cond.get("battery_capacity", 0)
        begin, end = cond.get("begin_time", 0), cond.get("end_time", 0)
        if (
            isinstance(battery, int | float)
            and dock.aircraft.battery >= battery
            and (not isinstance(begin, int) or now >= begin)
            and (not isinstance(end, int) or not end or now <= end)
            and dock.mission is None
        ):
            dock.messages.send_event(
                "flighttask_ready", {"flight_ids": [flight_id]}, need_reply=True
            )
            return
        await dock.tick()


def execute(dock: SimDock, msg: Message) -> ServiceResult:
    """`flighttask_execute`: start flying a prepared task unless the dock is busy."""
    flight_id = dock.data_of(msg).get("flight_id")
    if not isinstance(flight_id, str) or flight_id not in dock.prepared:
        return codes.DEVICE_STATE_FORBIDS, None
    refusal = dock.busy_refusal()
    if refusal is not None:
        return refusal, None
    dock.mission = Mission(flight_id, msg.bid, plan=dock.prepared.pop(flight_id))
    dock.dock_props["mode_code"] = 4
    dock.start_job(fly(dock, dock.mission), f"mission-{flight_id}")
    return codes.OK, None


def undo(dock: SimDock, msg: Message) -> ServiceResult:
    ids = dock.data_of(msg).get("flight_ids")
    for flight_id in ids if isinstance(ids, list) else []:
        dock.prepared.pop(flight_id, None)
    return codes.OK, None


def pause(dock: SimDock, msg: Message) -> ServiceResult:
    if dock.mission is None or dock.mission.rth:
        return codes.CANNOT_PAUSE, None
    dock.mission.paused = True
    return codes.OK, None


def recovery(dock: SimDock, msg: Message) -> ServiceResult:
    if dock.mission is None or not dock.mission.paused:
        return codes.RESUME_FAILED, None
    dock.mission.paused = False
    return codes.OK, None


def _shot(dock: SimDock) -> Shot:
    ac = dock.aircraft
    lat, lon = ac.position
    return Shot(
        taken_at=datetime.datetime.now(),
        latitude=lat,
        longitude=lon,
        height=ac.height,
        elevation=ac.elevation,
        gimbal_yaw=ac.heading,
        gimbal_pitch=-45.0,
        aircraft_yaw=ac.heading,
        aircraft_pitch=ac.pitch,
    )


def _progress_data(dock: SimDock, m: Mission, result: int = 0) -> dict[str, Any]:
    ext: dict[str, Any] = {
        "current_waypoint_index": m.waypoint,
        "flight_id": m.flight_id,
        "track_id": m.track_id,
        "wayline_id": 0,
        "wayline_mission_state": m.wayline_state,
        "media_count": len(m.shots) + (1 if m.shots else 0),  # the photos and one video
    }
    if m.status == "failed" and m.rth:
        lat, lon = dock.aircraft.position
        ext["break_point"] = {
            "attitude_head": 0,
            "break_reason": 1283,
            "height": round(dock.aircraft.height, 2),
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


def _progress(dock: SimDock, m: Mission, *, status: str | None = None, force: bool = False) -> None:
    changed = status is not None and status != m.status
    if status is not None:
        m.status = status
    t = time.monotonic()
    if changed or force or t - m.last_progress >= dock.real(dock.timing.progress_s):
        m.last_progress = t
        dock.messages.send_event(
            "flighttask_progress",
            _progress_data(dock, m),
            bid=m.bid,
            need_reply=changed or force,
        )


async def _tick(dock: SimDock, m: Mission) -> float:
    dt = await dock.tick()
    while m.paused and not m.rth:
        if m.status != "paused":
            _progress(dock, m, status="paused")
        dock.aircraft.hold(dt)
        dt = await dock.tick()
    if m.status == "paused":
        _progress(dock, m, status="in_progress")
    _progress(dock, m)
    return dt


async def fly(dock: SimDock, m: Mission) -> None:
    """Take off, fly the KMZ's waypoints (`gcs.sim.flight`; a ~600 m square when the file was
    not fetched), come back, land, close up (protocol §4.2)."""
    p = dock.dock_props
    ac = dock.aircraft
    home = (ac.home_lat, ac.home_lon)
    try:
        m.current_step, m.percent = 1, 1
        p["flighttask_step_code"] = 0
        p["drone_charge_state"]["state"] = 0
        _progress(dock, m, force=True)
        if not ac.powered:
            ac.powered = True
            dock.announce_topology()
        p["cover_state"] = 2
        for _ in range(6):
            await _tick(dock, m)
        p["cover_state"] = 1
        m.current_step, m.percent, m.wayline_state = 5, 10, 5
        ac.track_id = m.track_id
        ac.mode_code = 4
        p["flighttask_step_code"] = 1
        while not ac.move_towards(0.0, 0.0, 30.0, 0.0, 4.0, await _tick(dock, m)):
            if ac.elevation > 1.0:
                p["drone_in_dock"] = 0
        p["drone_in_dock"] = 0
        ac.mode_code = 5
        m.wayline_state = 6
        square = [(150.0, 0.0), (150.0, 150.0), (0.0, 150.0), (0.0, 0.0)]
        route = flight.legs_for(dock, m.flight_id, m.plan) or [
            flight.Leg(n, e, CRUISE_ELEVATION, CRUISE_SPEED) for n, e in square
        ]
        total = flight.length(route, ac.north, ac.east)
        flown = 0.0
        for i, leg in enumerate(route):
            m.waypoint = i
            while not m.rth:
                before = (ac.north, ac.east)
                dt = await _tick(dock, m)
                if m.rth:
                    break
                arrived = ac.move_towards(leg.north, leg.east, leg.elevation, leg.speed, 3.0, dt)
                flown += math.hypot(ac.north - before[0], ac.east - before[1])
                m.percent = 10 + int(75 * min(1.0, flown / total))
                if arrived:
                    m.shots.append(_shot(dock))
                    break
            if m.rth:
                break
        # Return and land.
        m.percent = max(m.percent, 85)
        if m.rth:
            ac.mode_code = 9
            dock.messages.send_state({"mode_code_reason": 5}, sn=dock.aircraft_sn, need_reply=True)
            info = {"flight_id": m.flight_id, "last_point_type": 0}
            dock.messages.send_event("return_home_info", info)
            height = max(ac.elevation, 40.0)
            while True:
                dt = await _tick(dock, m)
                if m.rth_canceled:  # return_home_cancel: hover until told again
                    ac.hold(dt)
                    continue
                if ac.move_towards(0.0, 0.0, height, CRUISE_SPEED, 3.0, dt):
                    break
        while ac.home_distance > 0.5:  # the route's finish action: go home
            dt = await _tick(dock, m)
            ac.move_towards(0.0, 0.0, max(ac.elevation, 20.0), CRUISE_SPEED, 3.0, dt)
        ac.mode_code = 10
        m.percent = 95
        while not ac.move_towards(0.0, 0.0, 0.0, 0.0, 2.5, await _tick(dock, m)):
            pass
        ac.mode_code = 0
        ac.track_id = ""
        ac.total_flight_sorties += 1
        p["drone_in_dock"] = 1
        p["flighttask_step_code"] = 2
        p["cover_state"] = 2
        m.wayline_state = 2
        for _ in range(6):
            await _tick(dock, m)
        p["cover_state"] = 0
        p["job_number"] += 1
        m.percent = 100
        m.current_step = 36 if m.rth else 37
        if m.rth:
            m.status = "failed"
            dock.messages.send_event(
                "flighttask_progress",
                _progress_data(dock, m, codes.USER_RTH),
                bid=m.bid,
                need_reply=True,
            )
        else:
            _progress(dock, m, status="ok")
        if m.shots:
            dock.start_job(upload_photos(dock, m.flight_id, m.shots), f"media-{m.flight_id}")
    except asyncio.CancelledError:
        raise
    finally:
        ac.home_lat, ac.home_lon = home  # after a simulate_mission flight
        if dock.mission is m:
            dock.mission = None
        p["mode_code"] = 0 if p["mode_code"] == 4 else p["mode_code"]
        p["flighttask_step_code"] = 5
