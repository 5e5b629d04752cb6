"""Tables `workspaces` and `devices`: queries used by the station's device registry.

Every function takes the `Database` first so it can run through `Store.call`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database


class NotFound(LookupError):
    """No row with that key; `what` names the table and key."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not found: {what}")
        self.what = what


@dataclass
class WorkspaceRow:
    id: str
    name: str
    description: str
    platform_name: str
    bind_code: str
    created_at: int


@dataclass
class DeviceRow:
    sn: str
    model_key: str
    domain: int
    first_seen: int
    last_seen: int
    callsign: str = ""
    workspace_id: str | None = None
    bound: bool = False
    bound_at: int | None = None
    parent_sn: str | None = None
    thing_version: str = ""
    firmware_version: str = ""
    control_index: str = ""
    icon_normal: str = ""
    icon_selected: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        row = {k: v for k, v in self.__dict__.items() if k != "extra"}
        row["bound"] = int(self.bound)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeviceRow:
        values = dict(row)
        values["bound"] = bool(values.get("bound"))
        return cls(**values)


def upsert_workspace(db: Database, ws: WorkspaceRow) -> None:
    db.execute(
        """INSERT INTO workspaces (id, name, description, platform_name, bind_code, created_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET name=excluded.name, description=excluded.description,
             platform_name=excluded.platform_name, bind_code=excluded.bind_code""",
        [ws.id, ws.name, ws.description, ws.platform_name, ws.bind_code, ws.created_at],
    )


def list_workspaces(db: Database) -> list[WorkspaceRow]:
    return [WorkspaceRow(**r) for r in db.query("SELECT * FROM workspaces ORDER BY created_at")]


def workspace_by_bind_code(db: Database, code: str) -> WorkspaceRow | None:
    for r in db.query("SELECT * FROM workspaces WHERE bind_code = ?", [code]):
        return WorkspaceRow(**r)
    return None


def get_workspace(db: Database, workspace_id: str) -> WorkspaceRow:
    for r in db.query("SELECT * FROM workspaces WHERE id = ?", [workspace_id]):
        return WorkspaceRow(**r)
    raise NotFound(f"workspace {workspace_id}")


def list_devices(db: Database) -> list[DeviceRow]:
    return [DeviceRow.from_row(r) for r in db.query("SELECT * FROM devices ORDER BY sn")]


def get_device(db: Database, sn: str) -> DeviceRow:
    for r in db.query("SELECT * FROM devices WHERE sn = ?", [sn]):
        return DeviceRow.from_row(r)
    raise NotFound(f"device {sn}")


def save_device(db: Database, dev: DeviceRow) -> None:
    """Insert or replace one device row (committed before returning)."""
    row = dev.to_row()
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    updates = ", ".join(f"{c}=excluded.{c}" for c in row if c != "sn")
    db.execute(
        f"INSERT INTO devices ({cols}) VALUES ({marks}) ON CONFLICT(sn) DO UPDATE SET {updates}",
        list(row.values()),
    )


def save_devices(db: Database, devs: list[DeviceRow]) -> None:
    """Save several rows in one transaction."""
    with db.atomic():
        for dev in devs:
            save_device(db, dev)


def touch_devices(db: Database, last_seen: dict[str, int]) -> None:
    """Update `last_seen` of many devices at once (batched by the telemetry writer)."""
    with db.atomic():
        db.conn.executemany(
            "UPDATE devices SET last_seen = ? WHERE sn = ?",
            [(ts, sn) for sn, ts in last_seen.items()],
        )
