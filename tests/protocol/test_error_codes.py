"""DJI result codes: coverage of DJI's table, fallbacks, live decoding, sources (protocol §11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gcs.protocol import error_table, errors
from gcs.protocol.errors import DeviceCode, ErrorMeaning, StationCode, describe, is_success

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _dji_table() -> list[dict[str, Any]]:
    path = SHARED_DATA / "error-codes.json"
    if not path.exists():
        pytest.skip(f"shared data missing: {path}")
    rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return rows


def _six_digit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if str(r["code"]).isdigit() and len(str(r["code"])) == 6]


def test_dji_table_is_what_we_expect() -> None:
    rows = _dji_table()
    assert len(rows) == 452
    assert len(_six_digit(rows)) == 448


def test_every_dji_code_is_specific_in_both_languages() -> None:
    missing = []
    for row in _six_digit(_dji_table()):
        code = int(row["code"])
        meaning = describe(code)
        if not (meaning.specific and meaning.en.strip() and meaning.zh.strip()):
            missing.append(code)
        assert meaning.code == code
        assert meaning.area not in ("", "unknown"), code
        assert meaning.area_zh not in ("", "未知"), code
    assert missing == []


def test_chinese_texts_are_our_own_words() -> None:
    copied = [
        int(r["code"])
        for r in _six_digit(_dji_table())
        if describe(int(r["code"])).zh == r["description"].strip()
    ]
    assert copied == []


@pytest.mark.parametrize(
    "code",
    [314004, 314022, 316030, 316031, 322594, 324001, 324031, 324032, 326007, 312001, 312026],
)
def test_demo_only_codes_are_specific(code: int) -> None:
    assert describe(code).specific


@pytest.mark.parametrize(
    "code", [210001, 210002, 210003, 210004, 210005, 211001, 212001, 220001, 299999]
)
def test_demo_sdk_internal_codes_are_station_codes(code: int) -> None:
    meaning = describe(code)
    assert meaning.specific
    assert meaning.source == "station"
    assert meaning.area == "station"


def test_success() -> None:
    meaning = describe(0)
    assert meaning == ErrorMeaning(0, "Success", "成功", "success", "none", True, "成功")
    assert is_success(0)
    assert not is_success(321000)
    assert not is_success(False)
    assert not is_success(1)


def test_unknown_code_in_known_area_names_the_area() -> None:
    meaning = describe(321999)
    assert meaning.specific is False
    assert meaning.en == "Wayline execution error 321999"
    assert meaning.zh == "航线执行错误 321999"
    assert meaning.area == "wayline execution"
    assert meaning.source == "device"


def test_unknown_dock_hardware_code() -> None:
    meaning = describe(514999)
    assert (meaning.specific, meaning.area, meaning.source) == (
        False,
        "dock hardware and state",
        "dock",
    )
    assert meaning.en == "Dock hardware and state error 514999"


@pytest.mark.parametrize("code", [1, 42, 999999, 700000, -5, 1234567])
def test_unknown_code_outside_every_area(code: int) -> None:
    meaning = describe(code)
    assert meaning.specific is False
    assert meaning.en == f"Unknown error code {code}"
    assert meaning.zh == f"未知错误码 {code}"


@pytest.mark.parametrize("junk", [None, "abc", 1.5, [], {}, True])
def test_describe_never_raises_on_junk(junk: Any) -> None:
    meaning = describe(junk)
    assert meaning.specific is False
    assert meaning.en.startswith("Unknown error code")


def test_numeric_strings_are_read() -> None:
    assert describe("319008").en == describe(319008).en  # type: ignore[arg-type]
    assert describe(319008.0).code == 319008  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "source"),
    [(613003, "pilot"), (413003, "pilot"), (313003, "device"), (513001, "dock")],
)
def test_live_errors_decode_by_last_five_digits(code: int, source: str) -> None:
    meaning = describe(code)
    assert meaning.specific
    assert meaning.source == source
    assert meaning.area == "livestream"
    assert (meaning.en, meaning.zh) == error_table.LIVE[code % 100000]


def test_pilot_live_error_reads_like_the_dock_one() -> None:
    assert describe(613003).en == "Live: this camera is already streaming"
    assert describe(613003).zh == "直播：这个相机已经在推流"
    # the dock's documented 513xxx texts take precedence over the Demo's generic live table
    assert describe(513003).en == "This camera is already live; do not start it again"
    assert describe(513010).en != describe(613010).en


def test_unknown_live_code_falls_back_to_area() -> None:
    meaning = describe(613777)
    assert (meaning.specific, meaning.area, meaning.source) == (False, "livestream", "pilot")


@pytest.mark.parametrize(
    ("code", "source"),
    [
        (312014, "device"),
        (514100, "dock"),
        (613001, "pilot"),
        (413001, "pilot"),
        (210002, "station"),
        (0, "none"),
        (99, "unknown"),
        (812345, "unknown"),
    ],
)
def test_source_from_first_digit(code: int, source: str) -> None:
    assert errors.source_of(code) == source
    assert describe(code).source == source


def test_station_codes_are_described_and_never_device_codes() -> None:
    for member in StationCode:
        meaning = describe(member)
        assert meaning.specific, member
        assert meaning.source == "station", member
        assert meaning.en and meaning.zh
    assert int(StationCode.TIMEOUT) == 211001
    assert int(StationCode.INVALID_PARAMETER) == 210002
    assert int(StationCode.BINDING_CODE_INVALID) == 210230


def test_device_codes_are_described() -> None:
    for member in DeviceCode:
        meaning = describe(member)
        assert meaning.specific, member
        assert meaning.source in ("device", "dock")
    assert describe(DeviceCode.COMMAND_FORMAT_INVALID).area == "command acceptance"


def test_text_and_str() -> None:
    meaning = describe(319008)
    assert meaning.text("zh-CN") == meaning.zh
    assert meaning.text("en") == meaning.en
    assert meaning.text("fr") == meaning.en
    assert str(meaning).startswith("319008: ")
    assert "NTP" in meaning.en


def test_no_duplicate_rows() -> None:
    codes = [row[0] for row in error_table.ROWS]
    assert len(codes) == len(set(codes))
    assert errors.known_codes() == frozenset(codes)


def test_every_row_has_an_area() -> None:
    for code in errors.known_codes():
        assert describe(code).area != "unknown", code
