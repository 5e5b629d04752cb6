"""Fixtures shared by every test folder; the helpers live in station_harness.py (importable by
name, unlike a conftest, of which several test folders have their own)."""

from station_harness import serve, shared_data

__all__ = ["serve", "shared_data"]
