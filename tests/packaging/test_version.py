"""One version number, from the package metadata, everywhere it is shown."""

from __future__ import annotations

import importlib.metadata
import subprocess
import tomllib
from pathlib import Path

from station_harness import gcs_command

import gcs
from gcs.version import version

REPO = Path(__file__).resolve().parents[2]


def test_version_comes_from_the_package_metadata() -> None:
    assert version() == importlib.metadata.version("gcs")
    assert gcs.__version__ == version()


def test_metadata_matches_pyproject() -> None:
    # An editable install's metadata is the pyproject's version (reinstall after a bump).
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert version() == declared


def test_cli_prints_the_version() -> None:
    out = subprocess.run(gcs_command("--version"), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.strip() == f"gcs {version()}"
