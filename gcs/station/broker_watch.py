"""Refusals the embedded broker reports, shown to the operator.

Theory of operation
-------------------
The broker runs in a child process (`broker.BrokerProcess`). Whenever it refuses something --
a take-over of a live device's client id, a publish or subscription outside a login's rights,
an update_topo claiming another online dock's aircraft, an oversized packet, a session dropped
for not reading, a wrong password -- it prints one JSON line on its standard output, already
rate-limited per client in the child. `BrokerProcess` parses those on its reader thread and
calls `on_event`; `BrokerWatch.attach` points that at `BrokerWatch.from_thread`, which hands
each event to the station's loop. There `BrokerWatch.handle` turns it into a `LogEntry` on the
event bus (kind ``security`` for identity matters -- take-overs, claims of a serial or an
aircraft held elsewhere -- ``broker`` otherwise; level ``warning`` or ``error``) and a line in
the ``gcs`` log. The same refusal of the same client within `interval` seconds is counted and
folded into the next entry instead of flooding the operator's events list.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from gcs.station.bus import EventBus, LogEntry

log = logging.getLogger(__name__)

__all__ = ["TITLES", "BrokerWatch"]

# What the operator reads first, in English and Chinese; the broker's message follows.
TITLES: dict[str, tuple[str, str]] = {
    "takeover_refused": ("MQTT take-over of a connected device refused", "拒绝顶替已连接设备"),
    "takeover": ("MQTT connection replaced by the device's own login", "设备专属账号顶替了连接"),
    "publish_refused": ("MQTT publish refused", "拒绝MQTT发布"),
    "subscribe_refused": ("MQTT subscription refused", "拒绝MQTT订阅"),
    "topology_refused": ("Device topology (update_topo) refused", "拒绝设备拓扑上报"),
    "packet_too_large": ("Oversized MQTT packet refused", "拒绝超大MQTT报文"),
    "session_dropped": ("MQTT client not reading: disconnected", "MQTT客户端未读取消息,已断开"),
    "login_refused": ("MQTT login refused", "拒绝MQTT登录"),
}
_LEVELS = {"warning", "error"}


class _EventSource(Protocol):
    on_event: Callable[[dict[str, Any]], None] | None


class BrokerWatch:
    """Turns the broker child's refusal reports into desktop events and log lines."""

    def __init__(
        self,
        bus: EventBus,
        loop: asyncio.AbstractEventLoop,
        *,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        """Args:
        bus: the station's event bus (published on `loop`'s thread only).
        loop: the station's loop.
        interval: repeats of one refusal by one client within this many seconds are folded.
        clock: monotonic seconds (tests).
        now_ms: wall-clock milliseconds for the entries (tests).
        """
        self.bus = bus
        self.loop = loop
        self.interval = interval
        self._clock = clock
        self._now_ms = now_ms
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self.reported = 0
        self.folded = 0

    def attach(self, broker: _EventSource) -> BrokerWatch:
        """Receive `broker`'s reports (a `broker.BrokerProcess`); returns self."""
        broker.on_event = self.from_thread
        return self

    def from_thread(self, event: dict[str, Any]) -> None:
        """Called on the broker's reader thread: hand `event` to the station's loop."""
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self.handle, event)
        except RuntimeError:  # the loop closed meanwhile: the station is stopping
            pass

    def handle(self, event: dict[str, Any]) -> LogEntry | None:
        """On the station's loop: publish `event` as a `LogEntry` unless it is a fold-able repeat.

        Returns:
            The entry published, or None (a repeat within `interval`, or not an event).
        """
        name = event.get("event")
        if not isinstance(name, str) or not name:
            return None
        who = str(event.get("client_id") or event.get("username") or "?")
        key = (name, who)
        now = self._clock()
        repeats = _count(event.get("repeats"))
        last, held = self._last.get(key, (float("-inf"), 0))
        if now - last < self.interval:
            self._last[key] = (last, held + 1 + repeats)
            self.folded += 1
            return None
        if len(self._last) > 10_000:
            self._last.clear()
        self._last[key] = (now, 0)
        entry = self._entry(name, event, held + repeats)
        self.reported += 1
        log.log(
            logging.ERROR if entry.level == "error" else logging.WARNING,
            "broker %s: %s",
            entry.kind,
            entry.message,
        )
        self.bus.publish(entry)
        return entry

    def _entry(self, name: str, event: dict[str, Any], repeats: int) -> LogEntry:
        level = str(event.get("level") or "warning")
        level = level if level in _LEVELS else "warning"
        kind = "security" if event.get("kind") == "security" else "broker"
        en, zh = TITLES.get(name, (f"MQTT broker: {name}", f"MQTT代理: {name}"))
        detail = str(event.get("message") or "")
        who = []
        if event.get("client_id"):
            who.append(f"client id {event['client_id']}")
        if event.get("username"):
            who.append(f"login {event['username']!r}")
        if event.get("remote"):
            who.append(f"from {event['remote']}")
        text = f"{en} ({zh}): {detail}"
        if who:
            text += f" [{', '.join(who)}]"
        if repeats:
            text += f" (+{repeats} more like it)"
        sn = event.get("sn")
        return LogEntry(self._now_ms(), kind, level, text, sn if isinstance(sn, str) else "")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
