"""Does a route cross a custom flight area? Pure geometry in metres, no I/O.

Theory of operation. A wayline and the areas around it span at most a few tens of kilometres,
so everything is projected onto one local East-North-Up (ENU) tangent plane whose origin is the
route's first waypoint: WGS84 latitude/longitude → ECEF → ENU (the exact rotation, not an
equirectangular shortcut), after which the checks are planar:

* a waypoint inside a polygon: even-odd ray casting;
* a segment crossing a polygon: a proper or touching intersection with any edge of its ring;
* a segment against a circle: the distance from the centre to the segment, compared with the
  radius (≤ radius: the segment enters the circle);
* a segment leaving a geofence: it crosses the fence's boundary, or one of its ends is outside.

Heights are ignored: custom flight areas are two-dimensional (protocol §6 file). The error of the
tangent plane is below a centimetre per kilometre within 20 km of the origin, far under a GNSS
fix, so a route that stays a metre from an area is reported as not crossing it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "Area",
    "LocalFrame",
    "RouteWarning",
    "check_route",
    "point_in_polygon",
    "segment_circle_distance",
    "segment_crosses_ring",
    "segments_intersect",
]

# WGS84
_A = 6_378_137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)

Vec = tuple[float, float]


def _ecef(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    n = _A / math.sqrt(1 - _E2 * math.sin(phi) ** 2)
    return (
        n * math.cos(phi) * math.cos(lam),
        n * math.cos(phi) * math.sin(lam),
        n * (1 - _E2) * math.sin(phi),
    )


class LocalFrame:
    """A local ENU tangent plane at (lat0, lon0); `to_local` gives (east, north) in metres."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.origin = _ecef(lat0, lon0)
        phi, lam = math.radians(lat0), math.radians(lon0)
        self._sp, self._cp = math.sin(phi), math.cos(phi)
        self._sl, self._cl = math.sin(lam), math.cos(lam)

    def to_local(self, lat: float, lon: float) -> Vec:
        x, y, z = _ecef(lat, lon)
        dx, dy, dz = x - self.origin[0], y - self.origin[1], z - self.origin[2]
        east = -self._sl * dx + self._cl * dy
        north = -self._sp * self._cl * dx - self._sp * self._sl * dy + self._cp * dz
        return (east, north)


def _cross(o: Vec, a: Vec, b: Vec) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Vec, a: Vec, b: Vec) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def segments_intersect(p1: Vec, p2: Vec, q1: Vec, q2: Vec) -> bool:
    """Whether segment p1–p2 and segment q1–q2 share a point (touching counts)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return (
        (d1 == 0 and _on_segment(p1, q1, q2))
        or (d2 == 0 and _on_segment(p2, q1, q2))
        or (d3 == 0 and _on_segment(q1, p1, p2))
        or (d4 == 0 and _on_segment(q2, p1, p2))
    )


def point_in_polygon(p: Vec, ring: Sequence[Vec]) -> bool:
    """Even-odd test; `ring` may be open or closed."""
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        (xi, yi), (xj, yj) = ring[i], ring[j]
        if (yi > p[1]) != (yj > p[1]):
            x = (xj - xi) * (p[1] - yi) / (yj - yi) + xi
            if p[0] < x:
                inside = not inside
        j = i
    return inside


def segment_crosses_ring(a: Vec, b: Vec, ring: Sequence[Vec]) -> bool:
    """Whether segment a–b meets the polygon's boundary."""
    n = len(ring)
    return any(segments_intersect(a, b, ring[i], ring[(i + 1) % n]) for i in range(n))


def segment_circle_distance(a: Vec, b: Vec, centre: Vec) -> float:
    """The shortest distance (m) from `centre` to segment a–b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0
    if length2 > 0:
        t = max(0.0, min(1.0, ((centre[0] - a[0]) * dx + (centre[1] - a[1]) * dy) / length2))
    px, py = a[0] + t * dx, a[1] + t * dy
    return math.hypot(centre[0] - px, centre[1] - py)


@dataclass(frozen=True, slots=True)
class Area:
    """An enabled custom flight area: a polygon ring of (lat, lon) or a circle."""

    id: str
    name: str
    type: str  # "nfz" no-fly, "dfence" stay inside
    ring: tuple[tuple[float, float], ...] = ()
    centre: tuple[float, float] | None = None  # (lat, lon) of a circle
    radius: float = 0.0


@dataclass(frozen=True, slots=True)
class RouteWarning:
    """One area a route violates. `waypoints` are the waypoint indices involved (the KMZ's own
    `wpml:index` values): inside a no-fly area / outside a geofence, and both ends of each
    segment that crosses the area's boundary."""

    area_id: str
    area_name: str
    area_type: str
    waypoints: tuple[int, ...]
    segments: tuple[tuple[int, int], ...] = field(default=())

    @property
    def message_en(self) -> str:
        where = ", ".join(str(i) for i in self.waypoints)
        if self.area_type == "nfz":
            return f"the route crosses no-fly area {self.area_name!r} at waypoints {where}"
        return f"the route leaves geofence {self.area_name!r} at waypoints {where}"

    @property
    def message_zh(self) -> str:
        where = "、".join(str(i) for i in self.waypoints)
        if self.area_type == "nfz":
            return f"航线穿越禁飞区「{self.area_name}」，航点 {where}"
        return f"航线飞出电子围栏「{self.area_name}」，航点 {where}"

    def to_json(self) -> dict[str, object]:
        return {
            "area_id": self.area_id,
            "area_name": self.area_name,
            "area_type": self.area_type,
            "waypoints": list(self.waypoints),
            "segments": [list(s) for s in self.segments],
            "message": self.message_en,
            "message_zh": self.message_zh,
        }


def _inside(p: Vec, area: Area, ring: Sequence[Vec], centre: Vec | None) -> bool:
    if centre is not None:
        return math.hypot(p[0] - centre[0], p[1] - centre[1]) <= area.radius
    return point_in_polygon(p, ring)


def _segment_meets(a: Vec, b: Vec, area: Area, ring: Sequence[Vec], centre: Vec | None) -> bool:
    """Whether segment a–b touches the area (its boundary or its inside)."""
    if centre is not None:
        return segment_circle_distance(a, b, centre) <= area.radius
    return segment_crosses_ring(a, b, ring) or point_in_polygon(a, ring)


def _segment_leaves(a: Vec, b: Vec, area: Area, ring: Sequence[Vec], centre: Vec | None) -> bool:
    """Whether segment a–b goes outside the (stay-inside) area."""
    if not (_inside(a, area, ring, centre) and _inside(b, area, ring, centre)):
        return True
    return centre is None and segment_crosses_ring(a, b, ring)  # a circle is convex


def check_route(
    waypoints: Sequence[tuple[int, float, float]], areas: Sequence[Area]
) -> list[RouteWarning]:
    """Warnings for a route of (index, lat, lon) waypoints against enabled areas.

    A waypoint inside, or a segment crossing, a no-fly area warns; so does a waypoint outside, or
    a segment leaving, a geofence. With several geofences the route must stay in each of them
    (the docks apply every enabled fence). Returns one warning per violated area, in the order
    of `areas`; empty when the route is clear (or has no waypoint).
    """
    if not waypoints:
        return []
    frame = LocalFrame(waypoints[0][1], waypoints[0][2])
    pts = [(i, frame.to_local(lat, lon)) for i, lat, lon in waypoints]
    out: list[RouteWarning] = []
    for area in areas:
        ring = [frame.to_local(lat, lon) for lat, lon in area.ring]
        centre = frame.to_local(*area.centre) if area.centre is not None else None
        hits: set[int] = set()
        segments: list[tuple[int, int]] = []
        nfz = area.type == "nfz"
        for index, p in pts:
            if _inside(p, area, ring, centre) == nfz:
                hits.add(index)
        for (i, a), (j, b) in itertools.pairwise(pts):
            bad = (
                _segment_meets(a, b, area, ring, centre)
                if nfz
                else _segment_leaves(a, b, area, ring, centre)
            )
            if bad:
                segments.append((i, j))
                hits.update((i, j))
        if hits:
            out.append(
                RouteWarning(area.id, area.name, area.type, tuple(sorted(hits)), tuple(segments))
            )
    return out
