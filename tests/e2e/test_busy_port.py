"""First run on a machine where a port is taken: the error names the port, its service, the
setting in gcs.toml and the option that move it (headless `gcs serve` and the desktop text)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from station_harness import free_port, gcs_command

from gcs.station.ports import busy_port, busy_port_advice, port_in_use
from gcs.store.settings import Settings


@pytest.mark.parametrize(
    ("option", "setting"),
    [
        ("--mqtt-port", "[mqtt] port"),
        ("--http-port", "[http] port"),
        ("--s3-port", "[storage] port"),
    ],
)
def test_serve_names_the_taken_port_and_the_setting_to_change(
    tmp_path: Path, option: str, setting: str
) -> None:
    ports = {o: free_port() for o in ("--mqtt-port", "--http-port", "--https-port", "--s3-port")}
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        ports[option] = blocker.getsockname()[1]
        args = ["serve", "--data-dir", str(tmp_path / "station"), "--host", "127.0.0.1"]
        args += ["--ntp-port", str(free_port(socket.SOCK_DGRAM))]
        args += [str(x) for kv in ports.items() for x in kv]
        out = subprocess.run(gcs_command(*args), capture_output=True, text=True, timeout=90)
    assert out.returncode == 1
    advice = [line for line in out.stderr.splitlines() if "already used by another program" in line]
    assert advice, out.stderr[-2000:]
    assert f"Port {ports[option]}" in advice[0]
    assert setting in advice[0] and option in advice[0]
    assert str(tmp_path / "station" / "gcs.toml") in advice[0]


def test_advice_from_the_error_chain_and_from_the_broker_childs_text(tmp_path: Path) -> None:
    s = Settings()
    s.mqtt.port = 18830
    child = RuntimeError(
        "the broker exited at start: OSError: [Errno 98] error while attempting to bind on "
        "address ('0.0.0.0', 18830): [errno 98] address already in use"
    )
    assert port_in_use(child) and busy_port(child) == 18830
    text = busy_port_advice(child, s, tmp_path / "gcs.toml")
    assert text is not None and "MQTT broker" in text and "--mqtt-port" in text

    try:
        try:
            raise OSError(98, "error while attempting to bind on address ('0.0.0.0', 9000)")
        except OSError as inner:
            raise RuntimeError("the object store cannot start") from inner
    except RuntimeError as outer:
        text = busy_port_advice(outer, s, tmp_path / "gcs.toml")
    assert text is not None and "[storage] port" in text and "Port 9000" in text

    unknown = OSError(98, "address ('0.0.0.0', 4444) already in use")
    text = busy_port_advice(unknown, s, tmp_path / "gcs.toml")
    assert text is not None and "Port 4444" in text
    assert busy_port_advice(ValueError("bad settings"), s, tmp_path / "gcs.toml") is None
