"""What a simulated gateway sends and the replies it waits for (protocol §1: tid, bid, need_reply).

Theory of operation: one :class:`Messages` per gateway lives across its MQTT sessions and is the
only place that publishes the gateway's own messages. :meth:`Messages.envelope` builds each one
(fresh tid and bid, the gateway's SN); :attr:`Messages.sent` and :attr:`Messages.received` count
them by topic kind. An outgoing message gets one of three promises:

* :meth:`Messages.publish`: once (OSD, HMS, replies);
* :meth:`Messages.publish_reliable`: a ``need_reply`` message, re-sent with the same tid by
  :meth:`Messages.resend_forever` every ``resend_s`` until its reply arrives, ``resend_max``
  times at most;
* :meth:`Messages.call`: a ``requests``/``status`` message whose reply the caller awaits,
  re-sent every ``request_timeout_s`` while connected.

:meth:`Messages.on_reply` files an incoming reply (the last one per method, the waiting caller,
the re-send queue); :meth:`Messages.reply_service` and :meth:`Messages.reply_property_set`
answer a received ``services`` or ``property/set`` message and keep the last 200 exchanges.
Timeouts here are real seconds: network behaviour does not speed up with the simulation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcs.protocol.envelope import Message, new_id
from gcs.protocol.topics import Topic, TopicKind
from gcs.sim.link import Link, LinkError

if TYPE_CHECKING:
    from gcs.sim.gateway import Timing

log = logging.getLogger(__name__)

KEEP_EXCHANGES = 200
"""How many received ``services``/``property/set`` messages (with their replies) are kept."""


def now_ms() -> int:
    return int(time.time() * 1000)


def result_of(reply: Message) -> tuple[int, Any]:
    """(``result``, ``output``) of a reply; (-1, None) when ``result`` is not an int."""
    data = reply.data if isinstance(reply.data, dict) else {}
    result = data.get("result")
    if not isinstance(result, int) or isinstance(result, bool):
        return -1, None
    return result, data.get("output")


@dataclass(slots=True)
class ServiceRecord:
    """One `services` or `property/set` message received and what was answered."""

    request: Message
    reply: dict[str, Any]


@dataclass(slots=True)
class _Unacked:
    message: Message
    qos: int
    next_at: float
    attempts: int = 1


class Messages:
    """The outgoing messages of gateway ``sn`` over ``link``, and the replies they get."""

    def __init__(self, sn: str, link: Link, timing: Timing) -> None:
        self.sn = sn
        self.link = link
        self.timing = timing
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.services: list[ServiceRecord] = []
        self.replies: dict[str, Message] = {}
        self._waiting: dict[str, asyncio.Future[Message]] = {}
        self._unacked: dict[str, _Unacked] = {}

    # -- sending -----------------------------------------------------------------------------

    def envelope(
        self,
        kind: TopicKind,
        data: Any,
        *,
        sn: str | None = None,
        method: str | None = None,
        need_reply: bool = False,
        bid: str | None = None,
        tid: str | None = None,
        gateway: bool = True,
    ) -> Message:
        return Message(
            Topic(kind, sn or self.sn),
            data,
            tid=tid or new_id(),
            bid=bid or new_id(),
            timestamp=now_ms(),
            method=method,
            gateway=self.sn if gateway else None,
            need_reply=need_reply,
        )

    def publish(self, msg: Message, qos: int = 0) -> bool:
        if self.link.publish(str(msg.topic), msg.encode(), qos):
            self.sent[msg.kind.value] += 1
            return True
        return False

    def publish_reliable(self, msg: Message, qos: int = 1) -> None:
        """Publish a `need_reply` message and re-send it (same tid) until its reply arrives."""
        self.publish(msg, qos)
        self._unacked[msg.tid] = _Unacked(msg, qos, time.monotonic() + self.timing.resend_s)

    def send_state(
        self, data: dict[str, Any], *, sn: str | None = None, need_reply: bool = False
    ) -> None:
        msg = self.envelope(TopicKind.STATE, data, sn=sn, need_reply=need_reply)
        if need_reply:
            self.publish_reliable(msg)
        else:
            self.publish(msg, 1)

    def send_event(
        self,
        method: str,
        data: Any,
        *,
        bid: str | None = None,
        need_reply: bool = False,
        sn: str | None = None,
    ) -> None:
        msg = self.envelope(
            TopicKind.EVENTS, data, sn=sn, method=method, need_reply=need_reply, bid=bid
        )
        if need_reply:
            self.publish_reliable(msg)
        else:
            self.publish(msg, 0 if method == "hms" else 1)

    async def request(self, method: str, data: dict[str, Any]) -> Message:
        """Publish a `requests` message and wait for its `requests_reply` (same tid).

        The request is re-sent with the same tid every `request_timeout_s` until answered.

        Raises:
            LinkError: the connection was lost meanwhile.
        """
        return await self.call(self.envelope(TopicKind.REQUESTS, data, method=method))

    async def call(self, msg: Message) -> Message:
        """Publish `msg` and wait for the reply with its tid, re-sending it meanwhile.

        Raises:
            LinkError: the connection was lost meanwhile.
        """
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[msg.tid] = fut
        try:
            while True:
                if not self.link.connected:
                    raise LinkError("connection lost")
                self.publish(msg, 1)
                try:
                    return await asyncio.wait_for(
                        asyncio.shield(fut), self.timing.request_timeout_s
                    )
                except TimeoutError:
                    log.info("%s: no reply to %s %s yet; re-sending", self.sn, msg.method, msg.tid)
        finally:
            self._waiting.pop(msg.tid, None)

    def fail_waiting(self) -> None:
        """The connection is gone: every waiting `call` raises `LinkError`."""
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(LinkError("connection lost"))
                fut.exception()

    async def resend_forever(self) -> None:
        """Re-send unanswered `need_reply` messages (runs for one session)."""
        period = min(1.0, self.timing.resend_s / 2)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for tid, item in list(self._unacked.items()):
                if item.next_at > now:
                    continue
                if item.attempts > self.timing.resend_max:
                    del self._unacked[tid]
                    continue
                self.publish(item.message, item.qos)
                item.attempts += 1
                item.next_at = now + self.timing.resend_s

    # -- replies -----------------------------------------------------------------------------

    def on_reply(self, msg: Message) -> None:
        """File a reply from the cloud (requests, status, events or state reply)."""
        key = msg.method or ("state" if msg.kind is TopicKind.STATE_REPLY else msg.kind.value)
        self.replies[key] = msg
        fut = self._waiting.get(msg.tid)
        if fut is not None and not fut.done():
            fut.set_result(msg)
        self._unacked.pop(msg.tid, None)

    def reply_service(self, msg: Message, data: dict[str, Any]) -> None:
        """Publish the `services_reply` with `data` to the `services` message `msg`."""
        self._reply(msg, TopicKind.SERVICES_REPLY, data, method=msg.method)

    def reply_property_set(self, msg: Message, data: dict[str, Any]) -> None:
        """Publish the `property/set_reply` with `data` to the `property/set` message `msg`."""
        self._reply(msg, TopicKind.PROPERTY_SET_REPLY, data, gateway=self.sn)

    def _reply(
        self,
        msg: Message,
        kind: TopicKind,
        data: dict[str, Any],
        *,
        method: str | None = None,
        gateway: str | None = None,
    ) -> None:
        reply = Message(
            Topic(kind, self.sn),
            data,
            tid=msg.tid,
            bid=msg.bid,
            timestamp=now_ms(),
            method=method,
            gateway=gateway,
        )
        self.services.append(ServiceRecord(msg, data))
        del self.services[:-KEEP_EXCHANGES]
        self.publish(reply, 1)
