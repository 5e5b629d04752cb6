"""HMS alarms in the station: full-snapshot semantics (raise, keep, clear), texts from the built-in
words and from an imported DJI table, the real Dock 3 capture replayed, bad reports refused,
read marks and history — against the embedded broker and a literal-JSON dock."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms, runtime, wait_for

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import HmsChanged, LogEntry
from gcs.station.health import Health, HmsTableError
from gcs.store.hms import AlarmQuery

__all__ = ["runtime"]


class Seen:
    def __init__(self) -> None:
        self.changes: list[HmsChanged] = []
        self.logs: list[LogEntry] = []
        self.lock = threading.Lock()

    def change(self, e: HmsChanged) -> None:
        with self.lock:
            self.changes.append(e)

    def log(self, e: LogEntry) -> None:
        with self.lock:
            self.logs.append(e)

    def last(self, sn: str) -> HmsChanged | None:
        with self.lock:
            return next((c for c in reversed(self.changes) if c.sn == sn), None)


@pytest.fixture(scope="module")
def seen(runtime: ThreadedRuntime) -> Seen:
    s = Seen()

    async def attach() -> None:
        runtime.runtime.station.bus.subscribe(HmsChanged, s.change)
        runtime.runtime.station.bus.subscribe(LogEntry, s.log)

    runtime.submit(attach()).result(5)
    return s


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime, seen: Seen) -> Iterator[RawDock]:
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    registry = runtime.runtime.station.registry
    wait_for(lambda: registry.is_online(AIRCRAFT), what="online")
    yield d
    d.close()


def health(rt: ThreadedRuntime) -> Health:
    return rt.runtime.station.capability(Health)


def report(dock: RawDock, items: list[dict[str, Any]], *, topic_sn: str = DOCK) -> None:
    body = {
        "tid": str(uuid.uuid4()),
        "bid": str(uuid.uuid4()),
        "timestamp": now_ms(),
        "gateway": DOCK,
        "method": "hms",
        "data": {"list": items},
    }
    dock.c.publish(f"thing/product/{topic_sn}/events", json.dumps(body), qos=1)


def alarm(
    code: str, device_type: str, level: int = 2, sensor: int = 0, sky: int = 0
) -> dict[str, Any]:
    return {
        "level": level,
        "module": 3,
        "in_the_sky": sky,
        "code": code,
        "device_type": device_type,
        "imminent": 0,
        "args": {"component_index": 0, "sensor_index": sensor},
    }


def active_codes(rt: ThreadedRuntime, sn: str) -> set[tuple[str, int]]:
    return {(a.code, a.sensor_index) for a in health(rt).active(sn)}


def test_reports_raise_keep_and_clear(runtime: ThreadedRuntime, dock: RawDock, seen: Seen) -> None:
    battery = alarm("0x16100083", "0-91-0")
    cover_left = alarm("0x19110000", "3-2-0", sensor=0)
    cover_right = alarm("0x19110000", "3-2-0", sensor=1)
    report(dock, [battery, cover_left, cover_right])
    wait_for(lambda: len(active_codes(runtime, DOCK)) == 2, what="dock alarms")
    assert active_codes(runtime, AIRCRAFT) == {("0x16100083", 0)}, "aircraft alarm on its own SN"
    texts = {a.sensor_index: a.text_en for a in health(runtime).active(DOCK)}
    assert "left" in texts[0] and "right" in texts[1]
    assert any(e.kind == "hms" and e.level == "warning" and e.sn == AIRCRAFT for e in seen.logs)
    first = seen.last(DOCK)
    assert first is not None and len(first.raised) == 2 and first.unread >= 2

    n = len(seen.changes)
    report(dock, [battery, cover_left, cover_right])  # the same set: nothing changes
    report(dock, [cover_left])  # battery and right cover cleared
    wait_for(lambda: active_codes(runtime, DOCK) == {("0x19110000", 0)}, what="clear")
    wait_for(lambda: not active_codes(runtime, AIRCRAFT), what="aircraft cleared")
    assert all(len(c.raised) == 0 for c in seen.changes[n:]), "a repeated report raises nothing"
    cleared = seen.last(AIRCRAFT)
    assert cleared is not None and cleared.cleared[0].code == "0x16100083" and not cleared.active

    report(dock, [])
    wait_for(lambda: not health(runtime).active(DOCK), what="all cleared")
    rows, total = runtime.submit(health(runtime).history(AlarmQuery(sns=(DOCK,)))).result(5)
    assert total == 2 and all(r.cleared_at is not None for r in rows)


def test_the_real_dock3_capture_replays(
    runtime: ThreadedRuntime, dock: RawDock, shared_data: Path
) -> None:
    capture = shared_data / "captures/dock3-m4td-flight/topics"
    lines = (capture / "thing__product__SN_DRONE_FIXTURE__events.0001.jsonl").read_text()
    raised: set[str] = set()
    for line in lines.splitlines():
        payload = json.loads(line)["payload"]
        text = json.dumps(payload).replace("SN_DOCK_FIXTURE", DOCK)
        dock.c.publish(f"thing/product/{AIRCRAFT}/events", text, qos=1)
        raised |= {i["code"] for i in payload["data"]["list"]}
    assert raised == {"0x1B030019", "0x1D050003"}

    def done() -> list[Any] | None:
        rows = _history(runtime, AIRCRAFT)
        if {x.code for x in rows} >= raised and not health(runtime).active(AIRCRAFT):
            return rows
        return None

    rows = wait_for(done, what="capture alarms raised and cleared")
    gimbal = next(r for r in rows if r.code == "0x1D050003")
    assert "Gimbal 1" in gimbal.text_en and gimbal.in_the_sky


def _history(rt: ThreadedRuntime, sn: str) -> list[Any]:
    rows, _ = rt.submit(health(rt).history(AlarmQuery(sns=(sn,), limit=1000))).result(5)
    return rows


def test_imported_table_words_new_alarms(
    runtime: ThreadedRuntime, dock: RawDock, shared_data: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(HmsTableError):
        runtime.submit(health(runtime).import_table(bad)).result(10)
    n = runtime.submit(health(runtime).import_table(shared_data / "hms.json")).result(30)
    assert n == 3842
    assert (runtime.runtime.station.data_dir / "hms-table.json").exists()
    report(dock, [alarm("0x12040000", "3-2-0")])
    wait_for(
        lambda: any(a.text_en == "RTK device disconnected" for a in health(runtime).active(DOCK)),
        what="imported text",
    )
    assert health(runtime).active(DOCK)[0].text_zh == "设备RTK断连"
    report(dock, [])
    wait_for(lambda: not health(runtime).active(DOCK), what="cleared")


def test_bad_reports_are_refused_visibly(
    runtime: ThreadedRuntime, dock: RawDock, seen: Seen
) -> None:
    report(dock, [{"code": "not hex", "device_type": "3-2-0"}])
    wait_for(
        lambda: any(e.kind == "rejected" and "hms" in e.message for e in seen.logs),
        what="refusal in the events log",
    )


def test_mark_read(runtime: ThreadedRuntime, dock: RawDock, seen: Seen) -> None:
    report(dock, [alarm("0x19111800", "3-2-0")])
    wait_for(lambda: ("0x19111800", 0) in active_codes(runtime, DOCK), what="raised")
    assert health(runtime).unread().get(DOCK, 0) > 0
    runtime.submit(health(runtime).mark_read([DOCK])).result(5)
    assert health(runtime).unread().get(DOCK, 0) == 0
    last = seen.last(DOCK)
    assert last is not None and last.unread == 0
    _rows, total = runtime.submit(
        health(runtime).history(AlarmQuery(sns=(DOCK,), unread_only=True))
    ).result(5)
    assert total == 0
    report(dock, [])


def test_cli_imports_a_table_and_refuses_a_bad_one(shared_data: Path, tmp_path: Path) -> None:
    import subprocess

    from station_harness import gcs_command

    ok = subprocess.run(
        gcs_command("hms", "import", str(shared_data / "hms.json"), "--data-dir", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and "3842" in ok.stdout
    assert json.loads((tmp_path / "hms-table.json").read_text())["dock_tip_0x12040000"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = subprocess.run(
        gcs_command("hms", "import", str(bad), "--data-dir", str(tmp_path / "other")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "not valid JSON" in out.stderr
    assert not (tmp_path / "other" / "hms-table.json").exists()
