"""Administrative commands: `gcs credentials` (and, with the Pilot feature, `gcs user`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gcs.store.settings import SettingsError, default_data_dir, load_settings


def register(sub: Any) -> None:
    p = sub.add_parser(
        "credentials",
        help="print what a dock installer types into Pilot's dock-access wizard (JSON)",
    )
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument(
        "--dock",
        metavar="SN",
        default=None,
        help="print (making it on first use) the dock's own MQTT login instead of the shared "
        "one: it speaks for that dock only, and nobody else can speak for it",
    )
    p.set_defaults(func=run_credentials)


def run_credentials(args: argparse.Namespace) -> int:
    from gcs.station.netinfo import lan_addresses, public_host

    data_dir: Path = args.data_dir or default_data_dir()
    try:
        s = load_settings(data_dir)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from gcs.runtime import read_runtime_file
    from gcs.station import dock_logins

    dock: tuple[str, str, bool] | None = None
    if args.dock is not None:
        try:
            dock = dock_logins.ensure_in_file(data_dir, args.dock)
        except dock_logins.DockLoginError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        s = load_settings(data_dir)
    running = read_runtime_file(data_dir)
    host = running["mqtt_host"] if running else public_host(s)
    port = running["mqtt_port"] if running else s.mqtt.port
    doc: dict[str, Any] = {
        "mqtt_host": host,
        "mqtt_port": port,
        "mqtt_url": f"tcp://{host}:{port}",
        "username": s.mqtt.device_username,
        "password": s.mqtt.device_password,
        "workspace_id": s.station.workspace_id,
        "organization_id": s.station.workspace_id,
        "binding_code": s.station.binding_code,
        "lan_addresses": lan_addresses(),
    }
    # Every dock with its own login (user names only; `--dock SN` prints one with its password).
    doc["dock_logins"] = {sn: dock_logins.dock_username(sn) for sn in sorted(s.mqtt.dock_logins)}
    if dock is not None:
        doc["dock_sn"] = args.dock.strip()
        doc["username"], doc["password"] = dock[0], dock[1]
        if dock[2] and running is not None:
            # The running station read its settings at start.
            doc["note"] = (
                "new login: restart the station, or make it in the desktop's connection "
                "wizard, for the running broker to accept it"
            )
    if s.mqtt.external_url:
        doc["external_broker"] = True
    doc["station_running"] = running is not None
    if running:
        doc["endpoints"] = running.get("endpoints", {})
    # What a pilot types into DJI Pilot 2 (Cloud Service -> Other platforms) and logs in with.
    # The password is the one the default user was created with (`gcs user passwd` changes it).
    endpoints = doc.get("endpoints") or {}
    pilot_host = public_host(s)
    doc["pilot_url"] = endpoints.get("pilot") or f"http://{pilot_host}:{s.http.port}/pilot/"
    doc["pilot_ca_url"] = endpoints.get("ca") or f"http://{pilot_host}:{s.http.port}/ca.crt"
    doc["pilot_username"] = s.pilot.default_user
    doc["pilot_password"] = s.pilot.default_password
    json.dump(doc, sys.stdout, indent=2)
    print()
    return 0
