"""Telemetry history: compact chunks with no loss, downsampling, caps by age and size, the
migration of old rows, and one read-only state per message shared by every reader."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlite_utils import Database
from telemetry_day import dock_day

from gcs.station.bus import EventBus, LogEntry, TelemetryUpdated
from gcs.station.telemetry import DOWNSAMPLE_STEP_MS, Telemetry, numeric_projection
from gcs.store import history as h
from gcs.store.db import Store, migrations
from gcs.store.disk import data_usage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(tmp_path / "gcs.db")
    yield s
    s.close()


def used_bytes(db: Database) -> int:
    """Bytes of the database pages in use (the file's size without its free pages)."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def test_chunks_give_back_every_sample_exactly() -> None:
    builder = h.ChunkBuilder("SN")
    samples = [
        {"a": 1, "b": 2.5, "c.x": 7},
        {"a": 1, "b": 2.5, "c.x": 8},  # one change
        {"a": 1.0, "b": 2.5},  # int -> float of the same value; c.x gone
        {"a": 1.0, "b": -0.1234567890123456, "d": 65535},
        {"a": 1.0, "b": -0.1234567890123456, "d": 65535},  # nothing changed
    ]
    for i, s in enumerate(samples):
        builder.add(1_000 + i * 1000 + (i % 2), s)
    out = h.decode_chunk("SN", h.encode_chunk(builder.payload()))
    assert [s.ts for s in out] == [1000, 2001, 3000, 4001, 5000]
    assert [s.data for s in out] == samples
    assert [type(s.data["a"]) for s in out] == [int, int, float, float, float]
    with pytest.raises(h.ChunkError):
        h.decode_chunk("SN", b"\x07junk")
    with pytest.raises(h.ChunkError):
        h.decode_chunk("SN", b"\x01not zlib")


async def test_an_hour_of_a_dock_and_aircraft_is_compact_and_lossless(store: Store) -> None:
    """One hour at 1 Hz: every sample comes back as sent, in under 1/8 of the JSON rows' size
    (the old one-row-per-sample table took ~2 KB a device-second)."""
    clock = Clock()
    telemetry = Telemetry(store, EventBus(), clock=clock)
    before = await store.call(used_bytes)
    expected: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    raw = 0
    for sn, ts, kind, data in dock_day(3600, flights=1):
        telemetry.ingest(sn, sn, kind, data, ts)
        projection = numeric_projection(telemetry.current(sn))
        expected.setdefault(sn, []).append((ts, projection))
        raw += len(orjson.dumps(projection))
        clock.now += 0.5  # dock then aircraft: each device every second
        if len(expected[sn]) % 300 == 0:
            await telemetry.flush(force=False)
    await telemetry.flush()
    stored = await store.call(used_bytes) - before
    assert stored * 8 < raw, (stored, raw)
    for sn, rows in expected.items():
        got = await telemetry.history(sn, 0)
        assert [(s.ts, s.data) for s in got] == rows
    # A window inside one chunk, and a limit.
    dock_sn = next(iter(expected))
    t = expected[dock_sn]
    window = await telemetry.history(dock_sn, t[100][0], t[110][0])
    assert [s.ts for s in window] == [ts for ts, _ in t[100:111]]
    assert len(await telemetry.history(dock_sn, 0, limit=7)) == 7


async def test_open_chunk_reaches_the_disk_within_the_checkpoint(store: Store) -> None:
    clock = Clock()
    telemetry = Telemetry(store, EventBus(), clock=clock)
    telemetry.ingest("AC", "GW", "osd", {"height": 10.0}, 100_000)
    assert await telemetry.flush(force=False) == 0
    assert await store.call(h.count_samples, "AC") == 0  # first sight: checkpoint starts now
    clock.now += 11
    telemetry.ingest("AC", "GW", "osd", {"height": 11.0}, 101_000)
    await telemetry.flush(force=False)
    assert await store.call(h.count_samples, "AC") == 2
    # A late message (older device time) is not sampled; a clock set back a lot starts anew.
    clock.now += 2
    telemetry.ingest("AC", "GW", "osd", {"height": 12.0}, 100_500)
    clock.now += 2
    telemetry.ingest("AC", "GW", "osd", {"height": 13.0}, 10_000)
    assert [(s.ts, s.data["height"]) for s in await telemetry.history("AC", 0)] == [
        (10_000, 13.0),
        (100_000, 10.0),
        (101_000, 11.0),
    ]


async def test_history_older_than_a_day_is_downsampled(store: Store) -> None:
    now = int(time.time() * 1000)
    old = [h.Sample("AC", now - 3 * 86_400_000 + i * 1000, {"v": i}) for i in range(600)]
    new = [h.Sample("AC", now - 3_600_000 + i * 1000, {"v": i}) for i in range(120)]
    await store.call(h.insert_samples, old + new)
    telemetry = Telemetry(store, EventBus())
    removed = await telemetry.downsample(now)
    got = await telemetry.history("AC", 0)
    old_kept = [s for s in got if s.ts < now - 86_400_000]
    # One sample per 10 s slot, real values (the first of each slot), nothing newer touched.
    assert len(old_kept) in (60, 61)
    assert removed == 600 - len(old_kept)
    assert all(
        b.ts // DOWNSAMPLE_STEP_MS > a.ts // DOWNSAMPLE_STEP_MS
        for a, b in itertools.pairwise(old_kept)
    )
    by_ts = {s.ts: s.data["v"] for s in old}
    assert all(by_ts[s.ts] == s.data["v"] for s in old_kept)
    assert [s.data["v"] for s in got if s.ts >= now - 86_400_000] == list(range(120))
    assert await telemetry.downsample(now) == 0  # done once


async def test_history_is_capped_by_age_and_by_size(store: Store) -> None:
    bus = EventBus()
    logged: list[LogEntry] = []
    bus.subscribe(LogEntry, logged.append)
    now = int(time.time() * 1000)
    day = 86_400_000
    rows = [
        h.Sample(sn, now - age * day + i * 1000, {"v": i * 1.37, "w": i % 7})
        for sn in ("A", "B")
        for age in (40, 5, 1)
        for i in range(600)
    ]
    await store.call(h.insert_samples, rows)
    telemetry = Telemetry(store, bus, retention_days=30, max_bytes=10**9)
    assert await telemetry.prune() == 1200  # the 40-day-old minutes of both devices
    assert not logged
    size = await telemetry.history_bytes()
    telemetry.max_bytes = size // 2
    result = await telemetry.cap()
    assert result.removed_samples > 0
    assert await telemetry.history_bytes() <= size // 2
    left = await telemetry.history("A", 0) + await telemetry.history("B", 0)
    assert min(s.ts for s in left) > now - 5 * day + 300_000  # the oldest went first
    assert max(s.ts for s in left) == now - day + 599_000  # the newest stayed
    assert len(logged) == 1 and logged[0].level == "warning" and "size cap" in logged[0].message


def test_migration_moves_old_rows_into_chunks(tmp_path: Path) -> None:
    path = tmp_path / "gcs.db"
    conn = sqlite3.connect(path, isolation_level=None)
    db = Database(conn)
    migrations.apply(db, stop_before="0008_telemetry_chunks")
    old = [("AC", 1000 + i * 1000, {"height": 10.0 + i % 3, "mode_code": 0}) for i in range(150)]
    old += [("DOCK", 1500, {"temperature": 21.5})]
    conn.executemany(
        "INSERT INTO telemetry (sn, ts, data) VALUES (?, ?, ?)",
        [(sn, ts, orjson.dumps(d).decode()) for sn, ts, d in old],
    )
    conn.close()

    store = Store(path)
    try:
        got = store.call_sync(h.query_samples, "AC", 0)
        assert [(s.ts, s.data) for s in got] == [(ts, d) for sn, ts, d in old if sn == "AC"]
        assert store.call_sync(h.query_samples, "DOCK", 0)[0].data == {"temperature": 21.5}
        tables = store.call_sync(lambda db: db.table_names())
        assert "telemetry" not in tables and "telemetry_chunks" in tables
    finally:
        store.close()


async def test_one_read_only_state_per_message_is_shared(store: Store) -> None:
    bus = EventBus()
    seen: list[TelemetryUpdated] = []
    bus.subscribe(TelemetryUpdated, seen.append)
    telemetry = Telemetry(store, bus)
    telemetry.ingest("DOCK", "DOCK", "osd", {"temperature": 20.5, "network_state": {"rate": 1}}, 7)
    first = telemetry.current("DOCK")
    telemetry.ingest("DOCK", "DOCK", "osd", {"humidity": 60}, 9)
    second = telemetry.current("DOCK")
    assert seen[0].state is first and seen[1].state is second  # the same object, no copy
    assert dict(first) == {"temperature": 20.5, "network_state": {"rate": 1}}  # unchanged
    assert dict(second) == {"temperature": 20.5, "network_state": {"rate": 1}, "humidity": 60}
    assert seen[1].ts == 9 and telemetry.updated_ms("DOCK") == 9  # the device's time
    with pytest.raises(TypeError):
        second["humidity"] = 1  # type: ignore[index]


def test_data_usage_by_part(tmp_path: Path) -> None:
    (tmp_path / "objects" / "gcs" / "a").mkdir(parents=True)
    (tmp_path / "objects" / "gcs" / "a" / "x.jpg").write_bytes(b"x" * 5000)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "broker.log").write_bytes(b"l" * 300)
    (tmp_path / "gcs.db").write_bytes(b"d" * 4096)
    (tmp_path / "gcs.db-wal").write_bytes(b"w" * 100)
    (tmp_path / "gcs.toml").write_bytes(b"t" * 10)
    usage = data_usage(tmp_path)
    assert (usage.database_bytes, usage.objects_bytes, usage.logs_bytes) == (4196, 5000, 300)
    assert usage.other_bytes == 10 and usage.total_bytes == 4196 + 5000 + 300 + 10
    assert usage.free_bytes > 0 and usage.disk_bytes >= usage.free_bytes
    assert usage.with_telemetry(123).telemetry_bytes == 123
    assert data_usage(tmp_path / "missing").total_bytes == 0
