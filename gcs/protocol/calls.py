"""Request/reply correlation for `services` and `property/set` (protocol §1.3), sans-IO.

Theory of operation: the caller registers an outgoing command with `start()`, publishes the
returned message, and feeds every `services_reply`/`property/set_reply` to `on_reply()` and the
clock to `on_tick()`. A reply matches when its `tid` and `bid` equal those of the last send of a
pending call (and its gateway that of the call); its `method` plays no part, and a reply that has
none gets the call's. When a call's deadline passes without a reply, `on_tick` returns a `Resend`
with a *new* tid and the same bid (the Demo's behaviour), up to `retries` times, then a
`Timeout`. The caller owns the clock and the socket; this object only decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from gcs.protocol.envelope import Message, new_id
from gcs.protocol.topics import TopicKind

LIVE_METHODS = frozenset(
    {
        "live_start_push",
        "live_stop_push",
        "live_set_quality",
        "live_lens_change",
        "live_camera_change",
    }
)


@dataclass(frozen=True, slots=True)
class CallPolicy:
    timeout_s: float = 3.0
    retries: int = 2

    @classmethod
    def for_method(cls, method: str | None) -> CallPolicy:
        """3 s per attempt, 20 s for live-stream services; 2 retries (3 sends in all)."""
        return cls(timeout_s=20.0) if method in LIVE_METHODS else cls()


@dataclass(frozen=True, slots=True)
class Reply:
    """A matched answer. `result` 0 = success; `output` is `data.output` (or `data.info`)."""

    call_id: int
    message: Message
    result: int
    output: Any

    @property
    def ok(self) -> bool:
        return self.result == 0


@dataclass(frozen=True, slots=True)
class Resend:
    call_id: int
    message: Message


@dataclass(frozen=True, slots=True)
class Timeout:
    call_id: int
    attempts: int


@dataclass(slots=True)
class _Pending:
    message: Message
    policy: CallPolicy
    deadline: float
    attempts: int = 1


def reply_result(msg: Message) -> tuple[int, Any]:
    """(result, output) of a services_reply / property/set_reply.

    `property/set_reply` carries `{"<property>": {"result": n}}` per property: the call's result
    is the first non-zero per-property result (0 if all succeeded) and output is the whole map.
    A reply whose `data.result` is missing or not an int counts as malformed (-1).
    """
    data = msg.data if isinstance(msg.data, dict) else {}
    if msg.kind is TopicKind.PROPERTY_SET_REPLY:
        result = 0
        for value in data.values():
            r = value.get("result") if isinstance(value, dict) else None
            if not isinstance(r, int) or isinstance(r, bool):
                return -1, data
            if r != 0 and result == 0:
                result = r
        return result, data
    r = data.get("result")
    if not isinstance(r, int) or isinstance(r, bool):
        return -1, data
    if "output" in data:
        output = data["output"]
    elif "info" in data:
        output = data["info"]
    else:
        # Some replies put their fields next to result (fileupload_list, unlock_license_*).
        output = {k: v for k, v in data.items() if k != "result"}
    return r, output


@dataclass
class PendingCalls:
    """Outstanding commands keyed by (tid, bid) of their latest send."""

    _calls: dict[int, _Pending] = field(default_factory=dict)
    _by_key: dict[tuple[str, str], int] = field(default_factory=dict)
    _next_id: int = 1

    def __len__(self) -> int:
        return len(self._calls)

    def start(self, message: Message, now: float, policy: CallPolicy | None = None) -> int:
        """Register `message` (already built, about to be published) and return its call id."""
        policy = policy or CallPolicy.for_method(message.method)
        call_id = self._next_id
        self._next_id += 1
        self._calls[call_id] = _Pending(message, policy, now + policy.timeout_s)
        self._by_key[(message.tid, message.bid)] = call_id
        return call_id

    def cancel(self, call_id: int) -> None:
        """Forget a call (its caller gave up). Unknown ids are ignored."""
        pending = self._calls.pop(call_id, None)
        if pending is not None:
            self._by_key.pop((pending.message.tid, pending.message.bid), None)

    def on_reply(self, msg: Message) -> Reply | None:
        """Match a reply; None when it answers nothing pending (late, duplicate or foreign)."""
        if msg.kind not in (TopicKind.SERVICES_REPLY, TopicKind.PROPERTY_SET_REPLY):
            return None
        call_id = self._by_key.pop((msg.tid, msg.bid), None)
        if call_id is None:
            return None
        pending = self._calls.pop(call_id)
        if pending.message.topic.sn != msg.topic.sn:
            # Same ids from another gateway: not ours. Put it back.
            self._calls[call_id] = pending
            self._by_key[(msg.tid, msg.bid)] = call_id
            return None
        if msg.method is None and msg.kind is TopicKind.SERVICES_REPLY:
            # Some firmware answers without a method (DJI's Dock 2/3 in_flight_wayline_*
            # examples): the call it answers says which.
            msg = replace(msg, method=pending.message.method)
        result, output = reply_result(msg)
        return Reply(call_id, msg, result, output)

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self._calls.values()), default=None)

    def on_tick(self, now: float) -> list[Resend | Timeout]:
        """Resends and timeouts due at `now`, in call order."""
        out: list[Resend | Timeout] = []
        for call_id, pending in list(self._calls.items()):
            if pending.deadline > now:
                continue
            self._by_key.pop((pending.message.tid, pending.message.bid), None)
            if pending.attempts > pending.policy.retries:
                del self._calls[call_id]
                out.append(Timeout(call_id, pending.attempts))
                continue
            resent = replace(pending.message, tid=new_id())
            pending.message = resent
            pending.attempts += 1
            pending.deadline = now + pending.policy.timeout_s
            self._by_key[(resent.tid, resent.bid)] = call_id
            out.append(Resend(call_id, resent))
        return out
