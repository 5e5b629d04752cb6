"""The common MQTT envelope (protocol §1.2): decode bytes into a `Message`, encode it back.

Theory of operation: `decode(topic, payload)` is the only way inbound bytes become a `Message`,
so everything downstream can trust types: `tid`/`bid` are strings, `timestamp` an int (ms),
`need_reply` a bool, `method` a string where the topic kind requires one, and `data` an object
(or, for events, a JSON array, as `airsense_warning` sends). Anything else raises `DecodeError`
naming the topic, the field and what is wrong. When the broken message still says enough to be
answered (a `requests` or `status` message whose tid and method could be read), the error carries
`reply_to`: a best-effort Message the station can answer with a non-zero result, because the
device re-sends an unanswered request forever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from gcs.protocol.topics import Topic, TopicError, TopicKind, parse_topic

MAX_PAYLOAD_BYTES = 1024 * 1024
"""Largest payload accepted. DJI's biggest messages (dock state with live_capacity, aircraft
OSD with several payloads) are a few KB; 1 MiB leaves room and bounds a hostile publisher."""

# Topic kinds whose messages must name a method. Not services_reply: DJI's Dock 2/3 examples
# of the in_flight_wayline_* replies carry none; such a reply is matched to its call by tid
# and bid (`gcs.protocol.calls.PendingCalls.on_reply`), which fills the method in.
_METHOD_REQUIRED = frozenset(
    {
        TopicKind.STATUS,
        TopicKind.EVENTS,
        TopicKind.REQUESTS,
        TopicKind.SERVICES,
    }
)
# Topic kinds whose messages must carry a tid (their answer echoes it).
_TID_REQUIRED = _METHOD_REQUIRED | {
    TopicKind.SERVICES_REPLY,
    TopicKind.PROPERTY_SET,
    TopicKind.PROPERTY_SET_REPLY,
    TopicKind.STATUS_REPLY,
    TopicKind.EVENTS_REPLY,
    TopicKind.REQUESTS_REPLY,
}
# Where `"data": null` stands for an empty object.
_DATA_NULL_OK = frozenset(
    {TopicKind.REQUESTS, TopicKind.EVENTS, TopicKind.SERVICES_REPLY, TopicKind.REQUESTS_REPLY}
)
# Where `data` may be something other than an object.
_DATA_ANY = frozenset({TopicKind.SERVICES, TopicKind.DRC_UP, TopicKind.DRC_DOWN})


def new_id() -> str:
    """A fresh tid/bid (UUID4 string)."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Message:
    """One DJI MQTT message. Construct directly to send; `decode` to receive."""

    topic: Topic
    data: Any
    tid: str = ""
    bid: str = ""
    timestamp: int = 0
    method: str | None = None
    gateway: str | None = None
    need_reply: bool = False
    # Other top-level keys (e.g. DRC `seq`), kept so nothing is silently lost.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> TopicKind:
        return self.topic.kind

    @property
    def sn(self) -> str:
        """The serial number in the topic (device's own for osd/state, gateway's otherwise)."""
        return self.topic.sn

    @property
    def gateway_sn(self) -> str:
        """The gateway that sent this: the envelope's `gateway`, else the topic's SN."""
        return self.gateway or self.topic.sn

    def encode(self) -> bytes:
        return encode(self)


class DecodeError(ValueError):
    """An inbound message we cannot accept.

    Attributes:
        topic: the topic string it arrived on.
        field: the envelope or data field at fault (None when the whole payload is).
        reason: what is wrong, in words.
        reply_to: a Message carrying what could be read (tid, bid, method) when the
            message should still be answered with an error; None otherwise.
    """

    def __init__(
        self,
        topic: str,
        reason: str,
        *,
        field: str | None = None,
        reply_to: Message | None = None,
    ) -> None:
        where = f" (field {field!r})" if field else ""
        super().__init__(f"{topic}: {reason}{where}")
        self.topic = topic
        self.field = field
        self.reason = reason
        self.reply_to = reply_to


def _bad(
    topic: str, reason: str, field: str | None = None, reply_to: Message | None = None
) -> DecodeError:
    return DecodeError(topic, reason, field=field, reply_to=reply_to)


def decode(
    topic: str, payload: bytes | bytearray, *, max_bytes: int = MAX_PAYLOAD_BYTES
) -> Message:
    """Decode one MQTT message.

    Args:
        topic: the topic it arrived on.
        payload: the raw bytes.
        max_bytes: payloads larger than this are refused before parsing.

    Returns:
        The decoded Message.

    Raises:
        DecodeError: unknown topic, oversize, not JSON, not an object, or a field of the wrong
            type or missing; the error names the field.
    """
    try:
        parsed_topic = parse_topic(topic)
    except TopicError as exc:
        raise _bad(topic, exc.reason) from None
    if len(payload) > max_bytes:
        raise _bad(topic, f"payload of {len(payload)} bytes exceeds the {max_bytes}-byte limit")
    try:
        raw = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise _bad(topic, f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise _bad(topic, f"payload is a JSON {type(raw).__name__}, not an object")
    return from_dict(parsed_topic, raw, topic_text=topic)


def _opt_str(raw: dict[str, Any], key: str, topic: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(topic, f"must be a string, got {type(value).__name__}", key)
    return value


def from_dict(parsed: Topic, raw: dict[str, Any], *, topic_text: str | None = None) -> Message:
    """Validate an already-parsed JSON object as a message on `parsed`. See `decode`."""
    t = topic_text or str(parsed)
    kind = parsed.kind
    tid = _opt_str(raw, "tid", t)
    bid = _opt_str(raw, "bid", t)
    method = _opt_str(raw, "method", t)
    gateway = _opt_str(raw, "gateway", t)

    # What we could read, for answering a broken request with an error.
    partial = None
    if kind.reply_kind is not None and kind is not TopicKind.STATE and tid:
        partial = Message(parsed, None, tid=tid, bid=bid or "", method=method, gateway=gateway)

    def bad(reason: str, field: str | None = None) -> DecodeError:
        return _bad(t, reason, field, partial)

    if kind in _TID_REQUIRED and not tid:
        raise bad("missing transaction id", "tid")
    if kind in _METHOD_REQUIRED and not method:
        raise bad("missing method", "method")

    ts = raw.get("timestamp", 0)
    if isinstance(ts, str) and ts.isdigit() and len(ts) <= 16:
        ts = int(ts)  # some DJI docs examples send "1234567890123"
    if isinstance(ts, bool) or not isinstance(ts, int | float) or ts != ts or abs(ts) > 2**53:
        raise bad(f"must be an integer (ms), got {ts!r:.40}", "timestamp")

    nr = raw.get("need_reply", 0)
    if nr in (0, 1) or isinstance(nr, bool):
        need_reply = bool(nr)
    else:
        raise bad(f"must be 0 or 1, got {nr!r}", "need_reply")

    if "data" not in raw:
        if kind in (TopicKind.SERVICES, TopicKind.DRC_DOWN, TopicKind.DRC_UP):
            data: Any = None
        else:
            raise bad("missing data", "data")
    else:
        data = raw["data"]
    if data is None and kind in _DATA_NULL_OK:
        data = {}  # parameterless requests/events arrive with "data": null
    if kind not in _DATA_ANY:
        allowed_list = kind is TopicKind.EVENTS
        if not isinstance(data, dict) and not (allowed_list and isinstance(data, list)):
            raise bad(f"must be a JSON object, got {type(data).__name__}", "data")

    known = {"tid", "bid", "timestamp", "method", "gateway", "need_reply", "data"}
    extra = {k: v for k, v in raw.items() if k not in known}
    return Message(
        parsed,
        data,
        tid=tid or "",
        bid=bid or "",
        timestamp=int(ts),
        method=method,
        gateway=gateway,
        need_reply=need_reply,
        extra=extra,
    )


def to_dict(msg: Message) -> dict[str, Any]:
    """The JSON object for `msg`, keys in DJI's order."""
    out: dict[str, Any] = {"tid": msg.tid, "bid": msg.bid, "timestamp": msg.timestamp}
    if msg.gateway is not None:
        out["gateway"] = msg.gateway
    if msg.method is not None:
        out["method"] = msg.method
    if msg.need_reply:
        out["need_reply"] = 1
    out.update(msg.extra)
    out["data"] = msg.data
    return out


def encode(msg: Message) -> bytes:
    """Serialise `msg` to the bytes published on `str(msg.topic)`."""
    return orjson.dumps(to_dict(msg))
