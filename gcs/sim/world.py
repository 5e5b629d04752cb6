"""Physical state of simulated things: where an aircraft is, how it moves, its battery, the
weather at a dock. Plain objects stepped with a time delta (simulated seconds); no I/O, no clock.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from gcs.sim.products import offset_position

GRAVITY = 9.81


def wrap_degrees(angle: float) -> float:
    """Angle in (-180, 180]."""
    a = (angle + 180.0) % 360.0 - 180.0
    return 180.0 if a == -180.0 else a


def wind_direction_code(from_degrees: float) -> int:
    """DJI's 8-sector wind direction: 1 N, 2 NE, ... 8 NW."""
    return int(((from_degrees % 360.0) + 22.5) // 45.0) % 8 + 1


@dataclass
class Aircraft:
    """An aircraft in a local north/east frame around its home point.

    `home_height` is the ellipsoidal height of the take-off point; `elevation` is the height
    above it (DJI's `elevation`); `height` = home_height + elevation (DJI's `height`).
    """

    home_lat: float
    home_lon: float
    home_height: float
    battery: float = 80.0
    north: float = 0.0
    east: float = 0.0
    elevation: float = 0.0
    heading: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    horizontal_speed: float = 0.0
    vertical_speed: float = 0.0
    mode_code: int = 0
    powered: bool = True
    track_id: str = ""
    total_flight_distance: float = 0.0
    total_flight_time: float = 0.0
    total_flight_sorties: int = 0
    wind_speed: float = 1.5  # m/s, estimated by the aircraft
    wind_from: float = 45.0
    drain_per_s: float = 0.045  # % per second of flight (~35 min endurance)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def airborne(self) -> bool:
        return self.elevation > 0.05 or self.mode_code in (4, 5, 9, 10)

    @property
    def position(self) -> tuple[float, float]:
        return offset_position(self.home_lat, self.home_lon, self.north, self.east)

    @property
    def height(self) -> float:
        return self.home_height + self.elevation

    @property
    def home_distance(self) -> float:
        return math.hypot(self.north, self.east)

    def remain_flight_time(self) -> int:
        return int(max(0.0, self.battery - 10.0) / self.drain_per_s) if self.drain_per_s else 0

    def hold(self, dt: float) -> None:
        """Hover (airborne) or sit still (on the ground) for `dt` seconds."""
        self._settle()
        self._account(dt, 0.0)

    def move_towards(
        self, north: float, east: float, elevation: float, speed: float, climb: float, dt: float
    ) -> bool:
        """Fly towards a point at `speed` m/s horizontally and `climb` m/s vertically.

        Returns:
            True when the point is reached.
        """
        dn, de = north - self.north, east - self.east
        dist = math.hypot(dn, de)
        step = min(dist, speed * dt)
        if dist > 0.01:
            self.north += dn / dist * step
            self.east += de / dist * step
            self.heading = wrap_degrees(math.degrees(math.atan2(de, dn)))
        dz = elevation - self.elevation
        vstep = max(-climb * dt, min(climb * dt, dz))
        self.elevation = max(0.0, self.elevation + vstep)
        self.horizontal_speed = round(step / dt, 1) if dt > 0 else 0.0
        self.vertical_speed = round(vstep / dt, 1) if dt > 0 else 0.0
        self.pitch = -min(15.0, self.horizontal_speed * 1.2)
        self.roll = 0.0
        self._account(dt, step)
        return dist - step < 0.5 and abs(elevation - self.elevation) < 0.2

    def move_by(self, forward: float, right: float, up: float, yaw_rate: float, dt: float) -> None:
        """Fly with body-frame velocities (m/s) and a yaw rate (°/s), as sticks command."""
        self.heading = wrap_degrees(self.heading + yaw_rate * dt)
        h = math.radians(self.heading)
        dn = (forward * math.cos(h) - right * math.sin(h)) * dt
        de = (forward * math.sin(h) + right * math.cos(h)) * dt
        self.north += dn
        self.east += de
        self.elevation = max(2.0, self.elevation + up * dt)
        self.horizontal_speed = round(math.hypot(forward, right), 1)
        self.vertical_speed = round(up, 1)
        self.pitch = -forward * 1.2
        self.roll = right * 1.2
        self._account(dt, math.hypot(dn, de))

    def orbit(
        self,
        centre_north: float,
        centre_east: float,
        radius: float,
        speed: float,
        dt: float,
    ) -> None:
        """Fly clockwise (seen from above) on a circle, starting from the nearest point."""
        dn, de = self.north - centre_north, self.east - centre_east
        theta = math.atan2(de, dn) + speed * dt / radius
        self.north = centre_north + radius * math.cos(theta)
        self.east = centre_east + radius * math.sin(theta)
        # Clockwise motion: velocity points 90° clockwise from the radius.
        self.heading = wrap_degrees(math.degrees(theta) + 90.0)
        self.horizontal_speed = round(speed, 1)
        self.vertical_speed = 0.0
        self.pitch = -min(15.0, speed * 1.2)
        self.roll = math.degrees(math.atan(speed * speed / (GRAVITY * radius)))
        self._account(dt, speed * dt)

    def charge(self, dt: float, rate_per_s: float, limit: float = 100.0) -> None:
        if self.battery < limit:
            self.battery = min(limit, self.battery + rate_per_s * dt)

    def _settle(self) -> None:
        self.horizontal_speed = 0.0
        self.vertical_speed = 0.0
        self.pitch = 0.0
        self.roll = 0.0

    def _account(self, dt: float, distance: float) -> None:
        if self.airborne:
            self.battery = max(0.0, self.battery - self.drain_per_s * dt)
            self.total_flight_time += dt
            self.total_flight_distance += distance
        # Wind estimate wanders a little.
        self.wind_speed = min(12.0, max(0.0, self.wind_speed + self._rng.gauss(0.0, 0.05) * dt))
        self.wind_from = (self.wind_from + self._rng.gauss(0.0, 0.5) * dt) % 360.0


@dataclass
class Weather:
    """Outside temperature, humidity and wind at a dock, drifting slowly and plausibly."""

    base_temperature: float
    base_humidity: float
    rng: random.Random
    t: float = 0.0
    temperature: float = 0.0
    humidity: float = 0.0
    wind_speed: float = 1.0  # m/s (dock anemometer)
    cabin_temperature: float = 0.0
    _noise_t: float = 0.0
    _noise_h: float = 0.0

    def __post_init__(self) -> None:
        self.step(0.0)

    def step(self, dt: float) -> None:
        self.t += dt
        # One slow cycle an hour, plus a bounded random walk.
        cycle = math.sin(self.t * 2.0 * math.pi / 3600.0)
        self._noise_t = max(-1.0, min(1.0, self._noise_t + self.rng.gauss(0.0, 0.02) * dt))
        self._noise_h = max(-4.0, min(4.0, self._noise_h + self.rng.gauss(0.0, 0.05) * dt))
        self.temperature = self.base_temperature + 1.5 * cycle + self._noise_t
        self.humidity = min(99.0, max(10.0, self.base_humidity - 6.0 * cycle + self._noise_h))
        self.wind_speed = min(9.0, max(0.0, self.wind_speed + self.rng.gauss(0.0, 0.08) * dt))
        # The cabin follows outside air with lag, kept near 25 °C by the air conditioner.
        target = 25.0 + (self.temperature - 25.0) * 0.3
        if self.cabin_temperature == 0.0:
            self.cabin_temperature = target
        self.cabin_temperature += (target - self.cabin_temperature) * min(1.0, dt / 300.0)
