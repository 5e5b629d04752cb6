"""The wayline library (protocol §8.2 #11–#16, §13): KMZ routes a workspace can fly.

Every file comes through `gcs.wpml` (read, summarize, validate) before anything is stored: a file
with an error finding is refused with its findings (EN/ZH) and leaves nothing behind. A stored
wayline is a row in `waylines` (name, aircraft and payload model keys, template types, MD5
fingerprint, start point, length, estimated duration, author, times, favourite) plus its bytes in
the object store: files the station imports under `waylines/{workspace}/`, files Pilot 2 uploads
where Pilot put them (its STS folder), read back and checked on Pilot's upload callback.

Parsing and hashing run in an executor; the object store is reached through `Blobs`
(`gcs.station.storage.blobs`). Changes are announced as `WaylineLibraryChanged`; refusals as a
`LogEntry` too, so the operator sees them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from gcs.protocol.errors import StationCode
from gcs.station.bus import EventBus, LogEntry, WaylineLibraryChanged
from gcs.station.capability import Capability
from gcs.station.storage.blobs import BlobError, Blobs, PresignedBlobs
from gcs.store import waylines as q
from gcs.store.db import Store
from gcs.store.waylines import ORDER_COLUMNS, WaylineQuery, WaylineRow

__all__ = [
    "ORDER_COLUMNS",
    "WaylineError",
    "WaylineLibrary",
    "WaylineQuery",
    "WaylineRow",
    "Waylines",
]
from gcs.wpml import Finding, Inspection, Limits, inspect_kmz

if TYPE_CHECKING:
    from gcs.station.core import Station

log = logging.getLogger(__name__)

#: The largest KMZ the library accepts.
MAX_KMZ_BYTES = 64 * 1024 * 1024
#: How long a download URL handed to Pilot or a dock stays valid.
URL_TTL_S = 3600
#: Task states in which a task still needs its wayline file.
PENDING_TASK_STATES = ("planned", "prepared", "executing", "sent", "in_progress", "paused")
KMZ_TYPE = "application/vnd.google-earth.kmz"
_NAME_RE = re.compile(r'^[^<>:"/\\|?*]{1,200}$')


def _now_ms() -> int:
    return int(time.time() * 1000)


class WaylineError(Exception):
    """A library operation refused: a DJI-style code, the reason in EN/ZH, the findings of a
    refused file, and the HTTP status a web front end answers with."""

    def __init__(
        self,
        code: int,
        en: str,
        zh: str,
        *,
        status: int = 400,
        findings: Sequence[Finding] = (),
    ) -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.zh = zh
        self.status = status
        self.findings = tuple(findings)


def check_name(name: str) -> str:
    """A wayline name as stored (stripped). Raises WaylineError for an unusable one."""
    name = name.strip()
    if not _NAME_RE.match(name):
        raise WaylineError(
            StationCode.INVALID_PARAMETER,
            f'the wayline name {name!r} is empty, too long or holds one of < > : " / \\ | ? *',
            f'航线名称 {name!r} 为空、过长或包含 < > : " / \\ | ? * 之一',
        )
    return name


def inspect_bytes(data: bytes, name: str) -> Inspection:
    """`gcs.wpml.inspect_kmz` with the library's size limit (CPU work: run in an executor)."""
    return inspect_kmz(data, name=name, limits=Limits(max_file_bytes=MAX_KMZ_BYTES))


def refusal_for(inspection: Inspection, name: str) -> WaylineError | None:
    """The refusal of a file that may not be stored, or None when it is usable."""
    if inspection.usable:
        return None
    errors = [f for f in inspection.findings if f.is_error]
    first = errors[0] if errors else None
    en = f"{name} is not a usable wayline file"
    zh = f"{name} 不是可用的航线文件"
    if first is not None:
        en += f": {first.message_en}" + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
        zh += f"：{first.message_zh}" + (
            f"（另有 {len(errors) - 1} 处）" if len(errors) > 1 else ""
        )
    return WaylineError(StationCode.INVALID_PARAMETER, en, zh, findings=inspection.findings)


def row_from(
    inspection: Inspection,
    *,
    wayline_id: str,
    workspace_id: str,
    name: str,
    object_key: str,
    fingerprint: str,
    size: int,
    author: str,
    now_ms: int,
) -> WaylineRow:
    summary = inspection.summary
    assert summary is not None
    start = summary.start_point
    return WaylineRow(
        id=wayline_id,
        workspace_id=workspace_id,
        name=name,
        drone_model_key=summary.drone_model_key or "",
        payload_model_keys=tuple(summary.payload_model_keys),
        template_types=tuple(summary.template_type_codes),
        fingerprint=fingerprint,
        object_key=object_key,
        size=size,
        start_latitude=start[0] if start else None,
        start_longitude=start[1] if start else None,
        length_m=round(summary.length_m, 2),
        duration_s=round(summary.duration_s, 1),
        author=author or summary.author or "",
        favorited=False,
        action_type=0,
        summary={
            **summary.to_dict(),
            "findings": [f.to_dict() for f in inspection.findings],
        },
        created_at=summary.create_time or now_ms,
        updated_at=now_ms,
    )


@dataclass(frozen=True, slots=True)
class Imported:
    row: WaylineRow
    findings: tuple[Finding, ...]  # warnings the file still has


class WaylineLibrary:
    """The library over a store and blobs; usable without a running station (CLI)."""

    def __init__(self, store: Store, blobs: Blobs, bus: EventBus | None = None) -> None:
        self.store = store
        self.blobs = blobs
        self.bus = bus or EventBus()

    # -- adding ------------------------------------------------------------------------

    async def import_kmz(
        self,
        data: bytes,
        *,
        filename: str,
        workspace_id: str,
        author: str = "",
        name: str | None = None,
        unique_name: bool = False,
    ) -> Imported:
        """Check a KMZ with `gcs.wpml`, store its bytes and its row.

        The name is `name`, else the file name without `.kmz` (§13.1). With `unique_name`, a
        taken name gets " (2)", " (3)", ... appended; otherwise it is refused.

        Raises:
            WaylineError: an unusable file (with its findings), a bad or taken name, the object
                store failing. Nothing is stored then.
        """
        stem = name if name is not None else PurePosixPath(filename.replace("\\", "/")).name
        if name is None and stem.lower().endswith(".kmz"):
            stem = stem[:-4]
        wayline_name = check_name(stem)
        if len(data) > MAX_KMZ_BYTES:
            raise self._refuse(
                WaylineError(
                    StationCode.INVALID_PARAMETER,
                    f"{wayline_name}: the file is larger than {MAX_KMZ_BYTES} bytes",
                    f"{wayline_name}：文件超过 {MAX_KMZ_BYTES} 字节",
                ),
                workspace_id,
            )
        loop = asyncio.get_running_loop()
        inspection, fingerprint = await loop.run_in_executor(
            None, lambda: (inspect_bytes(data, wayline_name), hashlib.md5(data).hexdigest())
        )
        refused = refusal_for(inspection, wayline_name)
        if refused is not None:
            raise self._refuse(refused, workspace_id)
        if unique_name:
            wayline_name = await self._free_name(workspace_id, wayline_name)
        elif await self.store.call(q.existing_names, workspace_id, [wayline_name]):
            raise self._refuse(self._duplicate(wayline_name), workspace_id)
        wayline_id = str(uuid.uuid4())
        key = f"waylines/{workspace_id}/{wayline_id}.kmz"
        row = row_from(
            inspection,
            wayline_id=wayline_id,
            workspace_id=workspace_id,
            name=wayline_name,
            object_key=key,
            fingerprint=fingerprint,
            size=len(data),
            author=author,
            now_ms=_now_ms(),
        )
        try:
            await self.blobs.put(key, data, KMZ_TYPE)
        except BlobError as exc:
            raise self._refuse(self._store_failed(wayline_name, exc), workspace_id) from exc
        await self._insert_or_forget(row)
        return Imported(row, tuple(f for f in inspection.findings if not f.is_error))

    async def register_object(
        self,
        object_key: str,
        *,
        workspace_id: str,
        name: str,
        author: str = "",
        delete_if_refused: bool = True,
    ) -> Imported:
        """Pilot uploaded a KMZ to `object_key` (§8.2 #14): read it back, check it with
        `gcs.wpml`, compute its MD5 and add it to the library. A refused file is deleted from
        the store (nothing half-stored). Raises WaylineError."""
        wayline_name = check_name(name)
        try:
            data = await self.blobs.get(object_key, MAX_KMZ_BYTES)
        except BlobError as exc:
            raise self._refuse(
                WaylineError(
                    StationCode.NOT_FOUND,
                    f"{wayline_name}: cannot read the uploaded file {object_key}: {exc}",
                    f"{wayline_name}：无法读取已上传的文件 {object_key}：{exc}",
                    status=404,
                ),
                workspace_id,
            ) from exc
        loop = asyncio.get_running_loop()
        inspection, fingerprint = await loop.run_in_executor(
            None, lambda: (inspect_bytes(data, wayline_name), hashlib.md5(data).hexdigest())
        )
        refused = refusal_for(inspection, wayline_name)
        if refused is None:
            taken = await self.store.call(q.existing_names, workspace_id, [wayline_name])
            if taken:
                refused = self._duplicate(wayline_name)
        if refused is not None:
            if delete_if_refused:
                await self._forget_object(object_key)
            raise self._refuse(refused, workspace_id)
        row = row_from(
            inspection,
            wayline_id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            name=wayline_name,
            object_key=object_key,
            fingerprint=fingerprint,
            size=len(data),
            author=author,
            now_ms=_now_ms(),
        )
        await self._insert_or_forget(row)
        return Imported(row, tuple(f for f in inspection.findings if not f.is_error))

    # -- reading -----------------------------------------------------------------------

    async def get(self, workspace_id: str, wayline_id: str) -> WaylineRow:
        """Raises WaylineError (404) for an unknown id."""
        try:
            return await self.store.call(q.get_wayline, workspace_id, wayline_id)
        except q.WaylineNotFound:
            raise WaylineError(
                StationCode.NOT_FOUND,
                f"no wayline {wayline_id} in this workspace",
                f"该工作空间中没有航线 {wayline_id}",
                status=404,
            ) from None

    async def search(self, workspace_id: str, query: WaylineQuery) -> tuple[list[WaylineRow], int]:
        return await self.store.call(q.list_waylines, workspace_id, query)

    async def duplicate_names(self, workspace_id: str, names: Sequence[str]) -> list[str]:
        return await self.store.call(q.existing_names, workspace_id, list(names))

    def url(self, row: WaylineRow, ttl_s: int = URL_TTL_S) -> str:
        """A short-lived presigned GET of the wayline's KMZ."""
        return self.blobs.url(row.object_key, ttl_s)

    async def read(self, row: WaylineRow) -> bytes:
        """The KMZ bytes. Raises WaylineError when the store cannot give them."""
        try:
            return await self.blobs.get(row.object_key, MAX_KMZ_BYTES)
        except BlobError as exc:
            raise WaylineError(
                StationCode.INTERNAL_ERROR,
                f"cannot read the file of {row.name}: {exc}",
                f"无法读取航线 {row.name} 的文件：{exc}",
                status=500,
            ) from exc

    async def geometry(self, workspace_id: str, wayline_id: str) -> dict[str, Any]:
        """What a map shows of a route: `{id, name, points: [[lat, lon], ...] (the first
        executable wayline's waypoints, in order), start: [lat, lon] | None, polygon: [[lat,
        lon], ...] (a mapping template's area, else []), findings}`. Raises WaylineError."""
        row = await self.get(workspace_id, wayline_id)
        data = await self.read(row)
        inspection = await asyncio.get_running_loop().run_in_executor(
            None, inspect_bytes, data, row.name
        )
        route = inspection.route
        points: list[list[float]] = []
        polygon: list[list[float]] = []
        if route is not None:
            for wayline in route.waylines[:1]:
                points = [
                    [wp.latitude, wp.longitude]
                    for wp in wayline.waypoints
                    if wp.latitude is not None and wp.longitude is not None
                ]
            for template in route.templates:
                if template.polygon:
                    polygon = [[lat, lon] for lon, lat, _ in template.polygon]
                    break
        start = (
            [row.start_latitude, row.start_longitude]
            if row.start_latitude is not None and row.start_longitude is not None
            else None
        )
        return {
            "id": row.id,
            "name": row.name,
            "points": points,
            "start": start,
            "polygon": polygon,
            "findings": [f.to_dict() for f in inspection.findings],
        }

    async def export(self, workspace_id: str, ids: Sequence[str], folder: Path) -> list[Path]:
        """Write the KMZ of each wayline to `folder` as `<name>.kmz` (an existing file is not
        overwritten: " (2)", " (3)", ... are added). Returns the files written.

        Raises:
            WaylineError: an unknown id, a file the store cannot give, a folder not writable.
        """
        rows = [await self.get(workspace_id, i) for i in ids]
        written: list[Path] = []
        loop = asyncio.get_running_loop()
        for row in rows:
            data = await self.read(row)
            try:
                path = await loop.run_in_executor(None, _write_new, folder, row.name, data)
            except OSError as exc:
                raise WaylineError(
                    StationCode.INTERNAL_ERROR,
                    f"cannot write {row.name}.kmz to {folder}: {exc.strerror or exc}",
                    f"无法将 {row.name}.kmz 写入 {folder}：{exc.strerror or exc}",
                    status=500,
                ) from exc
            written.append(path)
        return written

    # -- changing ----------------------------------------------------------------------

    async def rename(self, workspace_id: str, wayline_id: str, name: str) -> WaylineRow:
        new = check_name(name)
        try:
            row = await self.store.call(q.rename_wayline, workspace_id, wayline_id, new, _now_ms())
        except q.WaylineNotFound:
            await self.get(workspace_id, wayline_id)
            raise
        except q.DuplicateName:
            raise self._refuse(self._duplicate(new), workspace_id) from None
        self._announce(row, "renamed")
        return row

    async def delete(self, workspace_id: str, wayline_id: str) -> WaylineRow:
        """Remove a wayline and its file. Refused (409) while a pending task or an active
        recurring plan uses it."""
        row = await self.get(workspace_id, wayline_id)
        users = await self.store.call(q.tasks_using, wayline_id, PENDING_TASK_STATES)
        if users:
            raise self._refuse(
                WaylineError(
                    StationCode.PRECONDITION_FAILED,
                    f"{row.name} is used by {len(users)} pending flight task(s) or plan(s); "
                    "cancel them first",
                    f"航线 {row.name} 正被 {len(users)} 个待执行的任务或计划使用；请先取消",
                    status=409,
                ),
                workspace_id,
            )
        await self.store.call(q.delete_wayline, workspace_id, wayline_id)
        await self._forget_object(row.object_key)
        self._announce(row, "deleted")
        return row

    async def set_favorited(self, workspace_id: str, ids: Sequence[str], value: bool) -> int:
        changed = await self.store.call(q.set_favorited, workspace_id, list(ids), value)
        if changed:
            self.bus.publish(WaylineLibraryChanged(_now_ms(), workspace_id, "", "favorites"))
        return changed

    # -- internals ---------------------------------------------------------------------

    async def _insert_or_forget(self, row: WaylineRow) -> None:
        try:
            await self.store.call(q.insert_wayline, row)
        except q.DuplicateName:
            await self._forget_object(row.object_key)
            raise self._refuse(self._duplicate(row.name), row.workspace_id) from None
        except BaseException:
            await self._forget_object(row.object_key)
            raise
        log.info("wayline %s (%s) added to %s", row.name, row.id, row.workspace_id)
        self.bus.publish(
            LogEntry(_now_ms(), "wayline", "info", f"wayline {row.name} added to the library")
        )
        self._announce(row, "added")

    async def _forget_object(self, key: str) -> None:
        try:
            await self.blobs.delete(key)
        except BlobError as exc:
            log.warning("could not delete %s from the object store: %s", key, exc)

    async def _free_name(self, workspace_id: str, name: str) -> str:
        candidate, n = name, 1
        while await self.store.call(q.existing_names, workspace_id, [candidate]):
            n += 1
            candidate = f"{name} ({n})"
        return candidate

    @staticmethod
    def _duplicate(name: str) -> WaylineError:
        return WaylineError(
            StationCode.INVALID_PARAMETER,
            f"a wayline named {name!r} already exists: rename the file or the existing wayline",
            f"已存在名为 {name!r} 的航线：请重命名文件或现有航线",
            status=409,
        )

    @staticmethod
    def _store_failed(name: str, exc: BlobError) -> WaylineError:
        return WaylineError(
            StationCode.INTERNAL_ERROR,
            f"{name}: the object store did not take the file: {exc}",
            f"{name}：对象存储未能保存文件：{exc}",
            status=500,
        )

    def _refuse(self, exc: WaylineError, workspace_id: str) -> WaylineError:
        log.warning("wayline refused in %s: %s", workspace_id, exc.en)
        self.bus.publish(LogEntry(_now_ms(), "wayline", "warning", exc.en))
        return exc

    def _announce(self, row: WaylineRow, change: str) -> None:
        self.bus.publish(WaylineLibraryChanged(_now_ms(), row.workspace_id, row.id, change))


def _write_new(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / f"{name}.kmz", 1
    while True:
        try:
            with open(path, "xb") as f:
                f.write(data)
            return path
        except FileExistsError:
            n += 1
            path = folder / f"{name} ({n}).kmz"


def to_pilot(row: WaylineRow) -> dict[str, Any]:
    """A library entry as Pilot's wayline list shows it (§8.2 #11, docs spelling included)."""
    return {
        "id": row.id,
        "name": row.name,
        "drone_model_key": row.drone_model_key,
        "payload_model_keys": list(row.payload_model_keys),
        "template_types": list(row.template_types),
        "favorited": row.favorited,
        "update_time": row.updated_at,
        "create_time": row.created_at,
        "user_name": row.author,
        "action_type": row.action_type,
        "sign": row.fingerprint,
        "object_key": row.object_key,
        "start_wayline_point": {
            "start_latitude": row.start_latitude,
            "start_lontitude": row.start_longitude,
        },
        "length_m": row.length_m,
        "duration_s": row.duration_s,
    }


class Waylines(Capability):
    """The wayline library as a station capability (its blobs go over presigned HTTP)."""

    name = "waylines"

    def __init__(self, station: Station) -> None:
        super().__init__(station)
        self._library: WaylineLibrary | None = None

    @property
    def library(self) -> WaylineLibrary:
        if self._library is None:
            st = self.station
            if st.store is None or st.storage is None:
                raise RuntimeError("the station is not started")
            self._library = WaylineLibrary(st.store, PresignedBlobs(st.storage), st.bus)
        return self._library

    async def start(self) -> None:
        _ = self.library
