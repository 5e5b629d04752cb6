"""The S3 aiohttp application and a helper that serves it on its own port."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from gcs.aio import spawn
from gcs.station.storage import StorageAccess, open_access
from gcs.store.objects import ObjectStore
from gcs.store.settings import Settings, load_settings
from gcs.web import guard
from gcs.web.s3.handlers import Context, Notify, expect_continue, handle

log = logging.getLogger(__name__)

CONTEXT_KEY = web.AppKey("s3_context", Context)
READ_BUFSIZE = 1 << 20


def init_app(
    store: ObjectStore,
    access: StorageAccess,
    *,
    executor: Executor | None = None,
    clock: Callable[[], float] = time.time,
    base_hosts: Iterable[str] = (),
) -> web.Application:
    """The S3 application over an open `store`, authenticating with `access`.

    Args:
        store: an opened object store (the caller closes it).
        access: credential lookup.
        executor: for blocking store work; default: a pool the app creates and shuts down.
        clock: epoch seconds (for signature times and expiry).
        base_hosts: the station's host names: ``Host: <bucket>.<one of them>`` addresses a
            bucket (virtual-host style); any other Host is path-style.
    """
    app = web.Application(client_max_size=1 << 20)
    own_pool = executor is None
    pool = executor or ThreadPoolExecutor(max_workers=8, thread_name_prefix="s3-io")
    bases = frozenset(h.lower().rstrip(".") for h in base_hosts if h and not _is_ip(h))
    app[CONTEXT_KEY] = Context(store, access, pool, clock, bases)

    async def _pool(_: web.Application) -> AsyncIterator[None]:
        yield
        if own_pool and isinstance(pool, ThreadPoolExecutor):
            pool.shutdown(wait=True)

    app.cleanup_ctx.append(_pool)

    async def _handler(request: web.Request) -> web.StreamResponse:
        return await handle(request.app[CONTEXT_KEY], request)

    async def _expect(request: web.Request) -> None:
        await expect_continue(request.app[CONTEXT_KEY], request)

    # Every path (newlines too); uploads are authorised before "100 Continue".
    app.router.add_route("*", r"/{tail:[\s\S]*}", _handler, expect_handler=_expect)
    return app


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def station_host_names(settings: Settings, endpoint: str | None) -> list[str]:
    """The names a client may reach this machine by (the virtual-host bases).

    The endpoint devices are told, the configured public host and listen address, this
    machine's host name (and its ``.local`` mDNS name), and ``localhost``. Addresses are left
    out: ``bucket.192.168.1.5`` is no host name, and SDKs use path-style for IP endpoints.
    """
    hostname = socket.gethostname()
    names = [
        urlsplit(endpoint).hostname or "" if endpoint else "",
        settings.station.public_host,
        settings.station.host,
        hostname,
        hostname.split(".")[0] + ".local",
        "localhost",
    ]
    return [n for n in dict.fromkeys(n.lower() for n in names if n) if not _is_ip(n)]


@dataclass
class S3Server:
    """A running S3 front: `url` to reach it, `close()` to stop it and close the store."""

    runner: web.AppRunner
    store: ObjectStore
    access: StorageAccess
    host: str
    port: int
    scheme: str

    @property
    def url(self) -> str:
        """``http(s)://host:port`` (127.0.0.1 when bound to every interface)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"{self.scheme}://{host}:{self.port}"

    async def close(self) -> None:
        """Stop accepting, finish requests in flight, close the store."""
        servers = [getattr(site, "_server", None) for site in self.runner.sites]
        await self.runner.cleanup()
        # TLS connections whose peer never answers close_notify would linger (30 s) and be
        # garbage-collected after the loop stops: abort what is left (Python >= 3.13), then
        # let the connection_lost callbacks run.
        for server in servers:
            abort = getattr(server, "abort_clients", None)
            if abort is not None:
                abort()
        for _ in range(3):
            await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, self.store.close)
        self.access._table.close()


async def start_s3_server(
    host: str,
    port: int,
    *,
    data_dir: Path,
    settings: Settings | None = None,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.time,
    endpoint: str | None = None,
    access: StorageAccess | None = None,
    idle_timeout_s: float = guard.IDLE_TIMEOUT_S,
    max_connections: int = guard.MAX_CONNECTIONS,
    notify: Notify | None = None,
) -> S3Server:
    """Open `<data_dir>/objects`, create the default bucket, serve S3 on host:port.

    Returns once the socket accepts connections. Port 0 picks a free port (see `.port`).

    Args:
        host: address to bind ('0.0.0.0' for every interface).
        port: TCP port (settings.storage.port is the usual value).
        data_dir: the station's data directory.
        settings: loaded settings (default: read `gcs.toml` from `data_dir`).
        ssl_context: serve HTTPS instead of HTTP.
        clock: epoch seconds.
        endpoint: the URL devices are told (default: public host and the bound port).
        access: share the station's `StorageAccess` (default: one over this data directory).
            Its endpoint is set to the one devices are told.
        idle_timeout_s: idle connections and unfinished request heads are closed after this.
        max_connections: connections beyond this are answered 503 and closed.
        notify: called with (level, sentence) for what the operator should see: refusals
            that need a person (bad or expired keys, clock skew, full disk, upload cap;
            rate-limited), connections refused by the cap, abandoned uploads deleted.

    Raises:
        OSError: the port cannot be bound or the folder created.
        gcs.store.objects.MigrationError: meta.db cannot be brought up to date.
    """
    loop = asyncio.get_running_loop()
    if settings is None:
        settings = await loop.run_in_executor(None, load_settings, data_dir)
    conf: Settings = settings
    storage = conf.storage
    expiry_h = storage.multipart_expiry_h
    if expiry_h <= 0:
        log.warning("storage.multipart_expiry_h must be > 0 (is %s); using 24 h", expiry_h)
        expiry_h = 24.0
    store = ObjectStore(
        data_dir / "objects",
        max_object_bytes=storage.max_object_bytes,
        max_bucket_bytes=storage.max_bucket_bytes,
        free_reserve_bytes=storage.min_free_bytes,
        upload_max_age_s=expiry_h * 3600.0,
        max_open_uploads=storage.max_open_uploads,
    )
    await loop.run_in_executor(None, store.open)
    await loop.run_in_executor(None, store.create_bucket, storage.bucket)
    if access is None:
        access = await loop.run_in_executor(None, lambda: open_access(conf, data_dir))
    await loop.run_in_executor(None, access.purge_expired)
    app = init_app(store, access, clock=clock)
    app[CONTEXT_KEY].notify = notify
    app.cleanup_ctx.append(functools.partial(_expire_uploads_ctx, store, expiry_h * 3600.0, notify))
    runner = web.AppRunner(
        app,
        access_log=None,
        read_bufsize=READ_BUFSIZE,
        keepalive_timeout=idle_timeout_s,  # also the request-head deadline (gcs.web.guard)
    )
    await runner.setup()
    site = guard.GuardedSite(
        runner,
        host,
        port,
        ssl_context=ssl_context,
        max_connections=max_connections,
        handshake_timeout_s=idle_timeout_s,
        on_refused=_refusals(notify),
    )
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        store.close()
        raise
    bound = site.bound_port
    scheme = "https" if ssl_context else "http"
    if endpoint is None:
        from gcs.station import netinfo

        endpoint = f"{scheme}://{netinfo.public_host(conf)}:{bound}"
    access.endpoint = endpoint
    app[CONTEXT_KEY].base_hosts = frozenset(station_host_names(conf, endpoint))
    log.info("S3 store serving %s on %s:%d", data_dir / "objects", host, bound)
    return S3Server(runner, store, access, host, bound, scheme)


def _refusals(notify: Notify | None) -> Callable[[int], None] | None:
    if notify is None:
        return None

    def refused(count: int) -> None:
        notify(
            "warning",
            f"object store: {count} connection(s) refused, too many open / 对象存储连接数已达上限",
        )

    return refused


async def _expire_uploads_ctx(
    store: ObjectStore, max_age_s: float, notify: Notify | None, _: web.Application
) -> Any:
    """Abandoned multipart uploads are deleted on a timer, not only when the store opens."""
    task = spawn(_expire_uploads(store, max_age_s, notify), name="s3-expire-uploads")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _expire_uploads(store: ObjectStore, max_age_s: float, notify: Notify | None) -> None:
    period = min(3600.0, max(0.2, max_age_s / 4))
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(period)
        try:
            count = await loop.run_in_executor(None, store.expire_uploads, max_age_s)
        except Exception:
            log.exception("expiring abandoned multipart uploads failed; trying again later")
            continue
        if count:
            text = (
                f"object store: deleted {count} multipart upload(s) abandoned for more than "
                f"{max_age_s / 3600:g} h / 已删除过期的分片上传"
            )
            log.info("%s", text)
            if notify is not None:
                notify("info", text)
