"""AWS Signature Version 4 for S3, both sides: pure functions, no I/O, no clock.

Theory of operation. A SigV4 signature is an HMAC chain: the secret and the credential scope
(date/region/service/"aws4_request") give a signing key; the request is reduced to a canonical
text (method, URI, sorted query, the signed headers, and a payload hash or a placeholder such
as ``UNSIGNED-PAYLOAD``); the string to sign binds that text's SHA-256 to the time and scope.
Streaming uploads (``aws-chunked``) chain on: each chunk's signature covers the previous
signature and the chunk's SHA-256, starting from the request's ("seed") signature, and an
optional trailer (checksum headers sent after the body) is signed the same way.

The S3 front uses the verification helpers; the station uses the signing helpers to presign
URLs and to call an external MinIO's STS. Both sides share one canonicalisation, and the tests
check it against boto3/minio (independent signers) and AWS's published example signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_UNRESERVED = "-_.~"  # plus letters and digits, which quote() never encodes


class SigV4Error(ValueError):
    """A request's signature material is malformed.

    Attributes:
        code: the S3 error code to answer with (e.g. ``AuthorizationHeaderMalformed``).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def uri_encode(value: str, *, keep_slash: bool) -> str:
    """Percent-encode `value` the way SigV4 wants (RFC 3986 unreserved characters kept)."""
    return quote(value, safe=_UNRESERVED + ("/" if keep_slash else ""))


def decode_component(raw: str) -> str:
    """Percent-decode one URI component as UTF-8 ('+' stays '+').

    Raises:
        SigV4Error: the bytes are not UTF-8.
    """
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SigV4Error("InvalidURI", "the URI is not valid UTF-8") from exc


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Split a raw query string into decoded (name, value) pairs, in order.

    Raises:
        SigV4Error: a component is not valid UTF-8.
    """
    pairs: list[tuple[str, str]] = []
    if not raw_query:
        return pairs
    for item in raw_query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((decode_component(name), decode_component(value)))
    return pairs


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The canonical query string: encoded names and values, sorted by name then value."""
    encoded = sorted(
        (uri_encode(name, keep_slash=False), uri_encode(value, keep_slash=False))
        for name, value in pairs
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


_SPACES = re.compile(r"\s+")


def canonical_headers(headers: Sequence[tuple[str, str]], signed: Sequence[str]) -> str:
    """The canonical header block for the `signed` names (lowercase, sorted).

    Several values of one header are joined with commas; values are trimmed and inner runs of
    white space collapse to one space.

    Raises:
        SigV4Error: a signed header is absent from the request.
    """
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(_SPACES.sub(" ", value.strip()))
    lines = []
    for name in signed:
        if name not in values:
            raise SigV4Error("AccessDenied", f"signed header {name!r} is missing")
        lines.append(f"{name}:{','.join(values[name])}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Sequence[tuple[str, str]],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """The SigV4 canonical request for S3 (the path is encoded once, never normalised).

    Args:
        method: the HTTP method.
        path: the decoded request path, starting with '/'.
        query: decoded query pairs (without ``X-Amz-Signature`` for presigned URLs).
        headers: every request header as (name, value).
        signed_headers: lowercase names, in the order the client listed them (sorted).
        payload_hash: hex SHA-256 or one of the placeholders.

    Raises:
        SigV4Error: a signed header is missing.
    """
    return "\n".join(
        [
            method.upper(),
            uri_encode(path, keep_slash=True),
            canonical_query(query),
            canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            payload_hash,
        ]
    )


@lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key for one day, region and service."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def sign(key: bytes, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of `string_to_sign` under `key`."""
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def request_string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """The string to sign for a request."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def chunk_string_to_sign(amz_date: str, scope: str, previous: str, chunk_sha256: str) -> str:
    """The string to sign for one ``aws-chunked`` chunk (hash of its data, hex)."""
    return f"{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{chunk_sha256}"


def trailer_string_to_sign(amz_date: str, scope: str, previous: str, trailer: bytes) -> str:
    """The string to sign for the trailing headers (``name:value\\n`` lines, as sent)."""
    digest = hashlib.sha256(trailer).hexdigest()
    return f"{ALGORITHM}-TRAILER\n{amz_date}\n{scope}\n{previous}\n{digest}"


def canonical_trailer(trailers: Sequence[tuple[str, str]]) -> bytes:
    """The bytes a trailer signature covers: ``name:value\\n`` per trailer, in order."""
    return "".join(f"{name.lower()}:{value.strip()}\n" for name, value in trailers).encode()


def constant_time_equal(a: str, b: str) -> bool:
    """Compare two signatures without leaking where they differ."""
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))


# --- parsing what a client sent -------------------------------------------------------------

_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Credential:
    """The ``Credential=`` part: access key and scope."""

    access_key: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        """The credential scope string (date/region/service/aws4_request)."""
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class SignedRequestInfo:
    """What a client claims about its signature, header or query form."""

    credential: Credential
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    presigned: bool
    expires_s: int = 0


def parse_credential(value: str) -> Credential:
    """Parse ``AKID/20240101/us-east-1/s3/aws4_request``.

    Raises:
        SigV4Error: the credential does not have that shape.
    """
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise SigV4Error("AuthorizationHeaderMalformed", "the Credential is malformed")
    if not re.fullmatch(r"\d{8}", parts[1]):
        raise SigV4Error("AuthorizationHeaderMalformed", "the Credential date is malformed")
    return Credential(parts[0], parts[1], parts[2], parts[3])


def _parse_signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not value or any(not n or n != n.lower() or n.strip() != n for n in names):
        raise SigV4Error("AuthorizationHeaderMalformed", "SignedHeaders is malformed")
    return names


def _check_signature(value: str) -> str:
    if not _HEX64.match(value):
        raise SigV4Error("AuthorizationHeaderMalformed", "the Signature is malformed")
    return value


def check_amz_date(value: str) -> str:
    """Return `value` if it is a basic ISO 8601 time (``20240101T000000Z``).

    Raises:
        SigV4Error: it is not.
    """
    if not _AMZ_DATE.match(value):
        raise SigV4Error("AccessDenied", "X-Amz-Date is missing or malformed")
    return value


def parse_authorization(header: str, amz_date: str) -> SignedRequestInfo:
    """Parse an ``Authorization: AWS4-HMAC-SHA256 Credential=..., ...`` header.

    Raises:
        SigV4Error: another algorithm, or a malformed header or date.
    """
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Error(
            "InvalidRequest", "only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported"
        )
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SigV4Error(
                "AuthorizationHeaderMalformed", "the Authorization header is malformed"
            )
        fields[name] = value
    try:
        credential = parse_credential(fields["Credential"])
        signed = _parse_signed_headers(fields["SignedHeaders"])
        signature = _check_signature(fields["Signature"])
    except KeyError as exc:
        raise SigV4Error(
            "AuthorizationHeaderMalformed", f"the Authorization header lacks {exc.args[0]}"
        ) from exc
    return SignedRequestInfo(credential, signed, signature, check_amz_date(amz_date), False)


def parse_presigned(query: dict[str, str]) -> SignedRequestInfo:
    """Parse the ``X-Amz-*`` parameters of a presigned URL.

    Raises:
        SigV4Error: a parameter is missing or malformed.
    """
    try:
        if query["X-Amz-Algorithm"] != ALGORITHM:
            raise SigV4Error("InvalidRequest", "only AWS4-HMAC-SHA256 presigned URLs are supported")
        credential = parse_credential(query["X-Amz-Credential"])
        signed = _parse_signed_headers(query["X-Amz-SignedHeaders"])
        signature = _check_signature(query["X-Amz-Signature"])
        amz_date = check_amz_date(query["X-Amz-Date"])
        expires_raw = query["X-Amz-Expires"]
    except KeyError as exc:
        raise SigV4Error("AuthorizationQueryParametersError", f"{exc.args[0]} is missing") from exc
    if not expires_raw.isdigit() or not 1 <= int(expires_raw) <= 604800:
        raise SigV4Error(
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be a number of seconds between 1 and 604800",
        )
    return SignedRequestInfo(credential, signed, signature, amz_date, True, int(expires_raw))


# --- signing (client side) ----------------------------------------------------------------


def presign_url(
    *,
    method: str,
    scheme_host: str,
    path: str,
    access_key: str,
    secret: str,
    region: str,
    amz_date: str,
    expires_s: int,
    session_token: str = "",
    service: str = "s3",
    extra_query: Sequence[tuple[str, str]] = (),
) -> str:
    """A presigned URL (query-string SigV4, ``UNSIGNED-PAYLOAD``, only ``host`` signed).

    Args:
        method: the HTTP method the URL is for.
        scheme_host: ``http(s)://host[:port]`` exactly as the client will send Host.
        path: decoded path (``/bucket/key``).
        access_key: access key id.
        secret: secret access key.
        region: signing region.
        amz_date: the signing time, ``YYYYMMDDTHHMMSSZ``.
        expires_s: validity in seconds (1..604800).
        session_token: for temporary credentials.
        service: the signing service.
        extra_query: further query parameters to sign.

    Returns:
        The full URL.
    """
    host = scheme_host.split("://", 1)[1]
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    query = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_s)),
        ("X-Amz-SignedHeaders", "host"),
        *extra_query,
    ]
    if session_token:
        query.append(("X-Amz-Security-Token", session_token))
    canonical = canonical_request(method, path, query, [("host", host)], ["host"], UNSIGNED_PAYLOAD)
    key = signing_key(secret, amz_date[:8], region, service)
    signature = sign(key, request_string_to_sign(amz_date, scope, canonical))
    return (
        f"{scheme_host}{uri_encode(path, keep_slash=True)}?{canonical_query(query)}"
        f"&X-Amz-Signature={signature}"
    )


def authorization_header(
    *,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Sequence[tuple[str, str]],
    payload_hash: str,
    access_key: str,
    secret: str,
    region: str,
    service: str,
    amz_date: str,
) -> str:
    """The ``Authorization`` header value signing every header in `headers`.

    `headers` must already hold ``host`` and ``x-amz-date`` (and ``x-amz-content-sha256`` for S3).
    """
    signed = sorted({name.lower() for name, _ in headers})
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    canonical = canonical_request(method, path, query, headers, signed, payload_hash)
    key = signing_key(secret, amz_date[:8], region, service)
    signature = sign(key, request_string_to_sign(amz_date, scope, canonical))
    return (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
