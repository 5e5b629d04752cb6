"""MQTT topics of the DJI Cloud API (protocol §1.1).

`osd` and `state` are published on each device's *own* serial number; everything else on the
gateway's (dock or RC). `parse_topic` turns a topic string into a `Topic` or raises
`TopicError`; `topic(kind, sn)` builds one.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass


class TopicKind(enum.StrEnum):
    """The suffix that identifies a topic, with the direction noted per member."""

    STATUS = "status"  # up: update_topo
    STATUS_REPLY = "status_reply"  # down
    OSD = "osd"  # up, device's own SN
    STATE = "state"  # up, device's own SN
    STATE_REPLY = "state_reply"  # down
    SERVICES = "services"  # down
    SERVICES_REPLY = "services_reply"  # up
    EVENTS = "events"  # up
    EVENTS_REPLY = "events_reply"  # down
    REQUESTS = "requests"  # up
    REQUESTS_REPLY = "requests_reply"  # down
    PROPERTY_SET = "property/set"  # down
    PROPERTY_SET_REPLY = "property/set_reply"  # up
    DRC_UP = "drc/up"  # up
    DRC_DOWN = "drc/down"  # down

    @property
    def prefix(self) -> str:
        return "sys" if self in (TopicKind.STATUS, TopicKind.STATUS_REPLY) else "thing"

    @property
    def upstream(self) -> bool:
        """True for topics a device publishes (device → cloud)."""
        return self in _UPSTREAM

    @property
    def reply_kind(self) -> TopicKind | None:
        """The `*_reply` topic the cloud answers on, for topics that can need an answer."""
        return _REPLY_OF.get(self)


_UPSTREAM = frozenset(
    {
        TopicKind.STATUS,
        TopicKind.OSD,
        TopicKind.STATE,
        TopicKind.SERVICES_REPLY,
        TopicKind.EVENTS,
        TopicKind.REQUESTS,
        TopicKind.PROPERTY_SET_REPLY,
        TopicKind.DRC_UP,
    }
)

_REPLY_OF = {
    TopicKind.STATUS: TopicKind.STATUS_REPLY,
    TopicKind.STATE: TopicKind.STATE_REPLY,
    TopicKind.EVENTS: TopicKind.EVENTS_REPLY,
    TopicKind.REQUESTS: TopicKind.REQUESTS_REPLY,
}

# The Demo matches serial numbers with [A-Za-z0-9]+; real SNs are upper-case alphanumerics.
SN_PATTERN = r"[A-Za-z0-9_-]{1,64}"
_SN_RE = re.compile(rf"^{SN_PATTERN}$")
_TOPIC_RE = re.compile(
    rf"^(sys|thing)/product/({SN_PATTERN})/"
    r"(status|status_reply|osd|state|state_reply|services|services_reply|events|events_reply|"
    r"requests|requests_reply|property/set|property/set_reply|drc/up|drc/down)$"
)


class TopicError(ValueError):
    """A topic that is not one of the DJI Cloud API topics; `topic` is the offending string."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"unknown topic {topic!r}: {reason}")
        self.topic = topic
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Topic:
    kind: TopicKind
    sn: str

    def __post_init__(self) -> None:
        if not _SN_RE.match(self.sn):
            raise TopicError(str(self.sn), "serial number must be 1-64 letters/digits")

    def __str__(self) -> str:
        return f"{self.kind.prefix}/product/{self.sn}/{self.kind.value}"

    @property
    def reply(self) -> Topic | None:
        """The topic on which the cloud answers a message received here (None if never)."""
        kind = self.kind.reply_kind
        return Topic(kind, self.sn) if kind is not None else None


def topic(kind: TopicKind, sn: str) -> str:
    """Build the topic string for `kind` and a serial number."""
    return str(Topic(kind, sn))


@functools.lru_cache(maxsize=8192)
def parse_topic(text: str) -> Topic:
    """Parse a DJI topic string (results are cached: a station sees the same few topics).

    Raises:
        TopicError: not a DJI Cloud API topic (wrong prefix, bad SN, unknown suffix).
    """
    m = _TOPIC_RE.match(text)
    if m is None:
        raise TopicError(text, "not sys|thing/product/{sn}/<kind>")
    prefix, sn, suffix = m.groups()
    kind = TopicKind(suffix)
    if kind.prefix != prefix:
        raise TopicError(text, f"{suffix!r} belongs under {kind.prefix}/")
    return Topic(kind, sn)


def station_subscriptions() -> list[str]:
    """Wildcard subscriptions the station's own client makes: every upstream topic of every SN.

    The station is one client with the broker's "station" role, so it subscribes once with
    wildcards instead of the Demo's per-gateway plan (§1.4); per-gateway filtering happens in the
    station, and unknown gateways are still answered (status_reply, requests_reply).
    """
    return [
        "sys/product/+/status",
        "thing/product/+/osd",
        "thing/product/+/state",
        "thing/product/+/events",
        "thing/product/+/requests",
        "thing/product/+/services_reply",
        "thing/product/+/property/set_reply",
    ]
