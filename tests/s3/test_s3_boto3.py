"""boto3 against the station's store, with the station's temporary credentials."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time
import urllib.error
import urllib.request
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from s3_harness import RunningStore

from gcs.station.storage import StorageAccess

MiB = 1024 * 1024


def error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def test_put_get_head_range_delete(store: RunningStore) -> None:
    s3 = store.boto3(store.mint(prefix="media/ws1"))
    body = os.urandom(3000)
    put = s3.put_object(
        Bucket="gcs",
        Key="media/ws1/DJI_0001.JPG",
        Body=body,
        ContentType="image/jpeg",
        Metadata={"drone": "M4TD"},
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket="gcs", Key="media/ws1/DJI_0001.JPG")
    assert got["Body"].read() == body
    assert got["ContentType"] == "image/jpeg"
    assert got["Metadata"] == {"drone": "M4TD"}
    part = s3.get_object(Bucket="gcs", Key="media/ws1/DJI_0001.JPG", Range="bytes=100-199")
    assert part["ContentRange"] == "bytes 100-199/3000"
    assert part["Body"].read() == body[100:200]
    tail = s3.get_object(Bucket="gcs", Key="media/ws1/DJI_0001.JPG", Range="bytes=-10")
    assert tail["Body"].read() == body[-10:]
    head = s3.head_object(Bucket="gcs", Key="media/ws1/DJI_0001.JPG")
    assert head["ContentLength"] == 3000
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="gcs", Key="media/ws1/DJI_0001.JPG", Range="bytes=5000-")
    assert error_code(exc.value) == "InvalidRange"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["content-range"] == "bytes */3000"
    s3.delete_object(Bucket="gcs", Key="media/ws1/DJI_0001.JPG")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="gcs", Key="media/ws1/DJI_0001.JPG")
    assert error_code(exc.value) == "NoSuchKey"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket="gcs", Key="media/ws1/DJI_0001.JPG")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_prefix_delimiter_continuation(store: RunningStore) -> None:
    s3 = store.boto3()
    keys = [f"a/{i:02d}.txt" for i in range(7)] + ["a/sub/x", "a/sub/y", "b/z", "top"]
    for key in keys:
        s3.put_object(Bucket="gcs", Key=key, Body=key.encode())
    listed: list[str] = []
    token: dict[str, Any] = {}
    pages = 0
    while True:
        page = s3.list_objects_v2(Bucket="gcs", MaxKeys=3, **token)
        listed += [o["Key"] for o in page.get("Contents", [])]
        pages += 1
        if not page["IsTruncated"]:
            break
        token = {"ContinuationToken": page["NextContinuationToken"]}
    assert listed == sorted(keys)
    assert pages == 4
    top = s3.list_objects_v2(Bucket="gcs", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in top["Contents"]] == ["top"]
    inner = s3.list_objects_v2(Bucket="gcs", Prefix="a/", Delimiter="/", MaxKeys=4)
    assert [o["Key"] for o in inner["Contents"]] == keys[:4]
    rest = s3.list_objects_v2(
        Bucket="gcs", Prefix="a/", Delimiter="/", ContinuationToken=inner["NextContinuationToken"]
    )
    assert [o["Key"] for o in rest["Contents"]] == keys[4:7]
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["a/sub/"]
    paginator = s3.get_paginator("list_objects")
    v1 = [
        o["Key"]
        for page in paginator.paginate(Bucket="gcs", PaginationConfig={"PageSize": 2})
        for o in page.get("Contents", [])
    ]
    assert v1 == sorted(keys)
    grouped = [
        (o.get("Key"), o.get("Prefix"))
        for page in paginator.paginate(
            Bucket="gcs", Delimiter="/", PaginationConfig={"PageSize": 1}
        )
        for o in page.get("Contents", []) + page.get("CommonPrefixes", [])
    ]
    assert grouped == [(None, "a/"), (None, "b/"), ("top", None)]
    s3.delete_objects(Bucket="gcs", Delete={"Objects": [{"Key": k} for k in keys[:5]]})
    remaining = s3.list_objects_v2(Bucket="gcs")
    assert [o["Key"] for o in remaining["Contents"]] == sorted(keys[5:])


def test_multipart_5mb_parts_list_and_abort(store: RunningStore) -> None:
    s3 = store.boto3(store.mint(prefix="waylines"))
    key = "waylines/mission.kmz"
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(123)]
    upload = s3.create_multipart_upload(Bucket="gcs", Key=key, ContentType="application/zip")
    done = []
    for number, data in enumerate(parts, start=1):
        r = s3.upload_part(
            Bucket="gcs", Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=data
        )
        done.append({"PartNumber": number, "ETag": r["ETag"]})
    listed = s3.list_parts(Bucket="gcs", Key=key, UploadId=upload["UploadId"])
    assert [p["Size"] for p in listed["Parts"]] == [5 * MiB, 5 * MiB, 123]
    # Nothing is visible before completion.
    with pytest.raises(ClientError):
        s3.head_object(Bucket="gcs", Key=key)
    s3.complete_multipart_upload(
        Bucket="gcs", Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    whole = b"".join(parts)
    got = s3.get_object(Bucket="gcs", Key=key)
    assert got["Body"].read() == whole
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert got["ETag"] == f'"{digest}-3"'
    assert got["ContentType"] == "application/zip"

    second = s3.create_multipart_upload(Bucket="gcs", Key="waylines/aborted.kmz")
    s3.upload_part(
        Bucket="gcs",
        Key="waylines/aborted.kmz",
        UploadId=second["UploadId"],
        PartNumber=1,
        Body=b"x" * (5 * MiB),
    )
    s3.abort_multipart_upload(Bucket="gcs", Key="waylines/aborted.kmz", UploadId=second["UploadId"])
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket="gcs", Key="waylines/aborted.kmz", UploadId=second["UploadId"])
    assert error_code(exc.value) == "NoSuchUpload"
    assert not any((store.data_dir / "objects" / ".multipart").iterdir())


def test_multipart_out_of_order_and_bad_parts(store: RunningStore) -> None:
    s3 = store.boto3()
    key = "odd.bin"
    upload_id = s3.create_multipart_upload(Bucket="gcs", Key=key)["UploadId"]
    p2 = os.urandom(5 * MiB + 7)
    p1 = os.urandom(6 * MiB)
    p3 = os.urandom(10)
    etags = {}
    for number, data in ((3, p3), (2, p2), (1, p1)):
        etags[number] = s3.upload_part(
            Bucket="gcs", Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="gcs",
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]},
        )
    assert error_code(exc.value) == "InvalidPart"
    small = s3.create_multipart_upload(Bucket="gcs", Key="small.bin")["UploadId"]
    e = [
        s3.upload_part(Bucket="gcs", Key="small.bin", UploadId=small, PartNumber=n, Body=b"ab")[
            "ETag"
        ]
        for n in (1, 2)
    ]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket="gcs",
            Key="small.bin",
            UploadId=small,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e[n - 1]} for n in (1, 2)]},
        )
    assert error_code(exc.value) == "EntityTooSmall"
    s3.complete_multipart_upload(
        Bucket="gcs",
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]},
    )
    assert s3.get_object(Bucket="gcs", Key=key)["Body"].read() == p1 + p2 + p3


def test_upload_file_transfer_manager(store: RunningStore, tmp_path: Any) -> None:
    from boto3.s3.transfer import TransferConfig

    s3 = store.boto3(store.mint(prefix="media"))
    data = os.urandom(17 * MiB + 3)
    source = tmp_path / "video.mp4"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(source), "gcs", "media/video.mp4", Config=config)
    target = tmp_path / "back.mp4"
    s3.download_file("gcs", "media/video.mp4", str(target), Config=config)
    assert target.read_bytes() == data


def test_presigned_get_and_put(store: RunningStore) -> None:
    s3 = store.boto3(store.mint(prefix="firmware"))
    s3.put_object(Bucket="gcs", Key="firmware/dock.bin", Body=b"firmware image")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "gcs", "Key": "firmware/dock.bin"}, ExpiresIn=60
    )
    assert urllib.request.urlopen(url).read() == b"firmware image"
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "gcs", "Key": "firmware/new.bin"}, ExpiresIn=60
    )
    request = urllib.request.Request(put_url, data=b"uploaded", method="PUT")
    assert urllib.request.urlopen(request).status == 200
    assert s3.get_object(Bucket="gcs", Key="firmware/new.bin")["Body"].read() == b"uploaded"
    # The station's own presigned URL (long-lived keys), for other station modules.
    # (Host is signed: the URL must name the address the client uses.)
    store.access.endpoint = store.url
    station_url = store.access.presign_get("firmware/dock.bin", 60)
    assert urllib.request.urlopen(station_url).read() == b"firmware image"
    tampered = url.replace("dock.bin", "new.bin")
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(tampered)
    assert http.value.code == 403
    assert b"SignatureDoesNotMatch" in http.value.read()


def test_presigned_url_expires(store: RunningStore) -> None:
    past = StorageAccess(store.settings, store.access._table, clock=lambda: time.time() - 600)
    past.endpoint = store.url
    url = past.presign_get("x", 60)
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(url)
    assert http.value.code == 403
    assert b"Request has expired" in http.value.read()


def test_wrong_secret_expired_scope_and_unknown_key(store: RunningStore) -> None:
    creds = store.mint(prefix="media/ws1")
    with pytest.raises(ClientError) as exc:
        store.boto3(creds, secret="not-the-secret").put_object(
            Bucket="gcs", Key="media/ws1/a", Body=b"x"
        )
    assert error_code(exc.value) == "SignatureDoesNotMatch"
    expired = StorageAccess(
        store.settings, store.access._table, clock=lambda: time.time() - 7200
    ).mint(prefix="media/ws1", ttl_s=60)
    with pytest.raises(ClientError) as exc:
        store.boto3(expired).put_object(Bucket="gcs", Key="media/ws1/a", Body=b"x")
    assert error_code(exc.value) == "ExpiredToken"
    s3 = store.boto3(creds)
    for key in ("media/ws10/a", "media/a", "other/ws1/a"):
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket="gcs", Key=key, Body=b"x")
        assert error_code(exc.value) == "AccessDenied", key
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="gcs", Prefix="media/")
    assert error_code(exc.value) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="another")
    assert error_code(exc.value) == "AccessDenied"
    forged = store.mint()
    object.__setattr__(forged, "session_token", "forged-token")
    with pytest.raises(ClientError) as exc:
        store.boto3(forged).list_objects_v2(Bucket="gcs")
    assert error_code(exc.value) == "InvalidToken"
    unknown = store.mint()
    object.__setattr__(unknown, "access_key", "GTUNKNOWN00000000000")
    with pytest.raises(ClientError) as exc:
        store.boto3(unknown).list_objects_v2(Bucket="gcs")
    assert error_code(exc.value) == "InvalidAccessKeyId"


def test_read_only_credentials(store: RunningStore) -> None:
    store.boto3().put_object(Bucket="gcs", Key="logs/a.txt", Body=b"log")
    s3 = store.boto3(store.mint(prefix="logs", read_only=True))
    assert s3.get_object(Bucket="gcs", Key="logs/a.txt")["Body"].read() == b"log"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="gcs", Key="logs/b.txt", Body=b"x")
    assert error_code(exc.value) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket="gcs", Key="logs/a.txt")
    assert error_code(exc.value) == "AccessDenied"


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "a/../../b",
        "a/./b",
        "a//b",
        "/abs",
        "a\\..\\b",
        "nul\x00byte",
        "x" * 1025,
        "a/" + "y" * 300,
    ],
)
def test_traversal_and_bad_keys_refused(store: RunningStore, key: str) -> None:
    s3 = store.boto3()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="gcs", Key=key, Body=b"x")
    assert error_code(exc.value) in ("XMinioInvalidObjectName", "KeyTooLongError")
    outside = store.data_dir / "escape"
    assert not outside.exists()
    assert not (store.data_dir / "objects" / "b").exists()


def test_bad_digests(store: RunningStore) -> None:
    s3 = store.boto3()
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="gcs", Key="d.bin", Body=b"data", ContentMD5=wrong)
    assert error_code(exc.value) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="gcs", Key="d.bin", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert error_code(exc.value) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket="gcs", Key="d.bin")
    right = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    s3.put_object(
        Bucket="gcs",
        Key="d.bin",
        Body=b"data",
        ContentMD5=right,
        ChecksumSHA256=(base64.b64encode(hashlib.sha256(b"data").digest()).decode()),
    )
    assert s3.get_object(Bucket="gcs", Key="d.bin")["Body"].read() == b"data"


def test_payload_modes_over_https(tls_store: RunningStore) -> None:
    """HTTPS: botocore sends aws-chunked bodies with a trailing CRC32 by default."""
    data = os.urandom(2 * MiB + 5)
    events: list[str] = []

    def record(request: Any, **_: Any) -> None:
        events.append(
            request.headers.get("X-Amz-Content-SHA256", b"").decode()
            if isinstance(request.headers.get("X-Amz-Content-SHA256"), bytes)
            else str(request.headers.get("X-Amz-Content-SHA256"))
        )

    trailer = tls_store.boto3()
    trailer.meta.events.register("before-send.s3.PutObject", record)
    trailer.put_object(Bucket="gcs", Key="trailer.bin", Body=io.BytesIO(data))
    assert events[-1] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert trailer.get_object(Bucket="gcs", Key="trailer.bin")["Body"].read() == data

    unsigned = tls_store.boto3(
        s3={"payload_signing_enabled": False}, request_checksum_calculation="when_required"
    )
    unsigned.meta.events.register("before-send.s3.PutObject", record)
    unsigned.put_object(Bucket="gcs", Key="unsigned.bin", Body=data)
    assert events[-1] == "UNSIGNED-PAYLOAD"

    signed = tls_store.boto3(
        s3={"payload_signing_enabled": True}, request_checksum_calculation="when_required"
    )
    signed.meta.events.register("before-send.s3.PutObject", record)
    signed.put_object(Bucket="gcs", Key="signed.bin", Body=data)
    assert len(events[-1]) == 64
    for key in ("unsigned.bin", "signed.bin"):
        assert signed.get_object(Bucket="gcs", Key=key)["Body"].read() == data
    # Multipart parts go aws-chunked too.
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    big = os.urandom(11 * MiB)
    trailer.upload_fileobj(io.BytesIO(big), "gcs", "parts.bin", Config=config)
    assert trailer.get_object(Bucket="gcs", Key="parts.bin")["Body"].read() == big


def test_cors_preflight(store: RunningStore) -> None:
    request = urllib.request.Request(
        f"{store.url}/gcs/media/a.jpg",
        method="OPTIONS",
        headers={
            "Origin": "http://pilot.local",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-amz-date",
        },
    )
    response = urllib.request.urlopen(request)
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://pilot.local"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization,x-amz-date"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def test_anonymous_and_sigv2_refused(store: RunningStore) -> None:
    for url in (f"{store.url}/gcs/x", f"{store.url}/gcs/x?AWSAccessKeyId=a&Signature=b&Expires=1"):
        with pytest.raises(urllib.error.HTTPError) as http:
            urllib.request.urlopen(url)
        assert http.value.code in (400, 403)
        assert b"<Error><Code>" in http.value.read()


def test_station_buckets_and_limits(tmp_path: Any) -> None:
    from s3_harness import start_store

    running = start_store(tmp_path / "data", max_object_bytes=1000, max_bucket_bytes=1500)
    try:
        station = StorageAccess(running.settings, running.access._table)
        creds = SimpleNamespace(
            access_key=running.settings.storage.access_key,
            secret=running.settings.storage.secret_key,
            session_token=None,
        )
        s3 = running.boto3(creds)  # type: ignore[arg-type]  # the station's long-lived keys
        s3.create_bucket(Bucket="firmware")
        s3.head_bucket(Bucket="firmware")
        assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"gcs", "firmware"}
        with pytest.raises(ClientError) as exc:
            s3.create_bucket(Bucket="firmware")
        assert error_code(exc.value) == "BucketAlreadyOwnedByYou"
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket="nothere", Key="k", Body=b"x")
        assert error_code(exc.value) == "NoSuchBucket"
        with pytest.raises(ClientError) as exc:
            s3.create_bucket(Bucket="Bad_Name")
        assert error_code(exc.value) == "InvalidBucketName"
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket="gcs", Key="big", Body=b"x" * 1001)
        assert error_code(exc.value) == "EntityTooLarge"
        s3.put_object(Bucket="gcs", Key="a", Body=b"a" * 900)
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket="gcs", Key="b", Body=b"b" * 900)
        assert error_code(exc.value) == "XMinioAdminBucketQuotaExceeded"
        s3.delete_bucket(Bucket="firmware")
        with pytest.raises(ClientError) as exc:
            s3.delete_bucket(Bucket="gcs")
        assert error_code(exc.value) == "BucketNotEmpty"
        assert station.lookup(creds.access_key) is not None
    finally:
        running.close()


def _expect_put(store: RunningStore, creds: Any, key: str) -> bytes:
    """Send only the headers of a 10 MiB PUT with Expect: 100-continue; return the first answer."""
    import socket

    from gcs.station.storage import amz_date, sigv4

    host = store.url.split("://", 1)[1]
    when = amz_date(time.time())
    headers = [
        ("content-length", str(10 * MiB)),
        ("expect", "100-continue"),
        ("host", host),
        ("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD),
        ("x-amz-date", when),
        ("x-amz-security-token", creds.session_token),
    ]
    auth = sigv4.authorization_header(
        method="PUT",
        path=f"/gcs/{key}",
        query=[],
        headers=headers,
        payload_hash=sigv4.UNSIGNED_PAYLOAD,
        access_key=creds.access_key,
        secret=creds.secret,
        region="us-east-1",
        service="s3",
        amz_date=when,
    )
    head = f"PUT /gcs/{key} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"authorization: {auth}\r\n\r\n"
    address, port = host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=10) as sock:
        sock.sendall(head.encode())
        return sock.recv(65536)


def test_expect_continue_refuses_before_the_body(store: RunningStore) -> None:
    creds = store.mint(prefix="media")
    assert _expect_put(store, creds, "media/ok.bin").startswith(b"HTTP/1.1 100 Continue")
    refused = _expect_put(store, creds, "other/no.bin")
    assert refused.startswith(b"HTTP/1.1 403") and b"AccessDenied" in refused
    expired = StorageAccess(
        store.settings, store.access._table, clock=lambda: time.time() - 7200
    ).mint(prefix="media", ttl_s=60)
    answer = _expect_put(store, expired, "media/late.bin")
    assert answer.startswith(b"HTTP/1.1 400") and b"ExpiredToken" in answer


def test_clock_skew_tolerance(store: RunningStore) -> None:
    import http.client

    from gcs.station.storage import amz_date, sigv4

    creds = store.mint()
    host = store.url.split("://", 1)[1]

    def get_at(offset_s: float) -> tuple[int, bytes]:
        when = amz_date(time.time() + offset_s)
        headers = [
            ("host", host),
            ("x-amz-content-sha256", sigv4.EMPTY_SHA256),
            ("x-amz-date", when),
            ("x-amz-security-token", creds.session_token),
        ]
        auth = sigv4.authorization_header(
            method="GET",
            path="/gcs",
            query=[("list-type", "2")],
            headers=headers,
            payload_hash=sigv4.EMPTY_SHA256,
            access_key=creds.access_key,
            secret=creds.secret,
            region="us-east-1",
            service="s3",
            amz_date=when,
        )
        connection = http.client.HTTPConnection(host, timeout=10)
        try:
            connection.request(
                "GET",
                "/gcs?list-type=2",
                headers={**{k: v for k, v in headers if k != "host"}, "authorization": auth},
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    assert get_at(-14 * 60)[0] == 200
    assert get_at(+14 * 60)[0] == 200
    for offset in (-16 * 60, +16 * 60):
        status, body = get_at(offset)
        assert status == 403 and b"RequestTimeTooSkewed" in body
