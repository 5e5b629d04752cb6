"""Temporary credentials from an external S3/MinIO store: the STS `AssumeRole` call.

MinIO (and AWS STS) answer a SigV4-signed form POST (service ``sts``) with XML holding an
access key, secret, session token and expiry. A session policy narrows the credentials to the
bucket and key prefix asked for. Building the request and reading the answer are pure functions
(tested against botocore's signer and sample answers); `assume_role` only sends it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

import aiohttp
import defusedxml.ElementTree as SafeET

from gcs.station.storage import sigv4

STS_VERSION = "2011-06-15"


class ExternalStoreError(Exception):
    """The external store refused or did not answer an STS request; the message says why."""


@dataclass(frozen=True)
class AssumeRoleRequest:
    """A ready-to-send STS request."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class AssumedCredentials:
    """Credentials an external STS returned."""

    access_key: str
    secret: str
    session_token: str
    expires: float  # epoch seconds


def scope_policy(bucket: str, prefix: str, *, writable: bool) -> str:
    """An IAM session policy limiting credentials to `bucket`/`prefix` (read or read/write)."""
    folder = f"{prefix.rstrip('/')}/" if prefix else ""
    actions = ["s3:GetObject"]
    if writable:
        actions += [
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        ]
    statements: list[dict[str, object]] = [
        {"Effect": "Allow", "Action": actions, "Resource": [f"arn:aws:s3:::{bucket}/{folder}*"]},
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def build_assume_role(
    *,
    endpoint: str,
    access_key: str,
    secret: str,
    region: str,
    duration_s: int,
    policy: str,
    amz_date: str,
    role_arn: str = "",
    session_name: str = "gcs-station",
) -> AssumeRoleRequest:
    """The signed `AssumeRole` POST for `endpoint` (``http(s)://host[:port]``).

    Raises:
        ExternalStoreError: the endpoint is not an http(s) URL.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ExternalStoreError(f"external endpoint {endpoint!r} is not an http(s) URL")
    form = [
        ("Action", "AssumeRole"),
        ("Version", STS_VERSION),
        ("DurationSeconds", str(duration_s)),
        ("Policy", policy),
    ]
    if role_arn:
        form += [("RoleArn", role_arn), ("RoleSessionName", session_name)]
    body = urlencode(form).encode("ascii")
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = [
        ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
        ("host", parts.netloc),
        ("x-amz-content-sha256", payload_hash),
        ("x-amz-date", amz_date),
    ]
    authorization = sigv4.authorization_header(
        method="POST",
        path="/",
        query=[],
        headers=headers,
        payload_hash=payload_hash,
        access_key=access_key,
        secret=secret,
        region=region,
        service="sts",
        amz_date=amz_date,
    )
    out = {name: value for name, value in headers if name != "host"}
    out["authorization"] = authorization
    return AssumeRoleRequest(f"{parts.scheme}://{parts.netloc}/", out, body)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_assume_role(status: int, text: str) -> AssumedCredentials:
    """Read an STS answer.

    Raises:
        ExternalStoreError: an error answer (its code and message) or an unreadable one.
    """
    try:
        root = SafeET.fromstring(text)
    except Exception as exc:  # defusedxml raises several types for bad or hostile XML
        raise ExternalStoreError(
            f"external STS answered HTTP {status} with unreadable XML"
        ) from exc
    found = {_local(el.tag): (el.text or "").strip() for el in root.iter()}
    if status != 200 or "AccessKeyId" not in found:
        code = found.get("Code", f"HTTP {status}")
        raise ExternalStoreError(
            f"external STS refused AssumeRole: {code}: {found.get('Message', '')}"
        )
    try:
        expires = datetime.fromisoformat(found["Expiration"].replace("Z", "+00:00")).timestamp()
        return AssumedCredentials(
            found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"], expires
        )
    except (KeyError, ValueError) as exc:
        raise ExternalStoreError(f"external STS answer lacks {exc}") from exc


async def assume_role(
    request: AssumeRoleRequest,
    *,
    session: aiohttp.ClientSession | None = None,
    timeout_s: float = 10.0,
) -> AssumedCredentials:
    """Send `request` and read the credentials.

    Raises:
        ExternalStoreError: the store refused, did not answer in time, or answered garbage.
    """
    own = session is None
    client = session or aiohttp.ClientSession()
    try:
        async with client.post(
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            text = await response.text()
            return parse_assume_role(response.status, text)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ExternalStoreError(f"external STS at {request.url} unreachable: {exc}") from exc
    finally:
        if own:
            await client.close()
