"""EGM96 geoid heights and EGM96 <-> WGS84-ellipsoid height conversion.

Theory of operation: the aircraft executes heights above the WGS84 ellipsoid, while Pilot 2 and
FlightHub 2 let people edit heights above mean sea level as defined by the EGM96 geoid. The two
differ by the geoid undulation N (the geoid's height above the ellipsoid, about -107 m south of
India to +85 m over New Guinea):

    ellipsoid_height = egm96_height + N(latitude, longitude)

N comes from an embedded grid (`_geoid_grid.py`) of EGM96 sampled every 0.5 degree, generated
from NGA's full 5-arc-minute EGM96 grid (as shipped by the `egm96` package on PyPI) by
`tests/wpml/make_geoid_grid.py`, stored in decimetres, and interpolated bilinearly here.

Accuracy, measured against the full 5' EGM96 grid over 200,000 random points spread evenly over
the globe: RMS 0.15 m, 99 % of points within 0.62 m, 99.9 % within 1.25 m, worst case 2.85 m (the
steepest geoid slopes, over ocean trenches and high mountain ranges). EGM96 itself is about
0.5-1 m from the true geoid. Use these heights for planning, never as a terrain clearance margin.

The grid (about 260,000 values) is decoded once, on first use, in well under a second.
"""

from __future__ import annotations

import base64
import functools
import math
import sys
import zlib
from array import array

from gcs.wpml import _geoid_grid

__all__ = ["ACCURACY", "egm96_to_ellipsoid", "ellipsoid_to_egm96", "geoid_height"]

ACCURACY = _geoid_grid.ACCURACY


@functools.cache
def _grid() -> array[int]:
    raw = zlib.decompress(base64.b64decode("".join(_geoid_grid.DATA)))
    diffs = array("h")
    diffs.frombytes(raw)
    if sys.byteorder != "little":
        diffs.byteswap()
    rows, cols = _geoid_grid.ROWS, _geoid_grid.COLS
    if len(diffs) != rows * cols:
        raise RuntimeError("embedded geoid grid is damaged")
    values = array("i", bytes(4 * rows * cols))
    previous = [0] * cols
    for r in range(rows):
        base = r * cols
        running = 0
        for c in range(cols):
            running += diffs[base + c]  # undo the longitude difference of this row's deltas
            previous[c] += running  # undo the latitude difference
            values[base + c] = previous[c]
    return values


def geoid_height(latitude: float, longitude: float) -> float:
    """EGM96 geoid undulation N in metres at a WGS84 position.

    Args:
        latitude: degrees, clamped to [-90, 90].
        longitude: degrees, any value (wrapped to [-180, 180)).

    Returns:
        The geoid's height above the WGS84 ellipsoid, in metres.

    Raises:
        ValueError: a coordinate is NaN or infinite.
    """
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise ValueError(f"not a position: {latitude!r}, {longitude!r}")
    step = _geoid_grid.STEP_DEG
    rows, cols = _geoid_grid.ROWS, _geoid_grid.COLS
    lat = min(90.0, max(-90.0, latitude))
    lon = (longitude + 180.0) % 360.0 - 180.0
    fi = (lat + 90.0) / step
    fj = (lon + 180.0) / step
    i0 = min(int(fi), rows - 2)
    j0 = min(int(fj), cols - 2)
    ti, tj = fi - i0, fj - j0
    g = _grid()
    a = g[i0 * cols + j0]
    b = g[i0 * cols + j0 + 1]
    c = g[(i0 + 1) * cols + j0]
    d = g[(i0 + 1) * cols + j0 + 1]
    value = a * (1 - ti) * (1 - tj) + b * (1 - ti) * tj + c * ti * (1 - tj) + d * ti * tj
    return value / 10.0


def egm96_to_ellipsoid(height: float, latitude: float, longitude: float) -> float:
    """Convert a height above the EGM96 geoid (mean sea level) to a WGS84 ellipsoid height.

    Returns:
        The ellipsoid height in metres (see the module docstring for the accuracy).

    Raises:
        ValueError: a coordinate is NaN or infinite.
    """
    return height + geoid_height(latitude, longitude)


def ellipsoid_to_egm96(height: float, latitude: float, longitude: float) -> float:
    """Convert a WGS84 ellipsoid height to a height above the EGM96 geoid.

    Returns:
        The EGM96 (mean sea level) height in metres.

    Raises:
        ValueError: a coordinate is NaN or infinite.
    """
    return height - geoid_height(latitude, longitude)
