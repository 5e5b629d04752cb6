"""The station's command path against the embedded broker and a dock in literal wire JSON:
reply, DJI error explained, resend and timeout, progress to the end (also when a progress event
overtakes the reply), preconditions refused before anything is sent, confirmation of dangerous
commands, and the command history rows."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, runtime, wait_for

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import CommandChanged
from gcs.station.commands import CommandFailed, CommandOutcome, CommandRefused, CommandSpec
from gcs.store.commands import CommandRow

__all__ = ["runtime"]

#: A service no device offers, with short timeouts: the resend/timeout path without waiting 9 s.
PING = CommandSpec("gcs_test_ping", "Ping", "测试", reply_timeout_s=0.4)


class Recorder:
    """CommandChanged events as the bus publishes them (station thread → test thread)."""

    def __init__(self) -> None:
        self.events: list[CommandChanged] = []
        self.lock = threading.Lock()

    def __call__(self, event: CommandChanged) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, job_id: str) -> list[CommandChanged]:
        with self.lock:
            return [e for e in self.events if e.job_id == job_id]


@pytest.fixture(scope="module")
def recorder(runtime: ThreadedRuntime) -> Recorder:
    rec = Recorder()
    station = runtime.runtime.station

    async def attach() -> None:
        station.bus.subscribe(CommandChanged, rec)
        station.commands.declare([PING])

    runtime.submit(attach()).result(5)
    return rec


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime, recorder: Recorder) -> Iterator[RawDock]:
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    registry = runtime.runtime.station.registry
    wait_for(lambda: registry.is_online(DOCK) and registry.is_online(AIRCRAFT), what="online")
    yield d
    d.close()


def run(
    rt: ThreadedRuntime, method: str, data: Any = None, **kw: Any
) -> concurrent.futures.Future[CommandOutcome]:
    return rt.submit(rt.runtime.station.commands.run(DOCK, method, data, **kw))


def history(rt: ThreadedRuntime, job_id: str) -> CommandRow:
    commands = rt.runtime.station.commands
    rt.submit(commands.flush()).result(5)
    rows = rt.submit(commands.history(DOCK)).result(5)
    return next(r for r in rows if r.id == job_id)


def set_mode(rt: ThreadedRuntime, dock: RawDock, mode: int) -> None:
    dock.osd(mode_code=mode, drone_in_dock=1)
    telemetry = rt.runtime.station.telemetry
    wait_for(lambda: telemetry.current(DOCK).get("mode_code") == mode, what=f"mode {mode}")


def test_property_set_ok_is_recorded(runtime: ThreadedRuntime, dock: RawDock) -> None:
    dock.script = lambda d, cmd: d.reply(cmd, {"height_limit": {"result": 0}})
    outcome = run(runtime, "property/set", {"height_limit": 120}, actor="api:alice").result(10)
    assert outcome.ok and outcome.status == "ok"
    sent = dock.sent("property/set")[-1]
    assert sent["_topic"] == f"thing/product/{DOCK}/property/set"
    assert sent["data"] == {"height_limit": 120} and "method" not in sent
    row = history(runtime, outcome.id)
    assert row.status == "ok" and row.actor == "api:alice" and row.data == {"height_limit": 120}
    assert row.method == "property/set" and row.attempts == 1


def test_dji_error_is_explained(runtime: ThreadedRuntime, dock: RawDock) -> None:
    set_mode(runtime, dock, 2)
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 514107})
    with pytest.raises(CommandFailed) as failed:
        run(runtime, "cover_open").result(10)
    outcome = failed.value.outcome
    assert outcome.status == "failed" and outcome.result == 514107
    assert failed.value.code == 514107
    assert outcome.message_en and outcome.message_zh and outcome.message_en != outcome.message_zh
    row = history(runtime, outcome.id)
    assert row.status == "failed" and row.result == 514107 and row.message == outcome.message_en


def test_unanswered_command_is_resent_then_times_out(
    runtime: ThreadedRuntime, dock: RawDock, recorder: Recorder
) -> None:
    dock.script = None
    with pytest.raises(CommandFailed) as failed:
        run(runtime, "gcs_test_ping").result(10)
    outcome = failed.value.outcome
    assert outcome.status == "timeout" and outcome.result is None
    assert failed.value.code == 211001
    bid = history(runtime, outcome.id).bid
    sends = [c for c in dock.sent("gcs_test_ping") if c["bid"] == bid]
    assert len(sends) == 3, "one send and two resends"
    assert len({c["tid"] for c in sends}) == 3, "each resend has a new tid"
    row = history(runtime, outcome.id)
    assert row.status == "timeout" and row.attempts == 3
    assert "no answer" in row.message


def _progress(percent: int, status: str, step: str = "") -> dict[str, Any]:
    return {
        "result": 0,
        "output": {"status": status, "progress": {"percent": percent, "step_key": step}},
    }


def test_progress_is_followed_to_the_end(
    runtime: ThreadedRuntime, dock: RawDock, recorder: Recorder
) -> None:
    set_mode(runtime, dock, 2)
    release = threading.Event()

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        d.reply(cmd, {"result": 0})
        d.event("cover_open", cmd["bid"], _progress(40, "in_progress", "open_cover"))

        def finish() -> None:  # later, off paho's network thread
            release.wait(10)
            d.event("cover_open", cmd["bid"], _progress(100, "ok", "open_cover"))

        threading.Thread(target=finish, daemon=True).start()

    dock.script = script
    future = run(runtime, "cover_open")
    job_id = wait_for(
        lambda: next(
            (e.job_id for e in recorder.events if e.status == "in_progress" and e.percent == 40),
            None,
        ),
        what="in_progress 40 %",
    )
    assert not future.done(), "a job with progress is not over at its reply"
    release.set()
    outcome = future.result(10)
    assert outcome.ok and outcome.progress is not None and outcome.progress.percent == 100
    statuses = [e.status for e in recorder.of(job_id)]
    assert statuses[0] == "sent" and statuses[-1] == "ok"
    assert "running" in statuses and "in_progress" in statuses
    row = history(runtime, job_id)
    assert row.status == "ok" and row.percent == 100 and row.step == "open_cover"


def test_progress_event_overtaking_the_reply_counts(
    runtime: ThreadedRuntime, dock: RawDock
) -> None:
    set_mode(runtime, dock, 2)

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        d.event("cover_open", cmd["bid"], _progress(100, "ok"))
        d.reply(cmd, {"result": 0})  # late: answers nothing in flight any more

    dock.script = script
    outcome = run(runtime, "cover_open").result(10)
    assert outcome.ok


def test_failed_progress_ends_with_its_code(runtime: ThreadedRuntime, dock: RawDock) -> None:
    set_mode(runtime, dock, 2)

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        d.reply(cmd, {"result": 0})
        d.event("cover_open", cmd["bid"], {"result": 514109, "output": {"status": "failed"}})

    dock.script = script
    with pytest.raises(CommandFailed) as failed:
        run(runtime, "cover_open").result(10)
    assert failed.value.outcome.status == "failed" and failed.value.code == 514109


def test_precondition_refuses_before_sending(runtime: ThreadedRuntime, dock: RawDock) -> None:
    set_mode(runtime, dock, 0)  # idle, not in debug mode
    before = len(dock.sent("cover_open"))
    with pytest.raises(CommandRefused) as refused:
        run(runtime, "cover_open").result(10)
    assert refused.value.code == 212016 and "debug" in refused.value.en
    assert refused.value.zh != refused.value.en
    assert len(dock.sent("cover_open")) == before, "nothing was sent"
    commands = runtime.runtime.station.commands
    runtime.submit(commands.flush()).result(5)
    rows = runtime.submit(commands.history(DOCK)).result(5)
    assert rows[0].status == "refused" and rows[0].method == "cover_open"


def test_unknown_and_offline_targets_are_refused(runtime: ThreadedRuntime, dock: RawDock) -> None:
    commands = runtime.runtime.station.commands
    with pytest.raises(CommandRefused) as unknown:
        runtime.submit(commands.run("NOSUCHDOCK", "debug_mode_open")).result(5)
    assert unknown.value.code == 210001
    with pytest.raises(CommandRefused) as aircraft:
        runtime.submit(commands.run(AIRCRAFT, "debug_mode_open")).result(5)
    assert "gateway" in aircraft.value.en
    with pytest.raises(CommandRefused) as not_offered:
        run(runtime, "no_such_service").result(5)
    assert not_offered.value.code == 210005


def test_dangerous_command_needs_confirmation(runtime: ThreadedRuntime, dock: RawDock) -> None:
    set_mode(runtime, dock, 2)
    before = len(dock.sent("device_reboot"))
    with pytest.raises(CommandRefused) as refused:
        run(runtime, "device_reboot").result(5)
    assert refused.value.code == 212017
    assert len(dock.sent("device_reboot")) == before

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        d.reply(cmd, {"result": 0})
        d.event("device_reboot", cmd["bid"], _progress(100, "ok"))

    dock.script = script
    assert run(runtime, "device_reboot", confirmed=True).result(10).ok


def test_resent_progress_event_is_applied_once_and_answered_each_time(
    runtime: ThreadedRuntime, dock: RawDock, recorder: Recorder
) -> None:
    set_mode(runtime, dock, 2)
    tids: list[str] = []

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        d.reply(cmd, {"result": 0})
        tid = d.event("cover_open", cmd["bid"], _progress(30, "in_progress"))
        d.event("cover_open", cmd["bid"], _progress(30, "in_progress"), tid=tid)  # re-send
        tids.append(tid)
        d.event("cover_open", cmd["bid"], _progress(100, "ok"))

    dock.script = script
    outcome = run(runtime, "cover_open").result(10)
    progress = [e for e in recorder.of(outcome.id) if e.status == "in_progress"]
    assert len(progress) == 1, "the re-sent event was dropped"
    wait_for(
        lambda: sum(1 for r in dock.replies if r.get("tid") == tids[0]) == 2,
        what="both copies answered",
    )


def test_property_ranges_are_checked_and_structs_split(
    runtime: ThreadedRuntime, dock: RawDock
) -> None:
    commands = runtime.runtime.station.commands
    before = len(dock.sent("property/set"))
    with pytest.raises(CommandRefused) as refused:
        runtime.submit(commands.set_property(DOCK, "height_limit", 5000)).result(5)
    assert refused.value.code == 210002 and "at most 1500" in refused.value.en
    with pytest.raises(CommandRefused):
        run(runtime, "property/set", {"rth_altitude": 1}).result(5)
    assert len(dock.sent("property/set")) == before, "nothing was sent"

    dock.script = lambda d, cmd: d.reply(cmd, {k: {"result": 0} for k in cmd["data"]})
    value = {"state": 1, "distance_limit": 3000}
    outcome = runtime.submit(commands.set_property(DOCK, "distance_limit_status", value)).result(10)
    assert outcome.ok
    sent = [c["data"] for c in dock.sent("property/set")[before:]]
    assert sent == [
        {"distance_limit_status": {"state": 1}},
        {"distance_limit_status": {"distance_limit": 3000}},
    ]
