"""Signed aws-chunked uploads (the Java/Android SDK default over HTTP), with and without a
signed trailer.

No Python S3 client sends STREAMING-AWS4-HMAC-SHA256-PAYLOAD, so this test signs the chunks
itself with `gcs.station.storage.sigv4`, whose chunk and trailer signatures are checked against
AWS's published example values in test_s3_sigv4.py. The request goes over a real socket.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import time
import zlib
from dataclasses import dataclass

import pytest
from s3_harness import RunningStore

from gcs.station.storage import TemporaryCredentials, amz_date, sigv4


@dataclass
class Sent:
    status: int
    body: bytes


def signed_chunked_put(
    store: RunningStore,
    creds: TemporaryCredentials,
    path: str,
    data: bytes,
    *,
    chunk: int = 64 * 1024,
    trailer_checksum: str | None = None,
    tamper_chunk: int | None = None,
    bad_trailer_signature: bool = False,
    declared: int | None = None,
    cut: int | None = None,
) -> Sent:
    host = store.url.split("://", 1)[1]
    when = amz_date(time.time())
    region = store.settings.storage.region
    mode = (
        sigv4.STREAMING_SIGNED_TRAILER if trailer_checksum is not None else sigv4.STREAMING_SIGNED
    )
    scope = f"{when[:8]}/{region}/s3/aws4_request"
    key = sigv4.signing_key(creds.secret, when[:8], region, "s3")
    headers = [
        ("content-encoding", "aws-chunked"),
        ("host", host),
        ("x-amz-content-sha256", mode),
        ("x-amz-date", when),
        ("x-amz-decoded-content-length", str(len(data) if declared is None else declared)),
        ("x-amz-security-token", creds.session_token),
    ]
    if trailer_checksum is not None:
        headers.append(("x-amz-trailer", "x-amz-checksum-crc32"))
    authorization = sigv4.authorization_header(
        method="PUT",
        path=path,
        query=[],
        headers=headers,
        payload_hash=mode,
        access_key=creds.access_key,
        secret=creds.secret,
        region=region,
        service="s3",
        amz_date=when,
    )
    previous = authorization.rsplit("Signature=", 1)[1]
    body = bytearray()
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for index, piece in enumerate(pieces):
        sts = sigv4.chunk_string_to_sign(when, scope, previous, hashlib.sha256(piece).hexdigest())
        previous = sigv4.sign(key, sts)
        sent = piece
        if tamper_chunk == index:
            sent = bytes([piece[0] ^ 1]) + piece[1:]
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + sent
        body += b"\r\n" if piece else b""
    if trailer_checksum is not None:
        trailers = [("x-amz-checksum-crc32", trailer_checksum)]
        sts = sigv4.trailer_string_to_sign(when, scope, previous, sigv4.canonical_trailer(trailers))
        signature = sigv4.sign(key, sts)
        if bad_trailer_signature:
            signature = "0" * 64
        body += f"x-amz-checksum-crc32:{trailer_checksum}\r\n".encode()
        body += f"x-amz-trailer-signature:{signature}\r\n".encode()
    body += b"\r\n"
    wire = bytes(body[:cut]) if cut is not None else bytes(body)
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        connection.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("authorization", authorization)
        connection.putheader("content-length", str(len(body)))
        connection.endheaders()
        connection.send(wire)
        if cut is not None:
            connection.sock.shutdown(1)  # half-close: the body ends early
        try:
            response = connection.getresponse()
        except http.client.RemoteDisconnected:
            return Sent(0, b"IncompleteBody (no answer: the client is gone)")
        return Sent(response.status, response.read())
    finally:
        connection.close()


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def assert_nothing_left(store: RunningStore, key: str) -> None:
    s3 = store.boto3()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="gcs").get("Contents", [])]
    assert key not in keys
    tmp = store.data_dir / "objects" / ".tmp"
    deadline = time.monotonic() + 10
    while any(tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)  # the server notices a vanished client asynchronously
    assert not any(tmp.iterdir())


def test_signed_chunks(store: RunningStore) -> None:
    creds = store.mint(prefix="media")
    data = os.urandom(300_000)
    sent = signed_chunked_put(store, creds, "/gcs/media/chunked.jpg", data)
    assert sent.status == 200, sent.body
    got = store.boto3().get_object(Bucket="gcs", Key="media/chunked.jpg")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'


def test_signed_chunks_with_signed_trailer(store: RunningStore) -> None:
    creds = store.mint(prefix="media")
    data = os.urandom(200_001)
    sent = signed_chunked_put(
        store, creds, "/gcs/media/t.bin", data, trailer_checksum=crc32_b64(data)
    )
    assert sent.status == 200, sent.body
    assert store.boto3().get_object(Bucket="gcs", Key="media/t.bin")["Body"].read() == data


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"tamper_chunk": 1}, b"SignatureDoesNotMatch"),
        ({"trailer_checksum": "AAAAAA=="}, b"BadDigest"),
        ({"trailer_checksum": "GOOD", "bad_trailer_signature": True}, b"SignatureDoesNotMatch"),
        ({"declared": 250_000}, b"IncompleteBody"),
        ({"cut": 150_000}, b"IncompleteBody"),
    ],
)
def test_bad_streams_leave_nothing(
    store: RunningStore, kwargs: dict[str, object], code: bytes
) -> None:
    creds = store.mint(prefix="media")
    data = os.urandom(200_000)
    if kwargs.get("trailer_checksum") == "GOOD":
        kwargs["trailer_checksum"] = crc32_b64(data)
    sent = signed_chunked_put(store, creds, "/gcs/media/bad.bin", data, **kwargs)  # type: ignore[arg-type]
    assert sent.status in (0, 400, 403)
    assert code in sent.body
    assert_nothing_left(store, "media/bad.bin")


def test_signed_chunked_multipart_part(store: RunningStore) -> None:
    s3 = store.boto3()
    creds = store.mint()
    upload_id = s3.create_multipart_upload(Bucket="gcs", Key="mp.bin")["UploadId"]
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    etags = []
    for number, data in enumerate(parts, start=1):
        path = f"/gcs/mp.bin?partNumber={number}&uploadId={upload_id}"
        # The query is signed too: sign with it.
        sent = _signed_part(store, creds, path, data)
        assert sent.status == 200, sent.body
        etags.append(hashlib.md5(data).hexdigest())
    s3.complete_multipart_upload(
        Bucket="gcs",
        Key="mp.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
    )
    assert s3.get_object(Bucket="gcs", Key="mp.bin")["Body"].read() == b"".join(parts)


def _signed_part(store: RunningStore, creds: TemporaryCredentials, path: str, data: bytes) -> Sent:
    # Same as signed_chunked_put, with the query string in the canonical request.
    bare, _, query = path.partition("?")
    host = store.url.split("://", 1)[1]
    when = amz_date(time.time())
    region = store.settings.storage.region
    mode = sigv4.STREAMING_SIGNED
    scope = f"{when[:8]}/{region}/s3/aws4_request"
    key = sigv4.signing_key(creds.secret, when[:8], region, "s3")
    headers = [
        ("host", host),
        ("x-amz-content-sha256", mode),
        ("x-amz-date", when),
        ("x-amz-decoded-content-length", str(len(data))),
        ("x-amz-security-token", creds.session_token),
    ]
    authorization = sigv4.authorization_header(
        method="PUT",
        path=bare,
        query=sigv4.parse_query(query),
        headers=headers,
        payload_hash=mode,
        access_key=creds.access_key,
        secret=creds.secret,
        region=region,
        service="s3",
        amz_date=when,
    )
    previous = authorization.rsplit("Signature=", 1)[1]
    body = bytearray()
    for piece in [data[i : i + 128 * 1024] for i in range(0, len(data), 128 * 1024)] + [b""]:
        previous = sigv4.sign(
            key,
            sigv4.chunk_string_to_sign(when, scope, previous, hashlib.sha256(piece).hexdigest()),
        )
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece
        body += b"\r\n"
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        connection.request(
            "PUT",
            path,
            body=bytes(body),
            headers={**dict(headers), "authorization": authorization},
        )
        response = connection.getresponse()
        return Sent(response.status, response.read())
    finally:
        connection.close()
