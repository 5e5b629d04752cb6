"""The object store against what ceph/s3-tests, awscli and boto3 found (issue 17 items 7, 11-14).

boto3 and raw SigV4-signed requests (http.client, see `signed_request`) against the real store.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import logging
import re
import socket
import struct
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from s3_harness import RunningStore, signed_request, start_store, station_creds

from gcs.web.s3 import start_s3_server

MiB = 1024 * 1024


def error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def keys_of(listing: dict[str, Any]) -> list[str]:
    return [c["Key"] for c in listing.get("Contents", [])]


# --- item 11: a scope is a folder, in listings too ---------------------------------------


def test_scoped_listing_does_not_leak_sibling_folders(store: RunningStore) -> None:
    admin = store.boto3()
    for key in ("siteA/1.jpg", "siteA/sub/2.jpg", "siteA10/x.jpg", "siteAB/y.jpg", "siteA.txt"):
        admin.put_object(Bucket="gcs", Key=key, Body=b"secret " + key.encode())
    s3 = store.boto3(store.mint(prefix="siteA"))
    flat = s3.list_objects_v2(Bucket="gcs", Prefix="siteA")
    assert keys_of(flat) == ["siteA/1.jpg", "siteA/sub/2.jpg"]
    folders = s3.list_objects_v2(Bucket="gcs", Prefix="siteA", Delimiter="/")
    assert keys_of(folders) == []
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["siteA/"]
    v1 = s3.list_objects(Bucket="gcs", Prefix="siteA", MaxKeys=1)
    assert keys_of(v1) == ["siteA/1.jpg"] and v1["IsTruncated"]
    page = s3.list_objects_v2(Bucket="gcs", Prefix="siteA", MaxKeys=1)
    rest = s3.list_objects_v2(
        Bucket="gcs", Prefix="siteA", ContinuationToken=page["NextContinuationToken"]
    )
    assert keys_of(page) + keys_of(rest) == ["siteA/1.jpg", "siteA/sub/2.jpg"]
    assert not rest["IsTruncated"]
    for upload_key in ("siteA10/big.mp4", "siteA/big.mp4"):
        admin.create_multipart_upload(Bucket="gcs", Key=upload_key)
    uploads = s3.list_multipart_uploads(Bucket="gcs", Prefix="siteA")
    assert [u["Key"] for u in uploads["Uploads"]] == ["siteA/big.mp4"]
    for prefix in ("site", ""):
        with pytest.raises(ClientError) as exc:
            s3.list_objects_v2(Bucket="gcs", Prefix=prefix)
        assert error_code(exc.value) == "AccessDenied"
    # Raw signed request: the same answer without an SDK in between.
    raw = signed_request(
        store, store.mint(prefix="siteA"), "GET", "/gcs", query=[("prefix", "siteA")]
    )
    assert raw.status == 200
    assert b"siteA10" not in raw.body and b"siteAB" not in raw.body and b"siteA." not in raw.body
    assert b"<Key>siteA/1.jpg</Key>" in raw.body


# --- item 12: virtual-host addressing, never a bucket from an object key -----------------


def _virtual_client(store: RunningStore, creds: Any) -> Any:
    """boto3 with virtual-host addressing at http://localhost:<port>, through the store
    itself as HTTP proxy (so ``gcs.localhost`` needs no DNS: the target is absolute-form)."""
    port = store.url.rsplit(":", 1)[1]
    return boto3.client(
        "s3",
        endpoint_url=f"http://localhost:{port}",
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret,
        aws_session_token=creds.session_token,
        region_name=store.settings.storage.region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "virtual"},
            proxies={"http": store.url},
            retries={"max_attempts": 1, "mode": "standard"},
        ),
    )


def test_virtual_host_requests_reach_the_bucket(store: RunningStore) -> None:
    port = store.url.rsplit(":", 1)[1]
    station = station_creds(store)
    raw = signed_request(
        store, station, "PUT", "/newkey.txt", body=b"hello", host=f"gcs.localhost:{port}"
    )
    assert raw.status == 200, raw.body
    admin = store.boto3()
    assert admin.get_object(Bucket="gcs", Key="newkey.txt")["Body"].read() == b"hello"
    s3 = _virtual_client(store, store.mint(prefix="vh"))
    s3.put_object(Bucket="gcs", Key="vh/a b.txt", Body=b"virtual")
    assert s3.get_object(Bucket="gcs", Key="vh/a b.txt")["Body"].read() == b"virtual"
    assert keys_of(s3.list_objects_v2(Bucket="gcs", Prefix="vh/")) == ["vh/a b.txt"]
    s3.head_bucket(Bucket="gcs")
    # Path-style "PUT /<name>" with a body that is no CreateBucketConfiguration: refused,
    # also for a Host the station does not know as its own.
    for host in (None, f"gcs.unknown.example:{port}"):
        raw = signed_request(
            store, station, "PUT", "/newkey2.txt", body=b"data, not XML", host=host
        )
        assert raw.status == 400 and b"MalformedXML" in raw.body, raw.body
        assert b"CreateBucketConfiguration" in raw.body
    assert [b["Name"] for b in admin.list_buckets()["Buckets"]] == ["gcs"]
    # An empty PUT /<name> with the station's keys still creates a bucket.
    assert signed_request(store, station, "PUT", "/firmware").status == 200


# --- item 13: conditional requests ---------------------------------------------------------


def _status(call: Any, **kwargs: Any) -> int:
    try:
        response = call(**kwargs)
    except ClientError as exc:
        return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    return int(response["ResponseMetadata"]["HTTPStatusCode"])


def test_conditional_reads(store: RunningStore) -> None:
    s3 = store.boto3()
    put = s3.put_object(Bucket="gcs", Key="c/obj", Body=b"v1")
    etag = put["ETag"]
    modified = s3.head_object(Bucket="gcs", Key="c/obj")["LastModified"]
    day = datetime.timedelta(days=1)
    for call in (s3.get_object, s3.head_object):
        cases = [
            ({"IfMatch": etag}, 200),
            ({"IfMatch": '"0123"'}, 412),
            ({"IfMatch": "*"}, 200),
            ({"IfNoneMatch": etag}, 304),
            ({"IfNoneMatch": '"0123"'}, 200),
            ({"IfModifiedSince": modified}, 304),
            ({"IfModifiedSince": modified - day}, 200),
            ({"IfUnmodifiedSince": modified - day}, 412),
            ({"IfUnmodifiedSince": modified + day}, 200),
            # S3 (RFC 7232): If-Match decides over If-Unmodified-Since, If-None-Match over
            # If-Modified-Since.
            ({"IfMatch": etag, "IfUnmodifiedSince": modified - day}, 200),
            ({"IfNoneMatch": '"0123"', "IfModifiedSince": modified}, 200),
        ]
        for kwargs, expected in cases:
            assert _status(call, Bucket="gcs", Key="c/obj", **kwargs) == expected, kwargs
    raw = signed_request(
        store, station_creds(store), "GET", "/gcs/c/obj", headers={"If-None-Match": etag}
    )
    assert raw.status == 304 and raw.headers["etag"] == etag and raw.body == b""


def test_conditional_writes_and_deletes(store: RunningStore) -> None:
    s3 = store.boto3()
    etag = s3.put_object(Bucket="gcs", Key="c/w", Body=b"first")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="gcs", Key="c/w", Body=b"second", IfNoneMatch="*")
    assert error_code(exc.value) == "PreconditionFailed"
    assert s3.get_object(Bucket="gcs", Key="c/w")["Body"].read() == b"first"
    s3.put_object(Bucket="gcs", Key="c/new", Body=b"n", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="gcs", Key="c/w", Body=b"second", IfMatch='"0123"')
    assert error_code(exc.value) == "PreconditionFailed"
    etag2 = s3.put_object(Bucket="gcs", Key="c/w", Body=b"second", IfMatch=etag)["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket="gcs", Key="c/w", IfMatch=etag)  # the old version's
    assert error_code(exc.value) == "PreconditionFailed"
    assert s3.get_object(Bucket="gcs", Key="c/w")["Body"].read() == b"second"
    s3.delete_object(Bucket="gcs", Key="c/w", IfMatch=etag2)
    assert keys_of(s3.list_objects_v2(Bucket="gcs", Prefix="c/w")) == []
    # CompleteMultipartUpload with If-None-Match: * over an existing object.
    upload = s3.create_multipart_upload(Bucket="gcs", Key="c/new")["UploadId"]
    part = s3.upload_part(Bucket="gcs", Key="c/new", UploadId=upload, PartNumber=1, Body=b"p")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="gcs",
            Key="c/new",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            IfNoneMatch="*",
        )
    assert error_code(exc.value) == "PreconditionFailed"
    assert s3.get_object(Bucket="gcs", Key="c/new")["Body"].read() == b"n"
    # A raw PUT with If-None-Match: * is refused before its body is stored.
    raw = signed_request(
        store, station_creds(store), "PUT", "/gcs/c/new", body=b"x", headers={"If-None-Match": "*"}
    )
    assert raw.status == 412 and b"PreconditionFailed" in raw.body


# --- item 14: checksums, overrides, listing edges, multipart edges, ACL/SSE ----------------


def test_checksums_are_kept_and_returned(store: RunningStore) -> None:
    s3 = store.boto3()
    body = b"checksummed body"
    s3.put_object(Bucket="gcs", Key="k/sha", Body=body, ChecksumAlgorithm="SHA256")
    head = s3.head_object(Bucket="gcs", Key="k/sha", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    got = s3.get_object(Bucket="gcs", Key="k/sha", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == head["ChecksumSHA256"] and got["Body"].read() == body
    s3.put_object(Bucket="gcs", Key="k/crc", Body=body, ChecksumAlgorithm="CRC32")
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert s3.head_object(Bucket="gcs", Key="k/crc", ChecksumMode="ENABLED")["ChecksumCRC32"] == crc
    assert "ChecksumCRC32" not in s3.head_object(Bucket="gcs", Key="k/crc")  # mode not asked


def test_multipart_checksums_part_numbers_and_a_repeated_complete(store: RunningStore) -> None:
    s3 = store.boto3()
    first, second = b"a" * (5 * MiB), b"b" * 1000
    created = s3.create_multipart_upload(Bucket="gcs", Key="mp/obj", ChecksumAlgorithm="CRC32")
    assert created["ChecksumAlgorithm"] == "CRC32"
    upload = created["UploadId"]
    parts = []
    for number, data in ((1, first), (2, second)):
        answer = s3.upload_part(
            Bucket="gcs",
            Key="mp/obj",
            UploadId=upload,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        parts.append(
            {"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": answer["ChecksumCRC32"]}
        )
    listed = s3.list_parts(Bucket="gcs", Key="mp/obj", UploadId=upload)["Parts"]
    assert [p["ChecksumCRC32"] for p in listed] == [p["ChecksumCRC32"] for p in parts]
    wrong = [dict(parts[0], ChecksumCRC32="AAAAAA=="), parts[1]]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="gcs", Key="mp/obj", UploadId=upload, MultipartUpload={"Parts": wrong}
        )
    assert error_code(exc.value) == "InvalidPart"
    done = s3.complete_multipart_upload(
        Bucket="gcs", Key="mp/obj", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    combined = zlib.crc32(b"".join(base64.b64decode(p["ChecksumCRC32"]) for p in parts))
    composite = base64.b64encode(combined.to_bytes(4, "big")).decode() + "-2"
    assert done["ChecksumCRC32"] == composite
    head = s3.head_object(Bucket="gcs", Key="mp/obj", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == composite and head["ChecksumType"] == "COMPOSITE"
    # The client lost the first answer and completes again: S3 answers the same.
    again = s3.complete_multipart_upload(
        Bucket="gcs", Key="mp/obj", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    assert again["ETag"] == done["ETag"]
    # ?partNumber reads one part of a multipart object.
    part2 = s3.get_object(Bucket="gcs", Key="mp/obj", PartNumber=2)
    assert part2["Body"].read() == second and part2["PartsCount"] == 2
    assert part2["ContentRange"] == f"bytes {len(first)}-{len(first) + 999}/{len(first) + 1000}"
    assert s3.head_object(Bucket="gcs", Key="mp/obj", PartNumber=1)["ContentLength"] == 5 * MiB
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="gcs", Key="mp/obj", PartNumber=3)
    assert error_code(exc.value) == "InvalidPartNumber"
    s3.put_object(Bucket="gcs", Key="mp/single", Body=b"one")
    assert s3.get_object(Bucket="gcs", Key="mp/single", PartNumber=1)["Body"].read() == b"one"
    # Once the object is replaced, the old upload id is gone for good.
    s3.put_object(Bucket="gcs", Key="mp/obj", Body=b"replaced")
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="gcs", Key="mp/obj", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert error_code(exc.value) == "NoSuchUpload"


def test_response_overrides_and_listing_edges(store: RunningStore) -> None:
    s3 = store.boto3()
    s3.put_object(Bucket="gcs", Key="o/file.bin", Body=b"x", ContentType="application/x-raw")
    got = s3.get_object(
        Bucket="gcs",
        Key="o/file.bin",
        ResponseContentType="text/plain",
        ResponseContentDisposition='attachment; filename="f.txt"',
        ResponseCacheControl="no-store",
    )
    assert got["ContentType"] == "text/plain"
    assert got["ContentDisposition"] == 'attachment; filename="f.txt"'
    assert got["CacheControl"] == "no-store"
    none = s3.list_objects_v2(Bucket="gcs", MaxKeys=0)
    assert none["IsTruncated"] is False and none["KeyCount"] == 0
    assert s3.list_objects(Bucket="gcs", MaxKeys=0)["IsTruncated"] is False
    raw = signed_request(
        store,
        station_creds(store),
        "GET",
        "/gcs",
        query=[("continuation-token", ""), ("list-type", "2")],
    )
    assert raw.status == 200 and b"<Key>o/file.bin</Key>" in raw.body


def test_acl_and_encryption_headers_are_not_silently_ignored(store: RunningStore) -> None:
    s3 = store.boto3()
    s3.put_object(Bucket="gcs", Key="a/private", Body=b"x", ACL="private")
    for kwargs in (
        {"ACL": "public-read"},
        {"ServerSideEncryption": "AES256"},
        {"GrantRead": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'},
    ):
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket="gcs", Key="a/refused", Body=b"x", **kwargs)
        assert error_code(exc.value) == "NotImplemented", kwargs
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    with pytest.raises(ClientError) as exc:
        s3.create_multipart_upload(Bucket="gcs", Key="a/refused", ServerSideEncryption="AES256")
    assert error_code(exc.value) == "NotImplemented"
    assert keys_of(s3.list_objects_v2(Bucket="gcs", Prefix="a/")) == ["a/private"]


def test_client_disconnects_are_not_errors(
    store: RunningStore, caplog: pytest.LogCaptureFixture
) -> None:
    s3 = store.boto3()
    s3.put_object(Bucket="gcs", Key="d/big", Body=b"z" * (32 * MiB))
    s3.close()  # its keep-alive connection would stay open
    creds = station_creds(store)
    ip, port = store.url.split("://", 1)[1].rsplit(":", 1)
    caplog.set_level(logging.INFO)
    # A download cut after the first bytes, and an upload cut in the middle of its body.
    for method, path, length in (("GET", "/gcs/d/big", 0), ("PUT", "/gcs/d/cut", 8 * MiB)):
        head = _signed_head(store, creds, method, path, length)
        with socket.create_connection((ip, int(port))) as sock:
            sock.sendall(head + b"y" * (length // 4))
            if method == "GET":
                assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    server = store.server.runner.server
    assert server is not None
    deadline = time.monotonic() + 15
    # Done when the cut download was noticed and every connection's handler has ended.
    while (
        not any("GET /gcs/d/big: the client went away" in r.getMessage() for r in caplog.records)
        or server.connections
    ):
        assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
        time.sleep(0.05)
    # The store's and aiohttp's own error lines; asyncio's "Task was destroyed" lines come from
    # the garbage collector finishing off other tests' loops while this one runs.
    errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("gcs", "aiohttp"))
    ]
    assert errors == [], [r.getMessage() for r in errors]
    assert keys_of(store.boto3().list_objects_v2(Bucket="gcs", Prefix="d/")) == ["d/big"]


def _signed_head(store: RunningStore, creds: Any, method: str, path: str, length: int) -> bytes:
    from gcs.station.storage import amz_date, sigv4

    host = store.url.split("://", 1)[1]
    when = amz_date(time.time())
    headers = [
        ("content-length", str(length)),
        ("host", host),
        ("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD),
        ("x-amz-date", when),
    ]
    auth = sigv4.authorization_header(
        method=method,
        path=path,
        query=[],
        headers=headers,
        payload_hash=sigv4.UNSIGNED_PAYLOAD,
        access_key=creds.access_key,
        secret=creds.secret,
        region=store.settings.storage.region,
        service="s3",
        amz_date=when,
    )
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return (head + f"authorization: {auth}\r\n\r\n").encode()


# --- item 7: abandoned uploads expire on a timer, a cap per credential, disk use -----------


def test_abandoned_uploads_expire_on_a_timer(tmp_path: Path) -> None:
    running = start_store(tmp_path / "data", multipart_expiry_h=1.5 / 3600)  # 1.5 s
    try:
        s3 = running.boto3()
        upload = s3.create_multipart_upload(Bucket="gcs", Key="m/left")["UploadId"]
        s3.upload_part(Bucket="gcs", Key="m/left", UploadId=upload, PartNumber=1, Body=b"p" * MiB)
        folder = running.data_dir / "objects" / ".multipart" / upload
        assert folder.is_dir()
        usage = running.access.usage()
        assert (usage.open_uploads, usage.upload_bytes) == (1, MiB)
        deadline = time.monotonic() + 20
        while s3.list_multipart_uploads(Bucket="gcs").get("Uploads") or folder.exists():
            assert time.monotonic() < deadline, "the upload was not expired"
            time.sleep(0.1)
        assert running.access.usage().open_uploads == 0
        with pytest.raises(ClientError) as exc:
            s3.list_parts(Bucket="gcs", Key="m/left", UploadId=upload)
        assert error_code(exc.value) == "NoSuchUpload"
    finally:
        running.close()


def test_open_uploads_are_capped_per_credential_and_usage_is_reported(tmp_path: Path) -> None:
    running = start_store(tmp_path / "data", max_open_uploads=3)
    try:
        dock = running.boto3(running.mint(prefix="dock1"))
        ids = [
            dock.create_multipart_upload(Bucket="gcs", Key=f"dock1/{i}")["UploadId"]
            for i in range(3)
        ]
        with pytest.raises(ClientError) as exc:
            dock.create_multipart_upload(Bucket="gcs", Key="dock1/4")
        assert error_code(exc.value) == "SlowDown"
        assert "multipart uploads open" in exc.value.response["Error"]["Message"]
        other = running.boto3(running.mint(prefix="dock2"))
        other.create_multipart_upload(Bucket="gcs", Key="dock2/1")  # its own allowance
        dock.abort_multipart_upload(Bucket="gcs", Key="dock1/0", UploadId=ids[0])
        dock.create_multipart_upload(Bucket="gcs", Key="dock1/4")
        dock.put_object(Bucket="gcs", Key="dock1/photo.jpg", Body=b"j" * 1234)
        usage = running.access.usage()
        assert (usage.objects, usage.object_bytes, usage.buckets) == (1, 1234, 1)
        assert usage.open_uploads == 4 and usage.upload_bytes == 0
        assert 0 < usage.disk_free_bytes <= usage.disk_total_bytes
    finally:
        running.close()


# --- item 14: SigV2 presigned URLs (boto3's default presigner for custom endpoints) --------


def _default_presigner(store: RunningStore, creds: Any) -> Any:
    """boto3 as an operator's script creates it: no signature_version given."""
    return boto3.client(
        "s3",
        endpoint_url=store.url,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret,
        aws_session_token=creds.session_token,
    )


def _fetch(
    url: str, method: str = "GET", data: bytes | None = None, content_type: str = ""
) -> tuple[int, bytes, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def test_sigv2_presigned_urls_work(store: RunningStore) -> None:
    creds = store.mint(prefix="share")
    store.boto3(creds).put_object(Bucket="gcs", Key="share/a photo ü.jpg", Body=b"jpeg")
    presigner = _default_presigner(store, creds)
    url = presigner.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": "gcs",
            "Key": "share/a photo ü.jpg",
            "ResponseContentDisposition": 'attachment; filename="p.jpg"',
        },
        ExpiresIn=300,
    )
    assert "AWSAccessKeyId=" in url and "Signature=" in url  # it is SigV2
    status, body, headers = _fetch(url)
    assert (status, body) == (200, b"jpeg")
    assert headers["Content-Disposition"] == 'attachment; filename="p.jpg"'
    put_url = presigner.generate_presigned_url(
        "put_object",
        Params={"Bucket": "gcs", "Key": "share/up.bin", "ContentType": "video/mp4"},
        ExpiresIn=300,
    )
    assert _fetch(put_url, "PUT", b"uploaded", "video/mp4")[0] == 200
    assert store.boto3().get_object(Bucket="gcs", Key="share/up.bin")["Body"].read() == b"uploaded"
    # Tampered, expired, outside the scope: refused with S3's codes.
    status, body, _ = _fetch(url.replace("Signature=", "Signature=AA"))
    assert status == 403 and b"SignatureDoesNotMatch" in body
    expired = re.sub(r"Expires=\d+", "Expires=1000000000", url)
    status, body, _ = _fetch(expired)
    assert status == 403 and b"Request has expired" in body
    outside = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": "gcs", "Key": "other/x"}, ExpiresIn=300
    )
    status, body, _ = _fetch(outside)
    assert status == 403 and b"AccessDenied" in body


def test_sigv2_authorization_header_is_501(store: RunningStore) -> None:
    request = urllib.request.Request(
        f"{store.url}/gcs/x", headers={"Authorization": "AWS GCSKEY:c2lnbmF0dXJl"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=15)
    assert exc.value.code == 501
    body = exc.value.read()
    assert b"NotImplemented" in body and b"SigV4" in body


# --- items 2 and 7 for the store's listener: deadlines, cap, what the operator sees ----------


async def test_store_listener_deadline_cap_and_operator_events(tmp_path: Path) -> None:
    events: list[tuple[str, str]] = []
    server = await start_s3_server(
        "127.0.0.1",
        0,
        data_dir=tmp_path / "data",
        idle_timeout_s=1.0,
        max_connections=5,
        notify=lambda level, text: events.append((level, text)),
    )
    writers = []
    try:
        slow = []
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /gcs/x HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            await writer.drain()
            slow.append(reader)
            writers.append(writer)
        for _ in range(2):
            writers.append((await asyncio.open_connection("127.0.0.1", server.port))[1])

        def open_count() -> int:
            return len(server.runner.server.connections)  # type: ignore[union-attr]

        deadline = time.monotonic() + 10
        while open_count() < 5:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writers.append(writer)
        assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 503")
        assert any("refused" in text for _, text in events)
        for reader in slow:  # the heads that never finished are dropped at the deadline
            await asyncio.wait_for(reader.read(), 6)
        # A bad signature twice from one address: one event for the operator.
        bad = server.access.mint()
        object.__setattr__(bad, "secret", "wrong")
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.get(server.url + "/gcs/x", headers=_bad_auth(server, bad)) as r:
                    assert r.status == 403
        assert sum("SignatureDoesNotMatch" in text for _, text in events) == 1
    finally:
        for writer in writers:
            writer.close()
        await server.close()


def _bad_auth(server: Any, creds: Any) -> dict[str, str]:
    from gcs.station.storage import amz_date, sigv4

    host = server.url.split("://", 1)[1]
    when = amz_date(time.time())
    headers = [
        ("host", host),
        ("x-amz-content-sha256", sigv4.EMPTY_SHA256),
        ("x-amz-date", when),
        ("x-amz-security-token", creds.session_token),
    ]
    auth = sigv4.authorization_header(
        method="GET",
        path="/gcs/x",
        query=[],
        headers=headers,
        payload_hash=sigv4.EMPTY_SHA256,
        access_key=creds.access_key,
        secret=creds.secret,
        region="us-east-1",
        service="s3",
        amz_date=when,
    )
    return {k: v for k, v in headers if k != "host"} | {"Authorization": auth}
