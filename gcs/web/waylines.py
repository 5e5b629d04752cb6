"""Pilot 2's wayline module (protocol §8.2 #11–#16), the web console's wayline library import
(§8.4 `POST .../waylines/file/upload`, `DELETE .../waylines/{id}`) and its flight tasks (§8.4
`POST .../flight-tasks`, `GET|DELETE .../jobs`, `PUT .../jobs/{job_id}`,
`POST .../jobs/{job_id}/media-highest`), with task progress pushed on the WebSocket as
`flighttask_progress` (§9 web-console code).

Flight-task body (`POST .../flight-tasks`): `name`, `dock_sn`, `file_id` (or `wayline_id`),
`task_type` (0 immediate, 1 timed, 2 conditional, 3 or "recurring"), `execute_time` (ms, timed),
`recurrence` `{days: [0 Mon..6 Sun], times: ["HH:MM"], begin_time, end_time}` (recurring),
and the `flighttask_prepare` fields of §4.2 (`rth_altitude`, `rth_mode`, `out_of_control_action`,
`exit_wayline_when_rc_lost`, `wayline_precision_type`, `ready_conditions`,
`executable_conditions`, `break_point`, `simulate_mission`), and `confirmed` (true: plan it even
though its route crosses an enabled no-fly area or leaves an enabled geofence; without it such a
task is refused with 409, code 212017 and `data.area_warnings`; the created task carries
`area_warnings` too). `PUT .../jobs/{job_id}` takes
`{"status": 0}` to pause and `{"status": 1}` to resume (the Demo's values; "pause"/"resume" too).

Handlers parse the request, call the station's wayline library (`gcs.station.waylines`) and
translate its refusals: a refused file answers 400 with the library's code, its reason and, in
`data.findings`, every finding of `gcs.wpml` (English and Chinese).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from aiohttp import BodyPartReader, web

from gcs.station.area_guard import AreaGuard, RouteCrossesAreas
from gcs.station.bus import FlightTaskChanged
from gcs.station.core import Station
from gcs.station.missions import (
    MissionError,
    Missions,
    PlanRow,
    plan_to_json,
    task_from_json,
    task_to_json,
)
from gcs.station.waylines import (
    MAX_KMZ_BYTES,
    ORDER_COLUMNS,
    WaylineError,
    WaylineQuery,
    Waylines,
    to_pilot,
)
from gcs.web.auth import Caller, caller
from gcs.web.console import http_status
from gcs.web.envelope import ApiError, ok
from gcs.web.keys import HUB, STATION
from gcs.web.ws import WsHub

routes = web.RouteTableDef()

BASE = "/wayline/api/v1/workspaces/{workspace_id}"
#: How long the `/url` redirect's presigned GET stays valid (Pilot downloads at once).
REDIRECT_TTL_S = 600
MAX_PAGE_SIZE = 1000


def refused(request: web.Request, exc: WaylineError) -> web.Response:
    """The DJI envelope for a refused library operation, findings included (HTTP status as
    `gcs.web.console.http_status` says for this endpoint)."""
    body = {
        "code": exc.code,
        "message": exc.en,
        "data": {
            "message_zh": exc.zh,
            "findings": [f.to_dict() for f in exc.findings],
        },
    }
    status = http_status(request, exc.status)
    return web.json_response(body, status=status, dumps=lambda d: orjson.dumps(d).decode())


async def member(request: web.Request) -> tuple[Station, Caller, str]:
    """The station, the caller and the workspace of the path (403 for another workspace)."""
    who = await caller(request)
    workspace_id = request.match_info["workspace_id"]
    if workspace_id != who.claims.workspace_id:
        raise ApiError(403, "you are not a member of that workspace")
    return request.app[STATION], who, workspace_id


def library(station: Station) -> Any:
    try:
        return station.capability(Waylines).library
    except LookupError as exc:
        raise ApiError(404, "this station has no wayline library") from exc


def _bool(value: str, name: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"'{name}' must be true or false")


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise ApiError(400, f"'{name}' must be a whole number") from None
    if not low <= n <= high:
        raise ApiError(400, f"'{name}' must be between {low} and {high}")
    return n


def _order(text: str) -> tuple[tuple[str, bool], ...]:
    out = []
    for part in text.split(","):
        words = part.strip().split()
        if not words:
            continue
        column = words[0]
        direction = words[1].lower() if len(words) > 1 else "asc"
        if column not in ORDER_COLUMNS or direction not in ("asc", "desc") or len(words) > 2:
            raise ApiError(
                400,
                f"'order_by' {part.strip()!r}: use name, update_time or create_time, "
                "then asc or desc",
            )
        out.append((column, direction == "desc"))
    return tuple(out) or (("update_time", True),)


def parse_query(query: Any) -> WaylineQuery:
    """Pilot's listing parameters; repeated and `[]`-suffixed keys both accepted."""

    def many(*names: str) -> list[str]:
        return [v for n in names for v in query.getall(n, [])]

    favorited = query.get("favorited")
    action_type = query.get("action_type")
    return WaylineQuery(
        order_by=_order(query.get("order_by", "update_time desc")),
        page=_int(query.get("page", "1"), "page", 1, 10**6),
        page_size=_int(query.get("page_size", "10"), "page_size", 1, MAX_PAGE_SIZE),
        favorited=_bool(favorited, "favorited") if favorited else None,
        template_types=tuple(
            _int(v, "template_type", 0, 3) for v in many("template_type", "template_type[]")
        ),
        action_type=_int(action_type, "action_type", 0, 10) if action_type else None,
        drone_model_keys=tuple(many("drone_model_keys", "drone_model_keys[]", "drone_model_key")),
        payload_model_keys=tuple(
            many("payload_model_key", "payload_model_key[]", "payload_model_keys")
        ),
        key=query.get("key", ""),
    )


@routes.get(BASE + "/waylines")
async def list_waylines(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    query = parse_query(request.query)
    rows, total = await library(station).search(ws, query)
    return ok(
        {
            "list": [to_pilot(r) for r in rows],
            "pagination": {"page": query.page, "page_size": query.page_size, "total": total},
        }
    )


@routes.get(BASE + "/waylines/duplicate-names")
async def duplicate_names(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    names = request.query.getall("name", []) + request.query.getall("name[]", [])
    return ok(await library(station).duplicate_names(ws, names))


@routes.get(BASE + "/waylines/{wayline_id}/url")
async def wayline_url(request: web.Request) -> web.StreamResponse:
    station, _, ws = await member(request)
    lib = library(station)
    try:
        row = await lib.get(ws, request.match_info["wayline_id"])
    except WaylineError as exc:
        return refused(request, exc)
    raise web.HTTPFound(lib.url(row, REDIRECT_TTL_S))


@routes.delete(BASE + "/waylines/{wayline_id}")
async def delete_wayline(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    try:
        await library(station).delete(ws, request.match_info["wayline_id"])
    except WaylineError as exc:
        return refused(request, exc)
    return ok()


@routes.put(BASE + "/waylines/{wayline_id}")
async def rename_wayline(request: web.Request) -> web.Response:
    """Rename (our addition to the console API): body `{"name": "..."}`."""
    station, _, ws = await member(request)
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        raise ApiError(400, 'give the new name: {"name": "..."}')
    try:
        row = await library(station).rename(ws, request.match_info["wayline_id"], name)
    except WaylineError as exc:
        return refused(request, exc)
    return ok(to_pilot(row))


@routes.post(BASE + "/upload-callback")
async def upload_callback(request: web.Request) -> web.Response:
    """Pilot put a KMZ in the bucket with its STS credentials (§8.2 #14)."""
    station, who, ws = await member(request)
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    object_key, name = body.get("object_key"), body.get("name")
    if not isinstance(object_key, str) or not object_key:
        raise ApiError(400, "'object_key' is missing")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "'name' is missing")
    if not object_key.startswith(f"pilot/{ws}/"):
        raise ApiError(403, "the object is not in this workspace's upload folder")
    try:
        await library(station).register_object(
            object_key, workspace_id=ws, name=name, author=who.user.username
        )
    except WaylineError as exc:
        return refused(request, exc)
    return ok({})


def _ids(request: web.Request) -> list[str]:
    ids = request.query.getall("id", []) + request.query.getall("id[]", [])
    if not ids:
        raise ApiError(400, "name at least one wayline: ?id=...")
    return ids


@routes.post(BASE + "/favorites")
async def add_favorites(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    await library(station).set_favorited(ws, _ids(request), True)
    return ok({})


@routes.delete(BASE + "/favorites")
async def remove_favorites(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    await library(station).set_favorited(ws, _ids(request), False)
    return ok({})


@routes.post(BASE + "/waylines/file/upload")
async def upload_file(request: web.Request) -> web.Response:
    """Multipart KMZ import (§8.4): the part named `file` (or the first file part)."""
    station, who, ws = await member(request)
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError) as exc:
        raise ApiError(400, "send the KMZ as multipart/form-data (field 'file')") from exc
    filename = data = None
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.filename is None:
            continue
        filename = part.filename
        chunks = []
        size = 0
        while chunk := await part.read_chunk(256 * 1024):
            size += len(chunk)
            if size > MAX_KMZ_BYTES:
                raise ApiError(413, f"the file is larger than {MAX_KMZ_BYTES} bytes")
            chunks.append(chunk)
        data = b"".join(chunks)
        break
    if filename is None or data is None:
        raise ApiError(400, "no file in the upload (multipart field 'file')")
    if not filename.lower().endswith(".kmz"):
        raise ApiError(400, f"{filename} is not a .kmz file")
    try:
        imported = await library(station).import_kmz(
            data, filename=filename, workspace_id=ws, author=who.user.username
        )
    except WaylineError as exc:
        return refused(request, exc)
    return ok(
        {
            **to_pilot(imported.row),
            "warnings": [f.to_dict() for f in imported.findings],
        }
    )


# -- flight tasks ---------------------------------------------------------------------------


def mission_refused(request: web.Request, exc: MissionError, **data: Any) -> web.Response:
    body = {"code": exc.code, "message": exc.en, "data": {"message_zh": exc.zh, **data}}
    status = http_status(request, exc.status)
    return web.json_response(body, status=status, dumps=lambda d: orjson.dumps(d).decode())


def missions(station: Station) -> Missions:
    try:
        return station.capability(Missions)
    except LookupError as exc:
        raise ApiError(404, "this station does not run flight tasks") from exc


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


@routes.post(BASE + "/flight-tasks")
async def create_flight_task(request: web.Request) -> web.Response:
    station, who, ws = await member(request)
    missions(station)  # 404 on a station without flight tasks
    try:
        guard = station.capability(AreaGuard)
    except LookupError as exc:
        raise ApiError(404, "this station does not check routes against flight areas") from exc
    try:
        body = await _body(request)
        req = task_from_json(body)
        made, warnings = await guard.plan_task(
            ws, req, confirmed=body.get("confirmed") is True, actor=f"api:{who.user.username}"
        )
    except RouteCrossesAreas as exc:  # issue 14: the route crosses enabled flight areas
        return mission_refused(request, exc, area_warnings=[w.to_json() for w in exc.warnings])
    except MissionError as exc:
        return mission_refused(request, exc)
    area_warnings = {"area_warnings": [w.to_json() for w in warnings]}
    if isinstance(made, PlanRow):
        return ok(plan_to_json(made) | area_warnings)
    return ok(task_to_json(made) | area_warnings)


@routes.get(BASE + "/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    query = request.query
    page = _int(query.get("page", "1"), "page", 1, 10**6)
    page_size = _int(query.get("page_size", "50"), "page_size", 1, MAX_PAGE_SIZE)
    rows, total = await missions(station).tasks(
        ws,
        dock_sn=query.get("dock_sn") or None,
        statuses=tuple(query.getall("status", [])),
        page=page,
        page_size=page_size,
    )
    plans = [plan_to_json(p) for p in await missions(station).plans() if p.workspace_id == ws]
    return ok(
        {
            "list": [task_to_json(r) for r in rows],
            "plans": plans,
            "pagination": {"page": page, "page_size": page_size, "total": total},
        }
    )


@routes.delete(BASE + "/jobs")
async def cancel_jobs(request: web.Request) -> web.Response:
    station, who, ws = await member(request)
    ids = request.query.getall("job_id", []) + request.query.getall("job_id[]", [])
    if not ids:
        raise ApiError(400, "name at least one task: ?job_id=...")
    try:
        done = await missions(station).cancel(ws, ids, actor=f"api:{who.user.username}")
    except MissionError as exc:
        return mission_refused(request, exc)
    return ok({"canceled": done})


@routes.put(BASE + "/jobs/{job_id}")
async def pause_or_resume(request: web.Request) -> web.Response:
    station, who, ws = await member(request)
    status = (await _body(request)).get("status")
    m = missions(station)
    job_id = request.match_info["job_id"]
    actor = f"api:{who.user.username}"
    try:
        task = await m.task(job_id)
        if task.workspace_id != ws:
            raise ApiError(404, f"no flight task {job_id} in this workspace")
        if status in (0, "pause", "paused"):
            await m.pause(job_id, actor=actor)
        elif status in (1, "resume", "recovery"):
            await m.resume(job_id, actor=actor)
        else:
            raise ApiError(400, "'status' must be 0 (pause) or 1 (resume)")
    except MissionError as exc:
        return mission_refused(request, exc)
    return ok({})


@routes.post(BASE + "/jobs/{job_id}/breakpoint-resume")
async def breakpoint_resume(request: web.Request) -> web.Response:
    """Fly an interrupted task again from its break point, as a new task (our addition)."""
    station, who, ws = await member(request)
    try:
        task = await missions(station).resume_from_breakpoint(
            ws, request.match_info["job_id"], actor=f"api:{who.user.username}"
        )
    except MissionError as exc:
        return mission_refused(request, exc)
    return ok(task_to_json(task))


@routes.post(BASE + "/jobs/{job_id}/media-highest")
async def media_highest(request: web.Request) -> web.Response:
    """Upload this flight's media first (`upload_flighttask_media_prioritize`, §8.4)."""
    station, who, ws = await member(request)
    try:
        await missions(station).media_first(
            ws, request.match_info["job_id"], actor=f"api:{who.user.username}"
        )
    except MissionError as exc:
        return mission_refused(request, exc)
    return ok({})


class FlightTaskFeed:
    """Pushes task changes to the task's workspace on the WebSocket while alive (`biz_code`
    `flighttask_progress`, the event's shape: `{sn, bid, result, output{status, progress{
    current_step, percent}, ext{flight_id, current_waypoint_index, wayline_mission_state,
    media_count, break_point}}, message, message_zh, name}`)."""

    def __init__(self, station: Station, hub: WsHub) -> None:
        self.hub = hub
        self._unsubscribe: Callable[[], None] = station.bus.subscribe(
            FlightTaskChanged, self.on_task
        )

    def close(self) -> None:
        self._unsubscribe()

    def on_task(self, e: FlightTaskChanged) -> None:
        if not self.hub.has_clients(e.workspace_id):
            return
        self.hub.publish(
            e.workspace_id,
            "flighttask_progress",
            {
                "sn": e.dock_sn,
                "bid": e.task_id,
                "result": e.result or 0,
                "name": e.name,
                "message": e.message_en,
                "message_zh": e.message_zh,
                "output": {
                    "status": e.status,
                    "progress": {"current_step": e.step, "percent": e.percent},
                    "ext": {
                        "flight_id": e.task_id,
                        "file_id": e.wayline_id,
                        "current_waypoint_index": e.waypoint_index,
                        "wayline_mission_state": e.mission_state,
                        "media_count": e.media_count,
                        "break_point": e.break_point,
                    },
                },
            },
        )


def setup(app: web.Application) -> None:
    """Add the routes and the WebSocket feed to the application."""
    app.add_routes(routes)
    app.cleanup_ctx.append(_feed_ctx)


async def _feed_ctx(app: web.Application) -> AsyncIterator[None]:
    feed = FlightTaskFeed(app[STATION], app[HUB])
    yield
    feed.close()
