"""Table `waylines`: the wayline library (the KMZ bytes live in the object store)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlite_utils import Database


class WaylineNotFound(LookupError):
    """No wayline with that id in that workspace."""


class DuplicateName(ValueError):
    """Another wayline of the workspace already has that name."""


@dataclass(frozen=True, slots=True)
class WaylineRow:
    id: str
    workspace_id: str
    name: str
    drone_model_key: str
    payload_model_keys: tuple[str, ...]
    template_types: tuple[int, ...]
    fingerprint: str  # MD5 hex of the whole KMZ
    object_key: str
    size: int
    start_latitude: float | None
    start_longitude: float | None
    length_m: float
    duration_s: float
    author: str
    favorited: bool
    action_type: int
    summary: dict[str, Any]
    created_at: int  # ms
    updated_at: int  # ms


_COLUMNS = (
    "id, workspace_id, name, drone_model_key, payload_model_keys, template_types, fingerprint, "
    "object_key, size, start_latitude, start_longitude, length_m, duration_s, author, favorited, "
    "action_type, summary, created_at, updated_at"
)

#: Columns a listing may be ordered by (Pilot's `order_by`).
ORDER_COLUMNS = frozenset({"name", "update_time", "create_time"})
_ORDER_SQL = {"name": "name", "update_time": "updated_at", "create_time": "created_at"}


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


def _row(r: Sequence[Any]) -> WaylineRow:
    return WaylineRow(
        id=r[0],
        workspace_id=r[1],
        name=r[2],
        drone_model_key=r[3],
        payload_model_keys=tuple(orjson.loads(r[4])),
        template_types=tuple(orjson.loads(r[5])),
        fingerprint=r[6],
        object_key=r[7],
        size=r[8],
        start_latitude=r[9],
        start_longitude=r[10],
        length_m=r[11],
        duration_s=r[12],
        author=r[13],
        favorited=bool(r[14]),
        action_type=r[15],
        summary=orjson.loads(r[16]),
        created_at=r[17],
        updated_at=r[18],
    )


def insert_wayline(db: Database, row: WaylineRow) -> None:
    """Add a wayline (committed). Raises DuplicateName if its name is taken in the workspace."""
    try:
        with db.atomic():
            db.conn.execute(
                f"INSERT INTO waylines ({_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.id,
                    row.workspace_id,
                    row.name,
                    row.drone_model_key,
                    _dump(list(row.payload_model_keys)),
                    _dump(list(row.template_types)),
                    row.fingerprint,
                    row.object_key,
                    row.size,
                    row.start_latitude,
                    row.start_longitude,
                    row.length_m,
                    row.duration_s,
                    row.author,
                    int(row.favorited),
                    row.action_type,
                    _dump(row.summary),
                    row.created_at,
                    row.updated_at,
                ),
            )
    except sqlite3.IntegrityError as exc:
        raise DuplicateName(row.name) from exc


def get_wayline(db: Database, workspace_id: str, wayline_id: str) -> WaylineRow:
    """Raises WaylineNotFound."""
    cur = db.conn.execute(
        f"SELECT {_COLUMNS} FROM waylines WHERE workspace_id = ? AND id = ?",
        (workspace_id, wayline_id),
    )
    r = cur.fetchone()
    if r is None:
        raise WaylineNotFound(wayline_id)
    return _row(r)


@dataclass(frozen=True, slots=True)
class WaylineQuery:
    """Pilot's listing parameters (§8.2 #11)."""

    order_by: tuple[tuple[str, bool], ...] = (("update_time", True),)  # (column, descending)
    page: int = 1
    page_size: int = 10
    favorited: bool | None = None
    template_types: tuple[int, ...] = ()
    action_type: int | None = None
    drone_model_keys: tuple[str, ...] = ()
    payload_model_keys: tuple[str, ...] = ()
    key: str = ""


def list_waylines(
    db: Database, workspace_id: str, query: WaylineQuery
) -> tuple[list[WaylineRow], int]:
    """One page of the workspace's waylines and the total that match."""
    where = ["workspace_id = ?"]
    args: list[Any] = [workspace_id]
    if query.favorited is not None:
        where.append("favorited = ?")
        args.append(int(query.favorited))
    if query.action_type is not None:
        where.append("action_type = ?")
        args.append(query.action_type)
    if query.drone_model_keys:
        where.append(f"drone_model_key IN ({', '.join('?' * len(query.drone_model_keys))})")
        args.extend(query.drone_model_keys)
    if query.key:
        where.append("instr(lower(name), lower(?)) > 0")
        args.append(query.key)
    order = ", ".join(
        f"{_ORDER_SQL[col]} {'DESC' if desc else 'ASC'}" for col, desc in query.order_by
    )
    cur = db.conn.execute(
        f"SELECT {_COLUMNS} FROM waylines WHERE {' AND '.join(where)} "
        f"ORDER BY {order or 'updated_at DESC'}, id",
        args,
    )
    rows = [_row(r) for r in cur.fetchall()]
    if query.template_types:
        wanted = set(query.template_types)
        rows = [r for r in rows if wanted.intersection(r.template_types)]
    if query.payload_model_keys:
        payloads = set(query.payload_model_keys)
        rows = [r for r in rows if payloads.intersection(r.payload_model_keys)]
    start = (query.page - 1) * query.page_size
    return rows[start : start + query.page_size], len(rows)


def existing_names(db: Database, workspace_id: str, names: Sequence[str]) -> list[str]:
    """Those of `names` a wayline of the workspace already has, in the order asked."""
    if not names:
        return []
    cur = db.conn.execute(
        f"SELECT name FROM waylines WHERE workspace_id = ? AND name IN "
        f"({', '.join('?' * len(names))})",
        (workspace_id, *names),
    )
    taken = {r[0] for r in cur.fetchall()}
    return [n for n in names if n in taken]


def rename_wayline(
    db: Database, workspace_id: str, wayline_id: str, name: str, now_ms: int
) -> WaylineRow:
    """Raises WaylineNotFound or DuplicateName."""
    row = get_wayline(db, workspace_id, wayline_id)
    try:
        with db.atomic():
            db.conn.execute(
                "UPDATE waylines SET name = ?, updated_at = ? WHERE id = ?",
                (name, now_ms, wayline_id),
            )
    except sqlite3.IntegrityError as exc:
        raise DuplicateName(name) from exc
    return replace(row, name=name, updated_at=now_ms)


def delete_wayline(db: Database, workspace_id: str, wayline_id: str) -> WaylineRow:
    """Remove the row; returns it (its object is the caller's to delete). Raises not found."""
    row = get_wayline(db, workspace_id, wayline_id)
    with db.atomic():
        db.conn.execute("DELETE FROM waylines WHERE id = ?", (wayline_id,))
    return row


def set_favorited(db: Database, workspace_id: str, ids: Sequence[str], value: bool) -> int:
    """Star or unstar waylines; returns how many rows changed. Unknown ids are ignored."""
    if not ids:
        return 0
    with db.atomic():
        cur = db.conn.execute(
            f"UPDATE waylines SET favorited = ? WHERE workspace_id = ? AND id IN "
            f"({', '.join('?' * len(ids))})",
            (int(value), workspace_id, *ids),
        )
    return cur.rowcount


def tasks_using(db: Database, wayline_id: str, statuses: Sequence[str]) -> list[str]:
    """Ids of flight tasks with one of `statuses` that fly this wayline (and active plans)."""
    cur = db.conn.execute(
        f"SELECT id FROM flight_tasks WHERE wayline_id = ? AND status IN "
        f"({', '.join('?' * len(statuses))})",
        (wayline_id, *statuses),
    )
    ids = [r[0] for r in cur.fetchall()]
    cur = db.conn.execute(
        "SELECT id FROM flight_plans WHERE wayline_id = ? AND active = 1", (wayline_id,)
    )
    return ids + [r[0] for r in cur.fetchall()]
