"""Issue 17 item 10: a busy NTP port never moves the station to a random port, and
`gcs storage sts` names the running store and survives a full disk."""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from station_harness import fill_disk, free_port, gcs_command, small_tmpfs, start_serve

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.station.bus import LogEntry
from gcs.station.ntp import NtpPortError, NtpServer
from gcs.store.settings import load_settings

GW = "PORTGW0001"


@pytest.fixture
def busy_udp() -> Iterator[int]:
    """A UDP port on 127.0.0.1 that another program holds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


async def test_both_ntp_ports_busy_fails_loudly_instead_of_a_random_port(busy_udp: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(("127.0.0.1", 0))
        fallback = other.getsockname()[1]
        server = NtpServer("127.0.0.1", [busy_udp, fallback])
        with pytest.raises(NtpPortError) as raised:
            await server.start()
    assert server.port is None
    text = str(raised.value)
    assert str(busy_udp) in text and str(fallback) in text
    assert "gcs.toml" in text and "--ntp-port" in text


async def test_busy_ntp_port_uses_the_fallback_and_says_so(busy_udp: int) -> None:
    fallback = free_port(socket.SOCK_DGRAM)
    notices: list[str] = []
    server = NtpServer("127.0.0.1", [busy_udp, fallback], on_notice=notices.append)
    try:
        assert await server.start() == fallback
    finally:
        server.stop()
    assert server.notice is not None and notices == [server.notice]
    assert str(fallback) in server.notice and str(busy_udp) in server.notice


def _config_request(tid: str) -> bytes:
    return json.dumps(
        {
            "tid": tid,
            "bid": "b",
            "timestamp": 1,
            "method": "config",
            "data": {"config_type": "json", "config_scope": "product"},
        }
    ).encode()


def test_config_reply_announces_the_fallback_port_and_the_operator_sees_why(
    tmp_path: Path, busy_udp: int
) -> None:
    s = load_settings(tmp_path)
    s.station.host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = busy_udp
    s.ntp.fallback_port = fallback = free_port(socket.SOCK_DGRAM)
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    runtime = Runtime(s, tmp_path)
    entries: list[LogEntry] = []
    runtime.station.bus.subscribe(LogEntry, entries.append)
    rt = ThreadedRuntime(runtime)
    rt.start()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=GW)
    try:
        replies: queue.Queue[dict[str, Any]] = queue.Queue()
        subscribed = queue.Queue[int]()
        client.username_pw_set(s.mqtt.device_username, s.mqtt.device_password)
        client.on_message = lambda cl, u, m: replies.put(json.loads(m.payload))
        client.on_subscribe = lambda *a: subscribed.put(1)
        client.connect("127.0.0.1", runtime.station.mqtt_port)
        client.loop_start()
        client.subscribe(f"thing/product/{GW}/requests_reply", qos=1)
        subscribed.get(timeout=10)
        client.publish(f"thing/product/{GW}/requests", _config_request("ntp-1"), qos=1)
        reply = replies.get(timeout=10)
        assert reply["tid"] == "ntp-1"
        assert reply["data"]["ntp_server_port"] == fallback
        ntp_entries = [e for e in entries if e.kind == "ntp"]
        assert len(ntp_entries) == 1 and ntp_entries[0].level == "warning"
        assert str(fallback) in ntp_entries[0].message
        runtime_doc = json.loads((tmp_path / "runtime.json").read_text())
        assert runtime_doc["ntp_port"] == fallback
    finally:
        client.loop_stop()
        client.disconnect()
        rt.stop()


def test_station_refuses_to_start_when_no_ntp_port_is_free(tmp_path: Path, busy_udp: int) -> None:
    s = load_settings(tmp_path)
    s.station.host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = busy_udp
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    runtime = Runtime(s, tmp_path)

    async def start() -> None:
        try:
            await runtime.start()
        finally:
            await runtime.stop()

    with pytest.raises(NtpPortError):
        asyncio.run(start())


def _sts(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gcs_command("storage", "sts", "--data-dir", str(data_dir), "--prefix", "media"),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_storage_sts_names_the_running_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "station"
    s3_port = free_port()
    sp = start_serve(data_dir, "--s3-port", str(s3_port))
    try:
        out = _sts(data_dir)
    finally:
        sp.stop()
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["endpoint"] == f"http://127.0.0.1:{s3_port}"


def test_storage_sts_on_a_full_disk_says_so_without_a_traceback(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        load_settings(disk)
        fill_disk(disk)
        started = time.monotonic()
        out = _sts(disk)
    assert time.monotonic() - started < 60
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    assert "full" in out.stderr and "free some space" in out.stderr
