"""Firmware (protocol §14, §4.5, §5 `ota_progress`): the library of packages and upgrades.

Theory of operation. The operator imports DJI firmware packages (`import_package`): the file's
MD5 and size are computed in an executor, its bytes go into the station's object store through
the store's own S3 interface (a presigned PUT, so the embedded store and an external one are
treated alike), and a row in `firmwares` names the device models it is for, its version and
release note. The library is read from SQLite on every query, so a package imported by the
command line while the station runs is seen at once.

Which device needs what (`devices()`): a *normal* upgrade when the newest enabled package for the
device's model has a version other than the one the device reports (`firmware_version` in its
state, else the registry's record); a *consistency* upgrade when the device reports
`compatible_status` 1 (its firmware does not match its dock's / aircraft's). A normal upgrade
supersedes a consistency one (§14). On the wire `firmware_upgrade_type` 3 is normal and 2 is
consistency — the Demo's Java names are swapped, the values are what count.

`upgrade()` sends one `ota_create` per gateway, carrying the dock and/or its aircraft with a
presigned download URL of each package, through the station's command path: preconditions
(a dock, online, dock idle, emergency stop released, not already upgrading) are checked first
and a refusal is explained — an RC and its aircraft are refused (DJI offers cloud OTA for docks
only, see `NOT_A_DOCK_EN`); `ota_progress` events (same bid) drive the job to its end, and the
`CommandChanged` events on the bus are the progress bars.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from gcs.protocol.errors import StationCode
from gcs.protocol.models import MODEL_NAMES, ModelKey, model_name
from gcs.station.bus import LogEntry
from gcs.station.capability import Capability
from gcs.station.commands import (
    DOCK_IDLE,
    ONLINE,
    CommandFailed,
    CommandOutcome,
    CommandRefused,
    CommandSpec,
    Precondition,
    Refusal,
    Target,
)
from gcs.station.storage import ScopeError, StorageAccess
from gcs.store import firmware as q
from gcs.store.db import Store
from gcs.store.firmware import FirmwareRow as FirmwareRow

log = logging.getLogger(__name__)

#: `firmware_upgrade_type` wire values (§14: docs and Web; the Demo's enum names are swapped).
CONSISTENCY_UPGRADE = 2
NORMAL_UPGRADE = 3
UPGRADE_TYPES = {"normal": NORMAL_UPGRADE, "consistency": CONSISTENCY_UPGRADE}
#: How long a device may take to download a package (the presigned URL's validity).
DOWNLOAD_URL_TTL_S = 12 * 3600
#: A gap without `ota_progress` that ends the job as timed out (downloads and flashing are slow).
OTA_PROGRESS_TIMEOUT_S = 1800.0
MAX_PACKAGE_BYTES = 4 * 1024**3
_VERSION_RE = re.compile(r"^\d{1,3}(\.\d{1,5}){2,3}$")
_CHUNK = 1 << 20


class FirmwareError(ValueError):
    """A package that cannot be imported, or an upgrade that cannot be planned. `en`/`zh` say
    why and what to do; `code` is the station's DJI-style code."""

    def __init__(self, en: str, zh: str = "", code: int = StationCode.INVALID_PARAMETER) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh or en
        self.code = code


# -- pure helpers ---------------------------------------------------------------------------


def version_key(version: str) -> tuple[int, ...]:
    """`01.00.0223` → (1, 0, 223); text that is not a version sorts first."""
    try:
        return tuple(int(p) for p in version.strip().split("."))
    except ValueError:
        return ()


def check_version(version: str) -> str:
    """The version, stripped. Raises FirmwareError unless it reads like `NN.NN.NNNN`."""
    v = version.strip()
    if not _VERSION_RE.match(v):
        raise FirmwareError(
            f"{version!r} is not a firmware version: write it as DJI does, e.g. 10.01.1612",
            f"{version!r} 不是固件版本号：请按 DJI 的格式填写，例如 10.01.1612",
        )
    return v


_NAMES = {name.casefold(): key for key, name in MODEL_NAMES.items()}


def parse_models(values: Iterable[str]) -> tuple[str, ...]:
    """Device model keys from keys (`3-2-0`) or product names (`DJI Dock 2`), in order, once.

    Raises:
        FirmwareError: none given, or one is neither a model key nor a known product name.
    """
    out: list[str] = []
    for raw in values:
        for item in str(raw).split(","):
            text = item.strip()
            if not text:
                continue
            key = _NAMES.get(text.casefold())
            if key is None:
                try:
                    key = str(ModelKey.parse(text))
                except ValueError:
                    raise FirmwareError(
                        f"{text!r} is neither a device model key (like 3-2-0) nor a DJI product "
                        "name (like DJI Dock 2)",
                        f"{text!r} 既不是设备型号键（如 3-2-0）也不是产品名称（如 DJI Dock 2）",
                    ) from None
            if key.startswith("1-"):
                raise FirmwareError(
                    f"{text} is a payload; firmware upgrades are for docks and aircraft",
                    f"{text} 是负载；固件升级仅适用于机场和飞行器",
                )
            if key not in out:
                out.append(key)
    if not out:
        raise FirmwareError(
            "name the device model(s) the package is for (e.g. 3-2-0)",
            "请填写该固件适用的设备型号（例如 3-2-0）",
        )
    return tuple(out)


def package_digest(path: Path) -> tuple[str, int]:
    """(MD5 hex, size) of a file, read in chunks (blocking: run it in an executor).

    Raises:
        FirmwareError: unreadable, empty, or larger than `MAX_PACKAGE_BYTES`.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                md5.update(chunk)
                size += len(chunk)
                if size > MAX_PACKAGE_BYTES:
                    raise FirmwareError(
                        f"{path.name} is larger than {MAX_PACKAGE_BYTES} bytes",
                        f"{path.name} 超过 {MAX_PACKAGE_BYTES} 字节",
                    )
    except OSError as exc:
        raise FirmwareError(
            f"cannot read {path}: {exc.strerror or exc}", f"无法读取 {path}：{exc}"
        ) from exc
    if size == 0:
        raise FirmwareError(f"{path.name} is empty", f"{path.name} 是空文件")
    return md5.hexdigest(), size


async def put_file(
    access: StorageAccess,
    key: str,
    path: Path,
    size: int,
    *,
    session: aiohttp.ClientSession | None = None,
) -> None:
    """Upload `path` to the store as `key` with a presigned PUT (streamed from disk).

    Raises:
        FirmwareError: the store refused or could not be reached.
    """
    url = access.presign_get(key, 900, method="PUT")
    client = session or aiohttp.ClientSession()
    try:
        f = await asyncio.get_running_loop().run_in_executor(None, path.open, "rb")
        with f:
            async with client.put(
                url,
                data=_chunks(f),
                headers={"content-length": str(size), "content-type": "application/octet-stream"},
                ssl=False,
            ) as r:
                if r.status >= 300:
                    body = (await r.text())[:300]
                    raise FirmwareError(
                        f"the object store refused the package: HTTP {r.status} {body}",
                        f"对象存储拒绝了固件包：HTTP {r.status}",
                        StationCode.INTERNAL_ERROR,
                    )
    except (aiohttp.ClientError, OSError) as exc:
        raise FirmwareError(
            f"the object store at {access.endpoint} cannot be reached: {exc}",
            f"无法连接对象存储 {access.endpoint}：{exc}",
            StationCode.INTERNAL_ERROR,
        ) from exc
    finally:
        if session is None:
            await client.close()


async def _chunks(f: Any) -> Any:
    loop = asyncio.get_running_loop()
    while chunk := await loop.run_in_executor(None, f.read, _CHUNK):
        yield chunk


def object_key_for(firmware_id: str, file_name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", file_name) or "firmware.bin"
    return f"firmware/{firmware_id}/{safe}"


async def import_into(
    store: Store,
    access: StorageAccess,
    path: Path,
    *,
    models: Iterable[str],
    version: str,
    release_note: str = "",
    file_name: str | None = None,
    enabled: bool = True,
    actor: str = "operator",
    session: aiohttp.ClientSession | None = None,
) -> FirmwareRow:
    """Import a package: check, hash (in an executor), upload, record. Used by the station and
    by `gcs firmware import`.

    Raises:
        FirmwareError: bad models/version/file, or the store refused it (nothing recorded).
    """
    keys = parse_models(models)
    v = check_version(version)
    name = file_name or path.name
    loop = asyncio.get_running_loop()
    md5, size = await loop.run_in_executor(None, package_digest, path)
    firmware_id = str(uuid.uuid4())
    key = object_key_for(firmware_id, name)
    await put_file(access, key, path, size, session=session)
    row = FirmwareRow(
        id=firmware_id,
        file_name=name,
        object_key=key,
        version=v,
        models=keys,
        release_note=release_note,
        md5=md5,
        size=size,
        enabled=enabled,
        imported_at=int(time.time() * 1000),
        imported_by=actor,
    )
    await store.call(q.insert_firmware, row)
    return row


def latest_for(rows: Iterable[FirmwareRow], model_key: str) -> FirmwareRow | None:
    """The enabled package with the highest version for `model_key`."""
    fitting = [r for r in rows if r.enabled and model_key in r.models]
    return max(fitting, key=lambda r: (version_key(r.version), r.imported_at), default=None)


# -- preconditions --------------------------------------------------------------------------

#: Why only docks: DJI's Cloud API offers firmware upgrades (`ota_create`, §14) in its Dock
#: feature set only — Pilot 2 on an RC upgrades itself and its aircraft through DJI's own
#: servers — and DJI's backend sends `ota_create` only after reading the gateway's dock OSD
#: (idle, emergency stop released), refusing any other gateway. The station says so plainly.
NOT_A_DOCK_EN = (
    "{sn} is not a dock: DJI's cloud firmware upgrade (ota_create) is for docks and their "
    "aircraft only; upgrade a remote controller and its aircraft in DJI Pilot 2 "
    "(or DJI Assistant 2)"
)
NOT_A_DOCK_ZH = (
    "{sn} 不是机场：大疆上云固件升级（ota_create）仅适用于机场及其飞行器；"
    "遥控器及其飞行器请在 DJI Pilot 2（或 DJI Assistant 2）中升级"
)


def is_dock_model(model_key: str) -> bool:
    return model_key.startswith("3-")


def _on_dock(t: Target) -> Refusal | None:
    if is_dock_model(t.gateway.model_key):
        return None
    sn = t.gateway.sn
    return Refusal(
        StationCode.NOT_SUPPORTED, NOT_A_DOCK_EN.format(sn=sn), NOT_A_DOCK_ZH.format(sn=sn)
    )


def _emergency_released(t: Target) -> Refusal | None:
    if t.gateway_state.get("emergency_stop_state") != 1:
        return None
    return Refusal(
        StationCode.PRECONDITION_FAILED,
        "the dock's emergency stop is pressed: release it before upgrading",
        "机场急停按钮已按下：请先释放急停再升级",
    )


def _not_upgrading(t: Target) -> Refusal | None:
    if 1 not in (
        t.gateway_state.get("firmware_upgrade_status"),
        t.aircraft_state.get("firmware_upgrade_status"),
    ):
        return None
    return Refusal(
        StationCode.PRECONDITION_FAILED,
        "a firmware upgrade is already running on this dock or its aircraft",
        "该机场或其飞行器正在升级固件",
    )


ON_DOCK = Precondition("on_dock", _on_dock)
EMERGENCY_RELEASED = Precondition("emergency_released", _emergency_released)
NOT_UPGRADING = Precondition("not_upgrading", _not_upgrading)

OTA_CREATE = CommandSpec(
    "ota_create",
    "Upgrade firmware",
    "固件升级",
    progress=frozenset({"ota_progress"}),
    reply_timeout_s=10.0,
    retries=1,
    progress_timeout_s=OTA_PROGRESS_TIMEOUT_S,
    preconditions=(ON_DOCK, ONLINE, DOCK_IDLE, EMERGENCY_RELEASED, NOT_UPGRADING),
)


# -- what the station offers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceFirmware:
    """A device's firmware as the station sees it, and what it needs."""

    sn: str
    gateway_sn: str
    model_key: str
    model_name: str
    callsign: str
    online: bool
    version: str
    compatible_status: int
    upgrading: bool
    latest: FirmwareRow | None
    need: str  # "normal", "consistency" or ""

    @property
    def upgrade_type(self) -> int | None:
        return UPGRADE_TYPES.get(self.need)


@dataclass(frozen=True, slots=True)
class OtaTarget:
    """A device to upgrade; `version`/`upgrade` default to the newest package / what it needs."""

    sn: str
    version: str | None = None
    upgrade: str | None = None  # "normal" or "consistency"


@dataclass(frozen=True, slots=True)
class OtaStarted:
    """What became of one gateway's `ota_create`: a job, or a refusal/failure (`code`)."""

    gateway_sn: str
    devices: tuple[str, ...]
    job_id: str | None
    bid: str
    status: str
    code: int
    message_en: str
    message_zh: str


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class Firmware(Capability):
    name = "firmware"

    def commands(self) -> Sequence[CommandSpec]:
        return (OTA_CREATE,)

    @property
    def _store(self) -> Store:
        assert self.station.store is not None
        return self.station.store

    @property
    def _access(self) -> StorageAccess:
        if self.station.storage is None:
            raise FirmwareError(
                "the object store is not available", "对象存储不可用", StationCode.INTERNAL_ERROR
            )
        return self.station.storage

    # -- library -------------------------------------------------------------------------

    async def library(self) -> list[FirmwareRow]:
        return await self._store.call(q.list_firmwares)

    async def package(self, firmware_id: str) -> FirmwareRow | None:
        return await self._store.call(q.get_firmware, firmware_id)

    async def import_package(
        self,
        path: Path,
        *,
        models: Iterable[str],
        version: str,
        release_note: str = "",
        file_name: str | None = None,
        enabled: bool = True,
        actor: str = "operator",
    ) -> FirmwareRow:
        """Import a package into the library (see the module docstring).

        Raises:
            FirmwareError: not importable; the reason is also in the events log.
        """
        st = self.station
        try:
            row = await import_into(
                self._store,
                self._access,
                path,
                models=models,
                version=version,
                release_note=release_note,
                file_name=file_name,
                enabled=enabled,
                actor=actor,
            )
        except FirmwareError as exc:
            log.warning("firmware import of %s refused: %s", path.name, exc.en)
            st.bus.publish(LogEntry(st.now_ms(), "firmware", "warning", f"import: {exc.en}"))
            raise
        names = ", ".join(model_name(k) or k for k in row.models)
        text = f"firmware {row.version} for {names} imported ({row.file_name}, {row.size} bytes)"
        log.info(text)
        st.bus.publish(LogEntry(st.now_ms(), "firmware", "info", text))
        return row

    async def set_enabled(self, firmware_id: str, enabled: bool) -> bool:
        return await self._store.call(q.update_firmware, firmware_id, enabled)

    def download_url(self, row: FirmwareRow, ttl_s: int = DOWNLOAD_URL_TTL_S) -> str:
        try:
            return self._access.presign_get(row.object_key, ttl_s)
        except ScopeError as exc:
            raise FirmwareError(str(exc)) from exc

    # -- devices -------------------------------------------------------------------------

    def _device(self, sn: str, rows: Sequence[FirmwareRow]) -> DeviceFirmware | None:
        st = self.station
        view = st.registry.view(sn)
        if view is None:
            return None
        state = st.telemetry.current(sn)
        version = state.get("firmware_version")
        version = version if isinstance(version, str) and version else view.firmware_version
        compatible = _int(state.get("compatible_status"))
        latest = latest_for(rows, view.model_key)
        if latest is not None and version and latest.version != version:
            need = "normal"
        elif compatible == 1:
            need = "consistency"
        else:
            need = ""
        return DeviceFirmware(
            sn=sn,
            gateway_sn=view.gateway_sn or sn,
            model_key=view.model_key,
            model_name=view.model_name,
            callsign=view.callsign,
            online=view.online,
            version=version or "",
            compatible_status=compatible,
            upgrading=state.get("firmware_upgrade_status") == 1,
            latest=latest,
            need=need,
        )

    async def devices(self, workspace_id: str | None = None) -> list[DeviceFirmware]:
        """Docks and their aircraft (bound, of `workspace_id` when given) with what they need."""
        rows = await self.library()
        out: list[DeviceFirmware] = []
        for gw in self.station.registry.gateways():
            if not gw.bound or gw.model_key[:2] != "3-":
                continue
            if workspace_id is not None and gw.workspace_id != workspace_id:
                continue
            for sn in (gw.sn, *gw.sub_devices):
                d = self._device(sn, rows)
                if d is not None:
                    out.append(d)
        return out

    # -- upgrades ------------------------------------------------------------------------

    def _package_for(
        self, device: DeviceFirmware, version: str | None, rows: Sequence[FirmwareRow]
    ) -> FirmwareRow:
        if version:
            fitting = [
                r
                for r in rows
                if r.enabled and device.model_key in r.models and r.version == version
            ]
            if not fitting:
                raise FirmwareError(
                    f"no enabled package {version} for {device.model_name} in the library",
                    f"固件库中没有适用于 {device.model_name} 的 {version} 版本",
                    StationCode.NOT_FOUND,
                )
            return max(fitting, key=lambda r: r.imported_at)
        if device.latest is None:
            raise FirmwareError(
                f"the library has no firmware for {device.model_name} ({device.model_key}): "
                "import a package first",
                f"固件库中没有 {device.model_name} 的固件：请先导入固件包",
                StationCode.NOT_FOUND,
            )
        return device.latest

    def _ota_device(
        self, target: OtaTarget, device: DeviceFirmware, rows: Sequence[FirmwareRow]
    ) -> dict[str, Any]:
        package = self._package_for(device, target.version, rows)
        if target.upgrade is not None:
            if target.upgrade not in UPGRADE_TYPES:
                raise FirmwareError(
                    f"upgrade type {target.upgrade!r} is neither 'normal' nor 'consistency'",
                    f"升级类型 {target.upgrade!r} 无效（应为 normal 或 consistency）",
                )
            kind = target.upgrade
        elif device.need:
            kind = device.need
        elif target.version:
            kind = "normal"
        else:
            raise FirmwareError(
                f"{device.sn} already runs {device.version}, the newest package in the library",
                f"{device.sn} 已是固件库中的最新版本 {device.version}",
                StationCode.PRECONDITION_FAILED,
            )
        return {
            "sn": device.sn,
            "product_version": package.version,
            "file_url": self.download_url(package),
            "md5": package.md5,
            "file_size": package.size,
            "file_name": package.file_name,
            "firmware_upgrade_type": UPGRADE_TYPES[kind],
        }

    async def upgrade(
        self, targets: Sequence[OtaTarget], *, actor: str = "operator"
    ) -> list[OtaStarted]:
        """Send `ota_create` to the gateway of each group of targets (a dock with its aircraft
        in one message) and wait until each device has answered. A gateway that is refused or
        fails does not stop the others; each result says what happened to it."""
        rows = await self.library()
        groups: dict[str, list[dict[str, Any]]] = {}
        results: list[OtaStarted] = []
        for target in targets:
            device = self._device(target.sn, rows)
            if device is None:
                en = f"device {target.sn} is unknown to the station"
                zh = f"地面站不认识设备 {target.sn}"
                results.append(
                    self._refused(target.sn, (target.sn,), StationCode.UNKNOWN_DEVICE, en, zh)
                )
                continue
            gateway = self.station.registry.view(device.gateway_sn)
            if gateway is None or not is_dock_model(gateway.model_key):
                en = NOT_A_DOCK_EN.format(sn=device.gateway_sn)
                zh = NOT_A_DOCK_ZH.format(sn=device.gateway_sn)
                results.append(
                    self._refused(
                        device.gateway_sn, (device.sn,), StationCode.NOT_SUPPORTED, en, zh
                    )
                )
                continue
            try:
                entry = self._ota_device(target, device, rows)
            except FirmwareError as exc:
                results.append(
                    self._refused(device.gateway_sn, (device.sn,), exc.code, exc.en, exc.zh)
                )
                continue
            groups.setdefault(device.gateway_sn, []).append(entry)
        started = await asyncio.gather(
            *(self._start(gw, devices, actor) for gw, devices in groups.items())
        )
        return results + list(started)

    async def _start(
        self, gateway_sn: str, devices: list[dict[str, Any]], actor: str
    ) -> OtaStarted:
        sns = tuple(d["sn"] for d in devices)
        try:
            outcome: CommandOutcome = await self.station.commands.start_accepted(
                gateway_sn, "ota_create", {"devices": devices}, actor=actor
            )
        except CommandRefused as exc:
            return OtaStarted(gateway_sn, sns, None, "", "refused", exc.code, exc.en, exc.zh)
        except CommandFailed as exc:
            o = exc.outcome
            job = self.station.commands.job(o.id)
            return OtaStarted(
                gateway_sn, sns, o.id, job.bid if job else "", o.status, exc.code,
                o.message_en, o.message_zh,
            )  # fmt: skip
        job = self.station.commands.job(outcome.id)
        return OtaStarted(
            gateway_sn,
            sns,
            outcome.id,
            job.bid if job is not None else "",
            outcome.status,
            outcome.result or 0,
            outcome.message_en,
            outcome.message_zh,
        )

    def _refused(
        self,
        gateway_sn: str,
        sns: tuple[str, ...],
        code: int,
        en: str,
        zh: str,
    ) -> OtaStarted:
        st = self.station
        log.warning("firmware upgrade of %s refused: %s", ", ".join(sns), en)
        st.bus.publish(
            LogEntry(st.now_ms(), "command", "warning", f"ota_create refused: {en}", gateway_sn)
        )
        return OtaStarted(gateway_sn, sns, None, "", "refused", code, en, zh)

    def need_summary(self, devices: Iterable[DeviceFirmware]) -> Mapping[str, int]:
        """How many devices need each kind of upgrade."""
        out = {"normal": 0, "consistency": 0}
        for d in devices:
            if d.need:
                out[d.need] += 1
        return out
