"""Shared fixtures: free ports, the shared data folder, `gcs serve` as a subprocess."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[1]
# GCS_SHARED_DATA: where shared/data is when the checkout is not beside it (a worktree)
SHARED_DATA = Path(os.environ.get("GCS_SHARED_DATA") or REPO.parent / "shared" / "data")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is not present")
    return SHARED_DATA


def gcs_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gcs", *args]


@dataclass
class ServeProcess:
    """`gcs serve` running as a child process, with the lines it printed."""

    proc: subprocess.Popen[str]
    data_dir: Path
    mqtt_port: int
    ntp_port: int
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def credentials(self) -> dict[str, object]:
        out = subprocess.run(
            gcs_command("credentials", "--data-dir", str(self.data_dir)),
            check=True,
            capture_output=True,
            text=True,
        )
        doc: dict[str, object] = json.loads(out.stdout)
        return doc

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def start_serve(data_dir: Path, *extra: str, timeout: float = 20.0) -> ServeProcess:
    mqtt_port, ntp_port = free_port(), free_port(socket.SOCK_DGRAM)
    args = [
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--mqtt-port",
        str(mqtt_port),
        "--ntp-port",
        str(ntp_port),
        "--http-port",
        str(free_port()),
        "--https-port",
        str(free_port()),
        "--s3-port",
        str(free_port()),
        *extra,
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        gcs_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    sp = ServeProcess(proc, data_dir, mqtt_port, ntp_port)

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sp.lines.append(line.rstrip("\n"))
            if line.strip() == "ready":
                sp.ready.set()

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not sp.ready.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            sp.stop()
            raise AssertionError("gcs serve did not get ready:\n" + "\n".join(sp.lines))
    return sp


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    sp = start_serve(tmp_path / "station")
    yield sp
    sp.stop()


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key) in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gcs test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str = "1m") -> Iterator[Path]:
    """Mount a tmpfs of `size` on `folder` (a real disk that fills up); skip if not permitted."""
    folder.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip() or mount.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill_disk(folder: Path) -> Path:
    """Write a file in `folder` until its file system is full; return the file."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as handle:
        for chunk in (b"\0" * 65536, b"\0" * 512, b"\0"):
            try:
                while True:
                    handle.write(chunk)
            except OSError:
                pass
    return filler
