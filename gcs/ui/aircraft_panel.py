"""The aircraft panel: mode, position, heights, speeds, attitude, battery, GNSS, wind... (§3.3)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gcs.protocol import properties as p
from gcs.protocol.models import Domain, payload_name
from gcs.station.devices import DeviceView
from gcs.ui import fmt
from gcs.ui.device_base import DevicePanel
from gcs.ui.fmt import dig
from gcs.ui.i18n import tr
from gcs.ui.widgets import AttitudeIndicator, Group, PropertyForm, Row

_PAYLOAD_KEY = re.compile(r"^\d+-\d+-\d+$")


def _battery(s: Mapping[str, Any]) -> str:
    return fmt.percent(dig(s, "battery.capacity_percent"))


def _rth_threshold(s: Mapping[str, Any]) -> str:
    value = dig(s, "battery.return_home_power")
    if value is None:
        value = s.get("low_battery_warning_threshold")
    return fmt.percent(value)


def _land_threshold(s: Mapping[str, Any]) -> str:
    value = dig(s, "battery.landing_power")
    if value is None:
        value = s.get("serious_low_battery_warning_threshold")
    return fmt.percent(value)


def _battery_cells(s: Mapping[str, Any]) -> str:
    battery = s.get("battery")
    batteries = battery.get("batteries") if isinstance(battery, dict) else None
    if not isinstance(batteries, list) or not batteries:
        return fmt.DASH
    parts = []
    for b in batteries:
        if not isinstance(b, dict):
            continue
        parts.append(
            f"{fmt.percent(b.get('capacity_percent'))} "
            f"{fmt.number(b.get('voltage'), 'V', 2, scale=0.001)} "
            f"{fmt.number(b.get('temperature'), '°C')}"
        )
    return " | ".join(parts) or fmt.DASH


def _gnss(key: str) -> Any:
    def read(s: Mapping[str, Any]) -> str:
        v = p.as_int(dig(s, f"position_state.{key}"))
        return fmt.DASH if v is None else str(v)

    return read


def _fix(s: Mapping[str, Any]) -> str:
    fixed = fmt.enum_text(p.PositionFixState, dig(s, "position_state.is_fixed"))
    quality = fmt.enum_text(p.PositionQuality, dig(s, "position_state.quality"))
    return f"{fixed} · {quality}"


def _obstacle(s: Mapping[str, Any]) -> str:
    oa = s.get("obstacle_avoidance")
    if not isinstance(oa, dict):
        return fmt.DASH
    return " / ".join(fmt.switch(oa.get(k)) for k in ("horizon", "upside", "downside"))


def _payloads(s: Mapping[str, Any]) -> str:
    """One line per camera/gimbal: name, camera mode, zoom, recording; gimbal angles."""
    cameras: dict[str, dict[str, Any]] = {}
    for cam in s.get("cameras") or []:
        if isinstance(cam, dict) and isinstance(cam.get("payload_index"), str):
            cameras[cam["payload_index"]] = cam
    gimbals = {k: v for k, v in s.items() if _PAYLOAD_KEY.match(k) and isinstance(v, dict)}
    lines = []
    for index in sorted(set(cameras) | set(gimbals)):
        name = payload_name(index) or index
        parts = [f"{name}"]
        cam = cameras.get(index, {})
        if cam:
            parts.append(fmt.enum_text(p.CameraMode, cam.get("camera_mode")))
            zoom = p.as_float(cam.get("zoom_factor"))
            if zoom is not None:
                parts.append(f"{zoom:.1f}×")
            if p.to_bool(cam.get("recording_state")):
                parts.append(f"● {tr('Recording')} {fmt.duration(cam.get('record_time'))}")
        g = gimbals.get(index, {})
        if g:
            angles = [p.as_float(g.get(k)) for k in ("gimbal_pitch", "gimbal_yaw", "gimbal_roll")]
            if all(a is not None for a in angles):
                pitch, yaw, roll = angles
                parts.append(f"{tr('Gimbal')} P {pitch:.1f}° Y {yaw:.1f}° R {roll:.1f}°")
        lines.append(" · ".join(x for x in parts if x != fmt.DASH))
    return "\n".join(lines) or fmt.DASH


GROUPS = [
    Group(
        "Flight",
        [
            Row("mode", "Mode", lambda s: fmt.enum_text(p.AircraftModeCode, s.get("mode_code"))),
            Row(
                "mode_reason",
                "Mode reason",
                lambda s: fmt.enum_text(p.ModeCodeReason, s.get("mode_code_reason")),
            ),
            Row("gear", "Gear", lambda s: fmt.enum_text(p.Gear, s.get("gear"))),
            Row("obstacle", "Obstacle avoidance", _obstacle),
        ],
    ),
    Group(
        "Position",
        [
            Row("latitude", "Latitude", lambda s: fmt.coordinate(s.get("latitude"))),
            Row("longitude", "Longitude", lambda s: fmt.coordinate(s.get("longitude"))),
            Row("height", "Height (ellipsoid)", lambda s: fmt.number(s.get("height"), "m")),
            Row("elevation", "Height (relative)", lambda s: fmt.number(s.get("elevation"), "m")),
            Row(
                "home_distance",
                "Distance to home",
                lambda s: fmt.number(s.get("home_distance"), "m"),
            ),
        ],
    ),
    Group(
        "Attitude",
        [
            Row(
                "horizontal_speed",
                "Horizontal speed",
                lambda s: fmt.number(s.get("horizontal_speed"), "m/s"),
            ),
            Row(
                "vertical_speed",
                "Vertical speed",
                lambda s: fmt.number(s.get("vertical_speed"), "m/s"),
            ),
            Row("heading", "Heading", lambda s: fmt.number(s.get("attitude_head"), "°", 0)),
            Row("pitch", "Pitch", lambda s: fmt.number(s.get("attitude_pitch"), "°")),
            Row("roll", "Roll", lambda s: fmt.number(s.get("attitude_roll"), "°")),
        ],
    ),
    Group(
        "Battery",
        [
            Row("battery", "Battery", _battery),
            Row(
                "flight_time_left",
                "Remaining flight time",
                lambda s: fmt.duration(dig(s, "battery.remain_flight_time")),
            ),
            Row("rth_power", "Return home at", _rth_threshold),
            Row("landing_power", "Land at", _land_threshold),
            Row("cells", "Batteries", _battery_cells),
        ],
    ),
    Group(
        "Positioning",
        [
            Row("gps", "GPS satellites", _gnss("gps_number")),
            Row("rtk", "RTK satellites", _gnss("rtk_number")),
            Row("fix", "RTK fixed", _fix),
        ],
    ),
    Group(
        "Wind",
        [Row("wind", "Wind", fmt.aircraft_wind)],
    ),
    Group(
        "Storage",
        [
            Row("storage", "Storage", lambda s: fmt.storage(s.get("storage"))),
            Row(
                "flight_distance",
                "Total flight distance",
                lambda s: fmt.number(s.get("total_flight_distance"), "km", 1, scale=0.001),
            ),
            Row(
                "flight_time_total",
                "Total flight time",
                lambda s: fmt.duration(s.get("total_flight_time")),
            ),
        ],
    ),
    Group("Cameras and gimbals", [Row("payloads", "Payload", _payloads)]),
]


class AircraftPanel(DevicePanel):
    """The selected aircraft (or the aircraft of the selected gateway)."""

    placeholder_text = "Select an aircraft in the fleet panel."

    def build(self) -> QWidget:
        body = QWidget()
        self.attitude = AttitudeIndicator()
        self.attitude.setObjectName("attitude")
        self.form = PropertyForm(GROUPS)
        top = QHBoxLayout()
        top.addWidget(self.attitude)
        self.big = QLabel()
        self.big.setObjectName("summary")
        self.big.setWordWrap(True)  # wraps rather than widening the panel (and squeezing others)
        top.addWidget(self.big, 1)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.form, 1)
        return body

    def pick(self, view: DeviceView) -> str | None:
        if view.domain == Domain.AIRCRAFT:
            return view.sn
        if view.is_gateway and view.sub_devices:
            return view.sub_devices[0]
        return None

    def refresh(self, view: DeviceView | None, state: Mapping[str, Any]) -> None:
        self.form.update_values(state)
        self.attitude.set_attitude(
            p.as_float(state.get("attitude_pitch")),
            p.as_float(state.get("attitude_roll")),
            p.as_float(state.get("attitude_head")),
        )
        mode = fmt.enum_text(p.AircraftModeCode, state.get("mode_code"))
        self.big.setText(
            f"<span style='font-size:15pt'><b>{mode}</b></span><br>"
            f"{tr('Battery')}: <b>{_battery(state)}</b> &nbsp; "
            f"{tr('Height (relative)')}: <b>{fmt.number(state.get('elevation'), 'm')}</b><br>"
            f"{tr('Horizontal speed')}: <b>{fmt.number(state.get('horizontal_speed'), 'm/s')}</b>"
            f" &nbsp; {tr('Distance to home')}: "
            f"<b>{fmt.number(state.get('home_distance'), 'm')}</b>"
        )

    def retranslate_body(self) -> None:
        self.form.retranslate()

    def value(self, key: str) -> str:
        """Text of the value labelled `key` (e.g. "mode", "wind", "battery")."""
        return self.form.value(key)
