"""The `credentials` table of meta.db, with its own connection (usable while the store runs).

A CLI that mints credentials for a running station writes here through a second connection;
SQLite's WAL lets the server see the new row at its next lookup.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

from gcs.store.objects import meta
from gcs.store.objects.meta import CredentialRow


class CredentialTable:
    """Temporary S3 credentials stored in `objects/meta.db` (blocking, thread-safe).

    Args:
        objects_dir: the `objects/` folder (created if missing).
    """

    def __init__(self, objects_dir: Path) -> None:
        objects_dir.mkdir(parents=True, exist_ok=True)
        self._dir = objects_dir
        self._conn: sqlite3.Connection | None = meta.connect(objects_dir / "meta.db")
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the credential table is closed")
        return self._conn

    def add(self, row: CredentialRow) -> None:
        """Store a new credential.

        Raises:
            sqlite3.IntegrityError: the access key exists already.
        """
        with self._lock, meta.transaction(self._db()) as conn:
            meta.put_credential(conn, row)

    def get(self, access_key: str) -> CredentialRow | None:
        """The credential with that access key, or None."""
        with self._lock:
            return meta.get_credential(self._db(), access_key)

    def purge(self, before: float) -> int:
        """Delete credentials that expired before `before` (epoch s); returns how many."""
        with self._lock, meta.transaction(self._db()) as conn:
            return meta.purge_credentials(conn, before)

    def usage(self) -> meta.StoreUsage:
        """What the object store holds (read while the store runs; see `ObjectStore.usage`)."""
        with self._lock:
            counts = meta.usage(self._db())
        disk = shutil.disk_usage(self._dir)
        return meta.StoreUsage(*counts, disk_total_bytes=disk.total, disk_free_bytes=disk.free)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
