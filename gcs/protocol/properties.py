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

This module holds the functions and is the one to import from; the data they read lives in
:mod:`gcs.protocol.property_enums` (the enums and their labels) and
:mod:`gcs.protocol.property_table` (:data:`PROPERTY_ENUMS` and :data:`UNITS`), both re-exported
here.
"""

from __future__ import annotations

import enum
import math
import re
from typing import Final, Literal

from gcs.protocol.property_enums import (
    ENUMS,
    LABELS,
    AirConditionerState,
    AircraftModeCode,
    BatteryHeatState,
    BatteryMaintenanceState,
    BatteryStoreMode,
    CameraMode,
    ChargeState,
    CommanderFlightMode,
    CommanderModeLostAction,
    CompatibleStatus,
    CoverState,
    DockModeCode,
    DrcState,
    DroneInDock,
    EmergencyStopState,
    ExitWaylineWhenRcLost,
    ExposureMode,
    FirmwareUpgradeStatus,
    FlighttaskStepCode,
    FocusMode,
    FocusState,
    Gear,
    IrMeteringMode,
    LinkState,
    LinkWorkmode,
    MaintenanceType,
    MeasureTargetErrorState,
    ModeCodeReason,
    NetworkQuality,
    NetworkType,
    OnlineStatus,
    OutOfControlAction,
    PhotoState,
    PositionFixState,
    PositionQuality,
    PutterState,
    RainfallLevel,
    RcLostAction,
    RecordingState,
    RthMode,
    SilentMode,
    SimSlot,
    Switch,
    TelecomOperator,
    ThermalGainMode,
    ThermalPalette,
    UserExperienceImprovement,
    Validity,
    WindDirection,
    YesNo,
)
from gcs.protocol.property_table import PROPERTY_ENUMS, UNITS

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
        text = LABELS.get(cls, {}).get(number)
        if text is not None:
            return text[1] if zh else text[0]
    shown = value.value if isinstance(value, enum.Enum) else value
    return f"未知 ({shown})" if zh else f"Unknown ({shown})"


def labels(enum_cls: type[enum.IntEnum], lang: str = "en") -> dict[int, str]:
    """All labels of an enum, by value (for drop-downs and legends)."""
    zh = lang.lower().startswith("zh")
    return {k: (v[1] if zh else v[0]) for k, v in LABELS.get(enum_cls, {}).items()}


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
