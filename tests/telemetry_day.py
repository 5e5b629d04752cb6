"""Realistic telemetry of one DJI Dock 3 and its aircraft, one sample a second per device.

The simulator's dock and aircraft (`gcs.sim`: weather drifting, battery charging and draining,
flights with take-off, a loop and a landing) render their full OSD; full-precision noise is
added to the values a real aircraft reports as raw doubles (the Dock 3 capture in
`../shared/data` shows e.g. `gimbal_yaw` 35.85362733982137), so compression is not flattered
by the simulator's rounding. Used by the history test and `tests/bench/telemetry_history.py`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from gcs.sim.dock import SimDock
from gcs.sim.gateway import GatewayConfig
from gcs.sim.link import BrokerAddress
from gcs.sim.products import DOCK3

T0_MS = 1_779_000_000_000
RAW_DOUBLES = (
    "latitude",
    "longitude",
    "height",
    "elevation",
    "attitude_head",
    "attitude_pitch",
    "attitude_roll",
    "horizontal_speed",
    "vertical_speed",
    "home_distance",
)


def dock_day(
    seconds: int = 86_400, flights: int = 8, *, seed: int = 1, t0_ms: int = T0_MS
) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """(sn, device time ms, "osd", full OSD) for the dock, then its aircraft, every second.

    `flights` take-offs spread evenly over `seconds`; each flies ~25 minutes.
    """
    dock = SimDock(
        DOCK3,
        0,
        GatewayConfig(broker=BrokerAddress("127.0.0.1", 1883), lat=29.9236, lon=121.6634),
    )
    rng = random.Random(seed)
    ac = dock.aircraft
    ac.powered = True
    period = max(1, seconds // max(1, flights))
    props = dock.dock_props
    for t in range(seconds):
        dock.weather.step(1.0)
        props["acc_time"] += 1
        phase = t % period if flights else period
        if 60 <= phase < 1560:
            k = phase - 60
            if k < 20:
                ac.mode_code = 4
                ac.move_towards(0.0, 0.0, 30.0, 0.0, 4.0, 1.0)
            elif k < 1400:
                ac.mode_code = 5
                ac.orbit(150.0, 150.0, 200.0, 10.0, 1.0)
                ac.elevation = min(80.0, ac.elevation + 3.0)
            else:
                ac.mode_code = 10
                ac.move_towards(0.0, 0.0, 0.0, 10.0, 3.0, 1.0)
            props["drone_in_dock"] = 0 if ac.elevation > 1.0 else 1
        else:
            if ac.elevation > 0.0:
                ac.move_towards(0.0, 0.0, 0.0, 10.0, 3.0, 1.0)
            ac.mode_code = 0
            ac.hold(1.0)
            dock._charge(1.0)
            props["drone_in_dock"] = 1
        ts = t0_ms + t * 1000 + rng.randint(-30, 30)
        yield dock.sn, ts, "osd", _deep_copy(dock.render_dock())
        aircraft = _deep_copy(dock.render_aircraft())
        for key in RAW_DOUBLES:
            value = aircraft.get(key)
            if isinstance(value, float) and value != 0.0:
                scale = 1e-9 if key in ("latitude", "longitude") else 1e-5
                aircraft[key] = value + rng.uniform(-scale, scale)
        yield dock.aircraft_sn, ts + 400, "osd", aircraft


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
