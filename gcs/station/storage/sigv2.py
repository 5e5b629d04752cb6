"""AWS Signature Version 2 query authentication (presigned URLs): pure functions, no I/O.

Why at all. boto3's `generate_presigned_url` for a custom endpoint, ``aws s3 presign`` and
``s3cmd signurl`` still produce SigV2 URLs (``?AWSAccessKeyId=..&Expires=..&Signature=..``)
unless told otherwise, and an operator sharing a media link with one should not meet a refusal.
Only query authentication is accepted: no current SDK signs requests with SigV2 headers, and
those are answered 501 by the S3 front.

Theory of operation. The signature is base64(HMAC-SHA1(secret, string to sign)), where the
string to sign is the method, Content-MD5, Content-Type, the ``Expires`` epoch seconds, the
``x-amz-*`` headers (lower-case, sorted, ``name:value`` lines; a presigned URL carries them in
its query, e.g. ``x-amz-security-token``), and the canonical resource: ``/bucket/key`` as sent
(percent-encoded) plus the sub-resources S3 lists (``?partNumber=..&response-content-type=..``),
sorted, with decoded values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

AUTH_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")
SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "select",
        "select-type",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


def canonical_resource(raw_path: str, query: Sequence[tuple[str, str]]) -> str:
    """``/bucket/key`` (as sent) and the sub-resources, ``name=value`` sorted by name."""
    picked = sorted((k, v) for k, v in query if k in SUBRESOURCES)
    if not picked:
        return raw_path
    return raw_path + "?" + "&".join(f"{k}={v}" if v else k for k, v in picked)


def string_to_sign(
    method: str,
    *,
    content_md5: str,
    content_type: str,
    expires: str,
    amz_headers: Sequence[tuple[str, str]],
    resource: str,
) -> str:
    """The text a SigV2 presigned URL signs."""
    merged: dict[str, list[str]] = {}
    for name, value in amz_headers:
        merged.setdefault(name.lower(), []).append(value.strip())
    amz = "".join(f"{k}:{','.join(v)}\n" for k, v in sorted(merged.items()))
    return f"{method.upper()}\n{content_md5.strip()}\n{content_type.strip()}\n{expires}\n{amz}" + (
        resource
    )


def sign(secret: str, text: str) -> str:
    """base64(HMAC-SHA1(secret, text))."""
    mac = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(mac).decode("ascii")
