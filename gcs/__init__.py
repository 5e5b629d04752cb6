"""gcs: a desktop ground station that is a complete, offline DJI Cloud API platform."""

from typing import Any


def __getattr__(name: str) -> Any:
    # `gcs.__version__` comes from the package metadata (gcs/version.py), read on first use.
    if name == "__version__":
        from gcs.version import version

        return version()
    raise AttributeError(f"module 'gcs' has no attribute {name!r}")
