"""Remote logs on a simulated dock (protocol §15, §5 `fileupload_progress`).

The dock keeps log files per boot of itself (module "3") and of its aircraft (module "0"): a
handful of boots with start/end times (epoch seconds, as the docs type them) and sizes.
`fileupload_list` answers them with no `output` wrapper (`data.files`), an aircraft that is off
with 324015. `fileupload_start` carries temporary credentials whose `expire` is an ABSOLUTE
epoch-ms time: the dock gathers each module's chosen boots ("file_pull"), packs real log texts
into a tar.gz made on the fly ("file_zip"), and PUTs it to the given object key through the S3
API with those credentials ("file_uploading", SigV4 as `gcs.sim.media` signs it); each step is a
`fileupload_progress` event (need_reply 0) with every file's progress; the last says "ok" with
each archive's size and MD5 fingerprint. Credentials already expired (e.g. a duration mistaken
for an absolute time) fail the upload with 324019 before anything is sent. `fileupload_update`
with status "cancel" stops the named modules; the upload then ends "canceled". A second upload
while one runs is refused with 325009. Tests inject a failure with `state_of(dock).fail_with`
and hold an upload between steps with `state_of(dock).gate` (an unset asyncio.Event).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import random
import tarfile
import time
import weakref
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from gcs.protocol.envelope import Message
from gcs.sim import codes
from gcs.sim.gateway import ServiceHandler, ServiceResult
from gcs.sim.media import StorageGrant, UploadError, put_object

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock

log = logging.getLogger(__name__)

AIRCRAFT_MODULE = "0"
DOCK_MODULE = "3"
AIRCRAFT_OFF = 324015
LOGS_UNAVAILABLE = 324017
UPLOAD_FAILED = 324019
EXPORTING_LOGS = 325009
STEPS = ("file_pull", "file_zip", "file_uploading")


@dataclass(frozen=True, slots=True)
class Boot:
    index: int
    start_time: int  # epoch s
    end_time: int
    size: int  # bytes the device reports for the boot's logs


@dataclass
class LogsSim:
    """One dock's log store: boots per module, the running upload, what was uploaded."""

    boots: dict[str, list[Boot]] = field(default_factory=dict)
    running: str = ""  # bid of the upload in progress
    canceled: set[str] = field(default_factory=set)  # modules canceled in the running upload
    uploaded: list[str] = field(default_factory=list)  # object keys written
    fail_with: int | None = None  # the next upload ends "failed" with this code
    gate: asyncio.Event | None = None  # when set by a test, each step waits until it is set


_STATES: weakref.WeakKeyDictionary[SimDock, LogsSim] = weakref.WeakKeyDictionary()


def _boots(rng: random.Random, first: int, count: int, now_s: int) -> list[Boot]:
    out = []
    t = now_s - count * 86400
    for i in range(count):
        start = t + rng.randint(0, 3600)
        end = start + rng.randint(600, 6 * 3600)
        out.append(Boot(first + i, start, end, rng.randint(200_000, 30_000_000)))
        t += 86400
    return out


def state_of(dock: SimDock) -> LogsSim:
    state = _STATES.get(dock)
    if state is None:
        rng = random.Random(f"logs:{dock.sn}")
        now_s = int(time.time())
        state = _STATES[dock] = LogsSim(
            boots={
                DOCK_MODULE: _boots(rng, rng.randint(300, 900), 6, now_s),
                AIRCRAFT_MODULE: _boots(rng, rng.randint(50, 400), 4, now_s),
            }
        )
    return state


def handlers(dock: SimDock) -> dict[str, ServiceHandler]:
    return {
        "fileupload_list": partial(fileupload_list, dock),
        "fileupload_start": partial(fileupload_start, dock),
        "fileupload_update": partial(fileupload_update, dock),
    }


def _modules(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not value:
        return None
    out = [str(m) for m in value]
    return out if all(m in (DOCK_MODULE, AIRCRAFT_MODULE) for m in out) else None


def _device(dock: SimDock, module: str) -> str:
    return dock.sn if module == DOCK_MODULE else dock.aircraft_sn


def fileupload_list(dock: SimDock, msg: Message) -> ServiceResult | None:
    modules = _modules(dock.data_of(msg).get("module_list"))
    if modules is None:
        return codes.BAD_PARAMETERS, None
    state = state_of(dock)
    files = []
    for module in modules:
        off = module == AIRCRAFT_MODULE and not dock.aircraft.powered
        files.append(
            {
                "device_sn": _device(dock, module),
                "module": module,
                "result": AIRCRAFT_OFF if off else 0,
                "list": []
                if off
                else [
                    {
                        "boot_index": b.index,
                        "start_time": b.start_time,
                        "end_time": b.end_time,
                        "size": b.size,
                    }
                    for b in state.boots[module]
                ],
            }
        )
    dock.messages.reply_service(msg, {"result": 0, "files": files})  # no output wrapper (§15)
    return None


def _plan(dock: SimDock, data: dict[str, Any]) -> list[tuple[str, str, list[Boot]]] | None:
    params = data.get("params")
    files = params.get("files") if isinstance(params, dict) else None
    if not isinstance(files, list) or not files:
        return None
    state = state_of(dock)
    out = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("object_key"), str):
            return None
        module = str(f.get("module"))
        if module not in state.boots or not isinstance(f.get("list"), list):
            return None
        wanted = {b.get("boot_index") for b in f["list"] if isinstance(b, dict)}
        boots = [b for b in state.boots[module] if b.index in wanted]
        if not boots or len(boots) != len(wanted):
            return None
        out.append((module, f["object_key"], boots))
    return out


def fileupload_start(dock: SimDock, msg: Message) -> ServiceResult:
    data = dock.data_of(msg)
    state = state_of(dock)
    if state.running:
        return EXPORTING_LOGS, None
    plan = _plan(dock, data)
    if plan is None:
        return codes.BAD_PARAMETERS, None
    try:
        grant = StorageGrant.from_output(data)
    except ValueError:
        return codes.BAD_PARAMETERS, None
    creds = data.get("credentials")
    expire = creds.get("expire") if isinstance(creds, dict) else None
    if not isinstance(expire, int) or isinstance(expire, bool):
        return codes.BAD_PARAMETERS, None
    if any(m == AIRCRAFT_MODULE for m, _, _ in plan) and not dock.aircraft.powered:
        return AIRCRAFT_OFF, None
    state.running = msg.bid
    state.canceled = set()
    dock.start_job(_upload(dock, msg.bid, grant, expire, plan), f"logs-{msg.bid}")
    return codes.OK, None


def fileupload_update(dock: SimDock, msg: Message) -> ServiceResult:
    data = dock.data_of(msg)
    modules = _modules(data.get("module_list"))
    if data.get("status") != "cancel" or modules is None:
        return codes.BAD_PARAMETERS, None
    state = state_of(dock)
    if state.running:
        state.canceled.update(modules)
    return codes.OK, None


def log_text(dock: SimDock, module: str, boot: Boot) -> bytes:
    """Plausible log lines of one boot (deterministic per dock and boot)."""
    rng = random.Random(f"{dock.sn}:{module}:{boot.index}")
    who = "dock" if module == DOCK_MODULE else "fc"
    lines = []
    t = boot.start_time
    events = (
        "system boot, firmware {fw}",
        "network link up, rate {n} kbps",
        "battery {n}% charging state {b}",
        "cover motor current {n} mA",
        "temperature {n} C humidity {h}%",
        "mqtt heartbeat ok",
        "gnss fix, {n} satellites",
    )
    fw = dock.firmware_state.get("firmware_version", "")
    for _ in range(rng.randint(40, 120)):
        t += rng.randint(1, 60)
        text = rng.choice(events).format(
            fw=fw, n=rng.randint(1, 900), b=rng.randint(0, 1), h=rng.randint(20, 90)
        )
        lines.append(f"{t} [{who}] boot={boot.index} {text}")
    return ("\n".join(lines) + "\n").encode()


def make_archive(dock: SimDock, module: str, boots: list[Boot]) -> bytes:
    """A tar.gz of one text log per boot (blocking: run it in an executor)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for boot in boots:
            body = log_text(dock, module, boot)
            info = tarfile.TarInfo(f"{_device(dock, module)}/boot_{boot.index}.log")
            info.size = len(body)
            info.mtime = boot.end_time
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


@dataclass
class _File:
    module: str
    key: str
    boots: list[Boot]
    status: str = "in_progress"
    step: int = 0
    percent: int = 0
    size: int = 0
    fingerprint: str = ""
    result: int = 0
    finish_time: int = 0
    rate: int = 0


def _report(dock: SimDock, bid: str, status: str, files: list[_File], result: int = 0) -> None:
    ext = {
        "files": [
            {
                "module": f.module,
                "size": f.size,
                "device_sn": _device(dock, f.module),
                "key": f.key,
                "fingerprint": f.fingerprint,
                "progress": {
                    "progress": f.percent,
                    "current_step": f.step,
                    "total_step": len(STEPS),
                    "finish_time": f.finish_time,
                    "upload_rate": f.rate,
                    "status": f.status,
                    "result": f.result,
                },
            }
            for f in files
        ]
    }
    data = {"result": result, "output": {"status": status, "ext": ext}}
    dock.messages.send_event("fileupload_progress", data, bid=bid)


async def _upload(
    dock: SimDock,
    bid: str,
    grant: StorageGrant,
    expire_ms: int,
    plan: list[tuple[str, str, list[Boot]]],
) -> None:
    state = state_of(dock)
    files = [_File(module, key, boots) for module, key, boots in plan]
    loop = asyncio.get_running_loop()
    try:
        if expire_ms <= int(time.time() * 1000):
            for f in files:
                f.status, f.result = "failed", UPLOAD_FAILED
            _report(dock, bid, "failed", files, UPLOAD_FAILED)
            return
        for n, step in enumerate(STEPS, 1):
            if state.gate is not None:
                await state.gate.wait()
            for f in files:
                if f.module in state.canceled:
                    f.status = "canceled"
                if f.status != "in_progress":
                    continue
                f.step = n
                if step == "file_uploading":
                    body = await loop.run_in_executor(None, make_archive, dock, f.module, f.boots)
                    started = time.monotonic()
                    try:
                        await loop.run_in_executor(
                            None, put_object, grant, f.key, body, "application/gzip"
                        )
                    except UploadError as exc:
                        log.warning("%s: log upload failed: %s", dock.sn, exc)
                        f.status, f.result = "failed", UPLOAD_FAILED
                        continue
                    state.uploaded.append(f.key)
                    f.size = len(body)
                    f.fingerprint = hashlib.md5(body).hexdigest()
                    f.rate = int(len(body) / max(0.001, time.monotonic() - started))
                    f.finish_time = int(time.time() * 1000)
                    f.percent, f.status = 100, "ok"
                else:
                    f.percent = 100 * (n - 1) // len(STEPS) + 10
            if all(f.status == "canceled" for f in files):
                _report(dock, bid, "canceled", files)
                return
            if state.fail_with is not None:
                code, state.fail_with = state.fail_with, None
                for f in files:
                    if f.status == "in_progress":
                        f.status, f.result = "failed", code
                _report(dock, bid, "failed", files, code)
                return
            _report(dock, bid, step, files)
            await dock.sleep_sim(dock.timing.debug_step_s)
        failed = [f for f in files if f.status == "failed"]
        if failed:
            _report(dock, bid, "failed", files, failed[0].result)
        elif all(f.status == "canceled" for f in files):
            _report(dock, bid, "canceled", files)
        else:
            _report(dock, bid, "ok", files)
    finally:
        state.running = ""
        state.canceled = set()
