"""Payload factories: OSD, state, HMS and progress `data` objects in DJI's wire form.

Every factory returns a fresh dict with plausible values (shapes taken from a real Dock 3 +
M4TD capture and DJI's docs) and takes keyword-only overrides: a top-level key replaces the
default, except that a dict given for a key whose default is a dict is merged into it, so
`dock_osd(drone_charge_state={"state": 1})` keeps `capacity_percent`. Tests and scenarios
override only what they need.
"""

from __future__ import annotations

import copy
from typing import Any

# The real Dock 3 splits its OSD into three partial messages with these keys (capture,
# protocol §3). Docks of every model are simulated the same way.
DOCK_OSD_PARTS: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "air_conditioner", "alarm_state", "alternate_land_point", "battery_store_mode",
            "cover_state", "drone_charge_state", "drone_in_dock", "emergency_stop_state",
            "environment_temperature", "first_power_on", "heading", "height",
            "home_position_is_valid", "humidity", "latitude", "longitude", "mode_code",
            "network_state", "position_state", "putter_state", "rainfall", "silent_mode",
            "storage", "sub_device", "supplement_light_state", "temperature", "wind_speed",
        }
    ),
    frozenset(
        {
            "acc_time", "acdc_power_input", "activation_time", "backup_battery",
            "deployment_mode", "drone_battery_maintenance_info", "electric_supply_voltage",
            "gimbal_holder_state", "job_number", "maintain_status", "poe_link_status",
            "poe_power_output", "relative_alternate_land_point", "self_converge_coordinate",
            "temp_mode_state", "working_current", "working_voltage",
        }
    ),
    frozenset(
        {
            "departure_point", "departure_point_status", "drc_state",
            "flighttask_prepare_capacity", "flighttask_step_code", "media_file_detail", "sdr",
            "tilt_angle", "user_experience_improvement", "wireless_link",
        }
    ),
)  # fmt: skip

# Keys only a Dock 3 sends (Dock 1/2 payloads leave them out).
_DOCK3_ONLY = frozenset(
    {
        "acdc_power_input", "deployment_mode", "departure_point", "departure_point_status",
        "gimbal_holder_state", "poe_link_status", "poe_power_output",
        "relative_alternate_land_point", "sdr", "self_converge_coordinate", "temp_mode_state",
        "tilt_angle",
    }
)  # fmt: skip
_NOT_DOCK2 = frozenset({"electric_supply_voltage"})  # Dock 1 docs; a real Dock 3 sends it too
_NOT_DOCK1 = frozenset({"heading", "home_position_is_valid"})


def _apply(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged = dict(current)
            merged.update(value)
            base[key] = merged
        else:
            base[key] = value
    return base


def wireless_link(**overrides: Any) -> dict[str, Any]:
    base = {
        "4g_freq_band": 5.8,
        "4g_gnd_quality": 0,
        "4g_link_state": 0,
        "4g_quality": 0,
        "4g_uav_quality": 0,
        "dongle_number": 0,
        "link_workmode": 0,
        "sdr_freq_band": 2.4,
        "sdr_link_state": 1,
        "sdr_quality": 5,
    }
    return _apply(base, overrides)


def dock_osd(*, model: str = "3-3-0", aircraft_sn: str = "", **overrides: Any) -> dict[str, Any]:
    """A complete dock OSD (all three partial messages' keys) for dock model `model`.

    Returns:
        The merged property object; `split_dock_osd` cuts it into the wire messages.
    """
    base: dict[str, Any] = {
        "network_state": {"type": 2, "quality": 5, "rate": 520},
        "drone_charge_state": {"state": 0, "capacity_percent": 60},
        "drone_in_dock": 1,
        "rainfall": 0,
        "wind_speed": 1.2,
        "environment_temperature": 22.4,
        "temperature": 24.1,
        "humidity": 55,
        "heading": 36.1,
        "home_position_is_valid": 1,
        "latitude": 22.543,
        "longitude": 113.936,
        "height": 41.66,
        "alternate_land_point": {
            "latitude": 22.54303,
            "longitude": 113.93596,
            "height": 0,
            "safe_land_height": 30,
            "is_configured": 1,
        },
        "first_power_on": 1631945855969,
        "position_state": {
            "is_calibration": 1,
            "is_fixed": 2,
            "quality": 5,
            "gps_number": 9,
            "rtk_number": 38,
        },
        "storage": {"total": 53082240, "used": 20184},
        "mode_code": 0,
        "cover_state": 0,
        "silent_mode": 0,
        "supplement_light_state": 0,
        "emergency_stop_state": 0,
        "air_conditioner": {"air_conditioner_state": 0, "switch_time": 0},
        "battery_store_mode": 1,
        "alarm_state": 0,
        "putter_state": 0,
        "sub_device": {
            "device_sn": aircraft_sn,
            "device_model_key": "0-100-0",
            "device_online_status": 1,
            "device_paired": 1,
        },
        "job_number": 298,
        "acc_time": 3648792,
        "activation_time": 1775675085,
        "deployment_mode": 1,
        "relative_alternate_land_point": {
            "longitude": 0,
            "latitude": 0,
            "safe_land_height": 30,
            "status": 1,
        },
        "self_converge_coordinate": {"longitude": 113.936, "latitude": 22.543, "height": 40.29},
        "maintain_status": {
            "maintain_status_array": [
                {
                    "state": 0,
                    "last_maintain_type": 17,
                    "last_maintain_time": 0,
                    "last_maintain_work_sorties": 0,
                },
                {
                    "state": 0,
                    "last_maintain_type": 18,
                    "last_maintain_time": 0,
                    "last_maintain_work_sorties": 0,
                },
            ]
        },
        "electric_supply_voltage": 220,
        "working_voltage": 47460,
        "working_current": 3160,
        "acdc_power_input": 160.5,
        "poe_link_status": 0,
        "poe_power_output": 0,
        "backup_battery": {"voltage": 13583, "temperature": 28.2, "switch": 1},
        "gimbal_holder_state": 0,
        "drone_battery_maintenance_info": {
            "maintenance_state": 0,
            "maintenance_time_left": 0,
            "heat_state": 0,
            "batteries": [
                {"index": 0, "capacity_percent": 60, "voltage": 22984, "temperature": 28.6}
            ],
        },
        "temp_mode_state": False,
        "departure_point": {"height": 0, "latitude": 0, "longitude": 0},
        "departure_point_status": 0,
        "drc_state": 0,
        "flighttask_prepare_capacity": 1,
        "flighttask_step_code": 5,
        "media_file_detail": {"remain_upload": 0},
        "sdr": {"down_quality": 100, "frequency_band": 2.4, "up_quality": 100},
        "tilt_angle": {"valid": 1, "value": 0.66},
        "user_experience_improvement": 2,
        "wireless_link": wireless_link(),
    }
    if model != "3-3-0":
        for key in _DOCK3_ONLY:
            base.pop(key, None)
    if model == "3-2-0":
        for key in _NOT_DOCK2:
            base.pop(key, None)
    if model == "3-1-0":
        for key in _NOT_DOCK1:
            base.pop(key, None)
    return _apply(base, overrides)


def split_dock_osd(full: dict[str, Any]) -> list[dict[str, Any]]:
    """Cut a complete dock OSD into the partial messages a real dock sends.

    Returns:
        Three dicts (keys of a group absent from `full` are left out; keys in no group go into
        the last part, so nothing is lost).
    """
    parts: list[dict[str, Any]] = [{} for _ in DOCK_OSD_PARTS]
    for key, value in full.items():
        for i, group in enumerate(DOCK_OSD_PARTS):
            if key in group:
                parts[i][key] = value
                break
        else:
            parts[-1][key] = value
    return parts


def dock_osd_part(full: dict[str, Any], index: int) -> dict[str, Any]:
    """Partial message `index` (0-2) of `split_dock_osd(full)`, without building the others."""
    group = DOCK_OSD_PARTS[index]
    part = {k: v for k, v in full.items() if k in group}
    if index == len(DOCK_OSD_PARTS) - 1:
        part.update({k: v for k, v in full.items() if k not in _ALL_PART_KEYS})
    return part


_ALL_PART_KEYS = frozenset().union(*DOCK_OSD_PARTS)


def camera(payload_index: str, *, thermal: bool = False, **overrides: Any) -> dict[str, Any]:
    """One entry of the aircraft OSD `cameras` list."""
    base: dict[str, Any] = {
        "camera_mode": 0,
        "liveview_world_region": {"bottom": 0.566, "left": 0.434, "right": 0.558, "top": 0.439},
        "payload_index": payload_index,
        "photo_state": 0,
        "photo_storage_settings": ["vision"],
        "record_time": 0,
        "recording_state": 0,
        "remain_photo_num": 10069,
        "remain_record_duration": 0,
        "screen_split_enable": False,
        "video_storage_settings": ["vision"],
        "wide_exposure_mode": 1,
        "wide_exposure_value": 16,
        "wide_iso": 3,
        "wide_shutter_speed": 8,
        "zoom_exposure_mode": 1,
        "zoom_exposure_value": 16,
        "zoom_factor": 2,
        "zoom_focus_mode": 2,
        "zoom_focus_state": 0,
        "zoom_focus_value": 31,
        "zoom_iso": 3,
        "zoom_max_focus_value": 98,
        "zoom_min_focus_value": 0,
        "zoom_shutter_speed": 8,
    }
    if thermal:
        base["ir_metering_mode"] = 0
        base["ir_metering_point"] = {"temperature": 22.2, "x": 0.5, "y": 0.5}
        base["ir_zoom_factor"] = 2
        base["photo_storage_settings"] = ["ir", "vision"]
    return _apply(base, overrides)


def gimbal(payload_index: str, *, thermal: bool = False, **overrides: Any) -> dict[str, Any]:
    """The per-payload object the aircraft OSD carries under the key `payload_index`."""
    base: dict[str, Any] = {
        "gimbal_pitch": 0,
        "gimbal_roll": 0,
        "gimbal_yaw": 0,
        "measure_target_altitude": 0,
        "measure_target_distance": 0,
        "measure_target_error_state": 2,
        "measure_target_latitude": 0,
        "measure_target_longitude": 0,
        "payload_index": payload_index,
        "zoom_factor": 2,
    }
    if thermal:
        base.update(
            {
                "thermal_current_palette_style": 0,
                "thermal_gain_mode": 2,
                "thermal_global_temperature_max": 41.8,
                "thermal_global_temperature_min": 18.3,
                "thermal_isotherm_lower_limit": -20,
                "thermal_isotherm_state": 0,
                "thermal_isotherm_upper_limit": 150,
                "thermal_supported_palette_styles": [0, 1, 2, 3, 5, 6, 8, 11, 12, 13],
            }
        )
    return _apply(base, overrides)


def aircraft_battery(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "batteries": [
            {
                "capacity_percent": 80,
                "firmware_version": "37.03.01.39",
                "high_voltage_storage_days": 2,
                "index": 0,
                "loop_times": 44,
                "sn": "87UPNBVCA1010R",
                "sub_type": 0,
                "temperature": 30.1,
                "type": 0,
                "voltage": 24010,
            }
        ],
        "capacity_percent": 80,
        "landing_power": 7,
        "remain_flight_time": 1800,
        "return_home_power": 20,
    }
    return _apply(base, overrides)


def aircraft_osd(
    *,
    payload_index: str = "98-0-0",
    thermal: bool = False,
    gateway_sn: str = "",
    **overrides: Any,
) -> dict[str, Any]:
    """Aircraft OSD (protocol §3.3) with one main camera at `payload_index`."""
    base: dict[str, Any] = {
        payload_index: gimbal(payload_index, thermal=thermal),
        "activation_time": 1775675226,
        "attitude_head": 0,
        "attitude_pitch": 0,
        "attitude_roll": 0,
        "battery": aircraft_battery(),
        "best_link_gateway": gateway_sn,
        "cameras": [camera(payload_index, thermal=thermal)],
        "country": "CN",
        "distance_limit_status": {"distance_limit": 2000, "is_near_distance_limit": 0, "state": 1},
        "elevation": 0,
        "gear": 1,
        "height": 41.9,
        "height_limit": 120,
        "home_distance": 0,
        "horizontal_speed": 0,
        "is_near_area_limit": 0,
        "is_near_height_limit": 0,
        "latitude": 22.543,
        "longitude": 113.936,
        "maintain_status": {
            "maintain_status_array": [
                {
                    "last_maintain_flight_sorties": 0,
                    "last_maintain_flight_time": 0,
                    "last_maintain_time": 0,
                    "last_maintain_type": kind,
                    "state": 0,
                }
                for kind in (1, 2, 3)
            ]
        },
        "mode_code": 0,
        "night_lights_state": 0,
        "obstacle_avoidance": {"downside": 1, "horizon": 1, "upside": 1},
        "position_state": {"gps_number": 32, "is_fixed": 2, "quality": 5, "rtk_number": 37},
        "rc_lost_action": 2,
        "rid_state": True,
        "rth_altitude": 100,
        "storage": {"total": 60382000, "used": 851000},
        "total_flight_distance": 225604.7,
        "total_flight_sorties": 299,
        "total_flight_time": 101038.6,
        "track_id": "",
        "vertical_speed": 0,
        "wind_direction": 2,
        "wind_speed": 16,  # unit 0.1 m/s
    }
    return _apply(base, overrides)


def rc_osd(**overrides: Any) -> dict[str, Any]:
    """RC (Pilot 2 gateway) OSD (protocol §3.4): one message with everything."""
    base: dict[str, Any] = {
        "capacity_percent": 85,
        "country": "CN",
        "height": 38.2,
        "latitude": 22.543,
        "longitude": 113.936,
        "wireless_link": wireless_link(),
    }
    return _apply(base, overrides)


def video_list(types: list[str], *, dock: bool = True) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {"video_index": "normal-0", "video_type": "normal"}
    if dock:
        entry["switchable_video_types"] = types
    return [entry]


def live_capacity(
    sources: dict[str, list[tuple[str, list[str]]]], *, dock: bool = True
) -> dict[str, Any]:
    """`live_capacity` for `{source_sn: [(camera_index, switchable types), ...]}` (§7.1)."""
    devices: list[dict[str, Any]] = []
    for sn, cameras in sources.items():
        devices.append(
            {
                "sn": sn,
                "available_video_number": len(cameras),
                "coexist_video_number_max": 1,
                "camera_list": [
                    {
                        "camera_index": index,
                        "available_video_number": 1,
                        "coexist_video_number_max": 1,
                        "video_list": video_list(types, dock=dock),
                    }
                    for index, types in cameras
                ],
            }
        )
    total = sum(len(cameras) for cameras in sources.values())
    return {
        "available_video_number": total,
        "coexist_video_number_max": min(total, 3),
        "device_list": devices,
    }


def hms_alarm(
    code: str, *, device_type: str, in_the_sky: int = 0, level: int = 1, **overrides: Any
) -> dict[str, Any]:
    """One entry of an `hms` event's `list` (protocol §5)."""
    base: dict[str, Any] = {
        "args": {"component_index": 0, "sensor_index": 0},
        "code": code,
        "device_type": device_type,
        "imminent": 0,
        "in_the_sky": in_the_sky,
        "level": level,
        "module": 3,
    }
    return _apply(base, overrides)


def progress(
    status: str,
    *,
    percent: int = 0,
    step_key: str | None = None,
    result: int = 0,
    current_step: int | None = None,
    ext: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Progress-style event data: `{"result", "output": {"status", "progress": {...}}}`."""
    prog: dict[str, Any] = {"percent": percent}
    if step_key is not None:
        prog["step_key"] = step_key
    if current_step is not None:
        prog["current_step"] = current_step
    output: dict[str, Any] = {"status": status, "progress": prog}
    if ext is not None:
        output["ext"] = ext
    return {"result": result, "output": output}


def deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(data)
