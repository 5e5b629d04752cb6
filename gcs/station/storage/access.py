"""Who may use the object store, and the credentials devices are handed (DJI STS objects).

Temporary credentials. `mint()` creates an access key id, a secret and a session token with
an expiry and a scope (bucket + key prefix, read or read/write). The secret is not stored: it
is an HMAC of the access key id under `storage.credential_key` from gcs.toml, recomputed when a
request arrives; the session token is stored only as its SHA-256. A copy of meta.db therefore
gives nobody a usable credential. The station's own long-lived key pair (`storage.access_key`
/ `secret_key`) has no scope limit; it signs presigned GET URLs for other station modules.

Scope rule: a prefix is a folder. Prefix ``media/ws1`` admits keys ``media/ws1/...`` (and the
key ``media/ws1`` itself), not ``media/ws10/...``, for reads, writes and listings alike (a
listing of ``media/ws1`` shows only that folder). The empty prefix admits the whole bucket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gcs.station import netinfo
from gcs.station.storage import sigv4
from gcs.store.objects.credentials import CredentialTable
from gcs.store.objects.meta import CredentialRow, StoreUsage
from gcs.store.settings import Settings

TEMP_KEY_PREFIX = "GT"
MIN_TTL_S = 60
MAX_TTL_S = 7 * 24 * 3600
PROVIDER = "minio"


class ScopeError(ValueError):
    """A credential was asked for with an unusable scope (bad prefix or TTL)."""


@dataclass(frozen=True)
class Scope:
    """What a credential may touch: one bucket, keys under a prefix, read or read/write."""

    bucket: str
    prefix: str
    writable: bool

    def covers_key(self, bucket: str, key: str) -> bool:
        """Whether `key` in `bucket` lies inside this scope."""
        if bucket != self.bucket:
            return False
        if not self.prefix:
            return True
        folder = self.prefix if self.prefix.endswith("/") else self.prefix + "/"
        return key.startswith(folder) or key == self.prefix.rstrip("/")

    def covers_listing(self, bucket: str, prefix: str) -> bool:
        """Whether listing `prefix` in `bucket` stays inside this scope."""
        if bucket != self.bucket:
            return False
        if not self.prefix:
            return True
        folder = self.prefix if self.prefix.endswith("/") else self.prefix + "/"
        return prefix.startswith(folder) or prefix == self.prefix

    def listing_folder(self, prefix: str) -> str | None:
        """The folder (``prefix/``) a listing of `prefix` must be confined to, or None.

        Listing the scope's own name without its slash (``siteA``) is allowed but matches
        ``siteA10/...`` and ``siteAB/...`` too: such a listing shows only the folder
        ``siteA/`` (and a key ``siteA`` itself).
        """
        if not self.prefix:
            return None
        folder = self.prefix if self.prefix.endswith("/") else self.prefix + "/"
        return None if prefix.startswith(folder) else folder


@dataclass(frozen=True)
class Principal:
    """A known access key: its secret, and for temporary ones the token hash, scope, expiry.

    `scope` None means the station itself (every bucket, every key, every operation).
    """

    access_key: str
    secret: str
    token_sha256: str | None = None
    scope: Scope | None = None
    expires: float | None = None

    @property
    def is_station(self) -> bool:
        """Whether this is the station's own unrestricted key."""
        return self.scope is None

    def token_matches(self, token: str) -> bool:
        """Whether `token` is this credential's session token (true for station keys)."""
        if self.token_sha256 is None:
            return True
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return hmac.compare_digest(digest, self.token_sha256)

    def expired(self, now: float) -> bool:
        """Whether the credential has expired at `now`."""
        return self.expires is not None and now >= self.expires

    def may_read(self, bucket: str, key: str) -> bool:
        """Whether it may GET/HEAD `key`."""
        return self.scope is None or self.scope.covers_key(bucket, key)

    def may_write(self, bucket: str, key: str) -> bool:
        """Whether it may PUT/DELETE `key` (and run multipart uploads of it)."""
        return self.scope is None or (self.scope.writable and self.scope.covers_key(bucket, key))

    def may_list(self, bucket: str, prefix: str) -> bool:
        """Whether it may list `prefix` in `bucket`."""
        return self.scope is None or self.scope.covers_listing(bucket, prefix)

    def listing_folder(self, prefix: str) -> str | None:
        """The folder a permitted listing of `prefix` is confined to (None: no limit)."""
        return None if self.scope is None else self.scope.listing_folder(prefix)

    def may_see_bucket(self, bucket: str) -> bool:
        """Whether it may HEAD the bucket or ask its location."""
        return self.scope is None or self.scope.bucket == bucket


@dataclass(frozen=True)
class TemporaryCredentials:
    """Freshly minted credentials (the only time the secret and token exist in clear)."""

    access_key: str
    secret: str
    session_token: str
    expires: float  # epoch seconds
    scope: Scope


@dataclass(frozen=True)
class StsGrant:
    """What a device or Pilot is handed: credentials plus where to upload.

    `expire_s` is the DJI STS duration (seconds); `expires` the absolute epoch-s expiry.
    """

    bucket: str
    access_key: str
    secret: str
    session_token: str
    expire_s: int
    expires: float
    endpoint: str
    object_key_prefix: str
    region: str
    provider: str = PROVIDER

    def to_dji(self) -> dict[str, Any]:
        """The DJI STS object (`storage_config_get` output, Pilot's /sts `data`)."""
        return {
            "bucket": self.bucket,
            "credentials": {
                "access_key_id": self.access_key,
                "access_key_secret": self.secret,
                "expire": self.expire_s,
                "security_token": self.session_token,
            },
            "endpoint": self.endpoint,
            "object_key_prefix": self.object_key_prefix,
            "provider": self.provider,
            "region": self.region,
        }

    def to_fileupload_start(self) -> dict[str, Any]:
        """The fields of a `fileupload_start` service (§15): `expire` is absolute epoch ms."""
        return {
            "bucket": self.bucket,
            "region": self.region,
            "endpoint": self.endpoint,
            "provider": self.provider,
            "credentials": {
                "access_key_id": self.access_key,
                "access_key_secret": self.secret,
                "expire": int(self.expires * 1000),
                "security_token": self.session_token,
            },
        }


def derive_secret(credential_key: str, access_key: str) -> str:
    """The secret of temporary `access_key` under the station's `credential_key` (40 chars)."""
    mac = hmac.new(
        credential_key.encode("utf-8"),
        b"gcs-s3-temporary-secret\n" + access_key.encode(),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(mac).decode("ascii")[:40]


def normalise_prefix(prefix: str) -> str:
    """A key prefix without leading or doubled slashes.

    Raises:
        ScopeError: it contains '..' or '.' segments, backslashes or control characters.
    """
    if any(ord(c) < 0x20 or c == "\\" for c in prefix):
        raise ScopeError(f"prefix {prefix!r} contains control characters or backslashes")
    parts = [p for p in prefix.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ScopeError(f"prefix {prefix!r} contains '.' or '..' segments")
    return "/".join(parts)


class StorageAccess:
    """Credentials and endpoints of the station's object store (embedded or external).

    Args:
        settings: the station settings (`storage` and `station` sections are used).
        credentials: the credential table in meta.db.
        clock: the time source (epoch seconds).
        endpoint: override the endpoint URL devices are given (default: http://<public host>
            :<storage.port>).
    """

    def __init__(
        self,
        settings: Settings,
        credentials: CredentialTable,
        *,
        clock: Callable[[], float] = time.time,
        endpoint: str | None = None,
    ) -> None:
        self.settings = settings
        self._table = credentials
        self._clock = clock
        self._endpoint = endpoint
        self._cache: dict[str, Principal] = {}

    @property
    def external(self) -> bool:
        """Whether an external S3/MinIO endpoint is configured."""
        return bool(self.settings.storage.external_endpoint)

    @property
    def endpoint(self) -> str:
        """The endpoint URL devices upload to."""
        if self.external:
            return self.settings.storage.external_endpoint.rstrip("/")
        if self._endpoint:
            return self._endpoint.rstrip("/")
        host = netinfo.public_host(self.settings)
        return f"http://{host}:{self.settings.storage.port}"

    @endpoint.setter
    def endpoint(self, value: str) -> None:
        self._endpoint = value

    # --- embedded store: minting and lookup ---------------------------------------------

    def mint(
        self,
        *,
        prefix: str = "",
        ttl_s: int | None = None,
        read_only: bool = False,
        bucket: str | None = None,
    ) -> TemporaryCredentials:
        """Create and store temporary credentials for the embedded store.

        Args:
            prefix: the key folder they may use ('' = the whole bucket).
            ttl_s: validity (default `storage.sts_ttl_s`), 60 s .. 7 days.
            read_only: GET/HEAD/list only.
            bucket: the bucket (default `storage.bucket`).

        Raises:
            ScopeError: a bad prefix or TTL.
        """
        ttl = self.settings.storage.sts_ttl_s if ttl_s is None else ttl_s
        if not MIN_TTL_S <= ttl <= MAX_TTL_S:
            raise ScopeError(f"ttl must be between {MIN_TTL_S} s and {MAX_TTL_S} s, got {ttl}")
        scope = Scope(
            bucket or self.settings.storage.bucket, normalise_prefix(prefix), not read_only
        )
        now = self._clock()
        access_key = TEMP_KEY_PREFIX + secrets.token_hex(9).upper()
        token = secrets.token_urlsafe(48)
        row = CredentialRow(
            access_key=access_key,
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            bucket=scope.bucket,
            prefix=scope.prefix,
            writable=scope.writable,
            created=now,
            expires=now + ttl,
        )
        self._table.add(row)
        secret = derive_secret(self.settings.storage.credential_key, access_key)
        return TemporaryCredentials(access_key, secret, token, now + ttl, scope)

    def lookup(self, access_key: str) -> Principal | None:
        """The principal for `access_key` (station or temporary), or None if unknown.

        Blocking (a SQLite point query on a cache miss).
        """
        storage = self.settings.storage
        if access_key == storage.access_key and storage.access_key:
            return Principal(storage.access_key, storage.secret_key)
        cached = self._cache.get(access_key)
        if cached is not None:
            return cached
        if not access_key.startswith(TEMP_KEY_PREFIX):
            return None
        row = self._table.get(access_key)
        if row is None:
            return None
        principal = Principal(
            access_key=row.access_key,
            secret=derive_secret(storage.credential_key, row.access_key),
            token_sha256=row.token_sha256,
            scope=Scope(row.bucket, row.prefix, row.writable),
            expires=row.expires,
        )
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[access_key] = principal
        return principal

    def usage(self) -> StoreUsage:
        """What the embedded object store holds on disk (blocking: call from an executor).

        Objects (bytes, count), buckets, open multipart uploads and the bytes of their parts,
        and the size and free space of the disk under ``objects/``. With an external store
        configured, the local figures are what the embedded store still keeps (usually 0).
        """
        return self._table.usage()

    def purge_expired(self, grace_s: float = 24 * 3600) -> int:
        """Forget credentials expired for longer than `grace_s`; returns how many."""
        self._cache.clear()
        return self._table.purge(self._clock() - grace_s)

    # --- what devices are handed ------------------------------------------------------

    def grant(
        self, *, prefix: str = "", ttl_s: int | None = None, read_only: bool = False
    ) -> StsGrant:
        """Temporary credentials for the embedded store as an STS grant (blocking).

        Raises:
            ScopeError: a bad prefix or TTL.
        """
        creds = self.mint(prefix=prefix, ttl_s=ttl_s, read_only=read_only)
        return StsGrant(
            bucket=creds.scope.bucket,
            access_key=creds.access_key,
            secret=creds.secret,
            session_token=creds.session_token,
            expire_s=round(creds.expires - self._clock()),
            expires=creds.expires,
            endpoint=self.endpoint,
            object_key_prefix=creds.scope.prefix,
            region=self.settings.storage.region,
        )

    def presign_get(
        self, key: str, ttl_s: int = 3600, *, bucket: str | None = None, method: str = "GET"
    ) -> str:
        """A presigned URL to download `key` (embedded or external store), valid `ttl_s`.

        Signed with the station's long-lived keys (or the external store's keys).

        Raises:
            ScopeError: `ttl_s` is outside 1 s .. 7 days.
        """
        if not 1 <= ttl_s <= 604800:
            raise ScopeError("a presigned URL is valid between 1 s and 7 days")
        storage = self.settings.storage
        if self.external:
            access_key, secret = storage.external_access_key, storage.external_secret_key
        else:
            access_key, secret = storage.access_key, storage.secret_key
        return sigv4.presign_url(
            method=method,
            scheme_host=self.endpoint,
            path=f"/{bucket or storage.bucket}/{key}",
            access_key=access_key,
            secret=secret,
            region=storage.region,
            amz_date=amz_date(self._clock()),
            expires_s=ttl_s,
        )


def amz_date(epoch_s: float) -> str:
    """`epoch_s` as SigV4's ``YYYYMMDDTHHMMSSZ``."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y%m%dT%H%M%SZ")
