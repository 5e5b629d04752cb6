"""The map element rules (§8.2): rings that cross, touch or fold back; closure; coordinates."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from gcs.station.map_geometry import GeometryError, check_content, self_intersection


def poly(ring: list[list[float]], color: str = "#2D8CF0") -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"color": color},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


SIMPLE = [
    [[0, 0], [2, 0], [2, 2], [0, 2]],  # square, open (as Pilot may send it)
    [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],  # the same, closed
    [[0, 0], [2, 0], [1, 1], [2, 2], [0, 2]],  # concave
    [[0, 0], [2, 0], [2, 0], [2, 2], [0, 2]],  # a double click: repeated vertex
]
CROSSING = [
    ([[0, 0], [2, 2], [2, 0], [0, 2]], "bow tie"),
    ([[0, 0], [4, 0], [4, 4], [2, 0.0], [0, 4]], "a vertex touching an edge"),
    ([[0, 0], [2, 0], [1, 0], [1, 1]], "folding back on itself"),
    ([[0, 0], [3, 0], [3, 3], [1, 3], [1, -1], [0, -1]], "crossing the first edge"),
]


@pytest.mark.parametrize("ring", SIMPLE)
def test_simple_rings_are_accepted(ring: list[list[float]]) -> None:
    assert check_content(poly(ring), 2)["geometry"]["coordinates"] == [ring]


@pytest.mark.parametrize(("ring", "what"), CROSSING, ids=[c[1] for c in CROSSING])
def test_crossing_rings_are_refused(ring: list[list[float]], what: str) -> None:
    with pytest.raises(GeometryError, match="crosses itself"):
        check_content(poly(ring), 2)


def test_closure_is_required_only_when_strict() -> None:
    open_ring = SIMPLE[0]
    check_content(poly(open_ring), 2)
    with pytest.raises(GeometryError, match="open"):
        check_content(poly(open_ring), 2, strict=True)
    check_content(poly(SIMPLE[1]), 2, strict=True)


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({"type": "Point", "coordinates": [math.inf, 0]}, "finite"),
        ({"type": "Point", "coordinates": [True, 0]}, "finite"),
        ({"type": "Point", "coordinates": [1, 2, 3, 4]}, "lon, lat"),
        ({"type": "LineString", "coordinates": [[0, 0], [0, 0]]}, "2 distinct"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "3 distinct"),
        ({"type": "Polygon", "coordinates": [SIMPLE[1], SIMPLE[1]]}, "exactly one ring"),
        ({"type": "MultiPoint", "coordinates": [[0, 0]]}, "not supported"),
    ],
)
def test_bad_geometries_say_why(geometry: dict[str, Any], reason: str) -> None:
    kind = {"Point": 0, "LineString": 1}.get(geometry["type"], 2)
    content = {"type": "Feature", "properties": {"color": "#19BE6B"}, "geometry": geometry}
    with pytest.raises(GeometryError, match=reason):
        check_content(content, kind)


def test_large_simple_polygon_is_checked_quickly() -> None:
    n = 10_000
    ring = [[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)] for i in range(n)]
    started = time.perf_counter()
    assert self_intersection([*ring, ring[0]]) is None
    elapsed = time.perf_counter() - started
    print(f"self-intersection of {n} vertices: {elapsed * 1000:.0f} ms")
