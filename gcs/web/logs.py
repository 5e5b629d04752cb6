"""Remote logs over HTTP (§8.4 `manage` logs endpoints) and the `fileupload_progress`
WebSocket push (§9).

* `GET /manage/api/v1/workspaces/{ws}/devices/{sn}/logs?domain_list=0,3` — the log files the
  dock (3) and its aircraft (0) keep, by boot index: `{files: [{device_sn, module, result,
  list[{boot_index, start_time, end_time, size}]}]}` (asks the dock: `fileupload_list`).
* `POST /manage/api/v1/workspaces/{ws}/devices/{sn}/logs` — `{logs_information, happen_time,
  files: [{module, list: [{boot_index}]}]}`: starts the upload (`fileupload_start`), answers
  `{logs_id, bid, status}` once the dock accepted.
* `DELETE /manage/api/v1/workspaces/{ws}/devices/{sn}/logs` — `{status: "cancel",
  module_list}`: cancels (`fileupload_update`).
* `GET /manage/api/v1/workspaces/{ws}/devices/{sn}/logs-uploaded?page=&page_size=` — uploads.
* `DELETE /manage/api/v1/workspaces/{ws}/devices/{sn}/logs/{logs_id}` — forget an upload.
* `GET /manage/api/v1/workspaces/{ws}/logs/{logs_id}/url/{file_id}` — a presigned download URL
  of one archive (`file_id` = its module, "3" or "0").
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from aiohttp import web

from gcs.station.commands import CommandFailed, CommandRefused
from gcs.station.core import Station
from gcs.station.remote_logs import (
    LogSelection,
    LogsError,
    LogUploadChanged,
    LogUploadRow,
    RemoteLogs,
)
from gcs.web.auth import Caller, caller
from gcs.web.control import failed_error, refused_error
from gcs.web.envelope import ApiError, json_body, ok
from gcs.web.keys import STATION
from gcs.web.ws import WsHub

routes = web.RouteTableDef()

MAX_PAGE_SIZE = 200


def _dock_of_workspace(request: web.Request, who: Caller) -> tuple[Station, str]:
    ws = request.match_info["workspace_id"]
    if ws != who.claims.workspace_id:
        raise ApiError(403, f"you are not a member of workspace {ws}")
    station = request.app[STATION]
    sn = request.match_info.get("device_sn", "")
    if sn:
        view = station.registry.view(sn)
        if view is None or not view.bound or view.workspace_id != ws:
            raise ApiError(404, f"device {sn} is not bound to your workspace")
    return station, sn


def file_json(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "file_id": f.get("file_id", ""),
        "device_sn": f.get("device_sn", ""),
        "module": f.get("module", ""),
        "key": f.get("object_key", ""),
        "boot_indexes": f.get("boot_indexes", []),
        "size": f.get("size", 0),
        "fingerprint": f.get("fingerprint", ""),
        "progress": {
            "progress": f.get("percent", 0),
            "status": f.get("status", ""),
            "result": f.get("result", 0),
            "upload_rate": f.get("upload_rate", 0),
            "finish_time": f.get("finish_time", 0),
        },
    }


#: The Demo web console's upload states (1 uploading, 2 done, 3 canceled, 4 failed).
DEMO_STATUS = {"ok": 2, "canceled": 3, "failed": 4, "rejected": 4, "timeout": 4}


def _local_time(ms: int | None) -> str | None:
    if not ms:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def upload_json(r: LogUploadRow) -> dict[str, Any]:
    """One upload as the Demo's web console reads it (`status` a number, times as local
    "yyyy-MM-dd HH:mm:ss", `logs_progress`, `device_logs`), plus the station's own fields
    (`upload_status` in words, `files` with their object keys, times in ms)."""
    return {
        "logs_id": r.id,
        "sn": r.gateway_sn,
        "bid": r.bid,
        "logs_information": r.note,
        "happen_time": _local_time(r.happen_time),
        "user_name": r.actor,
        "create_time": _local_time(r.created_at),
        "status": DEMO_STATUS.get(r.status, -1 if r.status in ("interrupted",) else 1),
        "upload_status": r.status,
        "result": r.result,
        "create_time_ms": r.created_at,
        "update_time_ms": r.updated_at,
        "logs_progress": [
            {
                "device_sn": f.get("device_sn", ""),
                "device_model_domain": f.get("module", ""),
                "progress": int(float(f.get("percent") or 0)),
                "result": f.get("result", 0),
                "upload_rate": f.get("upload_rate", 0),
                "status": f.get("status") or r.status,
            }
            for f in r.files
        ],
        "device_logs": {
            "files": [
                {
                    "device_sn": f.get("device_sn", ""),
                    "module": f.get("module", ""),
                    "list": [{"boot_index": i} for i in f.get("boot_indexes", [])],
                }
                for f in r.files
            ]
        },
        "files": [file_json(f) for f in r.files],
    }


@routes.get("/manage/api/v1/workspaces/{workspace_id}/devices/{device_sn}/logs")
async def list_device_logs(request: web.Request) -> web.Response:
    who = await caller(request)
    station, sn = _dock_of_workspace(request, who)
    raw = ",".join(request.query.getall("domain_list", [])) or "0,3"
    modules = [m.strip() for m in raw.split(",") if m.strip()]
    try:
        found = await station.capability(RemoteLogs).list_files(
            sn, modules, actor=f"api:{who.user.username}"
        )
    except CommandRefused as exc:
        raise refused_error(exc) from exc
    except CommandFailed as exc:
        raise failed_error(exc) from exc
    return ok(
        {
            "files": [
                {
                    "device_sn": d.device_sn,
                    "module": d.module,
                    "result": d.result,
                    "list": [
                        {
                            "boot_index": b.boot_index,
                            "start_time": b.start_time,
                            "end_time": b.end_time,
                            "size": b.size,
                        }
                        for b in d.boots
                    ],
                }
                for d in found
            ]
        }
    )


def _selections(body: dict[str, Any]) -> list[LogSelection]:
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise ApiError(400, "name the logs: files: [{module, list: [{boot_index}]}]")
    out = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("list"), list):
            raise ApiError(400, "each file needs 'module' and 'list': [{boot_index}]")
        indexes = []
        for b in f["list"]:
            index = b.get("boot_index") if isinstance(b, dict) else None
            if not isinstance(index, int) or isinstance(index, bool):
                raise ApiError(400, "boot_index must be a whole number")
            indexes.append(index)
        out.append(LogSelection(str(f.get("module", "")), tuple(indexes)))
    return out


@routes.post("/manage/api/v1/workspaces/{workspace_id}/devices/{device_sn}/logs")
async def start_logs_upload(request: web.Request) -> web.Response:
    who = await caller(request)
    station, sn = _dock_of_workspace(request, who)
    body = await json_body(request)
    happen = body.get("happen_time")
    try:
        row = await station.capability(RemoteLogs).start_upload(
            sn,
            _selections(body),
            note=str(body.get("logs_information") or ""),
            happen_time=happen if isinstance(happen, int) else None,
            actor=f"api:{who.user.username}",
        )
    except CommandRefused as exc:
        raise refused_error(exc) from exc
    except CommandFailed as exc:
        raise failed_error(exc) from exc
    return ok(upload_json(row))


@routes.delete("/manage/api/v1/workspaces/{workspace_id}/devices/{device_sn}/logs")
async def cancel_logs_upload(request: web.Request) -> web.Response:
    who = await caller(request)
    station, sn = _dock_of_workspace(request, who)
    body = await json_body(request)
    if body.get("status", "cancel") != "cancel":
        raise ApiError(400, 'only {"status": "cancel"} is supported (DJI offers no pause)')
    modules = body.get("module_list")
    try:
        await station.capability(RemoteLogs).cancel(
            sn,
            [str(m) for m in modules] if isinstance(modules, list) and modules else None,
            actor=f"api:{who.user.username}",
        )
    except CommandRefused as exc:
        raise refused_error(exc) from exc
    except CommandFailed as exc:
        raise failed_error(exc) from exc
    return ok()


@routes.get("/manage/api/v1/workspaces/{workspace_id}/devices/{device_sn}/logs-uploaded")
async def uploaded_logs(request: web.Request) -> web.Response:
    who = await caller(request)
    station, sn = _dock_of_workspace(request, who)
    try:
        page = max(1, int(request.query.get("page", "1")))
        size = min(MAX_PAGE_SIZE, max(1, int(request.query.get("page_size", "20"))))
    except ValueError as exc:
        raise ApiError(400, "'page' and 'page_size' must be whole numbers") from exc
    rows, total = await station.capability(RemoteLogs).uploads(
        sn, offset=(page - 1) * size, limit=size
    )
    return ok(
        {
            "list": [upload_json(r) for r in rows],
            "pagination": {"page": page, "page_size": size, "total": total},
        }
    )


@routes.delete("/manage/api/v1/workspaces/{workspace_id}/devices/{device_sn}/logs/{logs_id}")
async def delete_logs_upload(request: web.Request) -> web.Response:
    who = await caller(request)
    station, sn = _dock_of_workspace(request, who)
    logs = station.capability(RemoteLogs)
    row = await logs.upload(request.match_info["logs_id"])
    if row is None or row.gateway_sn != sn:
        raise ApiError(404, "no such log upload for this device")
    await logs.delete(row.id)
    return ok()


@routes.get("/manage/api/v1/workspaces/{workspace_id}/logs/{logs_id}/url/{file_id}")
async def logs_file_url(request: web.Request) -> web.Response:
    who = await caller(request)
    station, _ = _dock_of_workspace(request, who)
    logs = station.capability(RemoteLogs)
    row = await logs.upload(request.match_info["logs_id"])
    view = station.registry.view(row.gateway_sn) if row is not None else None
    if row is None or view is None or view.workspace_id != who.claims.workspace_id:
        raise ApiError(404, "no such log upload in your workspace")
    try:
        url = await logs.download_url(row.id, request.match_info["file_id"])
    except LogsError as exc:
        raise ApiError(404 if exc.code == 201404 else 409, exc.en, exc.code) from exc
    return ok(url)


class LogsFeed:
    """Pushes `fileupload_progress` (§9 web-console code) while alive: `{sn, bid, logs_id,
    result, output{status, ext{files[…]}}}`, one per change of an upload."""

    def __init__(self, station: Station, hub: WsHub) -> None:
        self.station = station
        self.hub = hub
        self._unsubscribe: Callable[[], None] = station.bus.subscribe(
            LogUploadChanged, self.on_upload
        )

    def close(self) -> None:
        self._unsubscribe()

    def on_upload(self, event: LogUploadChanged) -> None:
        r = event.upload
        view = self.station.registry.view(r.gateway_sn)
        ws = view.workspace_id if view is not None and view.bound else None
        if not self.hub.has_clients(ws):
            return
        self.hub.publish(
            ws,
            "fileupload_progress",
            {
                "sn": r.gateway_sn,
                "bid": r.bid,
                "logs_id": r.id,
                "result": r.result,
                "output": {"status": r.status, "ext": {"files": [file_json(f) for f in r.files]}},
            },
        )
