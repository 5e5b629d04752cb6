"""Route against custom flight areas: the pure geometry of `gcs.station.area_geometry`, with the
waypoints of real KMZ files (/work/shared/data/waylines) and areas placed across or beside them."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from gcs.station.area_geometry import (
    Area,
    LocalFrame,
    check_route,
    point_in_polygon,
    segment_circle_distance,
    segments_intersect,
)
from gcs.station.waylines import inspect_bytes

DATA = Path(os.environ.get("GCS_SHARED_DATA", Path(__file__).parents[3] / "shared" / "data"))
Waypoints = list[tuple[int, float, float]]


def route_of(name: str) -> Waypoints:
    path = DATA / "waylines" / name
    if not path.exists():
        pytest.skip(f"{path} is not there")
    route = inspect_bytes(path.read_bytes(), name).route
    assert route is not None
    return [
        (wp.index if wp.index is not None else n, wp.latitude, wp.longitude)
        for n, wp in enumerate(route.waylines[0].waypoints)
        if wp.latitude is not None and wp.longitude is not None
    ]


def offset(lat: float, lon: float, east: float, north: float) -> tuple[float, float]:
    """(lat, lon) `east`/`north` metres away (spherical; good to ~0.5 % at these distances)."""
    r = 6_371_008.8
    return (
        lat + math.degrees(north / r),
        lon + math.degrees(east / (r * math.cos(math.radians(lat)))),
    )


def square(lat: float, lon: float, half: float) -> tuple[tuple[float, float], ...]:
    return tuple(
        offset(lat, lon, e, n)
        for e, n in ((-half, -half), (half, -half), (half, half), (-half, half))
    )


def midpoint(route: Waypoints, i: int, j: int) -> tuple[float, float]:
    return ((route[i][1] + route[j][1]) / 2, (route[i][2] + route[j][2]) / 2)


# -- primitives ------------------------------------------------------------------------------


def test_local_frame_gives_metres() -> None:
    frame = LocalFrame(22.5775, 113.9431)
    lat, lon = offset(22.5775, 113.9431, 1000.0, 0.0)
    east, north = frame.to_local(lat, lon)
    assert east == pytest.approx(1000.0, abs=6.0)  # the spherical offset is ~0.5 % off
    assert abs(north) < 0.2
    # a point 100 m north on the same meridian: the ENU plane agrees with an exact arc length
    east, north = frame.to_local(22.5775 + 100 / 110_757.0, 113.9431)
    assert abs(east) < 1e-6 and north == pytest.approx(100.0, abs=0.05)


def test_segments_and_polygons() -> None:
    assert segments_intersect((0, 0), (10, 10), (0, 10), (10, 0))
    assert segments_intersect((0, 0), (10, 0), (10, 0), (10, 5))  # touching counts
    assert not segments_intersect((0, 0), (10, 0), (0, 1), (10, 1))  # parallel
    assert not segments_intersect((0, 0), (4, 0), (5, -1), (5, 1))
    ring = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert point_in_polygon((5, 5), ring) and not point_in_polygon((15, 5), ring)
    assert segment_circle_distance((0, 0), (10, 0), (5, 3)) == pytest.approx(3.0)
    assert segment_circle_distance((0, 0), (10, 0), (13, 4)) == pytest.approx(5.0)
    assert segment_circle_distance((2, 2), (2, 2), (5, 6)) == pytest.approx(5.0)  # zero length


# -- no-fly areas against the PSDK sample route ----------------------------------------------


def test_no_fly_square_across_a_segment_names_its_waypoints() -> None:
    route = route_of("psdk-sample-waypoint.kmz")
    assert len(route) == 14
    lat, lon = midpoint(route, 2, 3)  # waypoints 2 → 3 run ~65 m west
    area = Area("a1", "Substation", "nfz", ring=square(lat, lon, 10.0))
    [warning] = check_route(route, [area])
    assert warning.area_name == "Substation" and warning.area_type == "nfz"
    assert warning.segments == ((2, 3),)
    assert warning.waypoints == (2, 3)
    assert "Substation" in warning.message_en and "2, 3" in warning.message_en
    assert "禁飞区" in warning.message_zh


def test_no_fly_square_beside_the_route_is_clear() -> None:
    route = route_of("psdk-sample-waypoint.kmz")
    lat, lon = offset(*midpoint(route, 2, 3), 0.0, -40.0)  # 40 m south of the segment
    assert check_route(route, [Area("a1", "Beside", "nfz", ring=square(lat, lon, 10.0))]) == []


def test_waypoint_inside_a_no_fly_area() -> None:
    route = route_of("psdk-sample-waypoint.kmz")
    _, lat, lon = route[7]
    [warning] = check_route(route, [Area("a1", "Mast", "nfz", ring=square(lat, lon, 5.0))])
    assert 7 in warning.waypoints and (6, 7) in warning.segments and (7, 8) in warning.segments


def test_no_fly_circle_by_distance_to_the_segment() -> None:
    route = route_of("pilot2-m3m-seed.kmz")  # two waypoints ~120 m apart, north → south
    assert len(route) == 2
    lat, lon = offset(*midpoint(route, 0, 1), 30.0, 0.0)  # 30 m east of the segment's middle
    clear = Area("c", "Tower", "nfz", centre=(lat, lon), radius=25.0)
    assert check_route(route, [clear]) == []
    touching = Area("c", "Tower", "nfz", centre=(lat, lon), radius=35.0)
    [warning] = check_route(route, [touching])
    assert warning.segments == ((0, 1),) and warning.waypoints == (0, 1)


def test_disabled_or_distant_areas_do_not_warn_and_repeated_waypoints_are_fine() -> None:
    route = route_of("pilot2-waypoint-makeathon.kmz")  # waypoints 1 and 2 are the same point
    far = Area("f", "Far", "nfz", centre=offset(route[0][1], route[0][2], 500.0, 0.0), radius=50.0)
    assert check_route(route, [far]) == []
    near = Area("n", "Near", "nfz", centre=(route[2][1], route[2][2]), radius=10.0)
    [warning] = check_route(route, [near])
    assert warning.waypoints == (0, 1, 2)


# -- geofences (stay inside) -----------------------------------------------------------------


def bbox(route: Waypoints, margin: float) -> tuple[tuple[float, float], ...]:
    lats = [p[1] for p in route]
    lons = [p[2] for p in route]
    s, w = offset(min(lats), min(lons), -margin, -margin)
    n, e = offset(max(lats), max(lons), margin, margin)
    return ((s, w), (s, e), (n, e), (n, w))


def test_route_inside_a_geofence_is_clear_and_one_outside_is_named() -> None:
    route = route_of("psdk-sample-waypoint.kmz")
    fence = Area("g", "Site", "dfence", ring=bbox(route, 20.0))
    assert check_route(route, [fence]) == []
    # cut the fence's north edge below waypoint 7 (the northernmost)
    north7 = route[7][1]
    lats = sorted(p[1] for p in route)
    cut = (lats[-1] + lats[-2]) / 2
    assert north7 == lats[-1]
    ring = tuple((min(lat, cut), lon) for lat, lon in fence.ring)
    [warning] = check_route(route, [Area("g", "Site", "dfence", ring=ring)])
    assert warning.waypoints == (6, 7, 8) and warning.segments == ((6, 7), (7, 8))
    assert "leaves geofence 'Site'" in warning.message_en and "电子围栏" in warning.message_zh


def test_segment_leaving_a_concave_geofence_between_two_inside_waypoints() -> None:
    route = route_of("pilot2-m3m-seed.kmz")  # ~120 m from north to south, ~13 m westwards
    mid = midpoint(route, 0, 1)
    # a C-shaped fence opening to the east: both waypoints lie in its arms, the notch
    # (x -10..40 m, y -10..10 m around the middle) cuts the line between them
    ring = tuple(
        offset(*mid, east, north)
        for east, north in (
            (-40, -90),
            (40, -90),
            (40, -10),
            (-10, -10),
            (-10, 10),
            (40, 10),
            (40, 90),
            (-40, 90),
        )
    )
    fence = Area("u", "Quarry", "dfence", ring=ring)
    [warning] = check_route(route, [fence])
    assert warning.segments == ((0, 1),) and warning.waypoints == (0, 1)
    west = [(i, *offset(lat, lon, -25.0, 0.0)) for i, lat, lon in route]  # through the solid part
    assert check_route(west, [fence]) == []


def test_circle_geofence() -> None:
    route = route_of("pilot2-m3m-seed.kmz")
    centre = midpoint(route, 0, 1)
    assert check_route(route, [Area("c", "Field", "dfence", centre=centre, radius=80.0)]) == []
    [warning] = check_route(route, [Area("c", "Field", "dfence", centre=centre, radius=40.0)])
    assert warning.waypoints == (0, 1)
