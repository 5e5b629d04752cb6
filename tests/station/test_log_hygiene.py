"""Issue 17 #8: logs rotate by size, a burst of the same line becomes one line and a count, and
a full disk (a real tmpfs that fills up) is reported once with what to do."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from station_harness import fill_disk, free_port, small_tmpfs, start_serve

from broker import BrokerProcess
from gcs.logsetup import RepeatFilter, SafeRotatingFileHandler, limit_repeats
from gcs.runtime import Runtime, ThreadedRuntime
from gcs.station.bus import LogEntry
from gcs.station.core import Station
from gcs.store.settings import Settings, load_settings

GW = "LOGGW00001"


def _wait(pred: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


async def _await(pred: Callable[[], object]) -> None:
    deadline = time.monotonic() + 20
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _messages(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records]


# -- repeats ------------------------------------------------------------------------------


def test_repeats_become_one_line_and_a_count(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("gcs.test.repeats")
    clock = _Clock()
    limiter = RepeatFilter(logger, window_s=10.0, clock=clock)
    logger.addFilter(limiter)
    try:
        with caplog.at_level(logging.INFO, logger="gcs.test.repeats"):
            for i in range(5000):
                logger.warning("rejected message on %s: %s", "t", f"reason {i}")
            logger.info("another line %d", 1)  # another template is not held back
            assert _messages(caplog.records) == [
                "rejected message on t: reason 0",
                "another line 1",
            ]
            clock.now += 10.0
            logger.warning("rejected message on %s: %s", "t", "reason late")
        assert _messages(caplog.records)[2:] == [
            "rejected message on t: reason 0 (repeated 4999 more times in the last 10 s;"
            " the latest: rejected message on t: reason 4999)",
            "rejected message on t: reason late",
        ]
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="gcs.test.repeats"):
            logger.warning("rejected message on %s: %s", "t", "held")
            limiter.flush()
        assert _messages(caplog.records) == [
            "rejected message on t: reason late (repeated 1 more times in the last 10 s;"
            " the latest: rejected message on t: held)"
        ]
        assert caplog.records[0].repeated == 1  # type: ignore[attr-defined]
    finally:
        logger.removeFilter(limiter)


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedRuntime]:
    data_dir: Path = tmp_path_factory.mktemp("logs")
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    rt = ThreadedRuntime(Runtime(s, data_dir))
    rt.start()
    yield rt
    rt.stop()


def test_a_burst_of_bad_messages_is_a_few_lines_with_the_count(
    station: ThreadedRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    st = station.runtime.station
    s = station.runtime.settings
    limiter = limit_repeats(logging.getLogger("gcs.station.dispatch"))
    limiter.flush()
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=GW)
    device.username_pw_set(s.mqtt.device_username, s.mqtt.device_password)
    device.connect("127.0.0.1", st.mqtt_port)
    device.loop_start()
    before = st.rejected
    try:
        with caplog.at_level(logging.WARNING, logger="gcs.station.dispatch"):
            for i in range(2000):
                device.publish(f"thing/product/{GW}/osd", b"not json %d" % i, qos=0)
            device.publish(f"thing/product/{GW}/osd", b"{", qos=0).wait_for_publish(10)
            _wait(lambda: st.rejected - before >= 2001)
            limiter.flush()
    finally:
        device.loop_stop()
        device.disconnect()
    lines = [r for r in caplog.records if r.getMessage().startswith("rejected message on")]
    assert 1 <= len(lines) <= 10  # one per 10 s window, not one per message
    counted = sum(getattr(r, "repeated", 0) for r in lines) + sum(
        1 for r in lines if not hasattr(r, "repeated")
    )
    assert counted == 2001


# -- rotation -----------------------------------------------------------------------------


def test_broker_log_is_rotated_by_size(tmp_path: Path) -> None:
    port = free_port()
    chatter = (
        "import socket, sys, time\n"
        "for i in range(3000): sys.stderr.write('broker line %05d ' % i + 'x' * 80 + '\\n')\n"
        "sys.stderr.flush()\n"
        "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
        "print('GCS-BROKER LISTENING 127.0.0.1 %s' % sys.argv[1], flush=True)\n"
        "time.sleep(60)\n"
    )
    auth = tmp_path / "broker-auth.json"
    auth.write_text('{"version": 1, "users": []}')
    log_path = tmp_path / "logs" / "broker.log"
    log_path.parent.mkdir()
    broker = BrokerProcess(
        auth,
        host="127.0.0.1",
        port=port,
        log_path=log_path,
        command=[sys.executable, "-c", chatter, str(port)],
        log_max_bytes=20_000,
    )
    broker.start()
    try:
        _wait(lambda: "broker line 02999" in log_path.read_text())
    finally:
        broker.stop()
    files = sorted(p.name for p in log_path.parent.iterdir())
    assert files == ["broker.log", *(f"broker.log.{i}" for i in range(1, 6))]
    assert all((log_path.parent / f).stat().st_size <= 20_000 for f in files)


@pytest.mark.slow
def test_serve_writes_a_size_rotated_station_log(tmp_path: Path) -> None:
    sp = start_serve(tmp_path / "station")
    try:
        station_log = tmp_path / "station" / "logs" / "station.log"
        _wait(lambda: station_log.exists() and "INFO" in station_log.read_text())
    finally:
        sp.stop()
    handler = SafeRotatingFileHandler(tmp_path / "rot" / "x.log", max_bytes=1000, backups=2)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        for i in range(200):
            handler.handle(logging.makeLogRecord({"msg": f"line {i:04d} " + "y" * 40}))
    finally:
        handler.close()
    assert sorted(p.name for p in (tmp_path / "rot").iterdir()) == ["x.log", "x.log.1", "x.log.2"]


# -- a full disk --------------------------------------------------------------------------


def _station_settings(data_dir: Path) -> Settings:
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    return s


def _messages_with(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [m for m in _messages(caplog.records) if text in m]


def _full_disk_records(records: list[logging.LogRecord], what: str) -> list[logging.LogRecord]:
    return [r for r in records if r.getMessage().startswith(f"the disk is full: {what}")]


@pytest.mark.slow
async def test_a_full_disk_is_reported_once_with_what_to_do(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every writer pass writes the open history chunk (not every 10 s), so each pass fails.
    monkeypatch.setattr("gcs.station.telemetry.CHECKPOINT_S", 0.0)
    with small_tmpfs(tmp_path / "disk", "8m") as disk:
        station = Station(_station_settings(disk), disk)
        await station.start()
        entries: list[LogEntry] = []
        station.bus.subscribe(LogEntry, entries.append)
        try:
            filler = fill_disk(disk)
            with caplog.at_level(logging.INFO):
                for round_ in range(3):  # three failing passes of each writer
                    station.telemetry.ingest(f"SN{round_}", GW, "osd", {"h": round_}, 1)
                    station.bus.publish(LogEntry(1, "online", "info", f"dev {round_} online"))
                    await _await(lambda: station.telemetry.queued == 0)
                    await _await(lambda: not station._pending_log)
                telemetry = _full_disk_records(caplog.records, "telemetry history")
                events = _full_disk_records(caplog.records, "the station's events")
                assert len(telemetry) == 1 and len(events) == 1
                assert telemetry[0].levelno == logging.ERROR
                assert "Free some space" in telemetry[0].getMessage()
                assert not [r for r in caplog.records if r.exc_info]  # no tracebacks
                notices = [e for e in entries if e.message.startswith("the disk is full")]
                assert len(notices) == 2 and {e.level for e in notices} == {"error"}

                filler.unlink()
                station.telemetry.ingest("SNok", GW, "osd", {"h": 1}, 1)
                station.bus.publish(LogEntry(1, "online", "info", "dev ok online"))
                await _await(lambda: len(_messages_with(caplog, "space available again")) == 2)
                # Full again at shutdown: the last flushes fail quietly, the store still closes.
                fill_disk(disk)
                station.telemetry.ingest("SNlast", GW, "osd", {"h": 1}, 1)
                station.bus.publish(LogEntry(1, "online", "info", "dev last online"))
                await station.stop()
                assert station.store is None
                assert not [r for r in caplog.records if r.exc_info]
        finally:
            await station.stop()


def test_a_log_file_on_a_full_disk_says_so_once(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        fill_disk(disk)
        handler = SafeRotatingFileHandler(disk / "logs" / "station.log")
        try:
            for i in range(300):
                handler.handle(logging.makeLogRecord({"msg": f"line {i} " + "z" * 200}))
        finally:
            try:
                handler.close()
            except OSError:
                pass
    err = capfd.readouterr().err
    assert err.count("the disk is full") == 1
    assert "Traceback" not in err and "Logging error" not in err
