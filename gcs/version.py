"""The product's one version number, read from the package metadata (pyproject.toml).

`gcs --version`, the About box, the H5 pages' footer (through `/pilot/config.json`) and the
bundle's file name all use `version()`. A source checkout that was never installed (no
metadata) reads the number from pyproject.toml beside the package instead.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from pathlib import Path

__all__ = ["DISTRIBUTION", "version"]

DISTRIBUTION = "gcs"


@functools.cache
def version() -> str:
    """The version of the installed `gcs` distribution (e.g. ``0.1.0``)."""
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        match = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1) if match else "0+unknown"
