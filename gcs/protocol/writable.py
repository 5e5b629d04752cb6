"""Device properties the cloud may write with `property/set` (protocol §3.5), with their ranges.

`check(name, value)` says whether a value may be sent and returns it normalised, or raises
`ValueError` with the reason in words; `messages(name, value)` splits a struct property into one
`property/set` payload per sub-field, as DJI's reference platform sends them (the dock applies
each separately and answers each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Field:
    """One settable value: an int/float in [minimum, maximum], or one of `choices`."""

    kind: type = int
    minimum: float | None = None
    maximum: float | None = None
    choices: Mapping[int, tuple[str, str]] | None = None
    unit: str = ""

    def check(self, name: str, value: Any) -> int | float | bool:
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if value in (0, 1):
                return bool(value)
            raise ValueError(f"{name} must be true or false")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number, not {value!r}")
        number: int | float
        if self.kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"{name} must be a whole number, not {value}")
            number = int(value)
        else:
            number = float(value)
        value = number
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(f"{k} ({en})" for k, (en, _zh) in self.choices.items())
            raise ValueError(f"{name} must be one of {allowed}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{name} must be at least {self.minimum:g} {self.unit}".rstrip())
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{name} must be at most {self.maximum:g} {self.unit}".rstrip())
        return number


OFF_ON = {0: ("off", "关"), 1: ("on", "开")}


@dataclass(frozen=True, slots=True)
class Writable:
    """A writable property: a plain `field`, or a struct of named `fields`."""

    name: str
    title_en: str
    title_zh: str
    field: Field | None = None
    fields: Mapping[str, Field] | None = None

    def check(self, value: Any) -> Any:
        if self.fields is None:
            assert self.field is not None
            return self.field.check(self.name, value)
        if not isinstance(value, Mapping) or not value:
            names = ", ".join(self.fields)
            raise ValueError(f"{self.name} takes an object with some of: {names}")
        out = {}
        for key, sub in value.items():
            spec = self.fields.get(key)
            if spec is None:
                raise ValueError(f"{self.name} has no field {key!r}")
            out[key] = spec.check(f"{self.name}.{key}", sub)
        return out


WRITABLE: dict[str, Writable] = {
    w.name: w
    for w in (
        Writable("night_lights_state", "Night lights", "夜航灯", Field(choices=OFF_ON)),
        Writable("height_limit", "Height limit", "限高", Field(minimum=20, maximum=1500, unit="m")),
        Writable(
            "distance_limit_status",
            "Distance limit",
            "限远",
            fields={
                "state": Field(choices=OFF_ON),
                "distance_limit": Field(minimum=15, maximum=8000, unit="m"),
            },
        ),
        Writable(
            "obstacle_avoidance",
            "Obstacle avoidance",
            "避障",
            fields={
                "horizon": Field(choices=OFF_ON),
                "upside": Field(choices=OFF_ON),
                "downside": Field(choices=OFF_ON),
            },
        ),
        Writable(
            "rth_altitude",
            "Return-to-home altitude",
            "返航高度",
            Field(minimum=20, maximum=500, unit="m"),
        ),
        Writable(
            "rc_lost_action",
            "Action when the RC signal is lost",
            "遥控器失联动作",
            Field(choices={0: ("hover", "悬停"), 1: ("land", "降落"), 2: ("return home", "返航")}),
        ),
        Writable(
            "commander_mode_lost_action",
            "Action when lost in commander mode",
            "指点飞行失联动作",
            Field(choices={0: ("continue", "继续"), 1: ("return home", "返航")}),
        ),
        Writable(
            "commander_flight_height",
            "Commander flight height",
            "指点飞行高度",
            Field(kind=float, minimum=2, maximum=3000, unit="m"),
        ),
        Writable(
            "rth_mode",
            "Return-to-home mode",
            "返航模式",
            Field(choices={0: ("smart altitude", "智能高度"), 1: ("preset altitude", "设定高度")}),
        ),
        Writable(
            "user_experience_improvement",
            "User experience improvement",
            "用户体验改善计划",
            Field(
                choices={0: ("not asked", "未设置"), 1: ("declined", "拒绝"), 2: ("joined", "加入")}
            ),
        ),
        Writable("silent_mode", "Silent mode", "静音模式", Field(choices=OFF_ON)),
        Writable("offline_map_enable", "Offline map", "离线地图", Field(kind=bool)),
    )
}


def check(name: str, value: Any) -> Any:
    """The value to send for property `name`, normalised. Raises ValueError with the reason."""
    spec = WRITABLE.get(name)
    if spec is None:
        known = ", ".join(sorted(WRITABLE))
        raise ValueError(f"{name!r} is not a writable property (writable: {known})")
    return spec.check(value)


def messages(name: str, value: Any) -> list[dict[str, Any]]:
    """The `property/set` payloads for one property: one per sub-field for a struct."""
    checked = check(name, value)
    if isinstance(checked, dict):
        return [{name: {key: sub}} for key, sub in checked.items()]
    return [{name: checked}]
