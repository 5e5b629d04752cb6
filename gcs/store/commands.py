"""Table `commands`: the history of what the station asked devices to do and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class CommandRow:
    id: str
    created_at: int  # ms
    updated_at: int  # ms
    actor: str  # "operator", "api:<user>", "pilot:<user>", "schedule", …
    gateway_sn: str
    method: str  # service method, or "property/set"
    data: Any
    bid: str
    status: str  # refused, sent, running, ok, failed, timeout, canceled, …
    result: int | None  # DJI result code; None while unknown or on a reply timeout
    message: str  # the outcome in words (English)
    percent: float | None
    step: str
    output: Any
    attempts: int


_COLUMNS = (
    "id, created_at, updated_at, actor, gateway_sn, method, data, bid, status, result, message, "
    "percent, step, output, attempts"
)


def _dump(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def upsert_command(db: Database, row: CommandRow) -> None:
    """Insert the command or replace its row (one write per state change, committed)."""
    with db.atomic():
        db.conn.execute(
            f"INSERT OR REPLACE INTO commands ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.created_at,
                row.updated_at,
                row.actor,
                row.gateway_sn,
                row.method,
                _dump(row.data),
                row.bid,
                row.status,
                row.result,
                row.message,
                row.percent,
                row.step,
                _dump(row.output),
                row.attempts,
            ),
        )


def _row(r: dict[str, Any]) -> CommandRow:
    return CommandRow(
        id=r["id"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        actor=r["actor"],
        gateway_sn=r["gateway_sn"],
        method=r["method"],
        data=orjson.loads(r["data"]),
        bid=r["bid"],
        status=r["status"],
        result=r["result"],
        message=r["message"],
        percent=r["percent"],
        step=r["step"],
        output=orjson.loads(r["output"]),
        attempts=r["attempts"],
    )


def list_commands(
    db: Database, gateway_sn: str | None = None, limit: int = 500
) -> list[CommandRow]:
    """The latest commands, newest first (optionally of one gateway)."""
    sql = f"SELECT {_COLUMNS} FROM commands"
    args: list[Any] = []
    if gateway_sn:
        sql += " WHERE gateway_sn = ?"
        args.append(gateway_sn)
    sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
    args.append(limit)
    return [_row(r) for r in db.query(sql, args)]


def get_command(db: Database, command_id: str) -> CommandRow | None:
    rows = list(db.query(f"SELECT {_COLUMNS} FROM commands WHERE id = ?", [command_id]))
    return _row(rows[0]) if rows else None


def unfinished_commands(db: Database) -> list[CommandRow]:
    """Commands a previous run left in flight (sent or running), oldest first."""
    return [
        _row(r)
        for r in db.query(
            f"SELECT {_COLUMNS} FROM commands WHERE status IN ('sent', 'running') "
            "ORDER BY created_at"
        )
    ]
