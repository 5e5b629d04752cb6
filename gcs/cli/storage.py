"""`gcs storage`: temporary S3 credentials (`sts`) and the object store on its own (`serve`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import signal
import sqlite3
import ssl
import sys
from pathlib import Path
from typing import Any

from gcs.store.settings import SettingsError, default_data_dir, load_settings


def register(sub: Any) -> None:
    """Add `storage sts` and `storage serve`."""
    p = sub.add_parser("storage", help="the station's S3 object store")
    commands = p.add_subparsers(dest="storage_command", metavar="COMMAND", required=True)

    sts = commands.add_parser(
        "sts", help="mint temporary S3 credentials; prints the DJI STS object as JSON"
    )
    sts.add_argument("--data-dir", type=Path, default=None, help="data directory")
    sts.add_argument("--prefix", default="", help="key folder they may use (default: all)")
    sts.add_argument("--ttl", type=int, default=None, help="validity in seconds")
    sts.add_argument("--read-only", action="store_true", help="GET/HEAD/list only")
    sts.set_defaults(func=run_sts)

    serve = commands.add_parser(
        "serve", help="serve only the object store until SIGINT/SIGTERM (prints 'ready URL')"
    )
    serve.add_argument("--data-dir", type=Path, default=None, help="data directory")
    serve.add_argument("--host", default=None, help="listen address (default: settings)")
    serve.add_argument("--s3-port", type=int, default=None, help="port (default: settings, 9000)")
    serve.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate: serve HTTPS")
    serve.add_argument("--tls-key", type=Path, default=None, help="PEM private key for --tls-cert")
    serve.set_defaults(func=run_serve)


def run_sts(args: argparse.Namespace) -> int:
    """Print a DJI STS object for fresh temporary credentials; 2 on bad input, 1 when the data
    folder cannot be written (a full disk included).

    The endpoint is the running station's store (from `runtime.json` in the data folder, as
    `gcs credentials` does); with no station running, the one the settings describe.
    """
    from gcs.runtime import read_runtime_file
    from gcs.station.storage import ScopeError, open_access

    data_dir: Path = args.data_dir or default_data_dir()
    try:
        settings = load_settings(data_dir)
    except (SettingsError, OSError) as exc:
        print(f"gcs storage sts: {exc}", file=sys.stderr)
        return 2
    running = read_runtime_file(data_dir)
    endpoints = running.get("endpoints") if running else None
    endpoint = endpoints.get("s3") if isinstance(endpoints, dict) else None
    access = None
    try:
        access = open_access(
            settings, data_dir, endpoint=endpoint if isinstance(endpoint, str) else None
        )
        grant = access.grant(prefix=args.prefix, ttl_s=args.ttl, read_only=args.read_only)
    except ScopeError as exc:
        print(f"gcs storage sts: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:
        print(f"gcs storage sts: {_write_failure(data_dir, exc)}", file=sys.stderr)
        return 1
    finally:
        if access is not None:
            with contextlib.suppress(sqlite3.Error):
                access._table.close()
    print(json.dumps(grant.to_dji(), indent=2))
    return 0


def _write_failure(data_dir: Path, exc: BaseException) -> str:
    """A sentence for a failed write in the data folder: what, why, and what to do."""
    full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "full" in str(exc)
    if full:
        return (
            f"the disk holding {data_dir} is full, so no credentials could be recorded: free "
            "some space (old recordings, media, telemetry history) and try again"
        )
    return f"cannot record credentials in {data_dir}: {exc}"


def run_serve(args: argparse.Namespace) -> int:
    """Serve the object store until SIGINT/SIGTERM; 2 if it cannot start."""
    data_dir: Path = args.data_dir or default_data_dir()
    try:
        settings = load_settings(data_dir)
    except SettingsError as exc:
        print(f"gcs storage serve: {exc}", file=sys.stderr)
        return 2
    host = args.host if args.host is not None else settings.station.host
    port = args.s3_port if args.s3_port is not None else settings.storage.port
    context = None
    if args.tls_cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    try:
        return asyncio.run(_serve(host, port, data_dir, settings, context))
    except OSError as exc:
        print(f"gcs storage serve: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 2


async def _serve(
    host: str, port: int, data_dir: Path, settings: Any, context: ssl.SSLContext | None
) -> int:
    from gcs.web.s3 import start_s3_server

    server = await start_s3_server(
        host, port, data_dir=data_dir, settings=settings, ssl_context=context
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    print(f"ready {server.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()
    return 0
