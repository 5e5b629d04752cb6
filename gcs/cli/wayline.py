"""`gcs wayline info FILE.kmz [--json]`: what a wayline file holds and what is wrong with it.
`gcs wayline import FILE.kmz --data-dir DIR`: add a file to the station's wayline library.
`gcs wayline export [NAME...] --to FOLDER --data-dir DIR`: copy library files to a folder.

Exit status: 0 when the file is usable (warnings allowed) or imported, 1 when it has errors,
cannot be read or was refused, 2 for a usage error (argparse) or an unusable data directory.

`import` and `export` work with or without a station running on the data directory: with one,
the files go through its object store over HTTP (presigned with the station's keys) and the
running station sees a new row at once; without one, the embedded store's folder is used
directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO


def register(subparsers: Any) -> None:
    """Add the ``wayline`` sub-command with its ``info`` sub-sub-command."""
    parser = subparsers.add_parser(
        "wayline",
        help="inspect wayline files (KMZ)",
        description="Work with DJI wayline files (KMZ with template.kml and waylines.wpml).",
    )
    sub = parser.add_subparsers(dest="wayline_command", metavar="ACTION", required=True)
    info = sub.add_parser(
        "info",
        help="summary and findings of a KMZ",
        description="Read a KMZ and print its summary (aircraft, template type, waypoints, "
        "actions, length, duration, fingerprint) and every error and warning found. "
        "Exit status 0 when the file is usable, 1 when it has errors.",
    )
    info.add_argument("file", metavar="FILE", type=Path, help="the .kmz file")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(func=run_info)
    imp = sub.add_parser(
        "import",
        help="add a KMZ to the station's wayline library",
        description="Check a KMZ with the station's wayline checker and add it to the library "
        "of the station's workspace. A file with errors is refused with its findings.",
    )
    imp.add_argument("file", metavar="FILE", type=Path, help="the .kmz file")
    imp.add_argument("--data-dir", type=Path, default=None, help="the station's data directory")
    imp.add_argument("--name", default=None, help="the wayline's name (default: the file name)")
    imp.add_argument(
        "--rename-duplicate",
        action="store_true",
        help='when the name is taken, add " (2)", " (3)", ... instead of refusing',
    )
    imp.add_argument("--json", action="store_true", help="print JSON instead of text")
    imp.set_defaults(func=run_import)
    exp = sub.add_parser(
        "export",
        help="copy waylines of the station's library to a folder",
        description="Write the KMZ of the named waylines (all of them without names) to a "
        "folder, as NAME.kmz; existing files are kept (a number is added).",
    )
    exp.add_argument("names", metavar="NAME", nargs="*", help="wayline names (default: all)")
    exp.add_argument("--to", type=Path, required=True, help="the folder to write to")
    exp.add_argument("--data-dir", type=Path, default=None, help="the station's data directory")
    exp.set_defaults(func=run_export)


def run_import(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Import `args.file` into the library of `args.data_dir`; 0 on success, 1 if refused."""

    from gcs.store.settings import SettingsError, default_data_dir, load_settings

    out = out or sys.stdout
    data_dir: Path = args.data_dir or default_data_dir()
    try:
        settings = load_settings(data_dir)
        data = args.file.read_bytes()
    except (SettingsError, OSError) as exc:
        out.write(f"error: {exc}\n")
        return 2 if isinstance(exc, SettingsError) else 1
    return asyncio.run(_import(args, settings, data_dir, data, out))


def run_export(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Export waylines of `args.data_dir` to `args.to`; 0 on success, 1 if one is missing."""
    from gcs.store.settings import SettingsError, default_data_dir, load_settings

    out = out or sys.stdout
    data_dir: Path = args.data_dir or default_data_dir()
    try:
        settings = load_settings(data_dir)
    except SettingsError as exc:
        out.write(f"error: {exc}\n")
        return 2
    return asyncio.run(_export(args, settings, data_dir, out))


async def _export(args: argparse.Namespace, settings: Any, data_dir: Path, out: TextIO) -> int:
    from gcs.station.waylines import WaylineError, WaylineQuery

    ws = settings.station.workspace_id
    async with _library(settings, data_dir) as library:
        rows, _ = await library.search(ws, WaylineQuery(page_size=1_000_000))
        by_name = {r.name: r for r in rows}
        missing = [n for n in args.names if n not in by_name]
        if missing:
            out.write(f"error: no wayline named {', '.join(map(repr, missing))}\n")
            return 1
        wanted = [by_name[n] for n in args.names] if args.names else rows
        try:
            paths = await library.export(ws, [r.id for r in wanted], args.to)
        except WaylineError as exc:
            out.write(f"error: {exc.en}\n")
            return 1
    for path in paths:
        out.write(f"{path}\n")
    return 0


@contextlib.asynccontextmanager
async def _library(settings: Any, data_dir: Path) -> AsyncIterator[Any]:
    """The library of `data_dir`: over the running station's object store, or the embedded
    store's folder when no station runs there."""
    from gcs.runtime import read_runtime_file
    from gcs.station.storage import open_access
    from gcs.station.storage.blobs import DirectBlobs, PresignedBlobs
    from gcs.station.waylines import WaylineLibrary
    from gcs.store.db import open_store

    running = read_runtime_file(data_dir)
    s3 = (running or {}).get("endpoints", {}).get("s3")
    loop = asyncio.get_running_loop()
    access = await loop.run_in_executor(None, lambda: open_access(settings, data_dir, endpoint=s3))
    direct: DirectBlobs | None = None
    if running is not None and s3:
        blobs: Any = PresignedBlobs(access)
    else:
        direct = blobs = await loop.run_in_executor(None, DirectBlobs, data_dir, access)
    store = await loop.run_in_executor(None, open_store, data_dir)
    try:
        yield WaylineLibrary(store, blobs)
    finally:
        store.close()
        if direct is not None:
            direct.close()


async def _import(
    args: argparse.Namespace, settings: Any, data_dir: Path, data: bytes, out: TextIO
) -> int:
    from gcs.station.waylines import WaylineError, to_pilot

    try:
        async with _library(settings, data_dir) as library:
            imported = await library.import_kmz(
                data,
                filename=args.file.name,
                workspace_id=settings.station.workspace_id,
                author="cli",
                name=args.name,
                unique_name=args.rename_duplicate,
            )
    except WaylineError as exc:
        if args.json:
            doc = {
                "file": str(args.file),
                "imported": False,
                "code": exc.code,
                "error": exc.en,
                "error_zh": exc.zh,
                "findings": [f.to_dict() for f in exc.findings],
            }
            out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        else:
            out.write(f"refused: {exc.en}\n         {exc.zh}\n")
            for f in exc.findings:
                out.write(
                    f"  {f.severity.upper()} {f.code}: {f.message_en}\n      {f.message_zh}\n"
                )
        return 1
    row = imported.row
    if args.json:
        doc = {
            "file": str(args.file),
            "imported": True,
            **to_pilot(row),
            "warnings": [f.to_dict() for f in imported.findings],
        }
        out.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(f"imported {row.name} as {row.id} (MD5 {row.fingerprint}, {row.size} bytes)\n")
        for f in imported.findings:
            out.write(f"  WARNING {f.code}: {f.message_en}\n")
    return 0


def run_info(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the summary and findings of `args.file`; return 0 if usable, 1 otherwise."""
    from gcs.wpml import inspect_kmz

    out = out or sys.stdout
    path: Path = args.file
    try:
        inspection = inspect_kmz(path)
    except OSError as exc:
        message = f"cannot read {path}: {exc.strerror or exc}"
        if args.json:
            out.write(json.dumps({"file": str(path), "usable": False, "error": message}) + "\n")
        else:
            out.write(f"error: {message}\n")
        return 1
    if args.json:
        payload = {"file": str(path), **inspection.to_dict()}
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        _print_text(path, inspection.to_dict(), out)
    return 0 if inspection.usable else 1


def _print_text(path: Path, report: dict[str, Any], out: TextIO) -> None:
    summary = report["summary"]
    out.write(f"{path}\n")
    if summary is not None:
        drone = summary["drone_model_key"] or "?"
        if summary["drone_model_name"]:
            drone += f" ({summary['drone_model_name']})"
        payloads = (
            ", ".join(
                key + (f" ({name})" if name else "")
                for key, name in zip(
                    summary["payload_model_keys"], summary["payload_model_names"], strict=True
                )
            )
            or "-"
        )
        types = (
            ", ".join(
                f"{name} ({code})"
                for name, code in zip(
                    summary["template_type_names"], summary["template_types"], strict=False
                )
            )
            or "-"
        )
        start = summary["start_point"]
        rows = [
            ("name", summary["name"]),
            ("aircraft", drone),
            ("payloads", payloads),
            ("template types", types),
            ("waylines", summary["wayline_count"]),
            ("waypoints", summary["waypoint_count"]),
            ("actions", _actions(summary)),
            ("start point", f"{start['latitude']:.7f}, {start['longitude']:.7f}" if start else "-"),
            ("length", f"{summary['length_m']:.1f} m"),
            ("duration", f"~{summary['duration_s']:.0f} s (estimate)"),
            (
                "height mode",
                f"{summary['height_mode'] or '-'} / executed as "
                f"{summary['execute_height_mode'] or '-'}",
            ),
            ("finish action", summary["finish_action"] or "-"),
            ("RC lost", f"{summary['exit_on_rc_lost'] or '-'}, {summary['rc_lost_action'] or '-'}"),
            ("fingerprint", f"{summary['fingerprint']} (MD5, {summary['size_bytes']} bytes)"),
        ]
        for label, value in rows:
            out.write(f"  {label + ':':16} {value}\n")
    findings = report["findings"]
    errors = sum(1 for f in findings if f["severity"] == "error")
    warnings = len(findings) - errors
    state = "usable" if report["usable"] else "NOT usable"
    out.write(f"{state}: {errors} error(s), {warnings} warning(s)\n")
    for f in findings:
        where = f"  [{f['element']}]" if f["element"] else ""
        out.write(f"  {f['severity'].upper()} {f['code']}: {f['message_en']}{where}\n")
        out.write(f"      {f['message_zh']}\n")


def _actions(summary: dict[str, Any]) -> str:
    by_function = summary["actions_by_function"]
    if not by_function:
        return "0"
    detail = ", ".join(f"{name} {count}" for name, count in by_function.items())
    return f"{summary['action_count']} ({detail})"
