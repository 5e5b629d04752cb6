"""S3 XML: rendering answers and errors, reading the few XML bodies S3 requests carry."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET

from gcs.web.s3.errors import S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'


def iso(epoch_s: float) -> str:
    """``2024-01-02T03:04:05.000Z``."""
    t = datetime.fromtimestamp(epoch_s, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def http_date(epoch_s: float) -> str:
    """RFC 7231 date for Last-Modified."""
    return email.utils.formatdate(epoch_s, usegmt=True)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def element(name: str, value: Any) -> str:
    """``<name>value</name>`` with the value escaped (bools as true/false).

    Characters XML 1.0 cannot carry (NUL and other controls) become U+FFFD.
    """
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(_NOT_XML.sub(chr(0xFFFD), str(value)))}</{name}>"


def document(root: str, body: Iterable[str]) -> bytes:
    """A complete S3 XML document."""
    return (HEADER + f'<{root} xmlns="{NS}">' + "".join(body) + f"</{root}>").encode("utf-8")


def error_document(code: str, message: str, resource: str, request_id: str, **extra: str) -> bytes:
    """An S3 ``<Error>`` document."""
    parts = [element("Code", code), element("Message", message)]
    parts += [element(k, v) for k, v in extra.items()]
    parts += [element("Resource", resource), element("RequestId", request_id)]
    parts.append(element("HostId", request_id))
    return (HEADER + "<Error>" + "".join(parts) + "</Error>").encode("utf-8")


def url_encoder(encoding_type: str) -> Any:
    """A function encoding key-like values when the client asked ``encoding-type=url``."""
    if encoding_type == "url":
        return lambda s: quote(s, safe="/")
    return lambda s: s


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse(body: bytes, root: str) -> Any:
    """Parse a request XML body whose root element is `root` (namespace ignored).

    Raises:
        S3Error: ``MalformedXML`` (not XML, hostile XML, or another root).
    """
    try:
        tree = SafeET.fromstring(body)
    except Exception as exc:  # defusedxml raises several exception types
        raise S3Error(
            "MalformedXML", "The XML you provided was not well-formed or did not validate."
        ) from exc
    if _local(tree.tag) != root:
        raise S3Error("MalformedXML", f"The XML root element must be {root}.")
    return tree


def _children(node: Any, name: str) -> list[Any]:
    return [c for c in node if _local(c.tag) == name]


def _text(node: Any, name: str) -> str | None:
    found = _children(node, name)
    return (found[0].text or "") if found else None


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    """The (PartNumber, ETag) list of a ``CompleteMultipartUpload`` body.

    Raises:
        S3Error: ``MalformedXML``.
    """
    tree = parse(body, "CompleteMultipartUpload")
    parts: list[tuple[int, str]] = []
    for part in _children(tree, "Part"):
        number, etag = _text(part, "PartNumber"), _text(part, "ETag")
        if number is None or etag is None or not number.strip().isdigit():
            raise S3Error("MalformedXML", "Each Part needs a numeric PartNumber and an ETag.")
        parts.append((int(number), etag.strip()))
    return parts


def parse_complete_checksums(
    body: bytes, elements: dict[str, str]
) -> tuple[list[tuple[int, str]], dict[int, dict[str, str]]]:
    """`parse_complete` plus each part's listed checksums ({number: {algorithm: value}}).

    `elements` maps an algorithm to its element name (``crc32`` -> ``ChecksumCRC32``).

    Raises:
        S3Error: ``MalformedXML``.
    """
    parts = parse_complete(body)
    tree = parse(body, "CompleteMultipartUpload")
    sent: dict[int, dict[str, str]] = {}
    for part, (number, _) in zip(_children(tree, "Part"), parts, strict=True):
        for algorithm, name in elements.items():
            value = _text(part, name)
            if value is not None:
                sent.setdefault(number, {})[algorithm] = value.strip()
    return parts, sent


def parse_delete(body: bytes) -> tuple[list[str], bool]:
    """The keys and the Quiet flag of a ``Delete`` (DeleteObjects) body.

    Raises:
        S3Error: ``MalformedXML`` (also for more than 1000 keys).
    """
    tree = parse(body, "Delete")
    keys: list[str] = []
    for obj in _children(tree, "Object"):
        key = _text(obj, "Key")
        if key is None:
            raise S3Error("MalformedXML", "Each Object needs a Key.")
        keys.append(key)
    if not keys or len(keys) > 1000:
        raise S3Error("MalformedXML", "A Delete request lists between 1 and 1000 objects.")
    quiet = (_text(tree, "Quiet") or "").strip().lower() == "true"
    return keys, quiet
