"""The on-disk object store: `<data_dir>/objects/<bucket>/<key>` plus `objects/meta.db`.

Theory of operation.

*Puts.* Bytes stream into a fresh file under `objects/.tmp/` (the caller feeds `write()` from
an executor thread, in batches). Nothing is visible until `commit_put`: the temp file is
fsynced, an intent row goes into the `journal` table, the file is renamed over the object's
path, and one transaction writes the object's row and drops the journal row. A crash before the
rename leaves only a temp file (start-up removes `.tmp/`); a crash between rename and commit is
finished at start-up from the journal. A failed or refused upload deletes its temp file, and the
previous version of the object is untouched until the rename.

*Reads* take the row and open the file under the same lock that commits use, so a reader holds
a consistent (row, file) pair even if a new version is renamed in a moment later.

*Deletes* remove the row first, then the file: a crash in between leaves an invisible orphan
file that the next put of that key (or of a key below it) replaces.

*Multipart.* Each upload has a folder `objects/.multipart/<upload_id>/` with an assembly file
`data`. SDKs upload fixed-size parts, so the first full part fixes a `stride` and part n of
that size (or a smaller last part) is written in place at offset (n-1)*stride; completing an
upload whose parts are 1..k all in place is then a truncate and a rename, with no copy. Any
other part (size unknown or unusual, a second upload of a part already stored in place) goes
to its own file, and completion falls back to copying the parts into a temp file.

All methods are blocking; asyncio callers run them in an executor. One lock serialises the
short metadata-and-rename steps; data writes and copies run outside it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gcs.store.objects import meta
from gcs.store.objects.errors import (
    StoreError,
    no_such_bucket,
    no_such_key,
    no_such_upload,
    storage_full,
)
from gcs.store.objects.meta import ObjectRow, PartRow, UploadRow
from gcs.store.objects.names import check_bucket, check_key

log = logging.getLogger(__name__)

MiB = 1024 * 1024
GiB = 1024 * MiB
MAX_PUT_BYTES = 5 * GiB  # S3's single PUT / single part limit
MIN_PART_BYTES = 5 * MiB
MAX_PARTS = 10000
UPLOAD_MAX_AGE_S = 7 * 24 * 3600
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_COPY_CHUNK = 64 * MiB


@dataclass(frozen=True)
class ListPage:
    """One page of a listing: objects and common prefixes in key order."""

    objects: list[ObjectRow]
    prefixes: list[str]
    truncated: bool
    last: str  # the last key or prefix returned (for the continuation token)
    last_is_prefix: bool


ChecksumOf = Callable[[list[PartRow]], tuple[dict[str, str], str]]


@dataclass(frozen=True)
class Condition:
    """A conditional write (S3's ``If-Match`` / ``If-None-Match: *`` on PUT, Complete, DELETE).

    Attributes:
        if_match: ETags (unquoted) the current object must have; ``*`` = any existing.
        if_none_match: the object must not exist (``If-None-Match: *``).
    """

    if_match: tuple[str, ...] | None = None
    if_none_match: bool = False

    def check(self, current: ObjectRow | None, bucket: str, key: str) -> None:
        """Raises StoreError ``PreconditionFailed`` (or ``NoSuchKey`` for If-Match on nothing)."""
        if self.if_none_match and current is not None:
            raise StoreError(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold "
                "(If-None-Match: the object exists).",
                bucket=bucket,
                key=key,
            )
        if self.if_match is not None:
            if current is None:
                raise no_such_key(bucket, key)
            if "*" not in self.if_match and current.etag not in self.if_match:
                raise StoreError(
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold "
                    "(If-Match: the ETag differs).",
                    bucket=bucket,
                    key=key,
                )


class _FileSink:
    """Writes a stream of bytes into one file (from `offset`), hashing MD5, with a size limit."""

    def __init__(self, fd: int, offset: int, limit: int, what: str, hash_md5: bool) -> None:
        self._fd = fd
        self._offset = offset
        self._limit = limit
        self._what = what
        self.size = 0
        self._md5 = hashlib.md5() if hash_md5 else None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        n = len(data)
        if self.size + n > self._limit:
            raise StoreError(
                "EntityTooLarge",
                f"Your proposed upload exceeds the maximum allowed {self._what} size "
                f"({self._limit} bytes).",
            )
        if self._md5 is not None:
            self._md5.update(data)
        view = memoryview(data)
        try:
            if self.size == 0 and self._offset:
                os.lseek(self._fd, self._offset, os.SEEK_SET)  # each sink has its own fd
            while view:
                written = os.write(self._fd, view)
                self.size += written
                view = view[written:]
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise storage_full(exc.strerror or "") from exc
            raise

    def md5(self) -> bytes:
        if self._md5 is None:
            raise RuntimeError("this writer does not hash: the caller passes the ETag")
        return self._md5.digest()


class ObjectWriter:
    """An object being uploaded: feed `write()`, then `ObjectStore.commit_put` or `abort()`.

    Blocking; call from an executor. After `abort()` or a commit the writer is finished.
    """

    def __init__(
        self, bucket: str, key: str, tmp: Path, limit: int, *, hash_md5: bool = True
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.tmp = tmp
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        self._fd: int | None = fd
        self._sink = _FileSink(fd, 0, limit, "object", hash_md5)

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._sink.size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append `data`.

        Raises:
            StoreError: ``EntityTooLarge`` or ``XMinioStorageFull``; the writer is then
                unusable and the caller must `abort()`.
        """
        self._sink.write(data)

    def md5(self) -> bytes:
        """MD5 of everything written."""
        return self._sink.md5()

    def _finish(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            except OSError as exc:
                if exc.errno in _FULL_ERRNOS:
                    raise storage_full(exc.strerror or "") from exc
                raise
            finally:
                os.close(fd)

    def abort(self) -> None:
        """Forget the upload: close and delete the temp file (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


class PartWriter:
    """One part being uploaded: feed `write()`, then `ObjectStore.commit_part` or `abort()`."""

    def __init__(
        self,
        upload_id: str,
        part_number: int,
        path: Path,
        offset: int,
        limit: int | None,
        *,
        hash_md5: bool = True,
    ) -> None:
        self.upload_id = upload_id
        self.part_number = part_number
        self.path = path
        self.offset = offset
        self.in_place = limit is not None
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags if self.in_place else flags | os.O_EXCL, 0o644)
        self._fd: int | None = fd
        # In place, a part must not spill into the next part's region.
        self._sink = _FileSink(
            fd, offset, limit if limit is not None else MAX_PUT_BYTES, "part", hash_md5
        )
        self.finished = False

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._sink.size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append `data` to the part.

        Raises:
            StoreError: ``EntityTooLarge`` or ``XMinioStorageFull``; then `abort()`.
        """
        self._sink.write(data)

    def md5(self) -> bytes:
        """MD5 of the part."""
        return self._sink.md5()

    def _sync(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fdatasync(fd) if hasattr(os, "fdatasync") else os.fsync(fd)
            except OSError as exc:
                if exc.errno in _FULL_ERRNOS:
                    raise storage_full(exc.strerror or "") from exc
                raise
            finally:
                os.close(fd)

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class ObjectStore:
    """Buckets and objects on disk with metadata in SQLite. Blocking: use an executor.

    Args:
        root: the `objects/` folder (created if missing).
        max_object_bytes: largest object (0 = S3's 5 TiB rule is not enforced beyond parts).
        max_bucket_bytes: quota per bucket (0 = none).
        free_reserve_bytes: a put whose size is known is refused if it would leave less free
            disk than this.
        upload_max_age_s: a multipart upload with no activity for this long is deleted (see
            `expire_uploads`).
        max_open_uploads: open multipart uploads one owner (access key) may have (0 = any).
    """

    def __init__(
        self,
        root: Path,
        *,
        max_object_bytes: int = 0,
        max_bucket_bytes: int = 0,
        free_reserve_bytes: int = 64 * MiB,
        upload_max_age_s: float = UPLOAD_MAX_AGE_S,
        max_open_uploads: int = 0,
    ) -> None:
        self.root = root
        self.upload_max_age_s = upload_max_age_s
        self.max_open_uploads = max_open_uploads
        self.max_object_bytes = max_object_bytes or 5 * 1024 * GiB
        self.max_bucket_bytes = max_bucket_bytes
        self.free_reserve_bytes = free_reserve_bytes
        self.tmp_dir = root / ".tmp"
        self.mp_dir = root / ".multipart"
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._inflight_parts: set[tuple[str, int]] = set()
        self._completing: set[str] = set()

    # --- life cycle ----------------------------------------------------------------------

    def open(self) -> None:
        """Create folders, open and migrate meta.db, finish or forget interrupted writes.

        Raises:
            meta.MigrationError: meta.db cannot be brought up to date.
            OSError: the folder cannot be created.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        self.mp_dir.mkdir(exist_ok=True)
        self._conn = meta.connect(self.root / "meta.db")
        with self._lock:
            self._recover_journal()
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir.mkdir(exist_ok=True)
        self.expire_uploads()
        known = {r[0] for r in self.conn.execute("SELECT upload_id FROM uploads")}
        for child in self.mp_dir.iterdir():
            if child.name not in known:
                shutil.rmtree(child, ignore_errors=True)

    def close(self) -> None:
        """Close meta.db (checkpointing the WAL)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._conn.close()
                self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        """The meta.db connection (hold `lock` while using it).

        Raises:
            RuntimeError: the store is not open.
        """
        if self._conn is None:
            raise RuntimeError("the object store is not open")
        return self._conn

    @property
    def lock(self) -> threading.RLock:
        """The lock serialising meta.db use and renames."""
        return self._lock

    def _recover_journal(self) -> None:
        for entry_id, tmp, final, row in meta.journal_entries(self.conn):
            tmp_path, final_path = Path(tmp), Path(final)
            with meta.transaction(self.conn):
                if not tmp_path.exists() and final_path.exists():
                    log.warning("finishing interrupted put of %s/%s", row.bucket, row.key)
                    meta.put_object(self.conn, row)
                    self._drop_upload_rows(entry_id)
                elif tmp_path.exists() and self.tmp_dir in tmp_path.parents:
                    tmp_path.unlink()
                self.conn.execute("DELETE FROM journal WHERE id = ?", (entry_id,))
            if not tmp_path.exists() and final_path.exists():
                shutil.rmtree(self.mp_dir / entry_id, ignore_errors=True)

    def expire_uploads(self, max_age_s: float | None = None) -> int:
        """Delete multipart uploads with no activity (start, last part) for `max_age_s`.

        Uploads being completed or receiving a part are left alone. The record of completed
        uploads (for repeated Complete requests) is kept as long. Returns how many uploads
        were deleted.
        """
        age = self.upload_max_age_s if max_age_s is None else max_age_s
        cutoff = time.time() - age
        with self._lock:
            busy = self._completing | {u for u, _ in self._inflight_parts}
            stale = [u for u in meta.stale_uploads(self.conn, cutoff) if u not in busy]
            with meta.transaction(self.conn):
                for upload_id in stale:
                    self._drop_upload_rows(upload_id)
                self.conn.execute("DELETE FROM completed_uploads WHERE completed < ?", (cutoff,))
        for upload_id in stale:
            shutil.rmtree(self.mp_dir / upload_id, ignore_errors=True)
        return len(stale)

    def usage(self) -> meta.StoreUsage:
        """What the store holds: objects, open uploads and their parts, the disk."""
        with self._lock:
            counts = meta.usage(self.conn)
        disk = shutil.disk_usage(self.root)
        return meta.StoreUsage(*counts, disk_total_bytes=disk.total, disk_free_bytes=disk.free)

    def _drop_upload_rows(self, upload_id: str) -> None:
        self.conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
        self.conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))

    # --- buckets -------------------------------------------------------------------------

    def create_bucket(self, name: str) -> bool:
        """Create a bucket; returns False if it already existed.

        Raises:
            StoreError: ``InvalidBucketName``.
        """
        check_bucket(name)
        with self._lock:
            if meta.get_bucket(self.conn, name) is not None:
                return False
            (self.root / name).mkdir(exist_ok=True)
            with meta.transaction(self.conn):
                self.conn.execute(
                    "INSERT INTO buckets(name, created) VALUES (?, ?)", (name, time.time())
                )
            return True

    def bucket_exists(self, name: str) -> bool:
        """Whether the bucket exists."""
        with self._lock:
            return meta.get_bucket(self.conn, name) is not None

    def bucket_used(self, name: str) -> int:
        """Bytes stored in the bucket.

        Raises:
            StoreError: ``NoSuchBucket``.
        """
        with self._lock:
            row = meta.get_bucket(self.conn, name)
        if row is None:
            raise no_such_bucket(name)
        return row[2]

    def list_buckets(self) -> list[tuple[str, float]]:
        """Every bucket with its creation time (epoch s)."""
        with self._lock:
            return meta.list_buckets(self.conn)

    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket.

        Raises:
            StoreError: ``NoSuchBucket`` or ``BucketNotEmpty``.
        """
        with self._lock:
            if meta.get_bucket(self.conn, name) is None:
                raise no_such_bucket(name)
            sql = "SELECT 1 FROM objects WHERE bucket = ? LIMIT 1"
            if self.conn.execute(sql, (name,)).fetchone():
                raise StoreError(
                    "BucketNotEmpty", "The bucket you tried to delete is not empty.", bucket=name
                )
            with meta.transaction(self.conn):
                for (upload_id,) in self.conn.execute(
                    "SELECT upload_id FROM uploads WHERE bucket = ?", (name,)
                ).fetchall():
                    self._drop_upload_rows(upload_id)
                self.conn.execute("DELETE FROM buckets WHERE name = ?", (name,))
            shutil.rmtree(self.root / name, ignore_errors=True)

    def _require_bucket(self, bucket: str) -> tuple[str, float, int]:
        row = meta.get_bucket(self.conn, bucket)
        if row is None:
            raise no_such_bucket(bucket)
        return row

    # --- puts ----------------------------------------------------------------------------

    def begin_put(
        self, bucket: str, key: str, *, expected_size: int | None, hash_md5: bool = True
    ) -> ObjectWriter:
        """Start uploading an object.

        Args:
            bucket: the bucket.
            key: the object key.
            expected_size: the size the client announced, if it did (checked early against
                the limits and the free disk space).
            hash_md5: False when the caller hashes the bytes itself (in parallel) and passes
                the ETag to `commit_put`.

        Raises:
            StoreError: ``NoSuchBucket``, an invalid key, ``EntityTooLarge``,
                ``XMinioAdminBucketQuotaExceeded`` or ``XMinioStorageFull``.
        """
        check_key(bucket, key)
        with self._lock:
            _, _, used = self._require_bucket(bucket)
            old = meta.get_object(self.conn, bucket, key)
        used -= old.size if old else 0  # a replacement frees the old version's bytes
        limit = min(self.max_object_bytes, MAX_PUT_BYTES)
        if expected_size is not None:
            self._check_size(bucket, used, expected_size, limit)
        tmp = self.tmp_dir / f"put-{secrets.token_hex(12)}"
        try:
            return ObjectWriter(bucket, key, tmp, limit, hash_md5=hash_md5)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise storage_full(exc.strerror or "") from exc
            raise

    def _check_size(self, bucket: str, used: int, size: int, limit: int) -> None:
        if size > limit:
            raise StoreError(
                "EntityTooLarge",
                f"Your proposed upload ({size} bytes) exceeds the maximum allowed object size "
                f"({limit} bytes).",
                bucket=bucket,
            )
        if self.max_bucket_bytes and used + size > self.max_bucket_bytes:
            raise _quota(bucket, self.max_bucket_bytes)
        free = shutil.disk_usage(self.root).free
        if size + self.free_reserve_bytes > free:
            raise storage_full(f"{size} bytes asked, {free} free")

    def commit_put(
        self,
        writer: ObjectWriter,
        *,
        content_type: str,
        headers: dict[str, str],
        etag: str | None = None,
        checksums: dict[str, str] | None = None,
        condition: Condition | None = None,
    ) -> ObjectRow:
        """Make an uploaded object visible (durably), replacing any earlier version.

        Args:
            checksums: the body's verified checksums by algorithm (returned on GET/HEAD).
            condition: ``If-Match`` / ``If-None-Match`` of the request, checked atomically
                with the replacement.

        Raises:
            StoreError: ``PreconditionFailed`` or ``NoSuchKey`` (condition), quota exceeded, a
                path conflict, or the disk is full; the writer's temp file is then deleted and
                the store is as before.
        """
        try:
            writer._finish()
            if writer.key.endswith("/") and writer.size:
                raise StoreError(
                    "XMinioInvalidObjectName",
                    "An object whose key ends with '/' (a folder) must be empty.",
                    bucket=writer.bucket,
                    key=writer.key,
                )
            row = ObjectRow(
                writer.bucket,
                writer.key,
                writer.size,
                etag or writer.md5().hex(),
                content_type,
                time.time(),
                headers,
                checksums=dict(checksums or {}),
            )
            self._commit_file(
                row, writer.tmp, journal_id=f"put-{secrets.token_hex(8)}", condition=condition
            )
            return row
        finally:
            writer.abort()

    def _commit_file(
        self,
        row: ObjectRow,
        tmp: Path,
        *,
        journal_id: str,
        condition: Condition | None = None,
        upload_id: str | None = None,
    ) -> None:
        """Rename `tmp` into place and write `row`, journaled (see the module notes)."""
        with self._lock:
            _, _, used = self._require_bucket(row.bucket)
            old = meta.get_object(self.conn, row.bucket, row.key)
            if condition is not None:
                condition.check(old, row.bucket, row.key)
            growth = row.size - (old.size if old else 0)
            if self.max_bucket_bytes and used + growth > self.max_bucket_bytes:
                raise _quota(row.bucket, self.max_bucket_bytes)
            if row.key.endswith("/"):
                # Folder objects have no file of their own.
                with meta.transaction(self.conn):
                    meta.put_object(self.conn, row)
                return
            final = self._prepare_path(row.bucket, row.key)
            with meta.transaction(self.conn):
                self.conn.execute(
                    "INSERT INTO journal(id, tmp, final, row) VALUES (?, ?, ?, ?)",
                    (journal_id, str(tmp), str(final), row.to_json()),
                )
            try:
                os.replace(tmp, final)
            except OSError:
                with meta.transaction(self.conn):
                    self.conn.execute("DELETE FROM journal WHERE id = ?", (journal_id,))
                raise
            _fsync_dir(final.parent)
            with meta.transaction(self.conn):
                meta.put_object(self.conn, row)
                self._drop_upload_rows(journal_id)
                self.conn.execute("DELETE FROM journal WHERE id = ?", (journal_id,))
                if upload_id is not None:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO completed_uploads(upload_id, bucket, key, etag, "
                        "completed) VALUES (?, ?, ?, ?, ?)",
                        (upload_id, row.bucket, row.key, row.etag, time.time()),
                    )

    def _path(self, bucket: str, key: str) -> Path:
        return self.root.joinpath(bucket, *key.split("/"))

    def _prepare_path(self, bucket: str, key: str) -> Path:
        """The object's path with its parent folders made; conflicts resolved or refused."""
        segments = key.split("/")
        current = self.root / bucket
        for depth, segment in enumerate(segments[:-1], start=1):
            current = current / segment
            if current.exists() and not current.is_dir():
                parent_key = "/".join(segments[:depth])
                if meta.get_object(self.conn, bucket, parent_key) is not None:
                    raise StoreError(
                        "XMinioParentIsObject",
                        f"Object {key!r} cannot be stored: {parent_key!r} is an object.",
                        bucket=bucket,
                        key=key,
                    )
                current.unlink()  # an orphan left by an interrupted delete
        final = current / segments[-1] if len(segments) > 1 else self.root / bucket / key
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_dir():
            try:
                final.rmdir()
            except OSError:
                raise StoreError(
                    "XMinioObjectExistsAsDirectory",
                    f"Object {key!r} cannot be stored: objects exist below it ({key}/...).",
                    bucket=bucket,
                    key=key,
                ) from None
        return final

    # --- reads ---------------------------------------------------------------------------

    def check_condition(self, bucket: str, key: str, condition: Condition) -> None:
        """Check a conditional write against the object as it is now (before the body).

        Raises:
            StoreError: ``NoSuchBucket``, ``PreconditionFailed`` or ``NoSuchKey``.
        """
        with self._lock:
            self._require_bucket(bucket)
            condition.check(meta.get_object(self.conn, bucket, key), bucket, key)

    def head(self, bucket: str, key: str) -> ObjectRow:
        """The object's metadata.

        Raises:
            StoreError: ``NoSuchBucket`` or ``NoSuchKey`` (also for invalid keys).
        """
        with self._lock:
            self._require_bucket(bucket)
            row = meta.get_object(self.conn, bucket, key)
        if row is None:
            raise no_such_key(bucket, key)
        return row

    def open_object(self, bucket: str, key: str) -> tuple[ObjectRow, IO[bytes] | None]:
        """The object's metadata and an open file (None for empty folder objects).

        The pair is consistent even if the object is replaced right after; the caller closes
        the file.

        Raises:
            StoreError: ``NoSuchBucket`` or ``NoSuchKey``.
        """
        with self._lock:
            row = self.head(bucket, key)
            if key.endswith("/"):
                return row, None
            try:
                f = open(self._path(bucket, key), "rb")
            except OSError:
                log.error("object %s/%s has a row but no readable file", bucket, key)
                raise no_such_key(bucket, key) from None
            return row, f

    def list_page(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        after_is_prefix: bool = False,
        max_keys: int = 1000,
        within: str | None = None,
    ) -> ListPage:
        """One page of keys (and common prefixes, with a delimiter) after `after`.

        `within` (a folder ending in '/') confines the listing to that folder and the key
        named like it without the slash: a credential scoped to ``siteA`` listing ``siteA``
        must not see ``siteA10/...``.

        Raises:
            StoreError: ``NoSuchBucket``.
        """
        with self._lock:
            self._require_bucket(bucket)
        if max_keys <= 0:  # S3: nothing listed, and nothing left out either
            return ListPage([], [], False, "", False)
        lower, inclusive = after, False
        if after_is_prefix:
            successor = meta.prefix_successor(after)
            if successor is None:
                return ListPage([], [], False, "", False)
            lower, inclusive = successor, True
        objects: list[ObjectRow] = []
        prefixes: list[str] = []
        last, last_is_prefix = "", False
        truncated = False
        for entry in self._entries(bucket, prefix, delimiter, lower, inclusive, within):
            if len(objects) + len(prefixes) == max_keys:
                truncated = True
                break
            if isinstance(entry, str):
                prefixes.append(entry)
                last, last_is_prefix = entry, True
            else:
                objects.append(entry)
                last, last_is_prefix = entry.key, False
        return ListPage(objects, prefixes, truncated, last, last_is_prefix)

    def _entries(
        self,
        bucket: str,
        prefix: str,
        delimiter: str,
        lower: str,
        inclusive: bool,
        within: str | None = None,
    ) -> Iterator[ObjectRow | str]:
        batch = 500
        while True:
            with self._lock:
                rows = meta.list_objects(
                    self.conn,
                    bucket,
                    lower=lower,
                    inclusive=inclusive,
                    prefix=prefix,
                    limit=batch,
                    within=within,
                )
            if not rows:
                return
            jumped = False
            for row in rows:
                if delimiter:
                    at = row.key.find(delimiter, len(prefix))
                    if at >= 0:
                        common = row.key[: at + len(delimiter)]
                        yield common
                        successor = meta.prefix_successor(common)
                        if successor is None:
                            return
                        lower, inclusive, jumped = successor, True, True
                        break
                yield row
                lower, inclusive = row.key, False
            if not jumped and len(rows) < batch:
                return

    # --- deletes -------------------------------------------------------------------------

    def delete(self, bucket: str, key: str, *, condition: Condition | None = None) -> bool:
        """Delete an object; returns whether it existed (S3 answers success either way).

        Args:
            condition: ``If-Match`` of the request, checked atomically with the delete.

        Raises:
            StoreError: ``NoSuchBucket``; ``PreconditionFailed`` or ``NoSuchKey`` (condition).
        """
        with self._lock:
            self._require_bucket(bucket)
            if condition is not None:
                condition.check(meta.get_object(self.conn, bucket, key), bucket, key)
            with meta.transaction(self.conn):
                old = meta.delete_object(self.conn, bucket, key)
            if old is None or key.endswith("/"):
                return old is not None
            path = self._path(bucket, key)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._prune_dirs(path.parent, self.root / bucket)
            return True

    def _prune_dirs(self, folder: Path, stop: Path) -> None:
        while folder != stop and stop in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    # --- multipart -----------------------------------------------------------------------

    def create_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        headers: dict[str, str],
        owner: str = "",
        checksum_algorithm: str = "",
    ) -> str:
        """Start a multipart upload; returns its id.

        Args:
            owner: the access key starting it (counted against `max_open_uploads`).
            checksum_algorithm: the checksum every part carries (``crc32``...), if announced.

        Raises:
            StoreError: ``NoSuchBucket``, an invalid key, or ``SlowDown`` when `owner` has
                `max_open_uploads` open already.
        """
        check_key(bucket, key)
        upload_id = secrets.token_hex(16)
        with self._lock:
            self._require_bucket(bucket)
            if self.max_open_uploads and owner:
                open_now = meta.count_uploads_of(self.conn, owner)
                if open_now >= self.max_open_uploads:
                    raise StoreError(
                        "SlowDown",
                        f"This credential has {open_now} multipart uploads open, the most "
                        "allowed: complete or abort them (abandoned ones are deleted after "
                        f"{self.upload_max_age_s / 3600:g} h). 未完成的分片上传过多。",
                        bucket=bucket,
                        key=key,
                    )
            (self.mp_dir / upload_id).mkdir()
            with meta.transaction(self.conn):
                self.conn.execute(
                    "INSERT INTO uploads(upload_id, bucket, key, content_type, headers, created, "
                    "owner, checksum_algorithm) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        upload_id,
                        bucket,
                        key,
                        content_type,
                        _json(headers),
                        time.time(),
                        owner,
                        checksum_algorithm,
                    ),
                )
        return upload_id

    def get_upload(self, upload_id: str) -> UploadRow:
        """The upload.

        Raises:
            StoreError: ``NoSuchUpload``.
        """
        with self._lock:
            row = meta.get_upload(self.conn, upload_id)
        if row is None or upload_id in self._completing:
            raise no_such_upload(upload_id)
        return row

    def list_uploads(
        self, bucket: str, prefix: str = "", within: str | None = None
    ) -> list[UploadRow]:
        """Uploads in progress in the bucket (confined to folder `within`, if given).

        Raises:
            StoreError: ``NoSuchBucket``.
        """
        with self._lock:
            self._require_bucket(bucket)
            return meta.list_uploads(self.conn, bucket, prefix, within)

    def begin_part(
        self,
        upload_id: str,
        part_number: int,
        *,
        expected_size: int | None,
        hash_md5: bool = True,
    ) -> PartWriter:
        """Start receiving part `part_number` (1..10000).

        Raises:
            StoreError: ``NoSuchUpload``, ``InvalidArgument`` (part number), ``EntityTooLarge``,
                or ``XMinioStorageFull``.
        """
        if not 1 <= part_number <= MAX_PARTS:
            raise StoreError(
                "InvalidArgument", "Part number must be an integer between 1 and 10000."
            )
        if expected_size is not None and expected_size > MAX_PUT_BYTES:
            raise StoreError("EntityTooLarge", "A part can be at most 5 GiB.")
        folder = self.mp_dir / upload_id
        with self._lock:
            upload = self.get_upload(upload_id)
            if expected_size is not None:
                _, _, used = self._require_bucket(upload.bucket)
                self._check_size(upload.bucket, used, expected_size, MAX_PUT_BYTES)
            stride = upload.stride
            if stride is None and expected_size is not None and expected_size >= MIN_PART_BYTES:
                stride = expected_size
                with meta.transaction(self.conn):
                    self.conn.execute(
                        "UPDATE uploads SET stride = ? WHERE upload_id = ?", (stride, upload_id)
                    )
            existing = meta.get_parts(self.conn, upload_id).get(part_number)
            in_place = (
                stride is not None
                and expected_size is not None
                and 0 < expected_size <= stride
                and (upload_id, part_number) not in self._inflight_parts
                and (existing is None or existing.location != "data")
            )
            if in_place:
                self._inflight_parts.add((upload_id, part_number))
        try:
            if in_place:
                assert stride is not None and expected_size is not None
                offset = (part_number - 1) * stride
                return PartWriter(
                    upload_id,
                    part_number,
                    folder / "data",
                    offset,
                    expected_size,
                    hash_md5=hash_md5,
                )
            name = f"part-{part_number}-{secrets.token_hex(6)}"
            return PartWriter(upload_id, part_number, folder / name, 0, None, hash_md5=hash_md5)
        except OSError as exc:
            self._inflight_parts.discard((upload_id, part_number))
            if exc.errno in _FULL_ERRNOS:
                raise storage_full(exc.strerror or "") from exc
            raise

    def commit_part(
        self,
        writer: PartWriter,
        *,
        etag: str | None = None,
        checksums: dict[str, str] | None = None,
    ) -> PartRow:
        """Record a received part (durably); a part with the same number is replaced.

        Args:
            checksums: the part's verified checksums by algorithm (``crc32`` -> base64).

        Raises:
            StoreError: ``NoSuchUpload`` (aborted meanwhile) or ``XMinioStorageFull``.
        """
        try:
            writer._sync()
            location = "data" if writer.in_place else writer.path.name
            part = PartRow(
                writer.part_number,
                writer.size,
                etag or writer.md5().hex(),
                location,
                time.time(),
                dict(checksums or {}),
            )
            with self._lock:
                self.get_upload(writer.upload_id)
                old = meta.get_parts(self.conn, writer.upload_id).get(writer.part_number)
                with meta.transaction(self.conn):
                    self.conn.execute(
                        "INSERT OR REPLACE INTO parts(upload_id, part_number, size, etag, "
                        "location, mtime, checksums) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            writer.upload_id,
                            part.part_number,
                            part.size,
                            part.etag,
                            location,
                            part.mtime,
                            _json(part.checksums),
                        ),
                    )
                writer.finished = True
            if old is not None and old.location not in ("data", location):
                with contextlib.suppress(FileNotFoundError):
                    (self.mp_dir / writer.upload_id / old.location).unlink()
            return part
        finally:
            self.abort_part(writer)

    def abort_part(self, writer: PartWriter) -> None:
        """Forget a part that was not committed (idempotent)."""
        writer._close()
        self._inflight_parts.discard((writer.upload_id, writer.part_number))
        if not writer.finished and not writer.in_place:
            with contextlib.suppress(FileNotFoundError):
                writer.path.unlink()

    def list_parts(self, upload_id: str) -> list[PartRow]:
        """The upload's parts in number order.

        Raises:
            StoreError: ``NoSuchUpload``.
        """
        with self._lock:
            self.get_upload(upload_id)
            return list(meta.get_parts(self.conn, upload_id).values())

    def abort_upload(self, upload_id: str) -> None:
        """Abort an upload and delete its parts.

        Raises:
            StoreError: ``NoSuchUpload``.
        """
        with self._lock:
            self.get_upload(upload_id)
            with meta.transaction(self.conn):
                self._drop_upload_rows(upload_id)
        shutil.rmtree(self.mp_dir / upload_id, ignore_errors=True)

    def completed_result(self, upload_id: str, bucket: str, key: str) -> ObjectRow:
        """The object an upload completed earlier became, if it is still that object.

        S3 answers a repeated CompleteMultipartUpload with the same result (a client whose
        first answer was lost retries it).

        Raises:
            StoreError: ``NoSuchUpload`` when the upload is unknown, was for another key, or
                its object was replaced or deleted since.
        """
        with self._lock:
            done = meta.completed_upload(self.conn, upload_id)
            if done is not None and done[:2] == (bucket, key):
                current = meta.get_object(self.conn, bucket, key)
                if current is not None and current.etag == done[2]:
                    return current
        raise no_such_upload(upload_id)

    def complete_upload(
        self,
        upload_id: str,
        parts: list[tuple[int, str]],
        *,
        condition: Condition | None = None,
        checksum_of: ChecksumOf | None = None,
    ) -> ObjectRow:
        """Assemble the listed parts (number, ETag) into the object and make it visible.

        Args:
            condition: ``If-Match`` / ``If-None-Match`` of the request.
            checksum_of: given the chosen parts, the object's checksums and their type
                (composite of the parts' checksums); it may raise StoreError to refuse.

        Raises:
            StoreError: ``NoSuchUpload``, ``InvalidPartOrder``, ``InvalidPart``,
                ``EntityTooSmall``, ``EntityTooLarge``, ``PreconditionFailed``, quota or disk
                full. On error the upload stays as it was and can be completed again or
                aborted.
        """
        with self._lock:
            upload = self.get_upload(upload_id)
            stored = meta.get_parts(self.conn, upload_id)
            chosen = _validate_parts(parts, stored)
            checksums, checksum_type = checksum_of(chosen) if checksum_of else ({}, "")
            if condition is not None:
                condition.check(
                    meta.get_object(self.conn, upload.bucket, upload.key), upload.bucket, upload.key
                )
            total = sum(p.size for p in chosen)
            if total > self.max_object_bytes:
                raise StoreError(
                    "EntityTooLarge",
                    f"The assembled object ({total} bytes) exceeds the maximum allowed size "
                    f"({self.max_object_bytes} bytes).",
                )
            stride = upload.stride
            # The assembly file can become the object when parts 1..k sit (or can be put) at
            # their stride offsets and nothing else writes or lives in it.
            in_place = (
                stride is not None
                and all(
                    p.part_number == i
                    and (p.size == stride or (i == len(chosen) and p.size <= stride))
                    for i, p in enumerate(chosen, start=1)
                )
                and not any(
                    p.location == "data" and p.part_number > len(chosen) for p in stored.values()
                )
                and not any(u == upload_id for u, _ in self._inflight_parts)
            )
            self._completing.add(upload_id)
        try:
            folder = self.mp_dir / upload_id
            if in_place:
                assert stride is not None
                source = folder / "data"
                with os.fdopen(os.open(source, os.O_RDWR | os.O_CREAT, 0o644), "r+b") as f:
                    for part in chosen:
                        if part.location != "data":  # e.g. a last part that came first
                            with open(folder / part.location, "rb") as src:
                                _copy_range(
                                    src.fileno(),
                                    f.fileno(),
                                    0,
                                    part.size,
                                    dst_offset=(part.part_number - 1) * stride,
                                )
                    f.truncate(total)
                    os.fsync(f.fileno())
            else:
                source = self.tmp_dir / f"mp-{secrets.token_hex(12)}"
                self._concatenate(folder, chosen, stride, source)
            digest = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in chosen)).hexdigest()
            row = ObjectRow(
                upload.bucket,
                upload.key,
                total,
                f"{digest}-{len(chosen)}",
                upload.content_type,
                time.time(),
                upload.headers,
                checksums=checksums,
                checksum_type=checksum_type,
                part_sizes=tuple(p.size for p in chosen),
            )
            try:
                self._commit_file(
                    row, source, journal_id=upload_id, condition=condition, upload_id=upload_id
                )
            except BaseException:
                if not in_place:
                    with contextlib.suppress(FileNotFoundError):
                        source.unlink()
                raise
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise storage_full(exc.strerror or "") from exc
            raise
        finally:
            self._completing.discard(upload_id)
        shutil.rmtree(folder, ignore_errors=True)
        return row

    def _concatenate(
        self, folder: Path, chosen: list[PartRow], stride: int | None, target: Path
    ) -> None:
        with open(target, "xb") as out:
            try:
                for part in chosen:
                    if part.location == "data":
                        assert stride is not None
                        offset = (part.part_number - 1) * stride
                        src = folder / "data"
                    else:
                        offset, src = 0, folder / part.location
                    with open(src, "rb") as f:
                        _copy_range(f.fileno(), out.fileno(), offset, part.size)
                out.flush()
                os.fsync(out.fileno())
            except BaseException:
                out.close()
                target.unlink()
                raise


def _validate_parts(parts: list[tuple[int, str]], stored: dict[int, PartRow]) -> list[PartRow]:
    if not parts:
        raise StoreError("MalformedXML", "The XML you provided lists no parts.")
    chosen: list[PartRow] = []
    previous = 0
    for number, etag in parts:
        if number <= previous:
            raise StoreError("InvalidPartOrder", "The list of parts was not in ascending order.")
        previous = number
        part = stored.get(number)
        if part is None or etag.strip('"').lower() != part.etag:
            raise StoreError(
                "InvalidPart",
                f"Part {number} was not found or its ETag does not match: upload it again.",
            )
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_BYTES:
            raise StoreError(
                "EntityTooSmall",
                f"Part {part.part_number} is {part.size} bytes; every part but the last must "
                "be at least 5 MiB.",
            )
    return chosen


def _copy_range(
    src: int, dst: int, offset: int, size: int, *, dst_offset: int | None = None
) -> None:
    """Copy `size` bytes of `src` from `offset` to `dst` (at its position, or `dst_offset`)."""
    done = 0
    while done < size:
        n = min(_COPY_CHUNK, size - done)
        at = None if dst_offset is None else dst_offset + done
        copied = 0
        if hasattr(os, "copy_file_range"):
            try:
                copied = os.copy_file_range(src, dst, n, offset + done, at)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL):
                    raise
                copied = _copy_slow(src, dst, offset + done, n, at)
        else:
            copied = _copy_slow(src, dst, offset + done, n, at)
        if copied == 0:
            raise StoreError("InternalError", "A stored part is shorter than recorded.")
        done += copied


def _copy_slow(src: int, dst: int, offset: int, n: int, at: int | None) -> int:
    # Portable (no pread/pwrite on Windows): both fds belong to this copy alone.
    os.lseek(src, offset, os.SEEK_SET)
    data = os.read(src, min(n, 8 * MiB))
    if at is not None:
        os.lseek(dst, at, os.SEEK_SET)
    view = memoryview(data)
    while view:
        view = view[os.write(dst, view) :]
    return len(data)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _quota(bucket: str, limit: int) -> StoreError:
    return StoreError(
        "XMinioAdminBucketQuotaExceeded",
        f"Bucket {bucket!r} has reached its size limit ({limit} bytes); delete objects or raise "
        "storage.max_bucket_bytes. 存储桶已达容量上限。",
        bucket=bucket,
    )


def _json(value: dict[str, str]) -> str:
    return json.dumps(value)
