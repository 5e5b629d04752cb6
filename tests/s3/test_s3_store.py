"""The on-disk store without HTTP: commits, recovery, limits, conflicts, disk full."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from gcs.store.objects import ObjectStore, StoreError, meta
from gcs.store.objects.credentials import CredentialTable
from gcs.store.settings import load_settings

MiB = 1024 * 1024


@pytest.fixture
def objects(tmp_path: Path) -> Iterator[ObjectStore]:
    store = ObjectStore(tmp_path / "objects", free_reserve_bytes=0)
    store.open()
    store.create_bucket("gcs")
    yield store
    store.close()


def put(store: ObjectStore, key: str, data: bytes, bucket: str = "gcs") -> None:
    writer = store.begin_put(bucket, key, expected_size=len(data))
    writer.write(data)
    store.commit_put(writer, content_type="binary/octet-stream", headers={})


def read(store: ObjectStore, key: str) -> bytes:
    _, f = store.open_object("gcs", key)
    assert f is not None
    with f:
        return f.read()


def test_put_replace_delete(objects: ObjectStore) -> None:
    put(objects, "a/b/c.txt", b"one")
    put(objects, "a/b/c.txt", b"two!")
    assert read(objects, "a/b/c.txt") == b"two!"
    assert objects.bucket_used("gcs") == 4
    assert objects.delete("gcs", "a/b/c.txt")
    assert not objects.delete("gcs", "a/b/c.txt")
    assert objects.bucket_used("gcs") == 0
    assert not (objects.root / "gcs" / "a").exists()  # empty folders pruned
    with pytest.raises(StoreError) as exc:
        objects.head("gcs", "a/b/c.txt")
    assert exc.value.code == "NoSuchKey"


def test_reader_keeps_its_version(objects: ObjectStore) -> None:
    put(objects, "k", b"old version")
    row, f = objects.open_object("gcs", "k")
    put(objects, "k", b"new")
    assert f is not None
    with f:
        assert f.read() == b"old version"
    assert row.size == len(b"old version")
    assert read(objects, "k") == b"new"


def test_crash_after_rename_is_finished_at_start(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "objects", free_reserve_bytes=0)
    store.open()
    store.create_bucket("gcs")
    writer = store.begin_put("gcs", "media/x.jpg", expected_size=5)
    writer.write(b"hello")
    writer._finish()
    row = meta.ObjectRow("gcs", "media/x.jpg", 5, writer.md5().hex(), "image/jpeg", 1.0, {})
    final = store._prepare_path("gcs", "media/x.jpg")
    # The first half of a commit: journal row, rename ... then the process dies.
    with meta.transaction(store.conn):
        store.conn.execute(
            "INSERT INTO journal(id, tmp, final, row) VALUES (?, ?, ?, ?)",
            ("put-crash", str(writer.tmp), str(final), row.to_json()),
        )
    os.replace(writer.tmp, final)
    store.conn.close()
    store._conn = None

    again = ObjectStore(tmp_path / "objects")
    again.open()
    assert again.head("gcs", "media/x.jpg").etag == row.etag
    assert read(again, "media/x.jpg") == b"hello"
    assert again.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 0
    assert again.bucket_used("gcs") == 5
    again.close()


def test_crash_before_rename_leaves_nothing(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "objects", free_reserve_bytes=0)
    store.open()
    store.create_bucket("gcs")
    put(store, "keep", b"kept")
    writer = store.begin_put("gcs", "lost", expected_size=4)
    writer.write(b"lost")
    writer._finish()
    with meta.transaction(store.conn):
        store.conn.execute(
            "INSERT INTO journal(id, tmp, final, row) VALUES (?, ?, ?, ?)",
            (
                "put-crash",
                str(writer.tmp),
                str(store.root / "gcs" / "lost"),
                meta.ObjectRow("gcs", "lost", 4, "x", "t", 1.0, {}).to_json(),
            ),
        )
    (store.tmp_dir / "put-stray").write_bytes(b"partial upload")
    store.conn.close()
    store._conn = None

    again = ObjectStore(tmp_path / "objects")
    again.open()
    with pytest.raises(StoreError):
        again.head("gcs", "lost")
    assert read(again, "keep") == b"kept"
    assert list(again.tmp_dir.iterdir()) == []
    assert again.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again.close()


def test_limits(tmp_path: Path) -> None:
    store = ObjectStore(
        tmp_path / "objects", max_object_bytes=1000, max_bucket_bytes=1500, free_reserve_bytes=0
    )
    store.open()
    store.create_bucket("gcs")
    with pytest.raises(StoreError) as exc:
        store.begin_put("gcs", "big", expected_size=1001)
    assert exc.value.code == "EntityTooLarge"
    writer = store.begin_put("gcs", "streamed", expected_size=None)
    writer.write(b"x" * 1000)
    with pytest.raises(StoreError) as exc:
        writer.write(b"x")
    assert exc.value.code == "EntityTooLarge"
    writer.abort()
    put(store, "a", b"a" * 900)
    with pytest.raises(StoreError) as exc:
        put(store, "b", b"b" * 900)
    assert exc.value.code == "XMinioAdminBucketQuotaExceeded"
    put(store, "a", b"a" * 1000)  # replacing counts only the growth
    assert store.bucket_used("gcs") == 1000
    assert list(store.tmp_dir.iterdir()) == []
    store.close()


def test_path_conflicts(objects: ObjectStore) -> None:
    put(objects, "a", b"file")
    with pytest.raises(StoreError) as exc:
        put(objects, "a/b", b"below a file")
    assert exc.value.code == "XMinioParentIsObject"
    put(objects, "x/y", b"inside")
    with pytest.raises(StoreError) as exc:
        put(objects, "x", b"over a folder")
    assert exc.value.code == "XMinioObjectExistsAsDirectory"
    objects.delete("gcs", "x/y")
    put(objects, "x", b"now fine")
    put(objects, "folder/", b"")
    with pytest.raises(StoreError):
        put(objects, "nonempty/", b"data")
    page = objects.list_page("gcs", delimiter="/")
    assert [o.key for o in page.objects] == ["a", "x"]
    assert page.prefixes == ["folder/"]
    assert list(objects.tmp_dir.iterdir()) == []


@pytest.mark.parametrize("key", ["..", "a/../b", "/x", "a\x00b", "a\\b", "", "k" * 1025])
def test_invalid_keys(objects: ObjectStore, key: str) -> None:
    with pytest.raises(StoreError):
        objects.begin_put("gcs", key, expected_size=1)


def test_multipart_in_place_needs_no_copy(objects: ObjectStore) -> None:
    upload = objects.create_upload("gcs", "video.mp4", content_type="video/mp4", headers={})
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(99)]
    etags = []
    for number in (3, 1, 2):  # arrival order does not matter once the stride is known
        data = parts[number - 1]
        writer = objects.begin_part(upload, number, expected_size=len(data))
        writer.write(data)
        etags.append((number, objects.commit_part(writer).etag))
    assembly = objects.mp_dir / upload / "data"
    inode = assembly.stat().st_ino
    objects.complete_upload(upload, sorted(etags))
    final = objects.root / "gcs" / "video.mp4"
    assert final.stat().st_ino == inode  # renamed, not copied
    assert read(objects, "video.mp4") == b"".join(parts)
    assert not (objects.mp_dir / upload).exists()


def test_credentials_are_not_stored_in_clear(tmp_path: Path) -> None:
    from gcs.station.storage import StorageAccess

    settings = load_settings(tmp_path)
    table = CredentialTable(tmp_path / "objects")
    access = StorageAccess(settings, table)
    creds = access.mint(prefix="media", ttl_s=600)
    table.close()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "objects").glob("meta.db*"))
    assert creds.access_key.encode() in raw
    assert creds.secret.encode() not in raw
    assert creds.session_token.encode() not in raw
    with sqlite3.connect(tmp_path / "objects" / "meta.db") as conn:
        applied = conn.execute(
            "SELECT count(*) FROM _sqlite_migrations WHERE migration_set = 'objects-meta'"
        ).fetchone()[0]
    assert applied == len(meta.meta_migrations.pending(Database(":memory:")))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root and mount rights; skipped otherwise)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {result.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_answers_and_loses_nothing(small_disk: Path) -> None:
    store = ObjectStore(small_disk / "objects", free_reserve_bytes=0)
    store.open()
    store.create_bucket("gcs")
    put(store, "kept.bin", b"k" * 100_000)
    writer = store.begin_put("gcs", "huge.bin", expected_size=None)
    with pytest.raises(StoreError) as exc:
        for _ in range(8):
            writer.write(b"h" * MiB)
    assert exc.value.code == "XMinioStorageFull"
    writer.abort()
    assert list(store.tmp_dir.iterdir()) == []
    assert read(store, "kept.bin") == b"k" * 100_000
    with pytest.raises(StoreError) as exc:
        store.begin_put("gcs", "announced.bin", expected_size=8 * MiB)
    assert exc.value.code == "XMinioStorageFull"
    put(store, "after.bin", b"still works")
    store.close()


def test_disk_full_is_an_s3_error(small_disk: Path) -> None:
    from botocore.exceptions import ClientError
    from s3_harness import start_store

    running = start_store(small_disk / "data", min_free_bytes=0)
    try:
        s3 = running.boto3()
        s3.put_object(Bucket="gcs", Key="small", Body=b"s" * 1000)
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket="gcs", Key="huge", Body=b"h" * (4 * MiB))
        assert exc.value.response["Error"]["Code"] == "XMinioStorageFull"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 507
        assert s3.get_object(Bucket="gcs", Key="small")["Body"].read() == b"s" * 1000
        assert list((small_disk / "data" / "objects" / ".tmp").iterdir()) == []
    finally:
        running.close()


def test_a_meta_db_counted_in_user_version_is_adopted_and_upgraded(tmp_path: Path) -> None:
    """meta.db files made before the one migration system counted steps in user_version."""
    path = tmp_path / "meta.db"
    with sqlite3.connect(path) as old:
        old.executescript(meta._SCRIPTS[0])
        old.execute("PRAGMA user_version = 1")
    conn = meta.connect(path)
    try:
        applied = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = 'objects-meta' "
                "ORDER BY id"
            )
        ]
        assert applied == [m.name for m in meta.meta_migrations._migrations]
        columns = {r[1] for r in conn.execute("PRAGMA table_info(uploads)")}
        assert "owner" in columns, "step 2 ran on the adopted file"
    finally:
        conn.close()
    meta.connect(path).close()  # a second open applies nothing and fails nothing
