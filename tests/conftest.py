"""Fixtures shared by every test folder; the helpers live in station_harness.py (importable by
name, unlike a conftest, of which several test folders have their own)."""

import gc
from collections.abc import Iterator

import pytest
from station_harness import serve, shared_data

__all__ = ["serve", "shared_data"]


@pytest.fixture(autouse=True)
def _collect_on_the_main_thread() -> Iterator[None]:
    """Once the desktop tests have turned automatic garbage collection off (tests/ui/conftest.py,
    as the desktop app does: `gcs.ui.gc_guard`), the main thread collects between tests."""
    yield
    if not gc.isenabled():
        from gcs.ui.gc_guard import collect_due

        collect_due()
