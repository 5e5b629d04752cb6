"""Findings about a wayline file and the one error the reader raises.

A *finding* is one thing worth telling a person about a file: an error (the file cannot be
flown or shown) or a warning (it can, but something looks wrong). Every finding has a stable
`code` for programs, a sentence in English and in Chinese, and the element it concerns, written
as a path such as `waylines.wpml/Folder[0]/Placemark[3]/executeHeight`.

`KmzError` is raised by the reader when the file is unusable as a whole (not a ZIP, no
`waylines.wpml`, broken or hostile XML). It carries the same fields and converts to a finding.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["MESSAGES", "Finding", "KmzError", "Severity", "error", "warning"]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


# code -> (English, Chinese). Placeholders are filled with str.format(**details).
MESSAGES: dict[str, tuple[str, str]] = {
    # --- the file as a whole (errors) ---
    "empty_file": (
        "The file is empty. Export the route again from Pilot 2 or FlightHub 2.",
        "文件为空。请从 Pilot 2 或司空 2 重新导出航线。",
    ),
    "file_too_large": (
        "The file is {size} bytes, more than the {limit} bytes allowed. Check that it is a "
        "wayline file, or raise the limit in the station settings.",
        "文件大小 {size} 字节，超过允许的 {limit} 字节。"
        "请确认这是航线文件，或在地面站设置中提高上限。",
    ),
    "not_zip": (
        "The file is not a KMZ (ZIP) archive or it is damaged: {reason}. Export the route again.",
        "文件不是 KMZ（ZIP）压缩包或已损坏：{reason}。请重新导出航线。",
    ),
    "zip_too_many_entries": (
        "The archive has {count} entries, more than the {limit} allowed; it is not a normal "
        "wayline file.",
        "压缩包含 {count} 个条目，超过允许的 {limit} 个，不是正常的航线文件。",
    ),
    "zip_entry_too_large": (
        "The entry {entry} unpacks to more than {limit} bytes; it was not read (possible ZIP "
        "bomb).",
        "条目 {entry} 解压后超过 {limit} 字节，未读取（可能是 ZIP 炸弹）。",
    ),
    "zip_total_too_large": (
        "The archive unpacks to more than {limit} bytes in total; reading stopped (possible "
        "ZIP bomb).",
        "压缩包解压后总大小超过 {limit} 字节，已停止读取（可能是 ZIP 炸弹）。",
    ),
    "zip_ratio_too_high": (
        "The entry {entry} is compressed more than {limit} times; it was not read (possible "
        "ZIP bomb).",
        "条目 {entry} 的压缩比超过 {limit} 倍，未读取（可能是 ZIP 炸弹）。",
    ),
    "zip_entry_unreadable": (
        "The entry {entry} cannot be read: {reason}.",
        "无法读取条目 {entry}：{reason}。",
    ),
    "missing_waylines": (
        "The archive has no wpmz/waylines.wpml, the part the aircraft executes. Export the "
        "route again from Pilot 2 or FlightHub 2.",
        "压缩包中没有 wpmz/waylines.wpml（飞行器执行的航线文件）。"
        "请从 Pilot 2 或司空 2 重新导出航线。",
    ),
    "xml_too_large": (
        "{part} is {size} bytes, more than the {limit} bytes allowed.",
        "{part} 大小为 {size} 字节，超过允许的 {limit} 字节。",
    ),
    "xml_broken": (
        "{part} is not well-formed XML: {reason}.",
        "{part} 不是格式正确的 XML：{reason}。",
    ),
    "xml_forbidden": (
        "{part} uses a DTD, entities or external references, which wayline files never need; "
        "it was rejected for safety.",
        "{part} 使用了 DTD、实体或外部引用，航线文件不需要这些内容，出于安全考虑已拒绝。",
    ),
    "xml_too_complex": (
        "{part} has more than {limit} elements or is nested more than {depth} levels deep; it "
        "was rejected.",
        "{part} 的元素超过 {limit} 个或嵌套超过 {depth} 层，已拒绝。",
    ),
    "not_kml": (
        "{part} is XML but its root element is <{root}>, not <kml>.",
        "{part} 是 XML，但其根元素为 <{root}>，不是 <kml>。",
    ),
    "no_document": (
        "{part} has no <Document> element.",
        "{part} 中没有 <Document> 元素。",
    ),
    # --- route content (errors) ---
    "no_waypoints": (
        "The route has no waypoints to fly.",
        "航线中没有可执行的航点。",
    ),
    "coordinates_out_of_range": (
        "Waypoint coordinates are out of range (latitude {latitude}, longitude {longitude}); "
        "latitude must be within ±90 and longitude within ±180.",
        "航点坐标超出范围（纬度 {latitude}，经度 {longitude}）；"
        "纬度须在 ±90 之内，经度须在 ±180 之内。",
    ),
    "coordinates_missing": (
        "A waypoint has no readable coordinates ({text!r}).",
        "某航点没有可读取的坐标（{text!r}）。",
    ),
    # --- warnings ---
    "missing_template": (
        "The archive has no wpmz/template.kml: the aircraft can fly it, but Pilot 2 cannot "
        "edit it.",
        "压缩包中没有 wpmz/template.kml：飞行器可以执行，但 Pilot 2 无法编辑。",
    ),
    "nonstandard_layout": (
        "{part} was found at {entry} instead of wpmz/{part}; DJI devices may not find it.",
        "{part} 位于 {entry}，而不是 wpmz/{part}；DJI 设备可能无法找到。",
    ),
    "unsafe_entry_ignored": (
        "The archive entry {entry} has an absolute or parent-directory path and was ignored.",
        "压缩包条目 {entry} 使用了绝对路径或上级目录路径，已忽略。",
    ),
    "duplicate_entry": (
        "The archive contains {entry} more than once; the last copy was used.",
        "压缩包中 {entry} 出现多次，已使用最后一份。",
    ),
    "encrypted_entry": (
        "The entry {entry} is encrypted and was not read.",
        "条目 {entry} 已加密，未读取。",
    ),
    "resource_skipped": (
        "The resource {entry} was not kept: {reason}.",
        "资源文件 {entry} 未保留：{reason}。",
    ),
    "not_utf8": (
        "{part} declares the encoding {encoding}; DJI tools expect UTF-8.",
        "{part} 声明的编码为 {encoding}；DJI 工具要求 UTF-8。",
    ),
    "namespace_unknown": (
        "{part} uses the namespace {namespace}, not a known WPML 1.0.x namespace; elements "
        "were read by name.",
        "{part} 使用了命名空间 {namespace}，不是已知的 WPML 1.0.x 命名空间；已按元素名读取。",
    ),
    "namespace_undeclared": (
        "{part} uses the wpml: prefix without declaring it; it was read as WPML 1.0.x.",
        "{part} 使用了未声明的 wpml: 前缀；已按 WPML 1.0.x 读取。",
    ),
    "unknown_element": (
        "The element <{name}> is not part of WPML as we know it; it was kept but not used.",
        "元素 <{name}> 不在已知的 WPML 规范中；已保留但未使用。",
    ),
    "bad_value": (
        "<{name}> has the value {value!r}, which is not a valid {kind}; it was ignored.",
        "<{name}> 的值 {value!r} 不是有效的{kind_zh}；已忽略。",
    ),
    "unknown_enum": (
        "<{name}> has the value {value!r}; DJI documents {allowed}.",
        "<{name}> 的值为 {value!r}；DJI 文档中的取值为 {allowed}。",
    ),
    "out_of_range": (
        "<{name}> is {value}, outside DJI's documented range {range} {unit}.",
        "<{name}> 为 {value}，超出 DJI 文档规定的范围 {range} {unit}。",
    ),
    "missing_element": (
        "<{name}> is missing; {why}.",
        "缺少 <{name}>；{why_zh}。",
    ),
    "unknown_template_type": (
        "The template type {value!r} is not one of waypoint, mapping2d, mapping3d, "
        "mappingStrip; the route is shown from its waylines only.",
        "模板类型 {value!r} 不是 waypoint、mapping2d、mapping3d、mappingStrip 之一；"
        "仅按航线执行文件显示。",
    ),
    "unknown_drone_model": (
        "The drone model {key} is not known to this station.",
        "本地面站不认识飞行器型号 {key}。",
    ),
    "unknown_action": (
        "The action function {value!r} is not a documented WPML action.",
        "动作 {value!r} 不是 WPML 文档中的动作类型。",
    ),
    "template_wayline_mismatch": (
        "template.kml and waylines.wpml disagree: {detail}.",
        "template.kml 与 waylines.wpml 不一致：{detail_zh}。",
    ),
    "index_sequence": (
        "Waypoint indexes in this wayline are not 0, 1, 2, ...; found {found}.",
        "该航线的航点序号不是 0、1、2……；实际为 {found}。",
    ),
    "action_group_range": (
        "The action group {group} covers waypoints {start}-{end}, but the wayline has "
        "{count} waypoints.",
        "动作组 {group} 覆盖航点 {start}-{end}，但航线只有 {count} 个航点。",
    ),
    "action_trigger_mismatch": (
        "The action {func} needs the trigger {needed}, not {found}.",
        "动作 {func} 需要触发类型 {needed}，而不是 {found}。",
    ),
    "height_mode_suspect": (
        "Heights look like they were meant for another height mode: {detail}.",
        "高度值看起来像是另一种高度模式的数值：{detail_zh}。",
    ),
    "damping_too_long": (
        "The turn damping distances at waypoints {a} and {b} ({sum} m) exceed their segment "
        "length ({length} m).",
        "航点 {a} 与 {b} 的转弯截距之和（{sum} 米）超过了航段长度（{length} 米）。",
    ),
    "resource_missing": (
        "The action refers to {path}, which is not in the archive.",
        "该动作引用了 {path}，但压缩包中没有此文件。",
    ),
    "null_island": (
        "A waypoint is at latitude 0, longitude 0, which is almost always a missing position.",
        "有航点位于纬度 0、经度 0，这几乎总是缺失的位置。",
    ),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One error or warning about a wayline file."""

    severity: Severity
    code: str
    message_en: str
    message_zh: str
    element: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: severity, code, message_en, message_zh, element."""
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message_en": self.message_en,
            "message_zh": self.message_zh,
            "element": self.element,
        }

    def __str__(self) -> str:
        where = f" ({self.element})" if self.element else ""
        return f"{self.severity.value} {self.code}: {self.message_en}{where}"


def _messages(code: str, details: dict[str, Any]) -> tuple[str, str]:
    en, zh = MESSAGES[code]
    # Chinese variants of free-text details fall back to the English text.
    filled = {
        "kind_zh": details.get("kind", ""),
        "why_zh": details.get("why", ""),
        "detail_zh": details.get("detail", ""),
        **details,
    }
    try:
        return en.format(**filled), zh.format(**filled)
    except (KeyError, IndexError, ValueError):  # a caller forgot a detail: still say something
        return f"{code}: {details}", f"{code}：{details}"


def error(code: str, element: str | None = None, **details: Any) -> Finding:
    """Build an error finding from the message catalogue. Returns the Finding."""
    en, zh = _messages(code, details)
    return Finding(Severity.ERROR, code, en, zh, element)


def warning(code: str, element: str | None = None, **details: Any) -> Finding:
    """Build a warning finding from the message catalogue. Returns the Finding."""
    en, zh = _messages(code, details)
    return Finding(Severity.WARNING, code, en, zh, element)


class KmzError(Exception):
    """The file cannot be used at all (not a ZIP, no waylines.wpml, broken or hostile XML).

    Attributes:
        code: stable machine-readable code (a key of `MESSAGES`).
        message_en / message_zh: what happened and what to do, in English and Chinese.
        element: the archive entry or element concerned, if any.
    """

    def __init__(self, code: str, element: str | None = None, **details: Any) -> None:
        en, zh = _messages(code, details)
        super().__init__(f"[{code}] {en}")
        self.code = code
        self.message_en = en
        self.message_zh = zh
        self.element = element
        self.details = details

    def finding(self) -> Finding:
        """This error as an error-severity Finding."""
        return Finding(Severity.ERROR, self.code, self.message_en, self.message_zh, self.element)
