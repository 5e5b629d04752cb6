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

from gcs.store.history import migrate_rows

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


@migrations(name="0005_telemetry_chunks")
def _m0005(db: Database) -> None:
    # Telemetry history as compressed chunks of changed values (gcs/store/history.py): the
    # one-row-per-sample table grew ~2 KB per device-second. Old rows are moved, then dropped.
    db.execute(
        """CREATE TABLE telemetry_chunks (
            id INTEGER PRIMARY KEY,
            sn TEXT NOT NULL,
            ts_start INTEGER NOT NULL,
            ts_end INTEGER NOT NULL,
            n INTEGER NOT NULL,
            step_ms INTEGER NOT NULL DEFAULT 0,
            data BLOB NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX telemetry_chunks_sn_start ON telemetry_chunks(sn, ts_start)")
    db.execute("CREATE INDEX telemetry_chunks_sn_end ON telemetry_chunks(sn, ts_end)")
    db.execute("CREATE INDEX telemetry_chunks_end ON telemetry_chunks(ts_end)")
    migrate_rows(db)
    db.execute("DROP TABLE telemetry")


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
