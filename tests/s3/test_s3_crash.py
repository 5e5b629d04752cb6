"""Kill the store mid-upload (SIGKILL), restart it: nothing partial, nothing left over."""

from __future__ import annotations

import http.client
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from s3_harness import start_store_process

from gcs.station.storage import TemporaryCredentials, amz_date, open_access, sigv4
from gcs.store.settings import load_settings

MiB = 1024 * 1024


def start(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    return start_store_process(data_dir)


def begin_upload(
    url: str, creds: TemporaryCredentials, path: str, total: int
) -> http.client.HTTPConnection:
    host = url.split("://", 1)[1]
    when = amz_date(time.time())
    headers = [
        ("content-length", str(total)),
        ("host", host),
        ("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD),
        ("x-amz-date", when),
        ("x-amz-security-token", creds.session_token),
    ]
    bare, _, query = path.partition("?")
    authorization = sigv4.authorization_header(
        method="PUT",
        path=bare,
        query=sigv4.parse_query(query),
        headers=headers,
        payload_hash=sigv4.UNSIGNED_PAYLOAD,
        access_key=creds.access_key,
        secret=creds.secret,
        region="us-east-1",
        service="s3",
        amz_date=when,
    )
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    connection.putheader("authorization", authorization)
    connection.endheaders()
    return connection


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def temp_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.timeout(90)
def test_kill_mid_upload_then_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, url = start(data_dir)
    settings = load_settings(data_dir)
    access = open_access(settings, data_dir)
    creds = access.mint(prefix="media")
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret,
        aws_session_token=creds.session_token,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    s3.put_object(Bucket="gcs", Key="media/before.bin", Body=b"committed before the crash")
    upload_id = s3.create_multipart_upload(Bucket="gcs", Key="media/multi.bin")["UploadId"]
    etag1 = s3.upload_part(
        Bucket="gcs",
        Key="media/multi.bin",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"1" * (5 * MiB),
    )["ETag"]

    # A single PUT and a part upload, both cut off by SIGKILL mid-body.
    objects = data_dir / "objects"
    put = begin_upload(url, creds, "/gcs/media/partial.bin", 50 * MiB)
    part = begin_upload(
        url, creds, f"/gcs/media/multi.bin?partNumber=2&uploadId={upload_id}", 50 * MiB
    )
    chunk = os.urandom(MiB)
    for _ in range(8):
        put.send(chunk)
        part.send(chunk)
    wait_for(lambda: temp_bytes(objects / ".tmp") >= 4 * MiB)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    put.close()
    part.close()
    assert any((objects / ".tmp").iterdir())  # the crash did leave a temp file

    proc, url = start(data_dir)
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret,
            aws_session_token=creds.session_token,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        with pytest.raises(ClientError):
            s3.head_object(Bucket="gcs", Key="media/partial.bin")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="gcs", Prefix="media/")["Contents"]]
        assert keys == ["media/before.bin"]
        body = s3.get_object(Bucket="gcs", Key="media/before.bin")["Body"].read()
        assert body == b"committed before the crash"
        assert list((objects / ".tmp").iterdir()) == []
        parts = s3.list_parts(Bucket="gcs", Key="media/multi.bin", UploadId=upload_id)["Parts"]
        assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * MiB)]
        s3.complete_multipart_upload(
            Bucket="gcs",
            Key="media/multi.bin",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag1}]},
        )
        assert s3.get_object(Bucket="gcs", Key="media/multi.bin")["Body"].read() == b"1" * (5 * MiB)
        with sqlite3.connect(objects / "meta.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        access._table.close()
