"""Safe reading of a KMZ (ZIP) archive held in memory.

Theory of operation: a KMZ comes from people and other programs, so it is read as hostile.
Nothing is ever written to disk and entry names are never used as paths, so path entries
(`../x`, `/etc/passwd`, `C:\\x`) cannot escape anywhere; they are still ignored and reported.
Sizes are bounded three ways before and while reading: the archive's own size, the number of
entries, and each entry's unpacked size, checked against the size the entry declares, its
compression ratio, and the bytes actually produced (read in chunks and stopped one byte past the
limit, so a lying header cannot bomb us). A running total bounds the whole archive.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass, field

from gcs.wpml.errors import Finding, KmzError, warning

__all__ = ["KmzArchive", "Limits", "open_kmz"]

_MiB = 1024 * 1024
_TEMPLATE = "template.kml"
_WAYLINES = "waylines.wpml"
_RES_PREFIX = "wpmz/res/"


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits for reading a wayline file. The station passes its own settings.

    Attributes:
        max_file_bytes: the KMZ itself.
        max_entries: entries in the ZIP directory.
        max_entry_bytes: unpacked size of one entry (XML parts and resources).
        max_total_bytes: unpacked size of everything read.
        max_ratio: largest compression ratio accepted for an entry above 1 MiB unpacked.
        max_xml_bytes: one XML part.
        max_xml_elements: elements in one XML part.
        max_xml_depth: nesting depth of one XML part.
        keep_resources: keep the bytes of wpmz/res/ entries (else only their names and sizes).
    """

    max_file_bytes: int = 256 * _MiB
    max_entries: int = 2000
    max_entry_bytes: int = 128 * _MiB
    max_total_bytes: int = 512 * _MiB
    max_ratio: int = 200
    max_xml_bytes: int = 64 * _MiB
    max_xml_elements: int = 1_000_000
    max_xml_depth: int = 64
    keep_resources: bool = True


@dataclass(frozen=True, slots=True)
class ResourceEntry:
    path: str  # path inside the archive, e.g. "wpmz/res/dsm/area.tif"
    size: int
    data: bytes | None


@dataclass(frozen=True, slots=True)
class KmzArchive:
    """The parts of a KMZ that matter, read within limits."""

    waylines: bytes
    template: bytes | None
    waylines_entry: str
    template_entry: str | None
    resources: tuple[ResourceEntry, ...] = ()
    findings: tuple[Finding, ...] = field(default=())


def _declared_entries(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record, before zipfile parses it all."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if pos < 0 or pos + 22 > len(data):
        return None
    count = int.from_bytes(data[pos + 10 : pos + 12], "little")
    return None if count == 0xFFFF else count  # 0xFFFF: ZIP64, zipfile will tell


def _unsafe_name(name: str) -> bool:
    if name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return True
    if len(name) > 1 and name[1] == ":":
        return True
    return any(part == ".." for part in name.split("/"))


def _find(names: list[str], part: str) -> tuple[str | None, bool]:
    """The entry holding `part` (exact `wpmz/part` first) and whether its place is standard."""
    exact = f"wpmz/{part}"
    if exact in names:
        return exact, True
    lowered = {n.lower(): n for n in names}
    if exact in lowered:
        return lowered[exact], False
    for name in names:
        low = name.lower()
        if low == part or low.endswith("/" + part):
            return name, False
    return None, False


class _Reader:
    def __init__(self, zf: zipfile.ZipFile, limits: Limits) -> None:
        self.zf = zf
        self.limits = limits
        self.total = 0

    def read(self, info: zipfile.ZipInfo) -> bytes:
        limits = self.limits
        name = info.filename
        if info.flag_bits & 0x1:
            raise KmzError("encrypted_entry", name, entry=name)
        if info.file_size > limits.max_entry_bytes:
            raise KmzError("zip_entry_too_large", name, entry=name, limit=limits.max_entry_bytes)
        if info.file_size > _MiB and info.file_size > limits.max_ratio * max(1, info.compress_size):
            raise KmzError("zip_ratio_too_high", name, entry=name, limit=limits.max_ratio)
        budget = min(limits.max_entry_bytes, limits.max_total_bytes - self.total)
        chunks: list[bytes] = []
        got = 0
        try:
            with self.zf.open(info) as stream:
                while True:
                    chunk = stream.read(min(_MiB, budget + 1 - got))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    got += len(chunk)
                    if got > budget:
                        if budget < limits.max_entry_bytes:
                            raise KmzError(
                                "zip_total_too_large", name, limit=limits.max_total_bytes
                            )
                        raise KmzError(
                            "zip_entry_too_large", name, entry=name, limit=limits.max_entry_bytes
                        )
                    if got > _MiB and got > limits.max_ratio * max(1, info.compress_size):
                        raise KmzError(
                            "zip_ratio_too_high", name, entry=name, limit=limits.max_ratio
                        )
        except KmzError:
            raise
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            raise KmzError("zip_entry_unreadable", name, entry=name, reason=str(exc)) from exc
        self.total += got
        return b"".join(chunks)


def open_kmz(data: bytes, limits: Limits | None = None) -> KmzArchive:
    """Open KMZ bytes and read template.kml, waylines.wpml and wpmz/res/ within `limits`.

    Returns:
        A `KmzArchive`; non-fatal oddities (path entries, duplicates, odd layout, missing
        template, skipped resources) are in its `findings`.

    Raises:
        KmzError: empty, too large, not a ZIP, too many entries, no waylines.wpml, or an
            entry that is needed but too large, encrypted or damaged.
    """
    limits = limits or Limits()
    if not data:
        raise KmzError("empty_file")
    if len(data) > limits.max_file_bytes:
        raise KmzError("file_too_large", size=len(data), limit=limits.max_file_bytes)
    declared = _declared_entries(data)
    if declared is not None and declared > limits.max_entries:
        raise KmzError("zip_too_many_entries", count=declared, limit=limits.max_entries)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise KmzError("not_zip", reason=str(exc) or type(exc).__name__) from exc
    with zf:
        if len(infos) > limits.max_entries:
            raise KmzError("zip_too_many_entries", count=len(infos), limit=limits.max_entries)
        findings: list[Finding] = []
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if _unsafe_name(name):
                findings.append(warning("unsafe_entry_ignored", name, entry=name))
                continue
            if info.is_dir():
                continue
            if name in by_name:
                findings.append(warning("duplicate_entry", name, entry=name))
            by_name[name] = info
        names = list(by_name)
        reader = _Reader(zf, limits)

        wl_name, wl_standard = _find(names, _WAYLINES)
        if wl_name is None:
            raise KmzError("missing_waylines", "wpmz/waylines.wpml")
        if not wl_standard:
            findings.append(warning("nonstandard_layout", wl_name, part=_WAYLINES, entry=wl_name))
        waylines = reader.read(by_name[wl_name])

        tpl_name, tpl_standard = _find(names, _TEMPLATE)
        template: bytes | None = None
        if tpl_name is None:
            findings.append(warning("missing_template", "wpmz/template.kml"))
        else:
            if not tpl_standard:
                findings.append(
                    warning("nonstandard_layout", tpl_name, part=_TEMPLATE, entry=tpl_name)
                )
            try:
                template = reader.read(by_name[tpl_name])
            except KmzError as exc:  # the aircraft does not need the template: report, go on
                findings.append(exc.finding())
                tpl_name = None

        resources: list[ResourceEntry] = []
        for name in names:
            if not name.lower().startswith(_RES_PREFIX):
                continue
            info = by_name[name]
            if not limits.keep_resources:
                resources.append(ResourceEntry(name, info.file_size, None))
                continue
            try:
                resources.append(ResourceEntry(name, info.file_size, reader.read(info)))
            except KmzError as exc:
                findings.append(
                    warning("resource_skipped", name, entry=name, reason=exc.message_en)
                )
        return KmzArchive(
            waylines=waylines,
            template=template,
            waylines_entry=wl_name,
            template_entry=tpl_name,
            resources=tuple(resources),
            findings=tuple(findings),
        )
