"""The `map` module over HTTP (protocol §8.2 #2–#5, §8.4 `map`) and its WebSocket pushes (§9).

Pilot 2:
* `GET  /map/api/v1/workspaces/{ws}/element-groups?group_id=&is_distributed=` — groups with
  their elements (exactly one type-2 group).
* `POST /map/api/v1/workspaces/{ws}/element-groups/{group_id}/elements` — `{id, name,
  resource{type, user_name?, content}}` → `{id}`.
* `PUT  /map/api/v1/workspaces/{ws}/elements/{element_id}` — `{name?, content?}` → `{id}`.
* `DELETE /map/api/v1/workspaces/{ws}/elements/{element_id}` → `{id}`.

Web console and desktop (§8.4 plus our exchange endpoints):
* `DELETE .../element-groups/{group_id}/elements`, `POST .../element-groups` `{name}`,
  `PUT .../element-groups/{group_id}` `{is_lock}`;
* `POST .../element-groups/{group_id}/import?name=<file name>` (body: the file) → `{count}`;
  `GET .../export?format=kml|geojson[&group_id=]` (the file);
* `GET .../flight-areas`, `POST .../flight-areas/import?name=&type=nfz|dfence` (DJI's
  flight-area file, or polygons from KML/GeoJSON), `POST .../flight-area`,
  `PUT|DELETE .../flight-area/{area_id}`, `POST .../flight-area/sync` `{device_sn: [..]}`,
  `GET .../device-status`.

Pushes to every client of the workspace: `map_element_create|update|delete`,
`map_group_refresh {ids}`, and for the web console `flight_areas_update`,
`flight_areas_sync_progress`, `flight_areas_drone_location`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from gcs.station.core import Station
from gcs.station.maps import (
    SYNC_REASONS,
    DroneAreaLocation,
    FlightAreasChanged,
    FlightAreaSyncChanged,
    MapElementChanged,
    MapError,
    MapGroupsRefreshed,
    Maps,
    area_json,
    element_json,
    group_json,
)
from gcs.web.auth import Caller, caller
from gcs.web.envelope import ApiError, json_body, ok, read_body
from gcs.web.keys import HUB, STATION
from gcs.web.ws import WsHub

routes = web.RouteTableDef()
BASE = "/map/api/v1/workspaces/{workspace_id}"
#: An element of 10,000 vertices is about 400 KB of JSON.
MAX_ELEMENT_BODY = 1024 * 1024
MAX_IMPORT_BODY = 32 * 1024 * 1024


def _maps(request: web.Request) -> Maps:
    return request.app[STATION].capability(Maps)


async def _who(request: web.Request) -> tuple[Caller, str]:
    who = await caller(request)
    ws = request.match_info["workspace_id"]
    if ws != who.claims.workspace_id:
        raise ApiError(403, f"you are not a member of workspace {ws}")
    return who, ws


async def _body(request: web.Request, limit: int = MAX_ELEMENT_BODY) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return doc


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _map_errors(fn: Handler) -> Handler:
    """Turn the map capability's refusals into DJI-shaped HTTP answers."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except MapError as exc:
            raise ApiError(exc.status, exc.message) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


# -- Pilot (§8.2 #2–#5) ----------------------------------------------------------------------


class GroupsCache:
    """Encoded `element-groups` answers (all groups) per workspace, until the next map change.

    Every Pilot asks for all groups when its map module loads and after each
    `map_group_refresh`; with thousands of elements one answer is megabytes of JSON.
    """

    def __init__(self) -> None:
        self._bodies: dict[str, bytes] = {}

    def get(self, workspace_id: str) -> bytes | None:
        return self._bodies.get(workspace_id)

    def put(self, workspace_id: str, body: bytes) -> None:
        self._bodies[workspace_id] = body

    def drop(self, workspace_id: str) -> None:
        self._bodies.pop(workspace_id, None)


GROUPS_CACHE: web.AppKey[GroupsCache] = web.AppKey("map_groups_cache")


@routes.get(BASE + "/element-groups")
@_map_errors
async def list_groups(request: web.Request) -> web.Response:
    _, ws = await _who(request)
    group_id = request.query.get("group_id") or None
    cache = request.app[GROUPS_CACHE]
    if group_id is None and (body := cache.get(ws)) is not None:
        return web.Response(body=body, content_type="application/json")
    groups = await _maps(request).groups(ws, group_id)
    response = ok([group_json(g, elements) for g, elements in groups])
    if group_id is None and isinstance(response.body, bytes):
        cache.put(ws, response.body)
    return response


@routes.post(BASE + "/element-groups/{group_id}/elements")
@_map_errors
async def create_element(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    body = await _body(request)
    row = await _maps(request).create_element(
        ws,
        request.match_info["group_id"],
        body.get("id"),
        body.get("name"),
        body.get("resource"),
        user_name=who.claims.username,
    )
    return ok({"id": row.id})


@routes.put(BASE + "/elements/{element_id}")
@_map_errors
async def update_element(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    body = await _body(request)
    row = await _maps(request).update_element(
        ws,
        request.match_info["element_id"],
        body.get("name"),
        body.get("content"),
        actor=who.claims.username,
    )
    return ok({"id": row.id})


@routes.delete(BASE + "/elements/{element_id}")
@_map_errors
async def delete_element(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    row = await _maps(request).delete_element(
        ws, request.match_info["element_id"], actor=who.claims.username
    )
    return ok({"id": row.id})


# -- groups, exchange (§8.4 and ours) --------------------------------------------------------


@routes.delete(BASE + "/element-groups/{group_id}/elements")
@_map_errors
async def clear_group(request: web.Request) -> web.Response:
    _, ws = await _who(request)
    n = await _maps(request).clear_group(ws, request.match_info["group_id"])
    return ok({"deleted": n})


@routes.post(BASE + "/element-groups")
@_map_errors
async def create_group(request: web.Request) -> web.Response:
    _, ws = await _who(request)
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise ApiError(400, "'name' must be a text")
    group = await _maps(request).create_group(ws, name, locked=bool(body.get("is_lock")))
    return ok(group_json(group, []))


@routes.put(BASE + "/element-groups/{group_id}")
@_map_errors
async def lock_group(request: web.Request) -> web.Response:
    _, ws = await _who(request)
    body = await json_body(request)
    locked = body.get("is_lock")
    if not isinstance(locked, bool):
        raise ApiError(400, "'is_lock' must be true or false")
    group = await _maps(request).lock_group(ws, request.match_info["group_id"], locked)
    return ok(group_json(group, []))


@routes.post(BASE + "/element-groups/{group_id}/import")
@_map_errors
async def import_file(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    name = request.query.get("name", "")
    if not name:
        raise ApiError(400, "say the file's name: ?name=site.kml (.kml, .kmz, .geojson, .json)")
    raw = await read_body(request, MAX_IMPORT_BODY, timeout_s=120)
    n = await _maps(request).import_file(
        ws, request.match_info["group_id"], name, raw, user_name=who.claims.username
    )
    return ok({"count": n})


@routes.get(BASE + "/export")
@_map_errors
async def export(request: web.Request) -> web.Response:
    _, ws = await _who(request)
    fmt = request.query.get("format", "geojson")
    body = await _maps(request).export(ws, fmt, request.query.get("group_id") or None)
    kind = "application/vnd.google-earth.kml+xml" if fmt == "kml" else "application/geo+json"
    return web.Response(
        body=body,
        content_type=kind,
        headers={"Content-Disposition": f'attachment; filename="map.{fmt}"'},
    )


# -- custom flight areas (§8.4) --------------------------------------------------------------


@routes.get(BASE + "/flight-areas")
@_map_errors
async def list_areas(request: web.Request) -> web.Response:
    _, ws = await _who(request)
    areas = await _maps(request).flight_areas(ws)
    return ok([area_json(e, a) for e, a in areas])


@routes.post(BASE + "/flight-areas/import")
@_map_errors
async def import_areas(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    name = request.query.get("name", "")
    if not name:
        raise ApiError(400, "say the file's name: ?name=areas.json (.json, .geojson, .kml, .kmz)")
    raw = await read_body(request, MAX_IMPORT_BODY, timeout_s=120)
    n = await _maps(request).import_flight_areas(
        ws, name, raw, area_type=request.query.get("type", "nfz"), user_name=who.claims.username
    )
    return ok({"count": n})


@routes.post(BASE + "/flight-area")
@_map_errors
async def create_area(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    body = await _body(request)
    e, a = await _maps(request).create_flight_area(
        ws,
        area_id=body.get("id"),
        name=body.get("name"),
        area_type=body.get("type"),
        content=body.get("content"),
        user_name=who.claims.username,
    )
    return ok(area_json(e, a))


@routes.put(BASE + "/flight-area/{area_id}")
@_map_errors
async def update_area(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    body = await _body(request)
    e, a = await _maps(request).update_flight_area(
        ws,
        request.match_info["area_id"],
        name=body.get("name"),
        content=body.get("content"),
        enabled=body.get("status"),
        actor=who.claims.username,
    )
    return ok(area_json(e, a))


@routes.delete(BASE + "/flight-area/{area_id}")
@_map_errors
async def delete_area(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    area_id = request.match_info["area_id"]
    await _maps(request).delete_flight_area(ws, area_id, actor=who.claims.username)
    return ok({"id": area_id})


@routes.post(BASE + "/flight-area/sync")
@_map_errors
async def sync_areas(request: web.Request) -> web.Response:
    who, ws = await _who(request)
    body = await json_body(request)
    sns = body.get("device_sn")
    if not isinstance(sns, list) or not sns or not all(isinstance(s, str) for s in sns):
        raise ApiError(400, "'device_sn' must be a list of dock serial numbers")
    jobs = await _maps(request).sync(ws, sns, actor=who.claims.username)
    return ok([{"sn": j.gateway_sn, "job_id": j.id, "bid": j.bid} for j in jobs])


@routes.get(BASE + "/device-status")
@_map_errors
async def device_status(request: web.Request) -> web.Response:
    _, ws = await _who(request)
    maps = _maps(request)
    out = []
    for row in maps.sync_status():
        if row.workspace_id not in (ws, ""):
            continue
        en, zh = maps_reason(row.reason)
        out.append(
            {
                "device_sn": row.sn,
                "flight_area_status": {
                    "sync_status": row.status,
                    "sync_code": row.reason,
                    "sync_msg": en,
                    "sync_msg_zh": zh,
                    "file_name": row.file_name,
                    "checksum": row.checksum,
                    "update_time": row.updated_at,
                },
            }
        )
    return ok(out)


def maps_reason(reason: int) -> tuple[str, str]:
    return SYNC_REASONS.get(reason, (f"reason {reason}", f"原因 {reason}"))


# -- WebSocket pushes ------------------------------------------------------------------------


class MapFeed:
    """Map changes to `map_*` / `flight_areas_*` pushes while alive; `close()` unsubscribes."""

    def __init__(self, station: Station, hub: WsHub, cache: GroupsCache | None = None) -> None:
        self.station = station
        self.hub = hub
        self.cache = cache or GroupsCache()
        bus = station.bus
        self._unsubscribe = [
            bus.subscribe(MapElementChanged, self.on_element),
            bus.subscribe(MapGroupsRefreshed, self.on_groups),
            bus.subscribe(FlightAreasChanged, self.on_areas),
            bus.subscribe(FlightAreaSyncChanged, self.on_sync),
            bus.subscribe(DroneAreaLocation, self.on_location),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def on_element(self, event: MapElementChanged) -> None:
        self.cache.drop(event.workspace_id)
        e = event.element
        if event.action == "delete":
            data: dict[str, Any] = {"id": e.id, "group_id": e.group_id}
        else:
            data = element_json(e)
        self.hub.publish(event.workspace_id, f"map_element_{event.action}", data)

    def on_groups(self, event: MapGroupsRefreshed) -> None:
        self.cache.drop(event.workspace_id)
        self.hub.publish(event.workspace_id, "map_group_refresh", {"ids": list(event.group_ids)})

    def on_areas(self, event: FlightAreasChanged) -> None:
        self.hub.publish(
            event.workspace_id,
            "flight_areas_update",
            {"operation": event.action, "area_id": event.area_id},
        )

    def on_sync(self, event: FlightAreaSyncChanged) -> None:
        ws = event.workspace_id or self.station.settings.station.workspace_id
        self.hub.publish(
            ws,
            "flight_areas_sync_progress",
            {
                "sn": event.sn,
                "result": event.reason,
                "message": event.message_en,
                "message_zh": event.message_zh,
                "status": event.status,
            },
        )

    def on_location(self, event: DroneAreaLocation) -> None:
        view = self.station.registry.view(event.gateway_sn)
        ws = (view.workspace_id if view is not None else None) or (
            self.station.settings.station.workspace_id
        )
        self.hub.publish(
            ws,
            "flight_areas_drone_location",
            {"sn": event.sn, "host": {"drone_locations": list(event.locations)}},
        )


async def _feed_ctx(app: web.Application) -> AsyncIterator[None]:
    feed = MapFeed(app[STATION], app[HUB], app[GROUPS_CACHE])
    yield
    feed.close()


def setup(app: web.Application) -> None:
    """Add the map routes and the map pushes to the application (call before `manage`)."""
    app[GROUPS_CACHE] = GroupsCache()
    app.add_routes(routes)
    app.cleanup_ctx.append(_feed_ctx)
