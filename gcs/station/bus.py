"""The station's event bus: dataclass events named for what happened, fanned out to subscribers.

Events are published on the station's event-loop thread and handlers run there, synchronously,
in subscription order. A handler that raises is logged and the others still run (a bug in one
feature must not stop telemetry or replies). Bound methods are held weakly, so a closed window
or a finished WebSocket does not stay subscribed; plain functions and lambdas are held strongly
until `unsubscribe`. Front ends on other threads (Qt) subscribe with a handler that posts to
their own thread.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every bus event. `ts` is the station time (ms) when it happened."""

    ts: int


@dataclass(frozen=True, slots=True)
class DeviceOnline(Event):
    sn: str
    gateway_sn: str
    model_key: str
    workspace_id: str | None


@dataclass(frozen=True, slots=True)
class DeviceOffline(Event):
    sn: str
    gateway_sn: str
    reason: str


@dataclass(frozen=True, slots=True)
class TopologyChanged(Event):
    gateway_sn: str
    sub_devices: tuple[str, ...]
    workspace_id: str | None


@dataclass(frozen=True, slots=True)
class DeviceBound(Event):
    sn: str
    workspace_id: str
    callsign: str


@dataclass(frozen=True, slots=True)
class DeviceUpdated(Event):
    """Registry data other than telemetry changed (callsign, firmware, icons...)."""

    sn: str


@dataclass(frozen=True, slots=True)
class TelemetryUpdated(Event):
    """New OSD or state merged into the device's current state.

    `changed` holds only the properties of this message; `state` is the device's whole merged
    state after it (read-only, shared by every subscriber: never mutate it or its values).
    `ts` is the device's time of the message.
    """

    sn: str
    gateway_sn: str
    topic_kind: str  # "osd" or "state"
    changed: dict[str, Any]
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceEvent(Event):
    """An `events` message from a device (hms, progress, ...), already acknowledged."""

    gateway_sn: str
    sn: str
    method: str
    bid: str
    data: Any


@dataclass(frozen=True, slots=True)
class ServiceReplied(Event):
    gateway_sn: str
    method: str
    result: int


@dataclass(frozen=True, slots=True)
class CommandChanged(Event):
    """A command to a device was refused, sent, answered, made progress or ended.

    `status` is "refused", "sent", "running", a device progress status ("in_progress",
    "paused", …) or how it ended ("ok", "failed", "timeout", "canceled", "interrupted", …).
    """

    job_id: str
    gateway_sn: str
    method: str
    actor: str
    status: str
    result: int | None
    percent: float | None
    step: str
    message_en: str
    message_zh: str
    bid: str


@dataclass(frozen=True, slots=True)
class HmsChanged(Event):
    """A device's HMS alarm set changed. `active` is its whole set now (rows of
    `gcs.store.hms.AlarmRow`), `raised`/`cleared` what this report changed; `unread` counts the
    device's alarms the operator has not marked read."""

    sn: str
    gateway_sn: str
    raised: tuple[Any, ...]
    cleared: tuple[Any, ...]
    active: tuple[Any, ...]
    unread: int


@dataclass(frozen=True, slots=True)
class WaylineLibraryChanged(Event):
    """A wayline was added, renamed, deleted or (un)starred (`change` says which)."""

    workspace_id: str
    wayline_id: str
    change: str


@dataclass(frozen=True, slots=True)
class FlightTaskChanged(Event):
    """A dock flight task was planned, sent, made progress or ended.

    `status` is the station's task status ("planned", "prepared", "executing", "in_progress",
    "paused", "ok", "failed", "canceled", "partially_done", "missed", "refused", ...);
    `mission_state` the device's `wayline_mission_state`, `break_point` its last break point.
    """

    task_id: str
    workspace_id: str
    dock_sn: str
    wayline_id: str
    name: str
    status: str
    percent: float | None
    step: str
    waypoint_index: int | None
    mission_state: int | None
    media_count: int
    result: int | None
    message_en: str
    message_zh: str
    break_point: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ReturnHomePath(Event):
    """A dock's aircraft reported the path it will fly home (`return_home_info`, §5):
    (latitude, longitude, ellipsoidal height) points; empty when the flight has ended."""

    dock_sn: str
    flight_id: str
    points: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True, slots=True)
class MessageRejected(Event):
    """An inbound message could not be accepted (malformed, unknown topic, ...)."""

    topic: str
    reason: str


@dataclass(frozen=True, slots=True)
class LinkStateChanged(Event):
    connected: bool
    detail: str


@dataclass(frozen=True, slots=True)
class LogEntry(Event):
    """A line for the operator's events log."""

    kind: str
    level: str
    message: str
    sn: str = ""


@dataclass
class _Subscription:
    event_type: type[Event]
    ref: Callable[[], Handler | None]


@dataclass
class EventBus:
    """Publish/subscribe on the station loop. `publish` walks only the subscriptions of the
    event's type (and its base classes), kept in an index that every subscribe or removal
    clears; a busy station publishes hundreds of telemetry events a second to a bus most of
    whose dozens of subscriptions are for other events."""

    _subs: list[_Subscription] = field(default_factory=list)
    _by_type: dict[type[Event], tuple[_Subscription, ...]] = field(default_factory=dict)

    def subscribe(self, event_type: type[Event], handler: Handler) -> Callable[[], None]:
        """Call `handler(event)` for every published event of `event_type` (or a subclass).

        Returns:
            A function that removes the subscription.
        """
        if hasattr(handler, "__self__") and hasattr(handler, "__func__"):
            ref: Callable[[], Handler | None] = weakref.WeakMethod(handler)
        else:

            def ref() -> Handler:
                return handler

        sub = _Subscription(event_type, ref)
        self._subs.append(sub)
        self._by_type.clear()

        def unsubscribe() -> None:
            self._remove(sub)

        return unsubscribe

    def _remove(self, sub: _Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._by_type.clear()

    def _subscriptions(self, event_type: type[Event]) -> tuple[_Subscription, ...]:
        subs = self._by_type.get(event_type)
        if subs is None:
            subs = self._by_type[event_type] = tuple(
                sub for sub in self._subs if issubclass(event_type, sub.event_type)
            )
        return subs

    def publish(self, event: Event) -> None:
        # The tuple is a snapshot: a handler that subscribes or unsubscribes changes the next
        # publish, not this one (as before the index).
        dead = []
        for sub in self._subscriptions(type(event)):
            handler = sub.ref()
            if handler is None:
                dead.append(sub)
                continue
            try:
                handler(event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, type(event).__name__)
        for sub in dead:
            self._remove(sub)
