"""A sans-IO decoder of ``aws-chunked`` bodies (bytes in, events out).

Wire format (after any HTTP-level chunking is removed):

    <hex size>[;chunk-signature=<64 hex>]\\r\\n<size bytes>\\r\\n     repeated
    0[;chunk-signature=<64 hex>]\\r\\n                              last chunk
    [<trailer name>:<value>\\r\\n ...]                               trailer modes
    [x-amz-trailer-signature:<64 hex>\\r\\n]                         signed trailer mode
    \\r\\n

The decoder checks framing only; signatures and checksums are the caller's business
(`body.py`). It never buffers more than one header line (4 KiB at most).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINE = 4096
MAX_CHUNK = 1 << 32
_SIZE = re.compile(rb"^[0-9a-fA-F]{1,16}$")
_SIG = re.compile(r"^[0-9a-f]{64}$")


class ChunkFormatError(ValueError):
    """The body is not valid aws-chunked framing; `code` is the S3 error code to answer."""

    def __init__(self, message: str, code: str = "IncompleteBody") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ChunkStart:
    """A chunk header: its size and (signed modes) its signature."""

    size: int
    signature: str | None


@dataclass(frozen=True)
class ChunkData:
    """Bytes of the current chunk (a view into the fed buffer: consume before the next feed)."""

    data: memoryview


@dataclass(frozen=True)
class ChunkEnd:
    """The current chunk's data is complete."""

    size: int
    signature: str | None


@dataclass(frozen=True)
class Trailer:
    """One trailing header (name lowercased)."""

    name: str
    value: str


@dataclass(frozen=True)
class BodyEnd:
    """The body is complete; nothing may follow."""


Event = ChunkStart | ChunkData | ChunkEnd | Trailer | BodyEnd

_HEADER, _DATA, _DATA_CRLF, _TRAILER, _DONE = range(5)


class AwsChunkedDecoder:
    """Incremental aws-chunked decoder.

    Args:
        signed: chunk headers must carry ``chunk-signature``.
        trailer: trailing headers may follow the last chunk.
    """

    def __init__(self, *, signed: bool, trailer: bool) -> None:
        self.signed = signed
        self.trailer = trailer
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._size = 0
        self._signature: str | None = None
        self._crlf_seen = 0

    @property
    def done(self) -> bool:
        """Whether the whole body has been decoded."""
        return self._state == _DONE

    def feed(self, data: bytes | memoryview) -> list[Event]:
        """Decode `data`; returns the events it completes.

        Raises:
            ChunkFormatError: malformed framing or bytes after the end; the decoder is then
                unusable.
        """
        view = memoryview(data)
        events: list[Event] = []
        pos = 0
        end = len(view)
        while pos < end:
            if self._state == _DATA:
                take = min(self._remaining, end - pos)
                events.append(ChunkData(view[pos : pos + take]))
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = _DATA_CRLF
                    self._crlf_seen = 0
            elif self._state == _DATA_CRLF:
                expected = b"\r\n"[self._crlf_seen]
                if view[pos] != expected:
                    raise ChunkFormatError("a chunk's data is not followed by CRLF")
                pos += 1
                self._crlf_seen += 1
                if self._crlf_seen == 2:
                    events.append(ChunkEnd(self._size, self._signature))
                    self._state = _HEADER
            elif self._state == _DONE:
                raise ChunkFormatError("bytes follow the end of the aws-chunked body")
            else:
                line, pos = self._take_line(view, pos, end)
                if line is None:
                    break
                self._on_line(line, events)
        return events

    def _take_line(self, view: memoryview, pos: int, end: int) -> tuple[bytes | None, int]:
        # Find LF; the line may have started in an earlier feed.
        chunk = view[pos:end]
        idx = bytes(chunk[: MAX_LINE + 2]).find(b"\n")
        if idx < 0:
            self._line += chunk
            if len(self._line) > MAX_LINE:
                raise ChunkFormatError("an aws-chunked header line is too long")
            return None, end
        self._line += chunk[:idx]
        line = bytes(self._line)
        self._line.clear()
        if len(line) > MAX_LINE:
            raise ChunkFormatError("an aws-chunked header line is too long")
        if line.endswith(b"\r"):
            line = line[:-1]
        elif self._state == _HEADER:
            raise ChunkFormatError("an aws-chunked header line does not end with CRLF")
        return line, pos + idx + 1

    def _on_line(self, line: bytes, events: list[Event]) -> None:
        if self._state == _HEADER:
            self._on_header(line, events)
            return
        # trailer section
        if not line:
            events.append(BodyEnd())
            self._state = _DONE
            return
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise ChunkFormatError("a trailing header is malformed", "MalformedTrailerError")
        try:
            events.append(Trailer(name.strip().decode("ascii").lower(), value.strip().decode()))
        except UnicodeDecodeError:
            raise ChunkFormatError(
                "a trailing header is not text", "MalformedTrailerError"
            ) from None

    def _on_header(self, line: bytes, events: list[Event]) -> None:
        size_field, _, extensions = line.partition(b";")
        if not _SIZE.match(size_field):
            raise ChunkFormatError("an aws-chunked chunk size is malformed")
        size = int(size_field, 16)
        if size > MAX_CHUNK:
            raise ChunkFormatError("an aws-chunked chunk is too large", "InvalidChunkSizeError")
        signature = None
        for ext in extensions.split(b";") if extensions else []:
            key, _, value = ext.partition(b"=")
            if key.strip() == b"chunk-signature":
                signature = value.strip().decode("ascii", "replace")
        if self.signed and (signature is None or not _SIG.match(signature)):
            raise ChunkFormatError("a chunk lacks a valid chunk-signature", "SignatureDoesNotMatch")
        self._size, self._signature = size, signature
        events.append(ChunkStart(size, signature))
        if size:
            self._remaining = size
            self._state = _DATA
            return
        events.append(ChunkEnd(0, signature))
        # Trailing headers (trailer modes) and the closing empty line follow.
        self._state = _TRAILER
