"""Writable properties (§3.5): ranges and enums checked before sending, structs split."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gcs.protocol.writable import WRITABLE, check, messages


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("height_limit", 120, 120),
        ("height_limit", 120.0, 120),
        ("rth_altitude", 500, 500),
        ("night_lights_state", 1, 1),
        ("commander_flight_height", 2, 2.0),
        ("offline_map_enable", 1, True),
        (
            "distance_limit_status",
            {"state": 1, "distance_limit": 15},
            {"state": 1, "distance_limit": 15},
        ),
    ],
)
def test_accepted_values(name: str, value: Any, expected: Any) -> None:
    assert check(name, value) == expected


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("height_limit", 19, "at least 20 m"),
        ("height_limit", 1501, "at most 1500 m"),
        ("height_limit", 120.5, "whole number"),
        ("height_limit", "120", "number"),
        ("height_limit", True, "number"),
        ("rth_altitude", 10, "at least 20"),
        ("rc_lost_action", 3, "one of 0 (hover)"),
        ("distance_limit_status", {"distance_limit": 9000}, "at most 8000"),
        ("distance_limit_status", {"speed": 1}, "no field 'speed'"),
        ("distance_limit_status", 5, "takes an object"),
        ("obstacle_avoidance", {}, "takes an object"),
        ("warp_drive", 1, "not a writable property"),
        ("offline_map_enable", 2, "true or false"),
    ],
)
def test_refused_values_say_why(name: str, value: Any, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        check(name, value)


def test_structs_go_one_field_per_message() -> None:
    assert messages("obstacle_avoidance", {"horizon": 1, "upside": 0}) == [
        {"obstacle_avoidance": {"horizon": 1}},
        {"obstacle_avoidance": {"upside": 0}},
    ]
    assert messages("height_limit", 200) == [{"height_limit": 200}]


def test_every_writable_property_has_both_titles() -> None:
    for w in WRITABLE.values():
        assert w.title_en and w.title_zh and (w.field is None) != (w.fields is None)
