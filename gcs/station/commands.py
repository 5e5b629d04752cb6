"""The station's one command path: how a command reaches a device and how its progress comes back.

Theory of operation. Every command — a `services` method or a `property/set` — is declared once
as a `CommandSpec` by the capability module that offers it (its method, the progress events that
follow it, its timeouts, the preconditions to check before sending, whether it needs an explicit
confirmation). Callers (web handlers, the desktop through its bridge, schedules) all go through
`Commands.run()` / `Commands.start()`:

1. the spec's preconditions are checked against the registry and the current telemetry; a refusal
   raises `CommandRefused` (DJI-style code, EN/ZH reason) and is recorded, nothing is sent;
2. the gateway's `Conversation` (`gcs.protocol.conversation`, sans-IO) builds the message, which is
   published; a history row is written (`commands` table) and `CommandChanged` announced;
3. `receive()` gets every `services_reply`, `property/set_reply` and `events` message the station
   receives (the station's dispatcher calls it); the conversation says what changed — answered,
   advanced, finished — and the job, its row and the bus follow;
4. `tick()` (every 100 ms while something is pending) resends unanswered commands with a new tid
   and ends those whose reply or progress never came.

A command's `CommandJob.done` resolves with a `CommandOutcome` (status, DJI result and its meaning
in English and Chinese, the last progress). `run()` waits for it and raises `CommandFailed` when
the command did not succeed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gcs.aio import spawn
from gcs.protocol import writable
from gcs.protocol.conversation import (
    Advanced,
    Answered,
    Change,
    Conversation,
    Finished,
    Plan,
    Progress,
    Sent,
)
from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode, describe
from gcs.protocol.topics import TopicKind
from gcs.station.bus import CommandChanged, EventBus, LogEntry
from gcs.station.devices import DeviceRegistry, DeviceView
from gcs.store import commands as q
from gcs.store.commands import CommandRow
from gcs.store.db import Store

log = logging.getLogger(__name__)

#: The result code of a command that never got a reply (the Demo SDK's "MQTT publish failed").
NO_REPLY_CODE = 211001
#: How often a running job's percent is written to its history row (status changes always are).
PROGRESS_WRITE_INTERVAL_S = 5.0

Publish = Callable[[Message, int], None]
StateOf = Callable[[str], Mapping[str, Any]]


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- preconditions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """What a precondition may look at: the gateway, its aircraft, and their current state."""

    gateway: DeviceView
    aircraft: DeviceView | None
    gateway_state: Mapping[str, Any]
    aircraft_state: Mapping[str, Any]
    data: Any


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a command may not be sent now: a DJI-style code and the reason in EN/ZH."""

    code: int
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class Precondition:
    name: str
    check: Callable[[Target], Refusal | None]


def _online(t: Target) -> Refusal | None:
    if t.gateway.online:
        return None
    return Refusal(
        StationCode.DEVICE_OFFLINE,
        f"{t.gateway.sn} is offline: wait until it reconnects to the station",
        f"{t.gateway.sn} 已离线：请等待设备重新连接到地面站",
    )


def _aircraft_online(t: Target) -> Refusal | None:
    if t.aircraft is not None and t.aircraft.online:
        return None
    return Refusal(
        StationCode.DEVICE_OFFLINE,
        f"the aircraft of {t.gateway.sn} is offline or powered off",
        f"{t.gateway.sn} 的飞行器离线或未开机",
    )


def _mode(state: Mapping[str, Any]) -> int | None:
    mode = state.get("mode_code")
    return mode if isinstance(mode, int) and not isinstance(mode, bool) else None


def _dock_idle(t: Target) -> Refusal | None:
    mode = _mode(t.gateway_state)
    if mode in (None, 0):
        return None
    return Refusal(
        StationCode.PRECONDITION_FAILED,
        f"the dock is not idle (mode_code {mode}): wait until its current job ends",
        f"机场不在空闲状态（mode_code {mode}）：请等待当前作业结束",
    )


def _debug_mode(t: Target) -> Refusal | None:
    if _mode(t.gateway_state) == 2:
        return None
    return Refusal(
        StationCode.PRECONDITION_FAILED,
        "the dock is not in remote-debugging mode: turn debug mode on first",
        "机场未处于远程调试模式：请先开启调试模式",
    )


def _aircraft_in_dock(t: Target) -> Refusal | None:
    if t.gateway_state.get("drone_in_dock") in (1, True, None):
        return None
    return Refusal(
        StationCode.PRECONDITION_FAILED,
        "the aircraft is not in the dock",
        "飞行器不在机场内",
    )


ONLINE = Precondition("online", _online)
AIRCRAFT_ONLINE = Precondition("aircraft_online", _aircraft_online)
DOCK_IDLE = Precondition("dock_idle", _dock_idle)
DEBUG_MODE = Precondition("debug_mode", _debug_mode)
AIRCRAFT_IN_DOCK = Precondition("aircraft_in_dock", _aircraft_in_dock)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command the station offers: one declaration per DJI method (protocol §4, §3.5).

    `progress` lists the events (same bid) that report on the job after the reply; empty means
    the reply ends it. `dangerous` commands run only with `confirmed=True` (the caller asked the
    operator). `preconditions` are checked in order before anything is sent.
    """

    method: str
    title_en: str
    title_zh: str
    progress: frozenset[str] = frozenset()
    reply_timeout_s: float = 3.0
    retries: int = 2
    progress_timeout_s: float = 120.0
    preconditions: tuple[Precondition, ...] = (ONLINE,)
    dangerous: bool = False

    def plan(self, data: Any) -> Plan:
        return Plan(
            method=self.method,
            data=data,
            progress=self.progress,
            reply_timeout_s=self.reply_timeout_s,
            retries=self.retries,
            progress_timeout_s=self.progress_timeout_s,
        )


def _writable(t: Target) -> Refusal | None:
    data = t.data
    if not isinstance(data, dict) or not data:
        return Refusal(
            StationCode.INVALID_PARAMETER,
            'property/set needs {"<property>": value}',
            'property/set 需要 {"<属性>": 值}',
        )
    for name, value in data.items():
        try:
            writable.check(name, value)
        except ValueError as exc:
            return Refusal(StationCode.INVALID_PARAMETER, str(exc), f"设置值无效：{exc}")
    return None


WRITABLE = Precondition("writable", _writable)

#: Writing device properties (§3.5): one spec, the data names the property; ranges are checked.
PROPERTY_SET = CommandSpec(
    "property/set", "Change a device setting", "修改设备设置", preconditions=(ONLINE, WRITABLE)
)


# -- outcomes and errors ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """How a command ended (or where it is, for a snapshot of a running one)."""

    id: str
    gateway_sn: str
    method: str
    status: str
    result: int | None
    message_en: str
    message_zh: str
    output: Any = None
    progress: Progress | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" or (
            self.status in ("success", "synchronized") and not self.result
        )


class CommandRefused(Exception):
    """The command was not sent: a precondition failed, it is unknown, or not confirmed."""

    def __init__(self, code: int, en: str, zh: str = "", *, method: str = "", sn: str = "") -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.zh = zh or en
        self.method = method
        self.sn = sn


class CommandFailed(Exception):
    """The command was sent and did not succeed; `outcome` says how it ended."""

    def __init__(self, outcome: CommandOutcome) -> None:
        super().__init__(
            f"{outcome.method} on {outcome.gateway_sn}: {outcome.status}"
            + (f" ({outcome.result})" if outcome.result else "")
            + f": {outcome.message_en}"
        )
        self.outcome = outcome

    @property
    def code(self) -> int:
        return self.outcome.result or NO_REPLY_CODE


@dataclass(eq=False)
class CommandJob:
    """One command in flight. `done` resolves with its outcome, `accepted` as soon as the
    device has answered (or the command ended without an answer); neither raises."""

    id: str
    gateway_sn: str
    method: str
    spec: CommandSpec
    actor: str
    data: Any
    bid: str
    done: asyncio.Future[CommandOutcome]
    accepted: asyncio.Future[None]
    status: str = "sent"
    result: int | None = None
    progress: Progress | None = None
    output: Any = None
    attempts: int = 1
    created_at: int = field(default_factory=_now_ms)
    written_at: float = 0.0

    def row(self, message: str = "") -> CommandRow:
        p = self.progress
        return CommandRow(
            id=self.id,
            created_at=self.created_at,
            updated_at=_now_ms(),
            actor=self.actor,
            gateway_sn=self.gateway_sn,
            method=self.method,
            data=self.data,
            bid=self.bid,
            status=self.status,
            result=self.result,
            message=message,
            percent=p.percent if p is not None else None,
            step=p.step if p is not None else "",
            output=self.output,
            attempts=self.attempts,
        )


def explain(status: str, result: int | None, method: str) -> tuple[str, str]:
    """The outcome of a command in words (EN, ZH)."""
    if status == "timeout" and result is None:
        return (
            f"{method}: no answer from the device in time; is it online and connected?",
            f"{method}：设备未及时响应；请检查设备是否在线",
        )
    if result:
        meaning = describe(result)
        return meaning.en, meaning.zh
    words = {
        "sent": ("sent, waiting for the device's answer", "已发送，等待设备响应"),
        "running": ("accepted by the device, in progress", "设备已接受，执行中"),
        "in_progress": ("in progress", "执行中"),
        "ok": ("done", "完成"),
        "success": ("done", "完成"),
        "canceled": ("canceled", "已取消"),
        "rejected": ("rejected by the device", "设备拒绝执行"),
        "failed": ("failed", "失败"),
        "partially_done": ("partially done", "部分完成"),
        "paused": ("paused", "已暂停"),
        "timeout": ("timed out on the device", "设备执行超时"),
        "synchronized": ("synchronized", "同步完成"),  # flight_areas_sync_progress
        "synchronizing": ("synchronizing", "同步中"),
        "wait_sync": ("waiting to synchronize", "等待同步"),
        "switch_fail": ("the link switch failed", "链路切换失败"),
    }
    en, zh = words.get(status, (status, status))
    return en, zh


# -- the service -----------------------------------------------------------------------------


class Commands:
    """Commands to devices: declare, check, send, follow, record. See the module docstring."""

    def __init__(
        self,
        *,
        publish: Publish,
        registry: DeviceRegistry,
        state_of: StateOf,
        store: Store,
        bus: EventBus,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publish = publish
        self.registry = registry
        self._state_of = state_of
        self.store = store
        self.bus = bus
        self._clock = clock
        self._specs: dict[str, CommandSpec] = {PROPERTY_SET.method: PROPERTY_SET}
        self._conversations: dict[str, Conversation] = {}
        self._jobs: dict[tuple[str, int], CommandJob] = {}
        self._by_id: dict[str, CommandJob] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._writes: set[asyncio.Task[None]] = set()

    # -- declarations --------------------------------------------------------------------

    def declare(self, specs: Iterable[CommandSpec]) -> None:
        for spec in specs:
            if spec.method in self._specs and self._specs[spec.method] != spec:
                raise ValueError(f"command {spec.method} is declared twice")
            self._specs[spec.method] = spec

    def spec(self, method: str) -> CommandSpec | None:
        return self._specs.get(method)

    def methods(self) -> list[str]:
        return sorted(self._specs)

    def titles(self) -> dict[str, tuple[str, str]]:
        """Each declared command's name in English and Chinese, by method."""
        return {m: (spec.title_en, spec.title_zh) for m, spec in self._specs.items()}

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Mark commands a previous run left in flight as interrupted; start the ticker."""
        for row in await self.store.call(q.unfinished_commands):
            en = "the station stopped before the command ended; check the device"
            await self.store.call(
                q.upsert_command,
                replace(row, status="interrupted", updated_at=_now_ms(), message=en),
            )
        self._ticker = spawn(self._tick_loop(), name="commands-ticker")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None
        for job in list(self._by_id.values()):
            self._end(job, "interrupted", None, None)
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    # -- sending -------------------------------------------------------------------------

    def target(self, gateway_sn: str, data: Any = None) -> Target:
        """The precondition view of a gateway. Raises CommandRefused for an unknown device."""
        view = self.registry.view(gateway_sn)
        if view is None:
            raise CommandRefused(
                StationCode.UNKNOWN_DEVICE,
                f"device {gateway_sn} is unknown to the station",
                f"地面站不认识设备 {gateway_sn}",
                sn=gateway_sn,
            )
        if not view.is_gateway:
            raise CommandRefused(
                StationCode.INVALID_PARAMETER,
                f"{gateway_sn} is not a dock or a remote controller: send commands to its gateway",
                f"{gateway_sn} 不是机场或遥控器：请向其网关发送指令",
                sn=gateway_sn,
            )
        aircraft_sn = view.sub_devices[0] if view.sub_devices else None
        aircraft = self.registry.view(aircraft_sn) if aircraft_sn else None
        return Target(
            gateway=view,
            aircraft=aircraft,
            gateway_state=self._state_of(gateway_sn),
            aircraft_state=self._state_of(aircraft_sn) if aircraft_sn else {},
            data=data,
        )

    def check(self, gateway_sn: str, method: str, data: Any = None) -> CommandSpec:
        """The spec of `method` if it may be sent to `gateway_sn` now; else CommandRefused."""
        spec = self._specs.get(method)
        if spec is None:
            raise CommandRefused(
                StationCode.NOT_SUPPORTED,
                f"the station does not offer the command {method!r}",
                f"地面站不支持指令 {method!r}",
                method=method,
                sn=gateway_sn,
            )
        target = self.target(gateway_sn, data)
        for pre in spec.preconditions:
            refusal = pre.check(target)
            if refusal is not None:
                raise CommandRefused(
                    refusal.code, refusal.en, refusal.zh, method=method, sn=gateway_sn
                )
        return spec

    def start_command(
        self,
        gateway_sn: str,
        method: str,
        data: Any = None,
        *,
        actor: str = "operator",
        bid: str | None = None,
        confirmed: bool = False,
    ) -> CommandJob:
        """Check and send a command; returns at once with the job to follow.

        Raises:
            CommandRefused: unknown command or device, a precondition failed, or a dangerous
                command without `confirmed` (the refusal is recorded and announced).
        """
        try:
            spec = self.check(gateway_sn, method, data)
            if spec.dangerous and not confirmed:
                raise CommandRefused(
                    StationCode.CONFIRMATION_REQUIRED,
                    f"{spec.title_en} needs an explicit confirmation",
                    f"{spec.title_zh}需要明确确认",
                    method=method,
                    sn=gateway_sn,
                )
        except CommandRefused as exc:
            self._record_refusal(gateway_sn, method, data, actor, exc)
            raise
        conversation = self._conversations.get(gateway_sn)
        if conversation is None:
            conversation = self._conversations[gateway_sn] = Conversation(gateway_sn)
        try:
            sent = conversation.send(spec.plan(data), self._clock(), bid=bid)
        except ValueError as exc:
            refused = CommandRefused(
                StationCode.PRECONDITION_FAILED,
                str(exc),
                f"{gateway_sn} 上已有相同业务编号的作业在执行",
                method=method,
                sn=gateway_sn,
            )
            self._record_refusal(gateway_sn, method, data, actor, refused)
            raise refused from exc
        loop = asyncio.get_running_loop()
        job = CommandJob(
            id=str(uuid.uuid4()),
            gateway_sn=gateway_sn,
            method=method,
            spec=spec,
            actor=actor,
            data=data,
            bid=sent.message.bid,
            done=loop.create_future(),
            accepted=loop.create_future(),
        )
        self._jobs[(gateway_sn, sent.command_id)] = job
        self._by_id[job.id] = job
        self._publish(sent.message, 0)
        log.info("command %s → %s by %s (bid %s)", method, gateway_sn, actor, job.bid)
        self._changed(job, write=True)
        self._wake.set()
        return job

    async def run(
        self,
        gateway_sn: str,
        method: str,
        data: Any = None,
        *,
        actor: str = "operator",
        bid: str | None = None,
        confirmed: bool = False,
    ) -> CommandOutcome:
        """Send a command and wait until it has ended (reply, or its progress to the end).

        Raises:
            CommandRefused: it was not sent (see `start_command`).
            CommandFailed: the device refused it, it failed, or it timed out.
        """
        job = self.start_command(
            gateway_sn, method, data, actor=actor, bid=bid, confirmed=confirmed
        )
        outcome = await asyncio.shield(job.done)
        if not outcome.ok:
            raise CommandFailed(outcome)
        return outcome

    async def start_accepted(
        self,
        gateway_sn: str,
        method: str,
        data: Any = None,
        *,
        actor: str = "operator",
        bid: str | None = None,
        confirmed: bool = False,
    ) -> CommandOutcome:
        """Send a command and wait only until the device has answered it: a plain command's
        final outcome, or a job's snapshot once it runs (its progress then comes as
        `CommandChanged` events). Raises like `run()`."""
        job = self.start_command(
            gateway_sn, method, data, actor=actor, bid=bid, confirmed=confirmed
        )
        await asyncio.shield(job.accepted)
        outcome = job.done.result() if job.done.done() else self.snapshot(job)
        if job.done.done() and not outcome.ok:
            raise CommandFailed(outcome)
        return outcome

    async def set_property(
        self, gateway_sn: str, name: str, value: Any, *, actor: str = "operator"
    ) -> CommandOutcome:
        """Write one device property (§3.5) through its gateway and wait for the result.

        A struct property is sent one sub-field per message, stopping at the first that
        fails (as DJI's reference platform does). Raises like `run()`; a value out of range
        is refused before anything is sent.
        """
        try:
            payloads = writable.messages(name, value)
        except ValueError as exc:
            refused = CommandRefused(
                StationCode.INVALID_PARAMETER,
                str(exc),
                f"设置值无效：{exc}",
                method="property/set",
                sn=gateway_sn,
            )
            self._record_refusal(gateway_sn, "property/set", {name: value}, actor, refused)
            raise refused from exc
        outcome: CommandOutcome | None = None
        for payload in payloads:
            outcome = await self.run(gateway_sn, "property/set", payload, actor=actor)
        assert outcome is not None
        return outcome

    def cancel(self, job_id: str) -> bool:
        """Stop following a job (the device is not told). False if it is not in flight."""
        job = self._by_id.get(job_id)
        if job is None:
            return False
        for (sn, command_id), j in list(self._jobs.items()):
            if j is job:
                self._conversations[sn].cancel(command_id)
        self._end(job, "canceled", None, None)
        return True

    # -- what comes back -----------------------------------------------------------------

    def receive(self, msg: Message) -> bool:
        """Feed a message from a device; True if it concerned a command in flight."""
        if msg.kind not in (
            TopicKind.SERVICES_REPLY,
            TopicKind.PROPERTY_SET_REPLY,
            TopicKind.EVENTS,
        ):
            return False
        conversation = self._conversations.get(msg.sn)
        if conversation is None or not len(conversation):
            return False
        changes = conversation.receive(msg, self._clock())
        self._apply(msg.sn, changes)
        return bool(changes)

    def tick(self) -> None:
        now = self._clock()
        for sn, conversation in self._conversations.items():
            if len(conversation):
                self._apply(sn, conversation.tick(now))

    def pending(self) -> int:
        return len(self._by_id)

    def job(self, job_id: str) -> CommandJob | None:
        return self._by_id.get(job_id)

    def snapshot(self, job: CommandJob) -> CommandOutcome:
        en, zh = explain(job.status, job.result, job.method)
        return CommandOutcome(
            job.id,
            job.gateway_sn,
            job.method,
            job.status,
            job.result,
            en,
            zh,
            job.output,
            job.progress,
        )

    async def history(self, gateway_sn: str | None = None, limit: int = 500) -> list[CommandRow]:
        return await self.store.call(q.list_commands, gateway_sn, limit)

    # -- internals -----------------------------------------------------------------------

    def _apply(self, sn: str, changes: list[Change]) -> None:
        for change in changes:
            job = self._jobs.get((sn, change.command_id))
            if job is None:
                continue
            if isinstance(change, Sent):
                job.attempts = change.attempt
                log.info(
                    "no reply to %s on %s, resending (attempt %d)", job.method, sn, change.attempt
                )
                self._publish(change.message, 0)
            elif isinstance(change, Answered):
                job.output = change.output
                if not job.accepted.done():
                    job.accepted.set_result(None)
                if not change.final:
                    job.status = "running"
                    self._changed(job, write=True)
            elif isinstance(change, Advanced):
                status_changed = change.progress.status not in ("", job.status)
                job.progress = change.progress
                if change.progress.status:
                    job.status = change.progress.status
                now = self._clock()
                write = status_changed or now - job.written_at >= PROGRESS_WRITE_INTERVAL_S
                self._changed(job, write=write)
            elif isinstance(change, Finished):
                del self._jobs[(sn, change.command_id)]
                if change.progress is not None:
                    job.progress = change.progress
                if change.output is not None:
                    job.output = change.output
                self._end(job, change.status, change.result, change.output)

    def _end(self, job: CommandJob, status: str, result: int | None, output: Any) -> None:
        self._by_id.pop(job.id, None)
        for key, j in list(self._jobs.items()):
            if j is job:
                del self._jobs[key]
        job.status = status
        job.result = result
        if output is not None:
            job.output = output
        outcome = self.snapshot(job)
        if not job.accepted.done():
            job.accepted.set_result(None)
        if not job.done.done():
            job.done.set_result(outcome)
        level = "info" if outcome.ok else "warning"
        log.log(
            logging.INFO if outcome.ok else logging.WARNING,
            "command %s on %s: %s%s — %s",
            job.method,
            job.gateway_sn,
            status,
            f" ({result})" if result else "",
            outcome.message_en,
        )
        self.bus.publish(
            LogEntry(
                _now_ms(),
                "command",
                level,
                f"{job.spec.title_en}: {status}"
                + (f" ({result}: {outcome.message_en})" if result or not outcome.ok else ""),
                job.gateway_sn,
            )
        )
        self._changed(job, write=True)

    def _changed(self, job: CommandJob, *, write: bool) -> None:
        outcome = self.snapshot(job)
        p = job.progress
        self.bus.publish(
            CommandChanged(
                _now_ms(),
                job.id,
                job.gateway_sn,
                job.method,
                job.actor,
                job.status,
                job.result,
                p.percent if p is not None else None,
                p.step if p is not None else "",
                outcome.message_en,
                outcome.message_zh,
                job.bid,
            )
        )
        if write:
            job.written_at = self._clock()
            self._write(job.row(outcome.message_en))

    def _write(self, row: CommandRow) -> None:
        task = spawn(self.store.call(q.upsert_command, row), name=f"command-row:{row.id}")
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def _record_refusal(
        self, sn: str, method: str, data: Any, actor: str, exc: CommandRefused
    ) -> None:
        now = _now_ms()
        log.warning("command %s on %s refused: %s", method, sn, exc.en)
        self.bus.publish(LogEntry(now, "command", "warning", f"{method} refused: {exc.en}", sn))
        row = CommandRow(
            id=str(uuid.uuid4()),
            created_at=now,
            updated_at=now,
            actor=actor,
            gateway_sn=sn,
            method=method,
            data=data,
            bid="",
            status="refused",
            result=exc.code,
            message=exc.en,
            percent=None,
            step="",
            output=None,
            attempts=0,
        )
        self.bus.publish(
            CommandChanged(
                now, row.id, sn, method, actor, "refused", exc.code, None, "", exc.en, exc.zh, ""
            )
        )
        self._write(row)

    async def flush(self) -> None:
        """Wait until every history write issued so far is committed."""
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def _tick_loop(self) -> None:
        while True:
            if not self._by_id:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(0.1)
            try:
                self.tick()
            except Exception:
                log.exception("command ticker failed")
