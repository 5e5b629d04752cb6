"""DJI Cloud API result codes and what they mean, in English and Chinese (protocol §11).

Theory of operation
-------------------
A result code is six digits ``ABCDEF``: ``A`` says who produced it (3 device, 5 dock, 4/6 DJI
Pilot 2; 2 is the platform side, i.e. us), ``BC`` the functional module and ``DEF`` the case.
``0`` is success everywhere.

:func:`describe` answers in three steps and never raises:

1. a code with a row in :data:`gcs.protocol.error_table.ROWS` has its own meaning
   (``specific=True``);
2. a livestream code (``x13yyy`` with ``x`` in 3/4/5/6) not in the table is decoded as in the
   Demo: ``code % 100000`` looked up in :data:`gcs.protocol.error_table.LIVE` (§7.4), so
   ``613003`` (Pilot) reads like ``513003`` (dock);
3. otherwise a code whose three leading digits name a known area gets the area meaning, e.g.
   "Wayline execution error 321999" (``specific=False``); anything else is "Unknown error code N".

The texts are our own short explanations (what happened and, where it helps, what to do), written
from DJI's v1.16.1 error table and the Demo's enums; they live, as data only, in
:mod:`gcs.protocol.error_table`. ``tests/protocol/test_error_codes.py`` checks that every code of
DJI's table is covered.

:class:`StationCode` holds the codes *we* put in a reply when the station refuses something, and
:class:`DeviceCode` the few a simulated device answers with.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, Literal

from gcs.protocol.error_table import AREAS, LIVE, ROWS, STATION_AREA

__all__ = [
    "AREAS",
    "DeviceCode",
    "ErrorMeaning",
    "Source",
    "StationCode",
    "describe",
    "is_success",
    "known_codes",
    "source_of",
]

Source = Literal["device", "dock", "pilot", "station", "none", "unknown"]

SUCCESS: Final = 0


@dataclass(frozen=True, slots=True)
class ErrorMeaning:
    """What a result code means.

    Attributes:
        code: The code as received.
        en: Explanation in English.
        zh: Explanation in Chinese.
        area: Functional area in English, e.g. ``"wayline execution"``.
        source: Who produced the code, from its first digit (§11.1).
        specific: True when this exact code is known; False when only its area (or nothing)
            is known.
        area_zh: Functional area in Chinese.
    """

    code: int
    en: str
    zh: str
    area: str
    source: Source
    specific: bool
    area_zh: str = ""

    def text(self, lang: str = "en") -> str:
        """The explanation in ``lang`` (``"zh…"`` gives Chinese, anything else English)."""
        return self.zh if lang.lower().startswith("zh") else self.en

    def __str__(self) -> str:
        return f"{self.code}: {self.en}"


class StationCode(enum.IntEnum):
    """Codes the station answers devices and Pilot with when *we* refuse something.

    DJI defines no codes for a platform refusing a device, so these reuse the Demo platform's
    own codes (first digit 2, the Demo's "SDK-internal" space and its sample application). Two
    reasons: a 2xxxxx code can never be mistaken for a device, dock or Pilot code (3/5/4/6), and
    it is what a device already gets from the reference cloud in the same situation.

    We do *not* answer with 325001 ("cloud command format invalid"): that is the device telling
    the cloud that the cloud's command was malformed; sent by us it would blame the wrong side in
    every log. A simulated device does use it, see :class:`DeviceCode`.
    """

    #: A request whose data is missing or malformed (Demo SDK "invalid parameter").
    INVALID_PARAMETER = 210002
    #: A ``requests`` method or function the station does not implement (Demo SDK "feature not
    #: supported"; 210003/210004 narrow it to device type / firmware version).
    NOT_SUPPORTED = 210005
    #: A device the station does not know, e.g. not bound to the organization (Demo SDK "device
    #: not registered").
    UNKNOWN_DEVICE = 210001
    #: ``airport_organization_get`` / ``_bind`` with a binding code that matches no organization
    #: (the Demo sample answers exactly this case with 210230).
    BINDING_CODE_INVALID = 210230
    #: Binding a device failed on our side (Demo sample 210231).
    BINDING_FAILED = 210231
    #: The device is already bound to another organization (Demo sample 210232).
    ALREADY_BOUND = 210232
    #: The target device is offline (Demo sample 212015).
    DEVICE_OFFLINE = 212015
    #: We published and no reply came in time (Demo SDK "MQTT publish failed").
    TIMEOUT = 211001
    #: Something a device or a client asked for does not exist here (reference platform's
    #: "requested data not found").
    NOT_FOUND = 201404
    #: A command the station will not send now: a precondition failed (the device is busy, in
    #: the wrong mode, its aircraft away...). The refusal's text says which.
    PRECONDITION_FAILED = 212016
    #: A dangerous command sent without the operator's explicit confirmation.
    CONFIRMATION_REQUIRED = 212017
    #: Anything that went wrong inside the station (Demo SDK "unknown").
    INTERNAL_ERROR = 299999


class DeviceCode(enum.IntEnum):
    """Codes a simulated dock answers the cloud with (real devices use them the same way)."""

    #: Unknown ``services`` method or unreadable ``data`` (CommonErrorEnum.WRONG_PARAMETER).
    COMMAND_FORMAT_INVALID = 325001
    #: The device's current state does not allow the operation (CommonErrorEnum).
    STATE_NOT_ALLOWED = 314000
    #: Dock variant of an invalid command.
    DOCK_COMMAND_INVALID = 514171
    #: The dock is busy with another control command.
    DOCK_BUSY = 514116
    #: A remote-debug command while the dock is not in remote-debug mode.
    NOT_IN_REMOTE_DEBUG = 514153


_TABLE: Final[dict[int, tuple[str, str]]] = {code: (en, zh) for code, en, zh in ROWS}

_SOURCES: Final[dict[int, Source]] = {
    2: "station",
    3: "device",
    4: "pilot",
    5: "dock",
    6: "pilot",
}


def source_of(code: int) -> Source:
    """Who produced a six-digit code, from its first digit (§11.1).

    Returns:
        ``"device"`` (3), ``"dock"`` (5), ``"pilot"`` (4 or 6), ``"station"`` (2, our own and
        the Demo platform's codes), ``"none"`` for 0, else ``"unknown"``.
    """
    if code == SUCCESS:
        return "none"
    if not 100000 <= code <= 999999:
        return "unknown"
    return _SOURCES.get(code // 100000, "unknown")


def is_success(code: int) -> bool:
    """True when ``code`` is the success result 0 (booleans and non-ints are not success)."""
    return isinstance(code, int) and not isinstance(code, bool) and code == SUCCESS


def known_codes() -> frozenset[int]:
    """Every code that :func:`describe` explains specifically without live decoding."""
    return frozenset(_TABLE)


def _area(code: int) -> tuple[str, str] | None:
    area = AREAS.get(code // 1000) if 100000 <= code <= 999999 else None
    if area is None and source_of(code) == "station":
        return STATION_AREA
    return area


def _live(code: int) -> tuple[str, str] | None:
    if 10000 <= code <= 99999:
        return LIVE.get(code)
    if 100000 <= code <= 999999 and code // 100000 in (3, 4, 5, 6):
        return LIVE.get(code % 100000)
    return None


def _coerce(code: object) -> int | None:
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, float) and code.is_integer():
        return int(code)
    if isinstance(code, str):
        try:
            return int(code.strip())
        except ValueError:
            return None
    return None


def describe(code: int) -> ErrorMeaning:
    """Explain a DJI result code.

    Args:
        code: The ``result`` / ``error_status`` value as received. Ints are expected; a numeric
            string or an integral float is accepted, anything else is described as unknown.

    Returns:
        The meaning: 0 is success; a known code has its own text (``specific=True``); a live
        code decodes through its last five digits; an unknown code in a known area gets the
        area text (``specific=False``); anything else reads "Unknown error code N".
        Never raises.
    """
    value = _coerce(code)
    if value is None:
        return ErrorMeaning(
            code=-1,
            en=f"Unknown error code {code!r}",
            zh=f"未知错误码 {code!r}",
            area="unknown",
            source="unknown",
            specific=False,
            area_zh="未知",
        )
    if value == SUCCESS:
        return ErrorMeaning(0, "Success", "成功", "success", "none", True, "成功")
    source = source_of(value)
    area = _area(value)
    area_en, area_zh = area if area is not None else ("unknown", "未知")
    known = _TABLE.get(value) or _live(value)
    if known is not None:
        if area is None:  # a bare five-digit live code
            area_en, area_zh = AREAS[513]
        return ErrorMeaning(value, known[0], known[1], area_en, source, True, area_zh)
    if area is not None:
        return ErrorMeaning(
            value,
            f"{area_en.capitalize()} error {value}",
            f"{area_zh}错误 {value}",
            area_en,
            source,
            False,
            area_zh,
        )
    return ErrorMeaning(
        value,
        f"Unknown error code {value}",
        f"未知错误码 {value}",
        "unknown",
        source,
        False,
        "未知",
    )
