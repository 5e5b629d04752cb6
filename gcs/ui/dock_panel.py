"""The dock panel: cover, putter, drone, charging, environment, network, power... (§3.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QWidget

from gcs.protocol import properties as p
from gcs.protocol.models import Domain
from gcs.station.devices import DeviceView
from gcs.ui import fmt
from gcs.ui.device_base import DevicePanel
from gcs.ui.fmt import dig
from gcs.ui.i18n import tr
from gcs.ui.widgets import Group, PropertyForm, Row


def _charge(s: Mapping[str, Any]) -> str:
    charge = s.get("drone_charge_state")
    if not isinstance(charge, dict):
        return fmt.DASH
    state = p.to_bool(charge.get("state"))
    level = fmt.percent(charge.get("capacity_percent"))
    if state is None:
        return level
    return f"{tr('Yes') if state else tr('No')} · {level}"


def _drone_in_dock(s: Mapping[str, Any]) -> str:
    text = fmt.enum_text(p.DroneInDock, s.get("drone_in_dock"))
    sub = s.get("sub_device")
    if isinstance(sub, dict) and sub.get("device_sn"):
        online = fmt.enum_text(p.OnlineStatus, sub.get("device_online_status"))
        return f"{text} · {sub['device_sn']} ({online})"
    return text


def _backup(s: Mapping[str, Any]) -> str:
    b = s.get("backup_battery")
    if not isinstance(b, dict):
        return fmt.DASH
    parts = [fmt.switch(b.get("switch"))]
    if p.to_bool(b.get("switch")):
        parts.append(fmt.number(b.get("voltage"), "V", 2, scale=0.001))
    parts.append(fmt.number(b.get("temperature"), "°C"))
    return " · ".join(x for x in parts if x != fmt.DASH) or fmt.DASH


def _air_conditioner(s: Mapping[str, Any]) -> str:
    ac = s.get("air_conditioner")
    if not isinstance(ac, dict):
        return fmt.DASH
    return fmt.enum_text(p.AirConditionerState, ac.get("air_conditioner_state"))


def _maintenance(s: Mapping[str, Any]) -> str:
    arr = dig(s, "maintain_status.maintain_status_array")
    if not isinstance(arr, dict):
        return fmt.DASH
    kind = fmt.enum_text(p.MaintenanceType, arr.get("last_maintain_type"))
    when = p.as_int(arr.get("last_maintain_time"))
    if when:
        import datetime

        stamp = datetime.datetime.fromtimestamp(when).strftime("%Y-%m-%d")
        return f"{kind} · {stamp}"
    return kind


def _battery_maintenance(s: Mapping[str, Any]) -> str:
    info = s.get("drone_battery_maintenance_info")
    if not isinstance(info, dict):
        return fmt.DASH
    state = fmt.enum_text(p.BatteryMaintenanceState, info.get("maintenance_state"))
    heat = fmt.enum_text(p.BatteryHeatState, info.get("heat_state"))
    return f"{state} · {heat}"


def _storage(s: Mapping[str, Any]) -> str:
    return fmt.storage(s.get("storage"))


def _power(s: Mapping[str, Any]) -> str:
    watts = s.get("acdc_power_input")
    return fmt.number(watts, "W", 0) if watts is not None else fmt.DASH


def _positioning(s: Mapping[str, Any]) -> str:
    ps = s.get("position_state")
    if not isinstance(ps, dict):
        return fmt.DASH
    fixed = fmt.enum_text(p.PositionFixState, ps.get("is_fixed"))
    quality = fmt.enum_text(p.PositionQuality, ps.get("quality"))
    gps = ps.get("gps_number")
    rtk = ps.get("rtk_number")
    gps_text = "—" if gps is None else str(gps)
    rtk_text = "—" if rtk is None else str(rtk)
    return f"{fixed} · {quality} · GPS {gps_text} · RTK {rtk_text}"


GROUPS = [
    Group(
        "State",
        [
            Row("mode", "Mode", lambda s: fmt.enum_text(p.DockModeCode, s.get("mode_code"))),
            Row("cover", "Cover", lambda s: fmt.enum_text(p.CoverState, s.get("cover_state"))),
            Row("putter", "Putter", lambda s: fmt.enum_text(p.PutterState, s.get("putter_state"))),
            Row("drone_in_dock", "Drone in dock", _drone_in_dock),
            Row("charging", "Charging", _charge),
            Row(
                "task_step",
                "Task step",
                lambda s: fmt.enum_text(p.FlighttaskStepCode, s.get("flighttask_step_code")),
            ),
            Row(
                "emergency_stop",
                "Emergency stop",
                lambda s: fmt.enum_text(p.EmergencyStopState, s.get("emergency_stop_state")),
            ),
            Row("alarm", "Alarm", lambda s: fmt.switch(s.get("alarm_state"))),
        ],
    ),
    Group(
        "Environment",
        [
            Row(
                "env_temperature",
                "Outside temperature",
                lambda s: fmt.number(s.get("environment_temperature"), "°C"),
            ),
            Row(
                "temperature", "Dock temperature", lambda s: fmt.number(s.get("temperature"), "°C")
            ),
            Row("humidity", "Humidity", lambda s: fmt.number(s.get("humidity"), "%RH", 0)),
            Row("wind_speed", "Wind speed", lambda s: fmt.dock_wind(s.get("wind_speed"))),
            Row(
                "rainfall", "Rainfall", lambda s: fmt.enum_text(p.RainfallLevel, s.get("rainfall"))
            ),
        ],
    ),
    Group(
        "Network",
        [
            Row(
                "network_type",
                "Network type",
                lambda s: fmt.enum_text(p.NetworkType, dig(s, "network_state.type")),
            ),
            Row(
                "network_quality",
                "Network quality",
                lambda s: fmt.enum_text(p.NetworkQuality, dig(s, "network_state.quality")),
            ),
            Row("network_rate", "Rate", lambda s: fmt.network_rate(dig(s, "network_state.rate"))),
        ],
    ),
    Group("Storage", [Row("storage", "Storage", _storage)]),
    Group(
        "Power",
        [
            Row(
                "supply_voltage",
                "Supply voltage",
                lambda s: fmt.number(s.get("electric_supply_voltage"), "V", 0),
            ),
            Row(
                "working_voltage",
                "Working voltage",
                lambda s: fmt.number(s.get("working_voltage"), "V", 2, scale=0.001),
            ),
            Row(
                "working_current",
                "Working current",
                lambda s: fmt.number(s.get("working_current"), "A", 2, scale=0.001),
            ),
            Row("power_input", "Power", _power),
            Row("backup_battery", "Backup battery", _backup),
        ],
    ),
    Group(
        "Air conditioner",
        [
            Row("air_conditioner", "State", _air_conditioner),
        ],
    ),
    Group(
        "Maintenance",
        [
            Row("maintenance", "Last maintenance", _maintenance),
            Row("battery_maintenance", "Drone battery", _battery_maintenance),
        ],
    ),
    Group(
        "Position",
        [
            Row("latitude", "Latitude", lambda s: fmt.coordinate(s.get("latitude"))),
            Row("longitude", "Longitude", lambda s: fmt.coordinate(s.get("longitude"))),
            Row("height", "Height (ellipsoid)", lambda s: fmt.number(s.get("height"), "m")),
            Row("heading", "Heading", lambda s: fmt.number(s.get("heading"), "°", 0)),
            Row("positioning", "Positioning", _positioning),
        ],
    ),
]


class DockPanel(DevicePanel):
    """The selected dock (or the dock of the selected aircraft)."""

    placeholder_text = "Select a dock in the fleet panel."

    def build(self) -> QWidget:
        self.form = PropertyForm(GROUPS)
        return self.form

    def pick(self, view: DeviceView) -> str | None:
        if view.domain == Domain.DOCK:
            return view.sn
        if view.domain == Domain.AIRCRAFT and view.gateway_sn:
            gw = self.bridge.device(view.gateway_sn)
            if gw is not None and gw.domain == Domain.DOCK:
                return gw.sn
        return None

    def refresh(self, view: DeviceView | None, state: Mapping[str, Any]) -> None:
        self.form.update_values(state)

    def retranslate_body(self) -> None:
        self.form.retranslate()

    def value(self, key: str) -> str:
        """Text of the value labelled `key` (e.g. "cover", "wind_speed")."""
        return self.form.value(key)
