"""Entry point of the `gcs` console script.

Each sub-command lives in its own module under `gcs.cli` with a `register(subparsers)` function
that adds its parser and sets `func` (a callable taking the parsed namespace and returning an exit
status). `COMMANDS` lists them; adding a command is adding a module and a line here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from gcs.version import version

COMMANDS = [
    "gcs.cli.serve",  # serve, demo (and the desktop app as the default)
    "gcs.cli.sim",
    "gcs.cli.admin",  # credentials
    "gcs.cli.users",  # user add|list|passwd
    "gcs.cli.broker",
    "gcs.cli.media",  # the media server child (live video)
    "gcs.cli.storage",
    "gcs.cli.wayline",
    "gcs.cli.hms",
    "gcs.cli.firmware",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gcs", description="Offline DJI Cloud API ground station."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("--version", action="version", version=f"gcs {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    func = getattr(args, "func", None)
    if func is None:
        # Plain `gcs`: the desktop app.
        args = parser.parse_args(["app", *(argv if argv is not None else sys.argv[1:])])
        func = args.func
    result = func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
