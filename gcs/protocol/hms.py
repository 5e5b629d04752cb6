"""HMS health alarms (protocol §5 `hms`, §12), sans-IO: parse a report, name each alarm, word it.

A report is the *complete* current alarm set of a device: an alarm missing from the next report
has cleared. Each alarm is identified by its lookup key — `dock_tip_{code}` for a dock (the
`device_type` domain is 3), `fpv_tip_{code}` for an aircraft, with `_in_the_sky` appended when the
aircraft is airborne and the table has that variant — plus its component and sensor index (the
same code can be raised for two batteries at once).

Texts come from an `HmsTable`: DJI's `hms.json` (key → {language: text}) when the operator has
imported one, and otherwise the station's own words for the most common dock and aircraft alarms
(`BUILTIN`). The `%…` placeholders are filled from the alarm's `args` (§12); printf-style tokens
(`%1$s`, `%s`, `%d`) read as the component/sensor number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LEVELS = {0: "notice", 1: "caution", 2: "warning"}
LEVEL_WORDS = {0: ("Notice", "提示"), 1: ("Caution", "注意"), 2: ("Warning", "警告")}
MODULES = {
    0: ("flight task", "飞行任务"),
    1: ("device management", "设备管理"),
    2: ("media", "媒体"),
    3: ("health", "健康管理"),
}


class HmsError(ValueError):
    """An `hms` report that is not the documented shape."""


@dataclass(frozen=True, slots=True)
class HmsItem:
    """One alarm of a report. `key` is the table lookup key without the in-the-sky suffix."""

    code: str
    level: int
    module: int
    in_the_sky: bool
    imminent: bool
    device_type: str
    component_index: int
    sensor_index: int
    alarm_id: int | None

    @property
    def is_dock(self) -> bool:
        return self.device_type.split("-", 1)[0] == "3"

    @property
    def key(self) -> str:
        return f"{'dock' if self.is_dock else 'fpv'}_tip_{self.code}"

    @property
    def identity(self) -> tuple[str, int, int]:
        """What makes two reports' alarms the same alarm."""
        return (self.key, self.component_index, self.sensor_index)


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return default


_CODE = re.compile(r"^0[xX][0-9A-Fa-f]{1,16}$")


def parse_hms(data: Any) -> list[HmsItem]:
    """The alarms of an `hms` event's `data` (`{"list": [...]}`, at most a few dozen).

    Raises:
        HmsError: `data` is not an object with a `list` array, or an item has no usable code.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("list"), list):
        raise HmsError("an hms report needs data.list (an array)")
    items = []
    for raw in data["list"]:
        if not isinstance(raw, Mapping):
            raise HmsError("each hms item must be an object")
        code = raw.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            code = f"0x{code:08X}"
        if not isinstance(code, str) or not _CODE.match(code):
            raise HmsError(f"hms item code {code!r} is not a hex string like 0x16100083")
        args = raw.get("args") if isinstance(raw.get("args"), Mapping) else {}
        assert isinstance(args, Mapping)
        alarm_id = args.get("alarm_id")
        device_type = raw.get("device_type")
        items.append(
            HmsItem(
                code="0x" + code[2:].upper(),
                level=_int(raw.get("level")),
                module=_int(raw.get("module"), 3),
                in_the_sky=_int(raw.get("in_the_sky")) == 1,
                imminent=_int(raw.get("imminent")) == 1,
                device_type=device_type if isinstance(device_type, str) else "",
                component_index=_int(args.get("component_index")),
                sensor_index=_int(args.get("sensor_index")),
                alarm_id=_int(alarm_id) if alarm_id is not None else None,
            )
        )
    return items


# The station's own words for the most common alarms (before an operator imports DJI's table).
BUILTIN: dict[str, dict[str, str]] = {
    "dock_tip_0x160900BF": {
        "en": "Wind at the dock is too strong (9 m/s or more): tasks cannot start",
        "zh": "机场处风速过大（≥9 m/s），无法执行任务",
    },
    "dock_tip_0x19114000": {
        "en": "Wind at the dock is too strong (9 m/s or more): tasks cannot start",
        "zh": "机场处风速过大（≥9 m/s），无法执行任务",
    },
    "dock_tip_0x19114800": {
        "en": "Heavy rain at the dock: tasks cannot start",
        "zh": "机场处降雨量大，无法执行任务",
    },
    "dock_tip_0x19113C02": {
        "en": "The dock's rain gauge does not answer",
        "zh": "机场雨量计通信异常",
    },
    "dock_tip_0x19110000": {
        "en": "Cover motor %dock_cover_index is stalled",
        "zh": "舱盖电机（%dock_cover_index）堵转",
    },
    "dock_tip_0x19110002": {
        "en": "Cover %dock_cover_index is far from its expected position",
        "zh": "舱盖（%dock_cover_index）位置偏差过大",
    },
    "dock_tip_0x19110003": {
        "en": "Cover motor %dock_cover_index is running too fast",
        "zh": "舱盖电机（%dock_cover_index）超速",
    },
    "dock_tip_0x19110802": {
        "en": "The dock's backup battery is too hot",
        "zh": "机场备用电池温度过高",
    },
    "dock_tip_0x19110806": {
        "en": "The dock's backup battery does not charge",
        "zh": "机场备用电池充电异常",
    },
    "dock_tip_0x19111800": {
        "en": "The emergency stop button is pressed: release it before any operation",
        "zh": "急停按钮已按下：操作前请先松开",
    },
    "dock_tip_0x12040000": {
        "en": "The dock's RTK module is disconnected",
        "zh": "机场 RTK 模块已断开",
    },
    "dock_tip_0x17000001": {
        "en": "No video link signal between dock and aircraft",
        "zh": "机场与飞行器之间无图传信号",
    },
    "dock_tip_0x17000004": {
        "en": "The video link between dock and aircraft is weak",
        "zh": "机场与飞行器之间图传信号弱",
    },
    "dock_tip_0x19114813": {
        "en": "The dock's temperature and humidity sensor is taking too long to warm up",
        "zh": "机场温湿度传感器预热时间过长",
    },
    "dock_tip_0x19113414": {
        "en": "The aircraft battery is too hot to start charging",
        "zh": "飞行器电池温度过高，无法开始充电",
    },
    "fpv_tip_0x1606000D": {
        "en": "Compass interference: move away from metal or magnetic sources",
        "zh": "指南针受到干扰：请远离金属或磁性物体",
    },
    "fpv_tip_0x16100083": {
        "en": "The aircraft battery is not seated: push it firmly into place",
        "zh": "飞行器电池未安装到位：请用力推入",
    },
    "fpv_tip_0x1B030014": {
        "en": "Aircraft battery low: return to home soon",
        "zh": "飞行器电量低：请尽快返航",
    },
    "fpv_tip_0x1610000E": {
        "en": "Aircraft battery critically low: it cannot take off, charge it",
        "zh": "飞行器电量严重不足，无法起飞，请充电",
    },
    "fpv_tip_0x16670205": {
        "en": "Aircraft storage is full: free space before the next task",
        "zh": "飞行器存储已满：请在下次任务前清理空间",
    },
    "fpv_tip_0x16060001": {
        "en": "Compass error: restart the aircraft",
        "zh": "指南针异常：请重启飞行器",
    },
    "fpv_tip_0x1600000B": {
        "en": "A collision may have happened: check the body and propellers after landing",
        "zh": "可能发生碰撞：降落后请检查机身和桨叶",
    },
    "fpv_tip_0x16080029": {
        "en": "Motor %index: propeller missing, loose or motor underloaded",
        "zh": "电机 %index：桨叶缺失、松脱或电机负载过低",
    },
    "fpv_tip_0x16070042": {
        "en": "RTK correction data error: check the network RTK or D-RTK link",
        "zh": "RTK 差分数据异常：请检查网络 RTK 或 D-RTK 连接",
    },
    "fpv_tip_0x1B030019": {
        "en": "The aircraft left its route: safe return to home ended",
        "zh": "飞行器偏离航线，安全返航已退出",
    },
    "fpv_tip_0x1D050003": {
        "en": "Gimbal %component_index: pan axis at its end stop",
        "zh": "云台 %component_index：航向轴到达限位",
    },
}


def _ordinal(n: int) -> str:
    return str(n)


def fill_placeholders(text: str, item: HmsItem, lang: str = "en") -> str:
    """Substitute the §12 placeholders (and printf-style tokens) from the alarm's args."""
    zh = lang == "zh"
    side = ("左", "右") if zh else ("left", "right")
    rods = ("前", "后", "左", "右") if zh else ("front", "back", "left", "right")
    s = item.sensor_index
    out = text
    if item.alarm_id is not None:
        out = out.replace("%alarmid", f"0x{item.alarm_id:08X}")
    out = out.replace("%component_index", _ordinal(item.component_index + 1))
    out = out.replace("%battery_index", side[0] if s == 0 else side[1])
    out = out.replace("%dock_cover_index", side[min(max(s, 0), 1)])
    out = out.replace("%charging_rod_index", rods[s] if 0 <= s < len(rods) else str(s))
    out = out.replace("%index", _ordinal(s + 1))
    out = re.sub(r"%\d+\$[sd]|%[sd]", _ordinal(s + 1), out)
    return out


class HmsTable:
    """Alarm texts by lookup key and language; see the module docstring."""

    def __init__(self, entries: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._entries: dict[str, Mapping[str, str]] = dict(BUILTIN)
        self.imported = 0
        if entries:
            self.update(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def update(self, entries: Mapping[str, Mapping[str, str]]) -> int:
        """Add an imported table (DJI's `hms.json` shape); returns the number of keys taken.

        Raises:
            HmsError: the mapping is not key → {language: text}.
        """
        taken = 0
        for key, texts in entries.items():
            if not isinstance(key, str) or not isinstance(texts, Mapping):
                raise HmsError("an HMS table maps each key to {language: text}")
            clean = {k: v for k, v in texts.items() if isinstance(k, str) and isinstance(v, str)}
            if clean:
                self._entries[key] = clean
                taken += 1
        if not taken:
            raise HmsError("the file holds no HMS texts")
        self.imported = taken
        return taken

    def lookup_key(self, item: HmsItem) -> str:
        """The key whose text applies: the in-the-sky variant for an airborne aircraft when the
        table has it, else the plain key."""
        if not item.is_dock and item.in_the_sky:
            sky = f"{item.key}_in_the_sky"
            if sky in self._entries:
                return sky
        return item.key

    def text(self, item: HmsItem, lang: str = "en") -> str:
        """The alarm in words, placeholders filled; `Unknown(<key>)` when no table has it."""
        key = self.lookup_key(item)
        texts = self._entries.get(key)
        if texts is None:
            return f"Unknown({key})" if lang != "zh" else f"未知告警（{key}）"
        raw = texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")
        return fill_placeholders(raw, item, lang)
