"""Fixtures for the object store: the S3 server on its own thread and loop, clients for it.

boto3 and minio are blocking clients, so the server runs on a background loop (as it does
beside the Qt loop in the desktop app) and the tests themselves are plain functions.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from station_harness import make_certificate

from gcs.station.storage import StorageAccess, TemporaryCredentials
from gcs.store.settings import Settings, load_settings
from gcs.web.s3 import S3Server, start_s3_server


@dataclass
class RunningStore:
    """An S3 server on a background loop."""

    server: S3Server
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    data_dir: Path
    settings: Settings
    ca_file: Path | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def access(self) -> StorageAccess:
        return self.server.access

    def mint(self, **kwargs: Any) -> TemporaryCredentials:
        return self.access.mint(**kwargs)

    def boto3(
        self,
        creds: TemporaryCredentials | None = None,
        *,
        secret: str | None = None,
        **config: Any,
    ) -> Any:
        """A boto3 S3 client with `creds` (default: read/write on the whole bucket)."""
        creds = creds or self.mint()
        s3_config = {"addressing_style": "path", **config.pop("s3", {})}
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=secret or creds.secret,
            aws_session_token=creds.session_token,
            region_name=self.settings.storage.region,
            verify=str(self.ca_file) if self.ca_file else None,
            config=Config(
                signature_version="s3v4",
                s3=s3_config,
                retries={"max_attempts": 1, "mode": "standard"},
                **config,
            ),
        )

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def start_store(
    data_dir: Path, *, ssl_context: ssl.SSLContext | None = None, **settings_overrides: Any
) -> RunningStore:
    settings = load_settings(data_dir)
    for name, value in settings_overrides.items():
        setattr(settings.storage, name, value)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="s3-test-loop", daemon=True)
    thread.start()
    future = asyncio.run_coroutine_threadsafe(
        start_s3_server(
            "127.0.0.1", 0, data_dir=data_dir, settings=settings, ssl_context=ssl_context
        ),
        loop,
    )
    server = future.result(30)
    return RunningStore(server, loop, thread, data_dir, settings)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunningStore]:
    running = start_store(tmp_path / "data")
    yield running
    running.close()


@pytest.fixture
def tls_store(tmp_path: Path) -> Iterator[RunningStore]:
    """The store over HTTPS (botocore then uses trailing checksums: aws-chunked bodies)."""
    cert, key = make_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    running = start_store(tmp_path / "data", ssl_context=context)
    running.ca_file = cert
    yield running
    running.close()


def start_store_process(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """`gcs storage serve` as a child process on a free port; returns it and its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gcs",
            "storage",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--s3-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("ready "), line
    return proc, line.split()[1]
