"""Telemetry: the current state of every device and its history (protocol §3).

Current state: each `osd`/`state` message is merged key by key into the device's state,
because a dock splits its OSD into several partial messages (§3) and `state` only carries what
changed. Each merge makes one new read-only mapping (`current(sn)`), published with the
message on the bus (`TelemetryUpdated.state`): SQLite history, the Pilot WebSocket feed and the
desktop all read that same object, none copies it. The station never mutates a published
state, nested values included (a merge replaces top-level values); readers must not either.

History: at most one sample per device per `history_interval_s`, holding the numeric
properties (top level and one level of nesting, e.g. `battery.capacity_percent`) at the
device's time (the message timestamp). Samples go into per-device chunks of changed values
(`gcs.store.history`); a full chunk is written by the background writer, the open one is
rewritten every `CHECKPOINT_S` so a crash loses at most that much. If the disk falls behind,
the queue of full chunks is bounded and the oldest are dropped (logged) rather than stalling
message handling.

Upkeep (hourly): full-rate history older than `DOWNSAMPLE_AFTER_S` keeps one sample per
`DOWNSAMPLE_STEP_MS`; history older than `retention_days` is removed; then the oldest history
is removed while it is over `max_bytes` (the operator is told, on the bus).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from gcs.logsetup import DiskFullNotice
from gcs.station.bus import EventBus, LogEntry, TelemetryUpdated
from gcs.store import history as h
from gcs.store.db import Store

log = logging.getLogger(__name__)

MAX_QUEUED_CHUNKS = 20_000
CHECKPOINT_S = 10.0
DOWNSAMPLE_AFTER_S = 86_400.0
DOWNSAMPLE_STEP_MS = 10_000
UPKEEP_EVERY_S = 3600.0
CLOCK_JUMP_MS = 60_000  # a device time this far back is a clock reset, not a late message

EMPTY_STATE: Mapping[str, Any] = MappingProxyType({})


def numeric_projection(state: Mapping[str, Any]) -> dict[str, float | int]:
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
    """Current states and history. Usable from the station's loop; `flush` before closing."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        *,
        history_interval_s: float = 1.0,
        retention_days: float = 30.0,
        max_bytes: int = 2_048_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.bus = bus
        self.history_interval_s = history_interval_s
        self.retention_days = retention_days
        self.max_bytes = max_bytes
        self._clock = clock
        self._state: dict[str, Mapping[str, Any]] = {}
        self._updated_ms: dict[str, int] = {}
        self._last_sample: dict[str, float] = {}
        self._last_ts: dict[str, int] = {}  # device time of the newest sample
        self._open: dict[str, h.ChunkBuilder] = {}
        self._checkpointed: dict[str, float] = {}  # sn -> clock() of the open chunk's last write
        self._full: deque[h.ChunkWrite] = deque()
        self.dropped_samples = 0
        self.written_samples = 0
        self._flush_lock = asyncio.Lock()

    def current(self, sn: str) -> Mapping[str, Any]:
        """The merged state of a device (read-only, shared; empty if nothing arrived yet)."""
        return self._state.get(sn, EMPTY_STATE)

    def updated_ms(self, sn: str) -> int | None:
        """Device time (ms) of the newest message merged into `current(sn)`."""
        return self._updated_ms.get(sn)

    def known(self) -> list[str]:
        return sorted(self._state)

    def ingest(self, sn: str, gateway_sn: str, kind: str, data: dict[str, Any], ts_ms: int) -> None:
        """Merge one osd/state message into a new current state and sample it for history."""
        old = self._state.get(sn)
        state = MappingProxyType({**old, **data} if old is not None else dict(data))
        self._state[sn] = state
        self._updated_ms[sn] = ts_ms
        now = self._clock()
        last = self._last_sample.get(sn)
        if last is None or now - last >= self.history_interval_s:
            self._last_sample[sn] = now
            self._sample(sn, ts_ms, state)
        self.bus.publish(TelemetryUpdated(ts_ms, sn, gateway_sn, kind, data, state))

    def _sample(self, sn: str, ts_ms: int, state: Mapping[str, Any]) -> None:
        last_ts = self._last_ts.get(sn)
        if last_ts is not None and ts_ms <= last_ts:
            if last_ts - ts_ms < CLOCK_JUMP_MS:
                return  # a late or re-sent message: keep history in time order
            self._close(sn)  # the device's clock was set back: start a new chunk
        self._last_ts[sn] = ts_ms
        builder = self._open.get(sn)
        if builder is None:
            builder = self._open[sn] = h.ChunkBuilder(sn)
        builder.add(ts_ms, numeric_projection(state))
        if builder.full:
            self._close(sn)

    def _close(self, sn: str) -> None:
        """Queue the open chunk of `sn` for writing; the next sample starts a new one."""
        builder = self._open.pop(sn, None)
        self._checkpointed.pop(sn, None)
        if builder is None or not len(builder):
            return
        if len(self._full) >= MAX_QUEUED_CHUNKS:
            dropped = self._full.popleft()
            self.dropped_samples += dropped.count
            log.warning(
                "telemetry history is falling behind; dropped %d samples", self.dropped_samples
            )
        self._full.append(h.chunk_write(builder))

    @property
    def queued(self) -> int:
        """Samples not yet written in full chunks (open chunks not counted)."""
        return sum(c.count for c in self._full)

    def _due_open_chunks(self, force: bool) -> list[h.ChunkWrite]:
        now = self._clock()
        due: list[h.ChunkWrite] = []
        for sn, builder in self._open.items():
            if not len(builder):
                continue
            if force or now - self._checkpointed.setdefault(sn, now) >= CHECKPOINT_S:
                self._checkpointed[sn] = now
                due.append(h.chunk_write(builder))
        return due

    async def flush(self, force: bool = True) -> int:
        """Write full chunks, and open chunks when due (always when `force`).

        Returns:
            The samples written in full chunks.
        """
        async with self._flush_lock:
            full = list(self._full)
            self._full.clear()
            batch = full + self._due_open_chunks(force)
            if not batch:
                return 0
            await self.store.call(h.write_chunks, batch)
            written = sum(c.count for c in full)
            self.written_samples += written
            return written

    async def history(
        self, sn: str, since_ms: int, until_ms: int | None = None, limit: int = 100_000
    ) -> list[h.Sample]:
        """Samples of `sn` between two device times (ms), oldest first."""
        await self.flush()
        return await self.store.call(h.query_samples, sn, since_ms, until_ms, limit)

    async def history_bytes(self) -> int:
        """Bytes the stored history takes (roughly; what the size cap counts)."""
        return await self.store.call(h.history_bytes)

    async def prune(self) -> int:
        """Remove history older than `retention_days`; returns the samples removed."""
        cutoff = int((time.time() - self.retention_days * 86400) * 1000)
        return await self.store.call(h.prune_samples, cutoff)

    async def downsample(self, now_ms: int | None = None) -> int:
        """Thin full-rate history older than a day; returns the samples removed."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        before = now_ms - int(DOWNSAMPLE_AFTER_S * 1000)
        removed = 0
        while True:  # in slices, so other database work gets its turn
            read, gone = await self.store.call(h.downsample_chunks, before, DOWNSAMPLE_STEP_MS)
            removed += gone
            if not read:
                return removed

    async def cap(self) -> h.CapResult:
        """Remove the oldest history while it is over `max_bytes`; tells the operator."""
        result = await self.store.call(h.cap_chunks, self.max_bytes)
        if result.removed_samples:
            mb = self.max_bytes / 1e6
            since = (
                time.strftime("%Y-%m-%d %H:%M", time.localtime(result.oldest_kept_ms / 1000))
                if result.oldest_kept_ms is not None
                else "-"
            )
            message = (
                f"Telemetry history reached its size cap ({mb:.0f} MB): removed the oldest "
                f"{result.removed_samples} samples; history now starts {since}. Raise "
                "[telemetry] history_max_mb in gcs.toml to keep more. / 遥测历史达到容量上限"
                f"（{mb:.0f} MB），已删除最早的 {result.removed_samples} 条记录。"
            )
            log.warning("%s", message)
            self.bus.publish(LogEntry(int(time.time() * 1000), "storage", "warning", message))
        return result

    async def upkeep(self) -> None:
        """Downsample, prune by age, then cap by size (the writer runs it hourly)."""
        thinned = await self.downsample()
        removed = await self.prune()
        if thinned or removed:
            log.info(
                "telemetry history: thinned %d samples older than a day, removed %d older than "
                "%s days",
                thinned,
                removed,
                self.retention_days,
            )
        await self.cap()

    async def run_writer(self, interval_s: float = 1.0) -> None:
        """Background task: flush every `interval_s`, upkeep hourly. Runs until cancelled."""
        last_upkeep = 0.0
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
                await self.flush(force=False)
                disk_full.resolved()
                if time.monotonic() - last_upkeep > UPKEEP_EVERY_S:
                    last_upkeep = time.monotonic()
                    await self.upkeep()
            except Exception as exc:
                if not disk_full.report(exc):
                    log.exception("telemetry writer failed; retrying")
