"""`gcs serve` (headless station), `gcs demo` (station + simulated fleet) and `gcs app`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gcs.aio import spawn
from gcs.logsetup import log_to_file
from gcs.store.settings import Settings, SettingsError, default_data_dir, load_settings

if TYPE_CHECKING:
    from gcs.runtime import ThreadedRuntime
    from gcs.station.core import Endpoint

log = logging.getLogger(__name__)

DEMO_PATROL_S = 600

# The desktop window's modules (the `gui` extra of pyproject.toml).
GUI_MODULES = ("PySide6", "qasync", "pyqtgraph")
GUI_INSTALL = (
    "install the desktop extra: pip install 'gcs[gui]' "
    "(in a source checkout: bash packaging/dev.sh demo)"
)


def missing_gui_modules() -> list[str]:
    """The desktop window's modules that are not installed."""
    return [name for name in GUI_MODULES if importlib.util.find_spec(name) is None]


def print_ready(endpoints: Sequence[Endpoint], data_dir: Path) -> None:
    """The station's addresses, its data folder and `ready`, one a line (what scripts wait for)."""
    for ep in endpoints:
        print(f"{ep.name}: {ep.url}", flush=True)
    print(f"data: {data_dir}", flush=True)
    print("ready", flush=True)


def add_station_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None, help="data directory (default: per user)")
    p.add_argument("--host", default=None, help="listen address (default 0.0.0.0: all interfaces)")
    p.add_argument(
        "--public-host", default=None, help="address given to devices (default: first LAN address)"
    )
    p.add_argument(
        "--mqtt-port", type=int, default=None, help="embedded broker port (default 1883)"
    )
    p.add_argument("--http-port", type=int, default=None, help="HTTP port (default 8080)")
    p.add_argument("--https-port", type=int, default=None, help="HTTPS port (default 8443)")
    p.add_argument("--s3-port", type=int, default=None, help="object store port (default 9000)")
    p.add_argument("--ntp-port", type=int, default=None, help="NTP port (default 123, else 11123)")
    p.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="use an external broker mqtt://user:pass@host:port instead of the embedded one",
    )


def settings_from_args(args: argparse.Namespace) -> tuple[Settings, Path]:
    """Load gcs.toml from the data directory and apply command-line overrides (not saved)."""
    data_dir: Path = args.data_dir or default_data_dir()
    log_to_file(data_dir / "logs" / "station.log")  # size-rotated (issue 17 #8)
    settings = load_settings(data_dir)
    if args.host is not None:
        settings.station.host = args.host
    if args.public_host is not None:
        settings.station.public_host = args.public_host
    if args.mqtt_port is not None:
        settings.mqtt.port = args.mqtt_port
    if args.http_port is not None:
        settings.http.port = args.http_port
    if args.https_port is not None:
        settings.http.https_port = args.https_port
    if args.s3_port is not None:
        settings.storage.port = args.s3_port
    if args.ntp_port is not None:
        settings.ntp.port = args.ntp_port
        settings.ntp.fallback_port = args.ntp_port
    return settings, data_dir


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the station headless until SIGINT/SIGTERM")
    add_station_options(p)
    p.set_defaults(func=run_serve)

    d = sub.add_parser("demo", help="the station with a simulated fleet")
    add_station_options(d)
    d.add_argument("--headless", action="store_true", help="no window: serve + simulated fleet")
    d.add_argument("--docks", type=int, default=3, help="simulated docks (default 3)")
    d.add_argument("--pilots", type=int, default=1, help="simulated Pilot RCs (default 1)")
    add_probe_options(d)
    d.set_defaults(func=run_demo)

    a = sub.add_parser("app", help="the desktop app (the default)")
    add_station_options(a)
    add_probe_options(a)
    a.set_defaults(func=run_app)


def add_probe_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--probe",
        type=Path,
        default=None,
        metavar="FILE",
        help="write a JSON report of the window to FILE and a picture to FILE.png once the "
        "fleet is online, then quit (checks without a person at the screen)",
    )
    p.add_argument(
        "--probe-gateways",
        type=int,
        default=None,
        metavar="N",
        help="online gateways --probe waits for (default: the simulated fleet's, else 0)",
    )


def probe_spec(args: argparse.Namespace, default_gateways: int) -> Any:
    """The `gcs.ui.probe.ProbeSpec` asked for on the command line, or None."""
    if args.probe is None:
        return None
    from gcs.ui.probe import ProbeSpec

    wanted = args.probe_gateways if args.probe_gateways is not None else default_gateways
    return ProbeSpec(args.probe, gateways=wanted)


async def _serve(
    settings: Settings, data_dir: Path, broker: str | None, fleet: dict[str, int] | None
) -> int:
    from gcs.runtime import Runtime

    runtime = Runtime(settings, data_dir, external_broker=broker, fleet=fleet)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
    except Exception as exc:
        from gcs.station.ports import busy_port_advice
        from gcs.store.settings import SETTINGS_FILE

        advice = busy_port_advice(exc, settings, data_dir / SETTINGS_FILE)
        print(f"error: the station could not start: {exc}", file=sys.stderr)
        if advice:
            print(f"error: {advice}", file=sys.stderr, flush=True)
        return 1
    try:
        print_ready(runtime.endpoints(), data_dir)
        if runtime.fleet is not None:
            spawn(_report_fleet(runtime.fleet), name="fleet-report")
        await stop.wait()
    finally:
        await runtime.stop()
    print("stopped", flush=True)
    return 0


async def _report_fleet(fleet: Any) -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, fleet.ready.wait, 120)
    if fleet.error:
        print(f"simulated fleet failed: {fleet.error}", file=sys.stderr, flush=True)
    else:
        print(f"fleet ready: {len(fleet.fleet.devices)} gateways", flush=True)


def run_serve(args: argparse.Namespace) -> int:
    try:
        settings, data_dir = settings_from_args(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(settings, data_dir, args.broker, None))


def run_demo(args: argparse.Namespace) -> int:
    try:
        settings, data_dir = settings_from_args(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # The demo's docks fly a patrol every 10 minutes, so take-offs and landings show.
    fleet = {"docks": args.docks, "pilots": args.pilots, "patrol_every_s": DEMO_PATROL_S}
    if not args.headless and not _has_display():
        print(
            "no display found (DISPLAY/WAYLAND_DISPLAY unset): running the demo headless; "
            "start it from a desktop session to get the window",
            file=sys.stderr,
        )
        args.headless = True
    missing = [] if args.headless else missing_gui_modules()
    if missing:
        print(
            f"the desktop window needs {', '.join(missing)}, not installed: running the demo "
            f"headless. For the window, {GUI_INSTALL}.",
            file=sys.stderr,
            flush=True,
        )
        args.headless = True
    if args.headless:
        return asyncio.run(_serve(settings, data_dir, args.broker, fleet))
    return _desktop(
        settings, data_dir, args.broker, fleet, probe_spec(args, args.docks + args.pilots)
    )


def _desktop(
    settings: Settings,
    data_dir: Path,
    broker: str | None,
    fleet: dict[str, Any] | None,
    probe: Any = None,
) -> int:
    """The desktop app; prints the addresses once the station runs, as `gcs serve` does."""
    from gcs.ui.app import run_desktop

    def started(runtime: ThreadedRuntime) -> None:
        print_ready(runtime.runtime.endpoints(), data_dir)
        if runtime.runtime.fleet is not None:
            runtime.submit(_report_fleet(runtime.runtime.fleet))

    code = run_desktop(
        settings,
        data_dir,
        external_broker=broker,
        fleet=fleet,
        on_started=started,
        probe=probe,
    )
    print("stopped", flush=True)
    return code


def _has_display() -> bool:
    """False on a Linux machine with no screen (Windows and macOS always have one)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def run_app(args: argparse.Namespace) -> int:
    if not _has_display():
        print(
            "error: no display found (DISPLAY/WAYLAND_DISPLAY unset). Run `gcs` from a desktop "
            "session, or `gcs serve` for the headless station.",
            file=sys.stderr,
        )
        return 2
    missing = missing_gui_modules()
    if missing:
        print(
            f"error: the desktop app needs {', '.join(missing)}, not installed: {GUI_INSTALL}. "
            "Or run `gcs serve` for the headless station.",
            file=sys.stderr,
        )
        return 2
    try:
        settings, data_dir = settings_from_args(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _desktop(settings, data_dir, args.broker, None, probe_spec(args, 0))
