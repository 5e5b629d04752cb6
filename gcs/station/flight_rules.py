"""The rules of dock flight tasks, without I/O: what an operator may ask (`TaskRequest`), the
checks of protocol §4.2 on every `flighttask_prepare` field, recurrence, the preconditions of
`flighttask_execute` and the commands the missions capability declares, what a
`flighttask_progress` event says (§5), task states in words, and the HTTP API's JSON shapes.
The capability that acts on them is `gcs.station.missions`.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode, describe
from gcs.station.commands import (
    AIRCRAFT_IN_DOCK,
    DOCK_IDLE,
    ONLINE,
    CommandSpec,
    Precondition,
    Refusal,
    Target,
)
from gcs.store.missions import PlanRow, TaskRow

IMMEDIATE, TIMED, CONDITIONAL = 0, 1, 2
RECURRING = 3  # the station's own type: a plan that makes timed tasks
TASK_TYPES = {"immediate": IMMEDIATE, "timed": TIMED, "conditional": CONDITIONAL, "recurring": 3}


#: Task statuses: not yet flying / flying / over.
WAITING = ("planned", "prepared")
FLYING = ("executing", "sent", "in_progress", "paused")
FINAL = frozenset(
    {"ok", "failed", "canceled", "rejected", "timeout", "partially_done", "missed", "refused"}
)
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
#: KMZ `exitOnRCLost` → `exit_wayline_when_rc_lost`.
_RC_LOST_EXIT = {"goContinue": 0, "executeLostAction": 1}

STATUS_WORDS: dict[str, tuple[str, str]] = {
    "planned": ("planned", "已计划"),
    "prepared": ("sent to the dock, waiting for its start time", "已下发，等待执行"),
    "executing": ("starting", "正在启动"),
    "sent": ("starting", "正在启动"),
    "in_progress": ("flying", "执行中"),
    "paused": ("paused", "已暂停"),
    "ok": ("done", "已完成"),
    "partially_done": ("partially done", "部分完成"),
    "failed": ("failed", "失败"),
    "canceled": ("canceled", "已取消"),
    "rejected": ("rejected by the dock", "机场拒绝执行"),
    "timeout": ("timed out", "超时"),
    "missed": (
        "missed: the station was not running at its start time",
        "已错过：计划时间地面站未运行",
    ),
    "refused": ("refused", "已拒绝"),
}


def wall_ms() -> int:
    return int(time.time() * 1000)


class MissionError(Exception):
    """A task the station will not plan or change: a DJI-style code, the reason in EN/ZH and
    the HTTP status a web front end answers with."""

    def __init__(self, code: int, en: str, zh: str, *, status: int = 400) -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.zh = zh
        self.status = status


def bad_request(en: str, zh: str) -> MissionError:
    return MissionError(StationCode.INVALID_PARAMETER, en, zh)


# -- the request --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recurrence:
    days: tuple[int, ...]  # 0 Monday .. 6 Sunday
    times: tuple[str, ...]  # "HH:MM", station local time
    begin_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """What an operator asks for (the desktop's plan dialog or the HTTP API)."""

    name: str
    dock_sn: str
    wayline_id: str
    task_type: int  # IMMEDIATE, TIMED, CONDITIONAL or RECURRING
    execute_time: int | None = None
    recurrence: Recurrence | None = None
    rth_altitude: int = 100
    rth_mode: int = 1
    out_of_control_action: int = 0
    exit_wayline_when_rc_lost: int | None = None  # None: as the KMZ says
    wayline_precision_type: int = 1
    ready_conditions: dict[str, Any] | None = None
    executable_conditions: dict[str, Any] | None = None
    break_point: dict[str, Any] | None = None
    simulate_mission: dict[str, Any] | None = None
    flight_safety_advance_check: int | None = None
    continuous: bool = False  # conditional only: fly again while the ready window lasts
    params: dict[str, Any] = field(default_factory=dict)  # filled by check_request


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _choice(name: str, value: int, allowed: Sequence[int], meaning: str) -> None:
    if value not in allowed:
        raise bad_request(
            f"'{name}' must be {meaning}, got {value!r}",
            f"'{name}' 必须为 {meaning}，收到 {value!r}",
        )


def check_params(req: TaskRequest, *, kmz_exit_on_rc_lost: str | None, now: int) -> dict[str, Any]:
    """The `flighttask_prepare` fields of a request after every check of §4.2 (no I/O).

    Raises:
        MissionError: a value out of range or inconsistent with the KMZ, a time in the past.
    """
    if not isinstance(req.rth_altitude, int) or not 20 <= req.rth_altitude <= 1500:
        raise bad_request(
            f"the return-home altitude must be 20–1500 m, got {req.rth_altitude!r}",
            f"返航高度必须在 20–1500 米之间，收到 {req.rth_altitude!r}",
        )
    _choice("rth_mode", req.rth_mode, (0, 1), "0 (smart height) or 1 (preset height)")
    _choice(
        "out_of_control_action", req.out_of_control_action, (0, 1, 2), "0 RTH, 1 hover or 2 land"
    )
    _choice("wayline_precision_type", req.wayline_precision_type, (0, 1), "0 GPS or 1 RTK")
    kmz_exit = _RC_LOST_EXIT.get(kmz_exit_on_rc_lost or "")
    exit_rc = req.exit_wayline_when_rc_lost
    if exit_rc is None:
        exit_rc = kmz_exit if kmz_exit is not None else 1
    _choice("exit_wayline_when_rc_lost", exit_rc, (0, 1), "0 (continue) or 1 (exit)")
    if kmz_exit is not None and exit_rc != kmz_exit:
        raise bad_request(
            f"exit_wayline_when_rc_lost {exit_rc} disagrees with the route, whose exitOnRCLost is "
            f"{kmz_exit_on_rc_lost}: use {kmz_exit} or edit the route",
            f"exit_wayline_when_rc_lost={exit_rc} 与航线的 exitOnRCLost（{kmz_exit_on_rc_lost}）"
            f"不一致：请使用 {kmz_exit} 或修改航线",
        )
    params: dict[str, Any] = {
        "rth_altitude": req.rth_altitude,
        "rth_mode": req.rth_mode,
        "out_of_control_action": req.out_of_control_action,
        "exit_wayline_when_rc_lost": exit_rc,
        "wayline_precision_type": req.wayline_precision_type,
    }
    if req.task_type == CONDITIONAL:
        params["ready_conditions"] = _ready_conditions(req.ready_conditions, now)
        if req.continuous:
            params["continuous"] = True  # the station's own: never sent to the dock
    elif req.continuous:
        raise bad_request(
            "continuous flights are conditional tasks (task_type 2) with ready_conditions",
            "连续飞行须为带 ready_conditions 的条件任务（task_type 2）",
        )
    elif req.ready_conditions is not None:
        raise bad_request(
            "ready_conditions belong to conditional tasks (task_type 2)",
            "ready_conditions 仅用于条件任务（task_type 2）",
        )
    if req.executable_conditions is not None:
        storage = _int(req.executable_conditions.get("storage_capacity"))
        if storage is None or storage < 0:
            raise bad_request(
                "executable_conditions.storage_capacity must be a whole number ≥ 0",
                "executable_conditions.storage_capacity 必须为 ≥ 0 的整数",
            )
        params["executable_conditions"] = {"storage_capacity": storage}
    if req.break_point is not None:
        params["break_point"] = _break_point(req.break_point)
    if req.simulate_mission is not None:
        params["simulate_mission"] = _simulation(req.simulate_mission)
    if req.flight_safety_advance_check is not None:
        _choice(
            "flight_safety_advance_check", int(req.flight_safety_advance_check), (0, 1), "0 or 1"
        )
        params["flight_safety_advance_check"] = int(req.flight_safety_advance_check)
    return params


def _ready_conditions(cond: dict[str, Any] | None, now: int) -> dict[str, Any]:
    if not isinstance(cond, dict):
        raise bad_request(
            "a conditional task needs ready_conditions {battery_capacity, begin_time, end_time}",
            "条件任务需要 ready_conditions {battery_capacity, begin_time, end_time}",
        )
    battery, begin, end = (
        _int(cond.get("battery_capacity")),
        _int(cond.get("begin_time")),
        _int(cond.get("end_time")),
    )
    if battery is None or not 0 <= battery <= 100:
        raise bad_request("battery_capacity must be 0–100 %", "battery_capacity 必须为 0–100%")
    if begin is None or end is None or begin >= end:
        raise bad_request(
            "begin_time and end_time (ms) must be given, begin before end",
            "必须给出 begin_time 与 end_time（毫秒），且开始早于结束",
        )
    if end <= now:
        raise bad_request("the ready window has already ended", "就绪时间窗口已结束")
    return {"battery_capacity": battery, "begin_time": begin, "end_time": end}


def _break_point(bp: dict[str, Any]) -> dict[str, Any]:
    index, state = _int(bp.get("index")), _int(bp.get("state"))
    progress, wayline_id = _number(bp.get("progress")), _int(bp.get("wayline_id", 0))
    if index is None or index < 0 or state not in (0, 1) or wayline_id is None:
        raise bad_request(
            "break_point needs index ≥ 0, state 0 (on a segment) or 1 (on a waypoint), wayline_id",
            "break_point 需要 index ≥ 0、state 0（航段上）或 1（航点上）与 wayline_id",
        )
    if progress is None or not 0 <= progress <= 1:
        raise bad_request(
            "break_point.progress must be 0–1", "break_point.progress 必须在 0–1 之间"
        )
    return {"index": index, "state": state, "progress": progress, "wayline_id": wayline_id}


def _simulation(sim: dict[str, Any]) -> dict[str, Any]:
    enable = _int(sim.get("is_enable"))
    lat, lon = _number(sim.get("latitude")), _number(sim.get("longitude"))
    if enable not in (0, 1):
        raise bad_request(
            "simulate_mission.is_enable must be 0 or 1", "simulate_mission.is_enable 必须为 0 或 1"
        )
    if enable and (lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180):
        raise bad_request(
            "simulate_mission needs a latitude (−90–90) and longitude (−180–180)",
            "simulate_mission 需要纬度（−90–90）与经度（−180–180）",
        )
    out: dict[str, Any] = {"is_enable": enable}
    if lat is not None and lon is not None:
        out.update(latitude=lat, longitude=lon)
    return out


# -- recurrence ---------------------------------------------------------------------------


def check_recurrence(rec: Recurrence | None) -> Recurrence:
    if rec is None:
        raise bad_request(
            "a recurring task needs days, times and a date range",
            "周期任务需要星期、时间与日期范围",
        )
    if not rec.days or any(d not in range(7) for d in rec.days):
        raise bad_request(
            "days must list weekdays 0 (Monday) – 6 (Sunday)", "days 必须为 0（周一）– 6（周日）"
        )
    if not rec.times or any(not _TIME_RE.match(t) for t in rec.times):
        raise bad_request('times must be a list of "HH:MM"', 'times 必须为 "HH:MM" 列表')
    if rec.begin_ms > rec.end_ms:
        raise bad_request("the date range ends before it begins", "日期范围的结束早于开始")
    return Recurrence(
        tuple(sorted(set(rec.days))), tuple(sorted(set(rec.times))), rec.begin_ms, rec.end_ms
    )


def next_occurrence(rec: Recurrence, after_ms: int) -> int | None:
    """The first occurrence at or after `after_ms` (epoch ms, station local time), or None."""
    start = max(after_ms, rec.begin_ms)
    day = dt.datetime.fromtimestamp(start / 1000).date()
    last = dt.datetime.fromtimestamp(rec.end_ms / 1000).date()
    while day <= last:
        if day.weekday() in rec.days:
            for t in rec.times:
                hour, minute = int(t[:2]), int(t[3:])
                at = int(dt.datetime.combine(day, dt.time(hour, minute)).timestamp() * 1000)
                if start <= at <= rec.end_ms:
                    return at
        day += dt.timedelta(days=1)
    return None


# -- preconditions of execute -------------------------------------------------------------


def _battery(t: Target) -> Refusal | None:
    charge = t.gateway_state.get("drone_charge_state")
    percent = charge.get("capacity_percent") if isinstance(charge, Mapping) else None
    ready = t.data.get("ready_conditions") if isinstance(t.data, Mapping) else None
    need = 20
    if isinstance(ready, Mapping) and isinstance(ready.get("battery_capacity"), int):
        need = max(need, ready["battery_capacity"])
    if not isinstance(percent, int | float) or percent >= need:
        return None
    return Refusal(
        StationCode.PRECONDITION_FAILED,
        f"the aircraft's battery is at {percent:.0f} % (needs {need} %): let it charge",
        f"飞行器电量 {percent:.0f}%（需要 {need}%）：请等待充电",
    )


def _storage(t: Target) -> Refusal | None:
    cond = t.data.get("executable_conditions") if isinstance(t.data, Mapping) else None
    need = cond.get("storage_capacity") if isinstance(cond, Mapping) else None
    storage = t.gateway_state.get("storage")
    if not isinstance(need, int) or not isinstance(storage, Mapping):
        return None
    total, used = storage.get("total"), storage.get("used")
    if not isinstance(total, int) or not isinstance(used, int) or total - used >= need:
        return None
    return Refusal(
        StationCode.PRECONDITION_FAILED,
        f"the dock has {total - used} KB free, the task needs {need} KB: free some storage",
        f"机场剩余存储 {total - used} KB，任务需要 {need} KB：请清理存储",
    )


BATTERY = Precondition("battery", _battery)
STORAGE = Precondition("storage", _storage)
_FLYING = (ONLINE,)

MISSION_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "flighttask_prepare",
        "Send a flight task to the dock",
        "下发飞行任务",
        reply_timeout_s=30.0,  # the dock downloads and checks the KMZ before it answers
        retries=1,
        preconditions=(ONLINE, STORAGE),
    ),
    CommandSpec(
        "flighttask_execute",
        "Start a flight task",
        "执行飞行任务",
        progress=frozenset({"flighttask_progress"}),
        reply_timeout_s=10.0,
        progress_timeout_s=600.0,
        preconditions=(ONLINE, DOCK_IDLE, AIRCRAFT_IN_DOCK, BATTERY, STORAGE),
    ),
    CommandSpec("flighttask_undo", "Cancel flight tasks not yet started", "取消未执行的任务"),
    CommandSpec("flighttask_pause", "Pause the flight task", "暂停航线任务", preconditions=_FLYING),
    CommandSpec(
        "flighttask_recovery", "Resume the flight task", "恢复航线任务", preconditions=_FLYING
    ),
    CommandSpec("return_home", "Return to home", "一键返航", preconditions=_FLYING),
    CommandSpec("return_home_cancel", "Cancel return to home", "取消返航", preconditions=_FLYING),
)
# `upload_flighttask_media_prioritize` is declared by the media library (`gcs.station.media`).


# -- progress -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """What one `flighttask_progress` event says (§5)."""

    flight_id: str
    status: str
    result: int
    percent: float | None
    step: str
    waypoint_index: int | None
    mission_state: int | None
    media_count: int | None
    break_point: dict[str, Any] | None


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def parse_task_progress(msg: Message) -> TaskProgress | None:
    d = as_map(msg.data)
    output = as_map(d.get("output"))
    ext = as_map(output.get("ext"))
    progress = as_map(output.get("progress"))
    flight_id = ext.get("flight_id") or msg.bid
    if not isinstance(flight_id, str) or not flight_id:
        return None
    bp = ext.get("break_point")
    step = progress.get("current_step")
    return TaskProgress(
        flight_id=flight_id,
        status=str(output.get("status") or ""),
        result=_int(d.get("result")) or 0,
        percent=_number(progress.get("percent")),
        step="" if step is None else str(step),
        waypoint_index=_int(ext.get("current_waypoint_index")),
        mission_state=_int(ext.get("wayline_mission_state")),
        media_count=_int(ext.get("media_count")),
        break_point=dict(bp) if isinstance(bp, Mapping) else None,
    )


def explain_task(
    status: str, result: int | None, break_point: Mapping[str, Any] | None
) -> tuple[str, str]:
    """A task's state in words (EN, ZH), its DJI result and break reason explained."""
    en, zh = STATUS_WORDS.get(status, (status, status))
    if result:
        meaning = describe(result)
        en, zh = f"{en}: {meaning.en} ({result})", f"{zh}：{meaning.zh}（{result}）"
    reason = break_point.get("break_reason") if break_point else None
    if isinstance(reason, int) and reason:
        en += f"; break reason {reason}"
        zh += f"；中断原因 {reason}"
    return en, zh


def local_time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def task_from_json(body: Mapping[str, Any]) -> TaskRequest:
    """A `TaskRequest` from the HTTP API's JSON (see `gcs.web.waylines`). Raises MissionError."""

    def need_str(key: str, *alts: str) -> str:
        for k in (key, *alts):
            v = body.get(k)
            if isinstance(v, str) and v:
                return v
        raise bad_request(f"'{key}' is missing", f"缺少 '{key}'")

    task_type = body.get("task_type", IMMEDIATE)
    if isinstance(task_type, str):
        task_type = TASK_TYPES.get(task_type, -1)
    rec = body.get("recurrence")
    recurrence = None
    if isinstance(rec, Mapping):
        days, times = rec.get("days"), rec.get("times")
        begin, end = _int(rec.get("begin_time")), _int(rec.get("end_time"))
        if (
            not isinstance(days, list)
            or not isinstance(times, list)
            or begin is None
            or end is None
        ):
            raise bad_request(
                'recurrence needs days [0-6], times ["HH:MM"], begin_time and end_time (ms)',
                'recurrence 需要 days [0-6]、times ["HH:MM"]、begin_time 与 end_time（毫秒）',
            )
        recurrence = Recurrence(
            tuple(d for d in days if isinstance(d, int)), tuple(str(t) for t in times), begin, end
        )
    fields: dict[str, Any] = {}
    for key in (
        "rth_altitude",
        "rth_mode",
        "out_of_control_action",
        "exit_wayline_when_rc_lost",
        "wayline_precision_type",
        "flight_safety_advance_check",
    ):
        if key in body and body[key] is not None:
            value = _int(body[key])
            if value is None:
                raise bad_request(f"'{key}' must be a whole number", f"'{key}' 必须为整数")
            fields[key] = value
    for key in ("ready_conditions", "executable_conditions", "break_point", "simulate_mission"):
        if body.get(key) is not None:
            if not isinstance(body[key], Mapping):
                raise bad_request(f"'{key}' must be an object", f"'{key}' 必须为对象")
            fields[key] = dict(body[key])
    continuous = body.get("continuous", False)
    if not isinstance(continuous, bool):
        raise bad_request("'continuous' must be true or false", "'continuous' 必须为 true 或 false")
    fields["continuous"] = continuous
    execute_time = body.get("execute_time")
    if execute_time is not None and _int(execute_time) is None:
        raise bad_request(
            "'execute_time' must be epoch milliseconds", "'execute_time' 必须为毫秒时间戳"
        )
    return TaskRequest(
        name=need_str("name"),
        dock_sn=need_str("dock_sn"),
        wayline_id=need_str("wayline_id", "file_id"),
        task_type=task_type if isinstance(task_type, int) else -1,
        execute_time=execute_time,
        recurrence=recurrence,
        **fields,
    )


def task_to_json(t: TaskRow) -> dict[str, Any]:
    return {
        "job_id": t.id,
        "flight_id": t.id,
        "name": t.name,
        "dock_sn": t.dock_sn,
        "file_id": t.wayline_id,
        "task_type": t.task_type,
        "plan_id": t.plan_id,
        "execute_time": t.execute_time,
        "status": t.status,
        "progress": t.percent,
        "step": t.step,
        "waypoint_index": t.waypoint_index,
        "wayline_mission_state": t.mission_state,
        "media_count": t.media_count,
        "break_point": t.break_point,
        "code": t.result,
        "message": t.message,
        "params": t.params,
        "username": t.actor,
        "create_time": t.created_at,
        "update_time": t.updated_at,
    }


def plan_to_json(p: PlanRow) -> dict[str, Any]:
    return {
        "plan_id": p.id,
        "name": p.name,
        "dock_sn": p.dock_sn,
        "file_id": p.wayline_id,
        "task_type": RECURRING,
        "recurrence": {
            "days": list(p.days),
            "times": list(p.times),
            "begin_time": p.begin_ms,
            "end_time": p.end_ms,
        },
        "next_execute_time": p.next_fire,
        "active": p.active,
        "params": p.params,
        "username": p.actor,
        "create_time": p.created_at,
    }
