"""Object store benchmark: S3 uploads against a raw sequential write of the same bytes.

Runs `gcs storage serve` as a child process on a fresh data directory (on the same disk as the
raw writes), then, interleaved so that disk state drifts equally on both sides:

* single PUT of 100 MiB (boto3, HTTP, default signing) vs writing + fsyncing the same 100 MiB;
* multipart upload of 1 GiB (boto3 transfer manager) vs the same 1 GiB raw;
* 20 concurrent PUTs of 20 MiB each: aggregate throughput and the server's peak RSS.

Ratios are raw time / S3 time (1.0 = as fast as the disk itself); medians over --repeat runs.
Prints one JSON object. Usage:

    .venv/bin/python tests/bench/s3_bench.py [--dir DIR] [--repeat N] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import psutil
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "s3"))

from s3_harness import start_store_process  # noqa: E402

from gcs.station.storage import open_access  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402

MiB = 1024 * 1024


def pattern(size: int) -> bytes:
    block = os.urandom(16 * MiB)
    return (block * (size // len(block) + 1))[:size]


def raw_write(folder: Path, data: bytes) -> float:
    path = folder / "raw.bin"
    started = time.perf_counter()
    with open(path, "wb") as f:
        view = memoryview(data)
        for i in range(0, len(data), MiB):
            f.write(view[i : i + MiB])
        f.flush()
        os.fsync(f.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


class Sampler:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=None, help="folder on the disk to test")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="s3bench-", dir=args.dir))
    data_dir = base / "data"
    raw_dir = base / "raw"
    raw_dir.mkdir()
    single_size = (10 if args.quick else 100) * MiB
    multi_size = (64 if args.quick else 1024) * MiB
    proc, url = start_store_process(data_dir)
    try:
        access = open_access(load_settings(data_dir), data_dir)
        creds = access.mint(ttl_s=24 * 3600)

        def client() -> Any:
            return boto3.client(
                "s3",
                endpoint_url=url,
                aws_access_key_id=creds.access_key,
                aws_secret_access_key=creds.secret,
                aws_session_token=creds.session_token,
                region_name="us-east-1",
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    max_pool_connections=32,
                    read_timeout=600,
                ),
            )

        s3 = client()
        server = psutil.Process(proc.pid)
        s3.put_object(Bucket="gcs", Key="warmup", Body=b"w" * MiB)
        rss_idle = server.memory_info().rss
        results: dict[str, Any] = {
            "url": url,
            "dir": str(base),
            "repeat": args.repeat,
            "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(),
        }

        single = pattern(single_size)
        raw_t, put_t = [], []
        for _ in range(args.repeat):
            raw_t.append(raw_write(raw_dir, single))
            started = time.perf_counter()
            s3.put_object(Bucket="gcs", Key="single.bin", Body=single)
            put_t.append(time.perf_counter() - started)
        results["single_put"] = {
            "bytes": single_size,
            "raw_s": statistics.median(raw_t),
            "s3_s": statistics.median(put_t),
            "raw_MBps": single_size / MiB / statistics.median(raw_t),
            "s3_MBps": single_size / MiB / statistics.median(put_t),
            "ratio": statistics.median(raw_t) / statistics.median(put_t),
            "runs_raw_s": raw_t,
            "runs_s3_s": put_t,
        }
        # Is the loop free while a big body streams in? HEAD latency during a PUT.
        latencies: list[float] = []
        probe = client()
        probe.head_object(Bucket="gcs", Key="warmup")
        done = threading.Event()

        def heads() -> None:
            while not done.is_set():
                started = time.perf_counter()
                probe.head_object(Bucket="gcs", Key="warmup")
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.01)

        prober = threading.Thread(target=heads, daemon=True)
        prober.start()
        s3.put_object(Bucket="gcs", Key="single-probed.bin", Body=single)
        done.set()
        prober.join()
        latencies.sort()
        results["head_latency_during_put_ms"] = {
            "count": len(latencies),
            "p50": latencies[len(latencies) // 2] if latencies else None,
            "max": latencies[-1] if latencies else None,
        }
        del single

        multi = pattern(multi_size)
        config = TransferConfig(
            multipart_threshold=8 * MiB, multipart_chunksize=16 * MiB, max_concurrency=4
        )
        raw_t, mp_t = [], []
        for _ in range(args.repeat):
            raw_t.append(raw_write(raw_dir, multi))
            started = time.perf_counter()
            with Sampler(proc.pid) as sampler:
                s3.upload_fileobj(io.BytesIO(multi), "gcs", "multi.bin", Config=config)
            mp_t.append(time.perf_counter() - started)
        results["multipart"] = {
            "bytes": multi_size,
            "part_bytes": 16 * MiB,
            "raw_s": statistics.median(raw_t),
            "s3_s": statistics.median(mp_t),
            "raw_MBps": multi_size / MiB / statistics.median(raw_t),
            "s3_MBps": multi_size / MiB / statistics.median(mp_t),
            "ratio": statistics.median(raw_t) / statistics.median(mp_t),
            "server_rss_peak_MiB": sampler.peak / MiB,
            "runs_raw_s": raw_t,
            "runs_s3_s": mp_t,
        }
        del multi

        each = (2 if args.quick else 20) * MiB
        blob = pattern(each)
        clients = [client() for _ in range(20)]
        with Sampler(proc.pid) as sampler:
            started = time.perf_counter()
            with ThreadPoolExecutor(20) as pool:
                list(
                    pool.map(
                        lambda i: clients[i].put_object(Bucket="gcs", Key=f"c/{i}", Body=blob),
                        range(20),
                    )
                )
            elapsed = time.perf_counter() - started
        results["concurrent_20"] = {
            "bytes_each": each,
            "seconds": elapsed,
            "aggregate_MBps": 20 * each / MiB / elapsed,
            "server_rss_idle_MiB": rss_idle / MiB,
            "server_rss_peak_MiB": sampler.peak / MiB,
        }
        results["loadavg_end"] = os.getloadavg()
        access._table.close()
        print(json.dumps(results, indent=2))
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
