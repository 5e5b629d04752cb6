"""The station database, `gcs.db` (SQLite, WAL), and its numbered migrations.

Theory of operation: one `Store` owns one SQLite connection and one worker thread; every query
runs on that thread (`await store.call(fn, ...)`), so the event loop never blocks on disk and
SQLite never sees two threads. Writes that the station acknowledges to a device or Pilot are
committed (synchronous=FULL) before the acknowledgement is sent. Migrations are applied in order
at open, each in its own transaction; a failing one rolls back and stays pending, and the error
tells the operator what to do.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

DB_FILE = "gcs.db"

migrations = Migrations("gcs")


@migrations(name="0001_devices_workspaces")
def _m0001(db: Database) -> None:
    db.execute(
        """CREATE TABLE workspaces (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            platform_name TEXT NOT NULL DEFAULT '',
            bind_code TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX workspaces_bind_code ON workspaces(bind_code)")
    db.execute(
        """CREATE TABLE devices (
            sn TEXT PRIMARY KEY,
            model_key TEXT NOT NULL,
            domain INTEGER NOT NULL,
            callsign TEXT NOT NULL DEFAULT '',
            workspace_id TEXT,
            bound INTEGER NOT NULL DEFAULT 0,
            bound_at INTEGER,
            parent_sn TEXT,
            thing_version TEXT NOT NULL DEFAULT '',
            firmware_version TEXT NOT NULL DEFAULT '',
            control_index TEXT NOT NULL DEFAULT '',
            icon_normal TEXT NOT NULL DEFAULT '',
            icon_selected TEXT NOT NULL DEFAULT '',
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX devices_parent ON devices(parent_sn)")


@migrations(name="0002_telemetry_history")
def _m0002(db: Database) -> None:
    db.execute(
        """CREATE TABLE telemetry (
            id INTEGER PRIMARY KEY,
            sn TEXT NOT NULL,
            ts INTEGER NOT NULL,
            data TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX telemetry_sn_ts ON telemetry(sn, ts)")
    db.execute("CREATE INDEX telemetry_ts ON telemetry(ts)")


@migrations(name="0003_station_events")
def _m0003(db: Database) -> None:
    db.execute(
        """CREATE TABLE station_events (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            sn TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL,
            level TEXT NOT NULL DEFAULT 'info',
            message TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    db.execute("CREATE INDEX station_events_ts ON station_events(ts)")


@migrations(name="0004_users")
def _m0004(db: Database) -> None:
    # Pilot/operator logins. `mqtt_password` is kept in clear on purpose: it is handed to Pilot
    # at login for its `thing` module; the broker stores only its hash. `token_epoch` grows on
    # every password change so that older access tokens stop working.
    db.execute(
        """CREATE TABLE users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL,
            workspace_id TEXT NOT NULL,
            mqtt_username TEXT NOT NULL UNIQUE,
            mqtt_password TEXT NOT NULL,
            token_epoch INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )"""
    )


@migrations(name="0005_commands")
def _m0005(db: Database) -> None:
    # The command history: every service or property write the station sent a device, who asked
    # for it, and how it ended (the final progress included).
    db.execute(
        """CREATE TABLE commands (
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            gateway_sn TEXT NOT NULL,
            method TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT 'null',
            bid TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            result INTEGER,
            message TEXT NOT NULL DEFAULT '',
            percent REAL,
            step TEXT NOT NULL DEFAULT '',
            output TEXT NOT NULL DEFAULT 'null',
            attempts INTEGER NOT NULL DEFAULT 1
        )"""
    )
    db.execute("CREATE INDEX commands_created ON commands(created_at)")
    db.execute("CREATE INDEX commands_gateway ON commands(gateway_sn, created_at)")


@migrations(name="0006_waylines")
def _m0006(db: Database) -> None:
    # The wayline library (KMZ files in the object store, their summary here).
    db.execute(
        """CREATE TABLE waylines (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            drone_model_key TEXT NOT NULL DEFAULT '',
            payload_model_keys TEXT NOT NULL DEFAULT '[]',
            template_types TEXT NOT NULL DEFAULT '[]',
            fingerprint TEXT NOT NULL,
            object_key TEXT NOT NULL,
            size INTEGER NOT NULL,
            start_latitude REAL,
            start_longitude REAL,
            length_m REAL NOT NULL DEFAULT 0,
            duration_s REAL NOT NULL DEFAULT 0,
            author TEXT NOT NULL DEFAULT '',
            favorited INTEGER NOT NULL DEFAULT 0,
            action_type INTEGER NOT NULL DEFAULT 0,
            summary TEXT NOT NULL DEFAULT '{}',
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX waylines_name ON waylines(workspace_id, name)")


@migrations(name="0007_flight_tasks")
def _m0007(db: Database) -> None:
    # Flight tasks for docks (one row per flight, i.e. per flight_id) and the recurring plans
    # that make them; `next_fire` is the next occurrence a plan has not yet fired or missed.
    db.execute(
        """CREATE TABLE flight_tasks (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            dock_sn TEXT NOT NULL,
            wayline_id TEXT NOT NULL,
            task_type INTEGER NOT NULL,
            plan_id TEXT NOT NULL DEFAULT '',
            execute_time INTEGER,
            params TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,
            percent REAL,
            step TEXT NOT NULL DEFAULT '',
            waypoint_index INTEGER,
            mission_state INTEGER,
            media_count INTEGER NOT NULL DEFAULT 0,
            break_point TEXT NOT NULL DEFAULT 'null',
            result INTEGER,
            message TEXT NOT NULL DEFAULT '',
            actor TEXT NOT NULL DEFAULT '',
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX flight_tasks_dock ON flight_tasks(dock_sn, created_at)")
    db.execute("CREATE INDEX flight_tasks_status ON flight_tasks(status)")
    db.execute("CREATE INDEX flight_tasks_wayline ON flight_tasks(wayline_id)")
    db.execute(
        """CREATE TABLE flight_plans (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            dock_sn TEXT NOT NULL,
            wayline_id TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            days TEXT NOT NULL,
            times TEXT NOT NULL,
            begin_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            next_fire INTEGER,
            active INTEGER NOT NULL DEFAULT 1,
            actor TEXT NOT NULL DEFAULT '',
            created_at INTEGER NOT NULL
        )"""
    )


class MigrationError(RuntimeError):
    """A schema migration failed; the database is left at the last good version."""


def open_database(path: Path | str) -> Database:
    """Open (creating if needed) a station database and bring its schema up to date.

    Raises:
        MigrationError: a migration failed; it was rolled back and stays pending.
    """
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db = Database(conn)
    if str(path) != ":memory:":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    try:
        migrations.apply(db)
    except Exception as exc:
        raise MigrationError(
            f"could not upgrade the database {path}: {exc}. Nothing was changed; keep the file "
            "and start the previous version of gcs, or move the file away to start afresh."
        ) from exc
    return db


class Store:
    """The database behind a single worker thread.

    `call(fn, *args)` runs `fn(db, *args)` on that thread and returns its result; exceptions
    propagate to the awaiting caller. Usable until `close()`.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="gcs-db")
        self.db: Database = self._executor.submit(open_database, path).result()

    async def call[T](self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self.db, *args)

    def call_sync[T](self, fn: Callable[..., T], *args: Any) -> T:
        """Blocking variant for command-line tools and start-up (not for the event loop)."""
        return self._executor.submit(fn, self.db, *args).result()

    def close(self) -> None:
        def _close(db: Database) -> None:
            db.conn.close()

        try:
            self._executor.submit(_close, self.db).result()
        finally:
            self._executor.shutdown(wait=True)


def open_store(data_dir: Path) -> Store:
    data_dir.mkdir(parents=True, exist_ok=True)
    return Store(data_dir / DB_FILE)
