"""Firmware import benchmark: how long a package takes to enter the library (MD5 and size off the
loop, then a streamed presigned PUT into the embedded store), and how late the station's loop
gets meanwhile (the longest gap of a 10 ms ticker on the loop).

Starts a station (loopback, free ports) on its own thread, imports a package of --mib MiB of
random bytes --repeat times, prints one JSON object. Usage:

    .venv/bin/python tests/bench/firmware_import.py [--mib N] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from gcs.runtime import Runtime, ThreadedRuntime  # noqa: E402
from gcs.station.firmware import Firmware  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402


async def _import_with_lag(fw: Firmware, path: Path) -> tuple[float, float]:
    """(seconds for the import, longest gap of a 10 ms ticker on the loop, ms)."""
    longest = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            longest = max(longest, now - last - 0.01)
            last = now

    task = asyncio.get_running_loop().create_task(ticker())
    t0 = time.perf_counter()
    await fw.import_package(path, models=["3-2-0"], version="10.01.9999", release_note="bench")
    elapsed = time.perf_counter() - t0
    stop.set()
    await task
    return elapsed, longest * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "station"
        s = load_settings(data_dir)
        s.station.host = s.station.public_host = "127.0.0.1"
        s.mqtt.port = s.http.port = s.http.https_port = s.storage.port = 0
        s.ntp.port = s.ntp.fallback_port = 0
        package = Path(tmp) / "package.bin"
        with package.open("wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        rt = ThreadedRuntime(Runtime(s, data_dir))
        rt.start()
        try:
            fw = rt.runtime.station.capability(Firmware)
            runs = [
                rt.submit(_import_with_lag(fw, package)).result(600) for _ in range(args.repeat)
            ]
        finally:
            rt.stop()
    seconds = [r[0] for r in runs]
    print(
        json.dumps(
            {
                "package_mib": args.mib,
                "repeat": args.repeat,
                "import_s_median": round(statistics.median(seconds), 3),
                "mib_per_s_median": round(args.mib / statistics.median(seconds), 1),
                "loop_longest_gap_ms_max": round(max(r[1] for r in runs), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
