"""`gcs firmware import FILE --model KEY --version V [--note TEXT] [--data-dir DIR]`: add a DJI
firmware package to the station's firmware library; `gcs firmware list`: show the library.

The package's MD5 and size are computed, its bytes go into the station's object store through
the store's S3 interface (the running station's store, the external store if one is configured,
or else the embedded store opened on 127.0.0.1 for the duration of the command), and a row is
added to the library, which a running station reads on every query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "firmware",
        help="the firmware library (device upgrades)",
        description="Manage the firmware packages the station can install on docks and aircraft.",
    )
    sub = parser.add_subparsers(dest="firmware_command", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import",
        help="add a DJI firmware package to the library",
        description="Add a DJI firmware package: its MD5 and size are computed, it is stored "
        "in the station's object store and offered to devices of the given models.",
    )
    imp.add_argument("file", metavar="FILE", type=Path, help="the firmware package")
    imp.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="KEY",
        help="device model key (3-2-0) or product name (DJI Dock 2); repeat for several",
    )
    imp.add_argument("--version", required=True, help="the package's version, e.g. 10.01.1612")
    imp.add_argument("--note", default="", help="release note")
    imp.add_argument("--disabled", action="store_true", help="import without offering it yet")
    imp.add_argument("--data-dir", type=Path, default=None, help="the station's data folder")
    imp.set_defaults(func=run_import)
    ls = sub.add_parser("list", help="the packages in the library (JSON)")
    ls.add_argument("--data-dir", type=Path, default=None, help="the station's data folder")
    ls.set_defaults(func=run_list)


def _row_json(row: Any) -> dict[str, Any]:
    return {
        "firmware_id": row.id,
        "file_name": row.file_name,
        "version": row.version,
        "models": list(row.models),
        "md5": row.md5,
        "size": row.size,
        "enabled": row.enabled,
        "release_note": row.release_note,
        "object_key": row.object_key,
    }


def run_import(args: argparse.Namespace) -> int:
    from gcs.station.firmware import FirmwareError
    from gcs.store.settings import SettingsError, default_data_dir, load_settings

    data_dir: Path = args.data_dir or default_data_dir()
    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    try:
        settings = load_settings(data_dir)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        row = asyncio.run(_import(args, data_dir, settings))
    except FirmwareError as exc:
        print(f"error: {exc.en}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(_row_json(row), indent=1))
    return 0


async def _import(args: argparse.Namespace, data_dir: Path, settings: Any) -> Any:
    from gcs.runtime import read_runtime_file
    from gcs.station.firmware import import_into
    from gcs.station.storage import open_access
    from gcs.store.db import open_store

    loop = asyncio.get_running_loop()
    running = read_runtime_file(data_dir)
    s3_url = (running or {}).get("endpoints", {}).get("s3")
    server = None
    if s3_url or settings.storage.external_endpoint:
        access = await loop.run_in_executor(
            None, lambda: open_access(settings, data_dir, endpoint=s3_url)
        )
    else:  # no station running: open the embedded store for this command only
        from gcs.web.s3 import start_s3_server

        server = await start_s3_server("127.0.0.1", 0, data_dir=data_dir, settings=settings)
        access = server.access
        access.endpoint = server.url
    store = await loop.run_in_executor(None, open_store, data_dir)
    try:
        return await import_into(
            store,
            access,
            args.file,
            models=args.model,
            version=args.version,
            release_note=args.note,
            enabled=not args.disabled,
            actor="cli",
        )
    finally:
        await loop.run_in_executor(None, store.close)
        if server is not None:
            await server.close()
        else:
            access._table.close()


def run_list(args: argparse.Namespace) -> int:
    from gcs.store import firmware as q
    from gcs.store.db import open_store
    from gcs.store.settings import default_data_dir

    data_dir: Path = args.data_dir or default_data_dir()
    store = open_store(data_dir)
    try:
        rows = store.call_sync(q.list_firmwares)
    finally:
        store.close()
    print(json.dumps([_row_json(r) for r in rows], indent=1))
    return 0
