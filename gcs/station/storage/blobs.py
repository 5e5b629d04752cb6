"""Objects the station itself writes and reads in its object store (wayline files, ...).

Two ways in, one surface (`Blobs`):

* `PresignedBlobs` — over HTTP with URLs presigned by the station's own keys: works the same
  for the embedded store (served by the running station) and an external S3/MinIO.
* `DirectBlobs` — the embedded store's files and meta.db opened in this process, for command-line
  tools when no station is running on the data directory (nothing else may have it open).

Each method raises `BlobError` with a sentence saying what went wrong.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Protocol

import aiohttp

from gcs.station.storage.access import StorageAccess
from gcs.store.objects import ObjectStore, StoreError


class BlobError(Exception):
    """The object store refused or could not be reached."""


class Blobs(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str, max_bytes: int) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    def url(self, key: str, ttl_s: int) -> str: ...


class PresignedBlobs:
    """Objects of the station's bucket over HTTP (see the module docstring)."""

    def __init__(self, access: StorageAccess, *, timeout_s: float = 30.0) -> None:
        self.access = access
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    def url(self, key: str, ttl_s: int, method: str = "GET") -> str:
        return self.access.presign_get(key, ttl_s, method=method)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        url = self.url(key, 300, "PUT")
        md5 = hashlib.md5(data).hexdigest()
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.put(url, data=data, headers={"Content-Type": content_type}) as resp,
            ):
                body = await resp.read()
                if resp.status != 200:
                    raise BlobError(f"the object store refused {key}: {resp.status} {body[:200]!r}")
                if resp.headers.get("ETag", "").strip('"') not in ("", md5):
                    raise BlobError(f"the object store stored other bytes for {key}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BlobError(
                f"the object store at {self.access.endpoint} is unreachable: {exc}"
            ) from exc

    async def get(self, key: str, max_bytes: int) -> bytes:
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.get(self.url(key, 300)) as resp,
            ):
                if resp.status == 404:
                    raise BlobError(f"the object {key} does not exist")
                if resp.status != 200:
                    raise BlobError(f"the object store refused to read {key}: {resp.status}")
                data = await resp.content.read(max_bytes + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BlobError(
                f"the object store at {self.access.endpoint} is unreachable: {exc}"
            ) from exc
        if len(data) > max_bytes:
            raise BlobError(f"the object {key} is larger than {max_bytes} bytes")
        return data

    async def delete(self, key: str) -> None:
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.delete(self.url(key, 300, "DELETE")) as resp,
            ):
                if resp.status not in (200, 204, 404):
                    raise BlobError(f"the object store refused to delete {key}: {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BlobError(
                f"the object store at {self.access.endpoint} is unreachable: {exc}"
            ) from exc


class DirectBlobs:
    """The embedded store opened in this process (command-line tools, no station running)."""

    def __init__(self, data_dir: Path, access: StorageAccess) -> None:
        self.access = access
        self.bucket = access.settings.storage.bucket
        self.store = ObjectStore(data_dir / "objects")
        self.store.open()
        self.store.create_bucket(self.bucket)

    def close(self) -> None:
        self.store.close()

    def url(self, key: str, ttl_s: int) -> str:
        return self.access.presign_get(key, ttl_s)

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        writer = self.store.begin_put(self.bucket, key, expected_size=len(data))
        try:
            writer.write(data)
        except BaseException:
            writer.abort()
            raise
        self.store.commit_put(writer, content_type=content_type, headers={})

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self._put, key, data, content_type
            )
        except (StoreError, OSError) as exc:
            raise BlobError(f"cannot store {key}: {exc}") from exc

    def _get(self, key: str, max_bytes: int) -> bytes:
        row, f = self.store.open_object(self.bucket, key)
        if f is None:
            return b""
        with f:
            if row.size > max_bytes:
                raise BlobError(f"the object {key} is larger than {max_bytes} bytes")
            return f.read()

    async def get(self, key: str, max_bytes: int) -> bytes:
        try:
            return await asyncio.get_running_loop().run_in_executor(None, self._get, key, max_bytes)
        except StoreError as exc:
            raise BlobError(f"cannot read {key}: {exc}") from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self.store.delete, self.bucket, key
            )
        except StoreError as exc:
            raise BlobError(f"cannot delete {key}: {exc}") from exc
