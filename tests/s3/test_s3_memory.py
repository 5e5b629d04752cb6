"""A 1 GiB upload keeps the station's memory flat (the body streams to disk in 1 MiB batches)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import boto3
import psutil
import pytest
from botocore.config import Config
from s3_harness import start_store_process

from gcs.station.storage import open_access
from gcs.store.settings import load_settings

GiB = 1024**3
MiB = 1024**2


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_one_gib_put_keeps_memory_flat(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc, url = start_store_process(data_dir)
    try:
        access = open_access(load_settings(data_dir), data_dir)
        creds = access.mint(prefix="media")
        access._table.close()
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret,
            aws_session_token=creds.session_token,
            region_name="us-east-1",
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"}, read_timeout=300
            ),
        )
        s3.put_object(Bucket="gcs", Key="media/warmup", Body=b"w" * MiB)
        server = psutil.Process(proc.pid)
        baseline = server.memory_info().rss
        peak = baseline
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, server.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        source = tmp_path / "sparse.bin"
        with open(source, "wb") as f:
            f.truncate(GiB)  # a generated (sparse) 1 GiB stream: zeros, read at memory speed
        started = time.monotonic()
        with open(source, "rb") as body:
            s3.put_object(Bucket="gcs", Key="media/one-gib.bin", Body=body)
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        head = s3.head_object(Bucket="gcs", Key="media/one-gib.bin")
        assert head["ContentLength"] == GiB
        assert head["ETag"] == '"cd573cfaace07e7949bc0c46028904ff"'  # MD5 of 1 GiB of zeros
        growth = peak - baseline
        print(
            f"1 GiB PUT in {elapsed:.1f} s; server RSS {baseline / MiB:.0f} MiB, "
            f"peak +{growth / MiB:.1f} MiB"
        )
        assert growth < 48 * MiB
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        os.sync()
