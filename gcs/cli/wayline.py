"""`gcs wayline info FILE.kmz [--json]`: what a wayline file holds and what is wrong with it.

Exit status: 0 when the file is usable (warnings allowed), 1 when it has errors or cannot be
read, 2 for a usage error (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
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
