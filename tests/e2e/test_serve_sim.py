"""End to end: `gcs serve` and `gcs sim` as subprocesses on 127.0.0.1.

The docks and the RC come online through the documented flow, the docks are bound, the dock's
partial OSD messages are merged into one state, and history rows are written.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from station_harness import ServeProcess, gcs_command

from gcs.store.history import decode_chunk


def _run_sim(
    serve: ServeProcess, tmp_path: Path, docks: int, pilots: int
) -> tuple[subprocess.Popen[str], list[str]]:
    cred = tmp_path / "cred.json"
    cred.write_text(json.dumps(serve.credentials()))
    # The station listens on 127.0.0.1 in tests; credentials carry the LAN address otherwise.
    doc = json.loads(cred.read_text())
    doc["mqtt_host"] = "127.0.0.1"
    cred.write_text(json.dumps(doc))
    proc = subprocess.Popen(
        gcs_command(
            "sim",
            "--credentials",
            str(cred),
            "--docks",
            str(docks),
            "--pilots",
            str(pilots),
            "--seed",
            "7",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())

    threading.Thread(target=reader, daemon=True).start()
    return proc, lines


def _wait(predicate: Any, timeout: float, what: Any) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def test_fleet_onboards_and_telemetry_is_merged_and_kept(
    serve: ServeProcess, tmp_path: Path
) -> None:
    sim, lines = _run_sim(serve, tmp_path, docks=3, pilots=1)
    try:
        _wait(
            lambda: any(line.startswith("fleet ready") for line in lines),
            60,
            lambda: "fleet ready:\n" + "\n".join(lines),
        )
        db = sqlite3.connect(serve.data_dir / "gcs.db")

        def devices() -> dict[str, tuple[Any, ...]]:
            return {
                r[0]: r[1:]
                for r in db.execute("SELECT sn, model_key, bound, parent_sn, callsign FROM devices")
            }

        _wait(lambda: len(devices()) == 8, 10, "8 devices")
        rows = devices()
        keys = sorted(r[0] for r in rows.values())
        assert keys == [
            "0-100-0",
            "0-67-0",
            "0-67-1",
            "0-91-0",
            "2-119-0",
            "3-1-0",
            "3-2-0",
            "3-3-0",
        ]
        docks = [sn for sn, r in rows.items() if r[0].startswith("3-")]
        for sn in docks:
            assert rows[sn][1] == 1, f"dock {sn} not bound"
            assert rows[sn][3], "dock has a callsign from the bind request"
        for sn, r in rows.items():
            if r[0].startswith("0-"):
                assert r[2] in rows and rows[r[2]][0][0] in "23", (
                    f"aircraft {sn} hangs under a gateway"
                )

        # The simulated Pilot logged in over HTTP and bound its RC and aircraft to the workspace.
        rcs = [sn for sn, r in rows.items() if r[0].startswith("2-")]
        _wait(
            lambda: all(devices()[sn][1] == 1 for sn in rcs),
            20,
            "the RC bound through Pilot's HTTP API",
        )
        rc_aircraft = [sn for sn, r in devices().items() if r[2] in rcs]
        assert rc_aircraft and all(devices()[sn][1] == 1 for sn in rc_aircraft)

        # Every gateway and aircraft came online (the events log says so).
        def online() -> set[str]:
            return {r[0] for r in db.execute("SELECT sn FROM station_events WHERE kind = 'online'")}

        _wait(lambda: online() >= set(rows), 15, "online events for every device")

        # Dock partial OSD: one history sample carries keys of all three partial messages
        # (history is stored in chunks; the station rewrites the open one every few seconds).
        def samples(sn: str) -> list[Any]:
            out: list[Any] = []
            for (blob,) in db.execute("SELECT data FROM telemetry_chunks WHERE sn = ?", [sn]):
                out += decode_chunk(sn, blob)
            return out

        def merged_row_exists() -> bool:
            return any(
                {"job_number", "mode_code", "flighttask_step_code"} <= s.data.keys()
                for sn in docks
                for s in samples(sn)
            )

        _wait(merged_row_exists, 30, "a merged dock OSD history sample")
        n = db.execute("SELECT sum(n) FROM telemetry_chunks").fetchone()[0]
        assert n > 8
        aircraft = [sn for sn, r in rows.items() if r[0].startswith("0-")]
        assert sum(len(samples(sn)) for sn in aircraft) > 0
    finally:
        sim.terminate()
        sim.wait(10)
    assert serve.stop() == 0
    assert "stopped" in serve.lines
