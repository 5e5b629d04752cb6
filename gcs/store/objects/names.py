"""Bucket and key names: what S3 allows, minus what could escape a bucket's folder on disk."""

from __future__ import annotations

import re

from gcs.store.objects.errors import StoreError

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Names inside `objects/` that belong to the store itself.
RESERVED_BUCKETS = ("meta.db",)


def check_bucket(name: str) -> str:
    """Return `name` if it is a valid S3 bucket name the store can hold.

    Raises:
        StoreError: ``InvalidBucketName``.
    """
    if (
        not _BUCKET.match(name)
        or ".." in name
        or ".-" in name
        or "-." in name
        or _IP_LIKE.match(name)
        or name.startswith(RESERVED_BUCKETS)
    ):
        raise StoreError("InvalidBucketName", "The specified bucket is not valid.", bucket=name)
    return name


def check_key(bucket: str, key: str) -> str:
    """Return `key` if it is a valid object key that maps to a path inside its bucket folder.

    Refused: empty, over 1024 UTF-8 bytes, a leading '/', NUL or other control characters,
    backslashes, empty, '.' or '..' segments (a trailing '/' marks a folder object and is
    allowed), or a segment over 255 bytes.

    Raises:
        StoreError: ``KeyTooLongError`` or ``XMinioInvalidObjectName``.
    """
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_key(bucket, key, "it is not valid UTF-8") from None
    if not key:
        raise _bad_key(bucket, key, "it is empty")
    if len(encoded) > MAX_KEY_BYTES:
        raise StoreError(
            "KeyTooLongError", "Your key is too long (1024 bytes at most).", bucket=bucket
        )
    if _CONTROL.search(key):
        raise _bad_key(bucket, key, "it contains NUL or control characters")
    if "\\" in key:
        raise _bad_key(bucket, key, "it contains a backslash")
    if key.startswith("/"):
        raise _bad_key(bucket, key, "it is absolute (starts with '/')")
    segments = key.split("/")
    if segments[-1] == "":
        segments.pop()  # "folder/" objects
    for segment in segments:
        if segment in ("", ".", ".."):
            raise _bad_key(bucket, key, "it has an empty, '.' or '..' path segment")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise _bad_key(bucket, key, "a path segment is over 255 bytes")
    return key


def _bad_key(bucket: str, key: str, why: str) -> StoreError:
    shown = key.encode("unicode_escape", "replace").decode("ascii")[:200]
    return StoreError(
        "XMinioInvalidObjectName",
        f"Object name {shown!r} is refused: {why}.",
        bucket=bucket,
        key=key if "\x00" not in key else "",
    )
