"""What a simulated dock flies for a flight task: the waypoints of the KMZ it downloaded.

A simulated dock meets the station only over the network, so it reads its KMZ itself (zipfile +
ElementTree on `wpmz/waylines.wpml`: each Placemark's `Point/coordinates`, `wpml:executeHeight`
and `wpml:waypointSpeed`, the Folder's `wpml:autoFlightSpeed`); it does not share the station's
`gcs.wpml`, so a bug there cannot hide on both sides. A file it cannot read, or one without
waypoints, is refused at `flighttask_prepare` with 314003 ("KMZ format unsupported", §11.1).

Where the aircraft flies (local north/east metres from the dock):

* `simulate_mission` with `is_enable` 1 (§4.2): the aircraft's home is moved to the given
  latitude/longitude for the flight, as DJI's on-aircraft simulator does, and the waypoints are
  flown where the file puts them;
* otherwise, waypoints within `MAX_TRANSIT_M` of the dock are flown where they are; a route
  farther away (the dock of a simulated fleet is rarely where a real route was drawn) is moved,
  shape kept, so that its first waypoint lies `OFFSET_M` north of the dock.

Heights are taken as above the take-off point (clamped to 20–500 m); speeds 1–15 m/s.

A `break_point` (§4.2) starts the flight at its waypoint.

The hooks into the dock: `legs_for(dock, flight_id, prepared)` in `SimDock._fly_mission` (the
legs to fly, None for the default square), `check_kmz(bytes)` after the MD5 check of
`flighttask_prepare`, and `cancel_return_home(dock)` as the `return_home_cancel` service.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

KMZ_UNSUPPORTED = 314003  # "KMZ format unsupported" (§11.1)
STATE_NOT_ALLOWED = 314000  # "device state does not allow the operation" (§11.1)
MAX_TRANSIT_M = 5_000.0
OFFSET_M = 40.0
EARTH_RADIUS_M = 6_371_000.0
_KML = "{http://www.opengis.net/kml/2.2}"


@dataclass(frozen=True, slots=True)
class RoutePoint:
    latitude: float
    longitude: float
    height: float | None  # m, as the file says (executeHeight)
    speed: float | None  # m/s


@dataclass(frozen=True, slots=True)
class Leg:
    """One segment to fly: to (north, east) metres from home at `elevation` m and `speed` m/s."""

    north: float
    east: float
    elevation: float
    speed: float


def _wpml(tag: str, element: ElementTree.Element) -> str | None:
    for child in element:
        if child.tag.endswith("}" + tag):
            return (child.text or "").strip()
    return None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def read_route(kmz: bytes) -> list[RoutePoint]:
    """The waypoints of the first wayline of a KMZ.

    Raises:
        ValueError: not a ZIP, no `waylines.wpml`, broken XML or no waypoint.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(kmz)) as z:
            name = next((n for n in z.namelist() if n.endswith("waylines.wpml")), None)
            if name is None:
                raise ValueError("no waylines.wpml in the KMZ")
            if z.getinfo(name).file_size > 16 * 1024 * 1024:
                raise ValueError("waylines.wpml is too large")
            root = ElementTree.fromstring(z.read(name))
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError) as exc:
        raise ValueError(f"unreadable KMZ: {exc}") from exc
    folder = next(root.iter(f"{_KML}Folder"), None)
    if folder is None:
        raise ValueError("no wayline Folder in waylines.wpml")
    default_speed = _float(_wpml("autoFlightSpeed", folder))
    points = []
    for placemark in folder.iter(f"{_KML}Placemark"):
        coordinates = placemark.find(f"{_KML}Point/{_KML}coordinates")
        parts = (coordinates.text or "").strip().split(",") if coordinates is not None else []
        lon, lat = (_float(parts[0]), _float(parts[1])) if len(parts) >= 2 else (None, None)
        if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise ValueError("a waypoint without valid coordinates")
        speed = _float(_wpml("waypointSpeed", placemark)) or default_speed
        points.append(RoutePoint(lat, lon, _float(_wpml("executeHeight", placemark)), speed))
    if not points:
        raise ValueError("the wayline has no waypoint")
    return points


def local(home_lat: float, home_lon: float, lat: float, lon: float) -> tuple[float, float]:
    """(north, east) metres of (lat, lon) from home, flat-earth."""
    north = math.radians(lat - home_lat) * EARTH_RADIUS_M
    east = math.radians(lon - home_lon) * EARTH_RADIUS_M * math.cos(math.radians(home_lat))
    return north, east


def legs(points: list[RoutePoint], home_lat: float, home_lon: float) -> list[Leg]:
    """The legs to fly from home (see the module docstring for where)."""
    local_points = [local(home_lat, home_lon, p.latitude, p.longitude) for p in points]
    n0, e0 = local_points[0]
    if math.hypot(n0, e0) > MAX_TRANSIT_M:
        local_points = [(n - n0 + OFFSET_M, e - e0) for n, e in local_points]
    return [
        Leg(
            north=n,
            east=e,
            elevation=min(500.0, max(20.0, p.height if p.height is not None else 60.0)),
            speed=min(15.0, max(1.0, p.speed if p.speed is not None else 10.0)),
        )
        for (n, e), p in zip(local_points, points, strict=True)
    ]


def length(route: list[Leg], north: float, east: float) -> float:
    """Horizontal metres of the legs, starting from (north, east); at least 1."""
    total = 0.0
    for leg in route:
        total += math.hypot(leg.north - north, leg.east - east)
        north, east = leg.north, leg.east
    return max(total, 1.0)


def simulated_home(prepared: dict[str, Any]) -> tuple[float, float] | None:
    """The take-off point of `simulate_mission`, when it is enabled."""
    sim = prepared.get("simulate_mission")
    if not isinstance(sim, dict) or sim.get("is_enable") != 1:
        return None
    lat, lon = sim.get("latitude"), sim.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return float(lat), float(lon)
    return None


def legs_for(dock: Any, flight_id: str, prepared: dict[str, Any]) -> list[Leg] | None:
    """The hook: the legs of a task whose KMZ the dock fetched, or None (fly the default).

    Moves the aircraft's home to the `simulate_mission` point when one is enabled.
    """
    kmz = dock.waylines.get(flight_id)
    if kmz is None:
        return None
    try:
        points = read_route(kmz)
    except ValueError:
        return None
    ac = dock.aircraft
    home = simulated_home(prepared)
    if home is not None:
        ac.home_lat, ac.home_lon = home
    out = legs(points, ac.home_lat, ac.home_lon)
    bp = prepared.get("break_point")
    index = bp.get("index") if isinstance(bp, dict) else None
    if isinstance(index, int) and 0 < index < len(out):
        out = out[index:]  # resume from the break point's waypoint
    return out


def cancel_return_home(dock: Any) -> tuple[int, None]:
    """`return_home_cancel` (§4.2): a mission on its way home stops and hovers (a new
    `return_home` sends it on); refused with 314000 when nothing is returning."""
    mission = dock.mission
    if mission is None or not mission.rth:
        return STATE_NOT_ALLOWED, None
    mission.rth_canceled = True
    return 0, None


def check_kmz(kmz: bytes) -> int:
    """0 when the dock can fly the file, else the documented refusal (314003)."""
    try:
        read_route(kmz)
    except ValueError:
        return KMZ_UNSUPPORTED
    return 0
