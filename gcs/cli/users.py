"""`gcs user add|list|passwd`: the people who log in from DJI Pilot 2.

Works on the data directory's database directly, also while the station runs: the station
re-reads users within seconds and at every login, and a changed password ends the user's
existing Pilot sessions (their tokens stop working).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from gcs.store.settings import SettingsError, default_data_dir, load_settings


def register(sub: Any) -> None:
    p = sub.add_parser("user", help="manage Pilot logins (add, list, passwd)")
    actions = p.add_subparsers(dest="user_action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--password", required=True)
    add.add_argument("--role", choices=("admin", "pilot"), default="pilot")
    add.add_argument("--data-dir", type=Path, default=None)
    add.set_defaults(func=run_add)

    ls = actions.add_parser("list", help="list users (JSON with --json)")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--data-dir", type=Path, default=None)
    ls.set_defaults(func=run_list)

    pw = actions.add_parser("passwd", help="set a user's password (ends the user's sessions)")
    pw.add_argument("name")
    pw.add_argument("--password", required=True)
    pw.add_argument("--data-dir", type=Path, default=None)
    pw.set_defaults(func=run_passwd)


def _open(args: argparse.Namespace) -> tuple[Any, str]:
    from gcs.store.db import open_store

    data_dir: Path = args.data_dir or default_data_dir()
    settings = load_settings(data_dir)
    return open_store(data_dir), settings.station.workspace_id


def run_add(args: argparse.Namespace) -> int:
    from gcs.station.users import UserError, UserExists, new_user_row
    from gcs.store import users as q

    try:
        store, workspace_id = _open(args)
    except (SettingsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        row = new_user_row(args.name, args.password, args.role, workspace_id)
        store.call_sync(q.insert_user, row)
    except (UserError, UserExists) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"user {row.username} added (role {row.role}, id {row.id})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from gcs.store import users as q

    try:
        store, _ = _open(args)
    except (SettingsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        rows = store.call_sync(q.list_users)
    finally:
        store.close()
    docs = [
        {
            "id": r.id,
            "username": r.username,
            "role": r.role,
            "workspace_id": r.workspace_id,
            "mqtt_username": r.mqtt_username,
            "created_at": r.created_at,
        }
        for r in rows
    ]
    if args.json:
        json.dump(docs, sys.stdout, indent=2)
        print()
        return 0
    for d in docs:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(int(d["created_at"]) / 1000))
        print(f"{d['username']:<24} {d['role']:<6} {d['id']}  created {created}")
    if not docs:
        print("no users")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    from broker import hash_password
    from gcs.station.users import UserError, check_password
    from gcs.store import users as q
    from gcs.store.devices import NotFound

    try:
        check_password(args.password)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        store, _ = _open(args)
    except (SettingsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        store.call_sync(
            q.set_password, args.name, hash_password(args.password), int(time.time() * 1000)
        )
    except NotFound:
        print(f"error: there is no user named {args.name!r} (see `gcs user list`)", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"password of {args.name} changed; the user's Pilot sessions have ended")
    return 0
