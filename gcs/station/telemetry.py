"""Telemetry: the current state of every device and its history (protocol §3).

Current state: each `osd`/`state` message is merged key by key into the device's cached state,
because a dock splits its OSD into several partial messages (§3) and `state` only carries what
changed. `current(sn)` returns the merged view.

History: at most one row per device per `history_interval_s`, holding the numeric properties
(top level and one level of nesting, e.g. `battery.capacity_percent`) — the values plots need,
~1 KB instead of the full state. Rows are queued in memory and written in batches by a
background task; if the disk falls behind, the queue is bounded and the oldest rows are dropped
(logged) rather than stalling message handling. History older than `retention_days` is pruned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from gcs.logsetup import DiskFullNotice
from gcs.station.bus import EventBus, LogEntry, TelemetryUpdated
from gcs.store import history as h
from gcs.store.db import Store

log = logging.getLogger(__name__)

MAX_QUEUED_SAMPLES = 50_000


def numeric_projection(state: dict[str, Any]) -> dict[str, float | int]:
    """Numeric leaves of `state`, top level and one level down, as dotted keys."""
    out: dict[str, float | int] = {}
    for key, value in state.items():
        if isinstance(value, bool):
            out[key] = int(value)
        elif isinstance(value, int | float):
            out[key] = value
        elif isinstance(value, dict):
            for sub, v in value.items():
                if isinstance(v, bool):
                    out[f"{key}.{sub}"] = int(v)
                elif isinstance(v, int | float):
                    out[f"{key}.{sub}"] = v
    return out


class Telemetry:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        *,
        history_interval_s: float = 1.0,
        retention_days: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.bus = bus
        self.history_interval_s = history_interval_s
        self.retention_days = retention_days
        self._clock = clock
        self._state: dict[str, dict[str, Any]] = {}
        self._updated_ms: dict[str, int] = {}
        self._last_sample: dict[str, float] = {}
        self._queue: deque[h.Sample] = deque()
        self.dropped_samples = 0
        self.written_samples = 0
        self._flush_lock = asyncio.Lock()

    def current(self, sn: str) -> dict[str, Any]:
        """The merged state of a device (a shallow copy; empty if nothing arrived yet)."""
        return dict(self._state.get(sn, {}))

    def updated_ms(self, sn: str) -> int | None:
        return self._updated_ms.get(sn)

    def known(self) -> list[str]:
        return sorted(self._state)

    def ingest(self, sn: str, gateway_sn: str, kind: str, data: dict[str, Any], ts_ms: int) -> None:
        """Merge one osd/state message into the current state and queue a history sample."""
        state = self._state.get(sn)
        if state is None:
            state = self._state[sn] = {}
        state.update(data)
        self._updated_ms[sn] = ts_ms
        now = self._clock()
        last = self._last_sample.get(sn)
        if last is None or now - last >= self.history_interval_s:
            self._last_sample[sn] = now
            if len(self._queue) >= MAX_QUEUED_SAMPLES:
                self._queue.popleft()
                self.dropped_samples += 1
                if self.dropped_samples % 1000 == 1:
                    log.warning(
                        "telemetry history is falling behind; dropped %d rows", self.dropped_samples
                    )
            self._queue.append(h.Sample(sn, ts_ms, numeric_projection(state)))
        self.bus.publish(TelemetryUpdated(ts_ms, sn, gateway_sn, kind, data))

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def flush(self) -> int:
        """Write queued history rows in one transaction; returns how many were written."""
        async with self._flush_lock:
            if not self._queue:
                return 0
            batch = list(self._queue)
            self._queue.clear()
            await self.store.call(h.insert_samples, batch)
            self.written_samples += len(batch)
            return len(batch)

    async def history(
        self, sn: str, since_ms: int, until_ms: int | None = None, limit: int = 100_000
    ) -> list[h.Sample]:
        await self.flush()
        return await self.store.call(h.query_samples, sn, since_ms, until_ms, limit)

    async def prune(self) -> int:
        cutoff = int((time.time() - self.retention_days * 86400) * 1000)
        return await self.store.call(h.prune_samples, cutoff)

    async def run_writer(self, interval_s: float = 1.0) -> None:
        """Background task: flush every `interval_s`, prune hourly. Runs until cancelled."""
        last_prune = 0.0
        disk_full = DiskFullNotice(  # issue 17 #8: a full disk is said once, not every second
            log,
            "telemetry history",
            on_notice=lambda level, text: self.bus.publish(
                LogEntry(int(time.time() * 1000), "error", level, text)
            ),
        )
        while True:
            await asyncio.sleep(interval_s)
            try:
                if await self.flush():
                    disk_full.resolved()
                if time.monotonic() - last_prune > 3600:
                    last_prune = time.monotonic()
                    removed = await self.prune()
                    if removed:
                        log.info(
                            "pruned %d telemetry rows older than %s days",
                            removed,
                            self.retention_days,
                        )
            except Exception as exc:
                if not disk_full.report(exc):
                    log.exception("telemetry writer failed; retrying")
