"""`gcs media`: the station's media server (RTMP ingest, MPEG-TS playback) in this process.

The station starts it as a child (`gcs.video.process.MediaProcess`) and drives it through its
standard input; see `gcs.video.server`.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``media`` sub-command."""
    parser = subparsers.add_parser(
        "media",
        help="run the media server (the station starts it as a child)",
        description="Run the station's media server: RTMP ingest with per-stream secrets and "
        "MPEG-TS playback over HTTP. Streams are added as JSON lines on standard input.",
    )
    parser.add_argument("--host", default="0.0.0.0", help="listen address")
    parser.add_argument("--rtmp-port", type=int, default=1935, help="RTMP ingest port")
    parser.add_argument("--http-port", type=int, default=8090, help="HTTP playback port")
    parser.set_defaults(func=run_media)


def run_media(args: argparse.Namespace) -> int:
    from gcs.video.server import run

    return run(args.host, args.rtmp_port, args.http_port)
