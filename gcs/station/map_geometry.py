"""The rules a map element's content follows (protocol §8.2, "Map element rules").

An element's `content` is a GeoJSON Feature whose `properties` carry a `#RRGGBB` colour and whose
geometry matches the element's `resource.type` (0 Point, 1 LineString, 2 Polygon). Coordinates
are WGS84 `[lon, lat]` or `[lon, lat, alt]`. A polygon is one ring (Pilot draws no holes) of at
least three distinct positions that does not cross itself.

Ring closure: RFC 7946 wants the first position repeated at the end, and files from other tools
(QGIS, FlightHub 2) always close their rings, so an import refuses an open ring (`strict=True`).
Pilot 2 itself is documented to send rings either way (DJI's own backend does not require the
closing position), so its API accepts an unclosed ring and reads it as closed.

Pure functions, no I/O: `check_content` returns the content to store or raises `GeometryError`
with a sentence saying what is wrong and where.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

POINT, LINE, POLYGON = 0, 1, 2
GEOMETRY_OF_TYPE = {POINT: "Point", LINE: "LineString", POLYGON: "Polygon"}
TYPE_OF_GEOMETRY = {v: k for k, v in GEOMETRY_OF_TYPE.items()}
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Docs palette (§8.2); the first is the default for imported features without a colour.
PALETTE = ("#2D8CF0", "#19BE6B", "#FFBB00", "#B620E0", "#E23C39", "#212121")
DEFAULT_COLOR = PALETTE[0]
#: Vertices one element may have. A site's polygons have tens to hundreds; Pilot renders every
#: element on a handheld, and the self-intersection check must stay quick.
MAX_VERTICES = 10_000
MAX_NAME = 128
#: Circle radius limits for custom flight areas (DJI's backend wants at least 10 m).
MIN_RADIUS_M, MAX_RADIUS_M = 10.0, 100_000.0


class GeometryError(ValueError):
    """The content breaks a rule; `str()` says which and where (a 400 answer's message)."""


def check_uuid(value: Any, what: str) -> str:
    if not isinstance(value, str) or not UUID_RE.match(value):
        raise GeometryError(f"{what} must be a lowercase UUID like 1c6f1b3e-…, got {value!r}")
    return value


def check_name(value: Any, what: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise GeometryError(f"'{what}' must be a non-empty text")
    if len(value) > MAX_NAME:
        raise GeometryError(f"'{what}' is longer than {MAX_NAME} characters")
    return value


def check_color(value: Any) -> str:
    if not isinstance(value, str) or not COLOR_RE.match(value):
        raise GeometryError(f"'properties.color' must be a colour like #2D8CF0, got {value!r}")
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_position(pos: Any, where: str) -> list[float]:
    if not isinstance(pos, list) or len(pos) not in (2, 3):
        raise GeometryError(f"{where} must be [lon, lat] or [lon, lat, alt], got {pos!r}"[:200])
    if not all(_number(v) for v in pos):
        raise GeometryError(f"{where} must hold finite numbers, got {pos!r}"[:200])
    lon, lat = pos[0], pos[1]
    if not -180.0 <= lon <= 180.0:
        raise GeometryError(f"{where}: longitude {lon} is outside -180..180")
    if not -90.0 <= lat <= 90.0:
        raise GeometryError(f"{where}: latitude {lat} is outside -90..90")
    return [float(v) if isinstance(v, float) else v for v in pos]


def _positions(value: Any, where: str, minimum: int) -> list[list[float]]:
    if not isinstance(value, list):
        raise GeometryError(f"{where} must be a list of positions")
    if len(value) > MAX_VERTICES:
        raise GeometryError(
            f"{where} has {len(value)} vertices; an element may have at most {MAX_VERTICES}"
        )
    out = [check_position(p, f"{where}[{i}]") for i, p in enumerate(value)]
    distinct = {(p[0], p[1]) for p in out}
    if len(distinct) < minimum:
        raise GeometryError(f"{where} needs at least {minimum} distinct positions")
    return out


def _orient(a: Sequence[float], b: Sequence[float], c: Sequence[float]) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Sequence[float], b: Sequence[float], p: Sequence[float]) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def segments_cross(
    a: Sequence[float], b: Sequence[float], c: Sequence[float], d: Sequence[float]
) -> bool:
    """Whether segment ab and segment cd share a point (touching counts)."""
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if ((o1 > 0 > o2) or (o1 < 0 < o2)) and ((o3 > 0 > o4) or (o3 < 0 < o4)):
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


def self_intersection(ring: Sequence[Sequence[float]]) -> tuple[int, int] | None:
    """The first pair of non-adjacent edges of a closed ring that meet, or None.

    Theory: a sweep over x. Edges sorted by their left end; an edge is compared only with the
    edges still "open" (right end not left of its left end), so a site polygon costs about
    n log n; only pathological zig-zags approach n².
    """
    pts = [(p[0], p[1]) for p in ring]
    if pts[0] == pts[-1]:
        pts = pts[:-1]
    n = len(pts)
    # drop repeated consecutive vertices (a double click): they are not crossings
    dedup = [p for i, p in enumerate(pts) if p != pts[i - 1]] if n > 1 else pts
    pts, n = dedup, len(dedup)
    if n < 3:
        return None
    edges = [(pts[i], pts[(i + 1) % n], i) for i in range(n)]
    order = sorted(edges, key=lambda e: min(e[0][0], e[1][0]))
    active: list[tuple[tuple[float, float], tuple[float, float], int]] = []
    for e in order:
        left = min(e[0][0], e[1][0])
        active = [a for a in active if max(a[0][0], a[1][0]) >= left]
        for a in active:
            i, j = a[2], e[2]
            if abs(i - j) in (1, n - 1):
                # adjacent edges share a vertex; they cross only if they fold back over each other
                shared = e[0] if e[0] in (a[0], a[1]) else e[1]
                other_e = e[1] if shared == e[0] else e[0]
                other_a = a[1] if shared == a[0] else a[0]
                if _orient(shared, other_e, other_a) == 0 and _on_segment(shared, other_e, other_a):
                    return (min(i, j), max(i, j))
                if _orient(shared, other_a, other_e) == 0 and _on_segment(shared, other_a, other_e):
                    return (min(i, j), max(i, j))
                continue
            if segments_cross(a[0], a[1], e[0], e[1]):
                return (min(i, j), max(i, j))
        active.append(e)
    return None


def check_geometry(geometry: Any, *, strict: bool) -> dict[str, Any]:
    """A valid Point, LineString or Polygon (one ring), as stored. Raises GeometryError."""
    if not isinstance(geometry, dict):
        raise GeometryError("'geometry' must be an object with 'type' and 'coordinates'")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Point":
        return {"type": "Point", "coordinates": check_position(coords, "the point")}
    if kind == "LineString":
        return {"type": "LineString", "coordinates": _positions(coords, "the line", 2)}
    if kind == "Polygon":
        if not isinstance(coords, list) or not coords:
            raise GeometryError("a Polygon's coordinates must be [[ring positions…]]")
        if len(coords) != 1:
            raise GeometryError(
                f"a Polygon must have exactly one ring (no holes), it has {len(coords)}"
            )
        ring = _positions(coords[0], "the polygon's ring", 3)
        closed = ring[0][:2] == ring[-1][:2]
        if strict and not closed:
            raise GeometryError(
                "the polygon's ring is open: its last position must repeat the first (RFC 7946)"
            )
        crossing = self_intersection(ring if closed else [*ring, ring[0]])
        if crossing is not None:
            raise GeometryError(
                f"the polygon crosses itself (edges {crossing[0]} and {crossing[1]} meet)"
            )
        return {"type": "Polygon", "coordinates": [ring]}
    raise GeometryError(
        f"geometry type {kind!r} is not supported: use Point, LineString or Polygon"
    )


def check_content(content: Any, resource_type: Any, *, strict: bool = False) -> dict[str, Any]:
    """The content of an element of `resource_type`, checked and normalised.

    Raises:
        GeometryError: not a Feature, bad colour, geometry of another type than the element's,
            bad coordinates, too many vertices, a polygon that crosses itself (or is open when
            `strict`).
    """
    if resource_type not in GEOMETRY_OF_TYPE or isinstance(resource_type, bool):
        raise GeometryError(
            f"'resource.type' must be 0 (point), 1 (line) or 2 (polygon), got {resource_type!r}"
        )
    if not isinstance(content, dict) or content.get("type") != "Feature":
        raise GeometryError('\'content\' must be a GeoJSON Feature ({"type": "Feature", …})')
    props = content.get("properties")
    if not isinstance(props, dict):
        raise GeometryError("'content.properties' must be an object with a 'color'")
    geometry = check_geometry(content.get("geometry"), strict=strict)
    expected = GEOMETRY_OF_TYPE[resource_type]
    if geometry["type"] != expected:
        raise GeometryError(
            f"an element of type {resource_type} needs a {expected} geometry, "
            f"not {geometry['type']}"
        )
    out_props = dict(props)
    out_props["color"] = check_color(props.get("color"))
    for flag in ("clampToGround", "is3d"):
        if flag in props and not isinstance(props[flag], bool):
            raise GeometryError(f"'properties.{flag}' must be true or false")
    return {"type": "Feature", "properties": out_props, "geometry": geometry}


def check_radius(value: Any) -> float:
    if not _number(value) or not MIN_RADIUS_M <= float(value) <= MAX_RADIUS_M:
        raise GeometryError(
            f"a circle's radius must be {MIN_RADIUS_M:g}–{MAX_RADIUS_M:g} m, got {value!r}"
        )
    return float(value)
