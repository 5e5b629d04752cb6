"""The minio Python client against the station's store, with temporary credentials."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import time
import urllib.error
import urllib.request

import pytest
from minio import Minio
from minio.error import S3Error
from s3_harness import RunningStore

from gcs.station.storage import StorageAccess, TemporaryCredentials

MiB = 1024 * 1024


def client(store: RunningStore, creds: TemporaryCredentials, *, secret: str | None = None) -> Minio:
    return Minio(
        store.url.split("://", 1)[1],
        access_key=creds.access_key,
        secret_key=secret or creds.secret,
        session_token=creds.session_token,
        secure=False,
    )


def test_put_get_range_stat_list_remove(store: RunningStore) -> None:
    m = client(store, store.mint(prefix="media/dock1"))
    data = os.urandom(100_000)
    m.put_object("gcs", "media/dock1/a.jpg", io.BytesIO(data), len(data), content_type="image/jpeg")
    m.put_object("gcs", "media/dock1/sub/b.jpg", io.BytesIO(b"b"), 1)
    stat = m.stat_object("gcs", "media/dock1/a.jpg")
    assert stat.size == len(data)
    assert stat.etag == hashlib.md5(data).hexdigest()
    assert stat.content_type == "image/jpeg"
    assert m.get_object("gcs", "media/dock1/a.jpg").read() == data
    assert m.get_object("gcs", "media/dock1/a.jpg", offset=10, length=20).read() == data[10:30]
    flat = [o.object_name for o in m.list_objects("gcs", prefix="media/dock1/")]
    assert flat == ["media/dock1/a.jpg", "media/dock1/sub/"]
    deep = [o.object_name for o in m.list_objects("gcs", prefix="media/dock1/", recursive=True)]
    assert deep == ["media/dock1/a.jpg", "media/dock1/sub/b.jpg"]
    m.remove_object("gcs", "media/dock1/a.jpg")
    with pytest.raises(S3Error) as exc:
        m.stat_object("gcs", "media/dock1/a.jpg")
    assert exc.value.code in ("NoSuchKey", "ResponseCode")  # HEAD answers carry no body


def test_multipart_unknown_length(store: RunningStore) -> None:
    m = client(store, store.mint(prefix="media"))
    data = os.urandom(12 * MiB + 17)
    m.put_object("gcs", "media/stream.mp4", io.BytesIO(data), length=-1, part_size=5 * MiB)
    assert m.get_object("gcs", "media/stream.mp4").read() == data
    digest = hashlib.md5(
        b"".join(hashlib.md5(data[i : i + 5 * MiB]).digest() for i in range(0, len(data), 5 * MiB))
    ).hexdigest()
    assert m.stat_object("gcs", "media/stream.mp4").etag == f"{digest}-3"


def test_presigned_get_and_put(store: RunningStore) -> None:
    m = client(store, store.mint(prefix="waylines"))
    put_url = m.presigned_put_object("gcs", "waylines/w.kmz", expires=datetime.timedelta(minutes=5))
    request = urllib.request.Request(put_url, data=b"PK\x03\x04kmz", method="PUT")
    assert urllib.request.urlopen(request).status == 200
    get_url = m.presigned_get_object("gcs", "waylines/w.kmz", expires=datetime.timedelta(minutes=5))
    assert urllib.request.urlopen(get_url).read() == b"PK\x03\x04kmz"


def test_errors(store: RunningStore) -> None:
    creds = store.mint(prefix="logs/dock1")
    with pytest.raises(S3Error) as exc:
        client(store, creds, secret="wrong").put_object("gcs", "logs/dock1/x", io.BytesIO(b"x"), 1)
    assert exc.value.code == "SignatureDoesNotMatch"
    old = StorageAccess(store.settings, store.access._table, clock=lambda: time.time() - 7200)
    expired = old.mint(prefix="logs/dock1", ttl_s=60)
    with pytest.raises(S3Error) as exc:
        client(store, expired).put_object("gcs", "logs/dock1/x", io.BytesIO(b"x"), 1)
    assert exc.value.code == "ExpiredToken"
    m = client(store, creds)
    with pytest.raises(S3Error) as exc:
        m.put_object("gcs", "logs/dock2/x", io.BytesIO(b"x"), 1)
    assert exc.value.code == "AccessDenied"
    with pytest.raises(S3Error) as exc:
        # (the minio client itself refuses '..' segments; an empty segment reaches us)
        m.put_object("gcs", "logs/dock1/a//b", io.BytesIO(b"x"), 1)
    assert exc.value.code == "XMinioInvalidObjectName"
    with pytest.raises(S3Error) as exc:
        m.get_object("gcs", "logs/dock1/missing")
    assert exc.value.code == "NoSuchKey"
    with pytest.raises(S3Error) as exc:
        m.put_object("nosuchbucket", "logs/dock1/x", io.BytesIO(b"x"), 1)
    assert exc.value.code in ("AccessDenied", "NoSuchBucket")
    assert m.bucket_exists("gcs")
