"""Malformed and hostile KMZ files give documented errors and never hang or crash."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wpml_kmz import kmz, template_xml, waylines_xml, zip_bytes

from gcs.wpml import KmzError, Limits, inspect_kmz, read_kmz


def _error(data: bytes, limits: Limits | None = None) -> KmzError:
    with pytest.raises(KmzError) as info:
        read_kmz(data, limits=limits)
    err = info.value
    assert err.message_en and err.message_zh and err.message_en != err.message_zh
    assert f"[{err.code}]" in str(err)
    return err


def test_empty_and_random_bytes() -> None:
    assert _error(b"").code == "empty_file"
    assert _error(b"hello, not a zip").code == "not_zip"
    assert _error(b"PK\x03\x04" + b"\x00" * 100).code == "not_zip"


def test_file_size_limit() -> None:
    data = kmz()
    assert _error(data, Limits(max_file_bytes=len(data) - 1)).code == "file_too_large"


def test_every_truncation_fails_cleanly() -> None:
    data = kmz()
    codes = set()
    for cut in range(0, len(data), 7):
        try:
            read_kmz(data[:cut])
        except KmzError as exc:
            codes.add(exc.code)
        else:  # pragma: no cover - a cut ZIP must never read as a route
            pytest.fail(f"truncated at {cut} bytes but read")
    assert codes <= {
        "empty_file",
        "not_zip",
        "missing_waylines",
        "zip_entry_unreadable",
        "xml_broken",
    }
    assert "not_zip" in codes


def test_corrupted_entry_data_is_reported() -> None:
    data = bytearray(kmz(template=None))
    start = data.index(b"wpmz/waylines.wpml") + len("wpmz/waylines.wpml")
    for i in range(start + 10, start + 60):
        data[i] ^= 0x5A
    err = _error(bytes(data))
    assert err.code in ("zip_entry_unreadable", "xml_broken")


def test_missing_waylines() -> None:
    err = _error(zip_bytes([("wpmz/template.kml", template_xml())]))
    assert err.code == "missing_waylines"
    assert err.element == "wpmz/waylines.wpml"
    assert "waylines.wpml" in err.message_zh


def test_zip_bomb_by_declared_size() -> None:
    big = b"\0" * (4 * 1024 * 1024)  # 4 MiB of zeros deflates to ~4 KiB
    data = kmz(waylines_xml() + "<!--" + "x" * 10 + "-->", None, extra=[("wpmz/res/bomb.bin", big)])
    route = read_kmz(data, limits=Limits(max_entry_bytes=1024 * 1024))
    assert route.resources == ()
    assert [f.code for f in route.findings if f.code == "resource_skipped"] == ["resource_skipped"]
    bomb = zip_bytes([("wpmz/waylines.wpml", b"<kml>" + big + b"</kml>")])
    err = _error(bomb, Limits(max_entry_bytes=1024 * 1024))
    assert err.code == "zip_entry_too_large"


def test_zip_bomb_by_ratio() -> None:
    body = waylines_xml().encode() + b"<!--" + b" " * (3 * 1024 * 1024) + b"-->"
    data = zip_bytes([("wpmz/waylines.wpml", body)])
    assert _error(data).code == "zip_ratio_too_high"
    route = read_kmz(data, limits=Limits(max_ratio=100_000))
    assert len(route.waylines[0].waypoints) == 3


def _lying_zip(real: bytes, declared_size: int) -> bytes:
    """A ZIP whose headers claim `declared_size` unpacked bytes for an entry of `real`."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = comp.compress(real) + comp.flush()
    name = b"wpmz/waylines.wpml"
    crc = zlib.crc32(real)
    local = (
        struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            8,
            0,
            0x21,
            crc,
            len(packed),
            declared_size,
            len(name),
            0,
        )
        + name
    )
    central = (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            0,
            0x21,
            crc,
            len(packed),
            declared_size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            0,
        )
        + name
    )
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(packed), 0
    )
    return local + packed + central + end


def test_zip_bomb_with_lying_header_is_stopped_while_reading() -> None:
    real = b"<kml>" + b"\0" * (3 * 1024 * 1024) + b"</kml>"
    data = _lying_zip(real, declared_size=1000)
    started = time.monotonic()
    err = _error(data, Limits(max_entry_bytes=1024 * 1024, max_ratio=10**9))
    assert err.code in ("zip_entry_too_large", "zip_entry_unreadable")
    assert time.monotonic() - started < 5


def test_total_size_limit() -> None:
    chunk = bytes(range(256)) * 2048  # 512 KiB, barely compressible
    data = kmz(extra=[(f"wpmz/res/{i}.bin", chunk) for i in range(6)])
    route = read_kmz(data, limits=Limits(max_total_bytes=2 * 1024 * 1024))
    assert 0 < len(route.resources) < 6
    assert any(f.code == "resource_skipped" for f in route.findings)


def test_too_many_entries() -> None:
    data = kmz(extra=[(f"wpmz/res/{i}", b"") for i in range(30)])
    assert _error(data, Limits(max_entries=10)).code == "zip_too_many_entries"


@pytest.mark.parametrize(
    "name",
    [
        "../evil.wpml",
        "/etc/passwd",
        "C:/x/waylines.wpml",
        "..\\waylines.wpml",
        "wpmz/../../waylines.wpml",
    ],
)
def test_path_entries_are_ignored(name: str) -> None:
    data = kmz(extra=[(name, b"<kml/>")])
    route = read_kmz(data)
    assert len(route.waylines[0].waypoints) == 3
    ignored = [f for f in route.findings if f.code == "unsafe_entry_ignored"]
    assert len(ignored) == 1 and ignored[0].element == name


def test_path_entry_is_not_taken_for_the_waylines() -> None:
    data = zip_bytes([("../wpmz/waylines.wpml", waylines_xml())])
    assert _error(data).code == "missing_waylines"


def test_duplicate_entries_are_reported() -> None:
    with pytest.warns(UserWarning):  # zipfile warns about the duplicate name itself
        data = kmz(extra=[("wpmz/waylines.wpml", waylines_xml())])
    route = read_kmz(data)
    assert "duplicate_entry" in {f.code for f in route.findings}


def test_encrypted_entry() -> None:
    data = bytearray(kmz(template=None))
    # set the "encrypted" flag bit in the local and central headers
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        pos = data.index(sig)
        flag_at = pos + (6 if sig == b"PK\x03\x04" else 8)
        data[flag_at] |= 0x01
    assert _error(bytes(data)).code == "encrypted_entry"


# --------------------------------------------------------------------------- XML attacks

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<kml><Document><name>&xxe;</name></Document></kml>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<kml><Document><name>&lol9;</name></Document></kml>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE kml SYSTEM "http://127.0.0.1:9/evil.dtd">
<kml><Document/></kml>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x"> %p;]>
<kml><Document/></kml>"""


@pytest.mark.parametrize(
    "payload",
    [XXE, LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity"],
)
@pytest.mark.parametrize("part", ["waylines", "template"])
def test_entities_and_dtds_are_rejected(payload: bytes, part: str) -> None:
    if part == "waylines":
        data = zip_bytes([("wpmz/waylines.wpml", payload)])
    else:
        data = zip_bytes([("wpmz/template.kml", payload), ("wpmz/waylines.wpml", waylines_xml())])
    started = time.monotonic()
    err = _error(data)
    assert err.code == "xml_forbidden"
    assert err.element == f"{'waylines.wpml' if part == 'waylines' else 'template.kml'}"
    assert time.monotonic() - started < 2


def test_broken_xml() -> None:
    err = _error(kmz(waylines_xml()[:-30]))
    assert err.code == "xml_broken" and "waylines.wpml" in err.message_en
    err = _error(kmz(waylines_xml(), "<kml><Document><Folder></kml>"))
    assert err.code == "xml_broken" and err.element == "template.kml"


def test_wrong_root_and_no_document() -> None:
    assert _error(kmz("<html><body/></html>", None)).code == "not_kml"
    assert _error(kmz("<kml><Folder/></kml>", None)).code == "no_document"


def test_deep_nesting_is_refused() -> None:
    deep = "<kml><Document>" + "<a>" * 5000 + "</a>" * 5000 + "</Document></kml>"
    assert _error(kmz(deep, None)).code == "xml_too_complex"


def test_element_count_limit() -> None:
    err = _error(kmz(), Limits(max_xml_elements=20))
    assert err.code == "xml_too_complex"


def test_xml_size_limit() -> None:
    assert _error(kmz(), Limits(max_xml_bytes=100)).code == "xml_too_large"


def test_non_utf8_declaration_is_a_warning() -> None:
    xml = waylines_xml().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    route = read_kmz(kmz(xml, None))
    assert "not_utf8" in {f.code for f in route.findings}


def test_inspect_never_raises_for_bad_content() -> None:
    inspection = inspect_kmz(b"garbage")
    assert inspection.route is None and not inspection.usable
    assert [f.code for f in inspection.findings] == ["not_zip"]
    assert inspection.to_dict()["findings"][0]["severity"] == "error"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    with pytest.raises(KmzError):
        read_kmz(data)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_fuzz_mutated_kmz(data: st.DataObject) -> None:
    original = bytearray(kmz())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    inspection = inspect_kmz(bytes(original))  # must not raise, whatever was damaged
    assert inspection.usable == (
        inspection.route is not None and not any(f.is_error for f in inspection.findings)
    )


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_xml_text(text: str) -> None:
    data = zip_bytes([("wpmz/waylines.wpml", text)])
    try:
        read_kmz(data)
    except KmzError:
        pass


def test_zipfile_stored_entries_work() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("wpmz/waylines.wpml", waylines_xml())
    route = read_kmz(buffer.getvalue())
    assert len(route.waylines[0].waypoints) == 3


VALUES = [
    "",
    "abc",
    "nan",
    "inf",
    "-1",
    "0",
    "1e308",
    "-1e308",
    "99999999999999999999",
    "1.5",
    "-200",
    "1,2",
    ",",
    "1,2,3,4",
    " ",
    "true",
    "😀",
    "-0",
    "65536",
]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fuzz_element_values_and_structure(data: st.DataObject) -> None:
    """Change values, drop and duplicate elements of a valid file: never an unexpected error."""
    import xml.etree.ElementTree as ET

    from gcs.wpml import write_kmz

    entries = []
    for name, text in (
        ("wpmz/template.kml", template_xml()),
        ("wpmz/waylines.wpml", waylines_xml()),
    ):
        root = ET.fromstring(text)
        elements = [(parent, c) for parent in root.iter() for c in parent]
        for _ in range(data.draw(st.integers(1, 6))):
            parent, element = elements[data.draw(st.integers(0, len(elements) - 1))]
            op = data.draw(st.sampled_from(["value", "drop", "copy"]))
            if op == "value":
                element.text = data.draw(st.sampled_from(VALUES))
            elif op == "drop" and element in list(parent):
                parent.remove(element)
            elif op == "copy":
                parent.append(ET.fromstring(ET.tostring(element)))
        entries.append((name, ET.tostring(root)))
    inspection = inspect_kmz(zip_bytes(entries))
    inspection.to_dict()
    if inspection.route is not None:
        try:
            inspect_kmz(write_kmz(inspection.route))
        except ValueError:
            pass  # a route that cannot be rewritten says so
