"""The object store's metadata database, `objects/meta.db` (SQLite, WAL).

One module owns these tables and their queries. The connection is shared by executor threads;
the caller (`ObjectStore`, `CredentialTable`) serialises use with its own lock.

Tables:
    buckets      name, creation time, bytes used (kept in step with `objects`).
    objects      one row per visible object: size, ETag, content type, stored headers.
    journal      intent log of a put: the row to write once the temp file is renamed into
                 place. Recovery at start-up finishes or forgets each entry.
    uploads      multipart uploads in progress; `stride` is the part size of the in-place
                 assembly file (see `store.py`); `owner` the access key that started it.
    parts        received parts of those uploads, with the checksums the client sent.
    completed_uploads  uploads completed recently (a repeated Complete gets the same answer).
    credentials  temporary S3 credentials: the session token only as a SHA-256.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from gcs.store.migrate import MigrationError as MigrationError
from gcs.store.migrate import apply, run_script

_SCRIPTS: list[str] = [
    # 1
    """
    CREATE TABLE buckets(
        name TEXT PRIMARY KEY,
        created REAL NOT NULL,
        used_bytes INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE objects(
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        content_type TEXT NOT NULL,
        headers TEXT NOT NULL,
        mtime REAL NOT NULL,
        PRIMARY KEY (bucket, key)
    ) WITHOUT ROWID;
    CREATE TABLE journal(
        id TEXT PRIMARY KEY,
        tmp TEXT NOT NULL,
        final TEXT NOT NULL,
        row TEXT NOT NULL
    );
    CREATE TABLE uploads(
        upload_id TEXT PRIMARY KEY,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        content_type TEXT NOT NULL,
        headers TEXT NOT NULL,
        created REAL NOT NULL,
        stride INTEGER
    );
    CREATE TABLE parts(
        upload_id TEXT NOT NULL,
        part_number INTEGER NOT NULL,
        size INTEGER NOT NULL,
        etag TEXT NOT NULL,
        location TEXT NOT NULL,
        mtime REAL NOT NULL,
        PRIMARY KEY (upload_id, part_number)
    ) WITHOUT ROWID;
    CREATE TABLE credentials(
        access_key TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL,
        bucket TEXT NOT NULL,
        prefix TEXT NOT NULL,
        writable INTEGER NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    );
    CREATE INDEX credentials_expires ON credentials(expires);
    """,
    # 2: per-credential upload cap, checksums kept with parts and objects, part sizes of
    # multipart objects (GET ?partNumber), completed uploads (a repeated Complete answers).
    """
    ALTER TABLE uploads ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    ALTER TABLE uploads ADD COLUMN checksum_algorithm TEXT NOT NULL DEFAULT '';
    CREATE INDEX uploads_owner ON uploads(owner);
    ALTER TABLE parts ADD COLUMN checksums TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE objects ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE completed_uploads(
        upload_id TEXT PRIMARY KEY,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        etag TEXT NOT NULL,
        completed REAL NOT NULL
    );
    """,
]


#: meta.db's migrations, in the station's one migration system (`gcs.store.migrate`).
meta_migrations = Migrations("objects-meta")


@meta_migrations(name="0001_objects_uploads_credentials")
def _m0001(db: Database) -> None:
    run_script(db, _SCRIPTS[0])


@meta_migrations(name="0002_checksums_owners_completed_uploads")
def _m0002(db: Database) -> None:
    run_script(db, _SCRIPTS[1])


@dataclass(frozen=True)
class ObjectRow:
    """Metadata of one stored object."""

    bucket: str
    key: str
    size: int
    etag: str
    content_type: str
    mtime: float
    headers: dict[str, str] = field(default_factory=dict)
    # Checksums by algorithm (``crc32`` -> base64 value) and their type (FULL_OBJECT or
    # COMPOSITE); the part sizes of an object assembled from a multipart upload.
    checksums: dict[str, str] = field(default_factory=dict)
    checksum_type: str = ""
    part_sizes: tuple[int, ...] = ()

    def extra_json(self) -> str:
        """The `extra` column: checksums and part sizes."""
        extra: dict[str, Any] = {}
        if self.checksums:
            extra["checksums"] = self.checksums
            extra["checksum_type"] = self.checksum_type or "FULL_OBJECT"
        if self.part_sizes:
            extra["parts"] = list(self.part_sizes)
        return json.dumps(extra)

    def to_json(self) -> str:
        """The row as JSON (for the journal)."""
        return json.dumps(
            {
                "bucket": self.bucket,
                "key": self.key,
                "size": self.size,
                "etag": self.etag,
                "content_type": self.content_type,
                "mtime": self.mtime,
                "headers": self.headers,
                "extra": self.extra_json(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ObjectRow:
        """Read back `to_json` output."""
        d = json.loads(text)
        return _with_extra(
            cls(
                d["bucket"],
                d["key"],
                d["size"],
                d["etag"],
                d["content_type"],
                d["mtime"],
                d["headers"],
            ),
            d.get("extra", "{}"),
        )


def _with_extra(row: ObjectRow, extra_text: str) -> ObjectRow:
    extra = json.loads(extra_text or "{}")
    if not extra:
        return row
    return dataclasses.replace(
        row,
        checksums=dict(extra.get("checksums", {})),
        checksum_type=str(extra.get("checksum_type", "")),
        part_sizes=tuple(extra.get("parts", ())),
    )


@dataclass(frozen=True)
class UploadRow:
    """A multipart upload in progress."""

    upload_id: str
    bucket: str
    key: str
    content_type: str
    headers: dict[str, str]
    created: float
    stride: int | None
    owner: str = ""
    checksum_algorithm: str = ""  # e.g. "crc32" when the client announced one


@dataclass(frozen=True)
class PartRow:
    """One received part."""

    part_number: int
    size: int
    etag: str
    location: str
    mtime: float
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreUsage:
    """What the object store holds on disk, for the operator.

    Attributes:
        object_bytes: bytes of stored objects (every bucket).
        objects: how many objects.
        buckets: how many buckets.
        open_uploads: multipart uploads neither completed nor aborted.
        upload_bytes: bytes held by their parts.
        disk_total_bytes: size of the disk holding `objects/`.
        disk_free_bytes: free space on it.
    """

    object_bytes: int
    objects: int
    buckets: int
    open_uploads: int
    upload_bytes: int
    disk_total_bytes: int
    disk_free_bytes: int


@dataclass(frozen=True)
class CredentialRow:
    """A temporary credential as stored (no secret, token hashed)."""

    access_key: str
    token_sha256: str
    bucket: str
    prefix: str
    writable: bool
    created: float
    expires: float


def connect(path: Path) -> sqlite3.Connection:
    """Open meta.db (WAL, autocommit mode) and apply pending migrations.

    Raises:
        MigrationError: a migration failed; it was rolled back and stays pending.
    """
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Apply meta.db's pending migrations (older files counted them in `user_version`).

    Raises:
        MigrationError: one failed (rolled back; earlier ones stay applied).
    """
    apply(Database(conn), meta_migrations, "the object store's meta.db", adopt_user_version=True)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# --- objects ----------------------------------------------------------------------------

_OBJECT_COLUMNS = "bucket, key, size, etag, content_type, mtime, headers, extra"


def _object(row: tuple[Any, ...]) -> ObjectRow:
    return _with_extra(
        ObjectRow(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6])), row[7]
    )


def get_object(conn: sqlite3.Connection, bucket: str, key: str) -> ObjectRow | None:
    """The object's row, or None."""
    row = conn.execute(
        f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
    ).fetchone()
    return _object(row) if row else None


def put_object(conn: sqlite3.Connection, obj: ObjectRow) -> None:
    """Insert or replace an object's row and keep the bucket's byte count (in a transaction)."""
    old = conn.execute(
        "SELECT size FROM objects WHERE bucket = ? AND key = ?", (obj.bucket, obj.key)
    ).fetchone()
    conn.execute(
        "INSERT OR REPLACE INTO objects(bucket, key, size, etag, content_type, mtime, headers, "
        "extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            obj.bucket,
            obj.key,
            obj.size,
            obj.etag,
            obj.content_type,
            obj.mtime,
            json.dumps(obj.headers),
            obj.extra_json(),
        ),
    )
    conn.execute(
        "UPDATE buckets SET used_bytes = used_bytes + ? WHERE name = ?",
        (obj.size - (old[0] if old else 0), obj.bucket),
    )


def delete_object(conn: sqlite3.Connection, bucket: str, key: str) -> ObjectRow | None:
    """Delete an object's row (in a transaction); returns what was deleted."""
    old = get_object(conn, bucket, key)
    if old is None:
        return None
    conn.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
    conn.execute(
        "UPDATE buckets SET used_bytes = used_bytes - ? WHERE name = ?", (old.size, bucket)
    )
    return old


def list_objects(
    conn: sqlite3.Connection,
    bucket: str,
    *,
    lower: str,
    inclusive: bool,
    prefix: str,
    limit: int,
    within: str | None = None,
) -> list[ObjectRow]:
    """Up to `limit` rows with key after `lower` (or at it, if `inclusive`) starting with `prefix`.

    `within` (a folder ending in '/') further confines the rows to that folder and the key
    named like the folder without its slash. Keys compare as UTF-8 bytes (SQLite's BINARY
    collation), the order S3 lists in.
    """
    if lower < prefix:
        lower, inclusive = prefix, True
    op = ">=" if inclusive else ">"
    sql = f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key {op} ?"
    args: list[Any] = [bucket, lower]
    upper = prefix_successor(prefix) if prefix else None
    if upper is not None:
        sql += " AND key < ?"
        args.append(upper)
    if within is not None:
        sql += " AND (key = ? OR (key >= ? AND key < ?))"
        args += [within[:-1], within, prefix_successor(within)]
    sql += " ORDER BY key LIMIT ?"
    args.append(limit)
    return [_object(r) for r in conn.execute(sql, args)]


def prefix_successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None if none)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:
                nxt = 0xE000
            return "".join(chars) + chr(nxt)
    return None


# --- buckets ----------------------------------------------------------------------------


def get_bucket(conn: sqlite3.Connection, name: str) -> tuple[str, float, int] | None:
    """(name, created, used_bytes) or None."""
    row = conn.execute(
        "SELECT name, created, used_bytes FROM buckets WHERE name = ?", (name,)
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def list_buckets(conn: sqlite3.Connection) -> list[tuple[str, float]]:
    """Every bucket with its creation time."""
    return [(r[0], r[1]) for r in conn.execute("SELECT name, created FROM buckets ORDER BY name")]


# --- journal ----------------------------------------------------------------------------


def journal_entries(conn: sqlite3.Connection) -> list[tuple[str, str, str, ObjectRow]]:
    """Every pending put: (id, tmp path, final path, row)."""
    return [
        (r[0], r[1], r[2], ObjectRow.from_json(r[3]))
        for r in conn.execute("SELECT id, tmp, final, row FROM journal")
    ]


# --- multipart --------------------------------------------------------------------------


_UPLOAD_COLUMNS = (
    "upload_id, bucket, key, content_type, headers, created, stride, owner, checksum_algorithm"
)


def _upload(r: tuple[Any, ...]) -> UploadRow:
    return UploadRow(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7], r[8])


def get_upload(conn: sqlite3.Connection, upload_id: str) -> UploadRow | None:
    """The upload's row, or None."""
    r = conn.execute(
        f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?", (upload_id,)
    ).fetchone()
    return None if r is None else _upload(r)


def count_uploads_of(conn: sqlite3.Connection, owner: str) -> int:
    """How many uploads `owner` has open."""
    return int(conn.execute("SELECT count(*) FROM uploads WHERE owner = ?", (owner,)).fetchone()[0])


def stale_uploads(conn: sqlite3.Connection, before: float) -> list[str]:
    """Uploads with no activity (start or last part) since `before` (epoch s)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT u.upload_id FROM uploads u WHERE max(u.created, coalesce("
            "(SELECT max(p.mtime) FROM parts p WHERE p.upload_id = u.upload_id), 0)) < ?",
            (before,),
        )
    ]


def completed_upload(conn: sqlite3.Connection, upload_id: str) -> tuple[str, str, str] | None:
    """(bucket, key, ETag) of an upload completed recently, or None."""
    r = conn.execute(
        "SELECT bucket, key, etag FROM completed_uploads WHERE upload_id = ?", (upload_id,)
    ).fetchone()
    return (r[0], r[1], r[2]) if r else None


def usage(conn: sqlite3.Connection) -> tuple[int, int, int, int, int]:
    """(object bytes, objects, buckets, open uploads, upload bytes)."""
    object_bytes, buckets = conn.execute(
        "SELECT coalesce(sum(used_bytes), 0), count(*) FROM buckets"
    ).fetchone()
    (objects,) = conn.execute("SELECT count(*) FROM objects").fetchone()
    (uploads,) = conn.execute("SELECT count(*) FROM uploads").fetchone()
    (upload_bytes,) = conn.execute("SELECT coalesce(sum(size), 0) FROM parts").fetchone()
    return int(object_bytes), int(objects), int(buckets), int(uploads), int(upload_bytes)


def list_uploads(
    conn: sqlite3.Connection, bucket: str, prefix: str, within: str | None = None
) -> list[UploadRow]:
    """Uploads in progress in `bucket` whose key starts with `prefix`, by key then time.

    `within` confines them as in `list_objects`.
    """
    rows = conn.execute(
        f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE bucket = ? ORDER BY key, created",
        (bucket,),
    )
    return [
        _upload(r)
        for r in rows
        if r[2].startswith(prefix)
        and (within is None or r[2].startswith(within) or r[2] == within[:-1])
    ]


def get_parts(conn: sqlite3.Connection, upload_id: str) -> dict[int, PartRow]:
    """The upload's parts by number."""
    return {
        r[0]: PartRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]))
        for r in conn.execute(
            "SELECT part_number, size, etag, location, mtime, checksums FROM parts "
            "WHERE upload_id = ? ORDER BY part_number",
            (upload_id,),
        )
    }


# --- credentials ------------------------------------------------------------------------


def put_credential(conn: sqlite3.Connection, row: CredentialRow) -> None:
    """Store a temporary credential."""
    conn.execute(
        "INSERT INTO credentials(access_key, token_sha256, bucket, prefix, writable, created, "
        "expires) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            row.access_key,
            row.token_sha256,
            row.bucket,
            row.prefix,
            int(row.writable),
            row.created,
            row.expires,
        ),
    )


def get_credential(conn: sqlite3.Connection, access_key: str) -> CredentialRow | None:
    """The credential, or None."""
    r = conn.execute(
        "SELECT access_key, token_sha256, bucket, prefix, writable, created, expires "
        "FROM credentials WHERE access_key = ?",
        (access_key,),
    ).fetchone()
    return CredentialRow(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) if r else None


def purge_credentials(conn: sqlite3.Connection, before: float) -> int:
    """Delete credentials that expired before `before`; returns how many."""
    return conn.execute("DELETE FROM credentials WHERE expires < ?", (before,)).rowcount
