"""The enumerated values of dock, aircraft and RC properties and their labels (protocol §3).

Data only: one ``IntEnum`` per enumerated property value, with stable Python names, and next to
each its labels in English and Chinese in :data:`LABELS`. :mod:`gcs.protocol.properties` is the
place to import them from; it holds the functions that read them (its ``label`` never raises on
a value an enum does not know).
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = [
    "ENUMS",
    "LABELS",
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
]

# en, zh per value; filled next to each enum below.
LABELS: dict[type[enum.IntEnum], dict[int, tuple[str, str]]] = {}


# --- generic two-state values -------------------------------------------------------------------


class Switch(enum.IntEnum):
    """A 0/1 off/on switch (lights, alarm, obstacle sensing, backup battery…)."""

    OFF = 0
    ON = 1


LABELS[Switch] = {0: ("Off", "关"), 1: ("On", "开")}


class YesNo(enum.IntEnum):
    """A 0/1 flag (``is_near_height_limit``, ``is_calibration``, ``device_paired``…)."""

    NO = 0
    YES = 1


LABELS[YesNo] = {0: ("No", "否"), 1: ("Yes", "是")}


class Validity(enum.IntEnum):
    """A 0/1 validity flag (``home_position_is_valid``, ``tilt_angle.valid``)."""

    INVALID = 0
    VALID = 1


LABELS[Validity] = {0: ("Invalid", "无效"), 1: ("Valid", "有效")}


class OnlineStatus(enum.IntEnum):
    """``sub_device.device_online_status``: is the aircraft powered and reachable."""

    OFFLINE = 0
    ONLINE = 1


LABELS[OnlineStatus] = {0: ("Offline", "离线"), 1: ("Online", "在线")}


class LinkState(enum.IntEnum):
    """``wireless_link.sdr_link_state`` / ``4g_link_state``."""

    DISCONNECTED = 0
    CONNECTED = 1


LABELS[LinkState] = {0: ("Disconnected", "未连接"), 1: ("Connected", "已连接")}


# --- dock (§3.1, §3.2) --------------------------------------------------------------------------


class DockModeCode(enum.IntEnum):
    """Dock ``mode_code``. 5 is in the docs only, not in the Demo (§19 item 7)."""

    IDLE = 0
    ON_SITE_DEBUGGING = 1
    REMOTE_DEBUGGING = 2
    FIRMWARE_UPGRADING = 3
    WORKING = 4
    AWAITING_CALIBRATION = 5


LABELS[DockModeCode] = {
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


LABELS[CoverState] = {
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


LABELS[PutterState] = {
    0: ("Closed", "已合拢"),
    1: ("Open", "已展开"),
    2: ("Half open", "半展开"),
    3: ("Abnormal", "推杆异常"),
}


class DroneInDock(enum.IntEnum):
    """Dock ``drone_in_dock``."""

    OUTSIDE = 0
    INSIDE = 1


LABELS[DroneInDock] = {0: ("Outside the dock", "不在舱内"), 1: ("In the dock", "在舱内")}


class ChargeState(enum.IntEnum):
    """Dock ``drone_charge_state.state``."""

    IDLE = 0
    CHARGING = 1


LABELS[ChargeState] = {0: ("Not charging", "未充电"), 1: ("Charging", "充电中")}


class EmergencyStopState(enum.IntEnum):
    """Dock ``emergency_stop_state``."""

    RELEASED = 0
    PRESSED = 1


LABELS[EmergencyStopState] = {0: ("Released", "未按下"), 1: ("Pressed", "已按下")}


class BatteryStoreMode(enum.IntEnum):
    """Dock ``battery_store_mode``: the charge level the dock keeps the aircraft battery at."""

    PLAN = 1
    EMERGENCY = 2


LABELS[BatteryStoreMode] = {
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


LABELS[AirConditionerState] = {
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


LABELS[RainfallLevel] = {
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


LABELS[PositionFixState] = {
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


LABELS[PositionQuality] = {
    **{n: (f"Level {n}", f"{n} 档") for n in range(1, 6)},
    10: ("RTK fixed", "RTK 固定解"),
}


class NetworkType(enum.IntEnum):
    """Dock ``network_state.type``."""

    CELLULAR_4G = 1
    ETHERNET = 2


LABELS[NetworkType] = {1: ("4G", "4G"), 2: ("Ethernet", "以太网")}


class NetworkQuality(enum.IntEnum):
    """Dock ``network_state.quality`` (a wired dock may report 0)."""

    NO_SIGNAL = 0
    BAD = 1
    POOR = 2
    FAIR = 3
    GOOD = 4
    EXCELLENT = 5


LABELS[NetworkQuality] = {
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


LABELS[MaintenanceType] = {
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


LABELS[BatteryMaintenanceState] = {
    0: ("No maintenance needed", "无需保养"),
    1: ("Maintenance needed", "需要保养"),
    2: ("Maintaining", "保养中"),
}


class BatteryHeatState(enum.IntEnum):
    """Dock ``drone_battery_maintenance_info.heat_state``."""

    OFF = 0
    HEATING = 1
    KEEPING_WARM = 2


LABELS[BatteryHeatState] = {
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


LABELS[FlighttaskStepCode] = {
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


LABELS[LinkWorkmode] = {0: ("SDR only", "仅 SDR 图传"), 1: ("SDR + 4G", "SDR + 4G 融合")}


class DrcState(enum.IntEnum):
    """Dock ``drc_state`` (and ``drc_status_notify``)."""

    NOT_CONNECTED = 0
    CONNECTING = 1
    CONNECTED = 2


LABELS[DrcState] = {
    0: ("Not connected", "未连接"),
    1: ("Connecting", "连接中"),
    2: ("Connected", "已连接"),
}


class SilentMode(enum.IntEnum):
    """Dock ``silent_mode``."""

    NORMAL = 0
    SILENT = 1


LABELS[SilentMode] = {0: ("Normal", "普通模式"), 1: ("Silent", "静音模式")}


class UserExperienceImprovement(enum.IntEnum):
    """Dock ``user_experience_improvement`` (DJI's data-sharing programme)."""

    INITIAL = 0
    REFUSED = 1
    AGREED = 2


LABELS[UserExperienceImprovement] = {
    0: ("Not asked yet", "尚未选择"),
    1: ("Declined", "已拒绝"),
    2: ("Agreed", "已同意"),
}


class CompatibleStatus(enum.IntEnum):
    """State ``compatible_status``: whether a consistency upgrade is needed."""

    CONSISTENT = 0
    UPGRADE_NEEDED = 1


LABELS[CompatibleStatus] = {
    0: ("Consistent", "版本一致"),
    1: ("Consistency upgrade needed", "需要一致性升级"),
}


class FirmwareUpgradeStatus(enum.IntEnum):
    """State ``firmware_upgrade_status``."""

    NOT_UPGRADING = 0
    UPGRADING = 1


LABELS[FirmwareUpgradeStatus] = {0: ("Not upgrading", "未在升级"), 1: ("Upgrading", "升级中")}


class SimSlot(enum.IntEnum):
    """``dongle_infos[].sim_slot``."""

    UNKNOWN = 0
    SIM = 1
    ESIM = 2


LABELS[SimSlot] = {0: ("Unknown", "未知卡槽"), 1: ("SIM card", "实体 SIM 卡"), 2: ("eSIM", "eSIM")}


class TelecomOperator(enum.IntEnum):
    """``telecom_operator`` of a SIM / eSIM (Chinese carriers)."""

    UNKNOWN = 0
    CHINA_MOBILE = 1
    CHINA_UNICOM = 2
    CHINA_TELECOM = 3


LABELS[TelecomOperator] = {
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


LABELS[AircraftModeCode] = {
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


LABELS[ModeCodeReason] = {
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


LABELS[WindDirection] = {
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


LABELS[Gear] = {
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


LABELS[RcLostAction] = {
    0: ("Hover", "悬停"),
    1: ("Land", "原地降落"),
    2: ("Return home", "返航"),
}


class OutOfControlAction(enum.IntEnum):
    """``out_of_control_action`` of ``flighttask_prepare``: 0 RTH, 1 hover, 2 land."""

    RETURN_HOME = 0
    HOVER = 1
    LAND = 2


LABELS[OutOfControlAction] = {
    0: ("Return home", "返航"),
    1: ("Hover", "悬停"),
    2: ("Land", "原地降落"),
}


class ExitWaylineWhenRcLost(enum.IntEnum):
    """``exit_wayline_when_rc_lost`` (deprecated property, still sent)."""

    CONTINUE = 0
    EXECUTE_LOST_ACTION = 1


LABELS[ExitWaylineWhenRcLost] = {
    0: ("Continue the wayline", "继续执行航线"),
    1: ("Exit and do the lost-link action", "退出航线并执行失联动作"),
}


class RthMode(enum.IntEnum):
    """``rth_mode`` / ``current_rth_mode`` (docks support only 1 in practice)."""

    SMART_HEIGHT = 0
    PRESET_HEIGHT = 1


LABELS[RthMode] = {0: ("Smart height", "智能高度"), 1: ("Preset height", "设定高度")}


class CommanderModeLostAction(enum.IntEnum):
    """``commander_mode_lost_action`` (command flight, link lost)."""

    CONTINUE = 0
    EXECUTE_LOST_ACTION = 1


LABELS[CommanderModeLostAction] = {
    0: ("Continue the command flight", "继续指令飞行"),
    1: ("Do the normal lost-link action", "执行常规失联动作"),
}


class CommanderFlightMode(enum.IntEnum):
    """``commander_flight_mode`` / ``current_commander_flight_mode``."""

    SMART_HEIGHT = 0
    SET_HEIGHT = 1


LABELS[CommanderFlightMode] = {0: ("Smart height", "智能高度"), 1: ("Set height", "设定高度")}


class CameraMode(enum.IntEnum):
    """``cameras[].camera_mode`` (also ``camera_mode_switch``)."""

    PHOTO = 0
    VIDEO = 1
    LOW_LIGHT = 2
    PANORAMA = 3


LABELS[CameraMode] = {
    0: ("Photo", "拍照"),
    1: ("Video", "录像"),
    2: ("Smart low-light", "智能低光"),
    3: ("Panorama", "全景"),
}


class PhotoState(enum.IntEnum):
    """``cameras[].photo_state``."""

    IDLE = 0
    TAKING = 1


LABELS[PhotoState] = {0: ("Idle", "空闲"), 1: ("Taking photos", "拍照中")}


class RecordingState(enum.IntEnum):
    """``cameras[].recording_state``."""

    IDLE = 0
    RECORDING = 1


LABELS[RecordingState] = {0: ("Not recording", "未录像"), 1: ("Recording", "录像中")}


class ExposureMode(enum.IntEnum):
    """``cameras[].wide_/zoom_exposure_mode``."""

    AUTO = 1
    SHUTTER_PRIORITY = 2
    APERTURE_PRIORITY = 3
    MANUAL = 4


LABELS[ExposureMode] = {
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


LABELS[FocusMode] = {
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


LABELS[FocusState] = {
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


LABELS[IrMeteringMode] = {
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


LABELS[MeasureTargetErrorState] = {
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


LABELS[ThermalGainMode] = {
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


LABELS[ThermalPalette] = {
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


ENUMS: Final[tuple[type[enum.IntEnum], ...]] = tuple(LABELS)
"""Every enum :func:`gcs.protocol.properties.label` knows."""
