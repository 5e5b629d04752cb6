"""HMS reports, lookup keys, placeholders and tables (§12), against DJI's own table and examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gcs.protocol.hms import BUILTIN, HmsError, HmsItem, HmsTable, fill_placeholders, parse_hms


def item(code: str = "0x16100083", **kw: Any) -> HmsItem:
    base: dict[str, Any] = dict(
        code=code,
        level=2,
        module=3,
        in_the_sky=False,
        imminent=False,
        device_type="0-67-0",
        component_index=0,
        sensor_index=0,
        alarm_id=None,
    )
    base.update(kw)
    return HmsItem(**base)


def test_every_documented_hms_example_parses(shared_data: Path) -> None:
    examples = [
        json.loads(line)
        for line in (shared_data / "dji-doc-examples.jsonl").read_text().splitlines()
    ]
    hms = [e for e in examples if e.get("method") == "hms" and e["protocol"] == "mqtt"]
    assert hms
    for e in hms:
        items = parse_hms(e["example"]["data"])
        assert items and all(i.code.startswith("0x") for i in items)


def test_lookup_keys_follow_the_device_domain_and_the_sky(shared_data: Path) -> None:
    table = HmsTable(json.loads((shared_data / "hms.json").read_text()))
    dock = item("0x12040000", device_type="3-2-0")
    assert dock.key == "dock_tip_0x12040000" and table.lookup_key(dock) == dock.key
    assert table.text(dock) == "RTK device disconnected"
    sky_keys = [
        k for k in json.loads((shared_data / "hms.json").read_text()) if k.endswith("_in_the_sky")
    ]
    code = sky_keys[0].removeprefix("fpv_tip_").removesuffix("_in_the_sky")
    airborne = item(code, in_the_sky=True)
    assert table.lookup_key(airborne) == f"fpv_tip_{code}_in_the_sky"
    grounded = item(code, in_the_sky=False)
    assert table.lookup_key(grounded) == f"fpv_tip_{code}"
    # no in-the-sky variant: the plain key
    doc = json.loads((shared_data / "hms.json").read_text())
    lone = next(
        k
        for k in doc
        if k.startswith("fpv_tip_")
        and not k.endswith("_in_the_sky")
        and f"{k}_in_the_sky" not in doc
    )
    plain = item(lone.removeprefix("fpv_tip_"), in_the_sky=True)
    assert table.lookup_key(plain) == lone
    # an aircraft model reported with a wrong sub-type still reads as an aircraft
    assert item(device_type="0-100-0").key.startswith("fpv_tip_")


def test_placeholders_are_filled_from_args() -> None:
    it = item(component_index=1, sensor_index=1, alarm_id=0x16100001)
    text = "Gimbal %component_index, motor %index, %battery_index, %alarmid, %dock_cover_index"
    assert fill_placeholders(text, it) == "Gimbal 2, motor 2, right, 0x16100001, right"
    assert fill_placeholders("Dock %1$s cover", item(sensor_index=0)) == "Dock 1 cover"
    assert "右" in fill_placeholders("%battery_index", it, "zh")


def test_builtin_texts_before_an_import_and_unknown_keys() -> None:
    table = HmsTable()
    assert len(table) == len(BUILTIN)
    assert "battery" in table.text(item("0x16100083")).lower()
    assert table.text(item("0x16100083"), "zh") != table.text(item("0x16100083"))
    assert table.text(item("0x7FFFFFFF")) == "Unknown(fpv_tip_0x7FFFFFFF)"
    cover = item("0x19110000", device_type="3-3-0", sensor_index=1)
    assert "right" in table.text(cover)


@pytest.mark.parametrize(
    "data",
    [None, [], {"list": "x"}, {"list": [1]}, {"list": [{"code": "16100083"}]}, {"list": [{}]}],
)
def test_malformed_reports_are_refused(data: Any) -> None:
    with pytest.raises(HmsError):
        parse_hms(data)


def test_loose_field_types_are_accepted() -> None:
    [it] = parse_hms(
        {
            "list": [
                {
                    "code": "0x1610008a",
                    "level": "1",
                    "in_the_sky": 1,
                    "device_type": "0-91-0",
                    "args": {"component_index": "0", "sensor_index": 2, "alarm_id": 5},
                }
            ]
        }
    )
    assert it.code == "0x1610008A" and it.level == 1 and it.in_the_sky
    assert it.sensor_index == 2 and it.alarm_id == 5 and it.module == 3
    assert parse_hms({"list": []}) == []
