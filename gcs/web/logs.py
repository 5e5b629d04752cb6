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

from collections.abc import Callable
from typing import Any

from aiohttp import web

from gcs.station.commands import CommandFailed, CommandRefused
from gcs.station.core import Station
from gcs.station.onboarding import Onboarding
from gcs.station.remote_logs import (
    BootLog,
    LogSelection,
    LogsError,
    LogUploadChanged,
    LogUploadRow,
    RemoteLogs,
)
from gcs.web import topology
from gcs.web.auth import Caller, caller
from gcs.web.control import failed_error, refused_error
from gcs.web.envelope import ApiError, json_body, local_time, ok
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
    """One file of an upload with the station's own detail (object key, boots, progress)."""
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


#: The Demo web console's upload states (1 uploading, 2 done, 3 canceled, 4 failed), from the
#: dock's statuses (DJI backend: DeviceLogsStatusEnum).
DEMO_STATUS = {
    "ok": 2,
    "canceled": 3,
    "failed": 4,
    "rejected": 4,
    "timeout": 4,
    "interrupted": 4,
    "refused": 4,
}

#: Upload statuses in the words the demo web console knows (its DeviceLogUploadStatus:
#: file_pull, file_zip, file_uploading, ok, failed, canceled, timeout); the dock's other words
#: and the station's own ones are mapped onto them (an unknown word blanks its status column).
WEB_STATUS = {
    "": "file_pull",
    "sent": "file_pull",
    "in_progress": "file_uploading",
    "paused": "file_uploading",
    "rejected": "failed",
    "interrupted": "failed",
    "refused": "failed",
}


def web_status(status: str) -> str:
    return WEB_STATUS.get(status, status)


def file_percent(f: dict[str, Any]) -> int:
    """A file's progress over all its steps, as DJI's backend computes it:
    ((current_step - 1) * 100 + progress) / total_step; 100 once uploaded."""
    if f.get("status") == "ok":
        return 100
    percent = f.get("percent") or 0
    step, steps = f.get("current_step"), f.get("total_step")
    if isinstance(step, int) and isinstance(steps, int) and steps > 0 and 1 <= step <= steps:
        return int(((step - 1) * 100 + float(percent)) / steps)
    return int(float(percent))


def progress_json(f: dict[str, Any], upload_status: str) -> dict[str, Any]:
    """One file's progress as the web console reads it (DJI backend: LogsProgressDTO)."""
    return {
        "device_sn": f.get("device_sn", ""),
        "device_model_domain": f.get("module", ""),
        "progress": file_percent(f),
        "result": f.get("result", 0),
        "upload_rate": f.get("upload_rate", 0),
        "status": web_status(f.get("status") or upload_status),
    }


def _boot_json(b: Any) -> dict[str, Any]:
    return dict(b) if isinstance(b, dict) else {"boot_index": b}


def device_logs_json(r: LogUploadRow) -> dict[str, Any]:
    """The files of an upload (DJI backend: LogsFileUploadListDTO): per device its boots, and
    `file_id` / `object_key` to download it — the key only once the archive is uploaded (the
    web console enables its download button on it)."""
    files = []
    for f in r.files:
        boots = f.get("boots") or f.get("boot_indexes", [])
        entry: dict[str, Any] = {
            "device_sn": f.get("device_sn", ""),
            "module": f.get("module", ""),
            "file_id": f.get("file_id", ""),
            "list": [_boot_json(b) for b in boots],
        }
        if f.get("status") == "ok":
            entry["object_key"] = f.get("object_key", "")
        files.append(entry)
    return {"files": files}


def device_topo(station: Station, gateway_sn: str) -> dict[str, Any] | None:
    """The gateway (`parents`) and its aircraft (`hosts`) as topology entries (§8.2 #1)."""
    registry = station.registry
    view = registry.view(gateway_sn)
    if view is None:
        return None
    icons = station.settings.pilot.device_icons
    user_of = station.capability(Onboarding).user_of_rc
    hosts = [registry.view(sn) for sn in view.sub_devices]
    return {
        "hosts": [topology.topo_entry(h, icons, user_of) for h in hosts if h is not None],
        "parents": [topology.topo_entry(view, icons, user_of)],
    }


def _user_name(actor: str) -> str:
    return actor.split(":", 1)[1] if actor.startswith("api:") else actor


def upload_json(r: LogUploadRow, station: Station | None = None) -> dict[str, Any]:
    """One upload as DJI's demo web console reads it (DJI backend: DeviceLogsDTO — `status` a
    number, times as local "yyyy-MM-dd HH:mm:ss", `user_name`, `device_topo`, `logs_progress`,
    `device_logs`; a time it does not know is left out), plus the station's own fields
    (`upload_status` in words, `files` with their object keys, times in ms)."""
    out: dict[str, Any] = {
        "logs_id": r.id,
        "sn": r.gateway_sn,
        "bid": r.bid,
        "logs_information": r.note,
        "user_name": _user_name(r.actor),
        "create_time": local_time(r.created_at),
        "update_time": local_time(r.updated_at),
        "status": DEMO_STATUS.get(r.status, 1),
        "upload_status": r.status,
        "result": r.result,
        "create_time_ms": r.created_at,
        "update_time_ms": r.updated_at,
        "logs_progress": [progress_json(f, r.status) for f in r.files],
        "device_logs": device_logs_json(r),
        "files": [file_json(f) for f in r.files],
    }
    if r.happen_time:
        out["happen_time"] = local_time(r.happen_time)
    topo = device_topo(station, r.gateway_sn) if station is not None else None
    if topo is not None:
        out["device_topo"] = topo
    return out


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
        boots = []
        for b in f["list"]:
            index = b.get("boot_index") if isinstance(b, dict) else None
            if not isinstance(index, int) or isinstance(index, bool):
                raise ApiError(400, "boot_index must be a whole number")
            indexes.append(index)
            times = [b.get(k) for k in ("start_time", "end_time", "size")]
            if all(isinstance(t, int) and not isinstance(t, bool) for t in times):
                boots.append(BootLog(index, *times))
        out.append(LogSelection(str(f.get("module", "")), tuple(indexes), tuple(boots)))
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
    return ok(upload_json(row, station))


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
            "list": [upload_json(r, station) for r in rows],
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
    """Pushes `fileupload_progress` (§9 web-console code) while alive, in DJI's backend shape
    (EventsReceiver of LogsOutputProgressDTO): `{sn, bid, result, output{logs_id, status,
    files[{device_sn, device_model_domain, progress, result, upload_rate, status}]}}`, statuses
    in the web console's words. Like DJI's backend it pushes what the dock reports (and the
    upload's end), not the station's own "sent"."""

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
        if r.status == "sent":
            return
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
                "result": r.result,
                "output": {
                    "logs_id": r.id,
                    "status": web_status(r.status),
                    "files": [progress_json(f, r.status) for f in r.files],
                },
            },
        )
