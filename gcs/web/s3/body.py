"""Receiving a request body: decode aws-chunked framing, verify, hash, hand bytes to a sink.

Theory of operation. The event loop only reads from the socket: it gathers about 1 MiB and
passes it to `BodyProcessor.feed` in an executor thread, then reads the next batch while that
one is hashed and written (one batch in flight, so memory stays flat whatever the object size).
`feed` decodes framing (`chunked.py`), checks each chunk signature as its chunk completes, feeds
SHA-256 / checksums as the payload mode asks, and calls the sink (the store's writer). `finish`
runs the end-of-body checks: framing complete, decoded length, payload hash, Content-MD5,
``x-amz-checksum-*`` from a header or a trailer, the trailer signature. Any failure raises
`S3Error`; the caller then aborts the writer, so nothing partial becomes visible.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from aiohttp import StreamReader

from gcs.station.storage import sigv4
from gcs.web.s3 import checksums
from gcs.web.s3.auth import CHUNKED_SIGNED_TRAILER, Payload
from gcs.web.s3.chunked import (
    AwsChunkedDecoder,
    BodyEnd,
    ChunkData,
    ChunkEnd,
    ChunkFormatError,
    ChunkStart,
    Trailer,
)
from gcs.web.s3.errors import S3Error

BATCH_BYTES = 1 << 20
TRAILER_SIGNATURE = "x-amz-trailer-signature"
Sink = Callable[[memoryview], None]


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise S3Error("InvalidDigest", f"The {what} you specified is not valid base64.") from None


class BodyProcessor:
    """Decode and verify one request body (blocking; runs in an executor thread).

    Args:
        payload: how the body is protected (from `auth.verify`).
        sink: receives the decoded payload bytes in order (a view: copy to keep).
        content_md5: the Content-MD5 header, if sent.
        md5_of_sink: returns the MD5 the sink computed (saves hashing twice); None = compute.
        checksum_headers: {algorithm: base64 value} from ``x-amz-checksum-<alg>`` headers.
        trailer_names: the names announced in ``x-amz-trailer``.
        decoded_length: the announced payload length (``x-amz-decoded-content-length`` or
            Content-Length), if any.
    """

    def __init__(
        self,
        payload: Payload,
        sink: Sink,
        *,
        content_md5: str | None = None,
        md5_of_sink: Callable[[], bytes] | None = None,
        checksum_headers: dict[str, str] | None = None,
        trailer_names: list[str] | None = None,
        decoded_length: int | None = None,
    ) -> None:
        self.payload = payload
        self._sink = sink
        self.size = 0
        self._decoded_length = decoded_length
        self._decoder = (
            AwsChunkedDecoder(signed=payload.signed_chunks, trailer=payload.trailer)
            if payload.chunked
            else None
        )
        self._sha256 = hashlib.sha256() if payload.sha256 else None
        self._content_md5 = _b64(content_md5, "Content-MD5") if content_md5 is not None else None
        if self._content_md5 is not None and len(self._content_md5) != 16:
            raise S3Error("InvalidDigest", "The Content-MD5 you specified is not valid.")
        self._md5_of_sink = md5_of_sink
        self._md5 = hashlib.md5() if content_md5 is not None and md5_of_sink is None else None
        self._expected: dict[str, str] = dict(checksum_headers or {})
        self._trailer_names = [n.strip().lower() for n in trailer_names or [] if n.strip()]
        self._checksums: dict[str, checksums.Checksum] = {}
        for name in [*self._expected, *self._trailer_names]:
            algorithm = name.removeprefix("x-amz-checksum-")
            if algorithm not in checksums.ALGORITHMS:
                raise S3Error("InvalidRequest", f"Unsupported checksum {name!r}.")
            self._checksums[algorithm] = checksums.new(algorithm)
        self._chunk_hash: Any = None
        self._previous = payload.seed_signature
        self._trailers: list[tuple[str, str]] = []
        self._trailer_signed = False

    # --- streaming ----------------------------------------------------------------------

    def feed_all(self, pieces: list[bytes]) -> None:
        """`feed` each of `pieces` in order (one executor hop for a whole batch)."""
        for raw in pieces:
            self.feed(raw)

    def feed(self, raw: bytes) -> None:
        """Process the next bytes of the raw body.

        Raises:
            S3Error: framing, signature, size or storage error.
        """
        if self._decoder is None:
            self._data(memoryview(raw))
            return
        try:
            events = self._decoder.feed(raw)
        except ChunkFormatError as exc:
            raise S3Error(exc.code, str(exc)) from None
        for event in events:
            if isinstance(event, ChunkData):
                if self._chunk_hash is not None:
                    self._chunk_hash.update(event.data)
                self._data(event.data)
            elif isinstance(event, ChunkStart):
                if self.payload.signed_chunks:
                    self._chunk_hash = hashlib.sha256()
            elif isinstance(event, ChunkEnd):
                self._chunk_end(event)
            elif isinstance(event, Trailer):
                self._trailer(event)
            elif isinstance(event, BodyEnd):
                pass

    def _data(self, view: memoryview) -> None:
        self.size += len(view)
        if self._decoded_length is not None and self.size > self._decoded_length:
            raise S3Error("IncompleteBody", "The body is longer than announced.")
        if self._sha256 is not None:
            self._sha256.update(view)
        if self._md5 is not None:
            self._md5.update(view)
        for checksum in self._checksums.values():
            checksum.update(view)
        self._sink(view)

    def _chunk_end(self, event: ChunkEnd) -> None:
        if not self.payload.signed_chunks:
            return
        digest = self._chunk_hash.hexdigest() if event.size else sigv4.EMPTY_SHA256
        string_to_sign = sigv4.chunk_string_to_sign(
            self.payload.amz_date, self.payload.scope, self._previous, digest
        )
        expected = sigv4.sign(self.payload.key, string_to_sign)
        if event.signature is None or not sigv4.constant_time_equal(expected, event.signature):
            raise S3Error(
                "SignatureDoesNotMatch",
                "A chunk signature does not match: the body was altered or signed with "
                "another key.",
            )
        self._previous = expected
        self._chunk_hash = None

    def _trailer(self, event: Trailer) -> None:
        if not self.payload.trailer:
            raise S3Error("MalformedTrailerError", "Trailing headers were not announced.")
        if event.name != TRAILER_SIGNATURE:
            if self._trailer_signed:
                raise S3Error("MalformedTrailerError", "A trailer follows the trailer signature.")
            self._trailers.append((event.name, event.value))
            return
        if not self.payload.signed_chunks:
            return  # unsigned trailer mode: a signature has nothing to chain from
        string_to_sign = sigv4.trailer_string_to_sign(
            self.payload.amz_date,
            self.payload.scope,
            self._previous,
            sigv4.canonical_trailer(self._trailers),
        )
        expected = sigv4.sign(self.payload.key, string_to_sign)
        if not sigv4.constant_time_equal(expected, event.value):
            raise S3Error("SignatureDoesNotMatch", "The trailer signature does not match.")
        self._trailer_signed = True

    # --- end ----------------------------------------------------------------------------

    def finish(self) -> None:
        """Run the end-of-body checks.

        Raises:
            S3Error: ``IncompleteBody``, ``XAmzContentSHA256Mismatch``, ``BadDigest``,
                ``MalformedTrailerError`` or ``SignatureDoesNotMatch``.
        """
        if self._decoder is not None and not self._decoder.done:
            raise S3Error("IncompleteBody", "The aws-chunked body ended before its last chunk.")
        if self._decoded_length is not None and self.size != self._decoded_length:
            raise S3Error(
                "IncompleteBody",
                f"You did not provide the number of bytes announced ({self.size} of "
                f"{self._decoded_length}).",
            )
        if self._sha256 is not None and self._sha256.hexdigest() != self.payload.sha256:
            raise S3Error(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        if self._content_md5 is not None:
            md5 = self._md5.digest() if self._md5 is not None else self._md5_of_sink()  # type: ignore[misc]
            if md5 != self._content_md5:
                raise S3Error(
                    "BadDigest", "The Content-MD5 you specified did not match what we received."
                )
        if self.payload.mode == CHUNKED_SIGNED_TRAILER and self._trailers:
            if not self._trailer_signed:
                raise S3Error("SignatureDoesNotMatch", "The trailer signature is missing.")
        trailers = dict(self._trailers)
        for name in self._trailer_names:
            if name not in trailers:
                raise S3Error("MalformedTrailerError", f"The announced trailer {name} is missing.")
        expected = {**{f"x-amz-checksum-{a}": v for a, v in self._expected.items()}, **trailers}
        for name, value in expected.items():
            algorithm = name.removeprefix("x-amz-checksum-")
            checksum = self._checksums.get(algorithm)
            if checksum is None:
                continue
            if checksum.b64() != value.strip():
                raise S3Error(
                    "BadDigest",
                    f"The {algorithm.upper()} you specified did not match the calculated checksum.",
                )

    def checksum_values(self) -> dict[str, str]:
        """The computed checksums, as ``x-amz-checksum-<alg>`` headers (after `finish`)."""
        return {f"x-amz-checksum-{a}": c.b64() for a, c in self._checksums.items()}


class Md5Side:
    """MD5 of a raw (not aws-chunked) body, computed beside `BodyProcessor` in another thread.

    The ETag is the MD5 of the payload; hashing it in parallel with SHA-256, checksums and the
    disk write roughly halves the time a batch spends in the executor.
    """

    def __init__(self) -> None:
        self._md5 = hashlib.md5()

    def feed_all(self, pieces: list[bytes]) -> None:
        """Hash the next batch."""
        for piece in pieces:
            self._md5.update(piece)

    def digest(self) -> bytes:
        """The MD5 so far."""
        return self._md5.digest()


async def _settle(futures: list[asyncio.Future[None]]) -> None:
    """Wait for every future; then raise the first error, if any (all are retrieved)."""
    if not futures:
        return
    await asyncio.wait(futures)
    errors = [f.exception() for f in futures if not f.cancelled()]
    for error in errors:
        if error is not None:
            raise error


async def pump(
    content: StreamReader,
    processor: BodyProcessor,
    executor: Executor | None,
    *,
    side: Md5Side | None = None,
) -> None:
    """Stream the request body through `processor` (one batch in flight), then `finish` it.

    With `side`, each batch is also hashed by it in a second executor thread, in parallel.

    Raises:
        S3Error: from the processor, or ``IncompleteBody`` if the client went away.
    """
    loop = asyncio.get_running_loop()
    pending: list[asyncio.Future[None]] = []
    parts: list[bytes] = []
    size = 0

    def submit(batch: list[bytes]) -> list[asyncio.Future[None]]:
        jobs = [loop.run_in_executor(executor, processor.feed_all, batch)]
        if side is not None:
            jobs.append(loop.run_in_executor(executor, side.feed_all, batch))
        return jobs

    try:
        while True:
            try:
                data = await content.readany()
            except Exception as exc:  # connection reset, bad HTTP chunking, ...
                raise S3Error(
                    "IncompleteBody", "The connection closed before the whole body arrived."
                ) from exc
            if not data:
                break
            parts.append(data)
            size += len(data)
            if size >= BATCH_BYTES:
                batch, parts, size = parts, [], 0
                done, pending = pending, []
                await _settle(done)
                pending = submit(batch)
        done, pending = pending, []
        await _settle(done)
        if parts:
            await _settle(submit(parts))
        await loop.run_in_executor(executor, processor.finish)
    finally:
        if pending:
            # A batch in flight still writes: let it end before the caller aborts the writer.
            await asyncio.wait(pending)
            for future in pending:
                if not future.cancelled():
                    future.exception()  # retrieved: the first error is the one reported
