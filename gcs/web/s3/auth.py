"""Authenticating an S3 request: SigV4 in the Authorization header or a presigned query, or a
SigV2 presigned URL (see `gcs.station.storage.sigv2` for why).

`parse_request` reads what the client claims (pure); the caller looks the access key up
(`StorageAccess.lookup`, blocking, so in an executor) and `verify` checks token, expiry, time
and signature (pure). The result says how the body is protected (`Payload`), which `body.py`
enforces while the body streams in.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gcs.station.storage import Principal, sigv2, sigv4
from gcs.web.s3.errors import S3Error

MAX_SKEW_S = 15 * 60

HEX = "hex"
UNSIGNED = "unsigned"
CHUNKED_SIGNED = "chunked-signed"
CHUNKED_SIGNED_TRAILER = "chunked-signed-trailer"
CHUNKED_UNSIGNED_TRAILER = "chunked-unsigned-trailer"

_MODES = {
    sigv4.UNSIGNED_PAYLOAD: UNSIGNED,
    sigv4.STREAMING_SIGNED: CHUNKED_SIGNED,
    sigv4.STREAMING_SIGNED_TRAILER: CHUNKED_SIGNED_TRAILER,
    sigv4.STREAMING_UNSIGNED_TRAILER: CHUNKED_UNSIGNED_TRAILER,
}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Payload:
    """How the body is protected.

    Attributes:
        mode: one of HEX, UNSIGNED, CHUNKED_SIGNED, CHUNKED_SIGNED_TRAILER,
            CHUNKED_UNSIGNED_TRAILER.
        sha256: the announced hex SHA-256 (HEX mode).
        seed_signature: the request signature chunk signatures chain from.
        key: the signing key (chunked signed modes).
        amz_date: the request time, ``YYYYMMDDTHHMMSSZ``.
        scope: the credential scope string.
    """

    mode: str
    sha256: str | None = None
    seed_signature: str = ""
    key: bytes = b""
    amz_date: str = ""
    scope: str = ""

    @property
    def chunked(self) -> bool:
        """Whether the body is aws-chunked."""
        return self.mode.startswith("chunked")

    @property
    def signed_chunks(self) -> bool:
        """Whether each chunk carries a signature."""
        return self.mode in (CHUNKED_SIGNED, CHUNKED_SIGNED_TRAILER)

    @property
    def trailer(self) -> bool:
        """Whether trailing headers follow the body."""
        return self.mode.endswith("trailer")


@dataclass(frozen=True)
class Claim:
    """What a request claims: the parsed signature material and the request's parts."""

    info: sigv4.SignedRequestInfo
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    token: str
    content_sha256: str | None

    @property
    def access_key(self) -> str:
        """The access key id the request names."""
        return self.info.credential.access_key


@dataclass(frozen=True)
class ClaimV2:
    """A SigV2 presigned URL's claim (query authentication)."""

    access_key: str
    signature: str
    expires: str
    method: str
    resource: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    token: str


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _wrap(exc: sigv4.SigV4Error) -> S3Error:
    return S3Error(exc.code, str(exc))


def parse_request(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    *,
    resource: str = "",
) -> Claim | ClaimV2:
    """Read the signature material of a request.

    Args:
        resource: ``/bucket/key`` as sent (percent-encoded), for SigV2 presigned URLs.

    Raises:
        S3Error: anonymous request (``AccessDenied``), malformed signature material, or
            ``NotImplemented`` for a SigV2 Authorization header.
    """
    names = {name for name, _ in query}
    if "X-Amz-Credential" not in names and ("Signature" in names or "AWSAccessKeyId" in names):
        return _parse_v2(method, query, headers, resource)
    authorization = _header(headers, "authorization")
    if authorization is not None and authorization.startswith("AWS "):
        raise S3Error(
            "NotImplemented",
            "Signature Version 2 in the Authorization header is not supported: sign with "
            "SigV4 (boto3: Config(signature_version='s3v4'); s3cmd: signature_v2 = False). "
            "SigV2 presigned URLs are accepted.",
        )
    try:
        if "X-Amz-Credential" in names or "X-Amz-Algorithm" in names:
            q = dict(query)
            info = sigv4.parse_presigned(q)
            token = q.get("X-Amz-Security-Token", "")
        else:
            if authorization is None:
                raise S3Error(
                    "AccessDenied", "Anonymous access is not allowed: sign the request (SigV4)."
                )
            info = sigv4.parse_authorization(authorization, _request_date(headers))
            token = _header(headers, "x-amz-security-token") or ""
    except sigv4.SigV4Error as exc:
        raise _wrap(exc) from None
    return Claim(
        info, method, path, query, headers, token, _header(headers, "x-amz-content-sha256")
    )


def _parse_v2(
    method: str, query: list[tuple[str, str]], headers: list[tuple[str, str]], resource: str
) -> ClaimV2:
    q = dict(query)
    missing = [p for p in sigv2.AUTH_PARAMS if not q.get(p)]
    if missing:
        raise S3Error(
            "AccessDenied",
            f"A SigV2 presigned URL needs AWSAccessKeyId, Expires and Signature ({missing[0]} "
            "is missing).",
        )
    token = q.get("x-amz-security-token") or _header(headers, "x-amz-security-token") or ""
    return ClaimV2(
        q["AWSAccessKeyId"],
        q["Signature"],
        q["Expires"],
        method,
        resource,
        query,
        headers,
        token,
    )


def _verify_v2(claim: ClaimV2, principal: Principal | None, now: float) -> Payload:
    if principal is None:
        raise S3Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=claim.access_key,
        )
    if principal.token_sha256 is not None and (
        not claim.token or not principal.token_matches(claim.token)
    ):
        raise S3Error("InvalidToken", "The provided token is malformed or otherwise invalid.")
    if principal.expired(now):
        raise S3Error("ExpiredToken", "The provided token has expired.")
    if not claim.expires.isdigit():
        raise S3Error("AccessDenied", "Expires must be a time in epoch seconds.")
    if now > int(claim.expires):
        raise S3Error("AccessDenied", "Request has expired", Expires=claim.expires)
    params = {k.lower(): v for k, v in claim.query}
    amz = [(k, v) for k, v in claim.headers if k.lower().startswith("x-amz-")]
    amz += [(k.lower(), v) for k, v in claim.query if k.lower().startswith("x-amz-")]
    text = sigv2.string_to_sign(
        claim.method,
        content_md5=_header(claim.headers, "content-md5") or params.get("content-md5", ""),
        content_type=_header(claim.headers, "content-type") or params.get("content-type", ""),
        expires=claim.expires,
        amz_headers=amz,
        resource=sigv2.canonical_resource(claim.resource, claim.query),
    )
    if not sigv4.constant_time_equal(sigv2.sign(principal.secret, text), claim.signature):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=claim.access_key,
            StringToSign=text,
        )
    return Payload(mode=UNSIGNED)


def _request_date(headers: list[tuple[str, str]]) -> str:
    value = _header(headers, "x-amz-date")
    if value is not None:
        return value.strip()
    date = _header(headers, "date")
    if date is None:
        raise S3Error("AccessDenied", "The request has neither X-Amz-Date nor Date.")
    try:
        parsed = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise S3Error("AccessDenied", "The Date header is malformed.") from None
    return parsed.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _epoch(amz_date: str) -> float:
    return datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()


def verify(claim: Claim | ClaimV2, principal: Principal | None, now: float) -> Payload:
    """Check token, expiry, time and signature; returns how the body is protected.

    Raises:
        S3Error: ``InvalidAccessKeyId``, ``InvalidToken``, ``ExpiredToken``,
            ``RequestTimeTooSkewed``, ``AccessDenied`` (expired URL), ``SignatureDoesNotMatch``
            and malformed-request codes.
    """
    if isinstance(claim, ClaimV2):
        return _verify_v2(claim, principal, now)
    info = claim.info
    cred = info.credential
    if principal is None:
        raise S3Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=cred.access_key,
        )
    if principal.token_sha256 is not None and (
        not claim.token or not principal.token_matches(claim.token)
    ):
        raise S3Error("InvalidToken", "The provided token is malformed or otherwise invalid.")
    if principal.expired(now):
        raise S3Error("ExpiredToken", "The provided token has expired.")
    if cred.service != "s3":
        raise S3Error("AuthorizationHeaderMalformed", f"the service must be s3, not {cred.service}")
    if cred.date != info.amz_date[:8]:
        raise S3Error(
            "AuthorizationHeaderMalformed", "the Credential date does not match X-Amz-Date"
        )
    try:
        when = _epoch(info.amz_date)
    except ValueError:
        raise S3Error("AccessDenied", "X-Amz-Date is not a valid time.") from None
    if info.presigned:
        if now > when + info.expires_s:
            raise S3Error(
                "AccessDenied", "Request has expired", **{"X-Amz-Expires": str(info.expires_s)}
            )
        if when > now + MAX_SKEW_S:
            raise S3Error("RequestTimeTooSkewed", "The presigned URL is not valid yet.")
    elif abs(now - when) > MAX_SKEW_S:
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the station's time is too large "
            "(15 minutes at most): check the device's clock (NTP).",
        )
    if "host" not in info.signed_headers:
        raise S3Error("AccessDenied", "The host header must be signed.")
    payload_hash = _payload_hash(claim)
    query = (
        [(k, v) for k, v in claim.query if k != "X-Amz-Signature"]
        if info.presigned
        else (claim.query)
    )
    try:
        canonical = sigv4.canonical_request(
            claim.method, claim.path, query, claim.headers, info.signed_headers, payload_hash
        )
    except sigv4.SigV4Error as exc:
        raise _wrap(exc) from None
    string_to_sign = sigv4.request_string_to_sign(info.amz_date, cred.scope, canonical)
    key = sigv4.signing_key(principal.secret, cred.date, cred.region, cred.service)
    expected = sigv4.sign(key, string_to_sign)
    if not sigv4.constant_time_equal(expected, info.signature):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=cred.access_key,
            StringToSign=string_to_sign,
            CanonicalRequest=canonical,
        )
    mode = HEX if _HEX64.match(payload_hash) else _MODES[payload_hash]
    return Payload(
        mode=mode,
        sha256=payload_hash if mode == HEX else None,
        seed_signature=info.signature,
        key=key,
        amz_date=info.amz_date,
        scope=cred.scope,
    )


def _payload_hash(claim: Claim) -> str:
    value = claim.content_sha256
    if value is None:
        if claim.info.presigned:
            return sigv4.UNSIGNED_PAYLOAD
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    value = value.strip()
    if _HEX64.match(value) or value in _MODES:
        return value
    if value.startswith("STREAMING-AWS4-ECDSA"):
        raise S3Error("NotImplemented", "SigV4a (ECDSA) streaming signatures are not supported.")
    raise S3Error(
        "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value "
        "or a SHA-256 hex digest.",
    )
