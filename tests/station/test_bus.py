"""The station's event bus: delivery rules, and a publish that does not walk other events'
subscriptions (a busy station publishes hundreds of telemetry events a second)."""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass
from typing import Any

from gcs.station.bus import (
    DeviceOnline,
    Event,
    EventBus,
    LogEntry,
    TelemetryUpdated,
)


def tel(sn: str = "DOCK1") -> TelemetryUpdated:
    return TelemetryUpdated(1, sn, sn, "osd", {"mode_code": 0})


@dataclass(frozen=True, slots=True)
class Special(LogEntry):
    extra: str = ""


class Sink:
    def __init__(self) -> None:
        self.got: list[Event] = []

    def on(self, event: Event) -> None:
        self.got.append(event)


def test_handlers_get_their_type_and_subclasses_in_subscription_order() -> None:
    bus = EventBus()
    order: list[str] = []
    bus.subscribe(LogEntry, lambda e: order.append("log"))
    bus.subscribe(Event, lambda e: order.append("any"))
    bus.subscribe(TelemetryUpdated, lambda e: order.append("tel"))
    bus.subscribe(Special, lambda e: order.append("special"))
    bus.publish(tel())
    assert order == ["any", "tel"]
    order.clear()
    bus.publish(Special(1, "k", "info", "m"))
    assert order == ["log", "any", "special"]
    order.clear()
    bus.publish(LogEntry(1, "k", "info", "m"))
    assert order == ["log", "any"]


def test_subscribe_and_unsubscribe_after_a_publish_take_effect() -> None:
    bus = EventBus()
    a, b = Sink(), Sink()
    unsub_a = bus.subscribe(TelemetryUpdated, a.on)
    bus.publish(tel("X"))  # the index for TelemetryUpdated now exists
    bus.subscribe(TelemetryUpdated, b.on)
    bus.publish(tel("Y"))
    unsub_a()
    unsub_a()  # twice is harmless
    bus.publish(tel("Z"))
    assert [e.sn for e in a.got if isinstance(e, TelemetryUpdated)] == ["X", "Y"]
    assert [e.sn for e in b.got if isinstance(e, TelemetryUpdated)] == ["Y", "Z"]


def test_a_subscription_made_during_a_publish_starts_with_the_next_one() -> None:
    bus = EventBus()
    late = Sink()

    def first(event: Any) -> None:
        bus.subscribe(TelemetryUpdated, late.on)

    unsub = bus.subscribe(TelemetryUpdated, first)
    bus.publish(tel("A"))
    unsub()
    bus.publish(tel("B"))
    assert [e.sn for e in late.got if isinstance(e, TelemetryUpdated)] == ["B"]


def test_a_collected_bound_method_is_dropped_and_a_failing_handler_does_not_stop_others() -> None:
    bus = EventBus()
    gone, kept = Sink(), Sink()
    bus.subscribe(TelemetryUpdated, gone.on)

    def broken(event: Any) -> None:
        raise RuntimeError("bug in one feature")

    bus.subscribe(TelemetryUpdated, broken)
    bus.subscribe(TelemetryUpdated, kept.on)
    bus.publish(tel("A"))
    del gone
    gc.collect()
    bus.publish(tel("B"))
    assert [e.sn for e in kept.got if isinstance(e, TelemetryUpdated)] == ["A", "B"]
    assert len(bus._subs) == 2  # the dead subscription was removed


def _calls_during(fn: Any) -> int:
    """Python and builtin calls made by `fn()` (deterministic: counted, not timed)."""
    calls = 0

    def prof(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def test_publish_work_does_not_grow_with_other_events_subscriptions() -> None:
    def bus_with(unrelated: int) -> EventBus:
        bus = EventBus()
        sinks = [Sink() for _ in range(unrelated)]
        bus.sinks = sinks  # type: ignore[attr-defined]  # keep the weakly held handlers alive
        for i, sink in enumerate(sinks):
            bus.subscribe(DeviceOnline if i % 2 else LogEntry, sink.on)
        bus.subscribe(TelemetryUpdated, lambda e: None)
        bus.publish(tel())  # builds the index
        return bus

    small, large = bus_with(0), bus_with(300)
    event = tel()
    assert _calls_during(lambda: large.publish(event)) == _calls_during(
        lambda: small.publish(event)
    )
