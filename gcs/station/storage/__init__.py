"""The station's object storage: who may upload where, and what devices are told (DJI STS).

Public surface:
    StorageAccess      credentials (mint, lookup), endpoint, `presign_get(key, ttl)`.
    sts_grant(...)     an `StsGrant` for a device or Pilot, embedded or external store.
    StsGrant.to_dji()  the DJI STS object (`storage_config_get`, Pilot's /sts).
    open_access(...)   a `StorageAccess` over `<data_dir>/objects/meta.db`.
    StorageAccess.usage()  a `StoreUsage`: what the embedded store holds on disk (blocking).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from gcs.station.storage import external
from gcs.station.storage.access import (
    PROVIDER,
    Principal,
    Scope,
    ScopeError,
    StorageAccess,
    StsGrant,
    TemporaryCredentials,
    amz_date,
    derive_secret,
    normalise_prefix,
)
from gcs.station.storage.external import ExternalStoreError
from gcs.store.objects.credentials import CredentialTable
from gcs.store.objects.meta import StoreUsage
from gcs.store.settings import Settings

__all__ = [
    "PROVIDER",
    "ExternalStoreError",
    "Principal",
    "Scope",
    "ScopeError",
    "StorageAccess",
    "StoreUsage",
    "StsGrant",
    "TemporaryCredentials",
    "amz_date",
    "derive_secret",
    "normalise_prefix",
    "open_access",
    "sts_grant",
]


def open_access(
    settings: Settings, data_dir: Path, *, endpoint: str | None = None
) -> StorageAccess:
    """A `StorageAccess` whose credentials live in `<data_dir>/objects/meta.db` (blocking)."""
    return StorageAccess(settings, CredentialTable(data_dir / "objects"), endpoint=endpoint)


async def sts_grant(
    access: StorageAccess,
    *,
    prefix: str = "",
    ttl_s: int | None = None,
    read_only: bool = False,
    session: aiohttp.ClientSession | None = None,
) -> StsGrant:
    """Temporary upload credentials for a device or Pilot, as an `StsGrant`.

    Embedded store: minted locally (in an executor). External store: MinIO/AWS `AssumeRole`
    with a policy limited to the bucket and prefix; if `storage.external_assume_role` is off,
    the long-lived external keys themselves (no session token).

    Raises:
        ScopeError: a bad prefix or TTL.
        ExternalStoreError: the external store refused or is unreachable.
    """
    if not access.external:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: access.grant(prefix=prefix, ttl_s=ttl_s, read_only=read_only)
        )
    settings = access.settings.storage
    ttl = settings.sts_ttl_s if ttl_s is None else ttl_s
    folder = normalise_prefix(prefix)
    if not settings.external_assume_role:
        return StsGrant(
            bucket=settings.bucket,
            access_key=settings.external_access_key,
            secret=settings.external_secret_key,
            session_token="",
            expire_s=ttl,
            expires=time.time() + ttl,
            endpoint=access.endpoint,
            object_key_prefix=folder,
            region=settings.region,
        )
    request = external.build_assume_role(
        endpoint=settings.external_endpoint,
        access_key=settings.external_access_key,
        secret=settings.external_secret_key,
        region=settings.region,
        duration_s=max(900, ttl),
        policy=external.scope_policy(settings.bucket, folder, writable=not read_only),
        amz_date=amz_date(time.time()),
        role_arn=settings.external_role_arn,
    )
    creds = await external.assume_role(request, session=session)
    return StsGrant(
        bucket=settings.bucket,
        access_key=creds.access_key,
        secret=creds.secret,
        session_token=creds.session_token,
        expire_s=max(0, int(creds.expires - time.time())),
        expires=creds.expires,
        endpoint=access.endpoint,
        object_key_prefix=folder,
        region=settings.region,
    )
