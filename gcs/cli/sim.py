"""`gcs sim`: run simulated docks and Pilot 2 RCs against a station's MQTT broker.

    gcs credentials --data-dir D > c.json
    gcs sim --credentials c.json --docks 3 --pilots 1

Runs until SIGINT/SIGTERM. Prints one line per gateway each time it comes online and
`fleet ready` once all have; stuck gateways are reported on stderr with the step they wait at.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from gcs.aio import spawn

REPORT_STUCK_AFTER_S = 30.0


def register(subparsers: Any) -> None:
    """Add the ``sim`` sub-command."""
    p = subparsers.add_parser(
        "sim",
        help="simulate DJI docks and Pilot 2 RCs (with aircraft) against a broker",
        description="Simulated DJI Dock 1 + M30, Dock 2 + M3D, Dock 3 + M4D (cycled by "
        "--docks) and RC Plus + M30T (--pilots), each a real MQTT client that onboards, "
        "publishes OSD/state/HMS and answers services. Give the broker with --broker "
        "mqtt://user:pass@host:port, or the JSON of `gcs credentials` with --credentials.",
    )
    p.add_argument("--broker", metavar="URL", help="mqtt://user:pass@host:port")
    p.add_argument(
        "--credentials",
        metavar="FILE",
        help="JSON printed by `gcs credentials` ('-' = stdin): broker, login, binding code",
    )
    p.add_argument(
        "--pilot-url",
        metavar="URL",
        help="station base URL for the simulated Pilots' HTTP login and WebSocket "
        "(default: from --credentials; without it RCs use the device login directly)",
    )
    p.add_argument("--pilot-user", metavar="NAME", help="Pilot user (default: from --credentials)")
    p.add_argument("--pilot-password", metavar="PW", help="its password")
    p.add_argument("--docks", type=int, default=1, metavar="N", help="docks (default 1)")
    p.add_argument("--pilots", type=int, default=0, metavar="N", help="RC Plus (default 0)")
    p.add_argument("--binding-code", metavar="CODE", help="device binding code for docks")
    p.add_argument("--workspace-id", metavar="ID", help="organisation (workspace) id")
    p.add_argument("--seed", type=int, default=0, help="serial numbers/positions (default 0)")
    p.add_argument("--lat", type=float, default=None, help="centre latitude of the sites")
    p.add_argument("--lon", type=float, default=None, help="centre longitude of the sites")
    p.add_argument(
        "--speedup", type=float, default=1.0, help="simulated time runs this much faster"
    )
    p.add_argument(
        "--fetch-waylines",
        action="store_true",
        help="docks download each prepared KMZ and check its MD5 before answering",
    )
    p.set_defaults(func=run)


class UsageError(ValueError):
    pass


def _read_credentials(name: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read credentials file {name}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"credentials file {name} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"credentials file {name} must hold a JSON object")
    return doc


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def resolve(args: argparse.Namespace) -> tuple[str, str, str]:
    """(broker URL, binding code, organisation id) from the flags and credentials file.

    Raises:
        UsageError: no broker given, or an unreadable credentials file.
    """
    creds = _read_credentials(args.credentials) if args.credentials else {}
    user = str(creds.get("username") or "")
    password = str(creds.get("password") or "")
    url = args.broker
    if url:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if not parts.username and user:
            auth = f"{quote(user, safe='')}:{quote(password, safe='')}@"
            url = f"{parts.scheme}://{auth}{parts.netloc}"
    elif creds.get("mqtt_host"):
        host = _host_for_url(str(creds["mqtt_host"]))
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"
        port = int(creds.get("mqtt_port") or 1883)
        auth = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
        url = f"mqtt://{auth}{host}:{port}"
    else:
        raise UsageError("give --broker mqtt://user:pass@host:port or --credentials FILE")
    code = args.binding_code or str(creds.get("binding_code") or "")
    org = args.workspace_id or str(creds.get("workspace_id") or creds.get("organization_id") or "")
    return url, code, org


def pilot_login(args: argparse.Namespace) -> tuple[str, str, str] | None:
    """(base URL, user, password) for the simulated Pilots, or None (RCs skip the web login)."""
    creds = (
        _read_credentials(args.credentials) if args.credentials and args.credentials != "-" else {}
    )
    url = args.pilot_url or str(creds.get("pilot_url") or "")
    user = args.pilot_user or str(creds.get("pilot_username") or "")
    password = args.pilot_password or str(creds.get("pilot_password") or "")
    if not (url and user and password):
        return None
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if args.credentials and not args.pilot_url and creds.get("mqtt_host") == "127.0.0.1":
        host = "127.0.0.1"
    base = f"{parts.scheme}://{_host_for_url(host)}:{parts.port or 80}/"
    return base, user, password


def run(args: argparse.Namespace) -> int:
    """Run the fleet until a signal; 0 on a clean stop, 2 on a usage error."""
    try:
        url, code, org = resolve(args)
        if args.docks < 0 or args.pilots < 0 or args.docks + args.pilots == 0:
            raise UsageError("--docks and --pilots must be >= 0, and at least one device")
        if args.docks and not code:
            print(
                "warning: no binding code (--binding-code or credentials): docks the station "
                "does not already know cannot bind",
                file=sys.stderr,
            )
        return asyncio.run(_run(args, url, code, org, sys.stdout))
    except (UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace, url: str, code: str, org: str, out: TextIO) -> int:
    from gcs.sim import (
        DEFAULT_LAT,
        DEFAULT_LON,
        Fleet,
        FleetError,
        FleetOptions,
        PilotWebLogin,
        SimGateway,
    )

    def online(device: SimGateway) -> None:
        again = " (reconnected)" if device.sessions > 1 else ""
        lat, lon = device.cfg.lat, device.cfg.lon
        out.write(
            f"online {device.product.key:<6} {device.sn} {device.product.gateway_name} + "
            f"{device.aircraft_sn} {device.product.aircraft_name} at {lat:.6f},{lon:.6f}"
            f"{again}\n"
        )
        out.flush()

    options = FleetOptions(
        url,
        docks=args.docks,
        pilots=args.pilots,
        binding_code=code,
        organization_id=org,
        seed=args.seed,
        lat=DEFAULT_LAT if args.lat is None else args.lat,
        lon=DEFAULT_LON if args.lon is None else args.lon,
        speedup=args.speedup,
        fetch_waylines=args.fetch_waylines,
        pilot_web=PilotWebLogin(*web) if (web := pilot_login(args)) and args.pilots else None,
    )
    fleet = Fleet(options, on_online=online)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    out.write(
        f"simulating {args.docks} dock(s) and {args.pilots} RC(s) against "
        f"{fleet.broker.host}:{fleet.broker.port}\n"
    )
    out.flush()

    async def until_ready() -> None:
        while True:
            try:
                await fleet.start(timeout_s=REPORT_STUCK_AFTER_S)
                break
            except FleetError as exc:
                print(f"warning: {exc}", file=sys.stderr)
        took = time.monotonic() - started
        out.write(f"fleet ready ({len(fleet.devices)} gateways, {took:.1f} s)\n")
        out.flush()

    ready_task = spawn(until_ready(), name="sim-cli-ready")
    try:
        await stop.wait()
    finally:
        ready_task.cancel()
        await asyncio.gather(ready_task, return_exceptions=True)
        await fleet.stop()
        out.write("stopped\n")
        out.flush()
    return 0
