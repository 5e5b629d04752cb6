"""Remote debugging on a simulated dock (protocol §4.3).

`debug_mode_open` puts the dock in remote-debug mode (`mode_code` 2); only then does it accept
the switches (answered at once with `output.status` "ok") and the progress jobs (cover, charge,
aircraft power, putters, reboot, format), which answer "in_progress" and then report each step
as an event of the same method and the command's `bid`, the last one "ok" with `need_reply` 1.
A dock on a flight task refuses with "dock working", one not in remote-debug mode with
"not in remote-debug mode".
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from gcs.protocol.envelope import Message
from gcs.sim import codes, payloads
from gcs.sim.gateway import ServiceHandler, ServiceResult

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock

# Remote-debug jobs that report progress with events of the same method (protocol §4.3).
PROGRESS_STEPS: dict[str, tuple[str, ...]] = {
    "cover_open": (
        "get_bid", "check_work_mode", "check_task_state", "check_scram_state", "open_cover",
    ),
    "cover_close": (
        "get_bid", "check_work_mode", "check_task_state", "check_scram_state",
        "turn_on_drone", "drone_paddle_forward", "close_cover", "drone_paddle_reverse",
        "drone_paddle_stop",
    ),
    "cover_force_close": ("get_bid", "check_work_mode", "close_cover"),
    "charge_open": (
        "get_bid", "check_work_mode", "check_task_state", "check_cover", "start_charge",
    ),
    "charge_close": ("get_bid", "check_work_mode", "check_task_state", "stop_charge"),
    "drone_open": ("get_bid", "check_work_mode", "check_task_state", "open_drone"),
    "drone_close": (
        "get_bid", "check_work_mode", "check_task_state", "check_scram_state", "close_drone",
    ),
    "device_reboot": (
        "get_bid", "check_ac_input_state", "upgrading_prevent_reboot", "check_work_mode",
        "check_task_state", "write_reboot_param_file",
    ),
    "drone_format": ("get_bid", "check_work_mode", "format"),
    "device_format": ("get_bid", "check_work_mode", "format"),
    "putter_open": ("get_bid", "check_work_mode", "check_task_state", "free_putter"),
    "putter_close": ("get_bid", "check_work_mode", "check_task_state", "close_putter"),
}  # fmt: skip

# Remote-debug switches answered at once (`output.status` "ok").
SWITCHES = (
    "supplement_light_open",
    "supplement_light_close",
    "alarm_state_switch",
    "battery_maintenance_switch",
    "air_conditioner_mode_switch",
    "battery_store_mode_switch",
    "sdr_workmode_switch",
)


def handlers(dock: SimDock) -> dict[str, ServiceHandler]:
    """The remote-debug `services` methods `dock` answers, by method."""
    table: dict[str, ServiceHandler] = {
        "debug_mode_open": partial(debug_mode_open, dock),
        "debug_mode_close": partial(debug_mode_close, dock),
    }
    for method in PROGRESS_STEPS:
        if method.startswith("putter_") and dock.product.gateway_model.type != 1:
            continue  # driving rods: Dock 1 only
        table[method] = partial(progress_job, dock)
    for method in SWITCHES:
        table[method] = partial(switch, dock)
    return table


def debug_mode_open(dock: SimDock, msg: Message) -> ServiceResult:
    mode = dock.dock_props["mode_code"]
    if mode == 4:
        return codes.DOCK_WORKING, None
    dock.dock_props["mode_code"] = 2
    return codes.OK, {"status": "ok"}


def debug_mode_close(dock: SimDock, msg: Message) -> ServiceResult:
    if dock.dock_props["mode_code"] == 2:
        dock.dock_props["mode_code"] = 0
    return codes.OK, {"status": "ok"}


def _refusal(dock: SimDock) -> int | None:
    mode = dock.dock_props["mode_code"]
    if mode == 2:
        return None
    return codes.DOCK_WORKING if mode == 4 else codes.NOT_IN_REMOTE_DEBUG


def switch(dock: SimDock, msg: Message) -> ServiceResult:
    """One of :data:`SWITCHES`: change the dock's OSD value at once."""
    refusal = _refusal(dock)
    if refusal is not None:
        return refusal, None
    method = msg.method or ""
    p = dock.dock_props
    action = dock.data_of(msg).get("action")
    if method == "supplement_light_open":
        p["supplement_light_state"] = 1
    elif method == "supplement_light_close":
        p["supplement_light_state"] = 0
    elif method == "alarm_state_switch" and action in (0, 1):
        p["alarm_state"] = action
    elif method == "battery_maintenance_switch" and action in (0, 1):
        p["drone_battery_maintenance_info"]["maintenance_state"] = 2 if action else 0
    elif method == "air_conditioner_mode_switch" and action in (0, 1, 2, 3):
        p["air_conditioner"]["air_conditioner_state"] = action
    elif method == "battery_store_mode_switch" and action in (1, 2):
        p["battery_store_mode"] = action
    elif method == "sdr_workmode_switch":
        mode = dock.data_of(msg).get("link_workmode")
        if mode not in (0, 1):
            return codes.BAD_PARAMETERS, None
        p["wireless_link"]["link_workmode"] = mode
        return codes.OK, None
    elif method not in ("supplement_light_open", "supplement_light_close"):
        return codes.BAD_PARAMETERS, None
    return codes.OK, {"status": "ok"}


def progress_job(dock: SimDock, msg: Message) -> ServiceResult:
    """One of :data:`PROGRESS_STEPS`: answer "in_progress" and start reporting its steps."""
    refusal = _refusal(dock)
    if refusal is not None:
        return refusal, None
    method = msg.method or ""
    if method in ("cover_open", "cover_close", "cover_force_close"):
        dock.dock_props["cover_state"] = 2  # half open while moving
    dock.start_job(_run_job(dock, method, msg.bid), method)
    return codes.OK, {"status": "in_progress"}


async def _run_job(dock: SimDock, method: str, bid: str) -> None:
    steps = PROGRESS_STEPS[method]
    for i, step in enumerate(steps):
        percent = int(100 * i / len(steps))
        data = payloads.progress("in_progress", percent=percent, step_key=step)
        dock.messages.send_event(method, data, bid=bid)
        await dock.sleep_sim(dock.timing.debug_step_s)
    _finish(dock, method)
    dock.messages.send_event(
        method,
        payloads.progress("ok", percent=100, step_key=steps[-1]),
        bid=bid,
        need_reply=True,
    )
    if method == "device_reboot":
        await dock.sleep_sim(0.5)
        dock.reboot()


def _finish(dock: SimDock, method: str) -> None:
    p = dock.dock_props
    ac = dock.aircraft
    if method == "cover_open":
        p["cover_state"] = 1
    elif method in ("cover_close", "cover_force_close"):
        p["cover_state"] = 0
    elif method == "putter_open":
        p["putter_state"] = 1
    elif method == "putter_close":
        p["putter_state"] = 0
    elif method == "charge_open":
        dock.auto_charge = True
    elif method == "charge_close":
        dock.auto_charge = False
        p["drone_charge_state"]["state"] = 0
    elif method == "drone_open" and not ac.powered:
        ac.powered = True
        dock.announce_topology()
        dock.publish_aircraft_state()
    elif method == "drone_close" and ac.powered:
        ac.powered = False
        if dock.live.clear(dock.aircraft_sn):
            dock.publish_live_status()
        dock.announce_topology()
