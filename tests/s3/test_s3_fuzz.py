"""Fuzz the S3 front: malformed headers, chunk framing and XML bodies never crash it.

"Crash" means a 500 answer, a dropped connection, or a server that no longer answers a valid
request. Every other answer must be an S3 XML error (or a success).
"""

from __future__ import annotations

import contextlib
import http.client
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from s3_harness import RunningStore, start_store

from gcs.station.storage import amz_date, sigv4
from gcs.web.s3.chunked import AwsChunkedDecoder, ChunkFormatError

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=120,
)


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    running = start_store(Path(tmp_path_factory.mktemp("fuzz")) / "data")
    yield running
    running.close()


def send(
    store: RunningStore, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    host = store.url.split("://", 1)[1]
    connection = http.client.HTTPConnection(host, timeout=20)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("host", host)
        for name, value in headers.items():
            connection.putheader(name, value.encode("latin-1"))
        connection.putheader("content-length", str(len(body)))
        connection.endheaders()
        connection.send(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def signed_headers(
    store: RunningStore, method: str, path: str, payload: str, extra: dict[str, str]
) -> dict[str, str]:
    """Valid station-key SigV4 headers for `path`, so that fuzzed bodies get past auth."""
    host = store.url.split("://", 1)[1]
    when = amz_date(time.time())
    raw_path, _, query = path.partition("?")
    bare = sigv4.decode_component(raw_path)
    headers = [("host", host), ("x-amz-content-sha256", payload), ("x-amz-date", when)]
    headers += [(k.lower(), v) for k, v in extra.items()]
    authorization = sigv4.authorization_header(
        method=method,
        path=bare,
        query=sigv4.parse_query(query),
        headers=headers,
        payload_hash=payload,
        access_key=store.settings.storage.access_key,
        secret=store.settings.storage.secret_key,
        region="us-east-1",
        service="s3",
        amz_date=when,
    )
    return {**{k: v for k, v in headers if k != "host"}, "authorization": authorization}


def assert_sane(store: RunningStore, status: int, body: bytes) -> None:
    event(f"HTTP {status} {body.partition(b'<Code>')[2].partition(b'<')[0].decode()}")
    assert status < 500 or status in (501, 507), body[:300]
    if status >= 400 and body:
        assert body.startswith(b"<?xml") and b"<Error><Code>" in body, body[:300]
    # Still answering? (ListBuckets: fuzzing may have deleted or re-created buckets.)
    alive, _ = send(store, "GET", "/", signed_headers(store, "GET", "/", sigv4.EMPTY_SHA256, {}))
    assert alive == 200


@given(
    data=st.binary(max_size=400),
    splits=st.lists(st.integers(1, 64), max_size=20),
    signed=st.booleans(),
    trailer=st.booleans(),
)
@settings(max_examples=500, deadline=None)
def test_decoder_only_raises_format_errors(
    data: bytes, splits: list[int], signed: bool, trailer: bool
) -> None:
    decoder = AwsChunkedDecoder(signed=signed, trailer=trailer)
    pos = 0
    try:
        for size in [*splits, len(data)]:
            decoder.feed(data[pos : pos + size])
            pos += size
    except ChunkFormatError:
        pass


@FUZZ
@given(
    method=st.sampled_from(["GET", "PUT", "HEAD", "POST", "DELETE"]),
    path=st.sampled_from(
        [
            "/",
            "/gcs",
            "/gcs/a",
            "/gcs/a/b?uploadId=x",
            "/gcs?delete",
            "/gcs/k?partNumber=1&uploadId=zz",
            "/%ff",
            "/gcs/%00",
        ]
    ),
    auth=HEADER_TEXT,
    date=HEADER_TEXT,
    content=HEADER_TEXT,
    range_=HEADER_TEXT,
)
def test_malformed_headers(
    fuzz_store: RunningStore,
    method: str,
    path: str,
    auth: str,
    date: str,
    content: str,
    range_: str,
) -> None:
    headers = {
        "authorization": "AWS4-HMAC-SHA256 " + auth if auth[:1] < "m" else auth,
        "x-amz-date": date,
        "x-amz-content-sha256": content,
        "range": range_,
    }
    status, body = send(fuzz_store, method, path, headers, b"body")
    assert_sane(fuzz_store, status, body)


@FUZZ
@given(
    payload=st.sampled_from(
        [
            sigv4.STREAMING_UNSIGNED_TRAILER,
            sigv4.UNSIGNED_PAYLOAD,
            "bogus",
            sigv4.EMPTY_SHA256,
        ]
    ),
    extra=st.fixed_dictionaries(
        {},
        optional={
            "content-md5": HEADER_TEXT,
            "x-amz-decoded-content-length": st.one_of(HEADER_TEXT, st.integers(0, 10**6).map(str)),
            "x-amz-trailer": st.sampled_from(
                ["x-amz-checksum-crc32", "x-amz-checksum-nope", "a,b"]
            ),
            "x-amz-checksum-crc32": HEADER_TEXT,
            "range": HEADER_TEXT,
            "x-amz-meta-x": HEADER_TEXT,
        },
    ),
    body=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda n, data, trailer: f"{n}\r\n".encode() + data + b"\r\n0\r\n" + trailer,
            st.sampled_from(["3", "ff", "zz", "-1", "10000000000000000"]),
            st.binary(max_size=20),
            st.sampled_from([b"\r\n", b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n", b"junk", b""]),
        ),
    ),
)
def test_signed_requests_with_bad_bodies(
    fuzz_store: RunningStore, payload: str, extra: dict[str, str], body: bytes
) -> None:
    path = "/gcs/fuzz/object"
    status, answer = send(
        fuzz_store, "PUT", path, signed_headers(fuzz_store, "PUT", path, payload, extra), body
    )
    assert_sane(fuzz_store, status, answer)
    assert not any((fuzz_store.data_dir / "objects" / ".tmp").iterdir())


_clients: dict[int, object] = {}


def _client(store: RunningStore) -> Any:
    if id(store) not in _clients:
        _clients[id(store)] = store.boto3()
    return _clients[id(store)]


@FUZZ
@given(
    # Bytes HTTP allows in a header value (visible ASCII, obs-text), any UTF-8 validity.
    value=st.lists(
        st.sampled_from([*range(0x21, 0x7F), *range(0x80, 0x100)]), min_size=1, max_size=40
    ).map(bytes)
)
def test_stored_header_bytes_come_back_or_are_refused(
    fuzz_store: RunningStore, value: bytes
) -> None:
    path = "/gcs/fuzz/meta"
    headers = signed_headers(fuzz_store, "PUT", path, sigv4.UNSIGNED_PAYLOAD, {})
    host = fuzz_store.url.split("://", 1)[1]
    connection = http.client.HTTPConnection(host, timeout=20)
    try:
        connection.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("host", host)
        for name, text in headers.items():
            connection.putheader(name, text)
        connection.putheader("x-amz-meta-raw", value)  # unsigned, arbitrary bytes
        connection.putheader("content-length", "1")
        connection.endheaders()
        connection.send(b"x")
        response = connection.getresponse()
        status, body = response.status, response.read()
    finally:
        connection.close()
    assert_sane(fuzz_store, status, body)
    get = signed_headers(fuzz_store, "GET", path, sigv4.EMPTY_SHA256, {})
    status, body = send(fuzz_store, "GET", path, get)
    assert_sane(fuzz_store, status, body)


XML_BODIES = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda inner: b"<?xml version='1.0'?>" + inner,
        st.sampled_from(
            [
                b"<Delete><Object><Key>a</Key></Object></Delete>",
                b"<Delete><Quiet>true</Quiet></Delete>",
                b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>",
                b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part>"
                b"</CompleteMultipartUpload>",
                b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part>"
                b"</CompleteMultipartUpload>",
                b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                b"<Delete>&b;</Delete>",
                b"<Delete><Object><Key>\xff\xfe</Key></Object></Delete>",
                b"<Other/>",
                b"<Delete",
            ]
        ),
    ),
)


@FUZZ
@given(body=XML_BODIES, target=st.sampled_from(["delete", "complete"]))
def test_xml_bodies(fuzz_store: RunningStore, body: bytes, target: str) -> None:
    s3 = _client(fuzz_store)
    if target == "delete":
        path = "/gcs?delete"
    else:
        upload_id = s3.create_multipart_upload(Bucket="gcs", Key="fuzz/mp")["UploadId"]
        path = f"/gcs/fuzz/mp?uploadId={upload_id}"
    headers = signed_headers(fuzz_store, "POST", path, sigv4.UNSIGNED_PAYLOAD, {})
    status, answer = send(fuzz_store, "POST", path, headers, body)
    assert_sane(fuzz_store, status, answer)
    if target == "complete":  # one credential may keep only so many uploads open
        with contextlib.suppress(ClientError):
            s3.abort_multipart_upload(Bucket="gcs", Key="fuzz/mp", UploadId=upload_id)


QUERY_NAMES = [
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "marker",
    "encoding-type",
    "uploads",
    "uploadId",
    "partNumber",
    "part-number-marker",
    "max-parts",
    "location",
    "delete",
    "acl",
    "x",
]


@FUZZ
@given(
    method=st.sampled_from(["GET", "PUT", "HEAD", "POST", "DELETE"]),
    bucket=st.sampled_from(["gcs", "", "nosuch", "GCS", "a" * 70, "meta.db"]),
    key=st.text(max_size=40),
    query=st.dictionaries(st.sampled_from(QUERY_NAMES), st.text(max_size=12), max_size=4),
    range_=st.one_of(st.none(), st.text(alphabet="bytes=-0123456789, ", max_size=20)),
)
def test_signed_paths_and_queries(
    fuzz_store: RunningStore,
    method: str,
    bucket: str,
    key: str,
    query: dict[str, str],
    range_: str | None,
) -> None:
    path = f"/{bucket}/{key}" if bucket else "/"
    pairs = sorted(query.items())
    raw = sigv4.uri_encode(path, keep_slash=True)
    if pairs:
        raw += "?" + sigv4.canonical_query(pairs)
    extra = {"range": range_} if range_ is not None else {}
    headers = signed_headers(fuzz_store, method, raw, sigv4.UNSIGNED_PAYLOAD, extra)
    status, body = send(fuzz_store, method, raw, headers, b"")
    assert_sane(fuzz_store, status, body)
    assert status != 403 or b"SignatureDoesNotMatch" not in body, body[:400]
