"""Formatting of OSD values for people, with the units of protocol §3 (no Qt here).

Every function takes a raw, loosely typed wire value and returns text; junk or a missing value
reads "—" and never raises. Unit traps handled here: aircraft `wind_speed` is in 0.1 m/s while
the dock's is in m/s; storage sizes are in KB (1024 bytes); dock `working_voltage` is in mV and
`working_current` in mA; battery voltages are in mV; 32767/65535 mean "not available".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from gcs.protocol import properties as p
from gcs.ui.i18n import language, tr

__all__ = [
    "DASH",
    "bytes_text",
    "dig",
    "duration",
    "enum_text",
    "number",
    "percent",
    "storage",
    "switch",
    "yes_no",
]

DASH = "—"
NOT_AVAILABLE = (32767, 65535)


def dig(state: Mapping[str, Any], path: str) -> Any:
    """Value at dotted `path` in `state` (mappings only; a list picks its first element)."""
    value: Any = state
    for key in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def number(value: object, unit: str = "", digits: int = 1, scale: float = 1.0) -> str:
    """`value * scale` with `digits` decimals and a unit, or "—"."""
    x = p.as_float(value)
    if x is None or x in NOT_AVAILABLE:
        return DASH
    x *= scale
    text = f"{x:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return f"{text} {unit}".rstrip() if unit else text


def percent(value: object) -> str:
    """An integer percentage ("87 %"), or "—"."""
    x = p.as_float(value)
    if x is None or x in NOT_AVAILABLE or x < 0:
        return DASH
    return f"{x:.0f} %"


def enum_text(what: type[enum.IntEnum] | tuple[str, str], value: object) -> str:
    """Label of an enumerated value in the current language, or "—" when missing."""
    if value is None or p.as_int(value) is None:
        return DASH
    return p.label(what, value, language())


def yes_no(value: object) -> str:
    """ "Yes"/"No" for a loose boolean, or "—"."""
    b = p.to_bool(value)
    return DASH if b is None else tr("Yes") if b else tr("No")


def switch(value: object) -> str:
    """ "On"/"Off" for a loose boolean, or "—"."""
    b = p.to_bool(value)
    return DASH if b is None else tr("On") if b else tr("Off")


def bytes_text(n: float) -> str:
    """Bytes in binary units ("12.3 GiB")."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    x = float(n)
    for unit in units:
        if abs(x) < 1024 or unit == units[-1]:
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1024
    return f"{x:.1f} TiB"  # pragma: no cover


def storage(value: object) -> str:
    """A `{total, used}` storage struct (KB) as "used of total (percent)"."""
    if not isinstance(value, dict):
        return DASH
    try:
        total = p.storage_bytes(value.get("total"))  # type: ignore[arg-type]
        used = p.storage_bytes(value.get("used"))  # type: ignore[arg-type]
    except ValueError:
        return DASH
    share = f" ({100 * used / total:.0f} %)" if total > 0 else ""
    return tr("{used} of {total}").format(used=bytes_text(used), total=bytes_text(total)) + share


def duration(seconds: object) -> str:
    """Seconds as "1 h 02 min", "12 min 05 s" or "42 s", or "—"."""
    x = p.as_float(seconds)
    if x is None or x < 0 or x in NOT_AVAILABLE:
        return DASH
    s = int(x)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {sec:02d} s"
    return f"{sec} s"


def aircraft_wind(state: Mapping[str, Any]) -> str:
    """Aircraft wind estimate: speed (wire unit 0.1 m/s) and direction."""
    raw = state.get("wind_speed")
    try:
        speed = f"{p.aircraft_wind_speed_ms(raw):.1f} m/s"  # type: ignore[arg-type]
    except ValueError:
        return DASH
    direction = state.get("wind_direction")
    if p.as_int(direction):
        return f"{speed} {enum_text(p.WindDirection, direction)}"
    return speed


def dock_wind(value: object) -> str:
    """Dock anemometer wind speed (wire unit m/s)."""
    try:
        return f"{p.dock_wind_speed_ms(value):.1f} m/s"  # type: ignore[arg-type]
    except ValueError:
        return DASH


def network_rate(value: object) -> str:
    """Dock `network_state.rate` (KB/s) as bytes per second."""
    try:
        return bytes_text(p.network_rate_bytes_per_s(value)) + "/s"  # type: ignore[arg-type]
    except ValueError:
        return DASH


def coordinate(value: object) -> str:
    """A latitude or longitude in degrees with 7 decimals (~1 cm)."""
    x = p.as_float(value)
    return DASH if x is None else f"{x:.7f}°"
