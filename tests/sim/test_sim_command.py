"""`gcs sim` as a user runs it: credentials JSON in, one line per gateway, clean stop on SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sim_cloud import Cloud, Mosquitto

pytestmark = pytest.mark.mosquitto


def test_gcs_sim_with_credentials_file(tmp_path: Path, mosquitto: Mosquitto, cloud: Cloud) -> None:
    creds = tmp_path / "c.json"
    creds.write_text(
        json.dumps(
            {
                "mqtt_host": "127.0.0.1",
                "mqtt_port": mosquitto.port,
                "username": "device",
                "password": "secret",
                "workspace_id": "ws-1",
                "binding_code": "qwe",
            }
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcs", "sim", "--credentials", str(creds), "--docks", "3",
         "--pilots", "1", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("fleet ready"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(20), f"no 'fleet ready'; got {lines}"
        online = [line for line in lines if line.startswith("online ")]
        assert len(online) == 4
        assert {line.split()[1] for line in online} == {"dock1", "dock2", "dock3", "rcplus"}
        # The organisation id came from the credentials file.
        binds = [
            s
            for s in cloud.seen(lambda s: s.topic.endswith("/requests"))
            if s.method == "airport_organization_get"
        ]
        assert {s.data["organization_id"] for s in binds} == {"ws-1"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    assert lines[-1] == "stopped"


def test_gcs_sim_without_broker_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from gcs.cli.main import main

    assert main(["sim", "--docks", "1"]) == 2
    assert "--broker" in capsys.readouterr().err
