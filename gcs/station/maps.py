"""The shared map: map elements of Pilot 2 and the operator, and the docks' custom flight areas.

Theory of operation.

*Elements* (§8.2 #2–#5) live in SQLite (`gcs.store.maps`) in groups per workspace; each
workspace has exactly one type-2 "app shared" group (Pilot writes there), a default group and
the custom-flight-area group, created on first use. Every create, update and delete is checked
against the element rules (`gcs.station.map_geometry`), committed, then announced on the bus
(`MapElementChanged`; `MapGroupsRefreshed` for bulk changes such as an import), which the web
layer turns into `map_element_*` / `map_group_refresh` pushes to every Pilot of the workspace.
A refused change raises `MapError` (HTTP status + reason) and is logged as a `LogEntry`.

*Custom flight areas* (Dock 2/3) are elements of the flight-area group with a type (`nfz`
no-fly, `dfence` stay-inside), an enabled flag and, for a circle, a radius (the element is then
its centre Point). The station builds the file docks load (`geofence_{md5}.json`, a GeoJSON
FeatureCollection in the shape DJI's reference backend writes: per feature `id`,
`geofence_type`, `geometry` Point/Polygon, `properties{subType, radius, enable}`), puts it into
the object store and answers `flight_areas_get` with its presigned URL, size and SHA-256.
`flight_areas_update` goes through the station's command path; the dock then fetches the file
and reports `flight_areas_sync_progress` (kept per dock, with the reason in words) and, while
flying, `flight_areas_drone_location` (kept per aircraft).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp

from gcs.aio import spawn
from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode
from gcs.station import map_exchange as exchange
from gcs.station import map_geometry as geo
from gcs.station.bus import Event, LogEntry
from gcs.station.capability import Capability, EventHandler, RequestHandler
from gcs.station.commands import ONLINE, CommandJob, CommandRefused, CommandSpec
from gcs.station.devices import RequestRefused
from gcs.station.map_geometry import GeometryError
from gcs.store import maps as q
from gcs.store.maps import AreaRow, ElementRow, GroupRow, MapConflict, MapNotFound, SyncRow

log = logging.getLogger(__name__)

__all__ = [
    "AreaRow",
    "DroneAreaLocation",
    "ElementRow",
    "FlightAreaFile",
    "FlightAreaSyncChanged",
    "FlightAreasChanged",
    "GroupRow",
    "MapElementChanged",
    "MapError",
    "MapGroupsRefreshed",
    "Maps",
    "SyncRow",
]

AREA_TYPES = ("nfz", "dfence")
FLIGHT_AREAS_UPDATE = CommandSpec(
    "flight_areas_update",
    "Sync custom flight areas",
    "同步自定义飞行区",
    progress=frozenset({"flight_areas_sync_progress"}),
    progress_timeout_s=600.0,
    preconditions=(ONLINE,),
)
#: `flight_areas_sync_progress.reason` (§5) in words.
SYNC_REASONS: dict[int, tuple[str, str]] = {
    0: ("ok", "正常"),
    1: ("the dock could not parse the station's file information", "解析云端文件信息失败"),
    2: ("the dock could not read the aircraft's file information", "读取飞行器文件信息失败"),
    3: ("the dock could not download the file from the station", "下载文件失败"),
    4: ("the link switch failed", "链路切换失败"),
    5: ("the transfer to the aircraft failed", "文件传输失败"),
    6: ("disabling the areas failed", "禁用失败"),
    7: ("deleting the areas failed", "删除失败"),
    8: ("the aircraft could not load the file", "飞行器加载文件失败"),
    9: ("enabling the areas failed", "启用失败"),
    10: ("disabling enhanced transmission failed", "关闭增强图传失败"),
    11: ("the aircraft could not be powered on", "飞行器开机失败"),
    12: ("the file's checksum did not match", "文件校验失败"),
    13: ("the sync timed out", "同步超时"),
}
SYNC_STATUSES = ("wait_sync", "switch_fail", "synchronizing", "synchronized", "fail")
FILE_URL_TTL_S = 3600
#: Docks load polygonal custom flight areas of at most 255 vertices.
MAX_AREA_VERTICES = 255


class MapError(Exception):
    """A refused map change: `status` is the HTTP status to answer, `str()` the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- bus events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapElementChanged(Event):
    """An element was created, updated or deleted (`element` is the new or the last state)."""

    workspace_id: str
    action: str  # "create" | "update" | "delete"
    element: ElementRow
    actor: str


@dataclass(frozen=True, slots=True)
class MapGroupsRefreshed(Event):
    """Many elements of these groups changed at once (import, clearing a group)."""

    workspace_id: str
    group_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlightAreasChanged(Event):
    workspace_id: str
    action: str  # "add" | "update" | "delete"
    area_id: str


@dataclass(frozen=True, slots=True)
class FlightAreaSyncChanged(Event):
    sn: str
    workspace_id: str
    status: str
    reason: int
    message_en: str
    message_zh: str


@dataclass(frozen=True, slots=True)
class DroneAreaLocation(Event):
    sn: str  # the aircraft
    gateway_sn: str
    locations: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class FlightAreaFile:
    name: str
    body: bytes
    checksum: str  # SHA-256 hex
    md5: str

    @property
    def size(self) -> int:
        return len(self.body)


# -- JSON shapes -----------------------------------------------------------------------------


def element_json(e: ElementRow) -> dict[str, Any]:
    """An element as Pilot reads it (§8.2 #2 and the §9 pushes)."""
    return {
        "id": e.id,
        "group_id": e.group_id,
        "name": e.name,
        "resource": {"type": e.type, "user_name": e.user_name, "content": e.content},
        "create_time": e.create_time,
        "update_time": e.update_time,
    }


def group_json(g: GroupRow, elements: Sequence[ElementRow]) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "type": g.type,
        "is_lock": g.is_lock,
        "create_time": g.create_time,
        "elements": [element_json(e) for e in elements],
    }


def area_json(e: ElementRow, a: AreaRow) -> dict[str, Any]:
    """A custom flight area as the web console reads it (circle geometry restored)."""
    content = e.content
    if a.radius > 0:
        geometry = dict(content["geometry"], type="Circle", radius=a.radius)
        content = dict(content, geometry=geometry)
    return {
        "area_id": e.id,
        "name": e.name,
        "type": a.area_type,
        "status": a.enabled,
        "username": e.user_name,
        "content": content,
        "create_time": e.create_time,
        "update_time": e.update_time,
    }


def _parse_areas(
    filename: str, raw: bytes, default_type: str
) -> list[tuple[str, str, dict[str, Any], bool]]:
    """(name, area type, content with Circle or Polygon geometry, enabled) of each area."""
    doc: Any = None
    if filename.lower().endswith((".json", ".geojson")):
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exchange.ExchangeError(f"the file is not valid JSON: {exc}") from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if isinstance(features, list) and any(
        isinstance(f, dict) and "geofence_type" in f for f in features
    ):
        out = []
        for i, f in enumerate(features):
            where = f"area {i + 1}"
            if not isinstance(f, dict) or not isinstance(f.get("properties"), dict):
                raise exchange.ExchangeError(f"{where} has no 'properties'")
            props, geometry = f["properties"], f.get("geometry")
            kind = f.get("geofence_type")
            if kind not in AREA_TYPES:
                raise exchange.ExchangeError(f"{where}: geofence_type {kind!r} is not nfz/dfence")
            if not isinstance(geometry, dict):
                raise exchange.ExchangeError(f"{where} has no geometry")
            if geometry.get("type") == "Point":
                geometry = {**geometry, "type": "Circle", "radius": props.get("radius")}
            color = "#E23C39" if kind == "nfz" else "#19BE6B"
            content = {"type": "Feature", "properties": {"color": color}, "geometry": geometry}
            name = str(props.get("name") or f.get("id") or f"Area {i + 1}")
            out.append((name, str(kind), content, props.get("enable") is not False))
        return out
    result = []
    for f in exchange.parse_file(filename, raw):
        if f.type != geo.POLYGON:
            raise exchange.ExchangeError(
                f"{f.name!r} is a {geo.GEOMETRY_OF_TYPE[f.type]}: a flight area is a polygon "
                "or a circle"
            )
        result.append((f.name, default_type, f.content, True))
    return result


def build_area_file(areas: Sequence[tuple[ElementRow, AreaRow]]) -> FlightAreaFile:
    """The flight-area file for these areas (DJI reference backend's shape; see module doc)."""
    features = []
    for e, a in areas:
        geometry = e.content["geometry"]
        if geometry["type"] == "Polygon":
            ring = [[p[0], p[1]] for p in geometry["coordinates"][0]]
            if ring[0] != ring[-1]:
                ring.append(list(ring[0]))
            geometry = {"type": "Polygon", "coordinates": [ring]}
        else:
            geometry = {"type": "Point", "coordinates": geometry["coordinates"][:2]}
        features.append(
            {
                "id": e.id,
                "type": "Feature",
                "geofence_type": a.area_type,
                "geometry": geometry,
                "properties": {
                    "subType": "Circle" if a.radius > 0 else None,
                    "radius": a.radius,
                    "enable": a.enabled,
                },
            }
        )
    body = json.dumps(
        {"type": "FeatureCollection", "features": features}, separators=(",", ":")
    ).encode()
    md5 = hashlib.md5(body).hexdigest()
    return FlightAreaFile(f"geofence_{md5}.json", body, hashlib.sha256(body).hexdigest(), md5)


async def _off_loop[T](fn: Callable[..., T], *args: Any) -> T:
    """Run a check whose cost grows with the vertices (up to ~50 ms) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


# -- the capability --------------------------------------------------------------------------


class Maps(Capability):
    name = "maps"

    def __init__(self, station: Any) -> None:
        super().__init__(station)
        self._uploaded: set[str] = set()
        self._upload_lock = asyncio.Lock()
        self._locations: dict[str, tuple[dict[str, Any], ...]] = {}
        self._sync: dict[str, SyncRow] = {}

    def requests(self) -> Mapping[str, RequestHandler]:
        return {"flight_areas_get": self._flight_areas_get}

    def events(self) -> Mapping[str, EventHandler]:
        return {
            "flight_areas_sync_progress": self._on_sync_progress,
            "flight_areas_drone_location": self._on_drone_location,
        }

    def commands(self) -> Sequence[CommandSpec]:
        return (FLIGHT_AREAS_UPDATE,)

    async def start(self) -> None:
        for row in await self._call(q.list_sync):
            self._sync[row.sn] = row

    # -- helpers ---------------------------------------------------------------------------

    async def _call[T](self, fn: Callable[..., T], *args: Any) -> T:
        store = self.station.store
        assert store is not None
        return await store.call(fn, *args)

    def _refuse(self, status: int, message: str, sn: str = "") -> MapError:
        log.warning("map change refused: %s", message)
        self.station.bus.publish(LogEntry(self.station.now_ms(), "map", "warning", message, sn))
        return MapError(status, message)

    async def _guard[T](self, coro: Awaitable[T]) -> T:
        """Run a store call, turning its domain errors into refusals."""
        try:
            return await coro
        except MapNotFound as exc:
            raise self._refuse(404, str(exc)) from exc
        except MapConflict as exc:
            raise self._refuse(409, str(exc)) from exc

    # -- groups and elements (§8.2 #2–#5) --------------------------------------------------

    async def groups(
        self, workspace_id: str, group_id: str | None = None
    ) -> list[tuple[GroupRow, list[ElementRow]]]:
        """The workspace's groups (or one) with their elements."""
        groups = await self._call(q.ensure_groups, workspace_id, self.station.now_ms())
        if group_id is not None:
            groups = [g for g in groups if g.id == group_id]
        elements: dict[str, list[ElementRow]] = await self._call(
            q.elements_of, [g.id for g in groups]
        )
        return [(g, elements[g.id]) for g in groups]

    async def group_of_role(self, workspace_id: str, role: str) -> GroupRow:
        group: GroupRow = await self._call(
            q.group_by_role, workspace_id, role, self.station.now_ms()
        )
        return group

    async def _editable_group(self, workspace_id: str, group_id: str) -> GroupRow:
        await self._call(q.ensure_groups, workspace_id, self.station.now_ms())
        group: GroupRow = await self._guard(self._call(q.get_group, workspace_id, group_id))
        if group.is_lock:
            raise self._refuse(403, f"the group {group.name!r} is locked; unlock it first")
        return group

    async def create_group(self, workspace_id: str, name: str, *, locked: bool = False) -> GroupRow:
        """A new custom (type 0) group."""
        try:
            geo.check_name(name)
        except GeometryError as exc:
            raise self._refuse(400, str(exc)) from exc
        row = GroupRow(str(uuid.uuid4()), workspace_id, name, 0, "", locked, self.station.now_ms())
        group: GroupRow = await self._guard(self._call(q.create_group, row))
        self.station.bus.publish(
            MapGroupsRefreshed(self.station.now_ms(), workspace_id, (group.id,))
        )
        return group

    async def lock_group(self, workspace_id: str, group_id: str, locked: bool) -> GroupRow:
        group: GroupRow = await self._guard(
            self._call(q.set_group_lock, workspace_id, group_id, locked)
        )
        self.station.bus.publish(
            MapGroupsRefreshed(self.station.now_ms(), workspace_id, (group_id,))
        )
        return group

    async def _checked(
        self, name: Any, resource: Any, *, strict: bool
    ) -> tuple[str, int, dict[str, Any]]:
        try:
            geo.check_name(name)
            if not isinstance(resource, dict):
                raise GeometryError("'resource' must be an object with 'type' and 'content'")
            kind = resource.get("type")
            content = await _off_loop(
                partial(geo.check_content, strict=strict), resource.get("content"), kind
            )
        except GeometryError as exc:
            raise self._refuse(400, f"map element refused: {exc}") from exc
        assert isinstance(name, str) and isinstance(kind, int)
        return name, kind, content

    async def create_element(
        self,
        workspace_id: str,
        group_id: str,
        element_id: Any,
        name: Any,
        resource: Any,
        *,
        user_name: str,
    ) -> ElementRow:
        """Create an element (Pilot chooses its id). Raises MapError (400/403/404/409)."""
        try:
            geo.check_uuid(element_id, "the element id")
        except GeometryError as exc:
            raise self._refuse(400, str(exc)) from exc
        name, kind, content = await self._checked(name, resource, strict=False)
        group = await self._editable_group(workspace_id, group_id)
        if group.role == "flight_areas":
            raise self._refuse(
                403, "custom flight areas are created from the station's flight-area list"
            )
        now = self.station.now_ms()
        row = ElementRow(
            element_id, group.id, workspace_id, name, kind, user_name, content, now, now
        )
        await self._guard(self._call(q.insert_elements, [row]))
        self.station.bus.publish(MapElementChanged(now, workspace_id, "create", row, user_name))
        return row

    async def update_element(
        self,
        workspace_id: str,
        element_id: str,
        name: Any = None,
        content: Any = None,
        *,
        actor: str,
    ) -> ElementRow:
        """Change an element's name and/or content (its geometry type stays). Raises MapError."""
        old: ElementRow = await self._guard(self._call(q.get_element, workspace_id, element_id))
        group = await self._editable_group(workspace_id, old.group_id)
        if group.role == "flight_areas":
            raise self._refuse(403, "custom flight areas are edited from the station's list")
        if name is None and content is None:
            raise self._refuse(400, "nothing to change: send 'name' and/or 'content'")
        checked = None
        try:
            if name is not None:
                geo.check_name(name)
            if content is not None:
                checked = await _off_loop(geo.check_content, content, old.type)
        except GeometryError as exc:
            raise self._refuse(400, f"map element refused: {exc}") from exc
        now = self.station.now_ms()
        row: ElementRow = await self._guard(
            self._call(q.update_element, workspace_id, element_id, name, checked, now)
        )
        self.station.bus.publish(MapElementChanged(now, workspace_id, "update", row, actor))
        return row

    async def delete_element(self, workspace_id: str, element_id: str, *, actor: str) -> ElementRow:
        old: ElementRow = await self._guard(self._call(q.get_element, workspace_id, element_id))
        group = await self._editable_group(workspace_id, old.group_id)
        if group.role == "flight_areas":
            raise self._refuse(403, "custom flight areas are deleted from the station's list")
        row: ElementRow = await self._guard(self._call(q.delete_element, workspace_id, element_id))
        now = self.station.now_ms()
        self.station.bus.publish(MapElementChanged(now, workspace_id, "delete", row, actor))
        return row

    async def clear_group(self, workspace_id: str, group_id: str) -> int:
        """Delete every element of a group (§8.4 `DELETE element-groups/{id}/elements`)."""
        group = await self._editable_group(workspace_id, group_id)
        if group.role == "flight_areas":
            raise self._refuse(403, "delete custom flight areas one by one from their list")
        ids: list[str] = await self._guard(
            self._call(q.delete_group_elements, workspace_id, group_id)
        )
        self.station.bus.publish(
            MapGroupsRefreshed(self.station.now_ms(), workspace_id, (group_id,))
        )
        return len(ids)

    async def add_elements(
        self, workspace_id: str, group_id: str, rows: Sequence[ElementRow]
    ) -> int:
        """Insert already-checked elements (an import) into a group: all or nothing."""
        group = await self._editable_group(workspace_id, group_id)
        if group.role == "flight_areas":
            raise self._refuse(403, "import flight areas through the flight-area import")
        await self._guard(self._call(q.insert_elements, list(rows)))
        self.station.bus.publish(
            MapGroupsRefreshed(self.station.now_ms(), workspace_id, (group_id,))
        )
        return len(rows)

    # -- exchange (KML/KMZ, GeoJSON) --------------------------------------------------------

    async def import_file(
        self, workspace_id: str, group_id: str, filename: str, raw: bytes, *, user_name: str
    ) -> int:
        """Import a KML/KMZ/GeoJSON file into a group: every feature or none. Returns the
        number of elements added. Raises MapError (400 with the file's first problem)."""
        loop = asyncio.get_running_loop()
        try:
            features = await loop.run_in_executor(None, exchange.parse_file, filename, raw)
        except exchange.ExchangeError as exc:
            raise self._refuse(400, f"{filename} not imported: {exc}") from exc
        now = self.station.now_ms()
        rows = [
            ElementRow(
                str(uuid.uuid4()),
                group_id,
                workspace_id,
                f.name,
                f.type,
                user_name,
                f.content,
                now,
                now,
            )
            for f in features
        ]
        n = await self.add_elements(workspace_id, group_id, rows)
        text = f"{filename}: {n} map elements imported"
        self.station.bus.publish(LogEntry(now, "map", "info", text))
        return n

    async def export(self, workspace_id: str, fmt: str, group_id: str | None = None) -> bytes:
        """A group (or every group) as KML or GeoJSON. Raises MapError for an unknown format or
        group."""
        if fmt not in ("kml", "geojson"):
            raise self._refuse(400, f"export format {fmt!r}: use kml or geojson")
        groups = await self.groups(workspace_id, group_id)
        if group_id is not None and not groups:
            raise self._refuse(404, f"there is no group {group_id} in this workspace")
        data: list[exchange.ExportGroup] = [
            (g.name, [(e.name, e.type, e.content) for e in elements]) for g, elements in groups
        ]
        loop = asyncio.get_running_loop()
        if fmt == "kml":
            return await loop.run_in_executor(None, exchange.to_kml, data)
        return await loop.run_in_executor(None, exchange.to_geojson, data)

    # -- custom flight areas ---------------------------------------------------------------

    async def flight_areas(self, workspace_id: str) -> list[tuple[ElementRow, AreaRow]]:
        areas: list[tuple[ElementRow, AreaRow]] = await self._call(q.list_areas, workspace_id)
        return areas

    def _area_content(self, content: Any) -> tuple[int, dict[str, Any], float]:
        """(element type, content as stored, radius) of a flight area's content."""
        if not isinstance(content, dict):
            raise GeometryError("'content' must be a GeoJSON Feature")
        geometry = content.get("geometry")
        if isinstance(geometry, dict) and geometry.get("type") == "Circle":
            radius = geo.check_radius(geometry.get("radius"))
            point = {"type": "Point", "coordinates": geometry.get("coordinates")}
            stored = geo.check_content(dict(content, geometry=point), geo.POINT)
            return geo.POINT, stored, radius
        kind = geo.POLYGON
        stored = geo.check_content(content, kind)
        ring = stored["geometry"]["coordinates"][0]
        vertices = len(ring) - (1 if ring[0][:2] == ring[-1][:2] else 0)
        if vertices > MAX_AREA_VERTICES:
            raise GeometryError(
                f"a custom flight area may have at most {MAX_AREA_VERTICES} vertices (a dock "
                f"refuses more), this one has {vertices}"
            )
        return kind, stored, 0.0

    async def create_flight_area(
        self,
        workspace_id: str,
        *,
        area_id: Any,
        name: Any,
        area_type: Any,
        content: Any,
        user_name: str,
        enabled: bool = True,
    ) -> tuple[ElementRow, AreaRow]:
        """A new custom flight area: a Circle (centre + radius) or a Polygon. Raises MapError."""
        try:
            geo.check_uuid(area_id, "the area id")
            geo.check_name(name)
            if area_type not in AREA_TYPES:
                raise GeometryError(
                    f"'type' must be 'nfz' (no-fly) or 'dfence' (stay inside), got {area_type!r}"
                )
            kind, stored, radius = self._area_content(content)
        except GeometryError as exc:
            raise self._refuse(400, f"flight area refused: {exc}") from exc
        group = await self.group_of_role(workspace_id, "flight_areas")
        now = self.station.now_ms()
        row = ElementRow(area_id, group.id, workspace_id, name, kind, user_name, stored, now, now)
        area = AreaRow(area_id, area_type, enabled, radius)
        await self._guard(self._call(q.insert_elements, [row], [area]))
        self._areas_changed(workspace_id, "add", area_id)
        self.station.bus.publish(MapElementChanged(now, workspace_id, "create", row, user_name))
        return row, area

    async def update_flight_area(
        self,
        workspace_id: str,
        area_id: str,
        *,
        name: Any = None,
        content: Any = None,
        enabled: Any = None,
        actor: str,
    ) -> tuple[ElementRow, AreaRow]:
        """Rename, reshape, enable or disable an area. Raises MapError."""
        element, area = await self._guard(self._call(q.get_area, workspace_id, area_id))
        radius = None
        stored = None
        try:
            if enabled is not None and not isinstance(enabled, bool):
                raise GeometryError("'status' must be true (enabled) or false (disabled)")
            if name is not None:
                geo.check_name(name)
            if content is not None:
                kind, stored, r = self._area_content(content)
                if kind != element.type:
                    raise GeometryError("a circle stays a circle and a polygon stays a polygon")
                radius = r if r > 0 else None
        except GeometryError as exc:
            raise self._refuse(400, f"flight area refused: {exc}") from exc
        now = self.station.now_ms()
        if name is not None or stored is not None:
            element = await self._guard(
                self._call(q.update_element, workspace_id, area_id, name, stored, now)
            )
            self.station.bus.publish(MapElementChanged(now, workspace_id, "update", element, actor))
        area = await self._guard(self._call(q.update_area, workspace_id, area_id, enabled, radius))
        self._areas_changed(workspace_id, "update", area_id)
        return element, area

    async def delete_flight_area(self, workspace_id: str, area_id: str, *, actor: str) -> None:
        await self._guard(self._call(q.get_area, workspace_id, area_id))
        row: ElementRow = await self._guard(self._call(q.delete_element, workspace_id, area_id))
        now = self.station.now_ms()
        self._areas_changed(workspace_id, "delete", area_id)
        self.station.bus.publish(MapElementChanged(now, workspace_id, "delete", row, actor))

    def _areas_changed(self, workspace_id: str, action: str, area_id: str) -> None:
        self.station.bus.publish(
            FlightAreasChanged(self.station.now_ms(), workspace_id, action, area_id)
        )

    async def import_flight_areas(
        self,
        workspace_id: str,
        filename: str,
        raw: bytes,
        *,
        area_type: str = "nfz",
        user_name: str,
    ) -> int:
        """Import custom flight areas: DJI's flight-area file (features with `geofence_type`,
        circles as a Point with `properties.radius`) keeps each area's type and enabled flag;
        polygons from any KML/KMZ/GeoJSON become areas of `area_type`. Every area or none.

        Raises:
            MapError: 400 with the file's first problem (nothing is added).
        """
        try:
            if area_type not in AREA_TYPES:
                raise GeometryError(f"'type' must be 'nfz' or 'dfence', got {area_type!r}")
            loop = asyncio.get_running_loop()
            parsed = await loop.run_in_executor(None, _parse_areas, filename, raw, area_type)
            items = [
                (name, kind, *self._area_content(content), enabled)
                for name, kind, content, enabled in parsed
            ]
        except (GeometryError, exchange.ExchangeError) as exc:
            raise self._refuse(400, f"{filename} not imported: {exc}") from exc
        group = await self.group_of_role(workspace_id, "flight_areas")
        now = self.station.now_ms()
        rows, areas = [], []
        for name, kind, element_type, stored, radius, enabled in items:
            area_id = str(uuid.uuid4())
            rows.append(
                ElementRow(
                    area_id, group.id, workspace_id, name, element_type, user_name, stored, now, now
                )
            )
            areas.append(AreaRow(area_id, kind, enabled, radius))
        await self._guard(self._call(q.insert_elements, rows, areas))
        for area in areas:
            self._areas_changed(workspace_id, "add", area.element_id)
        self.station.bus.publish(MapGroupsRefreshed(now, workspace_id, (group.id,)))
        text = f"{filename}: {len(rows)} custom flight areas imported"
        self.station.bus.publish(LogEntry(now, "map", "info", text))
        return len(rows)

    async def area_file(self, workspace_id: str) -> FlightAreaFile | None:
        """The workspace's flight-area file, or None when it has no custom flight area."""
        areas = await self.flight_areas(workspace_id)
        if not areas:
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, build_area_file, areas)

    async def publish_file(self, workspace_id: str) -> tuple[FlightAreaFile, str] | None:
        """Build the file, put it into the object store (once per content) and return it with
        a presigned download URL. Raises MapError(503) when the store cannot take it."""
        file = await self.area_file(workspace_id)
        if file is None:
            return None
        storage = self.station.storage
        assert storage is not None
        key = f"flight_areas/{workspace_id}/{file.name}"
        async with self._upload_lock:
            if key not in self._uploaded:
                url = storage.presign_get(key, 600, method="PUT")
                try:
                    async with (
                        aiohttp.ClientSession() as session,
                        session.put(
                            url, data=file.body, headers={"Content-Type": "application/json"}
                        ) as r,
                    ):
                        if r.status != 200:
                            text = (await r.text())[:200]
                            raise MapError(
                                503, f"the object store refused the flight-area file: {text}"
                            )
                except aiohttp.ClientError as exc:
                    raise self._refuse(
                        503, f"the object store is unreachable for the flight-area file: {exc}"
                    ) from exc
                self._uploaded.add(key)
        return file, storage.presign_get(key, FILE_URL_TTL_S)

    async def _flight_areas_get(self, msg: Message) -> dict[str, Any]:
        view = self.station.registry.view(msg.gateway_sn or msg.sn)
        ws = (view.workspace_id if view is not None else None) or (
            self.station.settings.station.workspace_id
        )
        try:
            published = await self.publish_file(ws)
        except MapError as exc:
            raise RequestRefused(StationCode.INTERNAL_ERROR, exc.message) from exc
        if published is None:
            return {"files": []}
        file, url = published
        return {
            "files": [{"name": file.name, "url": url, "checksum": file.checksum, "size": file.size}]
        }

    # -- syncing docks ---------------------------------------------------------------------

    async def sync(
        self, workspace_id: str, sns: Sequence[str], *, actor: str = "operator"
    ) -> list[CommandJob]:
        """Tell these docks to fetch the flight-area file (`flight_areas_update`).

        Raises:
            MapError: a dock is not of this workspace, or the command path refused it.
        """
        for sn in sns:
            view = self.station.registry.view(sn)
            if view is None or view.workspace_id not in (workspace_id, None):
                raise self._refuse(404, f"dock {sn} is not in this workspace", sn)
            if view.domain != 3:
                raise self._refuse(400, f"{sn} is not a dock: only docks load custom flight areas")
        await self.publish_file(workspace_id)  # ready before the docks ask for it
        jobs = []
        for sn in sns:
            try:
                jobs.append(
                    self.station.commands.start_command(sn, "flight_areas_update", {}, actor=actor)
                )
            except CommandRefused as exc:
                raise MapError(409, exc.en) from exc
        return jobs

    def sync_status(self) -> list[SyncRow]:
        return sorted(self._sync.values(), key=lambda r: r.sn)

    def drone_locations(self, sn: str | None = None) -> dict[str, tuple[dict[str, Any], ...]]:
        if sn is not None:
            return {sn: self._locations[sn]} if sn in self._locations else {}
        return dict(self._locations)

    def _reject(self, msg: Message, text: str) -> None:
        log.warning("%s from %s rejected: %s", msg.method, msg.sn, text)
        self.station.bus.publish(
            LogEntry(self.station.now_ms(), "rejected", "warning", f"{msg.method}: {text}", msg.sn)
        )

    def _on_sync_progress(self, msg: Message) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        status, reason = data.get("status"), data.get("reason", 0)
        if status not in SYNC_STATUSES or not isinstance(reason, int) or isinstance(reason, bool):
            self._reject(msg, f"unknown status {status!r} or reason {reason!r}")
            return
        raw_file = data.get("file")
        file: dict[str, Any] = raw_file if isinstance(raw_file, dict) else {}
        sn = msg.gateway_sn or msg.sn
        view = self.station.registry.view(sn)
        row = SyncRow(
            sn,
            (view.workspace_id if view is not None else None) or "",
            status,
            reason,
            str(file.get("name") or ""),
            str(file.get("checksum") or ""),
            self.station.now_ms(),
        )
        self._sync[sn] = row
        store = self.station.store
        if store is not None:
            spawn(store.call(q.save_sync, row), name=f"flight-area-sync:{sn}")
        en, zh = SYNC_REASONS.get(reason, (f"reason {reason}", f"原因 {reason}"))
        if status in ("fail", "switch_fail"):
            text = f"flight-area sync failed on {sn}: {en}"
            self.station.bus.publish(LogEntry(row.updated_at, "map", "warning", text, sn))
        elif status == "synchronized":
            self.station.bus.publish(
                LogEntry(row.updated_at, "map", "info", f"flight areas synchronized on {sn}", sn)
            )
        self.station.bus.publish(
            FlightAreaSyncChanged(row.updated_at, sn, row.workspace_id, status, reason, en, zh)
        )

    def _on_drone_location(self, msg: Message) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        raw = data.get("drone_locations")
        if not isinstance(raw, list) or not all(
            isinstance(x, dict) and isinstance(x.get("area_id"), str) for x in raw
        ):
            self._reject(msg, "'drone_locations' must be a list of {area_id, area_distance, …}")
            return
        gateway = msg.gateway_sn or msg.sn
        view = self.station.registry.view(gateway)
        aircraft = view.sub_devices[0] if view is not None and view.sub_devices else msg.sn
        locations = tuple(
            {
                "area_id": x["area_id"],
                "area_distance": x.get("area_distance"),
                "is_in_area": bool(x.get("is_in_area")),
            }
            for x in raw
        )
        self._locations[aircraft] = locations
        self.station.bus.publish(
            DroneAreaLocation(self.station.now_ms(), aircraft, gateway, locations)
        )
