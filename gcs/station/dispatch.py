"""Inbound dispatch: every decoded device message to the capability that handles it.

The reply rules of `gcs.protocol.replies` (§1.5) are applied here, once for every capability:
`status` and `requests` are always answered (a refused request with a non-zero result),
`events`/`state` when they ask for it, de-duplicated on tid (DJI devices re-send until answered).
Replies to the station's commands and the progress events of its jobs go to the command path
(`gcs.station.commands`), which also sees every event before the capabilities do. Malformed
messages are logged with the reason, announced as `MessageRejected`, and answered with an error
when they were requests we could identify.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from gcs.aio import spawn
from gcs.logsetup import limit_repeats
from gcs.protocol import replies
from gcs.protocol.envelope import DecodeError, Message
from gcs.protocol.errors import StationCode
from gcs.protocol.onboarding import PayloadError
from gcs.protocol.topics import TopicKind
from gcs.station.bus import DeviceEvent, EventBus, LogEntry, MessageRejected
from gcs.station.capability import (
    Capability,
    EventHandler,
    PropertyHandler,
    RequestHandler,
    StatusHandler,
)
from gcs.station.commands import Commands
from gcs.station.devices import DeviceRegistry, RequestRefused

log = logging.getLogger(__name__)
limit_repeats(log)  # a burst of rejected messages is one line and a count

Publish = Callable[[Message | None, int], None]


def now_ms() -> int:
    return int(time.time() * 1000)


class SeenTids:
    """Bounded memory of recently answered (sn, tid) pairs, for idempotent re-sends."""

    def __init__(self, size: int = 8192) -> None:
        self._order: collections.deque[tuple[str, str]] = collections.deque(maxlen=size)
        self._set: set[tuple[str, str]] = set()

    def add(self, key: tuple[str, str]) -> bool:
        """Remember `key`; False if it was already there."""
        if key in self._set:
            return False
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(key)
        self._set.add(key)
        return True


class Dispatcher:
    """Routes inbound messages; built by the station from its capabilities."""

    def __init__(
        self,
        *,
        bus: EventBus,
        registry: DeviceRegistry,
        commands: Commands,
        publish: Publish,
    ) -> None:
        self.bus = bus
        self.registry = registry
        self.commands = commands
        self._publish = publish
        self.requests: dict[str, RequestHandler] = {}
        self.statuses: dict[str, StatusHandler] = {}
        self.events: dict[str, list[EventHandler]] = {}
        self.properties: list[PropertyHandler] = []
        self._events_seen = SeenTids()
        self._state_seen = SeenTids()
        self.rejected = 0

    def add(self, capabilities: Iterable[Capability]) -> None:
        for cap in capabilities:
            for method, handler in cap.requests().items():
                if method in self.requests:
                    raise ValueError(f"request {method} is handled twice ({cap.name})")
                self.requests[method] = handler
            for method, status_handler in cap.statuses().items():
                if method in self.statuses:
                    raise ValueError(f"status {method} is handled twice ({cap.name})")
                self.statuses[method] = status_handler
            for method, event_handler in cap.events().items():
                self.events.setdefault(method, []).append(event_handler)
            prop = cap.properties()
            if prop is not None:
                self.properties.append(prop)

    # -- inbound ---------------------------------------------------------------------------

    def on_message(self, msg: Message) -> None:
        kind = msg.kind
        if kind in (TopicKind.OSD, TopicKind.STATE):
            self._on_property(msg)
        elif kind is TopicKind.STATUS:
            spawn(self._on_status(msg), name=f"status:{msg.method}:{msg.sn}")
        elif kind is TopicKind.REQUESTS:
            self.registry.seen(msg.sn)
            spawn(self._on_request(msg), name=f"request:{msg.method}:{msg.sn}")
        elif kind is TopicKind.EVENTS:
            self._on_event(msg)
        elif kind in (TopicKind.SERVICES_REPLY, TopicKind.PROPERTY_SET_REPLY):
            self.registry.seen(msg.sn)
            if not self.commands.receive(msg):
                log.info(
                    "%s from %s answers no command in flight (late or foreign): tid %s",
                    kind.value,
                    msg.sn,
                    msg.tid,
                )

    def on_reject(self, topic: str, exc: DecodeError) -> None:
        self.rejected += 1
        log.warning("rejected message on %s: %s", topic, exc)
        self.bus.publish(MessageRejected(now_ms(), topic, str(exc)))
        partial = exc.reply_to
        if partial is not None:
            self._publish(
                replies.default_reply(
                    partial, now_ms=now_ms(), result=StationCode.INVALID_PARAMETER
                ),
                replies.REPLY_QOS,
            )

    def _reply(self, message: Message | None) -> None:
        self._publish(message, replies.REPLY_QOS)

    def _on_property(self, msg: Message) -> None:
        sn = msg.sn
        gateway = msg.gateway_sn
        self.registry.seen(gateway)
        if gateway != sn:
            self.registry.seen(sn)
        if msg.kind is TopicKind.STATE and msg.need_reply:
            self._reply(replies.state_reply(msg, now_ms=now_ms()))
            if not self._state_seen.add((sn, msg.tid)):
                return  # a re-send we already merged
        for handler in self.properties:
            try:
                handler(msg)
            except Exception:
                log.exception("property handler failed on %s", msg.topic)

    async def _on_status(self, msg: Message) -> None:
        result = 0
        handler = self.statuses.get(msg.method or "")
        try:
            if handler is None:
                result = StationCode.NOT_SUPPORTED
            else:
                await handler(msg)
        except (PayloadError, RequestRefused) as exc:
            result = exc.code if isinstance(exc, RequestRefused) else StationCode.INVALID_PARAMETER
            log.warning("%s from %s refused: %s", msg.method, msg.sn, exc)
            self.bus.publish(LogEntry(now_ms(), "error", "warning", str(exc), msg.sn))
        except Exception:
            result = StationCode.INTERNAL_ERROR
            log.exception("%s from %s failed", msg.method, msg.sn)
        self._reply(replies.status_reply(msg, now_ms=now_ms(), result=result))

    async def _on_request(self, msg: Message) -> None:
        method = msg.method or ""
        handler = self.requests.get(method)
        if handler is None:
            log.info("request %s from %s is not supported", method, msg.sn)
            self._reply(
                replies.requests_reply(msg, now_ms=now_ms(), result=StationCode.NOT_SUPPORTED)
            )
            return
        try:
            output: dict[str, Any] = await handler(msg)
        except (PayloadError, RequestRefused) as exc:
            code = exc.code if isinstance(exc, RequestRefused) else StationCode.INVALID_PARAMETER
            log.warning("request %s from %s refused: %s", method, msg.sn, exc)
            self.bus.publish(LogEntry(now_ms(), "error", "warning", f"{method}: {exc}", msg.sn))
            self._reply(replies.requests_reply(msg, now_ms=now_ms(), result=code))
            return
        except Exception:
            log.exception("request %s from %s failed", method, msg.sn)
            self._reply(
                replies.requests_reply(msg, now_ms=now_ms(), result=StationCode.INTERNAL_ERROR)
            )
            return
        if method == "config":
            self._reply(replies.config_reply(msg, output, now_ms=now_ms()))
        else:
            self._reply(replies.requests_reply(msg, now_ms=now_ms(), output=output))

    def _on_event(self, msg: Message) -> None:
        self.registry.seen(msg.gateway_sn)
        if msg.need_reply:
            self._reply(replies.events_reply(msg, now_ms=now_ms()))
        if msg.tid and not self._events_seen.add((msg.sn, msg.tid)):
            return  # re-sent because our reply was late or lost
        self.commands.receive(msg)
        method = msg.method or ""
        for handler in self.events.get(method, ()):
            try:
                handler(msg)
            except Exception:
                log.exception("event handler for %s failed", method)
        self.bus.publish(DeviceEvent(now_ms(), msg.gateway_sn, msg.sn, method, msg.bid, msg.data))
