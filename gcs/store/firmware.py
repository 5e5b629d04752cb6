"""Tables `firmwares` (the firmware library) and `device_logs` (remote log uploads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class FirmwareRow:
    """One imported firmware package (its bytes are in the object store at `object_key`)."""

    id: str
    file_name: str
    object_key: str
    version: str
    models: tuple[str, ...]  # device model keys, e.g. ("3-2-0",)
    release_note: str
    md5: str
    size: int
    enabled: bool
    imported_at: int  # ms
    imported_by: str


_FW_COLUMNS = (
    "id, file_name, object_key, version, models, release_note, md5, size, enabled, imported_at, "
    "imported_by"
)


def _fw(r: dict[str, Any]) -> FirmwareRow:
    return FirmwareRow(
        id=r["id"],
        file_name=r["file_name"],
        object_key=r["object_key"],
        version=r["version"],
        models=tuple(orjson.loads(r["models"])),
        release_note=r["release_note"],
        md5=r["md5"],
        size=r["size"],
        enabled=bool(r["enabled"]),
        imported_at=r["imported_at"],
        imported_by=r["imported_by"],
    )


def insert_firmware(db: Database, row: FirmwareRow) -> None:
    with db.atomic():
        db.conn.execute(
            f"INSERT INTO firmwares ({_FW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.file_name,
                row.object_key,
                row.version,
                orjson.dumps(list(row.models)).decode(),
                row.release_note,
                row.md5,
                row.size,
                int(row.enabled),
                row.imported_at,
                row.imported_by,
            ),
        )


def list_firmwares(db: Database) -> list[FirmwareRow]:
    """Every package, newest import first."""
    return [
        _fw(r)
        for r in db.query(f"SELECT {_FW_COLUMNS} FROM firmwares ORDER BY imported_at DESC, id")
    ]


def get_firmware(db: Database, firmware_id: str) -> FirmwareRow | None:
    rows = list(db.query(f"SELECT {_FW_COLUMNS} FROM firmwares WHERE id = ?", [firmware_id]))
    return _fw(rows[0]) if rows else None


def update_firmware(
    db: Database, firmware_id: str, enabled: bool | None = None, release_note: str | None = None
) -> bool:
    """Change a package's availability or note; False if there is no such package."""
    sets: list[str] = []
    args: list[Any] = []
    if enabled is not None:
        sets.append("enabled = ?")
        args.append(int(enabled))
    if release_note is not None:
        sets.append("release_note = ?")
        args.append(release_note)
    if not sets:
        return get_firmware(db, firmware_id) is not None
    with db.atomic():
        cur = db.conn.execute(
            f"UPDATE firmwares SET {', '.join(sets)} WHERE id = ?", (*args, firmware_id)
        )
    return bool(cur.rowcount)


# -- remote logs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogUploadRow:
    """One `fileupload_start` and the files it asked for. `files` items are dicts with
    `device_sn`, `module`, `object_key`, `boot_indexes`, and as progress arrives `size`,
    `fingerprint`, `percent`, `status`, `result`."""

    id: str
    gateway_sn: str
    bid: str
    created_at: int
    updated_at: int
    actor: str
    note: str
    happen_time: int | None
    status: str
    result: int
    files: tuple[dict[str, Any], ...]


_LOG_COLUMNS = (
    "id, gateway_sn, bid, created_at, updated_at, actor, note, happen_time, status, result, files"
)


def _log(r: dict[str, Any]) -> LogUploadRow:
    return LogUploadRow(
        id=r["id"],
        gateway_sn=r["gateway_sn"],
        bid=r["bid"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        actor=r["actor"],
        note=r["note"],
        happen_time=r["happen_time"],
        status=r["status"],
        result=r["result"],
        files=tuple(orjson.loads(r["files"])),
    )


def upsert_log_upload(db: Database, row: LogUploadRow) -> None:
    with db.atomic():
        db.conn.execute(
            f"INSERT OR REPLACE INTO device_logs ({_LOG_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.gateway_sn,
                row.bid,
                row.created_at,
                row.updated_at,
                row.actor,
                row.note,
                row.happen_time,
                row.status,
                row.result,
                orjson.dumps(list(row.files)).decode(),
            ),
        )


def list_log_uploads(
    db: Database, gateway_sn: str | None = None, offset: int = 0, limit: int = 100
) -> tuple[list[LogUploadRow], int]:
    """(uploads newest first, total) of one gateway or all."""
    where, args = ("WHERE gateway_sn = ?", [gateway_sn]) if gateway_sn else ("", [])
    total = int(db.execute(f"SELECT count(*) FROM device_logs {where}", args).fetchone()[0])
    rows = [
        _log(r)
        for r in db.query(
            f"SELECT {_LOG_COLUMNS} FROM device_logs {where} "
            "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
    ]
    return rows, total


def get_log_upload(db: Database, upload_id: str) -> LogUploadRow | None:
    rows = list(db.query(f"SELECT {_LOG_COLUMNS} FROM device_logs WHERE id = ?", [upload_id]))
    return _log(rows[0]) if rows else None


def delete_log_upload(db: Database, upload_id: str) -> bool:
    with db.atomic():
        cur = db.conn.execute("DELETE FROM device_logs WHERE id = ?", (upload_id,))
    return bool(cur.rowcount)


def unfinished_log_uploads(db: Database) -> list[LogUploadRow]:
    return [
        _log(r)
        for r in db.query(
            f"SELECT {_LOG_COLUMNS} FROM device_logs WHERE status NOT IN "
            "('ok', 'failed', 'canceled', 'timeout', 'interrupted', 'refused')"
        )
    ]
