"""Reply rules (protocol §1.5): which inbound message gets which answer.

| received                        | answer                                              |
|---------------------------------|-----------------------------------------------------|
| `status` (`update_topo`)        | always `status_reply` `{"result": 0}` + method      |
| `requests` (any method)         | always `requests_reply` `{"result", "output"}`;     |
|                                 | `config` puts its fields directly in `data`         |
| `events` with need_reply 1      | `events_reply` `{"result": 0}`                       |
| `state` with need_reply 1       | `state_reply` `{"result": 0}`                        |
| anything else                   | nothing                                             |

Every answer echoes the request's `tid`, `bid` and `method`, and goes to the received topic plus
`_reply` (same SN). Replies are published with QoS 2 (§1.3); `REPLY_QOS` says so.
"""

from __future__ import annotations

from typing import Any

from gcs.protocol.envelope import Message
from gcs.protocol.topics import Topic, TopicKind

REPLY_QOS = 2
COMMAND_QOS = 0
SUBSCRIBE_QOS = 1


def needs_reply(msg: Message) -> bool:
    """True when the cloud must answer `msg` (see the module table)."""
    kind = msg.kind
    if kind in (TopicKind.STATUS, TopicKind.REQUESTS):
        return True
    if kind in (TopicKind.EVENTS, TopicKind.STATE):
        return msg.need_reply
    return False


def _reply(msg: Message, data: Any, now_ms: int) -> Message:
    reply_topic = msg.topic.reply
    if reply_topic is None:
        raise ValueError(f"{msg.kind} messages are never answered")
    return Message(reply_topic, data, tid=msg.tid, bid=msg.bid, timestamp=now_ms, method=msg.method)


def status_reply(msg: Message, *, now_ms: int, result: int = 0) -> Message:
    """`status_reply` for an `update_topo` (docs include `method`; so do we)."""
    return _reply(msg, {"result": result}, now_ms)


def events_reply(msg: Message, *, now_ms: int, result: int = 0) -> Message:
    return _reply(msg, {"result": result}, now_ms)


def state_reply(msg: Message, *, now_ms: int, result: int = 0) -> Message:
    return _reply(msg, {"result": result}, now_ms)


def requests_reply(
    msg: Message, *, now_ms: int, result: int = 0, output: dict[str, Any] | None = None
) -> Message:
    """`requests_reply`: `{"result": 0, "output": {...}}`; an error carries no output."""
    data: dict[str, Any] = {"result": result}
    if result == 0:
        data["output"] = output if output is not None else {}
    return _reply(msg, data, now_ms)


def config_reply(msg: Message, fields: dict[str, Any], *, now_ms: int) -> Message:
    """The `config` answer: fields directly in `data`, no result/output wrapper (§6)."""
    return _reply(msg, dict(fields), now_ms)


def default_reply(msg: Message, *, now_ms: int, result: int = 0) -> Message | None:
    """The plain acknowledgement `msg` needs, or None if it needs none.

    For `requests` this is an empty successful output (or the error `result`); handlers that
    have something to say build their own with `requests_reply`/`config_reply`.
    """
    if not needs_reply(msg):
        return None
    if msg.kind is TopicKind.REQUESTS:
        return requests_reply(msg, now_ms=now_ms, result=result)
    return _reply(msg, {"result": result}, now_ms)


def service(gateway_sn: str, method: str, data: Any, *, tid: str, bid: str, now_ms: int) -> Message:
    """A `services` command to a gateway. Parameterless services send `{}` (docs form)."""
    return Message(
        Topic(TopicKind.SERVICES, gateway_sn),
        {} if data is None else data,
        tid=tid,
        bid=bid,
        timestamp=now_ms,
        method=method,
    )


def property_set(
    gateway_sn: str, values: dict[str, Any], *, tid: str, bid: str, now_ms: int
) -> Message:
    """A `property/set` to a gateway (even for aircraft properties, §3.5)."""
    return Message(
        Topic(TopicKind.PROPERTY_SET, gateway_sn), values, tid=tid, bid=bid, timestamp=now_ms
    )
