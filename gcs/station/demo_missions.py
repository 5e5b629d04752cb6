"""The demo's flight plan: once a simulated dock is online, a small route next to it goes into the
wayline library and a recurring flight is planned (every `EVERY_MIN` minutes, the first at the
next minute the scheduler can still prepare), so a newcomer sees a mission fly within a couple of
minutes of `gcs demo`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from gcs.station.bus import LogEntry
from gcs.station.missions import (
    PREPARE_LEAD_MS,
    RECURRING,
    MissionError,
    Missions,
    Recurrence,
    TaskRequest,
)
from gcs.station.waylines import WaylineError, Waylines
from gcs.wpml import PlanWaypoint, WaypointPlan, write_kmz

if TYPE_CHECKING:
    from gcs.station.core import Station

log = logging.getLogger(__name__)

EVERY_MIN = 10
WAIT_S = 180.0


def demo_route(model_key: str, latitude: float, longitude: float) -> bytes:
    """A ~400 m loop of four waypoints at 60 m, starting 30 m north of (latitude, longitude)."""
    _, kind, sub = (int(x) for x in model_key.split("-"))
    d = 0.0009  # ~100 m
    points = [(0.0003, 0.0), (0.0003 + d, 0.0), (0.0003 + d, d * 1.5), (0.0003, d * 1.5)]
    return write_kmz(
        WaypointPlan(
            waypoints=tuple(
                PlanWaypoint(latitude + dn, longitude + de, height=60.0) for dn, de in points
            ),
            drone_enum_value=kind,
            drone_sub_enum_value=sub,
            payload_enum_value=None,
            auto_flight_speed=10.0,
            author="gcs demo",
        )
    )


def demo_times(now_ms: int) -> tuple[str, ...]:
    """Every `EVERY_MIN` minutes of the day, phased so the first is the next minute the
    scheduler can still prepare."""
    first = dt.datetime.fromtimestamp((now_ms + PREPARE_LEAD_MS + 30_000) / 1000)
    first = first.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return tuple(
        sorted(
            {
                (first + dt.timedelta(minutes=EVERY_MIN * k)).strftime("%H:%M")
                for k in range(24 * 60 // EVERY_MIN)
            }
        )
    )


async def plan_demo_mission(station: Station, *, wait_s: float = WAIT_S) -> str | None:
    """Wait for a bound, online dock with its aircraft; add a route and plan a recurring
    flight for it. Returns the plan id, or None (no dock came, or the plan was refused)."""
    registry = station.registry
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    dock = None
    while dock is None:
        for view in registry.gateways():
            if view.domain == 3 and view.bound and view.online and view.sub_devices:
                dock = view
                break
        else:
            if loop.time() > deadline:
                log.info("demo: no dock came online; no flight planned")
                return None
            await asyncio.sleep(1.0)
    aircraft = registry.view(dock.sub_devices[0])
    if aircraft is None or dock.workspace_id is None:
        return None
    state = station.telemetry.current(dock.sn)
    lat, lon = state.get("latitude"), state.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        lat, lon = 22.5431, 113.9368
    kmz = await loop.run_in_executor(None, demo_route, aircraft.model_key, lat, lon)
    try:
        imported = await station.capability(Waylines).library.import_kmz(
            kmz,
            filename="demo loop.kmz",
            workspace_id=dock.workspace_id,
            author="gcs demo",
            unique_name=True,
        )
        now = station.capability(Missions).now()
        plan = await station.capability(Missions).plan(
            dock.workspace_id,
            TaskRequest(
                name=f"demo loop ({dock.callsign or dock.sn})",
                dock_sn=dock.sn,
                wayline_id=imported.row.id,
                task_type=RECURRING,
                recurrence=Recurrence(tuple(range(7)), demo_times(now), now, now + 86_400_000),
            ),
            actor="demo",
        )
    except (WaylineError, MissionError) as exc:
        log.warning("demo: no flight planned: %s", exc)
        return None
    station.bus.publish(
        LogEntry(
            station.now_ms(),
            "flighttask",
            "info",
            f"demo: a flight around {dock.callsign or dock.sn} is planned every {EVERY_MIN} "
            "minutes; the first starts within two minutes",
            dock.sn,
        )
    )
    return plan.id
