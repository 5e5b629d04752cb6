"""Tables `map_groups`, `map_elements`, `flight_areas`, `flight_area_sync`: the shared map.

Every workspace has three groups with a fixed role (created on first use, never deleted):
`shared` (type 2, where Pilot writes; §8.2 wants exactly one), `default` (type 1) and
`flight_areas` (type 0, the custom flight areas of docks). Elements keep their GeoJSON `content`
as JSON text, exactly as checked by the station.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database


class MapNotFound(LookupError):
    """No such group, element or flight area (in that workspace)."""


class MapConflict(ValueError):
    """An id that is already taken."""


#: role → (type, name) of the groups every workspace has (names as DJI's backend seeds them).
ROLES: dict[str, tuple[int, str]] = {
    "shared": (2, "Pilot Share Layer"),
    "default": (1, "Default Layer"),
    "flight_areas": (0, "Custom Flight Area"),
}


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: str
    workspace_id: str
    name: str
    type: int
    role: str
    is_lock: bool
    create_time: int


@dataclass(frozen=True, slots=True)
class ElementRow:
    id: str
    group_id: str
    workspace_id: str
    name: str
    type: int
    user_name: str
    content: dict[str, Any]
    create_time: int
    update_time: int


@dataclass(frozen=True, slots=True)
class AreaRow:
    element_id: str
    area_type: str  # "nfz" (no-fly) or "dfence" (stay inside)
    enabled: bool
    radius: float  # > 0: a circle around the element's point


@dataclass(frozen=True, slots=True)
class SyncRow:
    sn: str
    workspace_id: str
    status: str
    reason: int
    file_name: str
    checksum: str
    updated_at: int


def _group(r: dict[str, Any]) -> GroupRow:
    return GroupRow(
        r["id"],
        r["workspace_id"],
        r["name"],
        r["type"],
        r["role"],
        bool(r["is_lock"]),
        r["create_time"],
    )


def _element(r: dict[str, Any]) -> ElementRow:
    return ElementRow(
        r["id"],
        r["group_id"],
        r["workspace_id"],
        r["name"],
        r["type"],
        r["user_name"],
        json.loads(r["content"]),
        r["create_time"],
        r["update_time"],
    )


def ensure_groups(db: Database, workspace_id: str, now: int) -> list[GroupRow]:
    """The workspace's groups, creating the three fixed ones if missing (oldest first)."""
    with db.atomic():
        have = {
            r["role"]
            for r in db.query("SELECT role FROM map_groups WHERE workspace_id = ?", [workspace_id])
        }
        for role, (kind, name) in ROLES.items():
            if role not in have:
                db.conn.execute(
                    "INSERT INTO map_groups (id, workspace_id, name, type, role, is_lock, "
                    "create_time) VALUES (?, ?, ?, ?, ?, 0, ?)",
                    (str(uuid.uuid4()), workspace_id, name, kind, role, now),
                )
    return [
        _group(r)
        for r in db.query(
            "SELECT * FROM map_groups WHERE workspace_id = ? ORDER BY create_time, rowid",
            [workspace_id],
        )
    ]


def group_by_role(db: Database, workspace_id: str, role: str, now: int) -> GroupRow:
    for g in ensure_groups(db, workspace_id, now):
        if g.role == role:
            return g
    raise MapNotFound(f"workspace {workspace_id} has no {role} group")


def get_group(db: Database, workspace_id: str, group_id: str) -> GroupRow:
    rows = list(
        db.query(
            "SELECT * FROM map_groups WHERE id = ? AND workspace_id = ?", [group_id, workspace_id]
        )
    )
    if not rows:
        raise MapNotFound(f"there is no group {group_id} in this workspace")
    return _group(rows[0])


def create_group(db: Database, group: GroupRow) -> GroupRow:
    try:
        with db.atomic():
            db.conn.execute(
                "INSERT INTO map_groups (id, workspace_id, name, type, role, is_lock, create_time)"
                " VALUES (?, ?, ?, ?, '', ?, ?)",
                (
                    group.id,
                    group.workspace_id,
                    group.name,
                    group.type,
                    int(group.is_lock),
                    group.create_time,
                ),
            )
    except sqlite3.IntegrityError as exc:
        raise MapConflict(f"a group with id {group.id} already exists") from exc
    return replace(group, role="")


def set_group_lock(db: Database, workspace_id: str, group_id: str, locked: bool) -> GroupRow:
    get_group(db, workspace_id, group_id)
    with db.atomic():
        db.conn.execute("UPDATE map_groups SET is_lock = ? WHERE id = ?", (int(locked), group_id))
    return get_group(db, workspace_id, group_id)


def elements_of(db: Database, group_ids: list[str]) -> dict[str, list[ElementRow]]:
    out: dict[str, list[ElementRow]] = {g: [] for g in group_ids}
    if not group_ids:
        return out
    marks = ",".join("?" * len(group_ids))
    for r in db.query(
        f"SELECT * FROM map_elements WHERE group_id IN ({marks}) ORDER BY create_time, rowid",
        group_ids,
    ):
        out[r["group_id"]].append(_element(r))
    return out


def get_element(db: Database, workspace_id: str, element_id: str) -> ElementRow:
    rows = list(
        db.query(
            "SELECT * FROM map_elements WHERE id = ? AND workspace_id = ?",
            [element_id, workspace_id],
        )
    )
    if not rows:
        raise MapNotFound(f"there is no map element {element_id} in this workspace")
    return _element(rows[0])


def _insert(db: Database, e: ElementRow) -> None:
    db.conn.execute(
        "INSERT INTO map_elements (id, group_id, workspace_id, name, type, user_name, content, "
        "create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            e.id,
            e.group_id,
            e.workspace_id,
            e.name,
            e.type,
            e.user_name,
            json.dumps(e.content, separators=(",", ":")),
            e.create_time,
            e.update_time,
        ),
    )


def insert_elements(
    db: Database, rows: list[ElementRow], areas: list[AreaRow] | None = None
) -> None:
    """Insert elements (and their flight-area rows) in one transaction: all or nothing.

    Raises:
        MapConflict: an id is already used (nothing is inserted).
    """
    try:
        with db.atomic():
            for e in rows:
                _insert(db, e)
            for a in areas or ():
                db.conn.execute(
                    "INSERT INTO flight_areas (element_id, area_type, enabled, radius) "
                    "VALUES (?, ?, ?, ?)",
                    (a.element_id, a.area_type, int(a.enabled), a.radius),
                )
    except sqlite3.IntegrityError as exc:
        ids = ", ".join(e.id for e in rows[:3])
        raise MapConflict(f"an element with id {ids} already exists") from exc


def update_element(
    db: Database,
    workspace_id: str,
    element_id: str,
    name: str | None,
    content: dict[str, Any] | None,
    now: int,
) -> ElementRow:
    old = get_element(db, workspace_id, element_id)
    new = replace(
        old,
        name=old.name if name is None else name,
        content=old.content if content is None else content,
        update_time=now,
    )
    with db.atomic():
        db.conn.execute(
            "UPDATE map_elements SET name = ?, content = ?, update_time = ? WHERE id = ?",
            (new.name, json.dumps(new.content, separators=(",", ":")), now, element_id),
        )
    return new


def delete_element(db: Database, workspace_id: str, element_id: str) -> ElementRow:
    old = get_element(db, workspace_id, element_id)
    with db.atomic():
        db.conn.execute("DELETE FROM map_elements WHERE id = ?", (element_id,))
    return old


def delete_group_elements(db: Database, workspace_id: str, group_id: str) -> list[str]:
    get_group(db, workspace_id, group_id)
    with db.atomic():
        ids = [
            r["id"] for r in db.query("SELECT id FROM map_elements WHERE group_id = ?", [group_id])
        ]
        db.conn.execute("DELETE FROM map_elements WHERE group_id = ?", (group_id,))
    return ids


# -- custom flight areas -------------------------------------------------------------------


def _area(r: dict[str, Any]) -> AreaRow:
    return AreaRow(r["element_id"], r["area_type"], bool(r["enabled"]), float(r["radius"]))


def list_areas(db: Database, workspace_id: str) -> list[tuple[ElementRow, AreaRow]]:
    out = []
    for r in db.query(
        "SELECT e.*, a.element_id, a.area_type, a.enabled, a.radius FROM map_elements e "
        "JOIN flight_areas a ON a.element_id = e.id WHERE e.workspace_id = ? "
        "ORDER BY e.create_time, e.rowid",
        [workspace_id],
    ):
        out.append((_element(r), _area(r)))
    return out


def get_area(db: Database, workspace_id: str, area_id: str) -> tuple[ElementRow, AreaRow]:
    element = get_element(db, workspace_id, area_id)
    rows = list(db.query("SELECT * FROM flight_areas WHERE element_id = ?", [area_id]))
    if not rows:
        raise MapNotFound(f"{area_id} is a map element, not a custom flight area")
    return element, _area(rows[0])


def update_area(
    db: Database, workspace_id: str, area_id: str, enabled: bool | None, radius: float | None
) -> AreaRow:
    _, old = get_area(db, workspace_id, area_id)
    new = replace(
        old,
        enabled=old.enabled if enabled is None else enabled,
        radius=old.radius if radius is None else radius,
    )
    with db.atomic():
        db.conn.execute(
            "UPDATE flight_areas SET enabled = ?, radius = ? WHERE element_id = ?",
            (int(new.enabled), new.radius, area_id),
        )
    return new


def save_sync(db: Database, row: SyncRow) -> None:
    with db.atomic():
        db.conn.execute(
            "INSERT OR REPLACE INTO flight_area_sync (sn, workspace_id, status, reason, "
            "file_name, checksum, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                row.sn,
                row.workspace_id,
                row.status,
                row.reason,
                row.file_name,
                row.checksum,
                row.updated_at,
            ),
        )


def list_sync(db: Database) -> list[SyncRow]:
    return [
        SyncRow(
            r["sn"],
            r["workspace_id"],
            r["status"],
            r["reason"],
            r["file_name"],
            r["checksum"],
            r["updated_at"],
        )
        for r in db.query("SELECT * FROM flight_area_sync ORDER BY sn")
    ]
