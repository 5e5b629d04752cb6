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
import time
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


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def signed_request(
    store: RunningStore,
    creds: Any,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    host: str | None = None,
    target: str | None = None,
) -> RawAnswer:
    """One SigV4-signed request over http.client (no SDK between us and the store).

    `host` is the Host header (default: the store's address); `target` replaces the request
    target on the wire (absolute-form, as proxies send it) while `path` is what is signed.
    `creds` has access_key, secret and session_token (None for the station's own keys).
    """
    import hashlib
    import http.client
    import urllib.parse

    from gcs.station.storage import amz_date, sigv4

    address = store.url.split("://", 1)[1]
    when = amz_date(time.time())
    payload = hashlib.sha256(body).hexdigest()
    all_headers = [
        ("host", host or address),
        ("x-amz-content-sha256", payload),
        ("x-amz-date", when),
        *((k.lower(), v) for k, v in (headers or {}).items()),
    ]
    if creds.session_token:
        all_headers.append(("x-amz-security-token", creds.session_token))
    query = query or []
    auth = sigv4.authorization_header(
        method=method,
        path=path,
        query=query,
        headers=all_headers,
        payload_hash=payload,
        access_key=creds.access_key,
        secret=creds.secret,
        region=store.settings.storage.region,
        service="s3",
        amz_date=when,
    )
    raw_path = urllib.parse.quote(path, safe="/~")
    if query:
        raw_path += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    ip, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(ip, int(port), timeout=15)
    try:
        conn.putrequest(method, target or raw_path, skip_host=True, skip_accept_encoding=True)
        for name, value in all_headers:
            conn.putheader(name, value)
        conn.putheader("authorization", auth)
        conn.putheader("content-length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return RawAnswer(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        conn.close()


def station_creds(store: RunningStore) -> Any:
    """The station's own long-lived key pair, shaped like minted credentials."""
    from types import SimpleNamespace

    return SimpleNamespace(
        access_key=store.settings.storage.access_key,
        secret=store.settings.storage.secret_key,
        session_token=None,
    )
