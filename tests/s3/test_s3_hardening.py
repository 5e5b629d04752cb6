"""The object store against what ceph/s3-tests, awscli and boto3 found (issue 17 items 7, 11-14).

boto3 and raw SigV4-signed requests (http.client, see `signed_request`) against the real store.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from s3_harness import RunningStore, signed_request

MiB = 1024 * 1024


def error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def keys_of(listing: dict[str, Any]) -> list[str]:
    return [c["Key"] for c in listing.get("Contents", [])]


# --- item 11: a scope is a folder, in listings too ---------------------------------------


def test_scoped_listing_does_not_leak_sibling_folders(store: RunningStore) -> None:
    admin = store.boto3()
    for key in ("siteA/1.jpg", "siteA/sub/2.jpg", "siteA10/x.jpg", "siteAB/y.jpg", "siteA.txt"):
        admin.put_object(Bucket="gcs", Key=key, Body=b"secret " + key.encode())
    s3 = store.boto3(store.mint(prefix="siteA"))
    flat = s3.list_objects_v2(Bucket="gcs", Prefix="siteA")
    assert keys_of(flat) == ["siteA/1.jpg", "siteA/sub/2.jpg"]
    folders = s3.list_objects_v2(Bucket="gcs", Prefix="siteA", Delimiter="/")
    assert keys_of(folders) == []
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["siteA/"]
    v1 = s3.list_objects(Bucket="gcs", Prefix="siteA", MaxKeys=1)
    assert keys_of(v1) == ["siteA/1.jpg"] and v1["IsTruncated"]
    page = s3.list_objects_v2(Bucket="gcs", Prefix="siteA", MaxKeys=1)
    rest = s3.list_objects_v2(
        Bucket="gcs", Prefix="siteA", ContinuationToken=page["NextContinuationToken"]
    )
    assert keys_of(page) + keys_of(rest) == ["siteA/1.jpg", "siteA/sub/2.jpg"]
    assert not rest["IsTruncated"]
    for upload_key in ("siteA10/big.mp4", "siteA/big.mp4"):
        admin.create_multipart_upload(Bucket="gcs", Key=upload_key)
    uploads = s3.list_multipart_uploads(Bucket="gcs", Prefix="siteA")
    assert [u["Key"] for u in uploads["Uploads"]] == ["siteA/big.mp4"]
    for prefix in ("site", ""):
        with pytest.raises(ClientError) as exc:
            s3.list_objects_v2(Bucket="gcs", Prefix=prefix)
        assert error_code(exc.value) == "AccessDenied"
    # Raw signed request: the same answer without an SDK in between.
    raw = signed_request(
        store, store.mint(prefix="siteA"), "GET", "/gcs", query=[("prefix", "siteA")]
    )
    assert raw.status == 200
    assert b"siteA10" not in raw.body and b"siteAB" not in raw.body and b"siteA." not in raw.body
    assert b"<Key>siteA/1.jpg</Key>" in raw.body
