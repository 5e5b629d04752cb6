"""Fixtures for the wayline-file tests: the real routes in ../shared/data/waylines."""

from __future__ import annotations

from pathlib import Path

import pytest

WAYLINES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "waylines"


@pytest.fixture
def waylines_dir() -> Path:
    if not WAYLINES.is_dir():
        pytest.skip(f"shared data folder {WAYLINES} is not present")
    return WAYLINES
