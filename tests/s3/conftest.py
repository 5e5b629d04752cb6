"""Fixtures of the S3 tests; the helpers live in s3_harness.py (importable by name, unlike a
conftest, of which every test folder has its own)."""

from s3_harness import store, tls_store

__all__ = ["store", "tls_store"]
