"""S3 operations: parse the request, check the principal's scope, call the store, answer.

One catch-all route feeds `handle`, which splits the raw path itself so that keys reach the
store exactly as the client signed them. Both addressings work: path-style (``/bucket/key``)
and virtual-host (``Host: bucket.<station name>``, ``/key``), which AWS SDKs use by default
when the endpoint is a name; the station's names (`Context.base_hosts`) say which Host
headers carry a bucket. Absolute-form request targets (``PUT http://host/key``, as sent
through a proxy) are accepted too. Blocking store
calls run in the app's executor; a write the client was answered for is committed (fsynced and
renamed) before the answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import logging
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from gcs.station.storage import Principal, StorageAccess
from gcs.station.storage.sigv4 import SigV4Error, decode_component, parse_query
from gcs.store.objects import (
    Condition,
    ObjectRow,
    ObjectStore,
    PartRow,
    StoreError,
    UploadRow,
    check_key,
)
from gcs.web.s3 import checksums, xml
from gcs.web.s3.auth import Payload, parse_request, verify
from gcs.web.s3.body import BodyProcessor, Md5Side, pump
from gcs.web.s3.errors import S3Error, access_denied, not_implemented

log = logging.getLogger(__name__)
T = TypeVar("T")

READ_CHUNK = 1 << 20
SMALL_BODY_LIMIT = 4 << 20
MAX_METADATA_BYTES = 2048
STORED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
)
EXPOSED = (
    "ETag, Content-Length, Content-Range, Content-Type, Last-Modified, x-amz-request-id, "
    "x-amz-id-2, x-amz-checksum-crc32, x-amz-checksum-crc32c, x-amz-checksum-sha1, "
    "x-amz-checksum-sha256, x-amz-checksum-crc64nvme"
)
NOT_CHECKSUMS = ("x-amz-checksum-type", "x-amz-checksum-mode", "x-amz-checksum-algorithm")
CHECKSUM_ELEMENTS = {
    "crc32": "ChecksumCRC32",
    "crc32c": "ChecksumCRC32C",
    "crc64nvme": "ChecksumCRC64NVME",
    "sha1": "ChecksumSHA1",
    "sha256": "ChecksumSHA256",
}
# Query parameters naming sub-resources we do not serve (answering them as plain object or
# bucket operations would be wrong).
UNSUPPORTED_SUBRESOURCES = {
    "acl",
    "tagging",
    "versioning",
    "policy",
    "lifecycle",
    "cors",
    "website",
    "replication",
    "encryption",
    "notification",
    "object-lock",
    "retention",
    "legal-hold",
    "torrent",
    "versionId",
    "versions",
    "select",
    "restore",
    "attributes",
    "logging",
    "accelerate",
    "requestPayment",
    "ownershipControls",
    "publicAccessBlock",
    "analytics",
    "metrics",
    "inventory",
    "intelligent-tiering",
}


Notify = Callable[[str, str], None]  # (level, message) for the operator's events
REPORT_EVERY_S = 60.0
REPORTED_CODES = frozenset(
    {
        "AccessDenied",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "RequestTimeTooSkewed",
        "SignatureDoesNotMatch",
        "SlowDown",
        "XMinioAdminBucketQuotaExceeded",
        "XMinioStorageFull",
    }
)


@dataclass
class Context:
    """What handlers share: the store, the credentials, the executor, the clock."""

    store: ObjectStore
    access: StorageAccess
    executor: Executor | None
    clock: Callable[[], float]
    base_hosts: frozenset[str] = frozenset()
    notify: Notify | None = None
    _reported: dict[tuple[str, str], float] = field(default_factory=dict)

    def report(self, request: web.Request, code: str, message: str) -> None:
        """Tell the operator about a refusal that needs a person (bad keys, clock, full disk).

        At most once per `REPORT_EVERY_S` for one code and one client address.
        """
        if self.notify is None or code not in REPORTED_CODES:
            return
        key, now = (code, request.remote or ""), time.monotonic()
        if now - self._reported.get(key, float("-inf")) < REPORT_EVERY_S:
            return
        if len(self._reported) > 1000:
            self._reported.clear()
        self._reported[key] = now
        self.notify(
            "warning",
            f"object store refused {request.method} {request.path} from {request.remote}: "
            f"{code}: {message} / 对象存储拒绝了请求",
        )

    def virtual_bucket(self, host: str) -> str | None:
        """The bucket a virtual-host ``Host`` names (``gcs.station.lan`` -> ``gcs``), or None."""
        name = _hostname(host)
        for base in self.base_hosts:
            if name.endswith("." + base) and len(name) > len(base) + 1:
                return name[: -len(base) - 1]
        return None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call in the executor."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


@dataclass
class S3Request:
    """A parsed request: where it goes and who sent it."""

    request: web.Request
    bucket: str
    key: str
    query: dict[str, str]
    principal: Principal
    payload: Payload


_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)(.*)$", re.DOTALL)


def _hostname(host: str) -> str:
    """``Host`` without the port, lower-case (IPv6 brackets kept)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _split(request: web.Request) -> tuple[str, list[tuple[str, str]], str, str]:
    """The decoded path, the query pairs, the authority the request was sent to, the raw path."""
    target = request.raw_path
    authority = request.headers.get("Host", "")
    absolute = _ABSOLUTE.match(target)
    if absolute:  # absolute-form (through a proxy): its authority replaces Host
        authority, target = absolute[1], absolute[2] or "/"
    raw_path, _, raw_query = target.partition("?")
    try:
        return decode_component(raw_path), parse_query(raw_query), authority, raw_path
    except SigV4Error as exc:
        raise S3Error(exc.code, str(exc)) from None


def _headers(request: web.Request) -> list[tuple[str, str]]:
    return [
        (k.decode("latin-1").lower(), v.decode("utf-8", "replace")) for k, v in request.raw_headers
    ]


async def authenticate(ctx: Context, request: web.Request) -> S3Request:
    """Verify the request's signature and split its path.

    Raises:
        S3Error: authentication failed or the path is malformed.
    """
    path, query, authority, raw_path = _split(request)
    if not path.startswith("/"):
        raise S3Error("InvalidURI", "The request path must start with '/'.")
    virtual = ctx.virtual_bucket(authority)
    resource = f"/{virtual}{raw_path}" if virtual is not None else raw_path
    claim = parse_request(request.method, path, query, _headers(request), resource=resource)
    principal = await ctx.run(ctx.access.lookup, claim.access_key)
    payload = verify(claim, principal, ctx.clock())
    assert principal is not None
    if virtual is not None:
        bucket, key = virtual, path[1:]
    else:
        bucket, _, key = path[1:].partition("/")
    return S3Request(request, bucket, key, dict(query), principal, payload)


async def handle(ctx: Context, request: web.Request) -> web.StreamResponse:
    """Answer one S3 request (never raises: errors become S3 XML errors)."""
    request_id = secrets.token_hex(8).upper()
    try:
        if request.method == "OPTIONS":
            response: web.StreamResponse = _preflight(request)
        else:
            s3 = await authenticate(ctx, request)
            response = await _dispatch(ctx, s3)
    except S3Error as exc:
        if _client_gone(request, exc):
            log.info("S3 %s %s: the client went away (%s)", request.method, request.path, exc)
        else:
            ctx.report(request, exc.code, exc.message)
        response = _error(request, exc, request_id)
    except StoreError as exc:
        ctx.report(request, exc.code, exc.message)
        response = _error(
            request, S3Error(exc.code, exc.message, BucketName=exc.bucket, Key=exc.key), request_id
        )
    except Exception as exc:
        if not _client_gone(request, exc):
            log.exception("S3 request %s %s failed", request.method, request.path)
        else:  # nobody to answer: not an error of the station's
            log.info("S3 %s %s: the client went away (%r)", request.method, request.path, exc)
        response = _error(
            request,
            S3Error("InternalError", "We encountered an internal error. Please try again."),
            request_id,
        )
    if not response.prepared:
        _common_headers(request, response, request_id)
    return response


def _client_gone(request: web.Request, exc: Exception) -> bool:
    """Whether `exc` comes from the client closing the connection (mid-body or mid-answer)."""
    if isinstance(exc, ConnectionError) or isinstance(exc.__cause__, ConnectionError):
        return True
    transport = request.transport
    return transport is None or transport.is_closing()


async def expect_continue(ctx: Context, request: web.Request) -> None:
    """Answer ``Expect: 100-continue`` (SDKs send it before large bodies).

    An upload whose credentials, scope or key are wrong gets no ``100 Continue``: the client
    keeps its body and `handle` answers with the error (closing the connection), so a dock
    with an expired token does not push gigabytes first. Otherwise the client is invited to
    send the body.
    """
    if request.headers.get("Expect", "").lower() != "100-continue":
        raise web.HTTPExpectationFailed(text="Unknown Expect header")
    if request.method in ("PUT", "POST"):
        try:
            s3 = await authenticate(ctx, request)
            _refuse_unsupported_headers(request)
            if s3.key:
                _require(s3.principal.may_write(s3.bucket, s3.key))
                check_key(s3.bucket, s3.key)
                condition = _write_condition(request)
                if condition is not None and request.method == "PUT":
                    await ctx.run(ctx.store.check_condition, s3.bucket, s3.key, condition)
        except (S3Error, StoreError):
            return  # refused: `handle` renders the same error without reading the body
    if request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0


def _common_headers(request: web.Request, response: web.StreamResponse, request_id: str) -> None:
    response.headers["x-amz-request-id"] = request_id
    response.headers["x-amz-id-2"] = request_id
    response.headers["Server"] = "gcs-s3"
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED
        response.headers["Vary"] = "Origin"


def _preflight(request: web.Request) -> web.Response:
    headers = {
        "Access-Control-Allow-Origin": request.headers.get("Origin", "*"),
        "Access-Control-Allow-Methods": "GET, PUT, POST, DELETE, HEAD",
        "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", "*"),
        "Access-Control-Expose-Headers": EXPOSED,
        "Access-Control-Max-Age": "3600",
    }
    return web.Response(status=200, headers=headers)


def _error(request: web.Request, exc: S3Error, request_id: str) -> web.Response:
    if request.method == "HEAD":
        response = web.Response(status=exc.status)
    else:
        body = xml.error_document(exc.code, exc.message, request.path, request_id, **exc.extra)
        response = web.Response(status=exc.status, body=body, content_type="application/xml")
    if request.can_read_body and not request.content.at_eof():
        response.force_close()  # do not drain an unread upload
    if exc.code == "InvalidRange":
        response.headers["Content-Range"] = f"bytes */{exc.extra.get('ActualObjectSize', '')}"
    return response


async def _dispatch(ctx: Context, s3: S3Request) -> web.StreamResponse:
    method, q = s3.request.method, s3.query
    unsupported = UNSUPPORTED_SUBRESOURCES.intersection(q)
    if unsupported:
        raise not_implemented(f"The ?{sorted(unsupported)[0]} sub-resource")
    if not s3.bucket:
        if method == "GET":
            return await list_buckets(ctx, s3)
        raise S3Error("MethodNotAllowed", "The specified method is not allowed here.")
    if method in ("PUT", "POST"):
        _refuse_unsupported_headers(s3.request)
    if not s3.key:
        return await _bucket_operation(ctx, s3, method, q)
    if method == "PUT":
        if "x-amz-copy-source" in s3.request.headers:
            raise not_implemented("CopyObject / UploadPartCopy")
        if "uploadId" in q or "partNumber" in q:
            return await upload_part(ctx, s3)
        return await put_object(ctx, s3)
    if method in ("GET", "HEAD"):
        if "uploadId" in q and method == "GET":
            return await list_parts(ctx, s3)
        return await get_object(ctx, s3, head=method == "HEAD")
    if method == "DELETE":
        if "uploadId" in q:
            return await abort_upload(ctx, s3)
        return await delete_object(ctx, s3)
    if method == "POST":
        if "uploads" in q:
            return await create_upload(ctx, s3)
        if "uploadId" in q:
            return await complete_upload(ctx, s3)
    raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.")


async def _bucket_operation(
    ctx: Context, s3: S3Request, method: str, q: dict[str, str]
) -> web.StreamResponse:
    if method == "HEAD":
        return await head_bucket(ctx, s3)
    if method == "PUT":
        return await create_bucket(ctx, s3)
    if method == "DELETE":
        return await delete_bucket(ctx, s3)
    if method == "POST" and "delete" in q:
        return await delete_objects(ctx, s3)
    if method == "GET":
        if "location" in q:
            return await bucket_location(ctx, s3)
        if "uploads" in q:
            return await list_uploads(ctx, s3)
        return await list_objects(ctx, s3, v2=q.get("list-type") == "2")
    raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.")


# --- helpers ----------------------------------------------------------------------------

# Canned ACLs that say what the store does anyway: only holders of the station's credentials
# can read an object.
PRIVATE_ACLS = {"private", "bucket-owner-read", "bucket-owner-full-control"}
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def _refuse_unsupported_headers(request: web.Request) -> None:
    """ACLs other than private and server-side encryption are refused, not silently dropped.

    Raises:
        S3Error: ``NotImplemented`` naming the header and what to do.
    """
    acl = request.headers.get("x-amz-acl")
    if acl is not None and acl.strip().lower() not in PRIVATE_ACLS:
        raise not_implemented(
            f"The canned ACL {acl.strip()!r} (objects are private to the station's "
            "credentials; send x-amz-acl: private or none)"
        )
    for name in request.headers:
        lower = name.lower()
        if lower.startswith("x-amz-grant-"):
            raise not_implemented(f"The {name} header (ACL grants)")
        if lower.startswith("x-amz-server-side-encryption"):
            raise not_implemented(
                f"Server-side encryption ({name}: objects are stored unencrypted on the "
                "station's disk; send the request without it)"
            )


def _etags(value: str) -> tuple[str, ...]:
    """The ETags of an If-Match / If-None-Match header, unquoted (``*`` kept)."""
    tags = []
    for part in value.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag:
            tags.append(tag)
    return tuple(tags)


def _http_time(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None  # an unparsable date is ignored, as HTTP says


def _read_precondition(request: web.Request, row: ObjectRow) -> int | None:
    """412 or 304 as S3 answers conditional GET/HEAD, or None to send the object.

    If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since (RFC 7232,
    which S3 follows: a matching If-Match with a failing If-Unmodified-Since is a 200).
    """
    headers = request.headers
    modified = int(row.mtime)  # HTTP dates have whole seconds
    if_match = headers.get("If-Match")
    if if_match is not None:
        tags = _etags(if_match)
        if "*" not in tags and row.etag not in tags:
            return 412
    else:
        since = _http_time(headers.get("If-Unmodified-Since"))
        if since is not None and modified > since:
            return 412
    if_none = headers.get("If-None-Match")
    if if_none is not None:
        tags = _etags(if_none)
        if "*" in tags or row.etag in tags:
            return 304
    else:
        since = _http_time(headers.get("If-Modified-Since"))
        if since is not None and modified <= since:
            return 304
    return None


def _write_condition(request: web.Request, *, delete: bool = False) -> Condition | None:
    """The conditional-write headers of a PUT, Complete or DELETE (None without any).

    Raises:
        S3Error: ``NotImplemented`` for If-None-Match other than ``*``.
    """
    if_match = request.headers.get("If-Match")
    if_none = None if delete else request.headers.get("If-None-Match")
    if if_none is not None and if_none.strip() != "*":
        raise not_implemented("If-None-Match with an ETag on writes (only '*')")
    if if_match is None and if_none is None:
        return None
    return Condition(_etags(if_match) if if_match is not None else None, if_none is not None)


def _checksums_of(values: dict[str, str]) -> dict[str, str]:
    """``x-amz-checksum-crc32`` -> ``crc32``."""
    return {k.removeprefix("x-amz-checksum-"): v for k, v in values.items()}


def _xml(body: bytes, status: int = 200) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/xml")


def _require(allowed: bool) -> None:
    if not allowed:
        raise access_denied("Access Denied: the credential's scope does not cover this.")


def _declared_length(request: web.Request, payload: Payload) -> int | None:
    if payload.chunked:
        raw = request.headers.get("x-amz-decoded-content-length")
        if raw is None:
            if payload.signed_chunks:
                raise S3Error("MissingContentLength", "x-amz-decoded-content-length is required.")
            return None
    else:
        raw = request.headers.get("Content-Length")
        if raw is None:
            return None
    if not raw.strip().isdigit():
        raise S3Error("InvalidArgument", "The announced content length is not a number.")
    return int(raw)


def _checksum_headers(request: web.Request) -> dict[str, str]:
    found = {}
    for name, value in request.headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-checksum-") and lower not in NOT_CHECKSUMS:
            found[lower.removeprefix("x-amz-checksum-")] = value
    return found


def _trailer_names(request: web.Request, payload: Payload) -> list[str]:
    raw = request.headers.get("x-amz-trailer", "")
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    if names and not payload.trailer:
        raise S3Error("InvalidRequest", "x-amz-trailer needs a STREAMING-*-TRAILER payload.")
    return names


def _processor(
    s3: S3Request, sink: Callable[[memoryview], None], md5_of_sink: Callable[[], bytes] | None
) -> tuple[BodyProcessor, int | None]:
    request = s3.request
    declared = _declared_length(request, s3.payload)
    processor = BodyProcessor(
        s3.payload,
        sink,
        content_md5=request.headers.get("Content-MD5"),
        md5_of_sink=md5_of_sink,
        checksum_headers=_checksum_headers(request),
        trailer_names=_trailer_names(request, s3.payload),
        decoded_length=declared,
    )
    return processor, declared


async def read_small_body(ctx: Context, s3: S3Request, limit: int = SMALL_BODY_LIMIT) -> bytes:
    """Read and verify a small body (XML requests) into memory.

    Raises:
        S3Error: too large, or verification failed.
    """
    buffer = bytearray()

    def sink(view: memoryview) -> None:
        if len(buffer) + len(view) > limit:
            raise S3Error("EntityTooLarge", f"This request's body is limited to {limit} bytes.")
        buffer.extend(view)

    processor, declared = _processor(s3, sink, None)
    if declared is not None and declared > limit:
        raise S3Error("EntityTooLarge", f"This request's body is limited to {limit} bytes.")
    await pump(s3.request.content, processor, ctx.executor)
    return bytes(buffer)


def _stored_headers(request: web.Request) -> dict[str, str]:
    stored: dict[str, str] = {}
    meta_bytes = 0
    for name, value in request.headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-meta-") or lower in STORED_HEADERS:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise S3Error("InvalidArgument", f"The {name} header is not valid UTF-8.") from None
        if lower.startswith("x-amz-meta-"):
            stored[lower] = value
            meta_bytes += len(lower) - len("x-amz-meta-") + len(value.encode())
        elif lower in STORED_HEADERS:
            if lower == "content-encoding":
                value = ",".join(
                    p.strip() for p in value.split(",") if p.strip().lower() != "aws-chunked"
                )
                if not value:
                    continue
            stored[lower] = value
    if meta_bytes > MAX_METADATA_BYTES:
        raise S3Error(
            "MetadataTooLarge", "Your metadata headers exceed the maximum allowed size (2 KB)."
        )
    return stored


def _content_type(request: web.Request) -> str:
    return request.headers.get("Content-Type") or "binary/octet-stream"


def _object_headers(row: ObjectRow) -> dict[str, str]:
    headers = {
        "ETag": f'"{row.etag}"',
        "Last-Modified": xml.http_date(row.mtime),
        "Content-Type": row.content_type,
        "Accept-Ranges": "bytes",
    }
    headers.update(row.headers)
    return headers


# --- service and buckets ------------------------------------------------------------------


async def list_buckets(ctx: Context, s3: S3Request) -> web.Response:
    """ListBuckets: all buckets for the station, the credential's own bucket otherwise."""
    buckets = await ctx.run(ctx.store.list_buckets)
    visible = [(n, t) for n, t in buckets if s3.principal.may_see_bucket(n)]
    body = [
        "<Owner><ID>gcs</ID><DisplayName>gcs</DisplayName></Owner><Buckets>",
        *(
            f"<Bucket>{xml.element('Name', n)}{xml.element('CreationDate', xml.iso(t))}</Bucket>"
            for n, t in visible
        ),
        "</Buckets>",
    ]
    return _xml(xml.document("ListAllMyBucketsResult", body))


async def head_bucket(ctx: Context, s3: S3Request) -> web.Response:
    """HeadBucket."""
    _require(s3.principal.may_see_bucket(s3.bucket))
    if not await ctx.run(ctx.store.bucket_exists, s3.bucket):
        raise S3Error("NoSuchBucket", "The specified bucket does not exist.", BucketName=s3.bucket)
    return web.Response(
        status=200, headers={"x-amz-bucket-region": ctx.access.settings.storage.region}
    )


async def bucket_location(ctx: Context, s3: S3Request) -> web.Response:
    """GetBucketLocation (minio clients ask it before anything else)."""
    _require(s3.principal.may_see_bucket(s3.bucket))
    if not await ctx.run(ctx.store.bucket_exists, s3.bucket):
        raise S3Error("NoSuchBucket", "The specified bucket does not exist.", BucketName=s3.bucket)
    region = ctx.access.settings.storage.region
    body = (
        xml.HEADER
        + f'<LocationConstraint xmlns="{xml.NS}">'
        + (region if region != "us-east-1" else "")
        + "</LocationConstraint>"
    )
    return _xml(body.encode())


async def create_bucket(ctx: Context, s3: S3Request) -> web.Response:
    """CreateBucket: only the station's own credentials may."""
    _require(s3.principal.is_station)
    body = await read_small_body(ctx, s3)
    if body.strip():
        # Only a CreateBucketConfiguration may come with it: anything else is an object upload
        # that lost its bucket (a virtual-host request to a name the station does not know).
        try:
            xml.parse(body, "CreateBucketConfiguration")
        except S3Error:
            raise S3Error(
                "MalformedXML",
                f"PUT /{s3.bucket} creates a bucket, and its body is not a "
                "CreateBucketConfiguration: to upload an object use /bucket/key (path-style) or "
                "a Host of bucket.<station address> (virtual-host).",
                BucketName=s3.bucket,
            ) from None
    created = await ctx.run(ctx.store.create_bucket, s3.bucket)
    if not created:
        raise S3Error(
            "BucketAlreadyOwnedByYou",
            "The bucket you tried to create already exists, and you own it.",
            BucketName=s3.bucket,
        )
    return web.Response(status=200, headers={"Location": f"/{s3.bucket}"})


async def delete_bucket(ctx: Context, s3: S3Request) -> web.Response:
    """DeleteBucket (empty buckets; station credentials only)."""
    _require(s3.principal.is_station)
    await ctx.run(ctx.store.delete_bucket, s3.bucket)
    return web.Response(status=204)


def _max_keys(q: dict[str, str]) -> int:
    raw = q.get("max-keys", "1000")
    if not raw.isdigit():
        raise S3Error("InvalidArgument", "max-keys must be a non-negative integer.")
    return min(int(raw), 1000)


def _token(last: str, is_prefix: bool) -> str:
    return base64.urlsafe_b64encode((("P" if is_prefix else "K") + last).encode()).decode()


def _untoken(token: str) -> tuple[str, bool]:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect.") from None
    if not raw or raw[0] not in "PK":
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect.")
    return raw[1:], raw[0] == "P"


async def list_objects(ctx: Context, s3: S3Request, *, v2: bool) -> web.Response:
    """ListObjectsV2 (and the older ListObjects)."""
    q = s3.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    _require(s3.principal.may_list(s3.bucket, prefix))
    max_keys = _max_keys(q)
    encoding = q.get("encoding-type", "")
    enc = xml.url_encoder(encoding)
    if v2 and q.get("continuation-token"):  # an empty token means "from the start"
        after, after_is_prefix = _untoken(q["continuation-token"])
    else:
        after = q.get("start-after" if v2 else "marker", "")
        # A marker naming a rolled-up common prefix (V1 NextMarker) skips that whole prefix.
        after_is_prefix = bool(
            delimiter
            and after.startswith(prefix)
            and after.endswith(delimiter)
            and delimiter in after[len(prefix) :]
        )
    page = await ctx.run(
        lambda: ctx.store.list_page(
            s3.bucket,
            prefix=prefix,
            delimiter=delimiter,
            after=after,
            after_is_prefix=after_is_prefix,
            max_keys=max_keys,
            within=s3.principal.listing_folder(prefix),
        )
    )
    body = [
        xml.element("Name", s3.bucket),
        xml.element("Prefix", enc(prefix)),
        xml.element("MaxKeys", max_keys),
        xml.element("IsTruncated", page.truncated),
    ]
    if delimiter:
        body.append(xml.element("Delimiter", enc(delimiter)))
    if encoding:
        body.append(xml.element("EncodingType", encoding))
    if v2:
        body.append(xml.element("KeyCount", len(page.objects) + len(page.prefixes)))
        if q.get("continuation-token"):
            body.append(xml.element("ContinuationToken", q["continuation-token"]))
        if "start-after" in q:
            body.append(xml.element("StartAfter", enc(q["start-after"])))
        if page.truncated:
            body.append(
                xml.element("NextContinuationToken", _token(page.last, page.last_is_prefix))
            )
    else:
        body.append(xml.element("Marker", enc(q.get("marker", ""))))
        if page.truncated:
            body.append(xml.element("NextMarker", enc(page.last)))
    for row in page.objects:
        body.append(
            "<Contents>"
            + xml.element("Key", enc(row.key))
            + xml.element("LastModified", xml.iso(row.mtime))
            + xml.element("ETag", f'"{row.etag}"')
            + xml.element("Size", row.size)
            + xml.element("StorageClass", "STANDARD")
            + "</Contents>"
        )
    for common in page.prefixes:
        body.append(f"<CommonPrefixes>{xml.element('Prefix', enc(common))}</CommonPrefixes>")
    return _xml(xml.document("ListBucketResult", body))


async def list_uploads(ctx: Context, s3: S3Request) -> web.Response:
    """ListMultipartUploads (no pagination: one page of at most 1000)."""
    prefix = s3.query.get("prefix", "")
    _require(s3.principal.may_list(s3.bucket, prefix))
    uploads = await ctx.run(
        ctx.store.list_uploads, s3.bucket, prefix, s3.principal.listing_folder(prefix)
    )
    body = [xml.element("Bucket", s3.bucket), xml.element("Prefix", prefix)]
    body.append(xml.element("MaxUploads", 1000))
    body.append(xml.element("IsTruncated", len(uploads) > 1000))
    for upload in uploads[:1000]:
        body.append(
            "<Upload>"
            + xml.element("Key", upload.key)
            + xml.element("UploadId", upload.upload_id)
            + xml.element("Initiated", xml.iso(upload.created))
            + xml.element("StorageClass", "STANDARD")
            + "</Upload>"
        )
    return _xml(xml.document("ListMultipartUploadsResult", body))


async def delete_objects(ctx: Context, s3: S3Request) -> web.Response:
    """DeleteObjects: each key checked against the scope on its own."""
    keys, quiet = xml.parse_delete(await read_small_body(ctx, s3))
    body = []
    for key in keys:
        if not s3.principal.may_write(s3.bucket, key):
            body.append(
                "<Error>"
                + xml.element("Key", key)
                + xml.element("Code", "AccessDenied")
                + xml.element("Message", "Access Denied.")
                + "</Error>"
            )
            continue
        try:
            await ctx.run(ctx.store.delete, s3.bucket, key)
        except StoreError as exc:
            body.append(
                "<Error>"
                + xml.element("Key", key)
                + xml.element("Code", exc.code)
                + xml.element("Message", exc.message)
                + "</Error>"
            )
            continue
        if not quiet:
            body.append(f"<Deleted>{xml.element('Key', key)}</Deleted>")
    return _xml(xml.document("DeleteResult", body))


# --- objects ------------------------------------------------------------------------------


async def put_object(ctx: Context, s3: S3Request) -> web.Response:
    """PutObject: stream to a temp file, verify, commit."""
    _require(s3.principal.may_write(s3.bucket, s3.key))
    request = s3.request
    declared = _declared_length(request, s3.payload)
    headers = _stored_headers(request)
    content_type = _content_type(request)
    condition = _write_condition(request)
    if condition is not None:  # refuse before the body is sent; checked again at the commit
        await ctx.run(ctx.store.check_condition, s3.bucket, s3.key, condition)
    side = None if s3.payload.chunked else Md5Side()
    writer = await ctx.run(
        lambda: ctx.store.begin_put(
            s3.bucket, s3.key, expected_size=declared, hash_md5=side is None
        )
    )
    committed = False
    try:
        processor, _ = _processor(s3, writer.write, side.digest if side else writer.md5)
        await pump(request.content, processor, ctx.executor, side=side)
        etag = side.digest().hex() if side else None
        checksums = _checksums_of(processor.checksum_values())
        row = await ctx.run(
            lambda: ctx.store.commit_put(
                writer,
                content_type=content_type,
                headers=headers,
                etag=etag,
                checksums=checksums,
                condition=condition,
            )
        )
        committed = True
    finally:
        if not committed:
            await ctx.run(writer.abort)
    response_headers = {"ETag": f'"{row.etag}"', **processor.checksum_values()}
    return web.Response(status=200, headers=response_headers)


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a ``Range: bytes=...`` header; None to send everything.

    Raises:
        S3Error: ``InvalidRange`` (unsatisfiable).
    """
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value)
    if not match or (not match[1] and not match[2]):
        return None
    unsatisfiable = S3Error(
        "InvalidRange",
        "The requested range is not satisfiable",
        ActualObjectSize=str(size),
        RangeRequested=value.strip()[:200],
    )
    if match[1]:
        first = int(match[1])
        last = int(match[2]) if match[2] else size - 1
        if first >= size:
            raise unsatisfiable
        if last < first:
            return None
        return first, min(last, size - 1)
    suffix = int(match[2])
    if suffix == 0 or size == 0:
        raise unsatisfiable
    return max(0, size - suffix), size - 1


def _part_range(q: dict[str, str], row: ObjectRow, has_range: bool) -> tuple[int, int] | None:
    """The bytes of ``?partNumber=n`` (the n-th part of a multipart object), or None.

    Raises:
        S3Error: ``InvalidArgument``, ``InvalidRequest`` (with a Range), ``InvalidPartNumber``.
    """
    raw = q.get("partNumber")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000.")
    if has_range:
        raise S3Error(
            "InvalidRequest", "Cannot specify both Range header and partNumber query parameter."
        )
    number, sizes = int(raw), row.part_sizes or (row.size,)
    if number > len(sizes):
        raise S3Error(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            PartNumberRequested=raw,
            ActualPartCount=str(len(sizes)),
        )
    first = sum(sizes[: number - 1])
    return first, first + sizes[number - 1] - 1


async def get_object(ctx: Context, s3: S3Request, *, head: bool) -> web.StreamResponse:
    """GetObject / HeadObject: conditions, one byte range or a part, checksums, overrides."""
    _require(s3.principal.may_read(s3.bucket, s3.key))
    row, f = await ctx.run(ctx.store.open_object, s3.bucket, s3.key)
    try:
        request, q = s3.request, s3.query
        headers = _object_headers(row)
        precondition = _read_precondition(request, row)
        if precondition == 412:
            raise S3Error("PreconditionFailed", "At least one of the preconditions failed.")
        if precondition == 304:
            return web.Response(
                status=304,
                headers={"ETag": headers["ETag"], "Last-Modified": headers["Last-Modified"]},
            )
        first, last, status = 0, row.size - 1, 200
        range_header = request.headers.get("Range")
        part = _part_range(q, row, range_header is not None)
        if part is not None:
            first, last = part
            if row.part_sizes:
                status = 206
                headers["x-amz-mp-parts-count"] = str(len(row.part_sizes))
                headers["Content-Range"] = f"bytes {first}-{last}/{row.size}"
        elif range_header is not None:
            chosen = parse_range(range_header, row.size)
            if chosen is not None:
                first, last = chosen
                status = 206
                headers["Content-Range"] = f"bytes {first}-{last}/{row.size}"
        whole = status == 200
        if whole and request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
            for algorithm, value in row.checksums.items():
                headers[f"x-amz-checksum-{algorithm}"] = value
            if row.checksums:
                headers["x-amz-checksum-type"] = row.checksum_type or "FULL_OBJECT"
        for parameter, header in RESPONSE_OVERRIDES.items():
            if parameter in q:
                headers[header] = q[parameter]
        length = last - first + 1 if row.size else 0
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = length
        _common_headers(request, response, secrets.token_hex(8).upper())
        await response.prepare(request)
        if not head and f is not None:
            f.seek(first)  # this request's own file object
            remaining = length
            while remaining > 0:
                data = await ctx.run(f.read, min(READ_CHUNK, remaining))
                if not data:
                    break
                await response.write(data)
                remaining -= len(data)
        await response.write_eof()
        return response
    finally:
        if f is not None:
            f.close()


async def delete_object(ctx: Context, s3: S3Request) -> web.Response:
    """DeleteObject (204 whether or not it existed; If-Match makes it conditional)."""
    _require(s3.principal.may_write(s3.bucket, s3.key))
    condition = _write_condition(s3.request, delete=True)
    await ctx.run(lambda: ctx.store.delete(s3.bucket, s3.key, condition=condition))
    return web.Response(status=204)


# --- multipart ----------------------------------------------------------------------------


async def _upload_row(ctx: Context, s3: S3Request) -> UploadRow:
    upload = await ctx.run(ctx.store.get_upload, s3.query["uploadId"])
    if upload.bucket != s3.bucket or upload.key != s3.key:
        raise S3Error("NoSuchUpload", "The specified multipart upload does not exist.")
    return upload


async def _upload_of(ctx: Context, s3: S3Request) -> str:
    return (await _upload_row(ctx, s3)).upload_id


def _checksum_algorithm(request: web.Request) -> str:
    """The ``x-amz-checksum-algorithm`` of CreateMultipartUpload, lower-case ('' if none).

    Raises:
        S3Error: ``InvalidRequest`` (unknown algorithm), ``NotImplemented`` (FULL_OBJECT).
    """
    algorithm = request.headers.get("x-amz-checksum-algorithm", "").strip().lower()
    if algorithm and algorithm not in checksums.ALGORITHMS:
        raise S3Error("InvalidRequest", f"Unsupported checksum algorithm {algorithm!r}.")
    kind = request.headers.get("x-amz-checksum-type", "").strip().upper()
    if kind and kind != "COMPOSITE":
        raise not_implemented(
            f"The multipart checksum type {kind} (the store computes COMPOSITE checksums)"
        )
    return algorithm


async def create_upload(ctx: Context, s3: S3Request) -> web.Response:
    """CreateMultipartUpload (counted against the credential's open-upload cap)."""
    _require(s3.principal.may_write(s3.bucket, s3.key))
    await read_small_body(ctx, s3)
    headers = _stored_headers(s3.request)
    content_type = _content_type(s3.request)
    algorithm = _checksum_algorithm(s3.request)
    upload_id = await ctx.run(
        lambda: ctx.store.create_upload(
            s3.bucket,
            s3.key,
            content_type=content_type,
            headers=headers,
            # The station's own key (station modules) is not capped; devices' keys are.
            owner="" if s3.principal.is_station else s3.principal.access_key,
            checksum_algorithm=algorithm,
        )
    )
    body = [
        xml.element("Bucket", s3.bucket),
        xml.element("Key", s3.key),
        xml.element("UploadId", upload_id),
    ]
    response = _xml(xml.document("InitiateMultipartUploadResult", body))
    if algorithm:
        response.headers["x-amz-checksum-algorithm"] = algorithm.upper()
        response.headers["x-amz-checksum-type"] = "COMPOSITE"
    return response


async def upload_part(ctx: Context, s3: S3Request) -> web.Response:
    """UploadPart."""
    _require(s3.principal.may_write(s3.bucket, s3.key))
    raw_number = s3.query.get("partNumber", "")
    if "uploadId" not in s3.query or not raw_number.isdigit():
        raise S3Error("InvalidArgument", "UploadPart needs uploadId and a numeric partNumber.")
    upload = await _upload_row(ctx, s3)
    upload_id = upload.upload_id
    declared = _declared_length(s3.request, s3.payload)
    side = None if s3.payload.chunked else Md5Side()
    writer = await ctx.run(
        lambda: ctx.store.begin_part(
            upload_id, int(raw_number), expected_size=declared, hash_md5=side is None
        )
    )
    committed = False
    try:
        processor, _ = _processor(s3, writer.write, side.digest if side else writer.md5)
        await pump(s3.request.content, processor, ctx.executor, side=side)
        etag = side.digest().hex() if side else None
        part_checksums = _checksums_of(processor.checksum_values())
        if upload.checksum_algorithm and upload.checksum_algorithm not in part_checksums:
            raise S3Error(
                "InvalidRequest",
                f"This upload was started with checksum algorithm "
                f"{upload.checksum_algorithm.upper()}: each part must carry "
                f"x-amz-checksum-{upload.checksum_algorithm}.",
            )
        part = await ctx.run(
            lambda: ctx.store.commit_part(writer, etag=etag, checksums=part_checksums)
        )
        committed = True
    finally:
        if not committed:
            await ctx.run(ctx.store.abort_part, writer)
    return web.Response(
        status=200, headers={"ETag": f'"{part.etag}"', **processor.checksum_values()}
    )


async def list_parts(ctx: Context, s3: S3Request) -> web.Response:
    """ListParts (one page of up to 1000 after part-number-marker)."""
    _require(s3.principal.may_write(s3.bucket, s3.key))
    upload_id = await _upload_of(ctx, s3)
    marker_raw = s3.query.get("part-number-marker", "0") or "0"
    if not marker_raw.isdigit():
        raise S3Error("InvalidArgument", "part-number-marker must be an integer.")
    max_parts = _max_keys({"max-keys": s3.query.get("max-parts", "1000")})
    parts = [
        p for p in await ctx.run(ctx.store.list_parts, upload_id) if p.part_number > int(marker_raw)
    ]
    page = parts[:max_parts]
    body = [
        xml.element("Bucket", s3.bucket),
        xml.element("Key", s3.key),
        xml.element("UploadId", upload_id),
        xml.element("PartNumberMarker", int(marker_raw)),
        xml.element("MaxParts", max_parts),
        xml.element("IsTruncated", len(parts) > max_parts),
        xml.element("StorageClass", "STANDARD"),
    ]
    if page:
        body.append(xml.element("NextPartNumberMarker", page[-1].part_number))
    for part in page:
        body.append(
            "<Part>"
            + xml.element("PartNumber", part.part_number)
            + xml.element("LastModified", xml.iso(part.mtime))
            + xml.element("ETag", f'"{part.etag}"')
            + xml.element("Size", part.size)
            + _checksum_elements(part.checksums)
            + "</Part>"
        )
    return _xml(xml.document("ListPartsResult", body))


def _checksum_elements(values: dict[str, str]) -> str:
    return "".join(
        xml.element(CHECKSUM_ELEMENTS[a], v) for a, v in values.items() if a in CHECKSUM_ELEMENTS
    )


async def abort_upload(ctx: Context, s3: S3Request) -> web.Response:
    """AbortMultipartUpload."""
    _require(s3.principal.may_write(s3.bucket, s3.key))
    upload_id = await _upload_of(ctx, s3)
    await ctx.run(ctx.store.abort_upload, upload_id)
    return web.Response(status=204)


def _composite(
    algorithm: str, sent: dict[int, dict[str, str]]
) -> Callable[[list[PartRow]], tuple[dict[str, str], str]]:
    """The composite checksum of the chosen parts (S3's ``base64(H(part checksums))-n``).

    Each part must have been sent with `algorithm`, and a checksum the Complete request lists
    for a part must be the one stored.
    """

    def checksum_of(chosen: list[PartRow]) -> tuple[dict[str, str], str]:
        combined = checksums.new(algorithm)
        for part in chosen:
            stored = part.checksums.get(algorithm)
            listed = sent.get(part.part_number, {}).get(algorithm)
            if stored is None or (listed is not None and listed != stored):
                raise StoreError(
                    "InvalidPart",
                    f"Part {part.part_number}: its {algorithm.upper()} checksum is missing or "
                    "differs from the one uploaded; upload the part again.",
                )
            combined.update(base64.b64decode(stored))
        return {algorithm: f"{combined.b64()}-{len(chosen)}"}, "COMPOSITE"

    return checksum_of


async def complete_upload(ctx: Context, s3: S3Request) -> web.Response:
    """CompleteMultipartUpload (repeated after success: the same result, as S3 does)."""
    _require(s3.principal.may_write(s3.bucket, s3.key))
    body_xml = await read_small_body(ctx, s3)
    condition = _write_condition(s3.request)
    try:
        upload = await _upload_row(ctx, s3)
    except StoreError as exc:
        if exc.code != "NoSuchUpload":
            raise
        row = await ctx.run(ctx.store.completed_result, s3.query["uploadId"], s3.bucket, s3.key)
    else:
        parts, sent = xml.parse_complete_checksums(body_xml, CHECKSUM_ELEMENTS)
        checksum_of = (
            _composite(upload.checksum_algorithm, sent) if upload.checksum_algorithm else None
        )
        row = await ctx.run(
            lambda: ctx.store.complete_upload(
                upload.upload_id, parts, condition=condition, checksum_of=checksum_of
            )
        )
    host = s3.request.host
    body = [
        xml.element("Location", f"{s3.request.scheme}://{host}/{s3.bucket}/{s3.key}"),
        xml.element("Bucket", s3.bucket),
        xml.element("Key", s3.key),
        xml.element("ETag", f'"{row.etag}"'),
        _checksum_elements(row.checksums),
    ]
    if row.checksums:
        body.append(xml.element("ChecksumType", row.checksum_type or "COMPOSITE"))
    return _xml(xml.document("CompleteMultipartUploadResult", body))
