"""Tables `telemetry_chunks` (device property history) and `station_events` (the events log).

Theory of operation (telemetry history)
----------------------------------------
A device's history is a series of samples, each the numeric properties of its merged state at
one time (dotted keys, see `gcs.station.telemetry.numeric_projection`). Consecutive samples of
one device share almost every value: a dock's ~90 properties change a handful at a time, an
aircraft's ~60 about eight per second in flight. So samples are stored in *chunks*: one row
per device and up to `CHUNK_SAMPLES` consecutive samples, holding

* the sample times (the first one, then the differences in ms), and
* one column per property: the sample indexes (as differences) where its value changed and the
  new values; `None` means the property disappeared.

The first sample of a chunk lists every property, so each chunk decodes alone. The columns are
packed with orjson and compressed with zlib (`encode_chunk`/`decode_chunk`; the first byte is
the format version). Decoding gives back every sample exactly as it was added: nothing is lost.

`ChunkBuilder` grows a chunk as samples arrive (only changed values are kept in memory). The
station writes a chunk when it is full and rewrites the open one every few seconds (upsert by
`(sn, ts_start)`), so history reaches the disk while it grows.

Chunks older than a day are *downsampled* (`downsample_chunks`): the first sample of every
`step_ms` is kept (real values, never averages: a mode code must stay a mode code). History is
capped by age (`prune_chunks`) and by size (`cap_chunks`, oldest first). `query_samples`
answers as before: one `Sample` per stored sample, oldest first.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlite_utils import Database

CHUNK_SAMPLES = 60  # a minute at the plots' 1 Hz
FORMAT_VERSION = 1
ZLIB_LEVEL = 6
ROW_OVERHEAD_BYTES = 64  # a chunk row's own bytes and its index entries, roughly (size cap)


@dataclass(frozen=True, slots=True)
class Sample:
    sn: str
    ts: int  # ms
    data: dict[str, Any]


class ChunkError(ValueError):
    """A stored chunk could not be decoded (unknown format version or damaged bytes)."""


class ChunkBuilder:
    """Consecutive samples of one device as changed values per property. Not thread-safe.

    `add` appends a sample; `payload()` is the packed (uncompressed) chunk so far, which
    `encode_chunk` compresses. Usable for any number of samples; `full` says when to start the
    next chunk.
    """

    __slots__ = ("_columns", "_last_index", "_prev", "sn", "step_ms", "ts")

    def __init__(self, sn: str, step_ms: int = 0) -> None:
        self.sn = sn
        self.step_ms = step_ms  # 0: every sample kept; >0: downsampled to one per step_ms
        self.ts: list[int] = []
        self._columns: dict[str, tuple[list[int], list[Any]]] = {}
        self._last_index: dict[str, int] = {}
        self._prev: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def full(self) -> bool:
        return len(self.ts) >= CHUNK_SAMPLES

    @property
    def ts_start(self) -> int:
        return self.ts[0]

    @property
    def ts_end(self) -> int:
        return self.ts[-1]

    def add(self, ts: int, values: Mapping[str, Any]) -> None:
        """Append the sample `values` (JSON-serialisable scalars by key) taken at `ts` (ms)."""
        index = len(self.ts)
        self.ts.append(ts)
        prev = self._prev
        for key, value in values.items():
            old = prev.get(key, _ABSENT)
            if old is _ABSENT or old != value or type(old) is not type(value):
                self._record(key, index, value)
        if len(prev) > len(values) or any(k not in values for k in prev):
            for key in prev:
                if key not in values:
                    self._record(key, index, None)
        self._prev = dict(values)

    def _record(self, key: str, index: int, value: Any) -> None:
        column = self._columns.get(key)
        if column is None:
            column = self._columns[key] = ([], [])
        column[0].append(index - self._last_index.get(key, 0))
        column[1].append(value)
        self._last_index[key] = index

    def payload(self) -> bytes:
        """The chunk packed (orjson) but not compressed: cheap, for the caller's thread."""
        ts = self.ts
        deltas = [b - a for a, b in itertools.pairwise(ts)]
        columns = [[key, idx, values] for key, (idx, values) in self._columns.items()]
        return orjson.dumps([ts[0], deltas, columns])


_ABSENT = object()


def encode_chunk(payload: bytes) -> bytes:
    """The stored form of a `ChunkBuilder.payload()`: a version byte, then zlib."""
    return bytes((FORMAT_VERSION,)) + zlib.compress(payload, ZLIB_LEVEL)


def decode_chunk(sn: str, blob: bytes) -> list[Sample]:
    """Every sample of a stored chunk, oldest first.

    Raises:
        ChunkError: unknown format version or damaged bytes.
    """
    if not blob or blob[0] != FORMAT_VERSION:
        raise ChunkError(f"telemetry chunk of {sn}: unknown format {blob[:1]!r}")
    try:
        ts0, deltas, columns = orjson.loads(zlib.decompress(blob[1:]))
    except (zlib.error, orjson.JSONDecodeError, ValueError, TypeError) as exc:
        raise ChunkError(f"telemetry chunk of {sn} is damaged: {exc}") from exc
    times = [ts0]
    for d in deltas:
        times.append(times[-1] + d)
    changes: list[dict[str, Any]] = [{} for _ in times]
    for key, idx, values in columns:
        i = 0
        for step, value in zip(idx, values, strict=True):
            i += step
            changes[i][key] = value
    out: list[Sample] = []
    state: dict[str, Any] = {}
    for ts, change in zip(times, changes, strict=True):
        for key, value in change.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        out.append(Sample(sn, ts, dict(state)))
    return out


# -- the table ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChunkWrite:
    """One chunk to store: replaces the device's chunk starting at the same time, if any."""

    sn: str
    ts_start: int
    ts_end: int
    count: int
    step_ms: int
    payload: bytes  # ChunkBuilder.payload(); compressed on the database thread


def chunk_write(builder: ChunkBuilder) -> ChunkWrite:
    return ChunkWrite(
        builder.sn,
        builder.ts_start,
        builder.ts_end,
        len(builder),
        builder.step_ms,
        builder.payload(),
    )


def write_chunks(db: Database, chunks: list[ChunkWrite]) -> int:
    """Store (or replace) chunks in one transaction; returns the bytes written."""
    rows = [
        (c.sn, c.ts_start, c.ts_end, c.count, c.step_ms, encode_chunk(c.payload)) for c in chunks
    ]
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO telemetry_chunks (sn, ts_start, ts_end, n, step_ms, data) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(sn, ts_start) DO UPDATE SET "
            "ts_end = excluded.ts_end, n = excluded.n, step_ms = excluded.step_ms, "
            "data = excluded.data",
            rows,
        )
    return sum(len(r[5]) for r in rows)


def builders_of(samples: Iterable[Sample]) -> Iterator[ChunkBuilder]:
    """Samples grouped into full chunks per device (in the order given; the last may be short)."""
    open_: dict[str, ChunkBuilder] = {}
    for s in samples:
        builder = open_.get(s.sn)
        if builder is None:
            builder = open_[s.sn] = ChunkBuilder(s.sn)
        builder.add(s.ts, s.data)
        if builder.full:
            yield builder
            del open_[s.sn]
    yield from open_.values()


def insert_samples(db: Database, samples: list[Sample]) -> None:
    """Append a batch of samples (any devices, each device's in time order) as new chunks."""
    write_chunks(db, [chunk_write(b) for b in builders_of(samples)])


def query_samples(
    db: Database, sn: str, since_ms: int, until_ms: int | None = None, limit: int = 100_000
) -> list[Sample]:
    """History of one device between two times (ms), oldest first.

    A damaged chunk is skipped (and reported by `ChunkError` only from `decode_chunk`).
    """
    sql = "SELECT data FROM telemetry_chunks WHERE sn = ? AND ts_end >= ?"
    args: list[Any] = [sn, since_ms]
    if until_ms is not None:
        sql += " AND ts_start <= ?"
        args.append(until_ms)
    sql += " ORDER BY ts_start"
    out: list[Sample] = []
    for (blob,) in db.execute(sql, args):
        try:
            samples = decode_chunk(sn, blob)
        except ChunkError:
            continue
        for s in samples:
            if s.ts >= since_ms and (until_ms is None or s.ts <= until_ms):
                out.append(s)
                if len(out) >= limit:
                    return out
    return out


def count_samples(db: Database, sn: str | None = None) -> int:
    """Stored samples (of one device, or all)."""
    if sn is None:
        row = db.execute("SELECT coalesce(sum(n), 0) FROM telemetry_chunks").fetchone()
    else:
        row = db.execute(
            "SELECT coalesce(sum(n), 0) FROM telemetry_chunks WHERE sn = ?", [sn]
        ).fetchone()
    return int(row[0])


def history_bytes(db: Database) -> int:
    """Bytes the telemetry history takes in the database (chunks and their rows, roughly)."""
    row = db.execute(
        "SELECT coalesce(sum(length(data)), 0), count(*) FROM telemetry_chunks"
    ).fetchone()
    return int(row[0]) + int(row[1]) * ROW_OVERHEAD_BYTES


def prune_samples(db: Database, before_ms: int) -> int:
    """Delete the chunks that end before `before_ms`; returns the samples removed."""
    with db.atomic():
        row = db.execute(
            "SELECT coalesce(sum(n), 0) FROM telemetry_chunks WHERE ts_end < ?", [before_ms]
        ).fetchone()
        db.execute("DELETE FROM telemetry_chunks WHERE ts_end < ?", [before_ms])
    return int(row[0])


@dataclass(frozen=True, slots=True)
class CapResult:
    removed_samples: int = 0
    removed_bytes: int = 0
    oldest_kept_ms: int | None = None  # start of the history left, None if nothing is left


def cap_chunks(db: Database, max_bytes: int, keep_ratio: float = 0.9) -> CapResult:
    """Delete the oldest chunks (any device) while history is over `max_bytes`.

    Deletes down to `keep_ratio * max_bytes`, so a full history is not trimmed every minute.
    Returns what was removed (zeros when under the cap).
    """
    total = history_bytes(db)
    if total <= max_bytes:
        return CapResult()
    excess = total - int(max_bytes * keep_ratio)
    ids: list[int] = []
    freed = removed = 0
    for chunk_id, size, n in db.execute(
        "SELECT id, length(data), n FROM telemetry_chunks ORDER BY ts_end"
    ):
        ids.append(chunk_id)
        freed += size + ROW_OVERHEAD_BYTES
        removed += n
        if freed >= excess:
            break
    with db.atomic():
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            db.execute(
                f"DELETE FROM telemetry_chunks WHERE id IN ({','.join('?' * len(part))})", part
            )
    row = db.execute("SELECT min(ts_start) FROM telemetry_chunks").fetchone()
    return CapResult(removed, freed, row[0])


def downsample_chunks(
    db: Database, before_ms: int, step_ms: int, max_chunks: int = 600
) -> tuple[int, int]:
    """Keep one sample per `step_ms` in full-rate chunks that end before `before_ms`.

    Works on at most `max_chunks` chunks (call again until it returns (0, 0)) so that the
    database thread is not held for long. Each device's downsampled samples go into chunks of
    up to `CHUNK_SAMPLES`; a sample is kept when it is the first of its `step_ms` slot.

    Returns:
        (chunks read, samples removed).
    """
    rows = db.execute(
        "SELECT id, sn, data FROM telemetry_chunks WHERE step_ms = 0 AND ts_end < ? "
        "ORDER BY sn, ts_start LIMIT ?",
        [before_ms, max_chunks],
    ).fetchall()
    if not rows:
        return 0, 0
    kept: dict[str, list[Sample]] = {}
    total = 0
    last_slot: dict[str, int] = {}
    for _, sn, blob in rows:
        try:
            samples = decode_chunk(sn, blob)
        except ChunkError:
            continue
        total += len(samples)
        for s in samples:
            slot = s.ts // step_ms
            if last_slot.get(sn) != slot:
                last_slot[sn] = slot
                kept.setdefault(sn, []).append(s)
    writes: list[ChunkWrite] = []
    for sn, samples in kept.items():
        builder = ChunkBuilder(sn, step_ms)
        for s in samples:
            builder.add(s.ts, s.data)
            if builder.full:
                writes.append(chunk_write(builder))
                builder = ChunkBuilder(sn, step_ms)
        if len(builder):
            writes.append(chunk_write(builder))
    with db.atomic():
        ids = [r[0] for r in rows]
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            db.execute(
                f"DELETE FROM telemetry_chunks WHERE id IN ({','.join('?' * len(part))})", part
            )
        write_chunks(db, writes)
    return len(rows), total - sum(len(v) for v in kept.values())


def migrate_rows(db: Database, batch: int = 20_000) -> int:
    """Move the rows of the old one-row-per-sample `telemetry` table into chunks (migration).

    Returns the samples moved. Inside the migration's transaction, writes are savepoints.
    """
    moved = 0
    open_: dict[str, ChunkBuilder] = {}
    pending: list[ChunkWrite] = []

    def close(builder: ChunkBuilder) -> None:
        pending.append(chunk_write(builder))

    cursor = db.conn.execute("SELECT sn, ts, data FROM telemetry ORDER BY sn, ts")
    while True:
        rows = cursor.fetchmany(batch)
        if not rows:
            break
        for sn, ts, data in rows:
            try:
                values = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(values, dict):
                continue
            builder = open_.get(sn)
            if builder is None:
                builder = open_[sn] = ChunkBuilder(sn)
            builder.add(ts, values)
            moved += 1
            if builder.full:
                close(builder)
                del open_[sn]
        if pending:
            write_chunks(db, pending)
            pending.clear()
    for builder in open_.values():
        close(builder)
    write_chunks(db, pending)
    return moved


# -- the events log ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRow:
    ts: int
    kind: str
    message: str
    sn: str = ""
    level: str = "info"
    data: dict[str, Any] | None = None
    id: int | None = None


def insert_events(db: Database, events: list[EventRow]) -> None:
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO station_events (ts, sn, kind, level, message, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (e.ts, e.sn, e.kind, e.level, e.message, orjson.dumps(e.data or {}).decode())
                for e in events
            ],
        )


def recent_events(db: Database, limit: int = 500, sn: str | None = None) -> list[EventRow]:
    sql = "SELECT * FROM station_events"
    args: list[Any] = []
    if sn:
        sql += " WHERE sn = ?"
        args.append(sn)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    rows = [
        EventRow(
            ts=r["ts"],
            kind=r["kind"],
            message=r["message"],
            sn=r["sn"],
            level=r["level"],
            data=orjson.loads(r["data"]),
            id=r["id"],
        )
        for r in db.query(sql, args)
    ]
    rows.reverse()
    return rows
