"""Pilot 2's media module (protocol §8.2 #7–#10) and the media API for integrators (§8.4).

Pilot:
* `POST /media/api/v1/workspaces/{ws}/fast-upload` — code 0 when the workspace already holds a
  file with that fingerprint (Pilot then skips the upload), else code -1 (as the Demo).
* `POST /media/api/v1/workspaces/{ws}/files/tiny-fingerprints` — those the library holds.
* `POST /media/api/v1/workspaces/{ws}/upload-callback` — catalogue one uploaded file; the
  object key must be in the workspace's Pilot folder (`pilot/{ws}/`, see `manage` /sts).
* `POST /media/api/v1/workspaces/{ws}/group-upload-callback` — end of a media group.

Integrators:
* `GET /media/api/v1/files/{ws}/files` — paging (`page`, `page_size`), filters (`device_sn`,
  `flight_id`, `begin_time`/`end_time` ms, `type` photo/video, `lens`, `name`) and `order_by`
  in DJI's form (as the wayline list, §8.2 #11: `create_time desc`, `name asc`, `size desc`,
  `device_sn asc`, comma-joined; newest first by default).
* `GET /media/api/v1/files/{ws}/file/{file_id}/url` — 302 to a presigned GET valid 5 minutes.
* `DELETE /media/api/v1/files/{ws}/file/{file_id}` — the object, its thumbnail and its row
  (administrators only).

WebSocket: `file_upload_callback` (a catalogued file) and
`highest_priority_upload_flighttask_media` to the workspace (`MediaFeed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from gcs.station.core import Station
from gcs.station.media import (
    Media,
    MediaChanged,
    MediaPriority,
    MediaQuery,
    MediaRefused,
    MediaRow,
    order_clause,
)
from gcs.web.auth import Caller, caller
from gcs.web.envelope import ApiError, json_body, ok
from gcs.web.keys import STATION
from gcs.web.ws import WsHub

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

MAX_PAGE_SIZE = 500
MAX_TINY = 10_000


def media_json(r: MediaRow) -> dict[str, Any]:
    return {
        "file_id": str(r.id),
        "file_name": r.name,
        "file_path": r.path,
        "object_key": r.object_key,
        "size": r.size,
        "fingerprint": r.fingerprint,
        "tinny_fingerprint": r.tiny_fingerprint,
        "sub_file_type": r.sub_file_type,
        "is_original": r.is_original,
        "drone": r.drone_model_key,
        "payload": r.payload_model_key,
        "device_sn": r.device_sn,
        "job_id": r.flight_id,
        "file_group_id": r.file_group_id,
        "type": r.kind,
        "lens": r.lens,
        "create_time": r.create_time,
        "update_time": r.updated_at,
        "status": r.status,
        "note": r.note,
        "metadata": {
            "shoot_position": {"lat": r.lat, "lng": r.lng},
            "absolute_altitude": r.absolute_altitude,
            "relative_altitude": r.relative_altitude,
            "gimbal_yaw_degree": r.gimbal_yaw,
            "gimbal_pitch_degree": r.gimbal_pitch,
            "aircraft_yaw_degree": r.aircraft_yaw,
            "aircraft_pitch_degree": r.aircraft_pitch,
            "camera_model": r.camera_model,
            "width": r.width,
            "height": r.height,
            "duration_ms": r.duration_ms,
            "codec": r.codec,
        },
        "has_thumbnail": bool(r.thumbnail_key),
        "has_track": bool(r.track),
    }


def _workspace(request: web.Request, who: Caller) -> str:
    ws = request.match_info["workspace_id"]
    if ws != who.claims.workspace_id:
        raise ApiError(403, f"you are not a member of workspace {ws}")
    return ws


def _media(request: web.Request) -> Media:
    return request.app[STATION].capability(Media)


def _int(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(400, f"'{name}' must be a whole number") from exc


# -- Pilot 2 -------------------------------------------------------------------------------


@routes.post("/media/api/v1/workspaces/{workspace_id}/fast-upload")
async def fast_upload(request: web.Request) -> web.Response:
    who = await caller(request)
    ws = _workspace(request, who)
    body = await json_body(request)
    fingerprint = body.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint.strip():
        raise ApiError(400, "'fingerprint' (the file's MD5) is required")
    if await _media(request).has_fingerprint(ws, fingerprint.strip().lower()):
        log.info("fast-upload: %s already in workspace %s", fingerprint, ws)
        return ok()
    # As the Demo: any non-zero code makes Pilot upload the file.
    return web.json_response(
        {"code": -1, "message": "the file is not in the library yet; upload it", "data": {}}
    )


@routes.post("/media/api/v1/workspaces/{workspace_id}/files/tiny-fingerprints")
async def tiny_fingerprints(request: web.Request) -> web.Response:
    who = await caller(request)
    ws = _workspace(request, who)
    body = await json_body(request)
    tiny = body.get("tiny_fingerprints")
    if not isinstance(tiny, list) or not all(isinstance(t, str) for t in tiny):
        raise ApiError(400, "'tiny_fingerprints' must be a list of strings")
    if len(tiny) > MAX_TINY:
        raise ApiError(413, f"at most {MAX_TINY} tiny fingerprints per request")
    return ok({"tiny_fingerprints": await _media(request).known_tiny(ws, tiny)})


@routes.post("/media/api/v1/workspaces/{workspace_id}/upload-callback")
async def upload_callback(request: web.Request) -> web.Response:
    who = await caller(request)
    ws = _workspace(request, who)
    body = await json_body(request)
    if body.get("result", 0) not in (0, None):
        log.warning("Pilot %s reports a failed upload: %r", who.user.username, body.get("result"))
        raise ApiError(400, f"the upload failed on Pilot (result {body.get('result')!r})")
    ext = body.get("ext")
    sn = ext.get("sn") if isinstance(ext, dict) and isinstance(ext.get("sn"), str) else ""
    try:
        row = await _media(request).report(
            body,
            source="pilot",
            device_sn=sn or who.user.username,
            workspace_id=ws,
            folder=f"pilot/{ws}/",
        )
    except MediaRefused as exc:
        raise ApiError(400, f"{exc.en} / {exc.zh}") from exc
    return ok(row.object_key)


@routes.post("/media/api/v1/workspaces/{workspace_id}/group-upload-callback")
async def group_upload_callback(request: web.Request) -> web.Response:
    who = await caller(request)
    ws = _workspace(request, who)
    body = await json_body(request)
    log.info(
        "Pilot %s finished media group %r in %s: %r of %r files",
        who.user.username,
        body.get("file_group_id"),
        ws,
        body.get("file_uploaded_count"),
        body.get("file_count"),
    )
    return ok()


# -- integrators ---------------------------------------------------------------------------


@routes.get("/media/api/v1/files/{workspace_id}/files")
async def list_files(request: web.Request) -> web.Response:
    who = await caller(request)
    ws = _workspace(request, who)
    page = max(1, _int(request, "page", 1) or 1)
    size = min(MAX_PAGE_SIZE, max(1, _int(request, "page_size", 50) or 50))
    sns = tuple(s for v in request.query.getall("device_sn", []) for s in v.split(",") if s)
    query = MediaQuery(
        workspace_id=ws,
        device_sns=sns,
        flight_id=request.query.get("flight_id", "") or request.query.get("job_id", ""),
        since_ms=_int(request, "begin_time"),
        until_ms=_int(request, "end_time"),
        kind=request.query.get("type", ""),
        lens=request.query.get("lens", ""),
        name=request.query.get("name", ""),
        offset=(page - 1) * size,
        limit=size,
        order_by=request.query.get("order_by", "") or "create_time desc",
    )
    try:
        order_clause(query.order_by)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    rows, total = await _media(request).query(query)
    return ok(
        {
            "list": [media_json(r) for r in rows],
            "pagination": {"page": page, "page_size": size, "total": total},
        }
    )


async def _file(request: web.Request) -> tuple[Media, MediaRow]:
    who = await caller(request)
    ws = _workspace(request, who)
    try:
        file_id = int(request.match_info["file_id"])
    except ValueError as exc:
        raise ApiError(404, "no such file") from exc
    media = _media(request)
    row = await media.get(file_id)
    if row is None or row.workspace_id != ws:
        raise ApiError(404, f"no file {file_id} in workspace {ws}")
    return media, row


@routes.get("/media/api/v1/files/{workspace_id}/file/{file_id}/url")
async def file_url(request: web.Request) -> web.StreamResponse:
    media, row = await _file(request)
    if row.status != "ok":
        raise ApiError(404, f"{row.name} is not in the store: {row.note}")
    thumb = request.query.get("thumbnail") in ("1", "true")
    if thumb and not row.thumbnail_key:
        raise ApiError(404, f"{row.name} has no thumbnail")
    raise web.HTTPFound(media.download_url(row, thumbnail=thumb))


@routes.delete("/media/api/v1/files/{workspace_id}/file/{file_id}")
async def delete_file(request: web.Request) -> web.Response:
    who = await caller(request)
    if who.user.role != "admin":
        raise ApiError(403, "only an administrator may delete media / 只有管理员可以删除媒体文件")
    media, row = await _file(request)
    try:
        await media.delete(row.id, actor="api")
    except OSError as exc:
        raise ApiError(502, str(exc)) from exc
    return ok()


class MediaFeed:
    """Pushes catalogued files and upload priority changes to the device's workspace."""

    def __init__(self, station: Station, hub: WsHub) -> None:
        self.station = station
        self.hub = hub
        self._off: list[Callable[[], None]] = [
            station.bus.subscribe(MediaChanged, self.on_media),
            station.bus.subscribe(MediaPriority, self.on_priority),
        ]

    def close(self) -> None:
        for off in self._off:
            off()

    def on_media(self, event: MediaChanged) -> None:
        if event.change != "added" or not self.hub.has_clients(event.item.workspace_id):
            return
        self.hub.publish(event.item.workspace_id, "file_upload_callback", media_json(event.item))

    def on_priority(self, event: MediaPriority) -> None:
        if self.hub.has_clients(event.workspace_id):
            self.hub.publish(
                event.workspace_id,
                "highest_priority_upload_flighttask_media",
                {"sn": event.gateway_sn, "job_id": event.flight_id},
            )
