"""`gcs hms import FILE [--data-dir DIR]`: use DJI's HMS text table (hms.json) for alarm texts.

The file is checked, then copied into the data folder, where the station reads it at start. A
running station takes a new table from the desktop (Alarms → Import HMS table…) without a
restart; imported here, it applies from the station's next start.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "hms",
        help="HMS alarm texts",
        description="Manage the HMS (health alarm) text table the station words alarms with.",
    )
    sub = parser.add_subparsers(dest="hms_command", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import",
        help="use DJI's hms.json for alarm texts",
        description="Check DJI's hms.json and copy it into the station's data folder.",
    )
    imp.add_argument("file", metavar="FILE", type=Path, help="DJI's hms.json")
    imp.add_argument("--data-dir", type=Path, default=None, help="the station's data folder")
    imp.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from gcs.runtime import read_runtime_file
    from gcs.station.health import TABLE_FILE, HmsTableError, read_table_file
    from gcs.station.records import default_data_dir

    data_dir: Path = args.data_dir or default_data_dir()
    try:
        doc = read_table_file(args.file)
    except HmsTableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    target = data_dir / TABLE_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        print(f"error: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"imported {len(doc)} alarm texts into {target}")
    if read_runtime_file(data_dir) is not None:
        print("the station is running: restart it (or import from the desktop) to use them")
    return 0
