"""Remote logs (protocol §15, §4.5, §5 `fileupload_progress`): a dock's and its aircraft's logs.

Theory of operation. `list_files()` asks the dock for the log files it and its aircraft keep
(`fileupload_list`; modules "3" dock and "0" aircraft), grouped by boot index. `start_upload()`
picks boot indexes per module, mints temporary credentials for the station's object store that
may write only under `logs/<dock sn>/<upload id>/` and sends `fileupload_start` with them — the
credentials' `expire` here is an ABSOLUTE epoch-ms time, unlike every other STS object (§15,
§19 #18) — and one object key per module. The dock gathers, compresses and uploads one archive
per module, reporting `fileupload_progress` (same bid, per file: status, percent, size, key);
each report updates the upload's row in `device_logs` and is announced as `LogUploadChanged`.
`cancel()` sends `fileupload_update` with status "cancel". Finished archives are downloaded
through presigned URLs of the store.

The `fileupload_start` job itself runs on the station's command path (preconditions, history,
`CommandChanged`); this module keeps the per-file view that the command path does not.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gcs.aio import spawn
from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode
from gcs.station.bus import Event, LogEntry
from gcs.station.capability import Capability, EventHandler
from gcs.station.commands import (
    ONLINE,
    CommandFailed,
    CommandJob,
    CommandRefused,
    CommandSpec,
    Precondition,
    Refusal,
    Target,
)
from gcs.station.storage import ExternalStoreError, ScopeError, sts_grant
from gcs.store import firmware as q
from gcs.store.db import Store
from gcs.store.firmware import LogUploadRow as LogUploadRow

log = logging.getLogger(__name__)

#: `module` values of §15: the aircraft's logs and the dock's.
AIRCRAFT_MODULE = "0"
DOCK_MODULE = "3"
MODULE_WORDS = {AIRCRAFT_MODULE: ("aircraft", "飞行器"), DOCK_MODULE: ("dock", "机场")}
#: Credentials a dock gets for one upload live at least this long (it may compress for minutes).
MIN_CREDENTIAL_TTL_S = 3600
#: Terminal statuses of an upload (and of each of its files).
ENDED = frozenset({"ok", "failed", "canceled", "timeout", "rejected", "interrupted", "refused"})
#: Ages of a download URL for an archive.
DOWNLOAD_URL_TTL_S = 3600


class LogsError(Exception):
    """A log request that cannot be served; `code` DJI-style, `en`/`zh` say why."""

    def __init__(self, code: int, en: str, zh: str = "") -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.zh = zh or en


@dataclass(frozen=True, slots=True)
class LogEvent(Event):
    """Base of this module's bus events."""


@dataclass(frozen=True, slots=True)
class LogUploadChanged(LogEvent):
    """A log upload was started, made progress or ended; `upload` is its row now."""

    upload: LogUploadRow


@dataclass(frozen=True, slots=True)
class BootLog:
    """One boot's log files on a device (§15 `list[]`)."""

    boot_index: int
    start_time: int
    end_time: int
    size: int


@dataclass(frozen=True, slots=True)
class DeviceLogs:
    """The log files one device keeps (`module` "3" dock, "0" aircraft); `result` ≠ 0 when it
    could not list them."""

    device_sn: str
    module: str
    result: int
    boots: tuple[BootLog, ...]


@dataclass(frozen=True, slots=True)
class LogSelection:
    """Which boots of one module to upload; `boots` optionally carries what the caller knows of
    them (times, size: a web console sends the rows it picked), else the last listing is used."""

    module: str
    boot_indexes: tuple[int, ...]
    boots: tuple[BootLog, ...] = ()


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return default


def parse_file_list(output: Any) -> list[DeviceLogs]:
    """The `files` of a `fileupload_list` reply (no `output` wrapper on the wire; the command
    path hands over `data` without `result`). Modules may be strings or ints (§15)."""
    files = output.get("files") if isinstance(output, Mapping) else None
    out: list[DeviceLogs] = []
    for item in files if isinstance(files, list) else []:
        if not isinstance(item, Mapping):
            continue
        boots = item.get("list")
        out.append(
            DeviceLogs(
                device_sn=str(item.get("device_sn", "")),
                module=str(item.get("module", "")),
                result=_int(item.get("result")),
                boots=tuple(
                    BootLog(
                        boot_index=_int(b.get("boot_index")),
                        start_time=_int(b.get("start_time")),
                        end_time=_int(b.get("end_time")),
                        size=_int(b.get("size")),
                    )
                    for b in (boots if isinstance(boots, list) else [])
                    if isinstance(b, Mapping)
                ),
            )
        )
    return out


def _dock(t: Target) -> Refusal | None:
    if t.gateway.model_key.startswith("3-"):
        return None
    return Refusal(
        StationCode.NOT_SUPPORTED,
        f"{t.gateway.sn} is not a dock: remote logs are a dock feature (Pilot keeps its own)",
        f"{t.gateway.sn} 不是机场：远程日志仅适用于机场",
    )


IS_DOCK = Precondition("is_dock", _dock)

FILEUPLOAD_LIST = CommandSpec(
    "fileupload_list",
    "List log files",
    "获取日志文件列表",
    reply_timeout_s=15.0,
    retries=1,
    preconditions=(ONLINE, IS_DOCK),
)
FILEUPLOAD_START = CommandSpec(
    "fileupload_start",
    "Upload logs",
    "上传日志",
    progress=frozenset({"fileupload_progress"}),
    reply_timeout_s=10.0,
    retries=1,
    progress_timeout_s=900.0,
    preconditions=(ONLINE, IS_DOCK),
)
FILEUPLOAD_UPDATE = CommandSpec(
    "fileupload_update",
    "Cancel the log upload",
    "取消日志上传",
    reply_timeout_s=10.0,
    preconditions=(ONLINE, IS_DOCK),
)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _file_update(entry: dict[str, Any], reported: Mapping[str, Any]) -> dict[str, Any]:
    p = reported.get("progress")
    progress: Mapping[str, Any] = p if isinstance(p, Mapping) else {}
    percent = progress.get("progress", progress.get("percent"))
    new = dict(entry)
    for key in ("size", "fingerprint"):
        if key in reported:
            new[key] = reported[key]
    if isinstance(percent, int | float) and not isinstance(percent, bool):
        new["percent"] = float(percent)
    for key in ("status", "result", "current_step", "total_step", "upload_rate", "finish_time"):
        if key in progress:
            new[key] = progress[key]
    return new


class RemoteLogs(Capability):
    name = "remote_logs"

    def __init__(self, station: Any) -> None:
        super().__init__(station)
        self._by_bid: dict[str, LogUploadRow] = {}
        self._written: dict[str, float] = {}
        #: the boots each (gateway, module) listed last, to describe an upload's files
        self._listed: dict[tuple[str, str], dict[int, BootLog]] = {}

    def commands(self) -> Sequence[CommandSpec]:
        return (FILEUPLOAD_LIST, FILEUPLOAD_START, FILEUPLOAD_UPDATE)

    def events(self) -> Mapping[str, EventHandler]:
        return {"fileupload_progress": self._on_progress}

    @property
    def _store(self) -> Store:
        assert self.station.store is not None
        return self.station.store

    async def start(self) -> None:
        for row in await self._store.call(q.unfinished_log_uploads):
            await self._store.call(
                q.upsert_log_upload, replace(row, status="interrupted", updated_at=_now_ms())
            )

    # -- listing -------------------------------------------------------------------------

    async def list_files(
        self, gateway_sn: str, modules: Iterable[str] = (DOCK_MODULE, AIRCRAFT_MODULE), *,
        actor: str = "operator",
    ) -> list[DeviceLogs]:  # fmt: skip
        """The log files of the dock and/or its aircraft, by boot index.

        Raises:
            CommandRefused: not sent (offline, not a dock, unknown).
            CommandFailed: the dock answered an error (324013 list failed, …) or nothing.
        """
        wanted = [self._module(m) for m in modules]
        outcome = await self.station.commands.run(
            gateway_sn, "fileupload_list", {"module_list": wanted}, actor=actor
        )
        found = parse_file_list(outcome.output)
        for d in found:
            self._listed[(gateway_sn, d.module)] = {b.boot_index: b for b in d.boots}
        return found

    def _boot_rows(
        self, gateway_sn: str, module: str, sel: LogSelection, indexes: list[int]
    ) -> list[dict[str, int]]:
        """Each chosen boot as `{boot_index, start_time, end_time, size}` (what is known)."""
        known = dict(self._listed.get((gateway_sn, module), {}))
        known.update({b.boot_index: b for b in sel.boots})
        rows: list[dict[str, int]] = []
        for i in indexes:
            b = known.get(i)
            rows.append(
                {"boot_index": i}
                if b is None
                else {
                    "boot_index": i,
                    "start_time": b.start_time,
                    "end_time": b.end_time,
                    "size": b.size,
                }
            )
        return rows

    @staticmethod
    def _module(value: Any) -> str:
        text = str(value).strip()
        if text not in MODULE_WORDS:
            raise CommandRefused(
                StationCode.INVALID_PARAMETER,
                f"log module {value!r} is neither '3' (dock) nor '0' (aircraft)",
                f"日志模块 {value!r} 无效（3 为机场，0 为飞行器）",
                method="fileupload_list",
            )
        return text

    def _device_of(self, gateway_sn: str, module: str) -> str:
        if module == DOCK_MODULE:
            return gateway_sn
        view = self.station.registry.view(gateway_sn)
        if view is None or not view.sub_devices:
            raise CommandRefused(
                StationCode.PRECONDITION_FAILED,
                f"{gateway_sn} has no aircraft: its aircraft's logs cannot be fetched",
                f"{gateway_sn} 没有飞行器：无法获取飞行器日志",
                method="fileupload_start",
                sn=gateway_sn,
            )
        return view.sub_devices[0]

    # -- uploading -----------------------------------------------------------------------

    async def start_upload(
        self,
        gateway_sn: str,
        selections: Sequence[LogSelection],
        *,
        note: str = "",
        happen_time: int | None = None,
        actor: str = "operator",
    ) -> LogUploadRow:
        """Ask the dock to upload the chosen boots' logs into the station's store; returns the
        upload's row once the dock has accepted (its progress then comes as LogUploadChanged).

        Raises:
            CommandRefused: nothing chosen, a bad module, no credentials, or a precondition.
            CommandFailed: the dock refused (e.g. 319018 logs busy) or did not answer.
        """
        upload_id = str(uuid.uuid4())
        try:
            files, data = await self._plan(gateway_sn, upload_id, selections)
        except CommandRefused as exc:  # refused before the command path saw it: say so here
            st = self.station
            log.warning("log upload on %s refused: %s", gateway_sn, exc.en)
            text = f"log upload refused: {exc.en}"
            st.bus.publish(LogEntry(st.now_ms(), "command", "warning", text, gateway_sn))
            raise
        job = self.station.commands.start_command(gateway_sn, "fileupload_start", data, actor=actor)
        now = _now_ms()
        row = LogUploadRow(
            id=upload_id,
            gateway_sn=gateway_sn,
            bid=job.bid,
            created_at=now,
            updated_at=now,
            actor=actor,
            note=note,
            happen_time=happen_time,
            status="sent",
            result=0,
            files=tuple(files),
        )
        self._by_bid[job.bid] = row
        await self._save(row, force=True)
        spawn(self._follow(job), name=f"log-upload:{upload_id}")
        await job.accepted
        if job.done.done() and not job.done.result().ok:
            raise CommandFailed(job.done.result())
        return self._by_bid.get(job.bid, row)

    async def _plan(
        self, gateway_sn: str, upload_id: str, selections: Sequence[LogSelection]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The upload's file records and the `fileupload_start` data (§15)."""
        chosen = [s for s in selections if s.boot_indexes]
        if not chosen:
            raise CommandRefused(
                StationCode.INVALID_PARAMETER,
                "choose at least one boot index of the dock's or the aircraft's logs",
                "请至少选择一个机场或飞行器日志的启动序号",
                method="fileupload_start",
                sn=gateway_sn,
            )
        self.station.commands.target(gateway_sn)  # unknown device / not a gateway
        prefix = f"logs/{gateway_sn}/{upload_id}"
        files: list[dict[str, Any]] = []
        params: list[dict[str, Any]] = []
        for sel in chosen:
            module = self._module(sel.module)
            device_sn = self._device_of(gateway_sn, module)
            key = f"{prefix}/{MODULE_WORDS[module][0]}-{device_sn}.tar.gz"
            indexes = sorted(set(sel.boot_indexes))
            params.append(
                {"object_key": key, "module": module, "list": [{"boot_index": i} for i in indexes]}
            )
            files.append(
                {
                    "file_id": module,
                    "device_sn": device_sn,
                    "module": module,
                    "object_key": key,
                    "boot_indexes": indexes,
                    "boots": self._boot_rows(gateway_sn, module, sel, indexes),
                    "size": 0,
                    "fingerprint": "",
                    "percent": 0.0,
                    "status": "",
                    "result": 0,
                }
            )
        grant = await self._credentials(gateway_sn, prefix)
        return files, {**grant, "params": {"files": params}}

    async def _credentials(self, gateway_sn: str, prefix: str) -> dict[str, Any]:
        st = self.station
        if st.storage is None:
            raise CommandRefused(
                StationCode.INTERNAL_ERROR,
                "object storage is not available",
                "对象存储不可用",
                method="fileupload_start",
                sn=gateway_sn,
            )
        try:
            grant = await sts_grant(
                st.storage,
                prefix=prefix,
                ttl_s=max(MIN_CREDENTIAL_TTL_S, st.settings.storage.sts_ttl_s),
            )
        except (ScopeError, ExternalStoreError) as exc:
            raise CommandRefused(
                StationCode.INTERNAL_ERROR,
                f"no storage credentials for the logs: {exc}",
                f"无法为日志生成存储凭证：{exc}",
                method="fileupload_start",
                sn=gateway_sn,
            ) from exc
        return grant.to_fileupload_start()

    async def _follow(self, job: CommandJob) -> None:
        outcome = await job.done
        row = self._by_bid.pop(job.bid, None)
        if row is None:
            return
        status = outcome.status if outcome.status in ENDED else ("ok" if outcome.ok else "failed")
        files = tuple(
            f
            if f.get("status") in ENDED
            else {**f, "status": status, **({"percent": 100.0} if status == "ok" else {})}
            for f in row.files
        )
        ended = replace(row, status=status, result=outcome.result or row.result, files=files)
        if ended != row:
            await self._save(replace(ended, updated_at=_now_ms()), force=True)
        word = "uploaded" if outcome.ok else f"{status}: {outcome.message_en}"
        level = "info" if outcome.ok else "warning"
        st = self.station
        st.bus.publish(LogEntry(st.now_ms(), "logs", level, f"log upload {word}", row.gateway_sn))

    def _on_progress(self, msg: Message) -> None:
        row = self._by_bid.get(msg.bid)
        if row is None or msg.gateway_sn != row.gateway_sn:
            return
        data = msg.data if isinstance(msg.data, Mapping) else {}
        output = data.get("output")
        out: Mapping[str, Any] = output if isinstance(output, Mapping) else {}
        ext = out.get("ext")
        reported = ext.get("files") if isinstance(ext, Mapping) else None
        files = list(row.files)
        for item in reported if isinstance(reported, list) else []:
            if not isinstance(item, Mapping):
                continue
            module = str(item.get("module", ""))
            key = item.get("key")
            for i, f in enumerate(files):
                if f["module"] == module or (key and f["object_key"] == key):
                    files[i] = _file_update(f, item)
                    break
        status = out.get("status")
        new = replace(
            row,
            status=status if isinstance(status, str) and status else row.status,
            result=_int(data.get("result"), row.result),
            files=tuple(files),
            updated_at=_now_ms(),
        )
        force = new.status != row.status or [f.get("status") for f in files] != [
            f.get("status") for f in row.files
        ]
        self._by_bid[msg.bid] = new
        spawn(self._save(new, force=force), name=f"log-upload-row:{new.id}")

    async def _save(self, row: LogUploadRow, *, force: bool) -> None:
        self.station.bus.publish(LogUploadChanged(_now_ms(), row))
        now = time.monotonic()
        if force or now - self._written.get(row.id, 0.0) >= 5.0:
            self._written[row.id] = now
            await self._store.call(q.upsert_log_upload, row)

    async def cancel(
        self, gateway_sn: str, modules: Iterable[str] | None = None, *, actor: str = "operator"
    ) -> None:
        """Tell the dock to stop uploading (`fileupload_update`, status "cancel").

        Raises:
            CommandRefused / CommandFailed: as `Commands.run()`.
        """
        if modules is None:
            running = [r for r in self._by_bid.values() if r.gateway_sn == gateway_sn]
            wanted = sorted({f["module"] for r in running for f in r.files}) or [
                DOCK_MODULE,
                AIRCRAFT_MODULE,
            ]
        else:
            wanted = [self._module(m) for m in modules]
        await self.station.commands.run(
            gateway_sn,
            "fileupload_update",
            {"status": "cancel", "module_list": wanted},
            actor=actor,
        )

    # -- the archive ---------------------------------------------------------------------

    def running(self, gateway_sn: str | None = None) -> list[LogUploadRow]:
        return [r for r in self._by_bid.values() if gateway_sn in (None, r.gateway_sn)]

    async def uploads(
        self, gateway_sn: str | None = None, *, offset: int = 0, limit: int = 100
    ) -> tuple[list[LogUploadRow], int]:
        """Uploads newest first (running ones as they are now), and the total."""
        rows, total = await self._store.call(q.list_log_uploads, gateway_sn, offset, limit)
        live = {r.id: r for r in self._by_bid.values()}
        return [live.get(r.id, r) for r in rows], total

    async def upload(self, upload_id: str) -> LogUploadRow | None:
        for r in self._by_bid.values():
            if r.id == upload_id:
                return r
        return await self._store.call(q.get_log_upload, upload_id)

    async def delete(self, upload_id: str) -> bool:
        """Forget an upload's record (the archive stays in the store until deleted there)."""
        return await self._store.call(q.delete_log_upload, upload_id)

    async def download_url(self, upload_id: str, file_id: str) -> str:
        """A presigned URL of one uploaded archive.

        Raises:
            LogsError: no such upload or file, or the file is not uploaded (yet).
        """
        row = await self.upload(upload_id)
        if row is None:
            raise LogsError(StationCode.NOT_FOUND, f"no log upload {upload_id}", "没有该日志上传")
        entry = next(
            (f for f in row.files if file_id in (f.get("file_id"), f.get("object_key"))), None
        )
        if entry is None:
            raise LogsError(
                StationCode.NOT_FOUND, f"upload {upload_id} has no file {file_id}", "没有该文件"
            )
        if entry.get("status") != "ok":
            raise LogsError(
                StationCode.PRECONDITION_FAILED,
                f"the {MODULE_WORDS.get(entry['module'], ('device',))[0]} logs are not uploaded "
                f"(status {entry.get('status') or 'pending'})",
                "日志尚未上传完成",
            )
        storage = self.station.storage
        if storage is None:
            raise LogsError(StationCode.INTERNAL_ERROR, "object storage is not available")
        return storage.presign_get(str(entry["object_key"]), DOWNLOAD_URL_TTL_S)
