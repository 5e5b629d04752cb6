"""Hardened XML parsing and namespace-agnostic element access for KML/WPML.

Parsing goes through defusedxml with DTDs forbidden, so entity expansion (billion laughs) and
external entities (XXE) are rejected before any expansion happens. The size is checked before
parsing; the element count and nesting depth while parsing (the tree builder stops the parse).

Real exports vary: `xmlns:wpml` is `http://www.dji.com/wpmz/1.0.2` ... `1.0.6`, some tools write
no prefix at all or forget to declare it. Elements are therefore matched on their *local* name
(`{any-namespace}index` and `index` are the same element); namespaces that are neither KML nor a
WPML 1.0.x one are reported, and an undeclared `wpml:` prefix is repaired with a warning.
After parsing, every tag is rewritten to its local name, so kept unknown elements serialize
without namespaces.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree as DET

from gcs.wpml.archive import Limits
from gcs.wpml.errors import Finding, KmzError, warning

__all__ = [
    "KML_NS",
    "WPML_NS",
    "ParsedXml",
    "child",
    "child_text",
    "children",
    "local_name",
    "namespace_of",
    "parse_xml",
]

KML_NS = "http://www.opengis.net/kml/2.2"
WPML_NS = "http://www.dji.com/wpmz/1.0.6"
_WPML_NS_RE = re.compile(r"^http://www\.dji\.com/wpmz/1\.0\.\d+$")
_OTHER_KNOWN = {
    KML_NS,
    "http://earth.google.com/kml/2.2",
    "http://www.google.com/kml/ext/2.2",
    "http://www.w3.org/2005/Atom",
}
_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass(frozen=True, slots=True)
class ParsedXml:
    root: ET.Element
    wpml_namespaces: tuple[str, ...]
    findings: tuple[Finding, ...]


def local_name(tag: object) -> str:
    """`{ns}name` or `prefix:name` or `name` -> `name` ("" for comments and PIs)."""
    if not isinstance(tag, str):
        return ""
    if "}" not in tag and ":" not in tag:
        return tag
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def namespace_of(tag: object) -> str | None:
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return None


# `parse_xml` rewrites every tag to its local name after noting the namespaces, so these
# lookups are ElementTree's own (C) child searches on plain names.


def children(element: ET.Element, name: str) -> list[ET.Element]:
    """Direct children whose local name is `name` (in a tree from `parse_xml`)."""
    return element.findall(name)


def child(element: ET.Element, name: str) -> ET.Element | None:
    """First direct child whose local name is `name`, or None (in a tree from `parse_xml`)."""
    return element.find(name)


def child_text(element: ET.Element, name: str) -> str | None:
    """Stripped text of the first child named `name`; None if absent, "" if empty."""
    c = child(element, name)
    if c is None:
        return None
    return (c.text or "").strip()


class _TooComplex(Exception):
    pass


class _BoundedBuilder(ET.TreeBuilder):
    """Tree builder that stops the parse as soon as the element count or depth is too high,
    before a hostile file can fill memory with millions of tiny elements."""

    def __init__(self, max_elements: int, max_depth: int) -> None:
        super().__init__()
        self.count = 0
        self.depth = 0
        self.max_elements = max_elements
        self.max_depth = max_depth

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self.count += 1
        self.depth += 1
        if self.count > self.max_elements or self.depth > self.max_depth:
            raise _TooComplex
        return super().start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self.depth -= 1
        return super().end(tag)


def _parse(data: bytes, part: str, limits: Limits) -> ET.Element:
    builder = _BoundedBuilder(limits.max_xml_elements, limits.max_xml_depth)
    parser = DET.DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        root: ET.Element = parser.close()
    except defusedxml.DefusedXmlException as exc:
        raise KmzError("xml_forbidden", part, part=part) from exc
    except _TooComplex as exc:
        raise KmzError(
            "xml_too_complex",
            part,
            part=part,
            limit=limits.max_xml_elements,
            depth=limits.max_xml_depth,
        ) from exc
    return root


def parse_xml(data: bytes, part: str, limits: Limits | None = None) -> ParsedXml:
    """Parse one KML/WPML part safely.

    Args:
        data: the raw bytes of the part.
        part: its name for messages ("template.kml" or "waylines.wpml").
        limits: size limits; defaults to `Limits()`.

    Returns:
        The root element, the WPML namespaces seen, and warnings (odd encoding or namespaces).

    Raises:
        KmzError: too large, not well-formed, DTD/entities present, too complex, or not KML.
    """
    limits = limits or Limits()
    findings: list[Finding] = []
    if len(data) > limits.max_xml_bytes:
        raise KmzError("xml_too_large", part, part=part, size=len(data), limit=limits.max_xml_bytes)
    match = _ENCODING_RE.match(data[:300])
    if match:
        encoding = match.group(1).decode("ascii").lower()
        if encoding.replace("-", "").replace("_", "") != "utf8":
            findings.append(warning("not_utf8", part, part=part, encoding=encoding))
    try:
        root = _parse(data, part, limits)
    except ET.ParseError as exc:
        repaired = None
        if "unbound prefix" in str(exc) and b"xmlns:wpml" not in data:
            repaired = re.sub(
                rb"<kml\b", b'<kml xmlns:wpml="' + WPML_NS.encode() + b'"', data, count=1
            )
        if repaired is None or repaired == data:
            raise KmzError("xml_broken", part, part=part, reason=str(exc)) from exc
        try:
            root = _parse(repaired, part, limits)
        except ET.ParseError as exc2:
            raise KmzError("xml_broken", part, part=part, reason=str(exc2)) from exc2
        findings.append(warning("namespace_undeclared", part, part=part))
    if local_name(root.tag) != "kml":
        raise KmzError("not_kml", part, part=part, root=local_name(root.tag) or "?")
    seen: set[str] = set()
    wpml: list[str] = []
    names: dict[str, str] = {}
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        plain = names.get(tag)
        if plain is None:
            plain = names[tag] = local_name(tag)
            ns = namespace_of(tag)
            if ns is not None and ns not in seen:
                seen.add(ns)
                if _WPML_NS_RE.match(ns):
                    wpml.append(ns)
                elif ns not in _OTHER_KNOWN:
                    findings.append(warning("namespace_unknown", part, part=part, namespace=ns))
        element.tag = plain
    return ParsedXml(root, tuple(wpml), tuple(findings))
