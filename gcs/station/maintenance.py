"""Dock maintenance (protocol §4.3 remote debugging, §4.6): the commands an operator sends a dock
from its control panel or the HTTP API, declared once each for the station's command path.

Every command except `debug_mode_open` needs the dock in remote-debugging mode (`mode_code` 2);
`debug_mode_open` needs it idle (the Demo's rule). Jobs with a progress event of the same name are
followed to their end. Commands that can hurt the aircraft or lose data (force-closing the cover,
formatting, rebooting, powering the aircraft off) run only with an explicit confirmation.
"""

from __future__ import annotations

from collections.abc import Sequence

from gcs.station.capability import Capability
from gcs.station.commands import DEBUG_MODE, DOCK_IDLE, ONLINE, CommandSpec

_DEBUG = (ONLINE, DEBUG_MODE)


def _job(
    method: str,
    en: str,
    zh: str,
    *,
    timeout_s: float = 120.0,
    dangerous: bool = False,
) -> CommandSpec:
    """A remote-debugging job whose progress event has the method's own name."""
    return CommandSpec(
        method,
        en,
        zh,
        progress=frozenset({method}),
        progress_timeout_s=timeout_s,
        preconditions=_DEBUG,
        dangerous=dangerous,
    )


def _switch(method: str, en: str, zh: str) -> CommandSpec:
    """A remote-debugging command that ends at its reply."""
    return CommandSpec(method, en, zh, preconditions=_DEBUG)


MAINTENANCE_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "debug_mode_open",
        "Turn debug mode on",
        "开启远程调试模式",
        preconditions=(ONLINE, DOCK_IDLE),
    ),
    _switch("debug_mode_close", "Turn debug mode off", "关闭远程调试模式"),
    _switch("supplement_light_open", "Supplementary light on", "打开补光灯"),
    _switch("supplement_light_close", "Supplementary light off", "关闭补光灯"),
    _switch("battery_maintenance_switch", "Battery maintenance", "电池保养"),
    _switch("air_conditioner_mode_switch", "Air-conditioner mode", "空调模式切换"),
    _switch("alarm_state_switch", "Sound-and-light alarm", "声光报警"),
    _switch("battery_store_mode_switch", "Battery storage mode", "电池运行模式"),
    _switch("sdr_workmode_switch", "Video link mode (SDR / 4G)", "图传模式（SDR / 4G）"),
    _switch("sim_slot_switch", "SIM slot", "SIM 卡槽切换"),
    _job("device_reboot", "Reboot the dock", "重启机场", timeout_s=600, dangerous=True),
    _job("drone_open", "Power the aircraft on", "飞行器开机"),
    _job("drone_close", "Power the aircraft off", "飞行器关机", dangerous=True),
    _job("drone_format", "Format the aircraft's storage", "格式化飞行器存储", dangerous=True),
    _job("device_format", "Format the dock's storage", "格式化机场存储", dangerous=True),
    _job("cover_open", "Open the cover", "打开舱盖"),
    _job("cover_close", "Close the cover", "关闭舱盖"),
    _job("cover_force_close", "Force-close the cover", "强制关闭舱盖", dangerous=True),
    _job("putter_open", "Open the push rods", "推杆展开"),
    _job("putter_close", "Close the push rods", "推杆闭合"),
    _job("charge_open", "Start charging", "开始充电", timeout_s=300),
    _job("charge_close", "Stop charging", "停止充电"),
    _job("esim_activate", "Activate the eSIM", "激活 eSIM", timeout_s=300),
    _job("esim_operator_switch", "Switch the eSIM operator", "切换 eSIM 运营商", timeout_s=300),
    _job("rtk_calibration", "RTK calibration", "RTK 标定", timeout_s=600),
)


class Maintenance(Capability):
    name = "maintenance"

    def commands(self) -> Sequence[CommandSpec]:
        return MAINTENANCE_COMMANDS
