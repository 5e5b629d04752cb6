"""Enums, labels and units of dock, aircraft and RC properties (protocol §3).

Theory of operation
-------------------
Every enumerated property value gets an ``IntEnum`` with stable Python names, and every member a
label in English and Chinese. :func:`label` turns a raw wire value into text for a person and
never raises: a value the enum does not know reads ``"Unknown (42)"`` / ``"未知 (42)"``, because
new firmware adds values long before we learn about them.

Wire properties are named by ``(kind, path)``: ``kind`` is ``"dock"``, ``"aircraft"`` or
``"rc"``; ``path`` is the dotted key inside ``data`` with list levels left out
(``"maintain_status.maintain_status_array.last_maintain_type"``). The per-payload objects of
aircraft OSD, keyed by payload index (``"99-0-0": {...}``), use the pseudo key ``payload``
(``"payload.thermal_gain_mode"``); :func:`property_path` builds such paths from raw keys.
:data:`PROPERTY_ENUMS` maps paths to enums and :data:`UNITS` documents the unit of each numeric
property, including the traps: aircraft ``wind_speed`` is in 0.1 m/s while the dock's is in m/s,
and storage sizes are in KB.

OSD arrives loosely typed: booleans as ``0/1`` or ``true/false``, numbers occasionally as strings.
:func:`to_bool`, :func:`as_int` and :func:`as_float` read such values and return ``None`` for
junk instead of raising.
"""

from __future__ import annotations

import enum
import math
import re
from typing import Final, Literal

__all__ = [
    "ENUMS",
    "KB",
    "PROPERTY_ENUMS",
    "UNITS",
    "AirConditionerState",
    "AircraftModeCode",
    "BatteryHeatState",
    "BatteryMaintenanceState",
    "BatteryStoreMode",
    "CameraMode",
    "ChargeState",
    "CommanderFlightMode",
    "CommanderModeLostAction",
    "CompatibleStatus",
    "CoverState",
    "DeviceKind",
    "DockModeCode",
    "DrcState",
    "DroneInDock",
    "EmergencyStopState",
    "ExitWaylineWhenRcLost",
    "ExposureMode",
    "FirmwareUpgradeStatus",
    "FlighttaskStepCode",
    "FocusMode",
    "FocusState",
    "Gear",
    "IrMeteringMode",
    "LinkState",
    "LinkWorkmode",
    "MaintenanceType",
    "MeasureTargetErrorState",
    "ModeCodeReason",
    "NetworkQuality",
    "NetworkType",
    "OnlineStatus",
    "OutOfControlAction",
    "PhotoState",
    "PositionFixState",
    "PositionQuality",
    "PutterState",
    "RainfallLevel",
    "RcLostAction",
    "RecordingState",
    "RthMode",
    "SilentMode",
    "SimSlot",
    "Switch",
    "TelecomOperator",
    "ThermalGainMode",
    "ThermalPalette",
    "UserExperienceImprovement",
    "Validity",
    "WindDirection",
    "YesNo",
    "aircraft_wind_speed_ms",
    "as_float",
    "as_int",
    "dock_wind_speed_ms",
    "label",
    "labels",
    "network_rate_bytes_per_s",
    "property_enum",
    "property_path",
    "storage_bytes",
    "to_bool",
]

DeviceKind = Literal["dock", "aircraft", "rc"]

# en, zh per value; filled next to each enum below.
_LABELS: dict[type[enum.IntEnum], dict[int, tuple[str, str]]] = {}


# --- generic two-state values -------------------------------------------------------------------


class Switch(enum.IntEnum):
    """A 0/1 off/on switch (lights, alarm, obstacle sensing, backup battery…)."""

    OFF = 0
    ON = 1


_LABELS[Switch] = {0: ("Off", "关"), 1: ("On", "开")}


class YesNo(enum.IntEnum):
    """A 0/1 flag (``is_near_height_limit``, ``is_calibration``, ``device_paired``…)."""

    NO = 0
    YES = 1


_LABELS[YesNo] = {0: ("No", "否"), 1: ("Yes", "是")}


class Validity(enum.IntEnum):
    """A 0/1 validity flag (``home_position_is_valid``, ``tilt_angle.valid``)."""

    INVALID = 0
    VALID = 1


_LABELS[Validity] = {0: ("Invalid", "无效"), 1: ("Valid", "有效")}


class OnlineStatus(enum.IntEnum):
    """``sub_device.device_online_status``: is the aircraft powered and reachable."""

    OFFLINE = 0
    ONLINE = 1


_LABELS[OnlineStatus] = {0: ("Offline", "离线"), 1: ("Online", "在线")}


class LinkState(enum.IntEnum):
    """``wireless_link.sdr_link_state`` / ``4g_link_state``."""

    DISCONNECTED = 0
    CONNECTED = 1


_LABELS[LinkState] = {0: ("Disconnected", "未连接"), 1: ("Connected", "已连接")}


# --- dock (§3.1, §3.2) --------------------------------------------------------------------------


class DockModeCode(enum.IntEnum):
    """Dock ``mode_code``. 5 is in the docs only, not in the Demo (§19 item 7)."""

    IDLE = 0
    ON_SITE_DEBUGGING = 1
    REMOTE_DEBUGGING = 2
    FIRMWARE_UPGRADING = 3
    WORKING = 4
    AWAITING_CALIBRATION = 5


_LABELS[DockModeCode] = {
    0: ("Idle", "空闲"),
    1: ("On-site debugging", "现场调试"),
    2: ("Remote debugging", "远程调试"),
    3: ("Upgrading firmware", "固件升级中"),
    4: ("Working", "作业中"),
    5: ("Awaiting calibration", "待标定"),
}


class CoverState(enum.IntEnum):
    """Dock ``cover_state``."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2
    ABNORMAL = 3


_LABELS[CoverState] = {
    0: ("Closed", "已关闭"),
    1: ("Open", "已打开"),
    2: ("Half open", "半开"),
    3: ("Abnormal", "舱盖异常"),
}


class PutterState(enum.IntEnum):
    """Dock ``putter_state`` (driving rods, Dock 1)."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2
    ABNORMAL = 3


_LABELS[PutterState] = {
    0: ("Closed", "已合拢"),
    1: ("Open", "已展开"),
    2: ("Half open", "半展开"),
    3: ("Abnormal", "推杆异常"),
}


class DroneInDock(enum.IntEnum):
    """Dock ``drone_in_dock``."""

    OUTSIDE = 0
    INSIDE = 1


_LABELS[DroneInDock] = {0: ("Outside the dock", "不在舱内"), 1: ("In the dock", "在舱内")}


class ChargeState(enum.IntEnum):
    """Dock ``drone_charge_state.state``."""

    IDLE = 0
    CHARGING = 1


_LABELS[ChargeState] = {0: ("Not charging", "未充电"), 1: ("Charging", "充电中")}


class EmergencyStopState(enum.IntEnum):
    """Dock ``emergency_stop_state``."""

    RELEASED = 0
    PRESSED = 1


_LABELS[EmergencyStopState] = {0: ("Released", "未按下"), 1: ("Pressed", "已按下")}


class BatteryStoreMode(enum.IntEnum):
    """Dock ``battery_store_mode``: the charge level the dock keeps the aircraft battery at."""

    PLAN = 1
    EMERGENCY = 2


_LABELS[BatteryStoreMode] = {
    1: ("Planned tasks (keeps 55–60 %)", "计划任务模式（保持 55–60%）"),
    2: ("Standby / emergency (keeps 90–95 %)", "待命应急模式（保持 90–95%）"),
}


class AirConditionerState(enum.IntEnum):
    """Dock ``air_conditioner.air_conditioner_state``; 32767 = not connected (Demo)."""

    IDLE = 0
    COOLING = 1
    HEATING = 2
    DEHUMIDIFYING = 3
    COOLING_EXIT = 4
    HEATING_EXIT = 5
    DEHUMIDIFYING_EXIT = 6
    COOLING_PREPARING = 7
    HEATING_PREPARING = 8
    DEHUMIDIFYING_PREPARING = 9
    AIR_COOLING_PREPARING = 10
    AIR_COOLING = 11
    AIR_COOLING_EXIT = 12
    DEFOG_PREPARING = 13
    DEFOGGING = 14
    DEFOG_EXIT = 15
    DISCONNECTED = 32767


_LABELS[AirConditionerState] = {
    0: ("Idle", "空闲"),
    1: ("Cooling", "制冷中"),
    2: ("Heating", "制热中"),
    3: ("Dehumidifying", "除湿中"),
    4: ("Leaving cooling", "制冷退出中"),
    5: ("Leaving heating", "制热退出中"),
    6: ("Leaving dehumidifying", "除湿退出中"),
    7: ("Preparing to cool", "制冷准备中"),
    8: ("Preparing to heat", "制热准备中"),
    9: ("Preparing to dehumidify", "除湿准备中"),
    10: ("Preparing air cooling", "风冷准备中"),
    11: ("Air cooling", "风冷中"),
    12: ("Leaving air cooling", "风冷退出中"),
    13: ("Preparing to defog", "除雾准备中"),
    14: ("Defogging", "除雾中"),
    15: ("Leaving defog", "除雾退出中"),
    32767: ("Not connected", "空调未连接"),
}


class RainfallLevel(enum.IntEnum):
    """Dock ``rainfall``."""

    NONE = 0
    LIGHT = 1
    MODERATE = 2
    HEAVY = 3


_LABELS[RainfallLevel] = {
    0: ("No rain", "无雨"),
    1: ("Light rain", "小雨"),
    2: ("Moderate rain", "中雨"),
    3: ("Heavy rain", "大雨"),
}


class PositionFixState(enum.IntEnum):
    """``position_state.is_fixed`` (dock and aircraft)."""

    NOT_STARTED = 0
    FIXING = 1
    FIXED = 2
    FAILED = 3


_LABELS[PositionFixState] = {
    0: ("Not started", "未开始"),
    1: ("Fixing", "收敛中"),
    2: ("Fixed", "已收敛"),
    3: ("Failed", "收敛失败"),
}


class PositionQuality(enum.IntEnum):
    """``position_state.quality``: satellite signal level 1–5, or 10 for an RTK fix."""

    LEVEL_1 = 1
    LEVEL_2 = 2
    LEVEL_3 = 3
    LEVEL_4 = 4
    LEVEL_5 = 5
    RTK_FIXED = 10


_LABELS[PositionQuality] = {
    **{n: (f"Level {n}", f"{n} 档") for n in range(1, 6)},
    10: ("RTK fixed", "RTK 固定解"),
}


class NetworkType(enum.IntEnum):
    """Dock ``network_state.type``."""

    CELLULAR_4G = 1
    ETHERNET = 2


_LABELS[NetworkType] = {1: ("4G", "4G"), 2: ("Ethernet", "以太网")}


class NetworkQuality(enum.IntEnum):
    """Dock ``network_state.quality`` (a wired dock may report 0)."""

    NO_SIGNAL = 0
    BAD = 1
    POOR = 2
    FAIR = 3
    GOOD = 4
    EXCELLENT = 5


_LABELS[NetworkQuality] = {
    0: ("No signal", "无信号"),
    1: ("Bad", "很差"),
    2: ("Poor", "较差"),
    3: ("Fair", "一般"),
    4: ("Good", "较好"),
    5: ("Excellent", "很好"),
}


class MaintenanceType(enum.IntEnum):
    """``maintain_status…last_maintain_type``: aircraft 1–3, dock 17/18."""

    NONE = 0
    AIRCRAFT_BASIC = 1
    AIRCRAFT_ROUTINE = 2
    AIRCRAFT_DEEP = 3
    DOCK_ROUTINE = 17
    DOCK_DEEP = 18


_LABELS[MaintenanceType] = {
    0: ("No maintenance", "无保养"),
    1: ("Aircraft basic maintenance", "飞行器基础保养"),
    2: ("Aircraft routine maintenance", "飞行器常规保养"),
    3: ("Aircraft deep maintenance", "飞行器深度保养"),
    17: ("Dock routine maintenance", "机场常规保养"),
    18: ("Dock deep maintenance", "机场深度保养"),
}


class BatteryMaintenanceState(enum.IntEnum):
    """Dock ``drone_battery_maintenance_info.maintenance_state``."""

    NOT_NEEDED = 0
    NEEDED = 1
    IN_PROGRESS = 2


_LABELS[BatteryMaintenanceState] = {
    0: ("No maintenance needed", "无需保养"),
    1: ("Maintenance needed", "需要保养"),
    2: ("Maintaining", "保养中"),
}


class BatteryHeatState(enum.IntEnum):
    """Dock ``drone_battery_maintenance_info.heat_state``."""

    OFF = 0
    HEATING = 1
    KEEPING_WARM = 2


_LABELS[BatteryHeatState] = {
    0: ("Not heating", "未加热"),
    1: ("Heating", "加热中"),
    2: ("Keeping warm", "保温中"),
}


class FlighttaskStepCode(enum.IntEnum):
    """Dock ``flighttask_step_code``: where the dock is in its task cycle."""

    PREPARING = 0
    FLYING = 1
    RECOVERING = 2
    UPDATING_FLIGHT_AREAS = 3
    UPDATING_TERRAIN = 4
    IDLE = 5
    AIRCRAFT_ABNORMAL = 255
    UNKNOWN = 256


_LABELS[FlighttaskStepCode] = {
    0: ("Preparing", "作业准备中"),
    1: ("Flying", "飞行作业中"),
    2: ("Post-flight recovery", "作业后状态恢复"),
    3: ("Updating custom flight areas", "自定义飞行区更新中"),
    4: ("Updating terrain / offline map", "地形或离线地图更新中"),
    5: ("Idle", "空闲"),
    255: ("Aircraft abnormal", "飞行器异常"),
    256: ("Unknown state", "未知状态"),
}


class LinkWorkmode(enum.IntEnum):
    """``wireless_link.link_workmode`` (also ``sdr_workmode_switch``)."""

    SDR = 0
    SDR_AND_4G = 1


_LABELS[LinkWorkmode] = {0: ("SDR only", "仅 SDR 图传"), 1: ("SDR + 4G", "SDR + 4G 融合")}


class DrcState(enum.IntEnum):
    """Dock ``drc_state`` (and ``drc_status_notify``)."""

    NOT_CONNECTED = 0
    CONNECTING = 1
    CONNECTED = 2


_LABELS[DrcState] = {
    0: ("Not connected", "未连接"),
    1: ("Connecting", "连接中"),
    2: ("Connected", "已连接"),
}


class SilentMode(enum.IntEnum):
    """Dock ``silent_mode``."""

    NORMAL = 0
    SILENT = 1


_LABELS[SilentMode] = {0: ("Normal", "普通模式"), 1: ("Silent", "静音模式")}


class UserExperienceImprovement(enum.IntEnum):
    """Dock ``user_experience_improvement`` (DJI's data-sharing programme)."""

    INITIAL = 0
    REFUSED = 1
    AGREED = 2


_LABELS[UserExperienceImprovement] = {
    0: ("Not asked yet", "尚未选择"),
    1: ("Declined", "已拒绝"),
    2: ("Agreed", "已同意"),
}


class CompatibleStatus(enum.IntEnum):
    """State ``compatible_status``: whether a consistency upgrade is needed."""

    CONSISTENT = 0
    UPGRADE_NEEDED = 1


_LABELS[CompatibleStatus] = {
    0: ("Consistent", "版本一致"),
    1: ("Consistency upgrade needed", "需要一致性升级"),
}


class FirmwareUpgradeStatus(enum.IntEnum):
    """State ``firmware_upgrade_status``."""

    NOT_UPGRADING = 0
    UPGRADING = 1


_LABELS[FirmwareUpgradeStatus] = {0: ("Not upgrading", "未在升级"), 1: ("Upgrading", "升级中")}


class SimSlot(enum.IntEnum):
    """``dongle_infos[].sim_slot``."""

    UNKNOWN = 0
    SIM = 1
    ESIM = 2


_LABELS[SimSlot] = {0: ("Unknown", "未知卡槽"), 1: ("SIM card", "实体 SIM 卡"), 2: ("eSIM", "eSIM")}


class TelecomOperator(enum.IntEnum):
    """``telecom_operator`` of a SIM / eSIM (Chinese carriers)."""

    UNKNOWN = 0
    CHINA_MOBILE = 1
    CHINA_UNICOM = 2
    CHINA_TELECOM = 3


_LABELS[TelecomOperator] = {
    0: ("Unknown carrier", "未知运营商"),
    1: ("China Mobile", "中国移动"),
    2: ("China Unicom", "中国联通"),
    3: ("China Telecom", "中国电信"),
}


# --- aircraft (§3.3, §3.5) ----------------------------------------------------------------------


class AircraftModeCode(enum.IntEnum):
    """Aircraft ``mode_code`` (flight mode)."""

    STANDBY = 0
    TAKEOFF_PREPARING = 1
    TAKEOFF_READY = 2
    MANUAL = 3
    AUTO_TAKEOFF = 4
    WAYLINE = 5
    PANORAMA = 6
    ACTIVE_TRACK = 7
    ADSB_AVOIDANCE = 8
    AUTO_RETURN_HOME = 9
    AUTO_LANDING = 10
    FORCED_LANDING = 11
    THREE_PROPELLER_LANDING = 12
    UPGRADING = 13
    NOT_CONNECTED = 14
    APAS = 15
    VIRTUAL_STICK = 16
    LIVE_FLIGHT_CONTROL = 17
    AIRBORNE_RTK_FIXING = 18
    DOCK_SITE_EVALUATION = 19
    POI = 20


_LABELS[AircraftModeCode] = {
    0: ("Standby", "待机"),
    1: ("Preparing to take off", "起飞准备中"),
    2: ("Ready to take off", "起飞准备完毕"),
    3: ("Manual flight", "手动飞行"),
    4: ("Auto take-off", "自动起飞"),
    5: ("Wayline flight", "航线飞行"),
    6: ("Panorama", "全景拍照"),
    7: ("Active track", "智能跟随"),
    8: ("ADS-B avoidance", "ADS-B 躲避"),
    9: ("Returning home", "自动返航"),
    10: ("Auto landing", "自动降落"),
    11: ("Forced landing", "强制降落"),
    12: ("Three-propeller landing", "三桨叶降落"),
    13: ("Upgrading", "升级中"),
    14: ("Not connected", "未连接"),
    15: ("APAS", "APAS 避障"),
    16: ("Virtual stick", "虚拟摇杆"),
    17: ("Command flight", "指令飞行"),
    18: ("Airborne RTK fixing", "空中 RTK 收敛"),
    19: ("Dock site evaluation", "机场选址评估"),
    20: ("POI orbit", "兴趣点环绕"),
}


class ModeCodeReason(enum.IntEnum):
    """Aircraft ``mode_code_reason``: why the aircraft entered its current mode."""

    NONE = 0
    LOW_BATTERY = 1
    LOW_VOLTAGE = 2
    CRITICALLY_LOW_VOLTAGE = 3
    RC_BUTTON = 4
    APP_REQUEST = 5
    RC_SIGNAL_LOST = 6
    EXTERNAL_DEVICE = 7
    DOCK_GEO_ZONE = 8
    HOME_TOO_CLOSE = 9
    HOME_TOO_FAR = 10
    WAYPOINT_MISSION = 11
    ARRIVED_HOME = 12
    SECOND_LEVEL_LIMIT_LANDING = 13
    APP_FORCED_BREAK = 14
    MANNED_AIRCRAFT_NEARBY = 15
    HEIGHT_CONTROL_FAILED = 16
    LOW_BATTERY_RTH = 17
    AP_CONTROL = 18
    HARDWARE_ABNORMAL = 19
    TOUCHDOWN_PROTECTION = 20
    RTH_CANCELLED = 21
    RTH_OBSTACLE_AVOIDANCE = 22
    RTH_STRONG_WIND = 23


_LABELS[ModeCodeReason] = {
    0: ("No particular reason", "无特别原因"),
    1: ("Low battery", "电量低"),
    2: ("Low battery voltage", "电池电压低"),
    3: ("Critically low voltage", "电压严重过低"),
    4: ("RC button", "遥控器按键"),
    5: ("App request", "应用请求"),
    6: ("RC signal lost", "遥控信号丢失"),
    7: ("External device (navigation / SDK)", "外部设备（导航或 SDK）触发"),
    8: ("Entered a dock GEO zone", "进入机场限飞区"),
    9: ("Home point too close", "返航点太近"),
    10: ("Home point too far", "返航点太远"),
    11: ("Waypoint mission request", "航点任务请求"),
    12: ("Arrived home", "已到达返航点"),
    13: ("Second-level limit landing", "二级限制降落"),
    14: ("App forced a protection break", "应用强制解除保护"),
    15: ("Manned aircraft nearby", "附近有载人飞机"),
    16: ("Height control failed", "高度控制失败"),
    17: ("Low-battery return home", "低电量返航"),
    18: ("AP control", "AP 控制"),
    19: ("Hardware abnormal", "硬件异常"),
    20: ("Touchdown protection", "触地保护"),
    21: ("Return home cancelled", "返航已取消"),
    22: ("Return-home obstacle avoidance", "返航避障"),
    23: ("Return home: strong gale", "大风返航"),
}


class WindDirection(enum.IntEnum):
    """Aircraft ``wind_direction``: where the wind comes from (0 = none, Demo)."""

    NONE = 0
    NORTH = 1
    NORTH_EAST = 2
    EAST = 3
    SOUTH_EAST = 4
    SOUTH = 5
    SOUTH_WEST = 6
    WEST = 7
    NORTH_WEST = 8


_LABELS[WindDirection] = {
    0: ("No wind", "无风"),
    1: ("North", "北"),
    2: ("North-east", "东北"),
    3: ("East", "东"),
    4: ("South-east", "东南"),
    5: ("South", "南"),
    6: ("South-west", "西南"),
    7: ("West", "西"),
    8: ("North-west", "西北"),
}


class Gear(enum.IntEnum):
    """Aircraft ``gear`` (flight mode switch position)."""

    A = 0
    P = 1
    NAV = 2
    FPV = 3
    FARM = 4
    S = 5
    F = 6
    M = 7
    G = 8
    T = 9


_LABELS[Gear] = {
    0: ("A (attitude)", "A 挡（姿态）"),
    1: ("P (positioning)", "P 挡（定位）"),
    2: ("NAV", "NAV 挡"),
    3: ("FPV", "FPV 挡"),
    4: ("FARM", "FARM 挡"),
    5: ("S (sport)", "S 挡（运动）"),
    6: ("F (function)", "F 挡（功能）"),
    7: ("M (manual)", "M 挡（手动）"),
    8: ("G", "G 挡"),
    9: ("T (tripod)", "T 挡（三脚架）"),
}


class RcLostAction(enum.IntEnum):
    """``rc_lost_action``: 0 hover, 1 land, 2 RTH — not the order of
    :class:`OutOfControlAction` (§19 item 4)."""

    HOVER = 0
    LAND = 1
    RETURN_HOME = 2


_LABELS[RcLostAction] = {
    0: ("Hover", "悬停"),
    1: ("Land", "原地降落"),
    2: ("Return home", "返航"),
}


class OutOfControlAction(enum.IntEnum):
    """``out_of_control_action`` of ``flighttask_prepare``: 0 RTH, 1 hover, 2 land."""

    RETURN_HOME = 0
    HOVER = 1
    LAND = 2


_LABELS[OutOfControlAction] = {
    0: ("Return home", "返航"),
    1: ("Hover", "悬停"),
    2: ("Land", "原地降落"),
}


class ExitWaylineWhenRcLost(enum.IntEnum):
    """``exit_wayline_when_rc_lost`` (deprecated property, still sent)."""

    CONTINUE = 0
    EXECUTE_LOST_ACTION = 1


_LABELS[ExitWaylineWhenRcLost] = {
    0: ("Continue the wayline", "继续执行航线"),
    1: ("Exit and do the lost-link action", "退出航线并执行失联动作"),
}


class RthMode(enum.IntEnum):
    """``rth_mode`` / ``current_rth_mode`` (docks support only 1 in practice)."""

    SMART_HEIGHT = 0
    PRESET_HEIGHT = 1


_LABELS[RthMode] = {0: ("Smart height", "智能高度"), 1: ("Preset height", "设定高度")}


class CommanderModeLostAction(enum.IntEnum):
    """``commander_mode_lost_action`` (command flight, link lost)."""

    CONTINUE = 0
    EXECUTE_LOST_ACTION = 1


_LABELS[CommanderModeLostAction] = {
    0: ("Continue the command flight", "继续指令飞行"),
    1: ("Do the normal lost-link action", "执行常规失联动作"),
}


class CommanderFlightMode(enum.IntEnum):
    """``commander_flight_mode`` / ``current_commander_flight_mode``."""

    SMART_HEIGHT = 0
    SET_HEIGHT = 1


_LABELS[CommanderFlightMode] = {0: ("Smart height", "智能高度"), 1: ("Set height", "设定高度")}


class CameraMode(enum.IntEnum):
    """``cameras[].camera_mode`` (also ``camera_mode_switch``)."""

    PHOTO = 0
    VIDEO = 1
    LOW_LIGHT = 2
    PANORAMA = 3


_LABELS[CameraMode] = {
    0: ("Photo", "拍照"),
    1: ("Video", "录像"),
    2: ("Smart low-light", "智能低光"),
    3: ("Panorama", "全景"),
}


class PhotoState(enum.IntEnum):
    """``cameras[].photo_state``."""

    IDLE = 0
    TAKING = 1


_LABELS[PhotoState] = {0: ("Idle", "空闲"), 1: ("Taking photos", "拍照中")}


class RecordingState(enum.IntEnum):
    """``cameras[].recording_state``."""

    IDLE = 0
    RECORDING = 1


_LABELS[RecordingState] = {0: ("Not recording", "未录像"), 1: ("Recording", "录像中")}


class ExposureMode(enum.IntEnum):
    """``cameras[].wide_/zoom_exposure_mode``."""

    AUTO = 1
    SHUTTER_PRIORITY = 2
    APERTURE_PRIORITY = 3
    MANUAL = 4


_LABELS[ExposureMode] = {
    1: ("Auto", "自动"),
    2: ("Shutter priority", "快门优先"),
    3: ("Aperture priority", "光圈优先"),
    4: ("Manual", "手动"),
}


class FocusMode(enum.IntEnum):
    """``cameras[].zoom_/wide_focus_mode``."""

    MF = 0
    AFS = 1
    AFC = 2


_LABELS[FocusMode] = {
    0: ("Manual focus", "手动对焦"),
    1: ("Single auto focus (AFS)", "单次自动对焦"),
    2: ("Continuous auto focus (AFC)", "连续自动对焦"),
}


class FocusState(enum.IntEnum):
    """``cameras[].zoom_/wide_focus_state``."""

    IDLE = 0
    FOCUSING = 1
    SUCCEEDED = 2
    FAILED = 3


_LABELS[FocusState] = {
    0: ("Idle", "空闲"),
    1: ("Focusing", "对焦中"),
    2: ("In focus", "对焦成功"),
    3: ("Focus failed", "对焦失败"),
}


class IrMeteringMode(enum.IntEnum):
    """``cameras[].ir_metering_mode``."""

    OFF = 0
    SPOT = 1
    AREA = 2


_LABELS[IrMeteringMode] = {
    0: ("Off", "关闭测温"),
    1: ("Spot", "点测温"),
    2: ("Area", "区域测温"),
}


class MeasureTargetErrorState(enum.IntEnum):
    """Payload ``measure_target_error_state`` (laser rangefinder)."""

    NORMAL = 0
    TOO_CLOSE = 1
    TOO_FAR = 2
    NO_SIGNAL = 3


_LABELS[MeasureTargetErrorState] = {
    0: ("Normal", "正常"),
    1: ("Too close", "距离过近"),
    2: ("Too far", "距离过远"),
    3: ("No signal", "无信号"),
}


class ThermalGainMode(enum.IntEnum):
    """Payload ``thermal_gain_mode``."""

    AUTO = 0
    LOW = 1
    HIGH = 2


_LABELS[ThermalGainMode] = {
    0: ("Auto", "自动"),
    1: ("Low gain (0–500 °C)", "低增益（0–500℃）"),
    2: ("High gain (−20–150 °C)", "高增益（-20–150℃）"),
}


class ThermalPalette(enum.IntEnum):
    """Payload ``thermal_current_palette_style`` (Demo superset)."""

    WHITE_HOT = 0
    BLACK_HOT = 1
    RED_HOT = 2
    GREEN_HOT = 3
    FUSION = 4
    RAINBOW = 5
    IRONBOW_1 = 6
    IRONBOW_2 = 7
    ICE_FIRE = 8
    SEPIA = 9
    GLOWBOW = 10
    COLOR_1 = 11
    COLOR_2 = 12
    RAIN = 13
    HOT_SPOT = 14
    RAINBOW_2 = 15
    GRAY = 16
    METAL = 17
    COLD_SPOT = 18


_LABELS[ThermalPalette] = {
    0: ("White hot", "白热"),
    1: ("Black hot", "黑热"),
    2: ("Red hot", "描红"),
    3: ("Green hot", "医疗"),
    4: ("Fusion", "融合"),
    5: ("Rainbow", "彩虹"),
    6: ("Ironbow 1", "铁红 1"),
    7: ("Ironbow 2", "铁红 2"),
    8: ("Ice fire", "冰火"),
    9: ("Sepia", "褐色"),
    10: ("Glowbow", "辉光"),
    11: ("Color 1", "彩色 1"),
    12: ("Color 2", "彩色 2"),
    13: ("Rain", "雨"),
    14: ("Hot spot", "热点"),
    15: ("Rainbow 2", "彩虹 2"),
    16: ("Gray", "灰度"),
    17: ("Metal", "金属"),
    18: ("Cold spot", "冷点"),
}


ENUMS: Final[tuple[type[enum.IntEnum], ...]] = tuple(_LABELS)
"""Every enum :func:`label` knows."""


# --- wire property → enum -----------------------------------------------------------------------

_DOCK: dict[str, type[enum.IntEnum]] = {
    "mode_code": DockModeCode,
    "cover_state": CoverState,
    "putter_state": PutterState,
    "drone_in_dock": DroneInDock,
    "drone_charge_state.state": ChargeState,
    "supplement_light_state": Switch,
    "emergency_stop_state": EmergencyStopState,
    "alarm_state": Switch,
    "battery_store_mode": BatteryStoreMode,
    "air_conditioner.air_conditioner_state": AirConditionerState,
    "rainfall": RainfallLevel,
    "home_position_is_valid": Validity,
    "alternate_land_point.is_configured": YesNo,
    "position_state.is_calibration": YesNo,
    "position_state.is_fixed": PositionFixState,
    "position_state.quality": PositionQuality,
    "network_state.type": NetworkType,
    "network_state.quality": NetworkQuality,
    "sub_device.device_online_status": OnlineStatus,
    "sub_device.device_paired": YesNo,
    "maintain_status.maintain_status_array.state": YesNo,
    "maintain_status.maintain_status_array.last_maintain_type": MaintenanceType,
    "backup_battery.switch": Switch,
    "drone_battery_maintenance_info.maintenance_state": BatteryMaintenanceState,
    "drone_battery_maintenance_info.heat_state": BatteryHeatState,
    "flighttask_step_code": FlighttaskStepCode,
    "wireless_link.4g_link_state": LinkState,
    "wireless_link.sdr_link_state": LinkState,
    "wireless_link.link_workmode": LinkWorkmode,
    "drc_state": DrcState,
    "silent_mode": SilentMode,
    "user_experience_improvement": UserExperienceImprovement,
    "tilt_angle.valid": Validity,
    "compatible_status": CompatibleStatus,
    "firmware_upgrade_status": FirmwareUpgradeStatus,
    "dongle_infos.sim_slot": SimSlot,
    "dongle_infos.esim_infos.telecom_operator": TelecomOperator,
    "dongle_infos.sim_info.telecom_operator": TelecomOperator,
}

_AIRCRAFT: dict[str, type[enum.IntEnum]] = {
    "mode_code": AircraftModeCode,
    "mode_code_reason": ModeCodeReason,
    "wind_direction": WindDirection,
    "gear": Gear,
    "rc_lost_action": RcLostAction,
    "exit_wayline_when_rc_lost": ExitWaylineWhenRcLost,
    "rth_mode": RthMode,
    "current_rth_mode": RthMode,
    "commander_mode_lost_action": CommanderModeLostAction,
    "commander_flight_mode": CommanderFlightMode,
    "current_commander_flight_mode": CommanderFlightMode,
    "night_lights_state": Switch,
    "is_near_area_limit": YesNo,
    "is_near_height_limit": YesNo,
    "distance_limit_status.state": Switch,
    "distance_limit_status.is_near_distance_limit": YesNo,
    "obstacle_avoidance.horizon": Switch,
    "obstacle_avoidance.upside": Switch,
    "obstacle_avoidance.downside": Switch,
    "position_state.is_fixed": PositionFixState,
    "position_state.quality": PositionQuality,
    "maintain_status.maintain_status_array.state": YesNo,
    "maintain_status.maintain_status_array.last_maintain_type": MaintenanceType,
    "cameras.camera_mode": CameraMode,
    "cameras.photo_state": PhotoState,
    "cameras.recording_state": RecordingState,
    "cameras.wide_exposure_mode": ExposureMode,
    "cameras.zoom_exposure_mode": ExposureMode,
    "cameras.wide_focus_mode": FocusMode,
    "cameras.zoom_focus_mode": FocusMode,
    "cameras.wide_focus_state": FocusState,
    "cameras.zoom_focus_state": FocusState,
    "cameras.ir_metering_mode": IrMeteringMode,
    "payload.measure_target_error_state": MeasureTargetErrorState,
    "payload.thermal_gain_mode": ThermalGainMode,
    "payload.thermal_current_palette_style": ThermalPalette,
    "payload.thermal_isotherm_state": Switch,
    "payload.thermal_supported_palette_styles": ThermalPalette,
    "compatible_status": CompatibleStatus,
    "firmware_upgrade_status": FirmwareUpgradeStatus,
    "dongle_infos.sim_slot": SimSlot,
    "dongle_infos.esim_infos.telecom_operator": TelecomOperator,
    "dongle_infos.sim_info.telecom_operator": TelecomOperator,
}

_RC: dict[str, type[enum.IntEnum]] = {
    "wireless_link.4g_link_state": LinkState,
    "wireless_link.sdr_link_state": LinkState,
    "wireless_link.link_workmode": LinkWorkmode,
    "dongle_infos.sim_slot": SimSlot,
    "dongle_infos.esim_infos.telecom_operator": TelecomOperator,
    "dongle_infos.sim_info.telecom_operator": TelecomOperator,
}

PROPERTY_ENUMS: Final[dict[tuple[str, str], type[enum.IntEnum]]] = {
    **{("dock", path): cls for path, cls in _DOCK.items()},
    **{("aircraft", path): cls for path, cls in _AIRCRAFT.items()},
    **{("rc", path): cls for path, cls in _RC.items()},
}
"""Enum of each enumerated property, by ``(kind, dotted path)`` (see the module docstring)."""


_PAYLOAD_KEY = re.compile(r"^\d+-\d+-\d+$")


def property_path(*keys: str | int) -> str:
    """Dotted property path from raw keys as met while walking a message's ``data``.

    List indices (ints) are dropped and payload-index keys such as ``"99-0-0"`` become
    ``payload``: ``property_path("cameras", 0, "camera_mode") == "cameras.camera_mode"``.
    """
    parts = []
    for key in keys:
        if isinstance(key, int):
            continue
        parts.append("payload" if _PAYLOAD_KEY.match(key) else key)
    return ".".join(parts)


def property_enum(kind: str, path: str) -> type[enum.IntEnum] | None:
    """The enum of property ``path`` on a ``kind`` device, or None when it has none."""
    return PROPERTY_ENUMS.get((kind, path))


def _resolve(what: object) -> type[enum.IntEnum] | None:
    if isinstance(what, type) and issubclass(what, enum.IntEnum):
        return what
    if isinstance(what, tuple) and len(what) == 2:
        return PROPERTY_ENUMS.get((str(what[0]), str(what[1])))
    if isinstance(what, str):
        kind, sep, path = what.partition(".")
        if sep and (kind, path) in PROPERTY_ENUMS:
            return PROPERTY_ENUMS[(kind, path)]
        found = {cls for (_, p), cls in PROPERTY_ENUMS.items() if p == what}
        if len(found) == 1:
            return found.pop()
    return None


def label(
    enum_cls_or_property: type[enum.IntEnum] | tuple[str, str] | str,
    value: object,
    lang: str = "en",
) -> str:
    """Readable label of an enumerated value.

    Args:
        enum_cls_or_property: An enum class of this module, a ``(kind, path)`` key of
            :data:`PROPERTY_ENUMS`, ``"kind.path"`` (``"dock.cover_state"``), or a bare path
            that means the same enum on every device kind (``"cover_state"``; an ambiguous one
            such as ``"mode_code"`` is unknown).
        value: The wire value: an int, an enum member, or anything :func:`as_int` reads.
        lang: ``"en"`` or ``"zh"`` (any ``zh-…`` tag); other languages get English.

    Returns:
        The label, or ``"Unknown (value)"`` / ``"未知 (value)"`` when the enum, the property or
        the value is unknown. Never raises.
    """
    zh = isinstance(lang, str) and lang.lower().startswith("zh")
    cls = _resolve(enum_cls_or_property)
    number = as_int(value)
    if cls is not None and number is not None:
        text = _LABELS.get(cls, {}).get(number)
        if text is not None:
            return text[1] if zh else text[0]
    shown = value.value if isinstance(value, enum.Enum) else value
    return f"未知 ({shown})" if zh else f"Unknown ({shown})"


def labels(enum_cls: type[enum.IntEnum], lang: str = "en") -> dict[int, str]:
    """All labels of an enum, by value (for drop-downs and legends)."""
    zh = lang.lower().startswith("zh")
    return {k: (v[1] if zh else v[0]) for k, v in _LABELS.get(enum_cls, {}).items()}


# --- readers for loosely typed values -----------------------------------------------------------

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def to_bool(value: object) -> bool | None:
    """Read a boolean sent as ``0/1``, ``true/false`` or ``"0"/"1"`` (§0).

    Returns:
        True or False; None for anything else (``2``, ``"maybe"``, ``None``, lists…).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {0: False, 1: True}.get(value)
    if isinstance(value, float):
        return {0.0: False, 1.0: True}.get(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def as_int(value: object) -> int | None:
    """Read an integer; booleans count as 0/1, integral floats and numeric strings are accepted.

    Returns:
        The int, or None for junk (non-integral numbers, NaN, text, None, containers).
    """
    if isinstance(value, int):  # includes bool and IntEnum members
        return int(value)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = as_float(text)
            return as_int(number) if number is not None else None
    return None


def as_float(value: object) -> float | None:
    """Read a finite number; booleans count as 0/1 and numeric strings are accepted.

    Returns:
        The float, or None for junk (NaN, infinities, text, None, containers).
    """
    if isinstance(value, bool | int):
        return float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


# --- units --------------------------------------------------------------------------------------

KB: Final = 1024
"""Bytes in the protocol's "KB" (storage sizes, network rate)."""


def _number(raw: object, what: str) -> float:
    number = as_float(raw)
    if number is None:
        raise ValueError(f"{what}: not a number: {raw!r}")
    return number


def aircraft_wind_speed_ms(raw: float) -> float:
    """Aircraft ``wind_speed`` in m/s. The aircraft reports tenths of m/s (§19 item 5).

    Raises:
        ValueError: ``raw`` is not a finite number.
    """
    return _number(raw, "aircraft wind_speed") / 10.0


def dock_wind_speed_ms(raw: float) -> float:
    """Dock ``wind_speed`` in m/s. The dock's anemometer already reports m/s.

    Raises:
        ValueError: ``raw`` is not a finite number.
    """
    return _number(raw, "dock wind_speed")


def storage_bytes(kb: float) -> int:
    """``storage.total`` / ``storage.used`` (KB) in bytes, with 1 KB = 1024 bytes.

    The dock's figures are Linux-style KiB (multiples of 4 KiB blocks); an M4TD reports round
    thousands, so decimal KB cannot be ruled out there — a 2.4 % difference at most.

    Raises:
        ValueError: ``kb`` is not a finite number.
    """
    return round(_number(kb, "storage") * KB)


def network_rate_bytes_per_s(kb_s: float) -> float:
    """Dock ``network_state.rate`` (KB/s) in bytes per second.

    Raises:
        ValueError: ``kb_s`` is not a finite number.
    """
    return _number(kb_s, "network rate") * KB


UNITS: Final[dict[tuple[str, str], str]] = {
    # dock OSD (§3.1)
    ("dock", "wind_speed"): "m/s",
    ("dock", "environment_temperature"): "°C",
    ("dock", "temperature"): "°C",
    ("dock", "humidity"): "%RH",
    ("dock", "latitude"): "° (WGS-84)",
    ("dock", "longitude"): "° (WGS-84)",
    ("dock", "height"): "m (ellipsoidal)",
    ("dock", "heading"): "° (−180..180)",
    ("dock", "alternate_land_point.latitude"): "° (WGS-84)",
    ("dock", "alternate_land_point.longitude"): "° (WGS-84)",
    ("dock", "alternate_land_point.height"): "m (ellipsoidal)",
    ("dock", "alternate_land_point.safe_land_height"): "m",
    ("dock", "drone_charge_state.capacity_percent"): "%",
    ("dock", "air_conditioner.switch_time"): "s",
    ("dock", "storage.total"): "KB",
    ("dock", "storage.used"): "KB",
    ("dock", "network_state.rate"): "KB/s",
    ("dock", "first_power_on"): "ms (epoch)",
    ("dock", "activation_time"): "s (epoch)",
    ("dock", "acc_time"): "s",
    ("dock", "job_number"): "count",
    ("dock", "maintain_status.maintain_status_array.last_maintain_time"): "s (epoch)",
    ("dock", "electric_supply_voltage"): "V",
    ("dock", "working_voltage"): "mV",
    ("dock", "working_current"): "mA",
    ("dock", "acdc_power_input"): "W",
    ("dock", "backup_battery.voltage"): "mV",
    ("dock", "backup_battery.temperature"): "°C",
    ("dock", "drone_battery_maintenance_info.maintenance_time_left"): "h",
    ("dock", "drone_battery_maintenance_info.batteries.capacity_percent"): "%",
    ("dock", "drone_battery_maintenance_info.batteries.voltage"): "mV",
    ("dock", "drone_battery_maintenance_info.batteries.temperature"): "°C",
    ("dock", "media_file_detail.remain_upload"): "count",
    ("dock", "wireless_link.sdr_quality"): "level 0–5",
    ("dock", "wireless_link.4g_quality"): "level 0–5",
    ("dock", "wireless_link.sdr_freq_band"): "GHz",
    ("dock", "wireless_link.4g_freq_band"): "GHz",
    ("dock", "sdr.up_quality"): "% (0–100)",
    ("dock", "sdr.down_quality"): "% (0–100)",
    ("dock", "sdr.frequency_band"): "GHz",
    ("dock", "tilt_angle.value"): "°",
    ("dock", "self_converge_coordinate.height"): "m (ellipsoidal)",
    # aircraft OSD / state (§3.3)
    ("aircraft", "latitude"): "° (WGS-84)",
    ("aircraft", "longitude"): "° (WGS-84)",
    ("aircraft", "height"): "m (ellipsoidal)",
    ("aircraft", "elevation"): "m (relative to take-off)",
    ("aircraft", "attitude_head"): "° (true north, east positive, −180..180)",
    ("aircraft", "attitude_pitch"): "°",
    ("aircraft", "attitude_roll"): "°",
    ("aircraft", "horizontal_speed"): "m/s",
    ("aircraft", "vertical_speed"): "m/s",
    ("aircraft", "wind_speed"): "0.1 m/s",
    ("aircraft", "home_distance"): "m",
    ("aircraft", "home_latitude"): "° (WGS-84)",
    ("aircraft", "home_longitude"): "° (WGS-84)",
    ("aircraft", "battery.capacity_percent"): "%",
    ("aircraft", "battery.remain_flight_time"): "s",
    ("aircraft", "battery.return_home_power"): "%",
    ("aircraft", "battery.landing_power"): "%",
    ("aircraft", "battery.remain_job_time"): "s (65535 = not available)",
    ("aircraft", "battery.batteries.capacity_percent"): "%",
    ("aircraft", "battery.batteries.voltage"): "mV",
    ("aircraft", "battery.batteries.temperature"): "°C",
    ("aircraft", "battery.batteries.loop_times"): "count",
    ("aircraft", "battery.batteries.high_voltage_storage_days"): "days",
    ("aircraft", "storage.total"): "KB",
    ("aircraft", "storage.used"): "KB",
    ("aircraft", "total_flight_distance"): "m",
    ("aircraft", "total_flight_time"): "s",
    ("aircraft", "total_flight_sorties"): "count",
    ("aircraft", "activation_time"): "s (epoch)",
    ("aircraft", "height_limit"): "m (20–1500)",
    ("aircraft", "distance_limit_status.distance_limit"): "m (15–8000)",
    ("aircraft", "rth_altitude"): "m (relative to take-off)",
    ("aircraft", "commander_flight_height"): "m (relative, 2–3000)",
    ("aircraft", "low_battery_warning_threshold"): "%",
    ("aircraft", "serious_low_battery_warning_threshold"): "%",
    ("aircraft", "remaining_power_for_return_home"): "%",
    ("aircraft", "maintain_status.maintain_status_array.last_maintain_time"): "s (epoch)",
    ("aircraft", "maintain_status.maintain_status_array.last_maintain_flight_time"): "h",
    ("aircraft", "cameras.record_time"): "s",
    ("aircraft", "cameras.remain_record_duration"): "s",
    ("aircraft", "cameras.remain_photo_num"): "count",
    ("aircraft", "cameras.zoom_factor"): "×",
    ("aircraft", "cameras.ir_zoom_factor"): "×",
    ("aircraft", "cameras.liveview_world_region.left"): "fraction 0–1",
    ("aircraft", "cameras.ir_metering_point.temperature"): "°C",
    ("aircraft", "payload.gimbal_pitch"): "°",
    ("aircraft", "payload.gimbal_roll"): "°",
    ("aircraft", "payload.gimbal_yaw"): "°",
    ("aircraft", "payload.measure_target_distance"): "m",
    ("aircraft", "payload.measure_target_altitude"): "m (ellipsoidal)",
    ("aircraft", "payload.thermal_isotherm_upper_limit"): "°C",
    ("aircraft", "payload.thermal_isotherm_lower_limit"): "°C",
    ("aircraft", "payload.thermal_global_temperature_min"): "°C",
    ("aircraft", "payload.thermal_global_temperature_max"): "°C",
    # RC (§3.4)
    ("rc", "latitude"): "° (WGS-84)",
    ("rc", "longitude"): "° (WGS-84)",
    ("rc", "height"): "m (ellipsoidal)",
    ("rc", "capacity_percent"): "%",
    ("rc", "wireless_link.sdr_quality"): "level 0–5",
    ("rc", "wireless_link.4g_quality"): "level 0–5",
    ("rc", "wireless_link.sdr_freq_band"): "GHz",
    ("rc", "wireless_link.4g_freq_band"): "GHz",
}
"""Unit of each numeric property by ``(kind, dotted path)``; mind the aircraft's 0.1 m/s."""
