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

from broker.auth import hash_password
from gcs.store.history import migrate_rows
from gcs.store.migrate import MigrationError as MigrationError
from gcs.store.migrate import apply

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
    # Pilot/operator logins. `token_epoch` grows on every password change so that older access
    # tokens stop working. (`mqtt_password` held the MQTT password in clear until 0005.)
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


@migrations(name="0006_hms_alarms")
def _m0006(db: Database) -> None:
    # HMS alarms (§12): one row per alarm from the report that raised it to the one that no
    # longer listed it (`cleared_at`); `read_at` when the operator has seen it.
    db.execute(
        """CREATE TABLE hms_alarms (
            id INTEGER PRIMARY KEY,
            source_sn TEXT NOT NULL,
            sn TEXT NOT NULL,
            gateway_sn TEXT NOT NULL,
            key TEXT NOT NULL,
            code TEXT NOT NULL,
            level INTEGER NOT NULL,
            module INTEGER NOT NULL,
            in_the_sky INTEGER NOT NULL,
            imminent INTEGER NOT NULL,
            component_index INTEGER NOT NULL,
            sensor_index INTEGER NOT NULL,
            text_en TEXT NOT NULL,
            text_zh TEXT NOT NULL,
            tid TEXT NOT NULL DEFAULT '',
            bid TEXT NOT NULL DEFAULT '',
            raised_at INTEGER NOT NULL,
            cleared_at INTEGER,
            read_at INTEGER
        )"""
    )
    db.execute("CREATE INDEX hms_active ON hms_alarms(source_sn, cleared_at)")
    db.execute("CREATE INDEX hms_raised ON hms_alarms(raised_at)")
    db.execute("CREATE INDEX hms_sn ON hms_alarms(sn, raised_at)")


# PBKDF2 work for MQTT password verifiers. Those passwords are 24+ random or HMAC-derived
# characters (over 140 bits), so the hash only has to be one-way, not slow: a low count keeps a
# migration of many users and the first login after it quick.
MQTT_HASH_ITERATIONS = 10_000


@migrations(name="0007_users_mqtt_verifier")
def _m0007(db: Database) -> None:
    # Issue 17 #5: no MQTT password in clear at rest. Each stored password becomes its verifier,
    # so the broker keeps accepting it (a Pilot still connected or reconnecting with it is not
    # locked out); the station hands a derived password at the user's next login.
    db.execute("PRAGMA secure_delete=ON")  # the old text is zeroed, not left in free space
    db.execute("ALTER TABLE users RENAME COLUMN mqtt_password TO mqtt_password_hash")
    rows = db.execute("SELECT id, mqtt_password_hash FROM users").fetchall()
    for user_id, clear in rows:
        verifier = hash_password(clear, iterations=MQTT_HASH_ITERATIONS) if clear else ""
        db.execute("UPDATE users SET mqtt_password_hash = ? WHERE id = ?", [verifier, user_id])
    db.execute("PRAGMA secure_delete=OFF")


@migrations(name="0008_telemetry_chunks")
def _m0008(db: Database) -> None:
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


@migrations(name="0009_firmwares")
def _m0009(db: Database) -> None:
    # The firmware library (§14): packages the operator imported, kept in the object store under
    # `object_key`; `models` is a JSON list of the device model keys a package is for.
    db.execute(
        """CREATE TABLE firmwares (
            id TEXT PRIMARY KEY,
            file_name TEXT NOT NULL,
            object_key TEXT NOT NULL,
            version TEXT NOT NULL,
            models TEXT NOT NULL,
            release_note TEXT NOT NULL DEFAULT '',
            md5 TEXT NOT NULL,
            size INTEGER NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            imported_at INTEGER NOT NULL,
            imported_by TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX firmwares_imported ON firmwares(imported_at)")


@migrations(name="0010_device_logs")
def _m0010(db: Database) -> None:
    # Remote log uploads (§15): one row per fileupload_start, with the files asked for and how
    # far each got (`files`, JSON), so an operator can list and download the archives later.
    db.execute(
        """CREATE TABLE device_logs (
            id TEXT PRIMARY KEY,
            gateway_sn TEXT NOT NULL,
            bid TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            actor TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            happen_time INTEGER,
            status TEXT NOT NULL,
            result INTEGER NOT NULL DEFAULT 0,
            files TEXT NOT NULL DEFAULT '[]'
        )"""
    )
    db.execute("CREATE INDEX device_logs_gateway ON device_logs(gateway_sn, created_at)")


@migrations(name="0011_waylines")
def _m0011(db: Database) -> None:
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


@migrations(name="0012_flight_tasks")
def _m0012(db: Database) -> None:
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


@migrations(name="0013_map")
def _m0013(db: Database) -> None:
    # The shared map (§8.2): groups per workspace (exactly one type-2 app-shared group, a default
    # group, the custom-flight-area group), their elements (content = a GeoJSON Feature), the
    # custom flight areas' own properties, and each dock's last flight-area sync report.
    db.execute(
        """CREATE TABLE map_groups (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            type INTEGER NOT NULL,
            role TEXT NOT NULL DEFAULT '',
            is_lock INTEGER NOT NULL DEFAULT 0,
            create_time INTEGER NOT NULL
        )"""
    )
    db.execute(
        "CREATE UNIQUE INDEX map_groups_role ON map_groups(workspace_id, role) WHERE role != ''"
    )
    db.execute(
        """CREATE TABLE map_elements (
            id TEXT PRIMARY KEY,
            group_id TEXT NOT NULL REFERENCES map_groups(id) ON DELETE CASCADE,
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            type INTEGER NOT NULL,
            user_name TEXT NOT NULL DEFAULT '',
            content TEXT NOT NULL,
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX map_elements_group ON map_elements(group_id, create_time)")
    db.execute(
        """CREATE TABLE flight_areas (
            element_id TEXT PRIMARY KEY REFERENCES map_elements(id) ON DELETE CASCADE,
            area_type TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            radius REAL NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE flight_area_sync (
            sn TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            reason INTEGER NOT NULL DEFAULT 0,
            file_name TEXT NOT NULL DEFAULT '',
            checksum TEXT NOT NULL DEFAULT '',
            updated_at INTEGER NOT NULL
        )"""
    )


@migrations(name="0014_media")
def _m0014(db: Database) -> None:
    # The media library (issue 11): one row per file a dock or Pilot reported, keyed by its
    # object key. `status` ok / missing (reported but not in the store) / bad (not readable);
    # `note` says why. Where and how it was shot comes from the callback, then from the file.
    db.execute(
        """CREATE TABLE media_files (
            id INTEGER PRIMARY KEY,
            workspace_id TEXT NOT NULL DEFAULT '',
            object_key TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            path TEXT NOT NULL DEFAULT '',
            size INTEGER,
            fingerprint TEXT NOT NULL DEFAULT '',
            tiny_fingerprint TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL,
            device_sn TEXT NOT NULL DEFAULT '',
            drone_model_key TEXT NOT NULL DEFAULT '',
            payload_model_key TEXT NOT NULL DEFAULT '',
            lens TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'other',
            flight_id TEXT NOT NULL DEFAULT '',
            file_group_id TEXT NOT NULL DEFAULT '',
            is_original INTEGER NOT NULL DEFAULT 1,
            sub_file_type INTEGER NOT NULL DEFAULT 0,
            create_time INTEGER,
            lat REAL,
            lng REAL,
            absolute_altitude REAL,
            relative_altitude REAL,
            gimbal_yaw REAL,
            gimbal_pitch REAL,
            aircraft_yaw REAL,
            aircraft_pitch REAL,
            camera_model TEXT NOT NULL DEFAULT '',
            width INTEGER,
            height INTEGER,
            duration_ms INTEGER,
            codec TEXT NOT NULL DEFAULT '',
            thumbnail_key TEXT NOT NULL DEFAULT '',
            track TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'ok',
            note TEXT NOT NULL DEFAULT '',
            tid TEXT NOT NULL DEFAULT '',
            bid TEXT NOT NULL DEFAULT '',
            received_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX media_ws_time ON media_files(workspace_id, create_time)")
    db.execute("CREATE INDEX media_fingerprint ON media_files(fingerprint)")
    db.execute("CREATE INDEX media_tiny ON media_files(tiny_fingerprint)")
    db.execute("CREATE INDEX media_flight ON media_files(flight_id)")
    db.execute("CREATE INDEX media_callback ON media_files(device_sn, tid, bid)")


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
    pending = apply(db, migrations, f"the database {path}")
    if pending and str(path) != ":memory:":
        # Move the upgrade into the main file now, so that what a migration erased (0005's
        # clear-text passwords) does not linger there until the next automatic checkpoint.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
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
