"""Table `media_files`: the media library, one row per reported file (keyed by object key)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class MediaRow:
    id: int  # 0 before insertion
    workspace_id: str
    object_key: str
    name: str
    source: str  # "dock" | "pilot" | "sim"
    received_at: int
    updated_at: int
    path: str = ""
    size: int | None = None
    fingerprint: str = ""
    tiny_fingerprint: str = ""
    device_sn: str = ""
    drone_model_key: str = ""
    payload_model_key: str = ""
    lens: str = ""
    kind: str = "other"  # photo | video | srt | other
    flight_id: str = ""
    file_group_id: str = ""
    is_original: bool = True
    sub_file_type: int = 0
    create_time: int | None = None
    lat: float | None = None
    lng: float | None = None
    absolute_altitude: float | None = None
    relative_altitude: float | None = None
    gimbal_yaw: float | None = None
    gimbal_pitch: float | None = None
    aircraft_yaw: float | None = None
    aircraft_pitch: float | None = None
    camera_model: str = ""
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None  # videos
    codec: str = ""  # videos: h264, hevc, ...
    thumbnail_key: str = ""
    track: str = ""  # JSON [[t_ms, lat, lng, abs_alt], ...] from a .SRT beside a video
    status: str = "ok"  # ok | missing | bad
    note: str = ""
    tid: str = ""
    bid: str = ""


_NAMES = tuple(f.name for f in fields(MediaRow))
_COLUMNS = ", ".join(_NAMES)


def _row(r: dict[str, Any]) -> MediaRow:
    values = dict(r)
    values["is_original"] = bool(values["is_original"])
    return MediaRow(**values)


def _values(row: MediaRow) -> dict[str, Any]:
    out = {n: getattr(row, n) for n in _NAMES if n != "id"}
    out["is_original"] = int(row.is_original)
    return out


def insert(db: Database, row: MediaRow) -> tuple[MediaRow, bool]:
    """Insert `row` unless its object key (or its callback's tid+bid from the same device) is
    already catalogued; returns (the stored row, whether it is new). Committed on return."""
    with db.atomic():
        found = get_by_key(db, row.object_key)
        if found is None and row.tid and row.bid:
            r = next(
                db.query(
                    f"SELECT {_COLUMNS} FROM media_files "
                    "WHERE device_sn = ? AND tid = ? AND bid = ?",
                    [row.device_sn, row.tid, row.bid],
                ),
                None,
            )
            found = _row(r) if r is not None else None
        if found is not None:
            return found, False
        values = _values(row)
        names = ", ".join(values)
        marks = ", ".join("?" * len(values))
        cur = db.conn.execute(
            f"INSERT INTO media_files ({names}) VALUES ({marks})", list(values.values())
        )
        new_id = int(cur.lastrowid or 0)
    stored = get(db, new_id)
    assert stored is not None
    return stored, True


def update(db: Database, media_id: int, changes: dict[str, Any]) -> MediaRow | None:
    """Set `changes` (column → value) on one row; returns the row after the change."""
    bad = set(changes) - set(_NAMES) - {"id"}
    if bad or "id" in changes:
        raise ValueError(f"not media columns: {sorted(bad)}")
    if changes:
        values = {k: int(v) if k == "is_original" else v for k, v in changes.items()}
        sets = ", ".join(f"{k} = ?" for k in values)
        with db.atomic():
            db.conn.execute(
                f"UPDATE media_files SET {sets} WHERE id = ?", [*values.values(), media_id]
            )
    return get(db, media_id)


def get(db: Database, media_id: int) -> MediaRow | None:
    r = next(db.query(f"SELECT {_COLUMNS} FROM media_files WHERE id = ?", [media_id]), None)
    return _row(r) if r is not None else None


def get_by_key(db: Database, object_key: str) -> MediaRow | None:
    r = next(
        db.query(f"SELECT {_COLUMNS} FROM media_files WHERE object_key = ?", [object_key]), None
    )
    return _row(r) if r is not None else None


def delete(db: Database, media_id: int) -> MediaRow | None:
    """Remove a row; returns what it was (None if there was none)."""
    with db.atomic():
        row = get(db, media_id)
        if row is not None:
            db.conn.execute("DELETE FROM media_files WHERE id = ?", [media_id])
    return row


def has_fingerprint(db: Database, workspace_id: str, fingerprint: str) -> bool:
    """Whether the workspace holds a stored (status ok) file with this MD5."""
    r = db.execute(
        "SELECT 1 FROM media_files WHERE workspace_id = ? AND fingerprint = ? AND status = 'ok' "
        "LIMIT 1",
        [workspace_id, fingerprint.lower()],
    ).fetchone()
    return r is not None


def known_tiny(db: Database, workspace_id: str, tiny: list[str]) -> list[str]:
    """Those of `tiny` that the workspace holds (in the order asked)."""
    if not tiny:
        return []
    have: set[str] = set()
    for start in range(0, len(tiny), 500):
        chunk = tiny[start : start + 500]
        marks = ",".join("?" * len(chunk))
        have.update(
            r[0]
            for r in db.execute(
                "SELECT tiny_fingerprint FROM media_files WHERE workspace_id = ? "
                f"AND status = 'ok' AND tiny_fingerprint IN ({marks})",
                [workspace_id, *chunk],
            )
        )
    return [t for t in tiny if t in have]


def count_flight(db: Database, flight_id: str) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM media_files WHERE flight_id = ? AND status = 'ok'", [flight_id]
        ).fetchone()[0]
    )


@dataclass(frozen=True, slots=True)
class MediaQuery:
    workspace_id: str | None = None
    device_sns: tuple[str, ...] = ()
    flight_id: str = ""
    since_ms: int | None = None
    until_ms: int | None = None
    kind: str = ""
    lens: str = ""
    name: str = ""
    status: str = ""
    offset: int = 0
    limit: int = 100
    #: DJI's `order_by` form (as the wayline list, protocol §8.2 #11): comma-joined
    #: "<column> asc|desc", column one of `ORDER_COLUMNS`; newest first by default.
    order_by: str = "create_time desc"


#: Sortable columns of a listing (wire name → SQL); capture time falls back to reception.
ORDER_COLUMNS = {
    "create_time": "coalesce(create_time, received_at)",
    "name": "name COLLATE NOCASE",
    "size": "coalesce(size, -1)",
    "device_sn": "device_sn",
    "update_time": "updated_at",
}


def order_clause(order_by: str) -> str:
    """SQL ORDER BY terms for DJI-style `order_by` (ties broken by id, in the last term's
    direction, so paging is stable).

    Raises:
        ValueError: an unknown column or direction (the message names them).
    """
    terms: list[str] = []
    direction = "DESC"
    for part in (p.strip() for p in (order_by or "create_time desc").split(",")):
        if not part:
            continue
        words = part.split()
        column = words[0].lower()
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if column not in ORDER_COLUMNS or direction not in ("ASC", "DESC") or len(words) > 2:
            raise ValueError(
                f"cannot sort by {part!r}: use one of {', '.join(ORDER_COLUMNS)} "
                "followed by asc or desc"
            )
        terms.append(f"{ORDER_COLUMNS[column]} {direction}")
    if not terms:
        terms.append(f"{ORDER_COLUMNS['create_time']} DESC")
        direction = "DESC"
    return ", ".join([*terms, f"id {direction}"])


def query(db: Database, q: MediaQuery) -> tuple[list[MediaRow], int]:
    """(rows in `q.order_by` order, total matching) of a filtered, paged listing.

    Raises:
        ValueError: `q.order_by` names an unknown column or direction.
    """
    order = order_clause(q.order_by)
    where: list[str] = []
    args: list[Any] = []
    if q.workspace_id is not None:
        where.append("workspace_id = ?")
        args.append(q.workspace_id)
    if q.device_sns:
        where.append(f"device_sn IN ({','.join('?' * len(q.device_sns))})")
        args.extend(q.device_sns)
    for column, value in (("flight_id", q.flight_id), ("kind", q.kind), ("lens", q.lens)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if q.status:
        where.append("status = ?")
        args.append(q.status)
    if q.name:
        where.append("name LIKE ?")
        args.append(f"%{q.name}%")
    if q.since_ms is not None:
        where.append("coalesce(create_time, received_at) >= ?")
        args.append(q.since_ms)
    if q.until_ms is not None:
        where.append("coalesce(create_time, received_at) <= ?")
        args.append(q.until_ms)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = int(db.execute(f"SELECT count(*) FROM media_files{clause}", args).fetchone()[0])
    rows = [
        _row(r)
        for r in db.query(
            f"SELECT {_COLUMNS} FROM media_files{clause} ORDER BY {order} LIMIT ? OFFSET ?",
            [*args, q.limit, q.offset],
        )
    ]
    return rows, total
