"""`gcs firmware import` as a subprocess: with no station running (the embedded store is opened
for the command) and beside a running `gcs serve` (its store is used); the package is in the
object store byte for byte, with its MD5 and size, and the library lists it."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from station_harness import ServeProcess, gcs_command

from gcs.store.settings import load_settings


def firmware(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(gcs_command("firmware", *args), capture_output=True, text=True)


def stored(data_dir: Path, key: str) -> bytes:
    bucket = load_settings(data_dir).storage.bucket
    return (data_dir / "objects" / bucket / key).read_bytes()


@pytest.mark.slow
def test_import_without_a_station_then_beside_a_running_one(
    tmp_path: Path, serve: ServeProcess
) -> None:
    package = tmp_path / "dock3_13.01.0100.zip"
    body = b"firmware bytes " * 20_000
    package.write_bytes(body)

    offline = tmp_path / "offline"
    out = firmware(
        "import", str(package), "--model", "3-3-0", "--version", "13.01.0100",
        "--note", "first", "--data-dir", str(offline),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert row["md5"] == hashlib.md5(body).hexdigest() and row["size"] == len(body)
    assert row["models"] == ["3-3-0"] and row["release_note"] == "first"
    assert stored(offline, row["object_key"]) == body
    listed = json.loads(firmware("list", "--data-dir", str(offline)).stdout)
    assert [r["firmware_id"] for r in listed] == [row["firmware_id"]]

    out = firmware(
        "import", str(package), "--model", "DJI Dock 3", "--model", "0-100-0",
        "--version", "13.01.0100", "--data-dir", str(serve.data_dir),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert row["models"] == ["3-3-0", "0-100-0"]
    assert stored(serve.data_dir, row["object_key"]) == body

    bad = firmware("import", str(package), "--model", "3-3-0", "--version", "new", "--data-dir",
                   str(offline))  # fmt: skip
    assert bad.returncode == 1 and "not a firmware version" in bad.stderr
    missing = firmware("import", str(tmp_path / "nope.zip"), "--model", "3-3-0", "--version",
                       "1.0.0", "--data-dir", str(offline))  # fmt: skip
    assert missing.returncode == 2 and "not a file" in missing.stderr
