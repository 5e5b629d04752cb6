"""What devices are handed: the DJI STS object, the CLI, and the external-store (MinIO) mode."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from botocore.exceptions import ClientError
from s3_harness import RunningStore

from gcs.station.storage import (
    ExternalStoreError,
    ScopeError,
    StorageAccess,
    open_access,
    sigv4,
    sts_grant,
)
from gcs.station.storage.external import parse_assume_role
from gcs.store.settings import load_settings

# The STS object as §6 / §8.2 #6 of the protocol notes describe it.
DJI_STS_KEYS = {"bucket", "credentials", "endpoint", "object_key_prefix", "provider", "region"}
DJI_CREDENTIAL_KEYS = {"access_key_id", "access_key_secret", "expire", "security_token"}


async def test_embedded_grant_is_a_dji_sts_object(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    settings.station.public_host = "192.168.10.5"
    access = open_access(settings, tmp_path)
    grant = await sts_grant(access, prefix="/media//ws1/", ttl_s=1800)
    sts = grant.to_dji()
    assert set(sts) == DJI_STS_KEYS
    assert set(sts["credentials"]) == DJI_CREDENTIAL_KEYS
    assert sts["provider"] == "minio"
    assert sts["bucket"] == settings.storage.bucket
    assert sts["endpoint"] == f"http://192.168.10.5:{settings.storage.port}"
    assert sts["object_key_prefix"] == "media/ws1"
    assert 1795 <= sts["credentials"]["expire"] <= 1800  # a duration in seconds
    start = grant.to_fileupload_start()
    assert abs(start["credentials"]["expire"] - (time.time() + 1800) * 1000) < 10_000  # epoch ms
    with pytest.raises(ScopeError):
        await sts_grant(access, prefix="media/../other")
    with pytest.raises(ScopeError):
        await sts_grant(access, ttl_s=10)


def test_cli_sts_credentials_work_on_a_running_store(store: RunningStore) -> None:
    store.boto3().put_object(Bucket="gcs", Key="logs/dock/a.tar", Body=b"tar")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gcs",
            "storage",
            "sts",
            "--data-dir",
            str(store.data_dir),
            "--prefix",
            "logs/dock",
            "--ttl",
            "600",
            "--read-only",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    sts = json.loads(out.stdout)
    assert set(sts) == DJI_STS_KEYS
    assert sts["credentials"]["expire"] == 600
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=store.url,
        region_name=sts["region"],
        aws_access_key_id=sts["credentials"]["access_key_id"],
        aws_secret_access_key=sts["credentials"]["access_key_secret"],
        aws_session_token=sts["credentials"]["security_token"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    assert s3.get_object(Bucket=sts["bucket"], Key="logs/dock/a.tar")["Body"].read() == b"tar"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=sts["bucket"], Key="logs/dock/b.tar", Body=b"x")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "gcs",
            "storage",
            "sts",
            "--data-dir",
            str(store.data_dir),
            "--ttl",
            "5",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "ttl" in bad.stderr


MINIO_ANSWER = """<?xml version="1.0" encoding="UTF-8"?>
<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn></Arn><AssumeRoleId></AssumeRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>Y4RJU1RNFGK48LGO9I2S</AccessKeyId>
      <SecretAccessKey>sYLRKS1Z7hSjluf6gEbb9066hnx315wHTiACPAjg</SecretAccessKey>
      <Expiration>2030-08-08T20:26:12Z</Expiration>
      <SessionToken>eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.e30.x</SessionToken>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>
"""

MINIO_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type></Type>
<Code>AccessDenied</Code><Message>Access denied: invalid access key</Message></Error>
<RequestId>1</RequestId></ErrorResponse>"""


@pytest.fixture
async def fake_minio_sts() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A stand-in for MinIO's STS endpoint: checks the SigV4 header, answers like MinIO."""
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        form = dict(parse_qsl(body.decode()))
        seen.append(form)
        headers = [(k.lower(), v) for k, v in request.headers.items()]
        claimed = sigv4.parse_authorization(
            request.headers["Authorization"], request.headers["X-Amz-Date"]
        )
        canonical = sigv4.canonical_request(
            "POST",
            "/",
            [],
            headers,
            claimed.signed_headers,
            request.headers["X-Amz-Content-Sha256"],
        )
        key = sigv4.signing_key("minio-secret", claimed.credential.date, "us-east-1", "sts")
        expected = sigv4.sign(
            key, sigv4.request_string_to_sign(claimed.amz_date, claimed.credential.scope, canonical)
        )
        if claimed.credential.access_key != "minio-admin" or expected != claimed.signature:
            return web.Response(status=403, text=MINIO_ERROR, content_type="application/xml")
        return web.Response(text=MINIO_ANSWER, content_type="application/xml")

    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_external_store_assume_role(
    tmp_path: Path, fake_minio_sts: tuple[str, list[dict[str, str]]]
) -> None:
    endpoint, seen = fake_minio_sts
    settings = load_settings(tmp_path)
    settings.storage.external_endpoint = endpoint
    settings.storage.external_access_key = "minio-admin"
    settings.storage.external_secret_key = "minio-secret"
    access = open_access(settings, tmp_path)
    grant = await sts_grant(access, prefix="media/ws1", ttl_s=3600)
    sts = grant.to_dji()
    assert sts["credentials"]["access_key_id"] == "Y4RJU1RNFGK48LGO9I2S"
    assert sts["credentials"]["security_token"].startswith("eyJ")
    assert sts["endpoint"] == endpoint
    assert sts["object_key_prefix"] == "media/ws1"
    form = seen[-1]
    assert form["Action"] == "AssumeRole" and form["Version"] == "2011-06-15"
    assert form["DurationSeconds"] == "3600"
    policy = json.loads(form["Policy"])
    assert "arn:aws:s3:::gcs/media/ws1/*" in policy["Statement"][0]["Resource"]
    assert "s3:PutObject" in policy["Statement"][0]["Action"]
    # A presigned GET for the external store is signed with its keys, for its host.
    url = access.presign_get("media/ws1/a.jpg", 300)
    assert url.startswith(f"{endpoint}/gcs/media/ws1/a.jpg?")
    assert "X-Amz-Credential=minio-admin%2F" in url

    settings.storage.external_secret_key = "wrong"
    with pytest.raises(ExternalStoreError, match="AccessDenied"):
        await sts_grant(access, prefix="media")
    settings.storage.external_endpoint = "http://127.0.0.1:1"
    with pytest.raises(ExternalStoreError, match="unreachable"):
        await sts_grant(access, prefix="media")
    settings.storage.external_assume_role = False
    grant = await sts_grant(access, prefix="media")
    assert grant.access_key == "minio-admin" and grant.session_token == ""


def test_parse_assume_role_rejects_garbage() -> None:
    for status, text in (
        (200, "not xml"),
        (200, "<a/>"),
        (500, MINIO_ERROR),
        (200, "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"),
    ):
        with pytest.raises(ExternalStoreError):
            parse_assume_role(status, text)


def test_presign_get_rejects_bad_ttl(tmp_path: Path) -> None:
    access: StorageAccess = open_access(load_settings(tmp_path), tmp_path)
    for ttl in (0, 604801):
        with pytest.raises(ScopeError):
            access.presign_get("k", ttl)
