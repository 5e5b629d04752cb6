"""The embedded S3 object store's storage: files under `objects/`, metadata in `meta.db`."""

from __future__ import annotations

from gcs.store.objects.errors import StoreError
from gcs.store.objects.meta import (
    CredentialRow,
    MigrationError,
    ObjectRow,
    PartRow,
    StoreUsage,
    UploadRow,
)
from gcs.store.objects.names import check_bucket, check_key
from gcs.store.objects.store import (
    MIN_PART_BYTES,
    Condition,
    ListPage,
    ObjectStore,
    ObjectWriter,
    PartWriter,
)

__all__ = [
    "MIN_PART_BYTES",
    "Condition",
    "CredentialRow",
    "ListPage",
    "MigrationError",
    "ObjectRow",
    "ObjectStore",
    "ObjectWriter",
    "PartRow",
    "PartWriter",
    "StoreError",
    "StoreUsage",
    "UploadRow",
    "check_bucket",
    "check_key",
]
