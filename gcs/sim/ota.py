"""Firmware upgrades on a simulated dock (protocol §14, §5 `ota_progress`).

`ota_create` names the dock and/or its aircraft, each with a package URL, its MD5 and size. The
dock refuses when it cannot upgrade now (already upgrading 312014, not idle 312015, emergency
stop pressed 514121, aircraft not in the dock 312027, malformed request 312012), else it answers
"in_progress", turns to `mode_code` 3 with `firmware_upgrade_status` 1, and for each device
downloads the package (really: an HTTP GET of the presigned URL), checks its size and MD5 (a
mismatch fails with 312003), then "flashes" it; every step is an `ota_progress` event with the
command's bid and `current_step` `download_firmware` / `upgrade_firmware` (the docs' strings).
At the end the devices report their new `firmware_version` (and `compatible_status` 0) in
their state. Tests make the next upgrade fail with `state_of(dock).fail_with = code`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import urllib.request
import weakref
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from gcs.protocol.envelope import Message
from gcs.sim import codes
from gcs.sim.gateway import ServiceHandler, ServiceResult

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock

log = logging.getLogger(__name__)

ALREADY_UPGRADING = 312014
DOCK_BUSY = 312015
BAD_REQUEST = 312012
PACKAGE_INVALID = 312003
NO_AIRCRAFT_IN_DOCK = 312027
EMERGENCY_STOP_PRESSED = 514121
DOWNLOAD_FAILED = 312004
UPGRADING_MODE = 3
UPGRADE_TYPES = (2, 3, 4)  # consistency, normal, PSDK (Dock 3)
MAX_PACKAGE_BYTES = 512 * 1024 * 1024
CHUNK = 256 * 1024
FLASH_STEPS = 4


@dataclass
class OtaSim:
    """One dock's upgrade state: the running job, what it installed, a fault to inject."""

    running: str = ""  # bid of the upgrade in progress
    installed: list[tuple[str, str]] = field(default_factory=list)  # (sn, version)
    fail_with: int | None = None  # the next upgrade ends "failed" with this code


_STATES: weakref.WeakKeyDictionary[SimDock, OtaSim] = weakref.WeakKeyDictionary()


def state_of(dock: SimDock) -> OtaSim:
    state = _STATES.get(dock)
    if state is None:
        state = _STATES[dock] = OtaSim()
    return state


def handlers(dock: SimDock) -> dict[str, ServiceHandler]:
    return {"ota_create": partial(ota_create, dock)}


def _valid(dock: SimDock, devices: Any) -> list[dict[str, Any]] | None:
    if not isinstance(devices, list) or not 1 <= len(devices) <= 2:
        return None
    out = []
    for d in devices:
        if not isinstance(d, dict) or d.get("sn") not in (dock.sn, dock.aircraft_sn):
            return None
        url, md5, size = d.get("file_url"), d.get("md5"), d.get("file_size")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            return None
        if not isinstance(md5, str) or len(md5) != 32:
            return None
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size:
            return None
        if not isinstance(d.get("product_version"), str) or not d["product_version"]:
            return None
        if d.get("firmware_upgrade_type") not in UPGRADE_TYPES:
            return None
        out.append(d)
    return out


def ota_create(dock: SimDock, msg: Message) -> ServiceResult:
    devices = _valid(dock, dock.data_of(msg).get("devices"))
    if devices is None:
        return BAD_REQUEST, None
    state = state_of(dock)
    p = dock.dock_props
    if state.running or dock.firmware_state.get("firmware_upgrade_status") == 1:
        return ALREADY_UPGRADING, None
    if p.get("emergency_stop_state") == 1:
        return EMERGENCY_STOP_PRESSED, None
    if p["mode_code"] != 0 or dock.mission is not None or dock.command is not None:
        return DOCK_BUSY, None
    if any(d["sn"] == dock.aircraft_sn for d in devices) and p.get("drone_in_dock") != 1:
        return NO_AIRCRAFT_IN_DOCK, None
    state.running = msg.bid
    p["mode_code"] = UPGRADING_MODE
    dock.firmware_state["firmware_upgrade_status"] = 1
    dock.messages.send_state({"firmware_upgrade_status": 1})
    dock.start_job(_upgrade(dock, msg.bid, devices), f"ota-{msg.bid}")
    return codes.OK, {"status": "in_progress"}


def _event(dock: SimDock, bid: str, status: str, percent: int, step: str, result: int = 0) -> None:
    data = {
        "result": result,
        "output": {"status": status, "progress": {"percent": percent, "current_step": step}},
    }
    dock.messages.send_event("ota_progress", data, bid=bid, need_reply=status != "in_progress")


def _open(url: str) -> Any:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the station's own certificate
    return urllib.request.urlopen(url, timeout=30, context=context)


async def download(url: str, on_chunk: Any = None) -> tuple[str, int]:
    """(MD5, size) of what `url` serves, read in chunks in an executor.

    Raises:
        OSError: unreachable, an HTTP error status, or larger than `MAX_PACKAGE_BYTES`.
    """
    loop = asyncio.get_running_loop()
    response = await loop.run_in_executor(None, _open, url)
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        while chunk := await loop.run_in_executor(None, response.read, CHUNK):
            md5.update(chunk)
            size += len(chunk)
            if size > MAX_PACKAGE_BYTES:
                raise OSError(f"package larger than {MAX_PACKAGE_BYTES} bytes")
            if on_chunk is not None:
                on_chunk(size)
    finally:
        await loop.run_in_executor(None, response.close)
    return md5.hexdigest(), size


async def _upgrade(dock: SimDock, bid: str, devices: list[dict[str, Any]]) -> None:
    state = state_of(dock)
    share = 100 // len(devices)
    try:
        for n, d in enumerate(devices):
            base = n * share
            _event(dock, bid, "in_progress", base, "download_firmware")
            try:
                md5, size = await download(d["file_url"])
            except (OSError, ValueError) as exc:
                log.warning("%s: firmware download failed: %s", dock.sn, exc)
                _event(dock, bid, "failed", base, "download_firmware", DOWNLOAD_FAILED)
                return
            if size != d["file_size"] or md5 != d["md5"].lower():
                log.warning("%s: firmware package %s does not match", dock.sn, d["file_name"])
                _event(dock, bid, "failed", base + share // 2, "download_firmware", PACKAGE_INVALID)
                return
            _event(dock, bid, "in_progress", base + share // 2, "download_firmware")
            for step in range(1, FLASH_STEPS + 1):
                await dock.sleep_sim(dock.timing.debug_step_s)
                if state.fail_with is not None:
                    code, state.fail_with = state.fail_with, None
                    _event(dock, bid, "failed", base + share // 2, "upgrade_firmware", code)
                    return
                percent = base + share // 2 + (share - share // 2) * step // (FLASH_STEPS + 1)
                _event(dock, bid, "in_progress", percent, "upgrade_firmware")
            _install(dock, d["sn"], d["product_version"])
        _event(dock, bid, "ok", 100, "upgrade_firmware")
    finally:
        state.running = ""
        dock.dock_props["mode_code"] = (
            0 if dock.dock_props["mode_code"] == UPGRADING_MODE else (dock.dock_props["mode_code"])
        )
        dock.firmware_state["firmware_upgrade_status"] = 0
        dock.messages.send_state({"firmware_upgrade_status": 0})


def _install(dock: SimDock, sn: str, version: str) -> None:
    state_of(dock).installed.append((sn, version))
    news = {"firmware_version": version, "compatible_status": 0, "firmware_upgrade_status": 0}
    if sn == dock.sn:
        dock.firmware_state.update(news)
        dock.messages.send_state(dict(news))
    else:
        dock.aircraft_firmware = version
        dock.messages.send_state(dict(news), sn=dock.aircraft_sn)
