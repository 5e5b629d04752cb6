"""What the station has asked one gateway, and how far each request has got, sans-IO (h11 style).

Theory of operation: a `Conversation` belongs to one gateway (dock or RC). The station calls
`send()` with a `Plan` (the method, its data and how it behaves: reply timeout, retries, the
progress events that follow it) and publishes the message it gets back. Everything the gateway
says that may concern a command — `services_reply`, `property/set_reply`, `events` — goes to
`receive()`, and the clock goes to `tick()`. Both return `Change`s: the command was (re)sent,
answered, refused, made progress, finished or timed out. Nothing here reads a clock, a socket or
a database; the caller owns all three and only acts on what this object decides.

A command's life (`Phase`):

    sent ── reply result 0, no progress ──────────────────────────▶ done (ok)
      │  ── reply result 0, progress declared ─▶ running ─ terminal status ▶ done (status)
      │  ── reply result ≠ 0 ─────────────────────────────────────▶ done (failed, result)
      │  ── no reply after every retry ───────────────────────────▶ done (timeout)
    running ── no progress event for `progress_timeout_s` ───────▶ done (timeout)

Replies match on `tid` + `bid` of the latest send (`gcs.protocol.calls.PendingCalls`); a resend
gets a new tid and keeps the bid (the Demo's behaviour). Progress events match on `bid` and the
event method (§4.6: the same method name for remote-debugging jobs, `flighttask_progress` for a
task, `ota_progress`, `fileupload_progress`, …). A progress event that overtakes its reply counts
as the reply (devices answer and start the job at once; MQTT does not order different topics).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gcs.protocol.calls import CallPolicy, PendingCalls, Reply, Resend, Timeout
from gcs.protocol.envelope import Message, new_id
from gcs.protocol.topics import Topic, TopicKind

#: Progress statuses that end a job (§4 "Status enum"; flighttask adds partially_done; the
#: point-flight and speaker events use their own words for the same ends).
TERMINAL_STATUSES = frozenset(
    {
        "ok",
        "rejected",
        "failed",
        "canceled",
        "timeout",
        "partially_done",
        "success",
        "fail",
        "wayline_ok",
        "wayline_failed",
        "wayline_cancel",
        "task_finish",
        "synchronized",  # flight_areas_sync_progress (§5)
        "switch_fail",
    }
)
#: Terminal statuses that mean success.
SUCCESS_STATUSES = frozenset({"ok", "success", "wayline_ok", "task_finish", "synchronized"})


class Phase(enum.StrEnum):
    SENT = "sent"  # published, no reply yet
    RUNNING = "running"  # accepted; progress events follow
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Plan:
    """One command as the wire sees it, and how long to wait for each part of it.

    `method` is the service method, or "property/set" for a property write (then `data` is the
    `{"<property>": value}` map). `progress` names the events that report on the job; empty means
    the reply ends the command.
    """

    method: str
    data: Any = None
    progress: frozenset[str] = frozenset()
    reply_timeout_s: float = 3.0
    retries: int = 2
    progress_timeout_s: float = 120.0

    @property
    def is_property_set(self) -> bool:
        return self.method == "property/set"


@dataclass(frozen=True, slots=True)
class Progress:
    """What one progress event said. `percent` is 0–100 when given; `step` is the device's step
    key or number as text (display only: step numbering differs between models)."""

    status: str
    result: int
    percent: float | None
    step: str
    output: Any


# -- what receive()/tick() decide ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """Publish `message` now (a first send carries attempt 1; resends count up)."""

    command_id: int
    message: Message
    attempt: int


@dataclass(frozen=True, slots=True)
class Answered:
    """The device accepted the command (result 0). `final` when no progress follows."""

    command_id: int
    output: Any
    final: bool


@dataclass(frozen=True, slots=True)
class Advanced:
    """A progress event for a running command that did not end it."""

    command_id: int
    progress: Progress
    event: Message


@dataclass(frozen=True, slots=True)
class Finished:
    """The command is over. `status` is the job's last status ("ok", "failed", "timeout", …),
    `result` the DJI code that explains a failure (0 on success; the link's no-reply code
    211001 is the caller's to choose, so a reply timeout has `result` None)."""

    command_id: int
    status: str
    result: int | None
    output: Any
    progress: Progress | None = None
    event: Message | None = None

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS_STATUSES and not self.result


Change = Sent | Answered | Advanced | Finished


@dataclass(slots=True)
class _Command:
    plan: Plan
    bid: str
    phase: Phase = Phase.SENT
    call_id: int = 0
    progress_deadline: float | None = None
    last: Progress | None = None
    attempts: int = 1


def parse_progress(data: Any) -> Progress:
    """A progress event's `data` as a `Progress`.

    Most jobs send `{"result": n, "output": {"status", "progress": {"percent", "current_step" or
    "step_key"}}}`; point-flight events put `status`/`result` directly in `data`. Missing parts
    read as status "" and result 0; a non-numeric percent reads as None.
    """
    d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    output = d.get("output")
    body: Mapping[str, Any] = output if isinstance(output, Mapping) else d
    status = body.get("status", d.get("status", ""))
    result = d.get("result", body.get("result", 0))
    progress = body.get("progress")
    p: Mapping[str, Any] = progress if isinstance(progress, Mapping) else {}
    percent = p.get("percent", p.get("progress"))
    step = p.get("step_key", p.get("current_step", ""))
    return Progress(
        status=status if isinstance(status, str) else str(status),
        result=result if isinstance(result, int) and not isinstance(result, bool) else -1,
        percent=float(percent)
        if isinstance(percent, int | float) and not isinstance(percent, bool)
        else None,
        step="" if step is None else str(step),
        output=output if output is not None else d,
    )


@dataclass
class Conversation:
    """The commands in flight to one gateway. See the module docstring."""

    gateway_sn: str
    _calls: PendingCalls = field(default_factory=PendingCalls)
    _commands: dict[int, _Command] = field(default_factory=dict)
    _by_call: dict[int, int] = field(default_factory=dict)
    _by_bid: dict[str, int] = field(default_factory=dict)
    _next_id: int = 1

    def __len__(self) -> int:
        return len(self._commands)

    def phase(self, command_id: int) -> Phase | None:
        command = self._commands.get(command_id)
        return command.phase if command is not None else None

    def send(self, plan: Plan, now: float, *, bid: str | None = None) -> Sent:
        """Start a command; publish the returned message. `bid` defaults to a new uuid (a flight
        task passes its flight_id, as the Demo does)."""
        bid = bid or new_id()
        if plan.progress and bid in self._by_bid:
            raise ValueError(f"a job with bid {bid} is already running on {self.gateway_sn}")
        kind = TopicKind.PROPERTY_SET if plan.is_property_set else TopicKind.SERVICES
        message = Message(
            topic=Topic(kind, self.gateway_sn),
            tid=new_id(),
            bid=bid,
            timestamp=0,
            method=None if plan.is_property_set else plan.method,
            data=plan.data if plan.data is not None else {},
        )
        command_id = self._next_id
        self._next_id += 1
        call_id = self._calls.start(
            message, now, CallPolicy(timeout_s=plan.reply_timeout_s, retries=plan.retries)
        )
        self._commands[command_id] = _Command(plan, bid, call_id=call_id)
        self._by_call[call_id] = command_id
        if plan.progress:
            self._by_bid[bid] = command_id
        return Sent(command_id, message, 1)

    def cancel(self, command_id: int) -> None:
        """Stop following a command (its caller gave up). Unknown ids are ignored."""
        command = self._commands.pop(command_id, None)
        if command is None:
            return
        self._calls.cancel(command.call_id)
        self._by_call.pop(command.call_id, None)
        if self._by_bid.get(command.bid) == command_id:
            del self._by_bid[command.bid]

    def receive(self, msg: Message, now: float) -> list[Change]:
        """What `msg` changes; [] when it concerns no command of ours."""
        if msg.topic.sn != self.gateway_sn:
            return []
        if msg.kind in (TopicKind.SERVICES_REPLY, TopicKind.PROPERTY_SET_REPLY):
            reply = self._calls.on_reply(msg)
            return self._on_reply(reply, now) if reply is not None else []
        if msg.kind is TopicKind.EVENTS:
            return self._on_event(msg, now)
        return []

    def tick(self, now: float) -> list[Change]:
        """Resends and timeouts due at `now`."""
        out: list[Change] = []
        for action in self._calls.on_tick(now):
            command_id = self._by_call.get(action.call_id)
            if command_id is None:
                continue
            if isinstance(action, Resend):
                command = self._commands[command_id]
                command.attempts += 1
                out.append(Sent(command_id, action.message, command.attempts))
            elif isinstance(action, Timeout):
                out.append(self._finish(command_id, "timeout", None, None))
        for command_id, command in list(self._commands.items()):
            deadline = command.progress_deadline
            if command.phase is Phase.RUNNING and deadline is not None and deadline <= now:
                out.append(self._finish(command_id, "timeout", None, None, command.last))
        return out

    def next_deadline(self) -> float | None:
        deadlines = [c.progress_deadline for c in self._commands.values() if c.progress_deadline]
        pending = self._calls.next_deadline()
        if pending is not None:
            deadlines.append(pending)
        return min(deadlines, default=None)

    # -- internals -------------------------------------------------------------------------

    def _on_reply(self, reply: Reply, now: float) -> list[Change]:
        command_id = self._by_call.pop(reply.call_id, None)
        if command_id is None:
            return []
        command = self._commands[command_id]
        if reply.result != 0:
            return [self._finish(command_id, "failed", reply.result, reply.output)]
        if not command.plan.progress:
            answered = Answered(command_id, reply.output, final=True)
            return [answered, self._finish(command_id, "ok", 0, reply.output)]
        if command.phase is Phase.SENT:
            command.phase = Phase.RUNNING
            command.progress_deadline = now + command.plan.progress_timeout_s
        return [Answered(command_id, reply.output, final=False)]

    def _on_event(self, msg: Message, now: float) -> list[Change]:
        command_id = self._by_bid.get(msg.bid)
        if command_id is None:
            return []
        command = self._commands[command_id]
        if msg.method not in command.plan.progress:
            return []
        out: list[Change] = []
        if command.phase is Phase.SENT:
            # The job's first event overtook the reply: the device has accepted it.
            self._calls.cancel(command.call_id)
            self._by_call.pop(command.call_id, None)
            command.phase = Phase.RUNNING
            out.append(Answered(command_id, None, final=False))
        progress = parse_progress(msg.data)
        command.last = progress
        command.progress_deadline = now + command.plan.progress_timeout_s
        if progress.status in TERMINAL_STATUSES:
            result = progress.result
            status = progress.status
            if status in SUCCESS_STATUSES and result not in (0, -1):
                # "ok" with a non-zero result: believe the code, it says what went wrong.
                status = "failed"
            out.append(self._finish(command_id, status, result, progress.output, progress, msg))
        else:
            out.append(Advanced(command_id, progress, msg))
        return out

    def _finish(
        self,
        command_id: int,
        status: str,
        result: int | None,
        output: Any,
        progress: Progress | None = None,
        event: Message | None = None,
    ) -> Finished:
        command = self._commands.pop(command_id)
        command.phase = Phase.DONE
        self._calls.cancel(command.call_id)
        self._by_call.pop(command.call_id, None)
        if self._by_bid.get(command.bid) == command_id:
            del self._by_bid[command.bid]
        return Finished(command_id, status, result, output, progress, event)
