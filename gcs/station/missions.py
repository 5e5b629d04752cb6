"""Flight tasks for docks (protocol §4.2, §5, §6): plan, prepare, execute at the right time,
follow the progress, pause, resume, return home, undo, resume from a break point.

Theory of operation. A *task* is one flight (its id is the `flight_id` and the `bid` of its
`flighttask_prepare` and `flighttask_execute`, as the Demo does). Every task is checked before
anything reaches the dock (`check_request`): the dock is known, bound, online (and idle for an
immediate flight), the wayline exists and is for the dock's aircraft, the time is not past,
the RTH altitude is 20–1500 m, the enums are in range, the RC-lost exit agrees with the KMZ. Then:

* immediate (task_type 0): prepare, then execute at once;
* timed (1): prepare now (the dock keeps it), execute when the station's clock reaches
  `execute_time` (a task more than `MISS_GRACE_MS` late is reported missed, never flown late);
* conditional (2): prepare with `ready_conditions`; execute when the dock's `flighttask_ready`
  lists it; a *continuous* one is prepared again after each successful flight while its ready
  window lasts;
* recurring (a *plan*): days of the week and times of day (station local time) within a date
  range; `PREPARE_LEAD_MS` before each occurrence the station makes a timed task for it.

Commands go through the station's one command path (`Commands`), so their preconditions,
history rows and `CommandChanged` events are the same as every other command. Task state (status,
percent, step, waypoint index, mission state, media count, break point, result) follows the
dock's `flighttask_progress` events and lives in `flight_tasks`; each change is announced as
`FlightTaskChanged`. Schedules are rows in `flight_plans` whose `next_fire` advances in the same
transaction that writes the occurrence's task, so a restart neither loses nor repeats one; on
start, occurrences and timed tasks whose time passed while the station was down are written as
missed (and logged), and tasks that were flying keep following their progress events.

The clock is injected (`now`, epoch ms) so tests move time instead of sleeping; `run_due()`
does one scheduler pass.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gcs.aio import spawn
from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode
from gcs.station.bus import FlightTaskChanged, LogEntry, ReturnHomePath
from gcs.station.capability import Capability, EventHandler, RequestHandler
from gcs.station.commands import (
    CommandFailed,
    CommandRefused,
    CommandSpec,
)
from gcs.station.devices import RequestRefused
from gcs.station.flight_rules import (
    CONDITIONAL,
    FINAL,
    FLYING,
    IMMEDIATE,
    MISSION_COMMANDS,
    RECURRING,
    STATUS_WORDS,
    TASK_TYPES,
    TIMED,
    WAITING,
    MissionError,
    Recurrence,
    TaskRequest,
    as_map,
    bad_request,
    check_params,
    check_recurrence,
    explain_task,
    local_time,
    next_occurrence,
    parse_task_progress,
    plan_to_json,
    task_from_json,
    task_to_json,
    wall_ms,
)
from gcs.station.waylines import WaylineError, Waylines
from gcs.store import missions as q
from gcs.store.db import Store
from gcs.store.missions import PlanRow, TaskRow

#: The capability, and the rules it applies (`gcs.station.flight_rules`) for its users.
__all__ = [
    "CONDITIONAL",
    "IMMEDIATE",
    "MISSION_COMMANDS",
    "RECURRING",
    "STATUS_WORDS",
    "TASK_TYPES",
    "TIMED",
    "MissionError",
    "Missions",
    "PlanRow",
    "Recurrence",
    "TaskRequest",
    "TaskRow",
    "plan_to_json",
    "task_from_json",
    "task_to_json",
]

if TYPE_CHECKING:
    from gcs.station.core import Station

log = logging.getLogger(__name__)


#: A timed task or occurrence later than this is missed, not flown (the Demo's ±30 s window).
MISS_GRACE_MS = 30_000
#: How long before a recurring occurrence its task is prepared on the dock.
PREPARE_LEAD_MS = 60_000
#: The scheduler looks at the clock at least this often (seconds).
MAX_SLEEP_S = 1.0
#: How soon a due task waiting for its dock to come back online is looked at again (seconds).
RETRY_S = 0.25


# -- the capability -----------------------------------------------------------------------


class Missions(Capability):
    """Flight tasks for docks. See the module docstring."""

    name = "missions"

    def __init__(self, station: Station, *, now: Callable[[], int] = wall_ms) -> None:
        super().__init__(station)
        self.now = now
        self._live: dict[str, TaskRow] = {}  # tasks not yet over, by id
        self._plans: dict[str, PlanRow] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._pass = asyncio.Lock()
        self._jobs: set[asyncio.Task[Any]] = set()
        self._preparing: set[str] = set()
        self.rth_paths: dict[str, dict[str, Any]] = {}  # dock → last return_home_info
        self.autorun = True

    # -- declarations ----------------------------------------------------------------------

    def commands(self) -> Sequence[CommandSpec]:
        return MISSION_COMMANDS

    def requests(self) -> Mapping[str, RequestHandler]:
        return {
            "flighttask_resource_get": self._resource_get,
            "flighttask_progress_get": self._progress_get,
        }

    def events(self) -> Mapping[str, EventHandler]:
        return {
            "flighttask_progress": self._on_progress,
            "flighttask_ready": self._on_ready,
            "return_home_info": self._on_return_home_info,
            "device_exit_homing_notify": self._on_exit_homing,
            "highest_priority_upload_flighttask_media": self._on_media_first,
        }

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def _store(self) -> Store:
        store = self.station.store
        if store is None:
            raise RuntimeError("the station is not started")
        return store

    async def start(self) -> None:
        """Load open tasks and plans; report what was missed while the station was down."""
        for row in await self._store.call(q.tasks_in, (*WAITING, *FLYING)):
            self._live[row.id] = row
        for plan in await self._store.call(q.active_plans):
            self._plans[plan.id] = plan
        await self.run_due(restarting=True)
        if self.autorun:
            self._loop_task = spawn(self._loop(), name="missions-scheduler")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            try:
                await self._loop_task
            except asyncio.CancelledError:
                pass
            self._loop_task = None
        for job in list(self._jobs):
            job.cancel()
        if self._jobs:
            await asyncio.gather(*self._jobs, return_exceptions=True)

    # -- planning --------------------------------------------------------------------------

    async def plan(
        self, workspace_id: str, req: TaskRequest, *, actor: str = "operator"
    ) -> TaskRow | PlanRow:
        """Check and plan a task (immediate tasks are prepared and started before this returns).

        Returns:
            The task, or for a recurring request its plan.

        Raises:
            MissionError: the request is refused; nothing was sent to the dock. Failures of the
                dock itself are in the returned task's status and message.
        """
        try:
            wayline, params = await self.check_request(workspace_id, req)
        except MissionError as exc:
            self._log("warning", f"flight task {req.name!r} refused: {exc.en}", req.dock_sn)
            raise
        now = self.now()
        if req.task_type == RECURRING:
            rec = check_recurrence(req.recurrence)
            first = next_occurrence(rec, now + PREPARE_LEAD_MS)
            if first is None:
                raise self._refuse(
                    bad_request(
                        "the schedule has no occurrence left in its date range",
                        "该计划在日期范围内已无可执行的时间",
                    ),
                    req.dock_sn,
                )
            plan = PlanRow(
                id=str(uuid.uuid4()),
                workspace_id=workspace_id,
                name=req.name,
                dock_sn=req.dock_sn,
                wayline_id=wayline,
                params=params,
                days=rec.days,
                times=rec.times,
                begin_ms=rec.begin_ms,
                end_ms=rec.end_ms,
                next_fire=first,
                active=True,
                actor=actor,
                created_at=now,
            )
            await self._store.call(q.upsert_plan, plan)
            self._plans[plan.id] = plan
            self._log(
                "info",
                f"recurring flight plan {plan.name!r} saved; first flight at {local_time(first)}",
                plan.dock_sn,
            )
            self._wake.set()
            return plan
        task = self._new_task(
            workspace_id,
            req.name,
            req.dock_sn,
            wayline,
            req.task_type,
            params,
            actor,
            req.execute_time if req.task_type == TIMED else now,
        )
        await self._save(task)
        task = await self._prepare(task)
        if task.status == "prepared" and req.task_type == IMMEDIATE:
            task = await self._execute(task)
        self._wake.set()
        return task

    async def check_request(
        self, workspace_id: str, req: TaskRequest
    ) -> tuple[str, dict[str, Any]]:
        """Everything that can be checked before talking to the dock; returns the wayline id and
        the prepare fields. Raises MissionError."""
        if not req.name.strip() or len(req.name) > 200:
            raise bad_request(
                "give the task a name (at most 200 characters)", "请为任务命名（最多 200 个字符）"
            )
        if req.task_type not in (IMMEDIATE, TIMED, CONDITIONAL, RECURRING):
            raise bad_request(
                "task_type must be 0 immediate, 1 timed, 2 conditional or 3 recurring",
                "task_type 必须为 0 立即、1 定时、2 条件或 3 周期",
            )
        registry = self.station.registry
        dock = registry.view(req.dock_sn)
        if dock is None or dock.workspace_id != workspace_id or not dock.bound:
            raise MissionError(
                StationCode.UNKNOWN_DEVICE,
                f"dock {req.dock_sn} is not bound to this workspace",
                f"机场 {req.dock_sn} 未绑定到此工作空间",
                status=404,
            )
        if dock.domain != 3:
            raise bad_request(
                f"{req.dock_sn} is not a dock: flight tasks are for docks",
                f"{req.dock_sn} 不是机场：航线任务仅用于机场",
            )
        if not dock.online:
            raise MissionError(
                StationCode.DEVICE_OFFLINE,
                f"dock {req.dock_sn} is offline: wait until it reconnects",
                f"机场 {req.dock_sn} 已离线：请等待其重新连接",
            )
        now = self.now()
        if req.task_type == IMMEDIATE:
            try:
                self.station.commands.check(req.dock_sn, "flighttask_execute", {})
            except CommandRefused as exc:
                raise MissionError(exc.code, exc.en, exc.zh) from exc
        if req.task_type == TIMED:
            if req.execute_time is None:
                raise bad_request(
                    "a timed task needs execute_time (ms)", "定时任务需要 execute_time（毫秒）"
                )
            if req.execute_time < now:
                raise bad_request(
                    f"the start time {local_time(req.execute_time)} is in the past",
                    f"开始时间 {local_time(req.execute_time)} 已过去",
                )
        try:
            wayline = await self.station.capability(Waylines).library.get(
                workspace_id, req.wayline_id
            )
        except WaylineError as exc:
            raise MissionError(exc.code, exc.en, exc.zh, status=exc.status) from exc
        aircraft = registry.view(dock.sub_devices[0]) if dock.sub_devices else None
        if (
            aircraft is not None
            and wayline.drone_model_key
            and aircraft.model_key != wayline.drone_model_key
        ):
            raise bad_request(
                f"{wayline.name} is for {wayline.drone_model_key}, but the aircraft of "
                f"{req.dock_sn} is {aircraft.model_key} ({aircraft.model_name})",
                f"航线 {wayline.name} 适用于 {wayline.drone_model_key}，"
                f"而 {req.dock_sn} 的飞行器为 {aircraft.model_key}（{aircraft.model_name}）",
            )
        params = check_params(
            req, kmz_exit_on_rc_lost=wayline.summary.get("exit_on_rc_lost"), now=now
        )
        types = wayline.template_types
        params["wayline_type"] = types[0] if types else 0
        return wayline.id, params

    async def resume_from_breakpoint(
        self, workspace_id: str, task_id: str, *, actor: str = "operator"
    ) -> TaskRow:
        """Fly an interrupted task again from its reported break point, as a new immediate task."""
        old = await self.task(task_id)
        if old.workspace_id != workspace_id:
            raise MissionError(
                StationCode.NOT_FOUND,
                f"no flight task {task_id}",
                f"没有任务 {task_id}",
                status=404,
            )
        if old.status not in FINAL or not old.break_point:
            raise self._refuse(
                MissionError(
                    StationCode.PRECONDITION_FAILED,
                    f"{old.name} has no break point to resume from (status {old.status})",
                    f"任务 {old.name} 没有可续飞的断点（状态 {old.status}）",
                    status=409,
                ),
                old.dock_sn,
            )
        p = old.params
        bp = {k: old.break_point.get(k) for k in ("index", "state", "progress", "wayline_id")}
        req = TaskRequest(
            name=f"{old.name} (resumed)",
            dock_sn=old.dock_sn,
            wayline_id=old.wayline_id,
            task_type=IMMEDIATE,
            rth_altitude=p.get("rth_altitude", 100),
            rth_mode=p.get("rth_mode", 1),
            out_of_control_action=p.get("out_of_control_action", 0),
            exit_wayline_when_rc_lost=p.get("exit_wayline_when_rc_lost"),
            wayline_precision_type=p.get("wayline_precision_type", 1),
            simulate_mission=p.get("simulate_mission"),
            break_point={**bp, "wayline_id": bp.get("wayline_id") or 0},
        )
        result = await self.plan(workspace_id, req, actor=actor)
        assert isinstance(result, TaskRow)
        return result

    # -- operator actions ------------------------------------------------------------------

    async def task(self, task_id: str) -> TaskRow:
        if task_id in self._live:
            return self._live[task_id]
        try:
            return await self._store.call(q.get_task, task_id)
        except q.TaskNotFound:
            raise MissionError(
                StationCode.NOT_FOUND,
                f"no flight task {task_id}",
                f"没有任务 {task_id}",
                status=404,
            ) from None

    async def tasks(self, workspace_id: str, **filters: Any) -> tuple[list[TaskRow], int]:
        def query(db: Any) -> tuple[list[TaskRow], int]:
            return q.list_tasks(db, workspace_id, **filters)

        return await self._store.call(query)

    async def plans(self) -> list[PlanRow]:
        return list(self._plans.values())

    async def cancel(
        self, workspace_id: str, ids: Sequence[str], *, actor: str = "operator"
    ) -> list[str]:
        """Undo tasks not yet started (`flighttask_undo` for those the dock holds) and stop
        recurring plans. Returns the ids canceled. Raises MissionError for a flying task."""
        tasks: list[TaskRow] = []
        for task_id in ids:
            if task_id in self._plans:
                plan = replace(self._plans.pop(task_id), active=False)
                await self._store.call(q.upsert_plan, plan)
                self._log("info", f"recurring flight plan {plan.name!r} stopped", plan.dock_sn)
                continue
            task = await self.task(task_id)
            if task.workspace_id != workspace_id:
                raise MissionError(
                    StationCode.NOT_FOUND,
                    f"no flight task {task_id}",
                    f"没有任务 {task_id}",
                    status=404,
                )
            if task.status in FLYING:
                raise self._refuse(
                    MissionError(
                        StationCode.PRECONDITION_FAILED,
                        f"{task.name} is flying: pause it or send the aircraft home instead",
                        f"任务 {task.name} 正在执行：请暂停或返航",
                        status=409,
                    ),
                    task.dock_sn,
                )
            if task.status in WAITING:
                tasks.append(task)
        by_dock: dict[str, list[TaskRow]] = {}
        for task in tasks:
            by_dock.setdefault(task.dock_sn, []).append(task)
        done = [i for i in ids if i not in {t.id for t in tasks}]
        for dock_sn, group in by_dock.items():
            prepared = [t.id for t in group if t.status == "prepared"]
            if prepared:
                try:
                    await self.station.commands.run(
                        dock_sn, "flighttask_undo", {"flight_ids": prepared}, actor=actor
                    )
                except (CommandRefused, CommandFailed) as exc:
                    log.warning("flighttask_undo on %s failed: %s", dock_sn, exc)
            for task in group:
                await self._update(task, status="canceled", result=None)
                done.append(task.id)
        return done

    async def pause(self, task_id: str, *, actor: str = "operator") -> None:
        await self._flying_command(task_id, "flighttask_pause", actor)

    async def resume(self, task_id: str, *, actor: str = "operator") -> None:
        await self._flying_command(task_id, "flighttask_recovery", actor)

    async def return_home(self, dock_sn: str, *, actor: str = "operator") -> None:
        await self._command(dock_sn, "return_home", None, actor)

    async def cancel_return_home(self, dock_sn: str, *, actor: str = "operator") -> None:
        await self._command(dock_sn, "return_home_cancel", None, actor)

    async def media_first(
        self, workspace_id: str, task_id: str, *, actor: str = "operator"
    ) -> None:
        """Ask the dock to upload this flight's media before any other (§4.5)."""
        task = await self.task(task_id)
        if task.workspace_id != workspace_id:
            raise MissionError(
                StationCode.NOT_FOUND,
                f"no flight task {task_id}",
                f"没有任务 {task_id}",
                status=404,
            )
        await self._command(
            task.dock_sn, "upload_flighttask_media_prioritize", {"flight_id": task.id}, actor
        )

    async def _flying_command(self, task_id: str, method: str, actor: str) -> None:
        task = await self.task(task_id)
        if task.status not in FLYING:
            raise self._refuse(
                MissionError(
                    StationCode.PRECONDITION_FAILED,
                    f"{task.name} is not flying (status {task.status})",
                    f"任务 {task.name} 未在执行（状态 {task.status}）",
                    status=409,
                ),
                task.dock_sn,
            )
        await self._command(task.dock_sn, method, None, actor)

    async def _command(self, dock_sn: str, method: str, data: Any, actor: str) -> None:
        try:
            await self.station.commands.run(dock_sn, method, data, actor=actor)
        except CommandRefused as exc:
            raise MissionError(exc.code, exc.en, exc.zh) from exc
        except CommandFailed as exc:
            o = exc.outcome
            raise MissionError(
                exc.code, f"{method}: {o.message_en}", f"{method}：{o.message_zh}", status=200
            ) from exc

    # -- scheduler ---------------------------------------------------------------------------

    async def run_due(self, *, restarting: bool = False) -> None:
        """One scheduler pass at `now()`: fire or miss due occurrences, execute due timed tasks."""
        async with self._pass:
            now = self.now()
            starting: list[TaskRow] = []
            for plan in list(self._plans.values()):
                await self._fire_plan(plan, now, restarting)
            for task in list(self._live.values()):
                if (
                    task.task_type != TIMED
                    or task.execute_time is None
                    or task.status not in WAITING
                ):
                    continue
                late = now - task.execute_time
                dock = self.station.registry.view(task.dock_sn)
                online = dock is not None and dock.online
                if late > MISS_GRACE_MS:
                    why = (
                        ("the dock was offline at its start time", "计划时间机场离线")
                        if not restarting
                        else None
                    )
                    await self._update(task, status="missed", result=None, message=why)
                    self._log(
                        "warning",
                        f"flight task {task.name!r} missed its start time "
                        f"{local_time(task.execute_time)}" + (f": {why[0]}" if why else ""),
                        task.dock_sn,
                    )
                elif task.status == "planned" and restarting:
                    self._spawn(self._prepare_then_wait(task), f"prepare:{task.id}")
                elif late >= 0 and task.status == "prepared" and online:
                    # Sent first, written after: one batch for a minute where many fire.
                    en, _ = explain_task("executing", None, None)
                    task = replace(task, status="executing", message=en, updated_at=now)
                    self._live[task.id] = task
                    self._announce(task)
                    self._spawn(self._execute(task), f"execute:{task.id}")
                    starting.append(task)
            if starting:
                await self._store.call(q.upsert_tasks, starting)

    def next_due(self) -> int | None:
        """When the scheduler next has something to do (epoch ms)."""
        times = [
            p.next_fire - PREPARE_LEAD_MS for p in self._plans.values() if p.next_fire is not None
        ]
        for t in self._live.values():
            if t.task_type == TIMED and t.execute_time is not None and t.status in WAITING:
                times.append(
                    t.execute_time if t.status == "prepared" else t.execute_time - PREPARE_LEAD_MS
                )
        return min(times, default=None)

    async def _fire_plan(self, plan: PlanRow, now: int, restarting: bool) -> None:
        rec = Recurrence(plan.days, plan.times, plan.begin_ms, plan.end_ms)
        made: list[TaskRow] = []
        fire = plan.next_fire
        while fire is not None and fire - PREPARE_LEAD_MS <= now:
            missed = now - fire > MISS_GRACE_MS
            task = self._new_task(
                plan.workspace_id,
                f"{plan.name} {local_time(fire)}",
                plan.dock_sn,
                plan.wayline_id,
                TIMED,
                plan.params,
                plan.actor,
                fire,
                plan_id=plan.id,
                status="missed" if missed else "planned",
            )
            made.append(task)
            fire = next_occurrence(rec, fire + 60_000)
        if not made:
            return
        plan = replace(plan, next_fire=fire, active=fire is not None)
        await self._store.call(q.plan_fired, plan, made)
        if plan.active:
            self._plans[plan.id] = plan
        else:
            self._plans.pop(plan.id, None)
        for task in made:
            if task.status == "missed":
                self._log(
                    "warning",
                    f"flight {task.name!r} was missed: the station was not running at its time",
                    task.dock_sn,
                )
                self._announce(task)
            else:
                self._live[task.id] = task
                self._announce(task)
                self._spawn(self._prepare_then_wait(task), f"prepare:{task.id}")

    async def _again(self, done: TaskRow) -> None:
        """A continuous flight ended: prepare the next one while its ready window lasts (the
        dock says `flighttask_ready` again when the battery and time conditions hold)."""
        ready = done.params.get("ready_conditions") or {}
        end = ready.get("end_time")
        if not isinstance(end, int) or self.now() >= end:
            self._log(
                "info", f"continuous flight {done.name!r}: its window has ended", done.dock_sn
            )
            return
        task = self._new_task(
            done.workspace_id,
            done.name,
            done.dock_sn,
            done.wayline_id,
            CONDITIONAL,
            done.params,
            done.actor,
            self.now(),
        )
        await self._save(task)
        await self._prepare(task)

    async def _prepare_then_wait(self, task: TaskRow) -> None:
        await self._prepare(task)
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("flight task scheduler pass failed")
            due = self.next_due()
            now = self.now()
            if due is None:
                delay = MAX_SLEEP_S
            elif due <= now:
                delay = RETRY_S  # due but waiting (its dock offline): look again shortly
            else:
                delay = min(MAX_SLEEP_S, (due - now) / 1000)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(delay, 0.001))
            except TimeoutError:
                pass

    def _spawn(self, coro: Any, name: str) -> None:
        job = spawn(coro, name=name)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    # -- talking to the dock -----------------------------------------------------------------

    def _prepare_data(self, task: TaskRow, url: str, fingerprint: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "flight_id": task.id,
            "execute_time": task.execute_time if task.execute_time is not None else self.now(),
            "task_type": task.task_type,
            "wayline_type": task.params.get("wayline_type", 0),
            "file": {"url": url, "fingerprint": fingerprint},
        }
        for key in (
            "rth_altitude",
            "rth_mode",
            "out_of_control_action",
            "exit_wayline_when_rc_lost",
            "wayline_precision_type",
            "ready_conditions",
            "executable_conditions",
            "break_point",
            "simulate_mission",
            "flight_safety_advance_check",
        ):
            if key in task.params:
                data[key] = task.params[key]
        return data

    async def _prepare(self, task: TaskRow) -> TaskRow:
        if task.id in self._preparing:
            return task
        self._preparing.add(task.id)
        try:
            return await self._prepare_once(task)
        finally:
            self._preparing.discard(task.id)

    async def _prepare_once(self, task: TaskRow) -> TaskRow:
        library = self.station.capability(Waylines).library
        try:
            wayline = await library.get(task.workspace_id, task.wayline_id)
        except WaylineError as exc:
            return await self._update(
                task, status="failed", result=exc.code, message=(exc.en, exc.zh)
            )
        data = self._prepare_data(task, library.url(wayline), wayline.fingerprint)
        try:
            await self.station.commands.run(
                task.dock_sn, "flighttask_prepare", data, actor=task.actor, bid=task.id
            )
        except CommandRefused as exc:
            return await self._update(
                task, status="refused", result=exc.code, message=(exc.en, exc.zh)
            )
        except CommandFailed as exc:
            return await self._update(task, status="failed", result=exc.code)
        return await self._update(task, status="prepared", result=None)

    async def _execute(self, task: TaskRow) -> TaskRow:
        if task.status != "executing":
            task = await self._update(task, status="executing", result=None)
        try:
            outcome = await self.station.commands.start_accepted(
                task.dock_sn,
                "flighttask_execute",
                {"flight_id": task.id},
                actor=task.actor,
                bid=task.id,
            )
        except CommandRefused as exc:
            return await self._update(
                task, status="refused", result=exc.code, message=(exc.en, exc.zh)
            )
        except CommandFailed as exc:
            return await self._update(task, status="failed", result=exc.code)
        job = self.station.commands.job(outcome.id)
        if job is not None:
            self._spawn(self._watch(task.id, job.done), f"watch:{task.id}")
        return self._live.get(task.id, task)

    async def _watch(self, task_id: str, done: asyncio.Future[Any]) -> None:
        """A task whose execute job ended without a final progress event (the dock went
        silent): it ends as the job did (timeout), so it does not stay "flying" for ever."""
        outcome = await asyncio.shield(done)
        task = self._live.get(task_id)
        if task is not None and outcome.status not in ("ok", "success"):
            status = outcome.status if outcome.status in FINAL else "failed"
            await self._update(task, status=status, result=outcome.result)

    # -- what the dock says ------------------------------------------------------------------

    def _on_progress(self, msg: Message) -> None:
        p = parse_task_progress(msg)
        if p is None:
            return
        task = self._live.get(p.flight_id)
        if task is None:
            return
        status = {"sent": "executing", "": task.status}.get(p.status, p.status)
        changes: dict[str, Any] = {
            "status": status,
            "percent": p.percent if p.percent is not None else task.percent,
            "step": p.step or task.step,
            "waypoint_index": p.waypoint_index
            if p.waypoint_index is not None
            else task.waypoint_index,
            "mission_state": p.mission_state if p.mission_state is not None else task.mission_state,
            "media_count": p.media_count if p.media_count is not None else task.media_count,
            "break_point": p.break_point or task.break_point,
            "result": p.result or None,
        }
        en, zh = explain_task(status, p.result, p.break_point)
        updated = replace(task, **changes, message=en, updated_at=self.now())
        if status in FINAL:
            self._live.pop(task.id, None)
            level = "info" if status == "ok" else "warning"
            self._log(level, f"flight task {task.name!r}: {en}", task.dock_sn)
            if status == "ok" and task.params.get("continuous"):
                self._spawn(self._again(updated), f"again:{task.id}")
        else:
            self._live[task.id] = updated
        self._announce(updated, zh)
        write = status != task.status or status in FINAL or p.waypoint_index != task.waypoint_index
        if write:
            self._spawn(self._store.call(q.upsert_tasks, [updated]), f"task-row:{task.id}")

    def _on_ready(self, msg: Message) -> None:
        ids = msg.data.get("flight_ids") if isinstance(msg.data, Mapping) else None
        for flight_id in ids if isinstance(ids, list) else []:
            task = self._live.get(flight_id) if isinstance(flight_id, str) else None
            if task is None or task.task_type != CONDITIONAL or task.status != "prepared":
                continue
            en, zh = explain_task("executing", None, None)
            task = replace(task, status="executing", message=en, updated_at=self.now())
            self._live[task.id] = task
            self._announce(task, zh)
            self._spawn(self._store.call(q.upsert_tasks, [task]), f"task-row:{task.id}")
            self._spawn(self._execute(task), f"execute:{task.id}")

    def _on_return_home_info(self, msg: Message) -> None:
        if isinstance(msg.data, Mapping):
            self.rth_paths[msg.sn] = dict(msg.data)
            points = msg.data.get("planned_path_points")
            if isinstance(points, list) and points:
                self._log("info", f"return home: planned path of {len(points)} points", msg.sn)
                path = tuple(
                    (float(p["latitude"]), float(p["longitude"]), float(p.get("height") or 0.0))
                    for p in points
                    if isinstance(p, Mapping)
                    and isinstance(p.get("latitude"), int | float)
                    and isinstance(p.get("longitude"), int | float)
                )
                flight_id = msg.data.get("flight_id")
                self.station.bus.publish(
                    ReturnHomePath(
                        self.now(), msg.sn, flight_id if isinstance(flight_id, str) else "", path
                    )
                )

    def _on_media_first(self, msg: Message) -> None:
        flight_id = as_map(msg.data).get("flight_id")
        task = self._live.get(flight_id) if isinstance(flight_id, str) else None
        name = task.name if task is not None else flight_id
        self._log("info", f"the dock now uploads the media of {name!r} first", msg.sn)

    def _on_exit_homing(self, msg: Message) -> None:
        d = msg.data if isinstance(msg.data, Mapping) else {}
        action, reason = d.get("action"), d.get("reason")
        if str(action) == "1":
            self._log("warning", f"the aircraft left its return-home (reason {reason})", msg.sn)

    async def _resource_get(self, msg: Message) -> dict[str, Any]:
        data = msg.data if isinstance(msg.data, Mapping) else {}
        flight_id = data.get("flight_id")
        if not isinstance(flight_id, str) or not flight_id:
            raise RequestRefused(StationCode.INVALID_PARAMETER, "'flight_id' is missing")
        try:
            task = await self.task(flight_id)
        except MissionError:
            raise RequestRefused(
                StationCode.NOT_FOUND, f"flight task {flight_id} is not known to this station"
            ) from None
        if task.dock_sn != msg.sn:
            raise RequestRefused(
                StationCode.NOT_FOUND, f"flight task {flight_id} belongs to another dock"
            )
        library = self.station.capability(Waylines).library
        try:
            wayline = await library.get(task.workspace_id, task.wayline_id)
        except WaylineError as exc:
            raise RequestRefused(StationCode.NOT_FOUND, exc.en) from exc
        return {"file": {"url": library.url(wayline), "fingerprint": wayline.fingerprint}}

    async def _progress_get(self, msg: Message) -> dict[str, Any]:
        data = msg.data if isinstance(msg.data, Mapping) else {}
        flight_id = data.get("flight_id")
        if not isinstance(flight_id, str) or not flight_id:
            raise RequestRefused(StationCode.INVALID_PARAMETER, "'flight_id' is missing")
        try:
            task = await self.task(flight_id)
        except MissionError:
            raise RequestRefused(
                StationCode.NOT_FOUND, f"flight task {flight_id} is not known to this station"
            ) from None
        return {
            "flight_id": task.id,
            "status": task.status,
            "progress": {"current_step": task.step, "percent": task.percent or 0},
        }

    # -- internals ---------------------------------------------------------------------------

    def _new_task(
        self,
        workspace_id: str,
        name: str,
        dock_sn: str,
        wayline_id: str,
        task_type: int,
        params: dict[str, Any],
        actor: str,
        execute_time: int | None,
        *,
        plan_id: str = "",
        status: str = "planned",
    ) -> TaskRow:
        now = self.now()
        en, _ = explain_task(status, None, None)
        return TaskRow(
            id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            name=name,
            dock_sn=dock_sn,
            wayline_id=wayline_id,
            task_type=task_type,
            plan_id=plan_id,
            execute_time=execute_time,
            params=params,
            status=status,
            percent=None,
            step="",
            waypoint_index=None,
            mission_state=None,
            media_count=0,
            break_point=None,
            result=None,
            message=en,
            actor=actor,
            created_at=now,
            updated_at=now,
        )

    async def _save(self, task: TaskRow) -> None:
        await self._store.call(q.upsert_tasks, [task])
        if task.status not in FINAL:
            self._live[task.id] = task
        self._announce(task)

    async def _update(
        self,
        task: TaskRow,
        *,
        status: str,
        result: int | None,
        message: tuple[str, str] | None = None,
    ) -> TaskRow:
        current = self._live.get(task.id, task)
        en, zh = message or explain_task(status, result, None)
        updated = replace(current, status=status, result=result, message=en, updated_at=self.now())
        # Memory first, so a progress event arriving during the write is not overwritten.
        if status in FINAL:
            self._live.pop(task.id, None)
            if status not in ("ok", "canceled", "missed"):
                self._log("warning", f"flight task {task.name!r}: {en}", task.dock_sn)
        else:
            self._live[task.id] = updated
        self._announce(updated, zh)
        await self._store.call(q.upsert_tasks, [updated])
        return updated

    def _announce(self, task: TaskRow, message_zh: str = "") -> None:
        zh = message_zh or explain_task(task.status, task.result, task.break_point)[1]
        self.station.bus.publish(
            FlightTaskChanged(
                wall_ms(),
                task.id,
                task.workspace_id,
                task.dock_sn,
                task.wayline_id,
                task.name,
                task.status,
                task.percent,
                task.step,
                task.waypoint_index,
                task.mission_state,
                task.media_count,
                task.result,
                task.message,
                zh,
                task.break_point,
            )
        )

    def _refuse(self, exc: MissionError, dock_sn: str) -> MissionError:
        self._log("warning", exc.en, dock_sn)
        return exc

    def _log(self, level: str, message: str, sn: str = "") -> None:
        log.log(logging.WARNING if level == "warning" else logging.INFO, "%s", message)
        self.station.bus.publish(LogEntry(wall_ms(), "flighttask", level, message, sn))
