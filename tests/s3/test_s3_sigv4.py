"""SigV4 and aws-chunked framing against AWS's published examples and botocore's signer."""

from __future__ import annotations

import hashlib

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gcs.station.storage import sigv4
from gcs.web.s3.chunked import (
    AwsChunkedDecoder,
    BodyEnd,
    ChunkData,
    ChunkEnd,
    ChunkFormatError,
    Trailer,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
KEY = sigv4.signing_key(SECRET, "20130524", "us-east-1", "s3")

# AWS "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
# Chunks" (S3 API reference): 66560 bytes of 'a' in chunks of 65536 and 1024.
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
CHUNK_2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
CHUNK_FINAL = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
# aws-crt's chunk signer test: trailers first:1st, second:2nd, third:3rd after CHUNK_FINAL.
TRAILER_SIG = "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c"


def test_get_object_example_signature() -> None:
    # AWS "GET Object" header-signing example.
    headers = [
        ("host", "examplebucket.s3.amazonaws.com"),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", sigv4.EMPTY_SHA256),
        ("x-amz-date", DATE),
    ]
    canonical = sigv4.canonical_request(
        "GET", "/test.txt", [], headers, [h for h, _ in headers], sigv4.EMPTY_SHA256
    )
    signature = sigv4.sign(KEY, sigv4.request_string_to_sign(DATE, SCOPE, canonical))
    assert signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"


def test_streaming_seed_and_chunk_signatures() -> None:
    headers = [
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", DATE),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("content-encoding", "aws-chunked"),
        ("content-length", "66824"),
        ("x-amz-content-sha256", sigv4.STREAMING_SIGNED),
        ("x-amz-decoded-content-length", "66560"),
    ]
    signed = sorted(h for h, _ in headers)
    canonical = sigv4.canonical_request(
        "PUT", "/examplebucket/chunkObject.txt", [], headers, signed, sigv4.STREAMING_SIGNED
    )
    assert sigv4.sign(KEY, sigv4.request_string_to_sign(DATE, SCOPE, canonical)) == SEED
    previous = SEED
    for data, expected in ((b"a" * 65536, CHUNK_1), (b"a" * 1024, CHUNK_2), (b"", CHUNK_FINAL)):
        sts = sigv4.chunk_string_to_sign(DATE, SCOPE, previous, hashlib.sha256(data).hexdigest())
        previous = sigv4.sign(KEY, sts)
        assert previous == expected
    trailer = sigv4.canonical_trailer([("first", "1st"), ("second", "2nd"), ("third", "3rd")])
    sts = sigv4.trailer_string_to_sign(DATE, SCOPE, CHUNK_FINAL, trailer)
    assert sigv4.sign(KEY, sts) == TRAILER_SIG


def test_presigned_example() -> None:
    # AWS "Authenticating Requests: Using Query Parameters" example.
    url = sigv4.presign_url(
        method="GET",
        scheme_host="https://examplebucket.s3.amazonaws.com",
        path="/test.txt",
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret=SECRET,
        region="us-east-1",
        amz_date=DATE,
        expires_s=86400,
    )
    assert url.endswith(
        "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )


def test_authorization_header_matches_botocore() -> None:
    # The STS call to an external MinIO is signed by our code; botocore is the reference.
    body = b"Action=AssumeRole&Version=2011-06-15"
    request = AWSRequest(
        method="POST",
        url="http://10.0.0.5:9000/?b=2&a=1%203",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(Credentials("AK", "SK"), "sts", "us-east-1").add_auth(request)
    amz_date = request.headers["X-Amz-Date"]
    ours = sigv4.authorization_header(
        method="POST",
        path="/",
        query=[("b", "2"), ("a", "1 3")],
        headers=[
            ("content-type", "application/x-www-form-urlencoded"),
            ("host", "10.0.0.5:9000"),
            ("x-amz-date", amz_date),
        ],
        payload_hash=hashlib.sha256(body).hexdigest(),
        access_key="AK",
        secret="SK",
        region="us-east-1",
        service="sts",
        amz_date=amz_date,
    )
    assert ours == request.headers["Authorization"]


def test_parse_authorization_rejects_malformed() -> None:
    for header in (
        "AWS AKID:sig",
        "AWS4-HMAC-SHA256 Credential=a/b/c",
        "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AK/2013/us-east-1/s3/aws4_request, SignedHeaders=host, "
        "Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=Host, Signature=" + "0" * 64,
    ):
        with pytest.raises(sigv4.SigV4Error):
            sigv4.parse_authorization(header, DATE)


def _chunked_body(trailers: bytes = b"\r\n", *, signed: bool = True) -> bytes:
    def header(size: int, sig: str) -> bytes:
        return f"{size:x}".encode() + (f";chunk-signature={sig}".encode() if signed else b"")

    return (
        header(65536, CHUNK_1)
        + b"\r\n"
        + b"a" * 65536
        + b"\r\n"
        + header(1024, CHUNK_2)
        + b"\r\n"
        + b"a" * 1024
        + b"\r\n"
        + header(0, CHUNK_FINAL)
        + b"\r\n"
        + trailers
    )


@pytest.mark.parametrize("piece", [1, 7, 4096, 70000])
def test_decoder_any_split(piece: int) -> None:
    body = _chunked_body()
    decoder = AwsChunkedDecoder(signed=True, trailer=False)
    data = bytearray()
    signatures = []
    for i in range(0, len(body), piece):
        for event in decoder.feed(body[i : i + piece]):
            if isinstance(event, ChunkData):
                data += event.data
            elif isinstance(event, ChunkEnd):
                signatures.append(event.signature)
    assert decoder.done
    assert bytes(data) == b"a" * 66560
    assert signatures == [CHUNK_1, CHUNK_2, CHUNK_FINAL]


def test_decoder_trailers_unsigned_botocore_shape() -> None:
    body = _chunked_body(b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n", signed=False)
    decoder = AwsChunkedDecoder(signed=False, trailer=True)
    events = decoder.feed(body)
    assert Trailer("x-amz-checksum-crc32", "AAAAAA==") in events
    assert isinstance(events[-1], BodyEnd)


@pytest.mark.parametrize(
    "body",
    [
        b"zz;chunk-signature=" + CHUNK_1.encode() + b"\r\n",
        b"4;chunk-signature=" + CHUNK_1.encode() + b"\r\nabcdXY",
        b"4\r\nabcd\r\n",  # unsigned chunk in a signed body
        b"1" * 5000,
        _chunked_body() + b"extra",
    ],
)
def test_decoder_rejects_bad_framing(body: bytes) -> None:
    decoder = AwsChunkedDecoder(signed=True, trailer=False)
    with pytest.raises(ChunkFormatError):
        decoder.feed(body)


def test_sigv2_query_example_and_canonical_resource() -> None:
    # AWS "Signing and authenticating REST requests", query string authentication example.
    from gcs.station.storage import sigv2

    text = sigv2.string_to_sign(
        "GET",
        content_md5="",
        content_type="",
        expires="1175139620",
        amz_headers=[],
        resource="/johnsmith/photos/puppy.jpg",
    )
    assert sigv2.sign(SECRET, text) == "NpgCjnDzrM+WFzoENXmpNDUsSn8="
    resource = sigv2.canonical_resource(
        "/b/k%20ey",
        [("response-content-type", "text/plain"), ("X-Other", "1"), ("partNumber", "2")],
    )
    assert resource == "/b/k%20ey?partNumber=2&response-content-type=text/plain"
    amz = sigv2.string_to_sign(
        "PUT",
        content_md5="",
        content_type="x/y",
        expires="1",
        amz_headers=[("X-Amz-Security-Token", "t"), ("x-amz-meta-a", "1")],
        resource="/b/k",
    )
    assert amz == "PUT\n\nx/y\n1\nx-amz-meta-a:1\nx-amz-security-token:t\n/b/k"
