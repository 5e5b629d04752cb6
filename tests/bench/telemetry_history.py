"""Benchmark: disk bytes of a day of telemetry history for one dock and its aircraft.

Feeds `--hours` (default 24) of realistic OSD at 1 Hz per device (the simulator's Dock 3 and
aircraft, `--flights` flights a day, raw-double noise where a real aircraft has it; see
`tests/telemetry_day.py`) through the station's `Telemetry` into a real `gcs.db`, with the
writer's periodic flushes, then measures:

* `mb_per_day`: database pages in use for the history (file size minus free pages) per 24 h,
  and the bytes of the chunks alone; the same days as the old one-row-per-sample JSON table
  would take (`json_rows_mb_per_day`, computed from the same samples);
* `lossless`: every sample read back equals the one sent (checked on the whole run);
* ingest cost: CPU µs per message of `Telemetry.ingest` + flushes (this thread);
* after downsampling (history moved back by two days, as the hourly upkeep sees it):
  `downsampled_mb_per_day`.

Target (issue 17 item 9): <= 25 MB a day for one dock and its aircraft with no loss at 1 Hz.
Prints one JSON object.

    .venv/bin/python tests/bench/telemetry_history.py [--hours 24] [--flights 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from telemetry_day import dock_day  # noqa: E402

from gcs.station.bus import EventBus  # noqa: E402
from gcs.station.telemetry import Telemetry, numeric_projection  # noqa: E402
from gcs.store import history as h  # noqa: E402
from gcs.store.db import Store  # noqa: E402


def used_bytes(db: Any) -> int:
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * db.execute("PRAGMA page_size").fetchone()[0])


def chunk_bytes(db: Any) -> int:
    return int(
        db.execute("SELECT coalesce(sum(length(data)), 0) FROM telemetry_chunks").fetchone()[0]
    )


def shift_back(db: Any, ms: int) -> None:
    with db.atomic():
        db.execute(
            "UPDATE telemetry_chunks SET ts_start = ts_start - ?, ts_end = ts_end - ?", [ms, ms]
        )


async def run(hours: float, flights: int) -> dict[str, Any]:
    seconds = int(hours * 3600)
    day_factor = 24.0 / hours
    with tempfile.TemporaryDirectory(prefix="gcs-bench-history-") as tmp:
        store = Store(Path(tmp) / "gcs.db")
        clock = [0.0]
        telemetry = Telemetry(store, EventBus(), clock=lambda: clock[0])
        base = await store.call(used_bytes)
        sent: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        json_rows = 0
        messages = 0
        cpu = 0.0
        day = dock_day(seconds, flights=max(0, round(flights * hours / 24)))
        for sn, ts, kind, data in day:
            t = time.process_time()
            telemetry.ingest(sn, sn, kind, data, ts)
            cpu += time.process_time() - t
            messages += 1
            projection = numeric_projection(telemetry.current(sn))
            sent.setdefault(sn, []).append((ts, projection))
            json_rows += len(orjson.dumps(projection)) + 40  # row, rowid and two index entries
            clock[0] += 0.5
            if messages % 2 == 0:  # the writer flushes every second
                t = time.process_time()
                await telemetry.flush(force=False)
                cpu += time.process_time() - t
        await telemetry.flush()
        used = await store.call(used_bytes) - base
        chunks = await store.call(chunk_bytes)
        lossless = True
        for sn, rows in sent.items():
            got = await telemetry.history(sn, 0, limit=10**9)
            lossless = lossless and [(s.ts, s.data) for s in got] == rows
        samples = await store.call(h.count_samples)
        await store.call(shift_back, 2 * 86_400_000)
        t = time.perf_counter()
        thinned = await telemetry.downsample()
        downsample_s = time.perf_counter() - t
        down_used = await store.call(used_bytes) - base
        store.close()
    mb = 1e6
    return {
        "hours": hours,
        "devices": len(sent),
        "samples": samples,
        "messages": messages,
        "mb_per_day": round(used * day_factor / mb, 2),
        "chunk_mb_per_day": round(chunks * day_factor / mb, 2),
        "json_rows_mb_per_day": round(json_rows * day_factor / mb, 1),
        "bytes_per_sample": round(used / max(1, samples), 1),
        "lossless": lossless,
        "ingest_cpu_us_per_message": round(cpu / max(1, messages) * 1e6, 1),
        "downsampled_samples_removed": thinned,
        "downsampled_mb_per_day": round(down_used * day_factor / mb, 2),
        "downsample_s": round(downsample_s, 2),
        "target_mb_per_day": 25,
        "target_ok": lossless and used * day_factor / mb <= 25,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--flights", type=int, default=8, help="flights per 24 h")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.hours, args.flights)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
