"""Table `hms_alarms`: every HMS alarm a device raised, when it cleared, and whether it was read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class AlarmRow:
    id: int  # 0 before insertion
    source_sn: str  # the topic whose reports carry it (their complete-set scope)
    sn: str  # the device that has the alarm (dock or aircraft)
    gateway_sn: str
    key: str
    code: str
    level: int
    module: int
    in_the_sky: bool
    imminent: bool
    component_index: int
    sensor_index: int
    text_en: str
    text_zh: str
    tid: str
    bid: str
    raised_at: int
    cleared_at: int | None = None
    read_at: int | None = None

    @property
    def identity(self) -> tuple[str, int, int]:
        return (self.key, self.component_index, self.sensor_index)


_COLUMNS = (
    "id, source_sn, sn, gateway_sn, key, code, level, module, in_the_sky, imminent, "
    "component_index, sensor_index, text_en, text_zh, tid, bid, raised_at, cleared_at, read_at"
)


def _row(r: dict[str, Any]) -> AlarmRow:
    return AlarmRow(
        id=r["id"],
        source_sn=r["source_sn"],
        sn=r["sn"],
        gateway_sn=r["gateway_sn"],
        key=r["key"],
        code=r["code"],
        level=r["level"],
        module=r["module"],
        in_the_sky=bool(r["in_the_sky"]),
        imminent=bool(r["imminent"]),
        component_index=r["component_index"],
        sensor_index=r["sensor_index"],
        text_en=r["text_en"],
        text_zh=r["text_zh"],
        tid=r["tid"],
        bid=r["bid"],
        raised_at=r["raised_at"],
        cleared_at=r["cleared_at"],
        read_at=r["read_at"],
    )


def apply_report(
    db: Database, raised: list[AlarmRow], cleared_ids: list[int], cleared_at: int
) -> list[int]:
    """Insert the raised alarms and close the cleared ones in one transaction; returns the ids
    given to the raised rows, in order."""
    ids = []
    with db.atomic():
        for a in raised:
            cur = db.conn.execute(
                "INSERT INTO hms_alarms (source_sn, sn, gateway_sn, key, code, level, module, "
                "in_the_sky, imminent, component_index, sensor_index, text_en, text_zh, tid, bid, "
                "raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a.source_sn,
                    a.sn,
                    a.gateway_sn,
                    a.key,
                    a.code,
                    a.level,
                    a.module,
                    int(a.in_the_sky),
                    int(a.imminent),
                    a.component_index,
                    a.sensor_index,
                    a.text_en,
                    a.text_zh,
                    a.tid,
                    a.bid,
                    a.raised_at,
                ),
            )
            ids.append(int(cur.lastrowid or 0))
        if cleared_ids:
            db.conn.executemany(
                "UPDATE hms_alarms SET cleared_at = ? WHERE id = ?",
                [(cleared_at, i) for i in cleared_ids],
            )
    return ids


def active_alarms(db: Database) -> list[AlarmRow]:
    return [
        _row(r)
        for r in db.query(f"SELECT {_COLUMNS} FROM hms_alarms WHERE cleared_at IS NULL ORDER BY id")
    ]


def mark_read(db: Database, sns: list[str] | None, at: int) -> int:
    """Mark the unread alarms of `sns` (every device when None) as read; returns how many."""
    with db.atomic():
        if sns is None:
            cur = db.conn.execute("UPDATE hms_alarms SET read_at = ? WHERE read_at IS NULL", (at,))
        else:
            marks = ",".join("?" * len(sns))
            cur = db.conn.execute(
                f"UPDATE hms_alarms SET read_at = ? WHERE read_at IS NULL AND sn IN ({marks})",
                (at, *sns),
            )
    return int(cur.rowcount)


@dataclass(frozen=True, slots=True)
class AlarmQuery:
    sns: tuple[str, ...] = ()
    level: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    text: str = ""
    unread_only: bool = False
    active_only: bool = False
    offset: int = 0
    limit: int = 100


def query_alarms(db: Database, q: AlarmQuery) -> tuple[list[AlarmRow], int]:
    """(rows newest first, total matching) for a filtered, paged history."""
    where: list[str] = []
    args: list[Any] = []
    if q.sns:
        where.append(f"sn IN ({','.join('?' * len(q.sns))})")
        args.extend(q.sns)
    if q.level is not None:
        where.append("level = ?")
        args.append(q.level)
    if q.since_ms is not None:
        where.append("raised_at >= ?")
        args.append(q.since_ms)
    if q.until_ms is not None:
        where.append("raised_at <= ?")
        args.append(q.until_ms)
    if q.text:
        where.append("(text_en LIKE ? OR text_zh LIKE ? OR key LIKE ?)")
        like = f"%{q.text}%"
        args.extend([like, like, like])
    if q.unread_only:
        where.append("read_at IS NULL")
    if q.active_only:
        where.append("cleared_at IS NULL")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = int(db.execute(f"SELECT count(*) FROM hms_alarms{clause}", args).fetchone()[0])
    rows = [
        _row(r)
        for r in db.query(
            f"SELECT {_COLUMNS} FROM hms_alarms{clause} ORDER BY raised_at DESC, id DESC "
            "LIMIT ? OFFSET ?",
            [*args, q.limit, q.offset],
        )
    ]
    return rows, total


def unread_counts(db: Database) -> dict[str, int]:
    """Unread alarms per device."""
    return {
        r["sn"]: r["n"]
        for r in db.query(
            "SELECT sn, count(*) AS n FROM hms_alarms WHERE read_at IS NULL GROUP BY sn"
        )
    }
