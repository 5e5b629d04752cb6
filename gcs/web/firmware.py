"""Firmware over HTTP (§8.4 `manage` firmwares and `devices/ota`) and the `ota_progress`
WebSocket push (§9).

* `GET /manage/api/v1/workspaces/{ws}/firmwares` — the library, with the Demo's filters
  `device_name`, `product_version`, `status` and paging: `{list, pagination}`.
* `POST /manage/api/v1/workspaces/{ws}/firmwares/file/upload` — multipart `file`, `device_name`
  (repeatable; a product name or model key), `product_version` (else read from the file name),
  `release_note`, `status` (true/false).
* `PUT /manage/api/v1/workspaces/{ws}/firmwares/{firmware_id}` — `{"status": bool}`.
* `GET /manage/api/v1/workspaces/{ws}/firmwares/devices` — the workspace's docks and aircraft
  with their version and the upgrade each needs (normal / consistency).
* `GET /manage/api/v1/workspaces/firmware-release-notes/latest?device_name=…` — the newest
  package per model.
* `POST /manage/api/v1/devices/{ws}/devices/ota` — `[{sn, product_version?,
  firmware_upgrade_type? (3 normal, 2 consistency)}]`: one `ota_create` per dock; answers each
  gateway's job (or why it was refused) once the devices have answered.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from gcs.protocol.models import model_name
from gcs.station.bus import CommandChanged
from gcs.station.core import Station
from gcs.station.firmware import (
    UPGRADE_TYPES,
    DeviceFirmware,
    Firmware,
    FirmwareError,
    FirmwareRow,
    OtaTarget,
    latest_for,
    parse_models,
    version_key,
)
from gcs.web.auth import Caller, caller
from gcs.web.envelope import ApiError, ok
from gcs.web.keys import STATION
from gcs.web.ws import WsHub

routes = web.RouteTableDef()

MAX_PAGE_SIZE = 500
_VERSION_IN_NAME = re.compile(r"(\d{2}\.\d{2}\.\d{4})")
_TYPE_WORDS = {v: k for k, v in UPGRADE_TYPES.items()}


def _workspace(request: web.Request, who: Caller) -> str:
    ws = request.match_info["workspace_id"]
    if ws != who.claims.workspace_id:
        raise ApiError(403, f"you are not a member of workspace {ws}")
    return ws


def _day(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%d")


def firmware_json(r: FirmwareRow) -> dict[str, Any]:
    return {
        "firmware_id": r.id,
        "file_name": r.file_name,
        "product_version": r.version,
        "file_size": r.size,
        "file_md5": r.md5,
        "device_name": [model_name(k) or k for k in r.models],
        "device_model_keys": list(r.models),
        "release_note": r.release_note,
        "released_time": _day(r.imported_at),
        "firmware_status": r.enabled,
        "username": r.imported_by,
        "create_time": r.imported_at,
    }


def device_json(d: DeviceFirmware) -> dict[str, Any]:
    return {
        "sn": d.sn,
        "gateway_sn": d.gateway_sn,
        "device_model_key": d.model_key,
        "device_name": d.model_name,
        "nickname": d.callsign,
        "online": d.online,
        "firmware_version": d.version,
        "compatible_status": d.compatible_status,
        "firmware_upgrade_status": int(d.upgrading),
        "latest_version": d.latest.version if d.latest is not None else "",
        "need": d.need,
        "firmware_upgrade_type": d.upgrade_type,
    }


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(400, f"'{name}' must be a whole number") from exc


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


@routes.get("/manage/api/v1/workspaces/firmware-release-notes/latest")
async def release_notes(request: web.Request) -> web.Response:
    await caller(request)
    station = request.app[STATION]
    names = [n for v in request.query.getall("device_name", []) for n in v.split(",") if n]
    try:
        keys = parse_models(names) if names else ()
    except FirmwareError as exc:
        raise ApiError(400, exc.en) from exc
    rows = await station.capability(Firmware).library()
    wanted = keys or tuple(sorted({k for r in rows for k in r.models}))
    notes = []
    for key in wanted:
        latest = latest_for(rows, key)
        if latest is not None:
            notes.append(
                {
                    "device_name": model_name(key) or key,
                    "device_model_key": key,
                    "product_version": latest.version,
                    "released_time": _day(latest.imported_at),
                    "release_note": latest.release_note,
                }
            )
    return ok(notes)


@routes.get("/manage/api/v1/workspaces/{workspace_id}/firmwares")
async def list_firmwares(request: web.Request) -> web.Response:
    who = await caller(request)
    _workspace(request, who)
    rows = await request.app[STATION].capability(Firmware).library()
    name = request.query.get("device_name", "")
    if name:
        try:
            keys = set(parse_models([name]))
        except FirmwareError as exc:
            raise ApiError(400, exc.en) from exc
        rows = [r for r in rows if keys & set(r.models)]
    version = request.query.get("product_version", "")
    if version:
        rows = [r for r in rows if version in r.version]
    status = request.query.get("status", "")
    # DJI's web console sends its filter's enum keys: All (or nothing), TRUE, FALSE, NONE.
    if status and status.lower() not in ("all", "none"):
        rows = [r for r in rows if r.enabled == _bool(status)]
    rows.sort(key=lambda r: (version_key(r.version), r.imported_at), reverse=True)
    page = max(1, _int(request, "page", 1))
    size = min(MAX_PAGE_SIZE, max(1, _int(request, "page_size", 50)))
    chunk = rows[(page - 1) * size : page * size]
    return ok(
        {
            "list": [firmware_json(r) for r in chunk],
            "pagination": {"page": page, "page_size": size, "total": len(rows)},
        }
    )


@routes.get("/manage/api/v1/workspaces/{workspace_id}/firmwares/devices")
async def firmware_devices(request: web.Request) -> web.Response:
    who = await caller(request)
    ws = _workspace(request, who)
    devices = await request.app[STATION].capability(Firmware).devices(ws)
    return ok({"list": [device_json(d) for d in devices]})


async def _save_part(part: BodyPartReader, folder: Path) -> Path:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, lambda: folder.mkdir(parents=True, exist_ok=True))
    fd, name = await loop.run_in_executor(
        None, lambda: tempfile.mkstemp(prefix="upload-", dir=folder)
    )
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            while chunk := await part.read_chunk(1 << 20):
                await loop.run_in_executor(None, f.write, chunk)
    except BaseException:  # cut off or cancelled: no executor hop while unwinding
        path.unlink(missing_ok=True)  # noqa: ASYNC240
        raise
    return path


@routes.post("/manage/api/v1/workspaces/{workspace_id}/firmwares/file/upload")
async def upload_firmware(request: web.Request) -> web.Response:
    who = await caller(request)
    _workspace(request, who)
    station = request.app[STATION]
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "send the package as multipart/form-data with a 'file' part")
    fields: dict[str, list[str]] = {}
    saved: Path | None = None
    file_name = ""
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "file":
                file_name = Path(part.filename or "firmware.bin").name
                saved = await _save_part(part, station.data_dir / "tmp")
            elif part.name:
                value = (await part.read(decode=True)).decode("utf-8", "replace")
                fields.setdefault(part.name, []).append(value)
        if saved is None:
            raise ApiError(400, "no 'file' part: attach the firmware package")
        version = (fields.get("product_version") or [""])[0]
        if not version:
            found = _VERSION_IN_NAME.search(file_name)
            if found is None:
                raise ApiError(400, "give 'product_version' (the file name does not say it)")
            version = found.group(1)
        status = (fields.get("status") or ["true"])[0]
        try:
            row = await station.capability(Firmware).import_package(
                saved,
                models=fields.get("device_name", []) + fields.get("device_model_key", []),
                version=version,
                release_note=(fields.get("release_note") or [""])[0],
                file_name=file_name,
                enabled=_bool(status),
                actor=f"api:{who.user.username}",
            )
        except FirmwareError as exc:
            raise ApiError(400, exc.en, exc.code) from exc
    finally:
        if saved is not None:
            await asyncio.get_running_loop().run_in_executor(None, saved.unlink, True)
    return ok(firmware_json(row))


@routes.put("/manage/api/v1/workspaces/{workspace_id}/firmwares/{firmware_id}")
async def change_firmware(request: web.Request) -> web.Response:
    who = await caller(request)
    _workspace(request, who)
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(status, bool):
        raise ApiError(400, 'send {"status": true|false}')
    fw = request.app[STATION].capability(Firmware)
    if not await fw.set_enabled(request.match_info["firmware_id"], status):
        raise ApiError(404, "no firmware with that id in the library")
    return ok()


@routes.post("/manage/api/v1/devices/{workspace_id}/devices/ota")
async def create_ota(request: web.Request) -> web.Response:
    who = await caller(request)
    ws = _workspace(request, who)
    station = request.app[STATION]
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    items = body.get("devices") if isinstance(body, dict) else body
    if not isinstance(items, list) or not items:
        raise ApiError(
            400, "send a list of devices: [{sn, product_version?, firmware_upgrade_type?}]"
        )
    targets = []
    for item in items:
        sn = item.get("sn") if isinstance(item, dict) else None
        if not isinstance(sn, str) or not sn:
            raise ApiError(400, "every device needs its 'sn'")
        view = station.registry.view(sn)
        if view is None or not view.bound or view.workspace_id != ws:
            raise ApiError(404, f"device {sn} is not bound to your workspace")
        kind = item.get("firmware_upgrade_type")
        if kind is not None and kind not in _TYPE_WORDS:
            raise ApiError(400, "firmware_upgrade_type is 3 (normal) or 2 (consistency)")
        version = item.get("product_version")
        targets.append(
            OtaTarget(
                sn,
                version if isinstance(version, str) and version else None,
                _TYPE_WORDS.get(kind) if kind is not None else None,
            )
        )
    results = await station.capability(Firmware).upgrade(targets, actor=f"api:{who.user.username}")
    data = [
        {
            "sn": r.gateway_sn,
            "devices": list(r.devices),
            "job_id": r.job_id,
            "bid": r.bid,
            "status": r.status,
            "result": r.code,
            "message": r.message_en,
            "message_zh": r.message_zh,
        }
        for r in results
    ]
    failed = [r for r in results if r.job_id is None or r.code]
    if failed:
        first = failed[0]
        # a web-console endpoint: HTTP 200 with the code, as DJI's backend answers (console.py)
        return web.json_response(
            {"code": first.code or 1, "message": first.message_en, "data": data}
        )
    return ok(data)


#: How an upgrade job may end (CommandChanged statuses after which nothing follows).
ENDED = frozenset({"ok", "failed", "canceled", "timeout", "rejected", "interrupted"})


class OtaFeed:
    """Pushes `ota_progress` (§9 web-console code) for every upgrade job while alive, one per
    device the job upgrades (DJI's backend does so: the web console marks the row whose
    `device_sn` is `sn`, a dock's or its aircraft's): `{sn, bid, job_id, result, output{status,
    progress{percent, current_step}}}`."""

    def __init__(self, station: Station, hub: WsHub) -> None:
        self.station = station
        self.hub = hub
        self._devices: dict[str, tuple[str, ...]] = {}
        self._unsubscribe: Callable[[], None] = station.bus.subscribe(
            CommandChanged, self.on_command
        )

    def close(self) -> None:
        self._unsubscribe()

    def _devices_of(self, event: CommandChanged) -> tuple[str, ...]:
        known = self._devices.get(event.job_id)
        if known is not None:
            return known
        job = self.station.commands.job(event.job_id)
        data = job.data if job is not None else None
        items = data.get("devices") if isinstance(data, dict) else None
        sns = tuple(str(d["sn"]) for d in items or () if isinstance(d, dict) and d.get("sn")) or (
            event.gateway_sn,
        )
        self._devices[event.job_id] = sns
        return sns

    def on_command(self, event: CommandChanged) -> None:
        if event.method != "ota_create" or event.status in ("refused", "sent"):
            return
        sns = self._devices_of(event)
        if event.status in ENDED:
            self._devices.pop(event.job_id, None)
        view = self.station.registry.view(event.gateway_sn)
        ws = view.workspace_id if view is not None and view.bound else None
        if not self.hub.has_clients(ws):
            return
        for sn in sns:
            self.hub.publish(
                ws,
                "ota_progress",
                {
                    "sn": sn,
                    "bid": event.bid,
                    "job_id": event.job_id,
                    "result": event.result or 0,
                    "message": event.message_en,
                    "output": {
                        "status": event.status,
                        "progress": {"percent": event.percent, "current_step": event.step},
                    },
                },
            )
