"""Device health (protocol §5 `hms`, §12): every report becomes the device's current alarm set.

Theory of operation: each `hms` event is the complete alarm set of the devices reported on its
topic (the dock's topic carries the dock's and usually its aircraft's alarms; a Dock 3 sends the
aircraft's on the aircraft's own topic). The capability keeps, per topic, the alarms still
active; a report is diffed against it — new alarms are raised (a row, worded now in EN/ZH from
the HMS table, placeholders filled), missing ones cleared — and the change is announced as one
`HmsChanged` per device plus an events-log line per raised caution or warning. Reports are
processed one at a time in arrival order (a queue), so a clear never overtakes its raise.

Texts: the station's own words for common alarms, or DJI's `hms.json` once the operator has
imported it (`import_table`; a copy is kept in the data folder and read at start).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from gcs.aio import spawn
from gcs.protocol.envelope import Message
from gcs.protocol.hms import LEVEL_WORDS, HmsError, HmsItem, HmsTable, parse_hms
from gcs.station.bus import HmsChanged, LogEntry
from gcs.station.capability import Capability, EventHandler
from gcs.store import hms as q
from gcs.store.hms import AlarmQuery, AlarmRow

log = logging.getLogger(__name__)

TABLE_FILE = "hms-table.json"
MAX_TABLE_BYTES = 32 * 1024 * 1024


class HmsTableError(ValueError):
    """An HMS table file the station cannot use; the message says why."""


def read_table_file(path: Path) -> dict[str, Any]:
    """Read and check a DJI `hms.json` (key → {language: text}).

    Raises:
        HmsTableError: unreadable, too large, not JSON, or not the expected shape.
    """
    try:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            raise HmsTableError(f"{path.name} is {size} bytes; an HMS table is a few MB at most")
        doc = json.loads(path.read_bytes())
    except OSError as exc:
        raise HmsTableError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise HmsTableError(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise HmsTableError(f"{path.name} is not an HMS table (expected a JSON object)")
    try:
        HmsTable().update(doc)
    except HmsError as exc:
        raise HmsTableError(f"{path.name}: {exc}") from exc
    return doc


class Health(Capability):
    name = "health"

    def __init__(self, station: Any) -> None:
        super().__init__(station)
        self.table = HmsTable()
        self._active: dict[str, dict[tuple[str, tuple[str, int, int]], AlarmRow]] = {}
        self._unread: dict[str, int] = {}
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def events(self) -> Mapping[str, EventHandler]:
        return {"hms": self._queue.put_nowait}

    async def start(self) -> None:
        st = self.station
        path = st.data_dir / TABLE_FILE
        if path.exists():
            try:
                doc = await asyncio.get_running_loop().run_in_executor(None, read_table_file, path)
                self.table.update(doc)
            except HmsTableError as exc:
                log.warning("the imported HMS table is not usable: %s", exc)
        assert st.store is not None
        for row in await st.store.call(q.active_alarms):
            self._active.setdefault(row.source_sn, {})[(row.sn, row.identity)] = row
        self._unread = await st.store.call(q.unread_counts)
        self._worker = spawn(self._work(), name="hms-worker")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass

    # -- queries -------------------------------------------------------------------------

    def active(self, sn: str | None = None) -> list[AlarmRow]:
        """Active alarms (of one device), highest level first."""
        rows = [
            a
            for alarms in self._active.values()
            for a in alarms.values()
            if sn is None or a.sn == sn
        ]
        return sorted(rows, key=lambda a: (-a.level, a.raised_at))

    def unread(self) -> dict[str, int]:
        return dict(self._unread)

    async def history(self, query: AlarmQuery) -> tuple[list[AlarmRow], int]:
        assert self.station.store is not None
        return await self.station.store.call(q.query_alarms, query)

    async def mark_read(self, sns: list[str] | None = None) -> int:
        """Mark alarms read (of these devices, or all); announces the new unread counts."""
        st = self.station
        assert st.store is not None
        n = await st.store.call(q.mark_read, sns, st.now_ms())
        touched = list(self._unread) if sns is None else sns
        for sn in touched:
            self._unread.pop(sn, None)
        self._active = {
            src: {
                k: replace(a, read_at=a.read_at or st.now_ms()) if a.sn in touched else a
                for k, a in alarms.items()
            }
            for src, alarms in self._active.items()
        }
        for sn in touched:
            view = st.registry.view(sn)
            gw = (view.gateway_sn if view is not None else None) or sn
            st.bus.publish(HmsChanged(st.now_ms(), sn, gw, (), (), tuple(self.active(sn)), 0))
        return n

    async def import_table(self, path: Path) -> int:
        """Use the HMS table at `path` (DJI's hms.json) from now on; returns its key count.

        Raises:
            HmsTableError: the file is not a usable table (nothing changes).
        """
        st = self.station
        loop = asyncio.get_running_loop()
        doc = await loop.run_in_executor(None, read_table_file, path)
        await loop.run_in_executor(None, _write_copy, st.data_dir / TABLE_FILE, doc)
        table = HmsTable(doc)
        self.table = table
        text = f"HMS table imported: {table.imported} alarm texts from {path.name}"
        log.info(text)
        st.bus.publish(LogEntry(st.now_ms(), "hms", "info", text))
        return table.imported

    # -- reports -------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            msg = await self._queue.get()
            try:
                await self._apply(msg)
            except Exception:
                log.exception("hms report from %s failed", msg.sn)

    def _owner(self, item: HmsItem, source: str, gateway: str) -> str:
        if item.is_dock:
            return gateway
        if source != gateway:
            return source  # the aircraft's own topic
        view = self.station.registry.view(gateway)
        if view is not None and view.sub_devices:
            return view.sub_devices[0]
        return gateway

    async def _apply(self, msg: Message) -> None:
        st = self.station
        source, gateway = msg.sn, msg.gateway_sn
        try:
            items = parse_hms(msg.data)
        except HmsError as exc:
            log.warning("hms report from %s rejected: %s", source, exc)
            st.bus.publish(LogEntry(st.now_ms(), "rejected", "warning", f"hms: {exc}", source))
            return
        now = st.now_ms()
        current = self._active.get(source, {})
        reported: dict[tuple[str, tuple[str, int, int]], HmsItem] = {}
        for item in items:
            reported[(self._owner(item, source, gateway), item.identity)] = item
        raised = [
            AlarmRow(
                id=0,
                source_sn=source,
                sn=key[0],
                gateway_sn=gateway,
                key=item.key,
                code=item.code,
                level=item.level,
                module=item.module,
                in_the_sky=item.in_the_sky,
                imminent=item.imminent,
                component_index=item.component_index,
                sensor_index=item.sensor_index,
                text_en=self.table.text(item, "en"),
                text_zh=self.table.text(item, "zh"),
                tid=msg.tid,
                bid=msg.bid,
                raised_at=msg.timestamp or now,
            )
            for key, item in reported.items()
            if key not in current
        ]
        cleared = [a for key, a in current.items() if key not in reported]
        if not raised and not cleared:
            return
        assert st.store is not None
        ids = await st.store.call(q.apply_report, raised, [a.id for a in cleared], now)
        raised = [replace(a, id=i) for a, i in zip(raised, ids, strict=True)]
        kept = {k: a for k, a in current.items() if k in reported}
        for a in raised:
            kept[(a.sn, a.identity)] = a
        self._active[source] = kept
        cleared = [replace(a, cleared_at=now) for a in cleared]
        for a in raised:
            self._unread[a.sn] = self._unread.get(a.sn, 0) + 1
            if a.level >= 1:
                word = LEVEL_WORDS.get(a.level, ("Alarm", "告警"))[0]
                st.bus.publish(
                    LogEntry(
                        now,
                        "hms",
                        "warning" if a.level >= 2 else "info",
                        f"{word}: {a.text_en}",
                        a.sn,
                    )
                )
        for a in cleared:
            if a.level >= 1:
                st.bus.publish(LogEntry(now, "hms", "info", f"Cleared: {a.text_en}", a.sn))
        for sn in sorted({a.sn for a in raised} | {a.sn for a in cleared}):
            st.bus.publish(
                HmsChanged(
                    now,
                    sn,
                    gateway,
                    tuple(a for a in raised if a.sn == sn),
                    tuple(a for a in cleared if a.sn == sn),
                    tuple(self.active(sn)),
                    self._unread.get(sn, 0),
                )
            )


def _write_copy(path: Path, doc: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
