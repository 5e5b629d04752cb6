"""Tables `telemetry` (device property history) and `station_events` (the events log)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class Sample:
    sn: str
    ts: int  # ms
    data: dict[str, Any]


def insert_samples(db: Database, samples: list[Sample]) -> None:
    """Append a batch of history rows in one transaction."""
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO telemetry (sn, ts, data) VALUES (?, ?, ?)",
            [(s.sn, s.ts, orjson.dumps(s.data).decode()) for s in samples],
        )


def query_samples(
    db: Database, sn: str, since_ms: int, until_ms: int | None = None, limit: int = 100_000
) -> list[Sample]:
    """History of one device between two times (ms), oldest first."""
    sql = "SELECT sn, ts, data FROM telemetry WHERE sn = ? AND ts >= ?"
    args: list[Any] = [sn, since_ms]
    if until_ms is not None:
        sql += " AND ts <= ?"
        args.append(until_ms)
    sql += " ORDER BY ts LIMIT ?"
    args.append(limit)
    return [Sample(r["sn"], r["ts"], orjson.loads(r["data"])) for r in db.query(sql, args)]


def count_samples(db: Database, sn: str | None = None) -> int:
    if sn is None:
        rows = db.execute("SELECT count(*) FROM telemetry").fetchone()
    else:
        rows = db.execute("SELECT count(*) FROM telemetry WHERE sn = ?", [sn]).fetchone()
    return int(rows[0])


def prune_samples(db: Database, before_ms: int) -> int:
    """Delete history older than `before_ms`; returns the number of rows removed."""
    cur = db.execute("DELETE FROM telemetry WHERE ts < ?", [before_ms])
    return int(cur.rowcount)


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
