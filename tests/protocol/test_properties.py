"""Property enums, labels, units and loose readers (protocol §3), checked against real data."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gcs.protocol import properties as p
from gcs.protocol.properties import (
    ENUMS,
    PROPERTY_ENUMS,
    UNITS,
    AirConditionerState,
    AircraftModeCode,
    CameraMode,
    CommanderModeLostAction,
    CoverState,
    DockModeCode,
    DrcState,
    ModeCodeReason,
    OutOfControlAction,
    RcLostAction,
    RthMode,
    WindDirection,
    aircraft_wind_speed_ms,
    as_float,
    as_int,
    dock_wind_speed_ms,
    label,
    network_rate_bytes_per_s,
    property_path,
    storage_bytes,
    to_bool,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CAPTURE = SHARED_DATA / "captures" / "dock3-m4td-flight"


def _is_unknown(text: str) -> bool:
    return text.startswith(("Unknown (", "未知 ("))


# --- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ENUMS, ids=lambda c: c.__name__)
def test_every_member_has_both_labels(cls: type[enum.IntEnum]) -> None:
    assert set(p.labels(cls)) == {m.value for m in cls}, "label table and enum differ"
    for member in cls:
        en, zh = label(cls, member), label(cls, member, "zh")
        assert en and zh and not _is_unknown(en) and not _is_unknown(zh), member
        assert label(cls, int(member)) == en
    # the Chinese table is a translation, not a copy of the English one
    assert p.labels(cls, "zh") != p.labels(cls, "en")


@pytest.mark.parametrize(
    ("cls", "value", "en", "zh"),
    [
        (DockModeCode, 2, "Remote debugging", "远程调试"),
        (DockModeCode, 5, "Awaiting calibration", "待标定"),
        (CoverState, 2, "Half open", "半开"),
        (AirConditionerState, 32767, "Not connected", "空调未连接"),
        (AircraftModeCode, 9, "Returning home", "自动返航"),
        (AircraftModeCode, 20, "POI orbit", "兴趣点环绕"),
        (ModeCodeReason, 23, "Return home: strong gale", "大风返航"),
        (WindDirection, 0, "No wind", "无风"),
        (WindDirection, 8, "North-west", "西北"),
        (DrcState, 2, "Connected", "已连接"),
        (CameraMode, 2, "Smart low-light", "智能低光"),
    ],
)
def test_labels_in_both_languages(cls: type[enum.IntEnum], value: int, en: str, zh: str) -> None:
    assert label(cls, value) == en
    assert label(cls, value, "zh") == zh
    assert label(cls, value, "zh-CN") == zh
    assert label(cls, value, "de") == en


def test_lost_action_enums_have_different_orders() -> None:
    # §19 item 4: rc_lost_action is hover/land/RTH, out_of_control_action is RTH/hover/land
    assert [label(RcLostAction, v) for v in range(3)] == ["Hover", "Land", "Return home"]
    assert [label(OutOfControlAction, v) for v in range(3)] == ["Return home", "Hover", "Land"]
    assert int(RcLostAction.RETURN_HOME) == 2
    assert int(OutOfControlAction.RETURN_HOME) == 0


@pytest.mark.parametrize("value", [42, -1, 6, 100000])
def test_unknown_values(value: int) -> None:
    assert label(CoverState, value) == f"Unknown ({value})"
    assert label(CoverState, value, "zh") == f"未知 ({value})"


@pytest.mark.parametrize("junk", [None, "abc", 1.5, [1], {"a": 1}, float("nan")])
def test_junk_values_never_raise(junk: Any) -> None:
    assert _is_unknown(label(CoverState, junk))
    assert _is_unknown(label(CoverState, junk, "zh"))


def test_loose_values_are_read() -> None:
    assert label(CoverState, "1") == "Open"
    assert label(CoverState, 1.0) == "Open"
    assert label(CoverState, True) == "Open"
    assert label(CoverState, CoverState.OPEN) == "Open"


def test_label_by_property_name() -> None:
    assert label(("dock", "mode_code"), 4) == "Working"
    assert label(("aircraft", "mode_code"), 4) == "Auto take-off"
    assert label("dock.mode_code", 4) == "Working"
    assert label("aircraft.mode_code", 17, "zh") == "指令飞行"
    assert label("cover_state", 0) == "Closed"  # unambiguous bare path
    assert label("air_conditioner.air_conditioner_state", 1) == "Cooling"
    assert label("aircraft.cameras.camera_mode", 1) == "Video"
    # ambiguous or unknown names give the unknown label rather than a guess
    assert label("mode_code", 4) == "Unknown (4)"
    assert label("no_such_property", 1) == "Unknown (1)"
    assert label(("rc", "mode_code"), 0, "zh") == "未知 (0)"
    assert label(42, 1) == "Unknown (1)"  # type: ignore[arg-type]


def test_property_map_is_consistent() -> None:
    assert PROPERTY_ENUMS[("dock", "mode_code")] is DockModeCode
    assert PROPERTY_ENUMS[("aircraft", "mode_code")] is AircraftModeCode
    assert PROPERTY_ENUMS[("dock", "cover_state")] is CoverState
    assert PROPERTY_ENUMS[("aircraft", "rc_lost_action")] is RcLostAction
    assert PROPERTY_ENUMS[("aircraft", "rth_mode")] is RthMode
    for (kind, path), cls in PROPERTY_ENUMS.items():
        assert kind in ("dock", "aircraft", "rc")
        assert cls in ENUMS, path
        assert p.property_enum(kind, path) is cls
    assert p.property_enum("dock", "wind_speed") is None


def test_property_path() -> None:
    assert property_path("mode_code") == "mode_code"
    assert property_path("cameras", 0, "camera_mode") == "cameras.camera_mode"
    assert property_path("99-0-0", "thermal_gain_mode") == "payload.thermal_gain_mode"
    assert property_path("air_conditioner", "air_conditioner_state") == (
        "air_conditioner.air_conditioner_state"
    )


# --- units --------------------------------------------------------------------------------------


def test_wind_speed_units_differ_between_aircraft_and_dock() -> None:
    # §19 item 5: the capture's aircraft reported wind_speed 16 → 1.6 m/s
    assert aircraft_wind_speed_ms(16) == pytest.approx(1.6)
    assert dock_wind_speed_ms(16) == 16.0
    assert aircraft_wind_speed_ms("120") == pytest.approx(12.0)  # type: ignore[arg-type]
    assert UNITS[("aircraft", "wind_speed")] == "0.1 m/s"
    assert UNITS[("dock", "wind_speed")] == "m/s"


def test_storage_and_rate_are_kilobytes() -> None:
    assert storage_bytes(53082240) == 53082240 * 1024
    assert storage_bytes(0) == 0
    assert network_rate_bytes_per_s(527) == 527 * 1024
    assert UNITS[("dock", "storage.total")] == "KB"
    assert UNITS[("aircraft", "storage.used")] == "KB"
    assert UNITS[("dock", "network_state.rate")] == "KB/s"


def test_other_documented_units() -> None:
    assert UNITS[("aircraft", "height")] == "m (ellipsoidal)"
    assert UNITS[("aircraft", "elevation")] == "m (relative to take-off)"
    assert UNITS[("aircraft", "battery.remain_flight_time")] == "s"
    assert UNITS[("dock", "working_voltage")] == "mV"
    assert UNITS[("dock", "working_current")] == "mA"
    assert UNITS[("dock", "electric_supply_voltage")] == "V"
    for (kind, _), unit in UNITS.items():
        assert kind in ("dock", "aircraft", "rc") and unit


@pytest.mark.parametrize(
    "convert", [aircraft_wind_speed_ms, dock_wind_speed_ms, storage_bytes, network_rate_bytes_per_s]
)
@pytest.mark.parametrize("junk", [None, "fast", float("inf"), [3]])
def test_unit_converters_reject_junk_clearly(convert: Any, junk: Any) -> None:
    with pytest.raises(ValueError, match="not a number"):
        convert(junk)


# --- loose readers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, False),
        (1, True),
        (True, True),
        (False, False),
        ("0", False),
        ("1", True),
        ("true", True),
        ("false", False),
        (" TRUE ", True),
        ("False", False),
        (1.0, True),
        (0.0, False),
        (2, None),
        (-1, None),
        ("2", None),
        ("maybe", None),
        ("", None),
        (None, None),
        ([1], None),
        (0.5, None),
    ],
)
def test_to_bool(value: Any, expected: bool | None) -> None:
    assert to_bool(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4, 4),
        (True, 1),
        (4.0, 4),
        ("42", 42),
        (" -3 ", -3),
        ("4.0", 4),
        (4.5, None),
        ("4.5", None),
        (float("nan"), None),
        (float("inf"), None),
        ("x", None),
        (None, None),
        ([4], None),
        ({}, None),
    ],
)
def test_as_int(value: Any, expected: int | None) -> None:
    assert as_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4, 4.0),
        (4.25, 4.25),
        ("36.13", 36.13),
        (" 1e3 ", 1000.0),
        (False, 0.0),
        (float("nan"), None),
        ("nan", None),
        ("inf", None),
        ("x", None),
        (None, None),
        ([1.0], None),
    ],
)
def test_as_float(value: Any, expected: float | None) -> None:
    result = as_float(value)
    assert result == expected
    assert result is None or math.isfinite(result)


# --- against real data --------------------------------------------------------------------------


def _walk(data: Any, keys: tuple[str | int, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Yield (dotted property path, scalar value) for every leaf of ``data``."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _walk(value, (*keys, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk(value, (*keys, index))
    else:
        yield property_path(*keys), data


def _capture_lines(*names: str) -> list[dict[str, Any]]:
    out = []
    for name in names:
        path = CAPTURE / name
        if not path.exists():
            pytest.skip(f"shared data missing: {path}")
        out += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return out


_CAPTURE_FILES: dict[str, tuple[str, ...]] = {
    "dock": (
        "topics_partial/thing__product__SN_DOCK_FIXTURE__osd.0001.jsonl",
        "topics/thing__product__SN_DOCK_FIXTURE__state.0001.jsonl",
    ),
    "aircraft": (
        "topics_partial/thing__product__SN_DRONE_FIXTURE__osd.0001.jsonl",
        "topics_partial/thing__product__SN_DRONE_FIXTURE__state.0001.jsonl",
    ),
}


def test_real_dock3_m4td_values_all_have_labels() -> None:
    """Every enumerated value a real Dock 3 + M4TD sent on osd/state has a known label."""
    seen: set[tuple[str, str]] = set()
    for kind, files in _CAPTURE_FILES.items():
        for line in _capture_lines(*files):
            assert line["topic"].endswith(("/osd", "/state"))
            for path, value in _walk(line["payload"]["data"]):
                cls = PROPERTY_ENUMS.get((kind, path))
                if cls is None:
                    continue
                seen.add((kind, path))
                assert not _is_unknown(label(cls, value)), (kind, path, value)
                assert not _is_unknown(label(cls, value, "zh")), (kind, path, value)
    # the check really looked at the properties the brief names
    for key in [
        ("dock", "mode_code"),
        ("dock", "cover_state"),
        ("dock", "drone_in_dock"),
        ("dock", "putter_state"),
        ("dock", "rainfall"),
        ("dock", "air_conditioner.air_conditioner_state"),
        ("dock", "network_state.quality"),
        ("dock", "flighttask_step_code"),
        ("dock", "drc_state"),
        ("dock", "maintain_status.maintain_status_array.last_maintain_type"),
        ("aircraft", "mode_code"),
        ("aircraft", "wind_direction"),
        ("aircraft", "gear"),
        ("aircraft", "rc_lost_action"),
        ("aircraft", "cameras.camera_mode"),
        ("aircraft", "payload.thermal_supported_palette_styles"),
        ("aircraft", "mode_code_reason"),
        ("aircraft", "rth_mode"),
    ]:
        assert key in seen, key


def test_real_aircraft_wind_speed_is_plausible_after_conversion() -> None:
    (line,) = _capture_lines(_CAPTURE_FILES["aircraft"][0])
    data = line["payload"]["data"]
    assert 0 <= aircraft_wind_speed_ms(data["wind_speed"]) < 15  # raw 16 would be a gale in m/s
    assert storage_bytes(data["storage"]["used"]) <= storage_bytes(data["storage"]["total"])


# The docs' examples carry no osd/state messages; these are the enumerated fields they do carry
# (service parameters, DRC pushes, events), with the enum each one uses.
_DOC_FIELDS: dict[str, type[enum.IntEnum]] = {
    "camera_mode": CameraMode,
    "rc_lost_action": RcLostAction,
    "out_of_control_action": OutOfControlAction,
    "commander_mode_lost_action": CommanderModeLostAction,
    "commander_flight_mode": p.CommanderFlightMode,
    "exit_wayline_when_rc_lost": p.ExitWaylineWhenRcLost,
    "rth_mode": RthMode,
    "drc_state": DrcState,
    "night_lights_state": p.Switch,
    "photo_state": p.PhotoState,
    "recording_state": p.RecordingState,
    "cover_state": CoverState,
    "drone_in_dock": p.DroneInDock,
    "wind_direction": WindDirection,
    "gear": p.Gear,
}
_DOC_MODE_CODE: dict[str, type[enum.IntEnum]] = {"drc_drone_state_push": AircraftModeCode}


def _doc_examples() -> list[dict[str, Any]]:
    path = SHARED_DATA / "dji-doc-examples.jsonl"
    if not path.exists():
        pytest.skip(f"shared data missing: {path}")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_doc_example_values_all_have_labels() -> None:
    checked: list[tuple[str, Any]] = []
    for example in _doc_examples():
        if example["protocol"] != "mqtt" or not isinstance(example["example"], dict):
            continue
        is_property_topic = (example["topic"] or "").endswith(("/osd", "/state"))
        for path, value in _walk(example["example"].get("data")):
            name = path.rsplit(".", 1)[-1]
            if is_property_topic:  # none in v1.16.1; the topic does not say dock or aircraft
                candidates = [PROPERTY_ENUMS.get((kind, path)) for kind in ("dock", "aircraft")]
            elif name == "mode_code":
                candidates = [_DOC_MODE_CODE.get(example["method"])]
            else:
                candidates = [_DOC_FIELDS.get(name)]
            classes = [cls for cls in candidates if cls is not None]
            if not classes:
                continue
            checked.append((name, value))
            assert any(not _is_unknown(label(cls, value)) for cls in classes), (
                example["id"],
                path,
                value,
            )
    names = {name for name, _ in checked}
    assert {"camera_mode", "rc_lost_action", "drc_state", "mode_code"} <= names
    assert len(checked) >= 30
