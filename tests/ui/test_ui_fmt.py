"""Formatting of wire values for the panels (protocol §3 units), without a window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gcs.protocol import properties as p
from gcs.ui import fmt
from gcs.ui.i18n import set_language


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.mark.parametrize(
    ("state", "text"),
    [
        ({"wind_speed": 52, "wind_direction": 3}, "5.2 m/s East"),  # 0.1 m/s on the wire
        ({"wind_speed": 7}, "0.7 m/s"),
        ({"wind_speed": "12", "wind_direction": 0}, "1.2 m/s"),
        ({"wind_speed": None}, "—"),
        ({}, "—"),
    ],
)
def test_aircraft_wind_is_in_tenths(state: dict[str, object], text: str) -> None:
    assert fmt.aircraft_wind(state) == text


def test_dock_wind_is_in_metres_per_second() -> None:
    assert fmt.dock_wind(5.2) == "5.2 m/s"
    assert fmt.dock_wind("junk") == "—"


@pytest.mark.parametrize(
    ("storage", "text"),
    [
        ({"total": 1048576, "used": 262144}, "256.0 MiB of 1.0 GiB (25 %)"),  # KB = 1024 B
        ({"total": 0, "used": 0}, "0 B of 0 B"),
        ({"total": "x", "used": 1}, "—"),
        ([1, 2], "—"),
        (None, "—"),
    ],
)
def test_storage_is_in_kilobytes(storage: object, text: str) -> None:
    assert fmt.storage(storage) == text


def test_numbers_units_and_junk() -> None:
    assert fmt.number(24500, "V", 2, scale=0.001) == "24.50 V"  # dock working_voltage mV
    assert fmt.number(-0.04, "°", 0) == "0 °"  # no negative zero
    assert fmt.number(32767, "°C") == "—"  # "unreadable" marker
    assert fmt.number(float("nan"), "m") == "—"
    assert fmt.number("abc") == "—"
    assert fmt.percent(81) == "81 %"
    assert fmt.percent(-1) == "—"
    assert fmt.network_rate(512) == "512.0 KiB/s"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (42, "42 s"), (1500, "25 min 00 s"), (3725, "1 h 02 min"), (65535, "—")],
)
def test_durations(seconds: int, text: str) -> None:
    assert fmt.duration(seconds) == text


def test_enums_follow_the_language() -> None:
    assert fmt.enum_text(p.CoverState, 1) == "Open"
    assert fmt.enum_text(p.AircraftModeCode, 5) == "Wayline flight"
    assert fmt.enum_text(p.CoverState, 42) == "Unknown (42)"
    assert fmt.enum_text(p.CoverState, None) == "—"
    set_language("zh")
    assert fmt.enum_text(p.CoverState, 1) == "已打开"
    assert fmt.yes_no(1) == "是"
    assert fmt.switch(0) == "关"


def test_dig_walks_dicts_and_first_list_items() -> None:
    state = {"a": {"b": [{"c": 3}]}, "x": 1}
    assert fmt.dig(state, "a.b.c") == 3
    assert fmt.dig(state, "x.y") is None
    assert fmt.dig(state, "missing") is None


def test_fleet_names_sort_naturally() -> None:
    from gcs.ui.fleet_panel import natural_key

    names = ["DJI Dock 10", "DJI Dock 9", "dji dock 1", "Matrice 30 2"]
    assert sorted(names, key=natural_key) == [
        "dji dock 1",
        "DJI Dock 9",
        "DJI Dock 10",
        "Matrice 30 2",
    ]
