"""Tables `flight_tasks` (one row per dock flight, id = flight_id) and `flight_plans` (recurring
schedules that make tasks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlite_utils import Database


class TaskNotFound(LookupError):
    """No flight task (or plan) with that id."""


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: str  # the flight_id (also the bid of prepare and execute)
    workspace_id: str
    name: str
    dock_sn: str
    wayline_id: str
    task_type: int  # 0 immediate, 1 timed, 2 conditional (wire values of flighttask_prepare)
    plan_id: str  # the recurring plan that made it, or ""
    execute_time: int | None  # ms, planned start
    params: dict[str, Any]  # the flighttask_prepare fields the operator chose
    status: str
    percent: float | None
    step: str
    waypoint_index: int | None
    mission_state: int | None
    media_count: int
    break_point: dict[str, Any] | None
    result: int | None
    message: str
    actor: str
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class PlanRow:
    id: str
    workspace_id: str
    name: str
    dock_sn: str
    wayline_id: str
    params: dict[str, Any]
    days: tuple[int, ...]  # 0 Monday .. 6 Sunday
    times: tuple[str, ...]  # "HH:MM", station local time
    begin_ms: int
    end_ms: int
    next_fire: int | None  # the next occurrence not yet fired or reported missed
    active: bool
    actor: str
    created_at: int


_TASK_COLUMNS = (
    "id, workspace_id, name, dock_sn, wayline_id, task_type, plan_id, execute_time, params, "
    "status, percent, step, waypoint_index, mission_state, media_count, break_point, result, "
    "message, actor, created_at, updated_at"
)
_PLAN_COLUMNS = (
    "id, workspace_id, name, dock_sn, wayline_id, params, days, times, begin_ms, end_ms, "
    "next_fire, active, actor, created_at"
)


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


def _task(r: Sequence[Any]) -> TaskRow:
    return TaskRow(
        id=r[0],
        workspace_id=r[1],
        name=r[2],
        dock_sn=r[3],
        wayline_id=r[4],
        task_type=r[5],
        plan_id=r[6],
        execute_time=r[7],
        params=orjson.loads(r[8]),
        status=r[9],
        percent=r[10],
        step=r[11],
        waypoint_index=r[12],
        mission_state=r[13],
        media_count=r[14],
        break_point=orjson.loads(r[15]),
        result=r[16],
        message=r[17],
        actor=r[18],
        created_at=r[19],
        updated_at=r[20],
    )


def _plan(r: Sequence[Any]) -> PlanRow:
    return PlanRow(
        id=r[0],
        workspace_id=r[1],
        name=r[2],
        dock_sn=r[3],
        wayline_id=r[4],
        params=orjson.loads(r[5]),
        days=tuple(orjson.loads(r[6])),
        times=tuple(orjson.loads(r[7])),
        begin_ms=r[8],
        end_ms=r[9],
        next_fire=r[10],
        active=bool(r[11]),
        actor=r[12],
        created_at=r[13],
    )


def upsert_tasks(db: Database, rows: Sequence[TaskRow]) -> None:
    """Insert or replace task rows in one committed transaction."""
    with db.atomic():
        db.conn.executemany(
            f"INSERT OR REPLACE INTO flight_tasks ({_TASK_COLUMNS}) VALUES ({', '.join('?' * 21)})",
            [
                (
                    r.id,
                    r.workspace_id,
                    r.name,
                    r.dock_sn,
                    r.wayline_id,
                    r.task_type,
                    r.plan_id,
                    r.execute_time,
                    _dump(r.params),
                    r.status,
                    r.percent,
                    r.step,
                    r.waypoint_index,
                    r.mission_state,
                    r.media_count,
                    _dump(r.break_point),
                    r.result,
                    r.message,
                    r.actor,
                    r.created_at,
                    r.updated_at,
                )
                for r in rows
            ],
        )


def get_task(db: Database, task_id: str) -> TaskRow:
    """Raises TaskNotFound."""
    r = db.conn.execute(
        f"SELECT {_TASK_COLUMNS} FROM flight_tasks WHERE id = ?", (task_id,)
    ).fetchone()
    if r is None:
        raise TaskNotFound(task_id)
    return _task(r)


def tasks_in(db: Database, statuses: Sequence[str]) -> list[TaskRow]:
    """Every task whose status is one of `statuses` (oldest first)."""
    cur = db.conn.execute(
        f"SELECT {_TASK_COLUMNS} FROM flight_tasks WHERE status IN "
        f"({', '.join('?' * len(statuses))}) ORDER BY created_at",
        tuple(statuses),
    )
    return [_task(r) for r in cur.fetchall()]


def list_tasks(
    db: Database,
    workspace_id: str,
    *,
    dock_sn: str | None = None,
    statuses: Sequence[str] = (),
    plan_id: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[TaskRow], int]:
    """A page of the workspace's tasks, newest first, and how many match."""
    where = ["workspace_id = ?"]
    args: list[Any] = [workspace_id]
    if dock_sn:
        where.append("dock_sn = ?")
        args.append(dock_sn)
    if plan_id is not None:
        where.append("plan_id = ?")
        args.append(plan_id)
    if statuses:
        where.append(f"status IN ({', '.join('?' * len(statuses))})")
        args.extend(statuses)
    clause = " AND ".join(where)
    total = db.conn.execute(f"SELECT count(*) FROM flight_tasks WHERE {clause}", args).fetchone()
    cur = db.conn.execute(
        f"SELECT {_TASK_COLUMNS} FROM flight_tasks WHERE {clause} "
        "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        (*args, page_size, (page - 1) * page_size),
    )
    return [_task(r) for r in cur.fetchall()], int(total[0])


def upsert_plan(db: Database, row: PlanRow) -> None:
    with db.atomic():
        db.conn.execute(
            f"INSERT OR REPLACE INTO flight_plans ({_PLAN_COLUMNS}) VALUES ({', '.join('?' * 14)})",
            (
                row.id,
                row.workspace_id,
                row.name,
                row.dock_sn,
                row.wayline_id,
                _dump(row.params),
                _dump(list(row.days)),
                _dump(list(row.times)),
                row.begin_ms,
                row.end_ms,
                row.next_fire,
                int(row.active),
                row.actor,
                row.created_at,
            ),
        )


def get_plan(db: Database, plan_id: str) -> PlanRow:
    r = db.conn.execute(
        f"SELECT {_PLAN_COLUMNS} FROM flight_plans WHERE id = ?", (plan_id,)
    ).fetchone()
    if r is None:
        raise TaskNotFound(plan_id)
    return _plan(r)


def active_plans(db: Database) -> list[PlanRow]:
    cur = db.conn.execute(
        f"SELECT {_PLAN_COLUMNS} FROM flight_plans WHERE active = 1 ORDER BY created_at"
    )
    return [_plan(r) for r in cur.fetchall()]


def plan_fired(db: Database, plan: PlanRow, tasks: Sequence[TaskRow]) -> None:
    """Advance a plan and write the tasks its occurrences made, in one transaction (a restart
    never sees the one without the other)."""
    with db.atomic():
        upsert_plan(db, plan)
        if tasks:
            upsert_tasks(db, tasks)
