"""`gcs wayline import` against a data directory with no station running (direct store)."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from station_harness import SHARED_DATA

from gcs.cli.wayline import run_export, run_import

SEED = SHARED_DATA / "waylines" / "pilot2-m3m-seed.kmz"
pytestmark = pytest.mark.skipif(not SEED.is_file(), reason=f"{SEED} is not present")


@dataclass
class Done:
    returncode: int
    stdout: str


def _import(data_dir: Path, file: str, *flags: str) -> Done:
    args = argparse.Namespace(
        file=Path(file),
        data_dir=data_dir,
        name=None,
        rename_duplicate="--rename-duplicate" in flags,
        json="--json" in flags,
    )
    out = io.StringIO()
    return Done(run_import(args, out), out.getvalue())


def test_cli_import_stores_refuses_duplicates_and_bad_files(tmp_path: Path) -> None:
    done = _import(tmp_path, str(SEED), "--json")
    assert done.returncode == 0, done.stdout
    doc = json.loads(done.stdout)
    assert doc["imported"] and doc["name"] == "pilot2-m3m-seed"
    assert doc["sign"] == hashlib.md5(SEED.read_bytes()).hexdigest()
    [stored] = list((tmp_path / "objects").rglob("*.kmz"))
    assert stored.read_bytes() == SEED.read_bytes()
    assert doc["object_key"] in stored.as_posix()

    again = _import(tmp_path, str(SEED))
    assert again.returncode == 1 and "already exists" in again.stdout
    renamed = _import(tmp_path, str(SEED), "--rename-duplicate", "--json")
    assert json.loads(renamed.stdout)["name"] == "pilot2-m3m-seed (2)"

    bad = tmp_path / "bad.kmz"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    refused = _import(tmp_path, str(bad), "--json")
    assert refused.returncode == 1
    out = json.loads(refused.stdout)
    assert not out["imported"] and out["findings"][0]["severity"] == "error"
    assert out["error_zh"]
    assert len(list((tmp_path / "objects").rglob("*.kmz"))) == 2


def test_cli_export_writes_library_files_without_overwriting(tmp_path: Path) -> None:
    data_dir = tmp_path / "station"
    assert _import(data_dir, str(SEED)).returncode == 0
    out_dir = tmp_path / "out"
    (out_dir).mkdir()
    (out_dir / "pilot2-m3m-seed.kmz").write_bytes(b"keep me")
    args = argparse.Namespace(names=[], to=out_dir, data_dir=data_dir)
    out = io.StringIO()
    assert run_export(args, out) == 0
    written = Path(out.getvalue().strip())
    assert written.name == "pilot2-m3m-seed (2).kmz"
    assert written.read_bytes() == SEED.read_bytes()
    assert (out_dir / "pilot2-m3m-seed.kmz").read_bytes() == b"keep me"
    missing = argparse.Namespace(names=["nope"], to=out_dir, data_dir=data_dir)
    out = io.StringIO()
    assert run_export(missing, out) == 1 and "no wayline named 'nope'" in out.getvalue()
