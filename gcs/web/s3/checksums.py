"""The ``x-amz-checksum-*`` algorithms: CRC32, CRC32C, CRC64NVME, SHA1, SHA256.

Values travel base64-encoded (big-endian for the CRCs). CRC32, SHA1 and SHA256 run in C;
CRC32C and CRC64NVME are table-driven Python (correct, but slow: a few MB/s), used only when
a client picks them (botocore's default is CRC32).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol


class Checksum(Protocol):
    """An incremental checksum."""

    def update(self, data: bytes | memoryview) -> None: ...

    def b64(self) -> str: ...


class _Crc32:
    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = zlib.crc32(data, self._value)

    def b64(self) -> str:
        return base64.b64encode(self._value.to_bytes(4, "big")).decode()


def _table(poly: int) -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _table(0x82F63B78)
_CRC64NVME_TABLE = _table(0x9A6C9329AC4BC9B5)


class _TableCrc:
    def __init__(self, table: list[int], width: int) -> None:
        self._table = table
        self._width = width
        self._mask = (1 << (8 * width)) - 1
        self._value = self._mask

    def update(self, data: bytes | memoryview) -> None:
        table, value = self._table, self._value
        for byte in bytes(data):
            value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
        self._value = value

    def b64(self) -> str:
        return base64.b64encode((self._value ^ self._mask).to_bytes(self._width, "big")).decode()


class _Hash:
    def __init__(self, name: str) -> None:
        self._h = hashlib.new(name)

    def update(self, data: bytes | memoryview) -> None:
        self._h.update(data)

    def b64(self) -> str:
        return base64.b64encode(self._h.digest()).decode()


ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")


def new(algorithm: str) -> Checksum:
    """A fresh checksum for `algorithm` (one of `ALGORITHMS`, lowercase).

    Raises:
        KeyError: unknown algorithm.
    """
    if algorithm == "crc32":
        return _Crc32()
    if algorithm == "crc32c":
        return _TableCrc(_CRC32C_TABLE, 4)
    if algorithm == "crc64nvme":
        return _TableCrc(_CRC64NVME_TABLE, 8)
    if algorithm in ("sha1", "sha256"):
        return _Hash(algorithm)
    raise KeyError(algorithm)
