"""Custom flight areas on a simulated Dock 2/3 (protocol §4.5, §5, §6).

`flight_areas_update` is answered at once; the dock then reports `flight_areas_sync_progress`
on the command's bid (`wait_sync`, `synchronizing`, then `synchronized` or `fail` with its
reason), asks the station for the file (`flight_areas_get`), downloads it from the presigned
URL and checks its SHA-256 against the announced checksum (reason 12 on a mismatch, 3 when the
download fails, 1 when the answer is unusable) before loading the features. While the aircraft
flies, `flight_areas_drone_location` says how far it is from each enabled area's boundary and
whether it is inside.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from functools import partial
from typing import TYPE_CHECKING, Any

import aiohttp

from gcs.protocol.envelope import Message
from gcs.sim import codes
from gcs.sim.gateway import ServiceHandler, ServiceResult
from gcs.sim.products import EARTH_RADIUS_M

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock

log = logging.getLogger(__name__)

REASON_PARSE, REASON_DOWNLOAD, REASON_CHECKSUM = 1, 3, 12


def handlers(dock: SimDock) -> dict[str, ServiceHandler]:
    return {"flight_areas_update": partial(update, dock)}


def update(dock: SimDock, msg: Message) -> ServiceResult:
    dock.start_job(sync(dock, msg.bid), "flight-areas-sync")
    return codes.OK, None


def _progress(
    dock: SimDock, bid: str, status: str, reason: int = 0, file: dict[str, Any] | None = None
) -> None:
    dock.messages.send_event(
        "flight_areas_sync_progress",
        {"status": status, "reason": reason, "file": file or {"name": "", "checksum": ""}},
        bid=bid,
        need_reply=True,
    )


async def _download(url: str) -> bytes:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as r:
        r.raise_for_status()
        return await r.read()


async def sync(dock: SimDock, bid: str) -> None:
    """Fetch, check and load the station's flight-area file, reporting each step."""
    _progress(dock, bid, "wait_sync")
    reply = await dock.messages.request("flight_areas_get", {})
    data = reply.data if isinstance(reply.data, dict) else {}
    output = data.get("output") if isinstance(data.get("output"), dict) else None
    files = output.get("files") if output is not None else None
    if data.get("result") != 0 or not isinstance(files, list):
        _progress(dock, bid, "fail", REASON_PARSE)
        return
    _progress(dock, bid, "synchronizing")
    if not files:
        dock.flight_areas = []
        _progress(dock, bid, "synchronized")
        return
    file = files[0]
    announced = {"name": str(file.get("name", "")), "checksum": str(file.get("checksum", ""))}
    try:
        body = await _download(str(file["url"]))
    except (aiohttp.ClientError, TimeoutError, KeyError) as exc:
        log.info("%s: flight-area file download failed: %s", dock.sn, exc)
        _progress(dock, bid, "fail", REASON_DOWNLOAD, announced)
        return
    if hashlib.sha256(body).hexdigest() != announced["checksum"]:
        _progress(dock, bid, "fail", REASON_CHECKSUM, announced)
        return
    try:
        features = json.loads(body)["features"]
    except (ValueError, KeyError, TypeError):
        _progress(dock, bid, "fail", REASON_PARSE, announced)
        return
    dock.flight_areas = [f for f in features if isinstance(f, dict)]
    dock.flight_area_file = announced
    _progress(dock, bid, "synchronized", 0, announced)


def _local(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """(east, north) metres of (lat, lon) from (lat0, lon0), flat-earth."""
    north = math.radians(lat - lat0) * EARTH_RADIUS_M
    east = math.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    return east, north


Vec = tuple[float, float]


def _segment_distance(p: Vec, a: Vec, b: Vec) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2
    t = max(0.0, min(1.0, t))
    return math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy))


def area_location(feature: dict[str, Any], lat: float, lon: float) -> tuple[float, bool]:
    """(distance in m to the area's boundary, inside?) of the aircraft at (lat, lon)."""
    geometry = feature.get("geometry") or {}
    props = feature.get("properties") or {}
    if geometry.get("type") == "Point":
        clon, clat = geometry["coordinates"][:2]
        east, north = _local(clat, clon, lat, lon)
        d = math.hypot(east, north)
        radius = float(props.get("radius") or 0)
        return abs(d - radius), d < radius
    ring = [(p[0], p[1]) for p in geometry.get("coordinates", [[]])[0]]
    if not ring:
        return 0.0, False
    pts = [_local(lat, lon, plat, plon) for plon, plat in ring]
    origin = (0.0, 0.0)
    distance = min(_segment_distance(origin, pts[i - 1], pts[i]) for i in range(1, len(pts)))
    inside = False
    for i in range(len(pts)):
        (x1, y1), (x2, y2) = pts[i - 1], pts[i]
        if (y1 > 0) != (y2 > 0) and 0 < x1 + (0 - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return distance, inside


def publish_location(dock: SimDock) -> None:
    """`flight_areas_drone_location` for every enabled area while the aircraft flies."""
    if not dock.flight_areas or not dock.aircraft.airborne:
        return
    lat, lon = dock.aircraft.position
    locations = []
    for f in dock.flight_areas:
        if not (f.get("properties") or {}).get("enable"):
            continue
        try:
            distance, inside = area_location(f, lat, lon)
        except (KeyError, TypeError, ValueError, IndexError):
            continue
        locations.append(
            {"area_id": f.get("id"), "area_distance": round(distance, 1), "is_in_area": inside}
        )
    if locations:
        dock.messages.send_event("flight_areas_drone_location", {"drone_locations": locations})
