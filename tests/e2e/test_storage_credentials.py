"""Devices and Pilot get temporary S3 credentials from the running station and upload with a
real S3 client (boto3) to the embedded store: `storage_config_get` (§6) and Pilot's /sts (§8.2)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from station_harness import ServeProcess
from test_raw_dock import RawDock

DOCK = "7CTDM3D00BVYRAW"


def _s3(sts: dict[str, Any]) -> Any:
    c = sts["credentials"]
    return boto3.client(
        "s3",
        endpoint_url=sts["endpoint"],
        aws_access_key_id=c["access_key_id"],
        aws_secret_access_key=c["access_key_secret"],
        aws_session_token=c["security_token"] or None,
        region_name=sts["region"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_dock_storage_config_get_credentials_upload(serve: ServeProcess) -> None:
    assert any(line.startswith("s3: http://") for line in serve.lines), serve.lines
    cred = serve.credentials()
    dock = RawDock(serve.mqtt_port, str(cred["username"]), str(cred["password"]))
    try:
        dock.send(
            f"thing/product/{DOCK}/requests",
            '{"tid":"t-sts","bid":"b-sts","timestamp":1,"method":"storage_config_get","data":{"module":0}}',
        )
        r = dock.expect(f"thing/product/{DOCK}/requests_reply")
    finally:
        dock.close()
    assert r["tid"] == "t-sts" and r["data"]["result"] == 0
    sts = r["data"]["output"]
    assert set(sts) >= {
        "bucket",
        "credentials",
        "endpoint",
        "object_key_prefix",
        "provider",
        "region",
    }
    assert sts["provider"] == "minio"
    assert set(sts["credentials"]) == {
        "access_key_id",
        "access_key_secret",
        "expire",
        "security_token",
    }
    assert 0 < sts["credentials"]["expire"] <= 3600
    assert sts["object_key_prefix"].startswith(f"media/{DOCK}")
    s3 = _s3(sts)
    key = sts["object_key_prefix"].rstrip("/") + "/DJI_0001.JPG"
    s3.put_object(Bucket=sts["bucket"], Key=key, Body=b"\xff\xd8jpeg")
    assert s3.get_object(Bucket=sts["bucket"], Key=key)["Body"].read() == b"\xff\xd8jpeg"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=sts["bucket"], Key="media/OTHERDOCK/x.jpg", Body=b"x")
    assert info.value.response["Error"]["Code"] == "AccessDenied"


def test_pilot_sts_endpoint(serve: ServeProcess) -> None:
    cred = serve.credentials()
    base = str(cred["endpoints"]["http"]).replace(str(cred["mqtt_host"]), "127.0.0.1")  # type: ignore[index]
    body = json.dumps(
        {"username": cred["pilot_username"], "password": cred["pilot_password"], "flag": 2}
    )
    login = json.load(
        urllib.request.urlopen(
            urllib.request.Request(
                base + "manage/api/v1/login", body.encode(), {"Content-Type": "application/json"}
            )
        )
    )["data"]
    req = urllib.request.Request(
        base + f"storage/api/v1/workspaces/{login['workspace_id']}/sts",
        b"",
        {"x-auth-token": login["access_token"]},
        method="POST",
    )
    doc = json.load(urllib.request.urlopen(req))
    assert doc["code"] == 0
    sts = doc["data"]
    s3 = _s3(sts)
    key = sts["object_key_prefix"].rstrip("/") + "/route.kmz"
    s3.put_object(Bucket=sts["bucket"], Key=key, Body=b"PK\x03\x04")
    assert s3.head_object(Bucket=sts["bucket"], Key=key)["ContentLength"] == 4
    bad = urllib.request.Request(
        base + f"storage/api/v1/workspaces/{login['workspace_id']}/sts", b"", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bad)
    assert info.value.code == 401
